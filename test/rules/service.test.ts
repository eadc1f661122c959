import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decide } from "../../src/admission/handler.js";
import type { KubeObject } from "../../src/cluster/records.js";
import { MemoryView } from "../../src/cluster/view.js";
import { CLUSTER, objects, viewOf } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { FIXTURES } from "../helpers/paths.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { request, svc, SvcOpts } from "../helpers/review.js";
import { Expected, expectJudgement } from "./expected.js";

const kvNull = policy(KUBEVIP_NULL);
const mlbNull = policy(METALLB_NULL);
const view = viewOf(CLUSTER);

describe("rules/service: loadBalancerClass defaulting", () => {
  const cases: [string, ReturnType<typeof policy>, Parameters<typeof judge>[2], string | null | undefined][] = [
    ["CREATE in a MetalLB namespace gets metallb", kvNull, { object: svc({ ns: "shop" }) }, "metallb"],
    [
      "CREATE in a name-matched kube-vip namespace stays class-less (kube-vip owns null)",
      kvNull,
      { object: svc({ ns: "kube-system" }) },
      undefined,
    ],
    [
      "CREATE in a selector-matched kube-vip namespace stays class-less",
      kvNull,
      { object: svc({ ns: "edge" }) },
      undefined,
    ],
    ["CREATE with an explicit class keeps it", kvNull, { object: svc({ ns: "edge", cls: "metallb" }) }, "metallb"],
    [
      "CREATE of a ClusterIP Service is untouched",
      kvNull,
      { object: svc({ ns: "shop", type: "ClusterIP" }) },
      undefined,
    ],
    [
      "UPDATE ClusterIP → LoadBalancer gets the class",
      kvNull,
      { operation: "UPDATE", oldObject: svc({ type: "ClusterIP" }), object: svc() },
      "metallb",
    ],
    [
      "UPDATE of an existing class-less LoadBalancer is never patched",
      kvNull,
      { operation: "UPDATE", oldObject: svc(), object: svc({ labels: { a: "b" } }) },
      undefined,
    ],
    [
      "MetalLB-null: CREATE in a MetalLB namespace leaves the field unset",
      mlbNull,
      { object: svc({ ns: "shop" }) },
      undefined,
    ],
    [
      "MetalLB-null: CREATE in kube-system gets kube-vip's class",
      mlbNull,
      { object: svc({ ns: "kube-system" }) },
      "kube-vip.io/kube-vip-class",
    ],
    [
      "MetalLB-null: UPDATE NodePort → LoadBalancer in kube-system gets kube-vip's class",
      mlbNull,
      {
        operation: "UPDATE",
        oldObject: svc({ ns: "kube-system", type: "NodePort" }),
        object: svc({ ns: "kube-system" }),
      },
      "kube-vip.io/kube-vip-class",
    ],
    [
      "MetalLB-null: UPDATE of an existing LoadBalancer in kube-system is never patched",
      mlbNull,
      { operation: "UPDATE", oldObject: svc({ ns: "kube-system" }), object: svc({ ns: "kube-system", ip: "" }) },
      undefined,
    ],
  ];
  for (const [what, p, opts, want] of cases) {
    it(what, () => {
      const j = judge(p, view, opts);
      expect((j.object?.spec as any)?.loadBalancerClass).to.equal(want);
      expect(j.patched).to.equal(want !== undefined && (opts.object?.spec as any)?.loadBalancerClass === undefined);
    });
  }

  it("enforcement services: off stops defaulting too", () => {
    const off = policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { services: "off" }));
    expect(judge(off, view, { object: svc({ ns: "shop" }) }).patched).to.equal(false);
  });

  it("builds the patch with fast-json-patch against the original object", () => {
    const d = decide("mutate", request({ object: svc({ ns: "shop" }) }), kvNull, view);
    const ops = JSON.parse(Buffer.from(d.response.patch!, "base64").toString());
    expect(ops).to.deep.equal([{ op: "add", path: "/spec/loadBalancerClass", value: "metallb" }]);
    expect(d.response.patchType).to.equal("JSONPatch");
  });
});

interface Row extends Expected {
  what: string;
  svc: SvcOpts;
  allowed: boolean;
  p?: ReturnType<typeof policy>;
  op?: Partial<Parameters<typeof judge>[2]>;
}

const rows: Row[] = [
  // allowed class
  {
    what: "class-less Service in a MetalLB namespace (mutation skipped) is kube-vip's and refused",
    svc: { ns: "shop", name: "api" },
    op: { operation: "UPDATE", oldObject: svc({ ns: "shop", name: "api", type: "ClusterIP" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "metallb class in kube-system is refused",
    svc: { ns: "kube-system", name: "x", cls: "metallb" },
    allowed: false,
    rules: ["service.allowed-class"],
    denial:
      'Service kube-system/x: loadBalancerClass "metallb" (metallb) is not allowed in namespace kube-system; allowed: kube-vip (no class)',
  },
  {
    what: "kube-vip (class-less) in a MetalLB namespace is refused",
    svc: { ns: "shop", name: "api" },
    p: mlbNull.ownerOfClass(null) ? kvNull : kvNull,
    op: {
      operation: "UPDATE",
      oldObject: svc({ ns: "shop", name: "api" }),
      object: svc({ ns: "shop", name: "api", labels: { x: "y" } }),
    },
    allowed: false,
    rules: ["service.allowed-class"],
    denial:
      'Service shop/api: no loadBalancerClass (kube-vip) is not allowed in namespace shop; allowed: metallb (class "metallb")',
  },
  {
    what: "metallb class in an edge namespace that allows both",
    svc: { ns: "edge", cls: "metallb" },
    allowed: true,
    rules: [],
  },
  {
    what: "a class nobody declares is left alone",
    svc: { ns: "shop", cls: "io.cilium/l2-announcer", ip: "10.0.4.247" },
    allowed: true,
    rules: [],
  },
  {
    what: "a class nobody declares may not take a reserved address",
    svc: { ns: "shop", cls: "io.cilium/l2-announcer", ip: "10.0.4.1" },
    allowed: false,
    rules: ["service.reserved-address"],
    denial:
      "Service shop/web: 10.0.4.1 is reserved (reservedAddresses 10.0.4.1/32); no Service may request it, choose another address",
  },
  // foreign annotations
  {
    what: "kube-vip Service with metallb.io/address-pool",
    svc: { ns: "kube-system", name: "k", annotations: { "metallb.io/address-pool": "default" } },
    allowed: false,
    rules: ["service.foreign-annotation"],
    denial:
      "Service kube-system/k is served by kube-vip but carries the MetalLB annotation metallb.io/address-pool; remove it (kube-vip does not read it)",
  },
  {
    what: "kube-vip Service with the deprecated metallb.universe.tf/loadBalancerIPs",
    svc: { ns: "kube-system", name: "k", annotations: { "metallb.universe.tf/loadBalancerIPs": "10.0.4.215" } },
    allowed: false,
    rules: ["service.foreign-annotation"],
    denial:
      "Service kube-system/k is served by kube-vip but carries the MetalLB annotation metallb.universe.tf/loadBalancerIPs; use kube-vip.io/loadbalancerIPs instead",
  },
  {
    what: "kube-vip Service with MetalLB's bookkeeping annotation is fine",
    svc: { ns: "kube-system", name: "k", annotations: { "metallb.io/ip-allocated-from-pool": "default" } },
    allowed: true,
    rules: [],
  },
  {
    what: "MetalLB Service with kube-vip.io/loadbalancerIPs",
    svc: { ns: "shop", annotations: { "kube-vip.io/loadbalancerIPs": "10.0.5.7" } },
    allowed: false,
    rules: ["service.foreign-annotation"],
    denial:
      "Service shop/web is served by MetalLB but carries the kube-vip annotation kube-vip.io/loadbalancerIPs; use metallb.io/loadBalancerIPs instead",
  },
  {
    what: "MetalLB Service with kube-vip's bookkeeping annotation is fine",
    svc: { ns: "traefik", annotations: { "kube-vip.io/vipHost": "node1" } },
    allowed: true,
    rules: [],
  },
  // requested addresses vs other owners
  {
    what: "the SPEC's traefik case: a control-plane VIP",
    svc: { ns: "traefik", name: "traefik", ip: "10.0.4.247" },
    allowed: false,
    rules: ["service.foreign-address"],
    denial:
      "Service traefik/traefik: 10.0.4.247 is owned by kube-vip (control-plane VIP); MetalLB pools for this namespace: default (10.0.5.0/24, +1), traefik-vip-pool (10.0.4.248/32)",
  },
  {
    what: "an IPv4-mapped spelling of the control-plane VIP",
    svc: { ns: "traefik", ip: "::ffff:10.0.4.247" },
    allowed: false,
    rules: ["service.foreign-address"],
    denial:
      "Service traefik/web: ::ffff:10.0.4.247 is owned by kube-vip (control-plane VIP); MetalLB pools for this namespace: default (10.0.5.0/24, +1), traefik-vip-pool (10.0.4.248/32)",
  },
  {
    what: "an address a kube-vip Service uses",
    svc: { ns: "shop", annotations: { "metallb.io/loadBalancerIPs": "10.0.7.7" } },
    allowed: false,
    rules: ["service.foreign-address"],
    denial:
      "Service shop/web: 10.0.7.7 is owned by kube-vip (in use by Service kube-system/legacy); MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
  },
  {
    what: "an address in the kube-vip cloud-provider range",
    svc: { ns: "traefik", ip: "10.0.4.205" },
    allowed: false,
    rules: ["service.foreign-address"],
    denial:
      "Service traefik/web: 10.0.4.205 is owned by kube-vip (ConfigMap kube-system/kubevip key range-global: 10.0.4.200-10.0.4.230); MetalLB pools for this namespace: default (10.0.5.0/24, +1), traefik-vip-pool (10.0.4.248/32)",
  },
  {
    what: "a kube-vip Service asking for a MetalLB pool address",
    svc: { ns: "kube-system", name: "k", annotations: { "kube-vip.io/loadbalancerIPs": "10.0.5.20" } },
    allowed: false,
    rules: ["service.foreign-address"],
    denial:
      "Service kube-system/k: 10.0.5.20 is owned by MetalLB (IPAddressPool metallb-system/default: 10.0.5.0/24); request an address outside MetalLB's pools",
  },
  {
    what: "a kube-vip Service asking for DHCP",
    svc: { ns: "kube-system", name: "k", ip: "0.0.0.0", annotations: { "kube-vip.io/loadbalancerHostname": "x" } },
    allowed: true,
    rules: [],
  },
  {
    what: "a kube-vip Service with an address of its own",
    svc: { ns: "kube-system", name: "k", annotations: { "kube-vip.io/loadbalancerIPs": "10.0.4.212" } },
    allowed: true,
    rules: [],
  },
  {
    what: "a reserved address is reported before anything else",
    svc: { ns: "kube-system", name: "k", cls: "metallb", ip: "10.0.4.1" },
    allowed: false,
    rules: ["service.reserved-address", "service.allowed-class"],
    denial:
      'Service kube-system/k: 10.0.4.1 is reserved (reservedAddresses 10.0.4.1/32); no Service may request it, choose another address; also: loadBalancerClass "metallb" (metallb) is not allowed in namespace kube-system; allowed: kube-vip (no class)',
  },
  {
    what: "a reserved IPv6 address",
    svc: { ns: "shop", annotations: { "metallb.io/loadBalancerIPs": "fd00:10::1" } },
    allowed: false,
    rules: ["service.reserved-address"],
    denial:
      "Service shop/web: fd00:10::1 is reserved (reservedAddresses fd00:10::1); no Service may request it, choose another address",
  },
  // MetalLB pool admission
  {
    what: "an address in no pool",
    svc: { ns: "shop", ip: "10.0.9.1" },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service shop/web: 10.0.9.1 is in no MetalLB pool, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
  },
  {
    what: "a pool outside MetalLB's namespace does not count",
    svc: { ns: "shop", ip: "10.9.9.5" },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service shop/web: 10.9.9.5 is in no MetalLB pool, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
  },
  {
    what: "an address of a pool that admits the Service",
    svc: { ns: "shop", labels: { app: "web" }, annotations: { "metallb.io/loadBalancerIPs": "10.0.6.20" } },
    allowed: true,
    rules: [],
  },
  {
    what: "an address of a pool whose serviceSelectors do not match",
    svc: { ns: "shop", labels: { app: "api" }, ip: "10.0.6.20" },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service shop/web: 10.0.6.20 is in no MetalLB pool that admits this Service, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
  },
  {
    what: "an .0 address of an avoidBuggyIPs pool",
    svc: { ns: "shop", labels: { app: "web" }, ip: "10.0.6.0" },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service shop/web: 10.0.6.0 is in no MetalLB pool, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1), shop-pool (10.0.6.0/25)",
  },
  {
    what: "an IPv6 pool address",
    svc: { ns: "traefik", annotations: { "metallb.io/loadBalancerIPs": "fd00:10:5::9" } },
    allowed: true,
    rules: [],
  },
  {
    what: "a dual-stack request",
    svc: { ns: "traefik", annotations: { "metallb.io/loadBalancerIPs": "10.0.5.9, fd00:10:5::9" } },
    allowed: true,
    rules: [],
  },
  {
    what: "kube-vip's DHCP value on a MetalLB Service",
    svc: { ns: "shop", ip: "0.0.0.0" },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service shop/web: 0.0.0.0 is kube-vip's DHCP request, not an address MetalLB can assign; remove it or request a pool address",
  },
  {
    what: "a pool annotation naming no pool",
    svc: { ns: "shop", annotations: { "metallb.io/address-pool": "gold" } },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      'Service shop/web: metallb.io/address-pool names "gold", which is no IPAddressPool in metallb-system; MetalLB pools for this namespace: default (10.0.5.0/24, +1)',
  },
  {
    what: "a pool annotation naming a pool for another namespace",
    svc: { ns: "traefik", annotations: { "metallb.io/address-pool": "shop-pool" } },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service traefik/web: IPAddressPool metallb-system/shop-pool does not admit this Service (its serviceAllocation); MetalLB pools for this namespace: default (10.0.5.0/24, +1), traefik-vip-pool (10.0.4.248/32)",
  },
  {
    what: "a pool annotation and an address outside that pool",
    svc: {
      ns: "traefik",
      annotations: { "metallb.io/address-pool": "traefik-vip-pool", "metallb.io/loadBalancerIPs": "10.0.5.3" },
    },
    allowed: false,
    rules: ["service.metallb-pool"],
    denial:
      "Service traefik/web: 10.0.5.3 is not in IPAddressPool metallb-system/traefik-vip-pool (10.0.4.248/32) named by metallb.io/address-pool; request an address from it",
  },
  {
    what: "a pool annotation and an address of that pool",
    svc: {
      ns: "traefik",
      annotations: {
        "metallb.universe.tf/address-pool": "traefik-vip-pool",
        "metallb.universe.tf/loadBalancerIPs": "10.0.4.248",
      },
    },
    allowed: true,
    rules: [],
  },
  {
    what: "metallb.io wins over metallb.universe.tf even when empty",
    svc: {
      ns: "shop",
      annotations: { "metallb.io/loadBalancerIPs": "", "metallb.universe.tf/loadBalancerIPs": "10.0.9.9" },
    },
    allowed: true,
    rules: [],
  },
  // what MetalLB itself refuses
  {
    what: "both spec.loadBalancerIP and the annotation",
    svc: { ns: "traefik", ip: "10.0.5.3", annotations: { "metallb.io/loadBalancerIPs": "10.0.5.3" } },
    allowed: false,
    rules: ["service.metallb-request"],
    denial:
      "Service traefik/web: MetalLB refuses both spec.loadBalancerIP and metallb.io/loadBalancerIPs; keep only metallb.io/loadBalancerIPs",
  },
  {
    what: "two IPv4 addresses",
    svc: { ns: "traefik", annotations: { "metallb.io/loadBalancerIPs": "10.0.5.3,10.0.5.4" } },
    allowed: false,
    rules: ["service.metallb-request"],
    denial:
      'Service traefik/web: metallb.io/loadBalancerIPs may list at most one IPv4 and one IPv6 address; MetalLB refuses "10.0.5.3,10.0.5.4"',
  },
  {
    what: "an unparseable address",
    svc: { ns: "traefik", annotations: { "metallb.io/loadBalancerIPs": "10.0.5.300" } },
    allowed: false,
    rules: ["service.invalid-address"],
    denial:
      'Service traefik/web: "10.0.5.300" in metallb.io/loadBalancerIPs is not an IP address; write one IPv4 or IPv6 address',
  },
  {
    what: "a hostile 10k-character annotation",
    svc: { ns: "traefik", annotations: { "metallb.io/loadBalancerIPs": "9".repeat(10000) } },
    allowed: false,
    rules: ["service.invalid-address"],
    denial:
      'Service traefik/web: "9999999999999999999999999999999999999999999999999999999999… in metallb.io/loadBalancerIPs is not an IP address; write one IPv4 or IPv6 address',
  },
];

describe("rules/service: validation (kube-vip owns class-less Services)", () => {
  for (const r of rows) {
    it(`${r.allowed ? "allows" : "denies"} ${r.what}`, () => {
      const object = svc({
        name: "web",
        ...r.svc,
        cls: r.svc.cls ?? (r.op?.operation === "UPDATE" ? r.svc.cls : undefined),
      });
      const j = judge(r.p ?? kvNull, view, { object, ...r.op, ...(r.op?.object ? { object: r.op.object } : {}) });
      expectJudgement(j, r);
      if (!r.allowed) {
        expect(j.message!.length).to.be.at.most(320);
        expect(j.message).to.not.match(/\n/);
      }
    });
  }

  it("re-checks an UPDATE only when a relevant field changed", () => {
    const bad = svc({ ns: "shop", name: "old" }); // class-less in a MetalLB namespace: kube-vip's, not allowed
    const ports = { ...bad, spec: { ...(bad.spec as object), ports: [{ port: 8080 }] } };
    expect(judge(kvNull, view, { operation: "UPDATE", oldObject: bad, object: ports }).allowed).to.equal(true);
    const relabel = svc({ ns: "shop", name: "old", labels: { app: "x" } });
    expect(judge(kvNull, view, { operation: "UPDATE", oldObject: bad, object: relabel }).allowed).to.equal(false);
    const annotated = svc({ ns: "shop", name: "old", annotations: { "metallb.io/allow-shared-ip": "k" } });
    expect(judge(kvNull, view, { operation: "UPDATE", oldObject: bad, object: annotated }).allowed).to.equal(false);
    const bookkeeping = svc({
      ns: "shop",
      name: "old",
      annotations: { "metallb.io/ip-allocated-from-pool": "default" },
    });
    expect(judge(kvNull, view, { operation: "UPDATE", oldObject: bad, object: bookkeeping }).allowed).to.equal(true);
  });

  it("an UPDATE of a Service never conflicts with its own address", () => {
    const own = svc({
      ns: "kube-system",
      name: "ingress-expose",
      annotations: { "kube-vip.io/loadbalancerIPs": "10.0.4.210", foo: "bar" },
    });
    const j = judge(kvNull, view, {
      operation: "UPDATE",
      oldObject: svc({ ns: "kube-system", name: "ingress-expose" }),
      object: own,
    });
    expect(j.allowed, j.message).to.equal(true);
  });

  it("under services: warn the denial becomes a warning", () => {
    const warn = policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { services: "warn" }));
    const j = judge(warn, view, { object: svc({ ns: "traefik", ip: "10.0.4.247" }) });
    expect(j.allowed).to.equal(true);
    expect(j.rules).to.deep.equal(["service.foreign-address"]);
    expect(j.warnings).to.deep.equal([
      "Service traefik/web: 10.0.4.247 is owned by kube-vip (control-plane VIP); MetalLB pools for this namespace: default (10.0.5.0/24, +1), traefik-vip-pool (10.0.4.248/32)",
    ]);
    expect(j.warnings[0].length).to.be.at.most(256);
  });
});

describe("rules/service: validation (MetalLB owns class-less Services)", () => {
  const v = viewOf(
    CLUSTER,
    `
apiVersion: v1
kind: Service
metadata: {name: kv, namespace: kube-system}
spec: {type: LoadBalancer, loadBalancerClass: kube-vip.io/kube-vip-class}
status: {loadBalancer: {ingress: [{ip: 10.0.4.240}]}}
`,
  );
  const cases: (Expected & { what: string; svc: SvcOpts; allowed: boolean })[] = [
    {
      what: "class-less in kube-system (allowed there too)",
      svc: { ns: "kube-system", name: "m" },
      allowed: true,
      rules: [],
    },
    {
      what: "kube-vip's class in a MetalLB namespace",
      svc: { ns: "shop", cls: "kube-vip.io/kube-vip-class" },
      allowed: false,
      rules: ["service.allowed-class"],
      denial:
        'Service shop/web: loadBalancerClass "kube-vip.io/kube-vip-class" (kube-vip) is not allowed in namespace shop; allowed: metallb (no class)',
    },
    {
      what: "class-less asking for a kube-vip-class Service's address",
      svc: { ns: "shop", ip: "10.0.4.240" },
      allowed: false,
      rules: ["service.foreign-address"],
      denial:
        "Service shop/web: 10.0.4.240 is owned by kube-vip (in use by Service kube-system/kv); MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
    },
    {
      what: "class-less asking for a class-less Service's address (both MetalLB's)",
      svc: { ns: "traefik", ip: "10.0.5.77" },
      allowed: true,
      rules: [],
    },
    {
      what: "kube-vip class with a MetalLB annotation",
      svc: { ns: "kube-system", cls: "kube-vip.io/kube-vip-class", annotations: { "metallb.io/allow-shared-ip": "x" } },
      allowed: false,
      rules: ["service.foreign-annotation"],
      denial:
        "Service kube-system/web is served by kube-vip but carries the MetalLB annotation metallb.io/allow-shared-ip; remove it (kube-vip does not read it)",
    },
  ];
  for (const c of cases) {
    it(`${c.allowed ? "allows" : "denies"} ${c.what}`, () => {
      expectJudgement(judge(mlbNull, v, { object: svc(c.svc) }), c);
    });
  }
});

describe("rules/service: the MetalLB and kube-vip Service fixtures", () => {
  // Each fixture Service created in namespace default of the example cluster.
  const table: [string, string, boolean, boolean, string[], string[]?][] = [
    // file, policy, patched, allowed, rule ids (each Service), exact denial messages (one per Service, in file order)
    ["metallb/service-plain-loadbalancer-devenv.yaml", "kvNull", true, true, []],
    ["metallb/service-ipv6-singlestack-devenv.yaml", "kvNull", true, true, []],
    [
      "metallb/service-loadbalancerips-annotation.yaml",
      "kvNull",
      true,
      false,
      ["service.metallb-pool"],
      [
        "Service default/nginx: 192.168.1.100 is in no MetalLB pool, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
      ],
    ],
    [
      "metallb/service-address-pool-annotation.yaml",
      "kvNull",
      true,
      false,
      ["service.metallb-pool"],
      [
        'Service default/nginx: metallb.io/address-pool names "production-public-ips", which is no IPAddressPool in metallb-system; MetalLB pools for this namespace: default (10.0.5.0/24, +1)',
      ],
    ],
    [
      "metallb/services-allow-shared-ip-dns-tcp-udp.yaml",
      "kvNull",
      true,
      false,
      ["service.metallb-pool"],
      [
        "Service default/dns-service-tcp: 1.2.3.4 is in no MetalLB pool, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
        "Service default/dns-service-udp: 1.2.3.4 is in no MetalLB pool, so MetalLB would leave it pending; MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
      ],
    ],
    ["kubevip/service-plain-loadbalancer_kube-vip-repo-example.yaml", "kvNull", true, true, []],
    [
      "kubevip/service-dhcp-loadbalancerIP-0.0.0.0-hostname_docs.yaml",
      "kvNull",
      true,
      false,
      ["service.metallb-pool"],
      [
        "Service default/nginx-dhcp: 0.0.0.0 is kube-vip's DHCP request, not an address MetalLB can assign; remove it or request a pool address",
      ],
    ],
    ["kubevip/service-plain-loadbalancer_kube-vip-repo-example.yaml", "mlbNull", false, true, []],
    ["kubevip/service-etp-local_docs.yaml", "mlbNull", false, true, []],
    ["kubevip/harvester-ingress-expose-service_DERIVED-from-go-code.yaml", "kvNull", false, true, []],
    // MetalLB without --lb-class would take Harvester's class-less VIP Service (metallb#2396):
    // lbguard gives it kube-vip's class at creation instead
    ["kubevip/harvester-ingress-expose-service_DERIVED-from-go-code.yaml", "mlbNull", true, true, []],
  ];
  for (const [file, pn, patched, allowed, rules, denials] of table) {
    it(`${file} under ${pn}: ${patched ? "patched, " : ""}${allowed ? "allowed" : "denied"}`, () => {
      const p = pn === "kvNull" ? kvNull : mlbNull;
      const services = objects(readFileSync(join(FIXTURES, file), "utf8")).filter(
        (o) => o.kind === "Service",
      ) as KubeObject[];
      expect(services.length).to.be.greaterThan(0);
      if (!allowed) expect(denials, "one denial message per Service").to.have.length(services.length);
      services.forEach((s, i) => {
        const j = judge(p, view, { object: s, namespace: (s.metadata?.namespace as string) ?? "default" });
        expect(j.patched, file).to.equal(patched);
        expect(j.allowed, j.message).to.equal(allowed);
        expect(j.rules, "rule ids").to.deep.equal(rules);
        expect(j.message, "denial message").to.equal(denials?.[i]);
        expect(j.warnings, "warnings").to.deep.equal([]);
      });
    });
  }
});

describe("rules/service: Harvester's ingress-expose under MetalLB-owns-null, created without lbguard's mutation", () => {
  it("is MetalLB's and its kube-vip annotation is refused", () => {
    const s = objects(
      readFileSync(join(FIXTURES, "kubevip/harvester-ingress-expose-service_DERIVED-from-go-code.yaml"), "utf8"),
    )[0];
    const d = decide("validate", request({ object: s }), mlbNull, view);
    expect(d.response.allowed).to.equal(false);
    expect(d.verdict?.denials.map((f) => f.rule)).to.deep.equal(["service.foreign-annotation"]);
    expect(d.response.status?.message).to.equal(
      "Service kube-system/ingress-expose is served by MetalLB but carries the kube-vip annotation kube-vip.io/loadbalancerIPs; use metallb.io/loadBalancerIPs instead",
    );
  });
});

describe("rules/service: before the cluster state has synced", () => {
  const unsynced = new MemoryView({ namespaces: "namespaces", services: "services" });
  it("defaulting by namespace name works without state", () => {
    expect(judge(kvNull, unsynced, { object: svc({ ns: "kube-system" }) }).allowed).to.equal(true);
  });
  it("failureMode closed: a decision that needs state is denied with a reason", () => {
    const j = judge(kvNull, unsynced, { object: svc({ ns: "shop", ip: "10.0.5.5" }) });
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal(["cluster-state"]);
    expect(j.message).to.equal(
      "lbguard is starting and has not synced cluster state yet (waiting for namespaces, services); retry in a few seconds",
    );
  });
  it("failureMode open: allowed with a warning", () => {
    const open = policy(KUBEVIP_NULL, (d) => (d.spec.failureMode = "open"));
    const j = judge(open, unsynced, { object: svc({ ns: "shop", ip: "10.0.5.5" }) });
    expect(j.allowed).to.equal(true);
    expect(j.rules).to.deep.equal(["cluster-state"]);
    expect(j.warnings).to.deep.equal([
      "lbguard has not synced cluster state yet (waiting for namespaces, services): the labels of namespace shop not verified",
      "lbguard has not synced cluster state yet (waiting for namespaces, services): the labels of namespace shop, address ownership not verified",
    ]);
  });
});
