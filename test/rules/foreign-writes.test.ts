import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Decision, decide } from "../../src/admission/handler.js";
import type { KubeObject } from "../../src/cluster/records.js";
import { loadBalancerStatusKey } from "../../src/rules/foreign-writes.js";
import { CLUSTER, objects, viewOf } from "../helpers/cluster.js";
import { FIXTURES } from "../helpers/paths.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { request, svc } from "../helpers/review.js";

const kvNull = policy(KUBEVIP_NULL);
const mlbNull = policy(METALLB_NULL);
const view = viewOf(CLUSTER);
const METALLB = "system:serviceaccount:metallb-system:controller";
const KUBEVIP = "system:serviceaccount:kube-system:kube-vip";
const CLOUD = "system:serviceaccount:kube-system:kube-vip-cloud-controller";

// MetalLB #2177: (a) MetalLB's IP-only status, (b) kube-vip's status with ports.
const [bounceA, bounceB] = objects(
  readFileSync(join(FIXTURES, "metallb/transcribed-issue-2177-status-bounce.yaml"), "utf8"),
);

function withStatus(base: KubeObject, status: unknown): KubeObject {
  return { ...base, status: status as never };
}

/** The response, with the rule ids of the verdict (denials, then warnings). */
function answer(d: Decision) {
  return { ...d.response, rules: [...(d.verdict?.denials ?? []), ...(d.verdict?.warnings ?? [])].map((f) => f.rule) };
}

function status(p: ReturnType<typeof policy>, user: string, oldObj: KubeObject, newObj: KubeObject, sub = "status") {
  return answer(
    decide(
      "validate",
      request({ operation: "UPDATE", user, subResource: sub, oldObject: oldObj, object: newObj }),
      p,
      view,
    ),
  );
}

describe("rules/foreign-writes: the status bounce (MetalLB #2177)", () => {
  const kvSvc = svc({ ns: "kube-system", name: "ingress-expose" }); // class-less: kube-vip's under kubevip-null
  const mlbSvc = svc({ ns: "shop", name: "web", cls: "metallb" });

  it("refuses MetalLB rewriting kube-vip's status to IP-only", () => {
    const r = status(kvNull, METALLB, withStatus(kvSvc, bounceB.status), withStatus(kvSvc, bounceA.status));
    expect(r.allowed).to.equal(false);
    expect(r.status?.code).to.equal(403);
    expect(r.status?.reason).to.equal("Forbidden");
    expect(r.rules).to.deep.equal(["foreign-write"]);
    expect(r.status?.message).to.equal(
      "Service kube-system/ingress-expose is owned by kube-vip (no loadBalancerClass); status writes from system:serviceaccount:metallb-system:controller (metallb) are refused; start the MetalLB controller with --lb-class=metallb as the policy says",
    );
  });

  it("refuses kube-vip writing its ports back on a MetalLB Service", () => {
    const r = status(kvNull, KUBEVIP, withStatus(mlbSvc, bounceA.status), withStatus(mlbSvc, bounceB.status));
    expect(r.allowed).to.equal(false);
    expect(r.rules).to.deep.equal(["foreign-write"]);
    expect(r.status?.message).to.equal(
      'Service shop/web is owned by metallb (loadBalancerClass "metallb"); status writes from system:serviceaccount:kube-system:kube-vip (kube-vip) are refused; set kube-vip\'s lb_class_name to its own class',
    );
  });

  it("lets each controller write its own status", () => {
    expect(
      status(kvNull, KUBEVIP, withStatus(kvSvc, bounceA.status), withStatus(kvSvc, bounceB.status)).allowed,
    ).to.equal(true);
    expect(
      status(kvNull, METALLB, withStatus(mlbSvc, bounceB.status), withStatus(mlbSvc, bounceA.status)).allowed,
    ).to.equal(true);
  });

  it("lets a foreign identity write a status that leaves status.loadBalancer as it was", () => {
    const s = withStatus(kvSvc, bounceA.status);
    const withConditions = withStatus(kvSvc, {
      ...(bounceA.status as object),
      conditions: [{ type: "X", status: "True" }],
    });
    expect(status(kvNull, METALLB, s, withConditions).allowed).to.equal(true);
    expect(status(kvNull, METALLB, withStatus(kvSvc, {}), withStatus(kvSvc, { loadBalancer: {} })).allowed).to.equal(
      true,
    );
    expect(
      status(kvNull, METALLB, withStatus(kvSvc, undefined), withStatus(kvSvc, { loadBalancer: { ingress: [] } }))
        .allowed,
    ).to.equal(true);
  });

  it("compares status.loadBalancer as JSON: absent and empty are equal, a ports-only change is a change", () => {
    expect(loadBalancerStatusKey(withStatus(kvSvc, {}))).to.equal(
      loadBalancerStatusKey(withStatus(kvSvc, { loadBalancer: { ingress: [] } })),
    );
    expect(loadBalancerStatusKey(bounceA)).to.not.equal(loadBalancerStatusKey(bounceB));
  });

  it("passes writes by anyone else", () => {
    expect(
      status(kvNull, "alice", withStatus(kvSvc, bounceB.status), withStatus(kvSvc, bounceA.status)).allowed,
    ).to.equal(true);
  });

  it("under MetalLB-null, refuses kube-vip and its cloud provider on class-less Services, with the env line that fixes each", () => {
    const classless = svc({ ns: "shop", name: "api" });
    const r1 = status(mlbNull, KUBEVIP, withStatus(classless, bounceA.status), withStatus(classless, bounceB.status));
    expect(r1.allowed).to.equal(false);
    expect(r1.rules).to.deep.equal(["foreign-write"]);
    expect(r1.status?.message).to.equal(
      'Service shop/api is owned by metallb (no loadBalancerClass); status writes from system:serviceaccount:kube-system:kube-vip (kube-vip) are refused; set lb_class_only "true" on kube-vip (or svc_enable "false")',
    );
    const labelled = svc({
      ns: "shop",
      name: "api",
      labels: { implementation: "kube-vip" },
      annotations: { "kube-vip.io/loadbalancerIPs": "10.0.5.5" },
    });
    const r2 = answer(
      decide(
        "validate",
        request({ operation: "UPDATE", user: CLOUD, oldObject: classless, object: labelled }),
        mlbNull,
        view,
      ),
    );
    expect(r2.allowed).to.equal(false);
    expect(r2.rules).to.deep.equal(["foreign-write", "service.foreign-annotation"]);
    expect(r2.status?.message).to.equal(
      'Service shop/api is owned by metallb (no loadBalancerClass); writes of label implementation=kube-vip from system:serviceaccount:kube-system:kube-vip-cloud-controller (kube-vip) are refused; set KUBEVIP_ENABLE_LOADBALANCERCLASS "true" on kube-vip-cloud-provider (+1 more)',
    );
  });
});

describe("rules/foreign-writes: controller annotations on the main resource", () => {
  const kvSvc = svc({ ns: "kube-system", name: "ingress-expose" });
  const mlbSvc = svc({ ns: "shop", name: "web", cls: "metallb" });
  const main = (p: ReturnType<typeof policy>, user: string, o: KubeObject, n: KubeObject) =>
    answer(decide("validate", request({ operation: "UPDATE", user, oldObject: o, object: n }), p, view));

  it("refuses MetalLB adding ip-allocated-from-pool to a kube-vip Service", () => {
    const n = svc({
      ns: "kube-system",
      name: "ingress-expose",
      annotations: { "metallb.io/ip-allocated-from-pool": "default" },
    });
    const r = main(kvNull, METALLB, kvSvc, n);
    expect(r.allowed).to.equal(false);
    expect(r.rules).to.deep.equal(["foreign-write"]);
    expect(r.status?.message).to.equal(
      "Service kube-system/ingress-expose is owned by kube-vip (no loadBalancerClass); writes of metallb.io/ip-allocated-from-pool from system:serviceaccount:metallb-system:controller (metallb) are refused; start the MetalLB controller with --lb-class=metallb as the policy says",
    );
  });

  it("refuses kube-vip (static pod, as kubernetes-admin) stamping vipHost on a MetalLB Service", () => {
    const n = svc({ ns: "shop", name: "web", cls: "metallb", annotations: { "kube-vip.io/vipHost": "node1" } });
    expect(main(kvNull, "kubernetes-admin", mlbSvc, n).allowed).to.equal(false);
    const changed = svc({ ns: "shop", name: "web", cls: "metallb", annotations: { "kube-vip.io/vipHost": "node2" } });
    expect(main(kvNull, "kubernetes-admin", n, changed).allowed).to.equal(false);
  });

  it("lets the admin.conf user edit labels and ports of any Service", () => {
    const n = svc({ ns: "shop", name: "web", cls: "metallb", labels: { team: "shop" } });
    expect(main(kvNull, "kubernetes-admin", mlbSvc, n).allowed).to.equal(true);
    const removed = svc({ ns: "shop", name: "web", cls: "metallb" });
    const had = svc({ ns: "shop", name: "web", cls: "metallb", annotations: { "kube-vip.io/vipHost": "node1" } });
    expect(main(kvNull, "kubernetes-admin", had, removed).allowed).to.equal(true);
  });

  it("judges kube-vip.io/loadbalancerIPs as a request (§7.1), whoever writes it", () => {
    const n = svc({
      ns: "shop",
      name: "web",
      cls: "metallb",
      annotations: { "kube-vip.io/loadbalancerIPs": "10.0.5.5" },
    });
    const r = main(kvNull, "kubernetes-admin", mlbSvc, n);
    expect(r.allowed).to.equal(false);
    expect(r.rules).to.deep.equal(["service.foreign-annotation"]);
    expect(r.status?.message).to.equal(
      "Service shop/web is served by MetalLB but carries the kube-vip annotation kube-vip.io/loadbalancerIPs; use metallb.io/loadBalancerIPs instead",
    );
  });

  it("foreignWrites: warn allows with a warning, off allows silently", () => {
    const warn = policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { foreignWrites: "warn" }));
    const off = policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { foreignWrites: "off" }));
    const a = withStatus(kvSvc, bounceB.status);
    const b = withStatus(kvSvc, bounceA.status);
    const w = status(warn, METALLB, a, b);
    expect(w.allowed).to.equal(true);
    expect(w.rules).to.deep.equal(["foreign-write"]);
    expect(w.warnings).to.deep.equal([
      "Service kube-system/ingress-expose is owned by kube-vip (no loadBalancerClass); status writes from system:serviceaccount:metallb-system:controller (metallb) are refused; start the MetalLB controller with --lb-class=metallb as the policy says",
    ]);
    const o = status(off, METALLB, a, b);
    expect(o.allowed).to.equal(true);
    expect(o.rules).to.deep.equal([]);
    expect(o.warnings).to.equal(undefined);
  });
});
