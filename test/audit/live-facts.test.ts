/**
 * The background audit's facts: Services packed into strings and unpacked
 * to the same facts (whatever their texts hold), and LiveFacts fed as the
 * live source feeds it (list items without kind, watch events, deletions).
 */
import { expect } from "chai";
import { ServiceFacts, type ServiceFact } from "../../src/audit/facts.js";
import { LiveFacts } from "../../src/audit/live-facts.js";
import { slimPool, slimService, slimWorkload } from "../../src/cluster/slim.js";
import type { Obj } from "./helpers.js";

describe("audit facts: packed Services and the live source's observer", () => {
  it("a Service's facts unpack to what was put, with or without separators in its texts", () => {
    const facts: ServiceFact[] = [
      { namespace: "a", name: "plain", type: "LoadBalancer", cls: null },
      {
        namespace: "a",
        name: "full",
        type: "LoadBalancer",
        cls: "metallb",
        loadBalancerIP: "10.0.0.1",
        labels: { app: "web", "app.kubernetes.io/part-of": "" },
        annotations: { "metallb.io/ip-allocated-from-pool": "gold", "kube-vip.io/loadbalancerIPs": "10.0.0.2" },
        ingress: ["10.0.0.1", "10.0.0.2", "fd00::3", "lb.example.com"],
        ingressPorts: true,
        statusManagers: ["controller", "kube-vip"],
      },
      {
        namespace: "b",
        name: "odd",
        type: "LoadBalancer",
        cls: "x\u001fy",
        annotations: { "kube-vip.io/vipHost": "node\u001e1" },
      },
    ];
    const s = new ServiceFacts();
    for (const f of facts) s.put(f);
    expect(s.size).to.equal(3);
    for (const f of facts) expect(s.get(`${f.namespace}/${f.name}`), f.name).to.deep.equal(f);
    expect([...s.values()].map((f) => f.name)).to.deep.equal(["plain", "full", "odd"]);
    s.put({ ...facts[0], cls: "other" });
    expect(s.size).to.equal(3);
    expect(s.getIn("a", "plain")!.cls).to.equal("other");
    expect(s.deleteIn("a", "plain")).to.equal(true);
    expect(s.deleteIn("a", "plain")).to.equal(false);
    expect(s.get("a/plain")).to.equal(undefined);
    expect(s.size).to.equal(2);
  });

  it("LiveFacts: list items (no kind), watch updates and deletions", () => {
    const lf = new LiveFacts();
    const listed: Obj = {
      metadata: {
        name: "web",
        namespace: "shop",
        annotations: { "metallb.io/ip-allocated-from-pool": "gold", "other.io/x": "y" },
        managedFields: [
          { manager: "controller", fieldsV1: { "f:status": { "f:loadBalancer": {} } } },
          { manager: "kubectl", fieldsV1: { "f:spec": {} } },
        ],
      },
      spec: { type: "LoadBalancer", loadBalancerClass: "metallb" },
      status: { loadBalancer: { ingress: [{ ip: "10.0.6.10" }] } },
    };
    lf.add(listed, slimService(listed), true);
    expect(lf.facts.services.get("shop/web")).to.deep.equal({
      namespace: "shop",
      name: "web",
      type: "LoadBalancer",
      cls: "metallb",
      annotations: { "metallb.io/ip-allocated-from-pool": "gold" },
      ingress: ["10.0.6.10"],
      statusManagers: ["controller"],
    });
    // a watch event: the Service leaves type LoadBalancer
    const changed = { apiVersion: "v1", kind: "Service", ...listed, spec: { type: "ClusterIP" } };
    lf.add(changed, slimService(changed), true);
    expect(lf.facts.services.get("shop/web")).to.equal(undefined);
    // the background audit does not read Leases: no list of non-LoadBalancer Service names is kept
    expect(lf.facts.otherServices.size).to.equal(0);

    const controller: Obj = {
      metadata: { name: "controller", namespace: "metallb-system" },
      spec: {
        template: {
          spec: {
            containers: [
              { name: "controller", image: "quay.io/metallb/controller:v0.14.9", args: ["--lb-class=metallb"] },
            ],
          },
        },
      },
    };
    const slimmed = slimWorkload("Deployment")(controller);
    lf.add(controller, slimmed, false);
    expect(lf.facts.metallb.map((m) => [m.kind, m.name, m.lbClass])).to.deep.equal([
      ["Deployment", "controller", "metallb"],
    ]);
    lf.remove(slimmed);
    expect(lf.facts.metallb).to.deep.equal([]);

    const pool: Obj = {
      metadata: { name: "gold", namespace: "metallb-system" },
      spec: { addresses: ["10.0.6.0/24"] },
      status: { assignedIPv4: 3 },
    };
    const sp = slimPool(pool);
    lf.add(pool, sp, true);
    expect(lf.facts.poolAssigned.get("metallb-system/gold")).to.equal(3);
    expect(lf.facts.judged.has("IPAddressPool/metallb-system/gold")).to.equal(true);
    lf.remove(sp);
    expect(lf.facts.poolAssigned.size).to.equal(0);
    expect(lf.facts.judged.size).to.equal(0);
  });
});
