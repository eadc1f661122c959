/**
 * MetalLB as its config parser really is (docs/controllers.md M3, M4;
 * metallb/metallb internal/config/config.go) and kube-vip's DNS names in
 * kube-vip.io/loadbalancerIPs (docs/controllers.md K7; kube-vip/kube-vip
 * pkg/services FetchServiceAddresses), under both null owners.
 */
import { expect } from "chai";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { svc } from "../helpers/review.js";
import { pool } from "./pool-cases.js";

const POLICIES = { "kube-vip owns null": policy(KUBEVIP_NULL), "MetalLB owns null": policy(METALLB_NULL) };
const view = viewOf(CLUSTER);

describe("rules: MetalLB's serviceAllocation parser (config.go addressPoolServiceAllocationsFromCR)", () => {
  const cases: { what: string; sa: unknown; message?: string }[] = [
    {
      what: "a namespace listed twice",
      sa: { namespaces: ["shop", "edge", "shop"] },
      message:
        'IPAddressPool metallb-system/p: namespace shop is listed twice; MetalLB refuses it ("duplicate definition in namespaces field"); list each namespace once',
    },
    {
      what: "the same namespace selector twice (values compared sorted)",
      sa: {
        namespaceSelectors: [
          { matchExpressions: [{ key: "tier", operator: "In", values: ["gold", "silver"] }] },
          { matchExpressions: [{ key: "tier", operator: "In", values: ["silver", "gold"] }] },
        ],
      },
      message:
        'IPAddressPool metallb-system/p: namespaceSelectors[1] {matchExpressions: [{key: "tier",operator: "In",values: ["silver","gold"]}]} repeats namespaceSelectors[0]; MetalLB refuses duplicate selectors; remove namespaceSelectors[1]',
    },
    {
      what: "a service selector with an unknown operator",
      sa: { serviceSelectors: [{ matchExpressions: [{ key: "app", operator: "Has" }] }] },
      message:
        'IPAddressPool metallb-system/p: MetalLB refuses an invalid selector: spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist, not "Has"; fix the selector',
    },
    {
      what: "In without values",
      sa: { namespaceSelectors: [{ matchExpressions: [{ key: "tier", operator: "In", values: [] }] }] },
      message:
        "IPAddressPool metallb-system/p: MetalLB refuses an invalid selector: spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].values: must be non-empty for In; fix the selector",
    },
    {
      what: "two different selectors",
      sa: { namespaceSelectors: [{ matchLabels: { a: "1" } }, { matchLabels: { a: "2" } }] },
    },
    { what: "distinct namespaces", sa: { namespaces: ["shop", "edge"], priority: 10 } },
  ];
  for (const [name, p] of Object.entries(POLICIES))
    for (const c of cases)
      it(`${c.message ? "denies" : "allows"} ${c.what} [${name}]`, () => {
        const j = judge(p, view, { object: pool("p", ["10.0.40.0/24"], { serviceAllocation: c.sa }) });
        if (!c.message) {
          expect(j.allowed, j.message).to.equal(true);
          expect(j.rules.filter((r) => r !== "pool.foreign-namespace")).to.deep.equal([]);
          return;
        }
        expect(j.allowed).to.equal(false);
        expect(j.rules).to.deep.equal(["pool.service-allocation"]);
        expect(j.message).to.equal(c.message);
      });
});

describe("rules: kube-vip.io/loadbalancerIPs with a DNS name", () => {
  it("allows a DNS name on a kube-vip Service (kube-vip resolves it) [kube-vip owns null]", () => {
    const j = judge(POLICIES["kube-vip owns null"], view, {
      object: svc({
        ns: "kube-system",
        name: "ingress-expose",
        annotations: { "kube-vip.io/loadbalancerIPs": "vip.example.com" },
      }),
    });
    expect(j).to.deep.include({ allowed: true, rules: [], warnings: [] });
  });

  it("allows a DNS name on a kube-vip-class Service [MetalLB owns null]", () => {
    const j = judge(POLICIES["MetalLB owns null"], view, {
      object: svc({
        ns: "kube-system",
        cls: "kube-vip.io/kube-vip-class",
        annotations: { "kube-vip.io/loadbalancerIPs": "vip.example.com,10.0.9.9" },
      }),
    });
    expect(j).to.deep.include({ allowed: true, rules: [], warnings: [] });
  });

  it("still refuses text that is neither an IP nor a host name", () => {
    const j = judge(POLICIES["kube-vip owns null"], view, {
      object: svc({ ns: "kube-system", name: "k", annotations: { "kube-vip.io/loadbalancerIPs": "10.0.9.300" } }),
    });
    expect(j.rules).to.deep.equal(["service.invalid-address"]);
    expect(j.message).to.equal(
      'Service kube-system/k: "10.0.9.300" in kube-vip.io/loadbalancerIPs is not an IP address; write one IPv4 or IPv6 address',
    );
  });

  it("keeps the kube-vip annotation, DNS name or not, off MetalLB's Services", () => {
    const j = judge(POLICIES["MetalLB owns null"], view, {
      object: svc({ ns: "shop", name: "web", annotations: { "kube-vip.io/loadbalancerIPs": "vip.example.com" } }),
    });
    expect(j.rules).to.deep.equal(["service.foreign-annotation"]);
  });
});
