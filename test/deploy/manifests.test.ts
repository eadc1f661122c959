/**
 * deploy/ as users install it: every kustomization built by real kustomize
 * (`kubectl kustomize`), every rendered object checked against its schema
 * with unknown fields refused, the one-file manifests equal to their
 * kustomizations, and the content of the base and the cert-manager overlay
 * (webhook entries, RBAC, NetworkPolicy, Deployment, image) as the README
 * argues it.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import YAML from "yaml";
import { SYSTEM_WORKLOAD_NAMESPACES, WEBHOOKS } from "../../src/admission/webhooks.js";
import { resourcesFor } from "../../src/cluster/sources/live.js";
import { parsePolicy } from "../../src/policy/load.js";
import { ROOT } from "../helpers/paths.js";
import {
  NO_KUBECTL,
  Obj,
  containersOf,
  hasKubectl,
  kustomizationDirs,
  kustomizationFile,
  kustomizeAll,
  parseDocs,
  podSpecOf,
} from "./kustomize.js";
import { objectName, uncheckedReason, validateStrict } from "./schema.js";

const DEPLOY = join(ROOT, "deploy");
const rel = (p: string) => relative(ROOT, p) || ".";
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const IMAGE = `ghcr.io/lbguard/lbguard:v${VERSION}`;
const CERTS_JOB = `lbguard-certs-v${VERSION.replace(/\./g, "-")}`;

/** The one-file manifests and the kustomization each is rendered from (scripts/install-yaml.mjs). */
const INSTALL = [
  { file: "deploy/install.yaml", from: "deploy/base" },
  { file: "deploy/install-cert-manager.yaml", from: "deploy/overlays/cert-manager" },
];
const readDocs = (file: string) => parseDocs(readFileSync(join(ROOT, file), "utf8"), file);
/** What `kubectl apply -f deploy/install.yaml` (= `-k deploy/base`) creates. */
const base = readDocs("deploy/install.yaml");
/** What `kubectl apply -f deploy/install-cert-manager.yaml` (= `-k deploy/overlays/cert-manager`) creates. */
const overlay = readDocs("deploy/install-cert-manager.yaml");

/** Every kustomization of the repository: deploy/ and the e2e overlay on top of it. */
const KUSTOMIZATIONS = [...kustomizationDirs(DEPLOY), join(ROOT, "test/e2e/overlay")];

const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  expect(o, `${kind} ${name}`).to.not.equal(undefined);
  return o!;
};
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
]);

function skipWithoutKubectl(ctx: Mocha.Context): void {
  if (!hasKubectl()) {
    console.log(`      ${NO_KUBECTL}`);
    ctx.skip();
  }
}

// ---- an unknown field planted in a copy of each deploy file must fail ----

const PLANTED = "readOnlyRootFileSystem";
/** Maps whose keys are free (labels, data, …): a field planted there would be valid. */
const FREE_FORM = new Set(["labels", "annotations", "data", "stringData", "binaryData", "matchLabels", "nodeSelector", "requests", "limits"]);
/** Where to descend first: toward the deepest, most specific closed object. */
const PREFERRED = ["spec", "template", "jobTemplate", "containers", "securityContext", "webhooks", "clientConfig", "service", "rules", "ingress", "ports", "subjects", "privateKey", "groups", "podMetricsEndpoints"];

/** The deepest closed object of a document (a path of keys and indexes). */
function deepest(o: Obj): (string | number)[] {
  const path: (string | number)[] = [];
  let at: any = o;
  for (;;) {
    const candidates = Object.entries(at).filter(([k, v]) => {
      if (FREE_FORM.has(k)) return false;
      const target = Array.isArray(v) ? v[0] : v;
      if (!target || typeof target !== "object" || Array.isArray(target)) return false;
      // Service.spec.selector is a map of labels; a LabelSelector has matchLabels/matchExpressions
      return !(k === "selector" && Object.values(target).every((x) => typeof x === "string"));
    });
    if (!candidates.length) return path;
    const rank = (k: string) => (PREFERRED.includes(k) ? PREFERRED.indexOf(k) : PREFERRED.length);
    const [k, v] = candidates.reduce((best, c) => (rank(c[0]) < rank(best[0]) ? c : best));
    path.push(k);
    at = v;
    if (Array.isArray(at)) {
      path.push(0);
      at = at[0];
    }
  }
}

/** Local YAML files a kustomization lists as resources. */
function resourceFiles(dir: string): string[] {
  const k = YAML.parse(readFileSync(kustomizationFile(dir)!, "utf8"));
  return ((k.resources ?? []) as string[]).filter((r) => /\.ya?ml$/.test(r)).map((r) => join(dir, r));
}

/** A scratch copy of deploy/ (so relative paths between kustomizations hold). */
function deployCopy(): string {
  const copy = mkdtempSync(join(tmpdir(), "lbguard-deploy-"));
  cpSync(DEPLOY, join(copy, "deploy"), { recursive: true });
  return copy;
}

/** The README's example overlay that narrows the NetworkPolicy's webhook port. */
function readmeOverlay(): string | undefined {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  return /```yaml\n(# deploy\/overlays\/my-cluster\/kustomization\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
}

/** Say, once each, which objects this file could not check (an optional schema package is absent). */
const noted = new Set<string>();
function noteUnchecked(objs: Obj[]): void {
  for (const o of objs) {
    const why = uncheckedReason(o);
    if (why && !noted.has(why)) {
      noted.add(why);
      console.log(`      ${why}`);
    }
  }
}

interface Build {
  dir: string;
  objects?: Obj[];
  error?: string;
  problems?: string[][];
}
interface Planted extends Build {
  file: string;
  planted: number;
}

describe("deploy: with real kustomize (kubectl kustomize)", function () {
  this.timeout(180_000);
  const deployDirs = KUSTOMIZATIONS.filter((d) => d.startsWith(DEPLOY + "/"));
  const builds: Build[] = KUSTOMIZATIONS.map((dir) => ({ dir }));
  const planted: Planted[] = deployDirs.flatMap((dir) => resourceFiles(dir).map((file) => ({ dir, file, planted: 0 })));
  const kustomizations: Build[] = deployDirs.map((dir) => ({ dir }));
  const example: Build = { dir: "deploy/overlays/my-cluster" };
  const build = (b: Build) => b.objects ?? expect.fail(`kubectl kustomize ${rel(b.dir)}: ${b.error}`);

  // every build at once, a few kubectl at a time; then one strict schema check for all objects
  before(async function () {
    skipWithoutKubectl(this);
    const dirs: string[] = [];
    const sinks: ((r: { text: string } | { error: string }) => void)[] = [];
    const add = (dir: string, b: Build, filter: (o: Obj) => boolean = () => true) => {
      dirs.push(dir);
      sinks.push((r) => {
        if ("error" in r) b.error = r.error;
        else b.objects = parseDocs(r.text, dir).filter(filter);
      });
    };
    for (const b of builds) add(b.dir, b);
    for (const c of planted) {
      const copy = deployCopy();
      const docs = parseDocs(readFileSync(c.file, "utf8"), c.file);
      for (const d of docs) {
        let at: any = d;
        for (const k of deepest(d)) at = at[k];
        at[PLANTED] = true;
        c.planted++;
      }
      writeFileSync(join(copy, relative(ROOT, c.file)), docs.map((d) => YAML.stringify(d)).join("---\n"));
      // only the objects that carry the planted field are checked
      add(join(copy, relative(ROOT, c.dir)), c, (o) => JSON.stringify(o).includes(`"${PLANTED}"`));
    }
    for (const k of kustomizations) {
      const copy = deployCopy();
      const file = join(copy, relative(ROOT, kustomizationFile(k.dir)!));
      writeFileSync(file, readFileSync(file, "utf8") + `${PLANTED}: true\n`);
      add(dirname(file), k);
    }
    const overlayText = readmeOverlay();
    if (overlayText) {
      const copy = deployCopy();
      mkdirSync(join(copy, example.dir));
      writeFileSync(join(copy, example.dir, "kustomization.yaml"), overlayText);
      add(join(copy, example.dir), example);
    } else example.error = "README: no yaml block starting with # deploy/overlays/my-cluster/kustomization.yaml";
    (await kustomizeAll(dirs)).forEach((r, i) => sinks[i](r));
    const checked = [...builds, ...planted, example].filter((b) => b.objects);
    const problems = validateStrict(checked.flatMap((b) => b.objects!));
    let at = 0;
    for (const b of checked) {
      b.problems = problems.slice(at, at + b.objects!.length);
      at += b.objects!.length;
    }
  });

  it("finds the base and its sibling overlays", () => {
    const dirs = KUSTOMIZATIONS.map(rel);
    expect(dirs).to.include.members(["deploy/base", "deploy/overlays/cert-manager"]);
    for (const d of dirs.filter((d) => d.startsWith("deploy/")))
      expect(d, "kustomizations live in deploy/base or deploy/overlays/NAME").to.match(/^deploy\/(base|overlays\/[^/]+)$/);
  });

  for (const b of builds)
    it(`kubectl kustomize ${rel(b.dir)} builds, and every object in it validates strictly`, () => {
      const objs = build(b);
      expect(objs.length).to.be.greaterThan(0);
      noteUnchecked(objs);
      const bad = objs.flatMap((o, i) => b.problems![i].map((p) => `${objectName(o)}: ${p}`));
      expect(bad, `schema problems in kubectl kustomize ${rel(b.dir)}`).to.deep.equal([]);
      for (const o of objs) {
        if (!CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${objectName(o)} names its namespace`).to.be.a("string");
        expect(o.metadata.labels?.["app.kubernetes.io/part-of"], objectName(o)).to.equal("lbguard");
      }
    });

  for (const m of INSTALL)
    it(`${m.file} is kubectl kustomize ${m.from} (npm run install-yaml)`, () => {
      expect(readDocs(m.file)).to.deep.equal(build(builds.find((b) => rel(b.dir) === m.from)!));
      expect(readFileSync(join(ROOT, m.file), "utf8")).to.match(new RegExp(`^# lbguard v${VERSION.replace(/\./g, "\\.")}: kubectl apply -f ${m.file}\n`));
    });

  it("npm run install-yaml -- --check agrees", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "scripts/install-yaml.mjs"), "--check"], { encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
  });

  for (const c of planted)
    it(`refuses ${PLANTED} planted in a copy of ${rel(c.file)} (kubectl kustomize ${rel(c.dir)})`, () => {
      const objs = build(c);
      expect(objs.length, "every planted document reaches the build").to.equal(c.planted);
      noteUnchecked(objs);
      objs.forEach((o, i) => {
        if (!uncheckedReason(o)) expect(c.problems![i].join("\n"), `${objectName(o)} must be refused`).to.include(`unknown field "${PLANTED}"`);
      });
    });

  for (const k of kustomizations)
    it(`refuses ${PLANTED} planted in a copy of ${rel(kustomizationFile(k.dir)!)} (kustomize itself)`, () => {
      expect(k.error, "the build must fail").to.match(new RegExp(PLANTED));
    });

  it("names the field and where it is (the typos of issue 15)", () => {
    const d = structuredClone(find(base, "Deployment", "lbguard"));
    d.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    const v = structuredClone(find(base, "ValidatingWebhookConfiguration", "lbguard"));
    v.webhooks[0].timeoutSecond = 3;
    const c = structuredClone(find(overlay, "Certificate", "lbguard-ca"));
    c.spec.isCa = true;
    const [pd, pv, pc] = validateStrict([d, v, c]);
    expect(pd).to.deep.equal([
      'spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: unknown field "readOnlyRootFileSystem" (not in ISecurityContext; did you mean readOnlyRootFilesystem?)',
    ]);
    expect(pv).to.deep.equal([
      'webhooks[0].timeoutSecond: unknown field "timeoutSecond" (not in IValidatingWebhook; did you mean timeoutSeconds?)',
    ]);
    expect(pc).to.have.length(1);
    expect(pc[0]).to.match(/^spec\.isCa: unknown field "isCa" \(.*did you mean isCA\?\)$/);
  });
  it("lists every problem of an object, not only the first TypeScript reports", () => {
    const svc = structuredClone(find(base, "Service", "lbguard"));
    svc.spec.prots = svc.spec.ports;
    svc.spec.ports[0].protocl = "TCP";
    svc.spec.ports[1].port = "443";
    const [p] = validateStrict([svc]);
    expect(p.join("\n")).to.include('spec.prots: unknown field "prots"');
    expect(p.join("\n")).to.include('spec.ports[0].protocl: unknown field "protocl"');
    expect(p.join("\n")).to.include("spec.ports[1].port: Type 'string' is not assignable to type 'number'.");  });

  it("the README's overlay narrowing the webhook port to the control-plane addresses builds and validates", () => {
    const objs = build(example);
    expect(example.problems!.flat()).to.deep.equal([]);
    const narrowed = find(objs, "NetworkPolicy", "lbguard").spec.ingress.find((r: Obj) => r.ports[0].port === "webhook");
    expect(narrowed.from.length).to.be.greaterThan(0);
    for (const peer of narrowed.from) expect(peer).to.have.keys("ipBlock");
    expect(find(objs, "Certificate", "lbguard-serving"), "on top of the recommended cert-manager overlay").to.not.equal(undefined);
  });
});

describe("deploy: the one-file manifests validate strictly, and refuse a planted field (no kubectl needed)", function () {
  this.timeout(60_000);
  for (const m of INSTALL)
    it(`${m.file}`, () => {
      const docs = readDocs(m.file);
      const planted = docs.map((d) => {
        const copy = structuredClone(d);
        let at: any = copy;
        for (const k of deepest(copy)) at = at[k];
        at[PLANTED] = true;
        return copy;
      });
      const problems = validateStrict([...docs, ...planted]);
      const bad = docs.flatMap((o, i) => problems[i].map((p) => `${objectName(o)}: ${p}`));
      expect(bad, `schema problems in ${m.file}`).to.deep.equal([]);
      planted.forEach((o, i) =>
        expect(problems[docs.length + i].join("\n"), `${objectName(o)} with ${PLANTED}`).to.include(`unknown field "${PLANTED}"`),
      );
    });
});

// ---- the content: what the base and the cert-manager overlay install ----

describe("deploy: the webhook configurations", () => {
  const m = find(base, "MutatingWebhookConfiguration", "lbguard");
  const v = find(base, "ValidatingWebhookConfiguration", "lbguard");
  const all: Obj[] = [...m.webhooks, ...v.webhooks];
  const entry = (name: string) => all.find((w) => w.name === name)!;
  const nsSelector = (w: Obj) => w.namespaceSelector.matchExpressions[0];

  it("has one entry per webhook name lbguard uses in its messages", () => {
    expect(all.map((w) => w.name).sort()).to.deep.equal(Object.values(WEBHOOKS).sort());
  });
  it("every entry: v1 only, no side effects, at most 3 s, an explicit failurePolicy, lbguard's Service", () => {
    for (const w of all) {
      expect(w.admissionReviewVersions, w.name).to.deep.equal(["v1"]);
      expect(w.sideEffects, w.name).to.equal("None");
      expect(w.timeoutSeconds, w.name).to.be.within(1, 3);
      expect(w.failurePolicy, w.name).to.be.oneOf(["Fail", "Ignore"]);
      expect(w.clientConfig.service).to.deep.include({ name: "lbguard", namespace: "lbguard-system", port: 443 });
      expect(w.clientConfig.service.path).to.equal(m.webhooks.includes(w) ? "/mutate" : "/validate");
      for (const r of w.rules) expect(r.operations, w.name).to.not.include("DELETE");
    }
  });
  it("never calls itself for its own namespace (kubernetes.io/metadata.name, not a tenant label)", () => {
    for (const w of all) {
      const exprs = w.namespaceSelector?.matchExpressions ?? [];
      expect(w.namespaceSelector?.matchLabels, w.name).to.equal(undefined);
      const sel = exprs.find((e: Obj) => e.key === "kubernetes.io/metadata.name");
      expect(sel, w.name).to.not.equal(undefined);
      const ok =
        (sel.operator === "NotIn" && sel.values.includes("lbguard-system")) ||
        (sel.operator === "In" && !sel.values.includes("lbguard-system"));
      expect(ok, w.name).to.equal(true);
    }
  });
  it("lists services/status explicitly next to services", () => {
    expect(entry(WEBHOOKS.services).rules[0].resources).to.deep.equal(["services", "services/status"]);
  });
  it("pools, the kube-vip ConfigMap, kube-vip outside the system namespaces and namespaces fail closed; the rest never blocks", () => {
    for (const n of [WEBHOOKS.pools, WEBHOOKS.kubeVipConfig, WEBHOOKS.kubeVipWorkloads, WEBHOOKS.namespaces])
      expect(entry(n).failurePolicy, n).to.equal("Fail");
    for (const n of [WEBHOOKS.defaultClass, WEBHOOKS.services, WEBHOOKS.kubeVipSystemWorkloads])
      expect(entry(n).failurePolicy, n).to.equal("Ignore");
  });
  it("routes the system namespaces (kube-system, harvester-system: Harvester's own kube-vip) to the Ignore entry", () => {
    const sys = entry(WEBHOOKS.kubeVipSystemWorkloads);
    const other = entry(WEBHOOKS.kubeVipWorkloads);
    expect(SYSTEM_WORKLOAD_NAMESPACES).to.deep.equal(["kube-system", "harvester-system"]);
    expect(nsSelector(sys)).to.deep.equal({ key: "kubernetes.io/metadata.name", operator: "In", values: [...SYSTEM_WORKLOAD_NAMESPACES] });
    expect(nsSelector(other)).to.deep.equal({ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["lbguard-system", ...SYSTEM_WORKLOAD_NAMESPACES] });
    // the example policy's system namespaces are exactly these
    const policy = YAML.parse(find(base, "ConfigMap", "lbguard-policy").data["policy.yaml"]);
    expect(policy.spec.namespaces[0]).to.deep.include({ names: [...SYSTEM_WORKLOAD_NAMESPACES], provider: "kube-vip" });
  });
  it("sends kube-vip workloads, ephemeral containers (pods/ephemeralcontainers) included, narrowed to kube-vip images", () => {
    for (const w of [entry(WEBHOOKS.kubeVipSystemWorkloads), entry(WEBHOOKS.kubeVipWorkloads)]) {
      expect(w.rules.flatMap((r: Obj) => r.resources).sort(), w.name).to.deep.equal(["daemonsets", "deployments", "pods", "pods/ephemeralcontainers", "statefulsets"]);
      expect(w.rules.find((r: Obj) => r.resources.includes("pods/ephemeralcontainers")).operations).to.deep.equal(["UPDATE"]);
      const cel = w.matchConditions.map((c: Obj) => c.expression).join();
      for (const f of ["containers", "initContainers", "ephemeralContainers", "template", "kube-vip"]) expect(cel, w.name).to.include(f);
    }
    expect(entry(WEBHOOKS.kubeVipConfig).matchConditions[0].expression).to.equal("object.metadata.name == 'kubevip'");
  });
  it("the Services entry also takes Services of any type with spec.externalIPs; defaulting only LoadBalancers", () => {
    expect(entry(WEBHOOKS.services).matchConditions.map((c: Obj) => c.expression).join()).to.include("object.spec.externalIPs");
    expect(entry(WEBHOOKS.defaultClass).matchConditions.map((c: Obj) => c.expression).join()).to.not.include("externalIPs");
  });
  it("keeps the namespaces entry: labels-changed on UPDATE, every CREATE", () => {
    const ns = entry(WEBHOOKS.namespaces);
    expect(ns.rules).to.deep.equal([{ apiGroups: [""], apiVersions: ["v1"], resources: ["namespaces"], operations: ["CREATE", "UPDATE"], scope: "Cluster" }]);
    expect(ns.matchConditions.map((c: Obj) => c.name)).to.deep.equal(["labels-changed"]);
  });
  it("has no caBundle in the base (the Job writes it) and cert-manager's injector in the overlay", () => {
    for (const w of all) expect(w.clientConfig.caBundle).to.equal(undefined);
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"])
      expect(find(overlay, kind, "lbguard").metadata.annotations).to.deep.equal({
        "cert-manager.io/inject-ca-from": "lbguard-system/lbguard-serving",
      });
  });
});

describe("deploy: the matchConditions, evaluated as CEL", () => {
  const v = find(base, "ValidatingWebhookConfiguration", "lbguard");
  const m = find(base, "MutatingWebhookConfiguration", "lbguard");
  const all: Obj[] = [...m.webhooks, ...v.webhooks];
  const conditions = (name: string) => all.find((w) => w.name === name)!.matchConditions as Obj[];
  let cel: any;
  before(async function () {
    const specifier = "@marcbachmann/cel-js"; // a devDependency when installed; a variable, so tsc does not require it
    try {
      cel = await import(specifier);
    } catch {
      console.log(`      ${specifier} is not installed: skipped (npm i -D ${specifier} evaluates the matchConditions)`);
      this.skip();
    }
  });
  /** Every condition of the entry (the API server ANDs them) for this object. */
  const matches = (name: string, object: Obj, oldObject: Obj | null = null) =>
    conditions(name).every((c) => cel.evaluate(c.expression, { object, oldObject, request: {} }) === true);

  it("type-checks every expression as bool with object and oldObject dynamic, as the API server compiles them", () => {
    const env = new cel.Environment().registerVariable("object", "dyn").registerVariable("oldObject", "dyn").registerVariable("request", "dyn");
    for (const w of all)
      for (const c of w.matchConditions ?? []) expect(env.check(c.expression), `${w.name} ${c.name}`).to.deep.include({ valid: true, type: "bool" });
  });
  it("kube-vip workload entries: a kube-vip image in containers, initContainers, ephemeralContainers or a template", () => {
    const kv = { name: "kube-vip", image: "ghcr.io/kube-vip/kube-vip:v1.2.3" };
    const cp = { name: "cloud-provider", image: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.10" };
    const web = { name: "web", image: "nginx:1.27" };
    const pod = (spec: Obj) => ({ apiVersion: "v1", kind: "Pod", spec });
    const ds = (spec: Obj) => ({ apiVersion: "apps/v1", kind: "DaemonSet", spec: { selector: {}, template: { spec } } });
    for (const name of [WEBHOOKS.kubeVipWorkloads, WEBHOOKS.kubeVipSystemWorkloads]) {
      expect(matches(name, pod({ containers: [web, kv] })), "containers").to.equal(true);
      expect(matches(name, pod({ containers: [web], initContainers: [kv] })), "initContainers").to.equal(true);
      expect(matches(name, pod({ containers: [web], ephemeralContainers: [kv] })), "ephemeralContainers").to.equal(true);
      expect(matches(name, pod({ containers: [cp] })), "the cloud provider").to.equal(true);
      expect(matches(name, pod({ containers: [web] })), "no kube-vip").to.equal(false);
      expect(matches(name, ds({ containers: [web, kv] })), "a template's containers").to.equal(true);
      expect(matches(name, ds({ containers: [web], initContainers: [kv] })), "a template's initContainers").to.equal(true);
      expect(matches(name, ds({ containers: [web] })), "a template without kube-vip").to.equal(false);
    }
  });
  it("Services: type LoadBalancer, leaving it, or spec.externalIPs on any type", () => {
    const svc = (spec: Obj) => ({ apiVersion: "v1", kind: "Service", spec });
    const s = WEBHOOKS.services;
    expect(matches(s, svc({ type: "LoadBalancer" }))).to.equal(true);
    expect(matches(s, svc({ type: "ClusterIP" }), svc({ type: "LoadBalancer" })), "leaving LoadBalancer").to.equal(true);
    expect(matches(s, svc({ type: "ClusterIP", externalIPs: ["10.0.4.247"] })), "externalIPs on ClusterIP").to.equal(true);
    expect(matches(s, svc({ type: "NodePort", externalIPs: ["10.0.4.247"] })), "externalIPs on NodePort").to.equal(true);
    expect(matches(s, svc({ type: "ClusterIP", externalIPs: [] }))).to.equal(false);
    expect(matches(s, svc({ type: "ClusterIP" }))).to.equal(false);
    expect(matches(WEBHOOKS.defaultClass, svc({ type: "LoadBalancer" }))).to.equal(true);
    expect(matches(WEBHOOKS.defaultClass, svc({ type: "ClusterIP", externalIPs: ["10.0.4.247"] }))).to.equal(false);
  });
  it("the kube-vip ConfigMap by name; Namespaces on CREATE and on a label change only", () => {
    expect(matches(WEBHOOKS.kubeVipConfig, { metadata: { name: "kubevip" } })).to.equal(true);
    expect(matches(WEBHOOKS.kubeVipConfig, { metadata: { name: "coredns" } })).to.equal(false);
    const ns = (labels?: Obj) => ({ metadata: { name: "lab", ...(labels ? { labels } : {}) } });
    expect(matches(WEBHOOKS.namespaces, ns({ a: "b" }))).to.equal(true);
    expect(matches(WEBHOOKS.namespaces, ns({ a: "b" }), ns({ a: "b" }))).to.equal(false);
    expect(matches(WEBHOOKS.namespaces, ns({ a: "c" }), ns({ a: "b" }))).to.equal(true);
    expect(matches(WEBHOOKS.namespaces, ns(), ns({ a: "b" }))).to.equal(true);
  });
});

describe("deploy: the Deployment and its neighbours", () => {
  const d = find(base, "Deployment", "lbguard");
  const pod = podSpecOf(d)!;
  const c = pod.containers[0];

  it("runs 2 replicas spread over nodes and zones, system-cluster-critical", () => {
    expect(d.spec.replicas).to.equal(2);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).to.equal(0);
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).to.equal("kubernetes.io/hostname");
    expect(pod.topologySpreadConstraints[0].topologyKey).to.equal("topology.kubernetes.io/zone");
    expect(pod.priorityClassName).to.equal("system-cluster-critical");
  });
  it("is non-root, read-only, without capabilities, seccomp RuntimeDefault, in a restricted namespace", () => {
    expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.securityContext.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
    expect(c.securityContext).to.deep.include({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(c.securityContext.capabilities).to.deep.equal({ drop: ["ALL"] });
    expect(find(base, "Namespace", "lbguard-system").metadata.labels["pod-security.kubernetes.io/enforce"]).to.equal("restricted");
  });
  it("has requests and a memory limit above the measured footprint, and probes on /healthz and /readyz", () => {
    expect(c.resources.requests).to.have.keys("cpu", "memory");
    expect(c.resources.limits.memory).to.equal("384Mi");
    expect(c.livenessProbe.httpGet).to.deep.include({ path: "/healthz", scheme: "HTTPS" });
    expect(c.readinessProbe.httpGet).to.deep.include({ path: "/readyz", scheme: "HTTPS" });
  });
  it("tells the background audit its namespace and Lease identity through the downward API", () => {
    expect(c.env).to.deep.include.members([
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    ]);
  });
  it("mounts the policy as a directory (updates arrive) and only the serving pair of the Secret", () => {
    expect(c.args).to.include.members(["--policy=/etc/lbguard/policy/policy.yaml", "--cert-dir=/etc/lbguard/tls", "--shutdown-delay=5"]);
    for (const vm of c.volumeMounts) expect(vm.subPath, vm.name).to.equal(undefined);
    const tls = pod.volumes.find((x: Obj) => x.name === "tls");
    expect(tls.secret.items.map((i: Obj) => i.key)).to.deep.equal(["tls.crt", "tls.key"]);
  });
  it("has a PodDisruptionBudget of maxUnavailable 1 on the same pods, and a Service to them", () => {
    const pdb = find(base, "PodDisruptionBudget", "lbguard");
    expect(pdb.spec.maxUnavailable).to.equal(1);
    expect(pdb.spec.minAvailable).to.equal(undefined);
    expect(pdb.spec.selector.matchLabels).to.deep.equal(d.spec.selector.matchLabels);
    const svc = find(base, "Service", "lbguard");
    expect(svc.spec.selector).to.deep.equal(d.spec.selector.matchLabels);
    expect(svc.spec.ports.find((p: Obj) => p.port === 443).targetPort).to.equal("webhook");
  });
  it("ships the example policy, which lbguard accepts", () => {
    const cm = find(base, "ConfigMap", "lbguard-policy");
    expect(cm.data["policy.yaml"].trim()).to.equal(readFileSync(join(ROOT, "examples/policy.yaml"), "utf8").trim());
    expect(() => parsePolicy(cm.data["policy.yaml"])).to.not.throw();
  });
  it("runs one image everywhere, the release the repository builds, non-root, with read-only root filesystems", () => {
    for (const objs of [base, overlay]) {
      const images = new Set<string>();
      for (const o of objs)
        for (const k of containersOf(o)) {
          images.add(k.image);
          expect(k.securityContext?.readOnlyRootFilesystem, objectName(o)).to.equal(true);
          expect(podSpecOf(o)!.securityContext?.runAsNonRoot, objectName(o)).to.equal(true);
        }
      expect([...images]).to.deep.equal([IMAGE]);
    }
  });
});

describe("deploy: certificates, with the Job and CronJob (base) or cert-manager (overlay)", () => {
  it(`names the Job after the release (${CERTS_JOB}), so an upgrade creates a new Job instead of failing on an immutable template`, () => {
    const jobs = base.filter((o) => o.kind === "Job");
    expect(jobs.map((j) => j.metadata.name)).to.deep.equal([CERTS_JOB]);
    // no self-deleting Job: Argo CD and Flux would recreate it on every sync
    expect(jobs[0].spec.ttlSecondsAfterFinished).to.equal(undefined);
  });
  it("the Job and the CronJob run `lbguard certs` with the image's own node, for both webhook configurations", () => {
    for (const o of [find(base, "Job", CERTS_JOB), find(base, "CronJob", "lbguard-certs-renew")]) {
      const [k] = containersOf(o);
      expect(k.command).to.deep.equal(["/nodejs/bin/node", "/app/dist/src/cli/main.js", "certs"]);
      expect(k.args).to.deep.equal(["--namespace=lbguard-system", "--service=lbguard", "--secret=lbguard-tls", "--webhook-config=lbguard"]);
      expect(podSpecOf(o)!.serviceAccountName).to.equal("lbguard-certs");
    }
    expect(find(base, "CronJob", "lbguard-certs-renew").spec.concurrencyPolicy).to.equal("Forbid");
  });
  it("the overlay drops every object of the Job path and issues lbguard-tls with cert-manager instead", () => {
    const certsPath = base.filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] === "certs").map(objectName).sort();
    expect(certsPath).to.deep.equal([
      "ClusterRole lbguard-certs",
      "ClusterRoleBinding lbguard-certs",
      "CronJob lbguard-system/lbguard-certs-renew",
      `Job lbguard-system/${CERTS_JOB}`,
      "Role lbguard-system/lbguard-certs",
      "RoleBinding lbguard-system/lbguard-certs",
      "ServiceAccount lbguard-system/lbguard-certs",
    ]);
    expect(overlay.map(objectName).filter((n) => certsPath.includes(n))).to.deep.equal([]);
    // everything else of the base is in the overlay unchanged, but for the webhook annotations
    for (const o of base.filter((x) => !certsPath.includes(objectName(x)) && !/WebhookConfiguration$/.test(x.kind)))
      expect(overlay.find((x) => objectName(x) === objectName(o)), objectName(o)).to.deep.equal(o);
    const cert = find(overlay, "Certificate", "lbguard-serving");
    expect(cert.spec.secretName).to.equal("lbguard-tls");
    expect(cert.spec.dnsNames).to.deep.equal(["lbguard.lbguard-system.svc", "lbguard.lbguard-system.svc.cluster.local"]);
    expect(cert.spec.issuerRef).to.deep.equal({ name: "lbguard-ca", kind: "Issuer", group: "cert-manager.io" });
    expect(find(overlay, "Certificate", "lbguard-ca").spec.isCA).to.equal(true);
    expect(find(overlay, "Issuer", "lbguard-ca").spec.ca.secretName).to.equal("lbguard-ca");
  });
});

describe("deploy: least-privilege RBAC", () => {
  const roles = (objs: Obj[]) => objs.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");
  /** The roles bound to a ServiceAccount of lbguard-system, with the namespace a RoleBinding limits them to. */
  const rolesOf = (objs: Obj[], sa: string) =>
    objs
      .filter((o) => (o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding") && o.subjects.some((s: Obj) => s.kind === "ServiceAccount" && s.name === sa && s.namespace === "lbguard-system"))
      .map((b) => ({ role: find(objs, b.roleRef.kind, b.roleRef.name), ns: b.kind === "RoleBinding" ? (b.metadata.namespace as string) : undefined }));
  const grants = (objs: Obj[], sa: string) =>
    rolesOf(objs, sa).flatMap(({ role, ns }) =>
      (role.rules as Obj[]).flatMap((r) =>
        r.apiGroups.flatMap((g: string) =>
          r.resources.flatMap((res: string) =>
            r.verbs.map((v: string) => `${ns ?? "*"} ${g || "core"}/${res} ${v}${r.resourceNames ? ` [${r.resourceNames.join(",")}]` : ""}`),
          ),
        ),
      ),
    );

  it("no wildcards anywhere", () => {
    for (const r of roles(base))
      for (const rule of r.rules)
        for (const f of ["apiGroups", "resources", "verbs", "resourceNames"]) expect(rule[f] ?? [], `${r.metadata.name}.${f}`).to.not.include("*");
  });
  it("the server reads with get/list/watch only, and covers every resource the live source watches", () => {
    const serverRoles = rolesOf(base, "lbguard");
    const policy = parsePolicy(find(base, "ConfigMap", "lbguard-policy").data["policy.yaml"]);
    for (const spec of resourcesFor(policy)) {
      const m = /^\/apis?\/(?:([^/]+)\/)?v[^/]*\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(spec.path.replace("/api/v1", "/api/core/v1"))!;
      const group = m[1] === "core" ? "" : m[1];
      const [ns, resource] = [m[2], m[3]];
      const allowed = serverRoles.some(
        ({ role, ns: rns }) =>
          (!rns || rns === ns) &&
          role.rules.some((r: Obj) => r.apiGroups.includes(group) && r.resources.includes(resource) && ["list", "watch"].every((v) => r.verbs.includes(v))),
      );
      expect(allowed, `${spec.key} (${spec.path})`).to.equal(true);
    }
  });
  it("the server writes only what the background audit writes: its reports by name, its Lease, Events", () => {
    const writes = grants(base, "lbguard").filter((g) => !/ (get|list|watch)( |$)/.test(g));
    expect(writes.sort()).to.deep.equal(
      [
        "* core/events create",
        "* wgpolicyk8s.io/clusterpolicyreports create",
        "* wgpolicyk8s.io/clusterpolicyreports delete [lbguard]",
        "* wgpolicyk8s.io/clusterpolicyreports update [lbguard]",
        "* wgpolicyk8s.io/policyreports create",
        "* wgpolicyk8s.io/policyreports delete [lbguard]",
        "* wgpolicyk8s.io/policyreports update [lbguard]",
        "lbguard-system coordination.k8s.io/leases create",
        "lbguard-system coordination.k8s.io/leases update [lbguard-audit]",
      ].sort(),
    );
    const reads = grants(base, "lbguard").filter((g) => / (get|list|watch)( |$)/.test(g));
    for (const r of reads.filter((g) => /reports|leases/.test(g))) expect(r, "reports and the Lease are read by name only").to.match(/\[(lbguard|lbguard-audit)\]$/);
    expect(reads.filter((g) => /secrets|webhookconfigurations/.test(g)), "no Secrets, no webhook configurations").to.deep.equal([]);
  });
  it("Secrets only through a Role in lbguard's own namespace, by name but for create; webhook configurations only lbguard's, only get/patch", () => {
    for (const r of roles(base))
      for (const rule of r.rules)
        if (rule.resources.includes("secrets")) {
          expect(r.kind).to.equal("Role");
          expect(r.metadata.namespace).to.equal("lbguard-system");
        }
    expect(grants(base, "lbguard-certs").sort()).to.deep.equal([
      "* admissionregistration.k8s.io/mutatingwebhookconfigurations get [lbguard]",
      "* admissionregistration.k8s.io/mutatingwebhookconfigurations patch [lbguard]",
      "* admissionregistration.k8s.io/validatingwebhookconfigurations get [lbguard]",
      "* admissionregistration.k8s.io/validatingwebhookconfigurations patch [lbguard]",
      "lbguard-system core/secrets create",
      "lbguard-system core/secrets get [lbguard-tls]",
      "lbguard-system core/secrets update [lbguard-tls]",
    ]);
    expect(find(base, "Role", "lbguard-kubevip-configmap").rules[0]).to.deep.include({ resourceNames: ["kubevip"] });
  });
  it("with cert-manager, no lbguard identity can touch a Secret or a webhook configuration", () => {
    expect(overlay.some((o) => o.kind === "ServiceAccount" && o.metadata.name === "lbguard-certs")).to.equal(false);
    expect(grants(overlay, "lbguard").filter((g) => /secrets|webhookconfigurations/.test(g))).to.deep.equal([]);
  });
});

describe("deploy: the NetworkPolicy", () => {
  const np = find(base, "NetworkPolicy", "lbguard");
  const d = find(base, "Deployment", "lbguard");
  const ports = podSpecOf(d)!.containers[0].ports as Obj[];

  it("selects the webhook pods and restricts their ingress only (egress reaches the API server)", () => {
    expect(np.metadata.namespace).to.equal("lbguard-system");
    expect(np.spec.podSelector.matchLabels).to.deep.equal(d.spec.selector.matchLabels);
    expect(np.spec.policyTypes).to.deep.equal(["Ingress"]);
  });
  it("admits the webhook port (the API server) and the metrics port from the monitoring namespace, by name, nothing else", () => {
    const byPort = Object.fromEntries(np.spec.ingress.map((r: Obj) => [r.ports.map((p: Obj) => p.port).join(), r]));
    expect(Object.keys(byPort).sort()).to.deep.equal(["metrics", "webhook"]);
    expect(ports.map((p) => p.name).sort()).to.deep.equal(["metrics", "webhook"]);
    expect(byPort.webhook.from, "the API server calls from node or external addresses no portable selector names").to.equal(undefined);
    expect(byPort.metrics.from).to.deep.equal([
      { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["monitoring"] }] } },
    ]);
  });
});

describe("deploy: the image", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it("is multi-stage, production dependencies only, a numeric non-root user, no shell, lbguard serve", () => {
    expect(dockerfile.match(/^FROM /gm)).to.have.length(2);
    expect(dockerfile).to.match(/npm prune --omit=dev/);
    expect(dockerfile).to.match(/^FROM gcr\.io\/distroless\/nodejs\$\{NODE_MAJOR\}-debian\d+:nonroot$/m);
    expect(dockerfile).to.match(/^USER 65532:65532$/m);
    expect(dockerfile).to.match(/^ENTRYPOINT \["\/nodejs\/bin\/node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "--no-memory-reducer", "\/app\/dist\/src\/cli\/main\.js", "serve"\]$/m);
    expect(ignore).to.include.members(["node_modules", "test", "certs", ".git"]);
  });
  it("builds on and runs the Node.js major the tests run on (20), which package.json's engines admit", () => {
    const major = /^ARG NODE_MAJOR=(\d+)$/m.exec(dockerfile)?.[1];
    expect(major).to.equal("20");
    expect(major).to.equal(process.versions.node.split(".")[0]);
    expect(dockerfile).to.match(/^FROM node:\$\{NODE_MAJOR\}-\S+ AS build$/m);
    const engines: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node;
    expect(engines).to.match(new RegExp(`^>=${major}\\.`));
  });
  it("the image deploy/ runs is the tag the README's docker build command builds from this repository", () => {
    const k = YAML.parse(readFileSync(join(DEPLOY, "base/kustomization.yaml"), "utf8"));
    expect(k.images).to.deep.equal([{ name: "ghcr.io/lbguard/lbguard", newTag: `v${VERSION}` }]);
    expect(readme).to.include(`docker build -t ${IMAGE} .`);
    expect(basename(IMAGE)).to.equal(`lbguard:v${VERSION}`);
  });
});
