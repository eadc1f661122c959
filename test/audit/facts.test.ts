/**
 * The facts the audit reads besides the view, and the edges of the
 * whole-view rules, in process: MetalLB's flags and namespace, k3s svclb
 * layouts, kube-vip's per-Service lease names, kube-vip.io/ignore,
 * svc_namespace, a cloud provider alone, a Service nobody serves.
 */
import { expect } from "chai";
import { runAudit } from "../../src/audit/audit.js";
import { FactsBuilder, goFlag, metallbImageRole, perServiceLease } from "../../src/audit/facts.js";
import { inferPolicy } from "../../src/audit/infer.js";
import { objects } from "../helpers/cluster.js";
import { Obj } from "./helpers.js";

function build(yaml: string): FactsBuilder {
  const b = new FactsBuilder();
  for (const o of objects(yaml)) b.add(o);
  return b;
}

function audit(yaml: string): Obj[] {
  const b = build(yaml);
  const inf = inferPolicy(b.view, b.facts);
  return runAudit(b.view, b.facts, inf.policy).findings.map((f) => ({
    rule: f.rule,
    severity: f.severity,
    subject: `${f.subject.namespace ?? ""}/${f.subject.name}`,
  }));
}

const metallbController = (args: string[], env: Obj[] = [], ns = "metallb-system") =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "controller", namespace: ns },
    spec: {
      template: {
        spec: {
          serviceAccountName: "controller",
          containers: [{ name: "controller", image: "quay.io/metallb/controller:v0.14.9", args, env }],
        },
      },
    },
  });

const kubeVipDS = (env: Record<string, string>, name = "kube-vip-ds") =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: "kube-system" },
    spec: {
      template: {
        spec: {
          serviceAccountName: "kube-vip",
          containers: [
            {
              name: "kube-vip",
              image: "ghcr.io/kube-vip/kube-vip:v0.8.9",
              args: ["manager"],
              env: Object.entries({ vip_arp: "true", ...env }).map(([k, v]) => ({ name: k, value: v })),
            },
          ],
        },
      },
    },
  });

const service = (ns: string, name: string, o: Obj = {}) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: { type: o.type ?? "LoadBalancer", ...(o.cls ? { loadBalancerClass: o.cls } : {}) },
    ...(o.ingress ? { status: { loadBalancer: { ingress: [{ ip: o.ingress }] } } } : {}),
  });

const list = (...items: string[]) => `apiVersion: v1\nkind: List\nitems:\n${items.map((i) => `- ${i}`).join("\n")}\n`;

describe("audit: facts and the edges of the whole-view rules", () => {
  it("reads Go flags as MetalLB's controller does", () => {
    expect(goFlag(["--lb-class=metallb"], "lb-class")).to.equal("metallb");
    expect(goFlag(["--lb-class", "a/b"], "lb-class")).to.equal("a/b");
    expect(goFlag(["-lb-class=x", "--lb-class=y"], "lb-class"), "the last one wins").to.equal("y");
    expect(goFlag(["--lb-classes=x"], "lb-class")).to.equal(undefined);
    expect(metallbImageRole("quay.io/metallb/controller:v0.14.9")).to.equal("controller");
    expect(metallbImageRole("metallb/speaker@sha256:0123")).to.equal("speaker");
    expect(metallbImageRole("docker.io/rancher/mirrored-metallb-controller:v0.13.10")).to.equal("controller");
    expect(metallbImageRole("ghcr.io/kube-vip/kube-vip:v0.8.9")).to.equal(undefined);
  });

  it("finds MetalLB's class and pool namespace in its args or env, in any namespace", () => {
    const a = build(list(metallbController(["--lb-class", "metallb.io/lb", "--namespace=lb"], [], "infra"))).facts
      .metallb[0];
    expect(a).to.deep.include({
      lbClass: "metallb.io/lb",
      namespace: "infra",
      poolNamespace: "lb",
      serviceAccount: "controller",
    });
    const b = build(list(metallbController([], [{ name: "METALLB_NAMESPACE", value: "lb2" }]))).facts.metallb[0];
    expect(b).to.deep.include({
      lbClass: null,
      poolNamespace: "lb2",
      poolNamespaceFrom: "env METALLB_NAMESPACE",
      hasArgs: true,
    });
    const c = build(
      list(
        metallbController(
          [],
          [{ name: "METALLB_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
        ),
      ),
    ).facts.metallb[0];
    expect(c.poolNamespace, "a fieldRef is the pod's own namespace").to.equal("metallb-system");
  });

  it("keeps Services' status managers, ports and leftovers; drops kube-node-lease", () => {
    const f = build(
      list(
        JSON.stringify({
          apiVersion: "v1",
          kind: "Service",
          metadata: {
            name: "a",
            namespace: "x",
            annotations: { "kube-vip.io/vipHost": "n1", "app.example/other": "dropped" },
            managedFields: [
              { manager: "controller", fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } } },
              { manager: "kubectl", fieldsV1: { "f:spec": {} } },
              { manager: "kube-vip", fieldsV1: { "f:status": { "f:loadBalancer": {} } } },
            ],
          },
          spec: { type: "LoadBalancer" },
          status: { loadBalancer: { ingress: [{ ip: "10.0.0.1", ports: [{ port: 53, protocol: "UDP" }] }] } },
        }),
        service("x", "b", { type: "NodePort", annotations: { "kube-vip.io/vipHost": "n2" } }),
        service("x", "c", { type: "ClusterIP" }),
        "{apiVersion: coordination.k8s.io/v1, kind: Lease, metadata: {name: n1, namespace: kube-node-lease}, spec: {holderIdentity: n1}}",
        "{apiVersion: coordination.k8s.io/v1, kind: Lease, metadata: {name: custom, namespace: x}, spec: {holderIdentity: n3}}",
      ),
    ).facts;
    expect(f.services.get("x/a")).to.deep.equal({
      namespace: "x",
      name: "a",
      type: "LoadBalancer",
      cls: null,
      annotations: { "kube-vip.io/vipHost": "n1" },
      ingress: ["10.0.0.1"],
      ingressPorts: true,
      statusManagers: ["controller", "kube-vip"],
    });
    expect([...f.leftovers.keys()]).to.deep.equal(["x/b"]);
    expect([...f.otherServices].sort()).to.deep.equal(["x/b", "x/c"]);
    expect([...f.leases.keys()]).to.deep.equal(["x/custom"]);
    const s = { ...f.services.get("x/a")!, annotations: { "kube-vip.io/leaseName": "custom" } };
    expect(perServiceLease(f, s)?.holder, "kube-vip.io/leaseName names the per-Service lease").to.equal("n3");
  });

  it("k3s svclb DaemonSets in kube-system (svcnamespace label) and, older, in the Service's namespace", () => {
    const ds = (ns: string, labels: Obj) =>
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: `svclb-${labels["svccontroller.k3s.cattle.io/svcname"]}`, namespace: ns, labels },
        spec: { template: { spec: { containers: [{ name: "lb", image: "rancher/klipper-lb:v0.4.4" }] } } },
      });
    const f = build(
      list(
        ds("kube-system", {
          "svccontroller.k3s.cattle.io/svcname": "a",
          "svccontroller.k3s.cattle.io/svcnamespace": "web",
        }),
        ds("old", { "svccontroller.k3s.cattle.io/svcname": "b" }),
      ),
    ).facts;
    expect(f.svclb.map((d) => d.service)).to.deep.equal([
      { namespace: "web", name: "a" },
      { namespace: "old", name: "b" },
    ]);
  });

  it("kube-vip.io/ignore and svc_namespace keep a Service out of kube-vip's claims", () => {
    const base = [metallbController([]), kubeVipDS({ svc_enable: "true", svc_namespace: "kv" })];
    expect(
      audit(
        list(
          ...base,
          service("kv", "claimed", { ingress: "10.1.0.1" }),
          service("other", "free", { ingress: "10.1.0.2" }),
          service("kv", "ignored", { ingress: "10.1.0.3", annotations: { "kube-vip.io/ignore": "true" } }),
        ),
      ).filter((f) => f.rule === "audit.contested-service"),
    ).to.deep.equal([{ rule: "audit.contested-service", severity: "critical", subject: "kv/claimed" }]);
  });

  it("a kube-vip-cloud-provider alone next to MetalLB without a class contests the class-less Services it allocates for", () => {
    const cp = JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "kube-vip-cloud-provider", namespace: "kube-system" },
      spec: {
        template: { spec: { containers: [{ name: "p", image: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12" }] } },
      },
    });
    const out = audit(list(metallbController([]), cp, service("a", "web", { ingress: "10.2.0.1" })));
    expect(out).to.deep.include({ rule: "audit.contested-service", severity: "critical", subject: "a/web" });
    expect(out).to.deep.include({
      rule: "kube-vip.cloud-provider",
      severity: "high",
      subject: "kube-system/kube-vip-cloud-provider",
    });
  });

  it("a kube-vip older than v0.5.0 takes every class: told to upgrade, whatever the class", () => {
    const b = build(
      list(
        metallbController(["--lb-class=metallb"]),
        kubeVipDS({ svc_enable: "true" }).replace("kube-vip:v0.8.9", "kube-vip:v0.4.4"),
        service("a", "web", { cls: "metallb", ingress: "10.4.0.1" }),
      ),
    );
    const run = runAudit(b.view, b.facts, inferPolicy(b.view, b.facts).policy);
    const c = run.findings.find((f) => f.rule === "audit.contested-service")!;
    expect(c.problem).to.equal(
      'is taken by MetalLB (Deployment metallb-system/controller, --lb-class=metallb) and kube-vip (DaemonSet kube-system/kube-vip-ds, kube-vip v0.4.4, which takes every LoadBalancer Service), both for Services with loadBalancerClass "metallb"',
    );
    expect(c.fix).to.equal(
      'upgrade DaemonSet kube-system/kube-vip-ds to kube-vip v0.5.5 or later with lb_class_only "true", or kubectl -n kube-system set env daemonset/kube-vip-ds svc_enable=false',
    );
  });

  it("a pending Service no controller serves is unserved; one with an address or a serving controller is not", () => {
    const out = audit(
      list(
        metallbController(["--lb-class=metallb"]),
        service("a", "pending", { cls: "example.com/none" }),
        service("a", "served-elsewhere", { cls: "example.com/none", ingress: "10.3.0.1" }),
        service("a", "metallb-pending", { cls: "metallb" }),
        service("a", "classless", {}),
      ),
    );
    expect(out.filter((f) => f.rule === "audit.unserved-class")).to.deep.equal([
      { rule: "audit.unserved-class", severity: "high", subject: "a/classless" },
      { rule: "audit.unserved-class", severity: "high", subject: "a/pending" },
    ]);
  });
});
