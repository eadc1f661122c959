import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "../../src/cluster/records.js";
import type { ClusterView } from "../../src/cluster/view.js";
import type { Policy } from "../../src/policy/policy.js";
import { FAMILIES } from "../../src/policy/schema.js";
import { CATALOGUE } from "../../src/rules/catalogue.js";
import { KIND_MODULES, moduleFor } from "../../src/rules/engine.js";
import type { KindModule } from "../../src/rules/kind.js";
import { CLUSTER, objects, viewOf } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { FIXTURES } from "../helpers/paths.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { ReqOpts, request } from "../helpers/review.js";
import { CM_CASES, EXTRA, POOL_CASES } from "./pool-cases.js";
import { INSTANCES, WORKLOAD_CASES } from "./workload-cases.js";

/** The rule the engine adds itself when a decision needs state the view has not synced. */
const ENGINE_RULES = ["cluster-state"];

/** A plain and a mirror-pod object of each kind of a module: the requests a check's familyOf can tell apart. */
function sampleRequests(m: KindModule) {
  return m.kinds.flatMap((kind) =>
    [{}, { "kubernetes.io/config.mirror": "x" }].map((annotations) =>
      request({
        object: { apiVersion: "v1", kind, metadata: { name: "x", namespace: "kube-system", annotations } },
      }),
    ),
  );
}

describe("rules/catalogue: the kind modules and the rule catalogue agree", () => {
  it("every rule id a check lists is in the catalogue, under the check's family (or one its familyOf gives)", () => {
    let ids = 0;
    for (const m of KIND_MODULES) {
      for (const c of m.checks) {
        expect(c.rules, `a check of ${m.kinds.join("/")} lists its rules`).to.not.be.empty;
        const families = new Set<string>([c.family]);
        if (c.familyOf) for (const req of sampleRequests(m)) families.add(c.familyOf(req));
        for (const f of families) expect(FAMILIES, `family ${f}`).to.include(f);
        for (const id of c.rules) {
          const info = CATALOGUE.get(id);
          expect(info, `${id} (listed by a check of ${m.kinds.join("/")}) is in the catalogue`).to.not.equal(undefined);
          if (c.familyOf) expect([...families], `family of ${id}`).to.include(info!.family);
          else expect(info!.family, `family of ${id}`).to.equal(c.family);
          ids++;
        }
      }
    }
    expect(ids).to.be.greaterThan(0);
  });

  it("every catalogue id but the engine's own is listed by some check", () => {
    const listed = new Set(KIND_MODULES.flatMap((m) => m.checks.flatMap((c) => c.rules)));
    const unlisted = [...CATALOGUE.keys()].filter((id) => !listed.has(id));
    expect(unlisted).to.deep.equal(ENGINE_RULES);
  });

  it("the catalogue's families are policy families", () => {
    for (const r of CATALOGUE.values()) expect(FAMILIES, r.id).to.include(r.family);
  });
});

describe("rules/catalogue: the rule ids of real denials", () => {
  const kv = policy(KUBEVIP_NULL);
  const mlb = policy(METALLB_NULL);
  const plain = viewOf(CLUSTER);
  const pools = viewOf(CLUSTER, EXTRA);
  const instances = viewOf(CLUSTER, INSTANCES);
  interface Sample {
    what: string;
    p: Policy;
    v: ClusterView;
    req: ReqOpts;
  }
  const fixture = (file: string, p: Policy): Sample[] =>
    objects(readFileSync(join(FIXTURES, file), "utf8")).map((o) => ({
      what: file,
      p,
      v: plain,
      req: { object: o as KubeObject },
    }));
  const samples: Sample[] = [
    ...[...POOL_CASES, ...CM_CASES]
      .filter((c) => !c.allowed)
      .map((c) => ({ what: c.what, p: kv, v: pools, req: c.req })),
    ...WORKLOAD_CASES.filter((c) => !c.allowed && c.policy !== "mlbx").map((c) => ({
      what: c.what,
      p: c.policy === "kv" ? kv : mlb,
      v: c.instances ? instances : plain,
      req: c.req,
    })),
    ...fixture("metallb/service-loadbalancerips-annotation.yaml", kv),
    ...fixture("kubevip/service-dhcp-loadbalancerIP-0.0.0.0-hostname_docs.yaml", kv),
    ...fixture("kubevip/static-pod-arp-cp-svc_DERIVED-manifest-pod-v1.2.3.yaml", mlb),
    ...fixture("kubevip/cloud-provider-configmap_readme-allow-share-UNQUOTED-BOOL.yaml", kv),
  ];

  it("samples denials of every admitted kind", () => {
    const kinds = new Set(samples.map((s) => s.req.object?.kind));
    expect([...kinds].sort()).to.deep.equal([
      "ConfigMap",
      "DaemonSet",
      "Deployment",
      "IPAddressPool",
      "Pod",
      "Service",
      "StatefulSet",
    ]);
  });

  for (const s of samples) {
    it(`${s.req.object?.kind}: ${s.what}`, () => {
      const j = judge(s.p, s.v, s.req);
      expect(j.allowed, "a denial").to.equal(false);
      expect(j.rules).to.not.be.empty;
      const m = moduleFor(request(s.req))!;
      const declared = new Set([...m.checks.flatMap((c) => c.rules), ...ENGINE_RULES]);
      for (const id of j.rules) {
        expect(CATALOGUE.has(id), `${id} is in the catalogue`).to.equal(true);
        expect(declared.has(id), `${id} is declared by a check of ${m.kinds.join("/")}`).to.equal(true);
      }
    });
  }
});
