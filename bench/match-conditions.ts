/**
 * `matchConditions` that keep reviews which cannot matter from reaching
 * lbguard (BENCHMARKS.md "Reviews that cannot matter"), evaluated with a real
 * CEL implementation over a review stream, and checked against lbguard itself:
 * every review a condition drops is one lbguard, in process, allows with no
 * warning and no patch.
 *
 *   CEL_JS=/path/to/node_modules/@marcbachmann/cel-js node dist/bench/match-conditions.js
 *   node dist/bench/match-conditions.js --policy deploy/base/policy.yaml   (the expressions for that policy)
 *
 * The evaluator is @marcbachmann/cel-js (not a dependency of lbguard: install
 * it anywhere, e.g. `npm i --prefix /tmp/celjs @marcbachmann/cel-js@8`, and
 * point CEL_JS at it). Without it the program prints the expressions only.
 *
 * The API server sends one review per matching webhook entry: a Service
 * CREATE or UPDATE goes to the mutating entry (default-class.lbguard.dev) and
 * to the validating one (services.lbguard.dev), a status write to the
 * validating one only (services/status). The stream is bench/mix.ts's five
 * review types (as the API server would send them) plus the writes that make
 * up most of a steady cluster's Service traffic and that lbguard has nothing
 * to say about.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { createReviewHandler } from "../src/admission/handler.js";
import { MemoryView } from "../src/cluster/view.js";
import { createLogger } from "../src/observability/logger.js";
import { parsePolicy } from "../src/policy/load.js";
import type { Policy } from "../src/policy/policy.js";
import { BENCH_POLICY, QUICK, generate } from "./generate.js";
import { mix } from "./mix.js";

/** The identities of every provider in the policy, as a CEL list literal. */
export function identityList(policy: Policy): string {
  const ids = Object.values(policy.providers).flatMap((p) => p?.identities ?? []);
  return `[${[...new Set(ids)].map((i) => `'${i.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`).join(", ")}]`;
}

const present = (o: string, path: string) => {
  // has() on every step: matchConditions must never error (an error skips the webhook under failurePolicy Ignore)
  const parts = path.split(".");
  return parts.map((_, i) => `has(${o}.${parts.slice(0, i + 1).join(".")})`).join(" && ");
};
/** field `path` (under object/oldObject) changed: presence or value, as lbguard's fieldsChanged compares */
const changed = (path: string) =>
  `(${present("object", path)}) != (${present("oldObject", path)}) || ((${present("object", path)}) && object.${path} != oldObject.${path})`;

/** Annotations whose change re-opens a Service (src/rules/service.ts isRelevantAnnotation). */
const RELEVANT_ANNOTATION =
  "(k.startsWith('metallb.io/') || k.startsWith('metallb.universe.tf/') || k == 'kube-vip.io/loadbalancerIPs') && k != 'metallb.io/ip-allocated-from-pool' && k != 'metallb.universe.tf/ip-allocated-from-pool'";

export interface Condition {
  webhook: string;
  name: string;
  expression: string;
  /** new in issue 16 (the others are deploy/base/webhooks.yaml's today) */
  added: boolean;
}

export function conditions(policy: Policy): Condition[] {
  const ids = identityList(policy);
  const anns = (o: string) => `(has(${o}.metadata.annotations) ? ${o}.metadata.annotations : {})`;
  const ingress = (o: string) =>
    `has(${o}.status) && has(${o}.status.loadBalancer) && has(${o}.status.loadBalancer.ingress)`;
  const lb = (o: string) => `(has(${o}.status) && has(${o}.status.loadBalancer) ? ${o}.status.loadBalancer : {})`;
  const byProvider = `has(request.userInfo.username) && request.userInfo.username in ${ids}`;
  const isStatus = "has(request.subResource) && request.subResource == 'status'";
  return [
    {
      webhook: "default-class.lbguard.dev",
      name: "load-balancers-only",
      expression: "has(object.spec.type) && object.spec.type == 'LoadBalancer'",
      added: false,
    },
    {
      webhook: "default-class.lbguard.dev",
      name: "class-unset-on-create-or-type-change",
      // src/rules/service.ts defaultClass: a patch only for a LoadBalancer without a class, created or becoming one
      expression:
        "(!has(object.spec.loadBalancerClass) || object.spec.loadBalancerClass == null) && " +
        "(oldObject == null || !(has(oldObject.spec.type) && oldObject.spec.type == 'LoadBalancer'))",
      added: true,
    },
    {
      webhook: "services.lbguard.dev",
      name: "load-balancers-or-external-ips",
      expression:
        "(has(object.spec.type) && object.spec.type == 'LoadBalancer') || (has(object.spec.externalIPs) && size(object.spec.externalIPs) > 0) || (oldObject != null && has(oldObject.spec.type) && oldObject.spec.type == 'LoadBalancer')",
      added: false,
    },
    {
      webhook: "services.lbguard.dev",
      name: "status-writes-that-matter",
      // a status write matters when a provider changes status.loadBalancer (foreign-write), or when it
      // brings an address the old status did not have (service.status-address, whoever writes it)
      expression:
        `!(${isStatus}) || ` +
        `((${byProvider}) && ${lb("object")} != (oldObject == null ? {} : ${lb("oldObject")})) || ` +
        `((${ingress("object")}) && object.status.loadBalancer.ingress.exists(i, has(i.ip) && ` +
        `!(oldObject != null && ${ingress("oldObject")} && oldObject.status.loadBalancer.ingress.exists(o, has(o.ip) && o.ip == i.ip))))`,
      added: true,
    },
    {
      webhook: "services.lbguard.dev",
      name: "updates-of-relevant-fields",
      // src/rules/service.ts: SERVICE_FIELDS and spec.externalIPs; a provider's writes (foreign-write reads its bookkeeping)
      expression:
        `oldObject == null || (${isStatus}) || (${byProvider}) || ` +
        [
          changed("spec.type"),
          changed("spec.loadBalancerClass"),
          changed("spec.loadBalancerIP"),
          changed("spec.externalIPs"),
          changed("metadata.labels"),
          `${anns("object")}.exists(k, ${RELEVANT_ANNOTATION} && !(k in ${anns("oldObject")} && ${anns("oldObject")}[k] == ${anns("object")}[k]))`,
          `${anns("oldObject")}.exists(k, ${RELEVANT_ANNOTATION} && !(k in ${anns("object")}))`,
        ]
          .map((e) => `(${e})`)
          .join(" || "),
      added: true,
    },
    {
      webhook: "pools.lbguard.dev",
      name: "addresses-or-allocation-changed",
      // src/rules/pool.ts: the only pool check reads spec.addresses and spec.serviceAllocation
      expression: `oldObject == null || (${changed("spec.addresses")}) || (${changed("spec.serviceAllocation")})`,
      added: true,
    },
  ];
}

// ---- the review stream --------------------------------------------------------------

interface Review {
  path: "/mutate" | "/validate";
  webhook: string;
  request: Record<string, any>;
}

interface Category {
  what: string;
  reviews: Review[];
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

function categories(): Category[] {
  const reviews = mix(QUICK, 10).map((r) => ({ ...r, request: JSON.parse(r.body).request }));
  const of = (t: string) => reviews.filter((r) => r.type === t).map((r) => r.request);
  /** a Service write: the reviews the API server sends for it (mutating entry, validating entry) */
  const svcWrite = (req: Record<string, any>): Review[] =>
    req.subResource
      ? [{ path: "/validate", webhook: "services.lbguard.dev", request: req }]
      : [
          { path: "/mutate", webhook: "default-class.lbguard.dev", request: req },
          { path: "/validate", webhook: "services.lbguard.dev", request: req },
        ];
  const updates = of("service-update");
  const statuses = of("status-update");
  const update = (f: (o: any, old: any) => void, user?: string) =>
    updates.flatMap((u) => {
      const req = clone(u);
      req.object = clone(req.oldObject);
      f(req.object, req.oldObject);
      if (user) req.userInfo = { username: user };
      return svcWrite(req);
    });
  const status = (f: (o: any, old: any) => void, user: string) =>
    statuses.flatMap((s) => {
      const req = clone(s);
      req.oldObject = clone(req.object);
      f(req.object, req.oldObject);
      req.userInfo = { username: user };
      return svcWrite(req);
    });
  return [
    { what: "Service CREATE, defaulted (bench/mix.ts)", reviews: of("service-create").flatMap(svcWrite) },
    { what: "Service UPDATE, labels changed (bench/mix.ts)", reviews: updates.flatMap(svcWrite) },
    {
      what: "pool CREATE (bench/mix.ts)",
      reviews: of("pool-create").map((request) => ({ path: "/validate", webhook: "pools.lbguard.dev", request })),
    },
    {
      what: "kube-vip DaemonSet CREATE (bench/mix.ts)",
      reviews: of("daemonset-create").map((request) => ({
        path: "/validate",
        webhook: "kube-vip-system-workloads.lbguard.dev",
        request,
      })),
    },
    { what: "status UPDATE by MetalLB, address assigned (bench/mix.ts)", reviews: statuses.flatMap(svcWrite) },
    {
      what: "Service UPDATE that changes nothing (a GitOps re-apply or dry-run drift check)",
      reviews: update(() => {}),
    },
    {
      what: "Service UPDATE of an unrelated annotation (argocd tracking id, last-applied)",
      reviews: update((o) => (o.metadata.annotations = { "argocd.argoproj.io/tracking-id": "app:/Service:x/y" })),
    },
    {
      what: "Service UPDATE of ports and selector (a rollout)",
      reviews: update((o) => {
        o.spec.ports[0].targetPort = 9443;
        o.spec.selector = { app: "other" };
      }),
    },
    {
      what: "Service UPDATE adding a finalizer",
      reviews: update(
        (o) => (o.metadata.finalizers = ["service.kubernetes.io/load-balancer-cleanup"]),
        "system:serviceaccount:kube-system:service-controller",
      ),
    },
    {
      what: "Service UPDATE by MetalLB of its own annotation (provider: kept)",
      reviews: update(
        (o) => (o.metadata.annotations = { "metallb.io/ip-allocated-from-pool": "pool-1" }),
        "system:serviceaccount:metallb-system:controller",
      ),
    },
    {
      what: "Service UPDATE requesting an address (relevant: kept)",
      reviews: update((o) => (o.metadata.annotations = { "metallb.io/loadBalancerIPs": "10.64.0.99" })),
    },
    {
      what: "status UPDATE by MetalLB, unchanged (a resync)",
      reviews: status(() => {}, "system:serviceaccount:metallb-system:controller"),
    },
    {
      what: "status UPDATE by another identity, same addresses (ipMode, conditions)",
      reviews: status((o) => {
        o.status.loadBalancer.ingress[0].ipMode = "Proxy";
        o.status.conditions = [{ type: "Ready", status: "True" }];
      }, "system:serviceaccount:monitoring:status-writer"),
    },
    {
      what: "status UPDATE by another identity, an address removed",
      reviews: status((o) => (o.status.loadBalancer = {}), "system:serviceaccount:kube-system:svclb"),
    },
    {
      what: "status UPDATE by another identity with a new address (k3s ServiceLB: kept)",
      reviews: status((o, old) => {
        old.status.loadBalancer = {};
        o.status.loadBalancer.ingress = [{ ip: "172.16.0.5" }];
      }, "system:serviceaccount:kube-system:svclb"),
    },
    {
      what: "status UPDATE by kube-vip on a MetalLB Service (a foreign write: kept)",
      reviews: status(
        (o) => (o.status.loadBalancer.ingress = [{ ip: "10.64.0.200" }]),
        "system:serviceaccount:kube-system:kube-vip",
      ),
    },
  ];
}

async function main() {
  const policy = parsePolicy(BENCH_POLICY);
  const conds = conditions(policy);
  const file = process.argv.includes("--policy") ? process.argv[process.argv.indexOf("--policy") + 1] : undefined;
  if (file) {
    // the expressions for a deployed policy (a policy file, or the ConfigMap holding one); the stream below uses BENCH_POLICY
    const doc = YAML.parse(readFileSync(file, "utf8"));
    const text = doc?.kind === "ConfigMap" ? doc.data["policy.yaml"] : readFileSync(file, "utf8");
    console.log(`matchConditions for ${file}:`);
    for (const c of conditions(parsePolicy(text)).filter((c) => c.added))
      console.log(`- ${c.webhook} ${c.name}:\n  ${c.expression}`);
    return;
  }
  console.log("matchConditions (under BENCH_POLICY's identities):");
  for (const c of conds) console.log(`- ${c.webhook} ${c.name}${c.added ? " (new)" : ""}:\n  ${c.expression}`);
  const lib = process.env.CEL_JS;
  let cel: { evaluate: (expr: string, vars: Record<string, unknown>) => unknown } | undefined;
  try {
    cel = await import(lib ? pathToFileURL(`${lib.replace(/\/$/, "")}/lib/index.js`).href : "@marcbachmann/cel-js");
  } catch (e) {
    console.log(`\nno CEL evaluator (${String(e).split("\n")[0]}): set CEL_JS to an installed @marcbachmann/cel-js`);
    return;
  }
  const view = new MemoryView();
  for (const o of generate(QUICK)) view.apply(o);
  view.settle();
  const handler = createReviewHandler({ policy: () => policy, view: () => view }, undefined, createLogger("silent"));
  let total = 0;
  let dropped = 0;
  let mixTotal = 0;
  let mixDropped = 0;
  const rows: string[] = [];
  for (const cat of categories()) {
    let kept = 0;
    for (const r of cat.reviews) {
      const vars = { object: r.request.object, oldObject: r.request.oldObject ?? null, request: r.request };
      const send = conds
        .filter((c) => c.webhook === r.webhook)
        .every((c) => {
          const v = cel!.evaluate(c.expression, vars);
          if (typeof v !== "boolean") throw new Error(`${c.name} gave ${String(v)} for ${cat.what}`);
          return v;
        });
      const body = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: r.request });
      const out = await handler(r.path === "/mutate" ? "mutate" : "validate", body, "application/json", 0);
      const answer = JSON.parse(String(out.body)).response;
      const nothing = answer.allowed && !answer.patch && !answer.warnings?.length;
      if (!send && !nothing)
        throw new Error(`${r.webhook} drops a review lbguard answers: ${cat.what}: ${JSON.stringify(answer)}`);
      if (send) kept++;
    }
    const n = cat.reviews.length;
    total += n;
    dropped += n - kept;
    if (cat.what.includes("bench/mix.ts")) {
      mixTotal += n;
      mixDropped += n - kept;
    }
    rows.push(`| ${cat.what} | ${n / 10} | ${(n - kept) / 10} |`);
  }
  console.log("\n| API write (10 variants each) | reviews sent per write today | of them dropped |");
  console.log("|---|---|---|");
  for (const r of rows) console.log(r);
  console.log(
    `\nbench/mix.ts's five types, as the API server sends them: ${mixDropped} of ${mixTotal} reviews dropped (${((100 * mixDropped) / mixTotal).toFixed(0)}%); the whole stream: ${dropped} of ${total}. Every dropped review is one lbguard allows with no warning and no patch.`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
