import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "../../src/cluster/records.js";
import { MemoryView } from "../../src/cluster/view.js";
import { CLUSTER, objects, viewOf } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { FIXTURES } from "../helpers/paths.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { expectJudgement } from "./expected.js";
import { CM_CASES, Case, EXTRA, POOL_CASES, kubevipCM, pool } from "./pool-cases.js";

const kvNull = policy(KUBEVIP_NULL);
const view = viewOf(CLUSTER, EXTRA);

export function runCases(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      it(`${c.allowed ? "allows" : "denies"} ${c.what}`, () => {
        expectJudgement(judge(kvNull, view, c.req), c);
      });
    }
  });
}

runCases("rules/pool: IPAddressPool CREATE/UPDATE", POOL_CASES);
runCases("rules/kubevip-configmap: the kube-vip cloud-provider ConfigMap", CM_CASES);

describe("rules/pool: details", () => {
  it("never reports an IPv4 entry against an IPv6 pool", () => {
    const j = judge(kvNull, view, { object: pool("v6", ["::/0"]) });
    expect(j.message).to.not.match(/\b10\.0\./);
    expect(j.rules).to.deep.equal(["pool.reserved", "pool.kube-vip", "pool.overlap"]);
    expect(j.message).to.equal(
      "IPAddressPool metallb-system/v6: ::/0 overlaps fd00:10::1 in reservedAddresses; keep reserved addresses out of pools; also: ::/0 overlaps fd00:4::53, in use by kube-vip Service kube-system/dns6; MetalLB would hand out addresses kube-vip uses (+1 more)",
    );
  });

  it("pools enforcement warn and off", () => {
    const warn = policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { pools: "warn" }));
    const j = judge(warn, view, { object: pool("new", ["10.0.4.240/29"]) });
    expect(j.allowed).to.equal(true);
    expect(j.rules).to.deep.equal(["pool.kube-vip"]);
    expect(j.warnings).to.deep.equal([
      "IPAddressPool metallb-system/new: 10.0.4.240/29 overlaps 10.0.4.247, the kube-vip control-plane VIP; MetalLB would hand out addresses kube-vip uses",
    ]);
    const off = policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { pools: "off" }));
    expect(judge(off, view, { object: pool("new", ["10.0.4.240/29"]) })).to.deep.include({
      allowed: true,
      warnings: [],
      rules: [],
    });
  });

  it("needs the cluster state for overlaps, but not for parse errors", () => {
    const unsynced = new MemoryView({ pools: "ipaddresspools" });
    const j = judge(kvNull, unsynced, { object: pool("new", ["10.0.8.0/24"]) });
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal(["cluster-state"]);
    expect(j.message).to.equal(
      "lbguard is starting and has not synced cluster state yet (waiting for ipaddresspools); retry in a few seconds",
    );
    const p = judge(kvNull, unsynced, { object: pool("new", ["10.0.8.1"]) });
    expect(p.allowed).to.equal(false);
    expect(p.rules).to.deep.equal(["pool.parse", "cluster-state"]);
    expect(p.message).to.equal(
      'IPAddressPool metallb-system/new: MetalLB cannot parse "10.0.8.1": invalid CIDR "10.0.8.1"; write 10.0.8.1/32 for a single address; also: lbguard is starting and has not synced cluster state yet (waiting for ipaddresspools); retry in a few seconds',
    );
  });
});

interface Scenario {
  pools: { name: string; addresses: string[] }[];
  error: string;
}

/** The rule id and exact message lbguard refuses each refused scenario's pool with, by scenario number. */
/**
 * Where lbguard refuses what MetalLB accepts, on purpose: MetalLB compares
 * mask lengths, so it misses that ::ffff:0:0/96 is all of IPv4 (ipfamily
 * IPv4; its allocator hands out 10.x addresses from it) and overlaps
 * 10.0.0.0/8 (docs/controllers.md M3).
 */
export const STRICTER_THAN_METALLB: Record<number, [string, string]> = {
  12: [
    "pool.overlap",
    "IPAddressPool metallb-system/v6: ::ffff:0:0/96 overlaps 10.0.0.0/8 of IPAddressPool metallb-system/v4; pools must not overlap",
  ],
};

const SCENARIO_DENIALS: Record<number, [string, string]> = {
  1: [
    "pool.overlap",
    "IPAddressPool metallb-system/webhooks-test2: 1.1.1.15-1.1.1.20 overlaps 1.1.1.1-1.1.1.100 of IPAddressPool metallb-system/webhooks-test1; pools must not overlap",
  ],
  3: [
    "pool.overlap",
    "IPAddressPool metallb-system/webhooks-test2: 1.1.1.0/24 overlaps 1.1.1.1-1.1.1.100 of IPAddressPool metallb-system/webhooks-test1; pools must not overlap",
  ],
  4: [
    "pool.overlap",
    "IPAddressPool metallb-system/pool2: 10.0.0.0/16 overlaps 10.0.0.0/8 of IPAddressPool metallb-system/pool1; pools must not overlap",
  ],
  5: [
    "pool.overlap",
    "IPAddressPool metallb-system/pool2: 10.0.0.0/8 overlaps 10.0.0.0/16 of IPAddressPool metallb-system/pool1; pools must not overlap",
  ],
  6: [
    "pool.overlap",
    "IPAddressPool metallb-system/pool2: 10.0.0.0/8 overlaps 10.0.0.0/8 of IPAddressPool metallb-system/pool1; pools must not overlap",
  ],
  7: [
    "pool.self-overlap",
    "IPAddressPool metallb-system/same: 10.0.0.5-10.0.0.10 overlaps 10.0.0.0/24 earlier in the same pool; MetalLB refuses overlapping entries",
  ],
  8: [
    "pool.self-overlap",
    "IPAddressPool metallb-system/dup-entry: 10.0.0.0/24 overlaps 10.0.0.0/24 earlier in the same pool; MetalLB refuses overlapping entries",
  ],
  9: [
    "pool.overlap",
    "IPAddressPool metallb-system/b: 10.0.0.255-10.0.1.0 overlaps 10.0.0.0/24 of IPAddressPool metallb-system/a; pools must not overlap",
  ],
  11: [
    "pool.overlap",
    "IPAddressPool metallb-system/b: 2001:db8::ffff-2001:db8::1:0 overlaps 2001:db8::/64 of IPAddressPool metallb-system/a; pools must not overlap",
  ],
  14: [
    "pool.empty",
    'IPAddressPool metallb-system/empty: spec.addresses is empty; MetalLB refuses it ("pool has no prefixes defined"); add at least one CIDR or range',
  ],
};

describe("rules/pool: MetalLB's 14 overlap scenarios", () => {
  // MetalLB alone: no kube-vip, nothing reserved, so only MetalLB's own rules speak
  const metallbOnly = policy(KUBEVIP_NULL, (d) => {
    delete d.spec.providers["kube-vip"];
    d.spec.namespaces = [];
    d.spec.reservedAddresses = [];
  });
  const file = JSON.parse(readFileSync(join(FIXTURES, "metallb/parse-and-overlap-vectors.json"), "utf8")) as {
    overlapScenarios: Scenario[];
  };
  it("has 14 scenarios", () => expect(file.overlapScenarios).to.have.length(14));
  file.overlapScenarios.forEach((sc, i) => {
    it(`#${i + 1} ${sc.pools.map((p) => `${p.name}=${JSON.stringify(p.addresses)}`).join(" then ")} → ${sc.error ? "refused" : "accepted"}`, () => {
      const v = new MemoryView();
      const denied: { name: string; message: string; rules: string[] }[] = [];
      for (const p of sc.pools) {
        const obj = pool(p.name, p.addresses);
        const j = judge(metallbOnly, v, { object: obj });
        if (j.allowed) v.apply(obj);
        else denied.push({ name: p.name, message: j.message!, rules: j.rules });
      }
      const stricter = STRICTER_THAN_METALLB[i + 1];
      if (stricter) {
        expect(denied.map((d) => [d.rules[0], d.message])).to.deep.equal([stricter]);
        return;
      }
      if (!sc.error) {
        expect(denied).to.deep.equal([]);
        expect(SCENARIO_DENIALS[i + 1], "no denial listed for an accepted scenario").to.equal(undefined);
        return;
      }
      expect(denied).to.have.length(1);
      // the pool MetalLB names is the one lbguard refuses
      const named = /in pool "([^"]+)"|parsing address pool ([^:]+):/.exec(sc.error)!;
      expect(denied[0].name).to.equal(named[1] ?? named[2]);
      const [rule, message] = SCENARIO_DENIALS[i + 1];
      expect(denied[0].rules).to.deep.equal([rule]);
      expect(denied[0].message).to.equal(message);
      // lbguard quotes the user's own entries, where MetalLB quotes split CIDRs
      const mine = sc.pools.find((p) => p.name === denied[0].name)!;
      if (mine.addresses.length)
        expect(denied[0].message).to.include(
          mine.addresses[mine.addresses.length === 2 && sc.pools.length === 1 ? 1 : 0],
        );
    });
  });
});

describe("rules/pool: MetalLB's pool fixtures, created in order into the example cluster", () => {
  const table: [string, Record<string, boolean>][] = [
    ["ipaddresspool-cidr-range-ipv6.yaml", { example: true }],
    ["ipaddresspool-serviceallocation-ns-selectors.yaml", { "ippool-ns-service-alloc-sample": true }],
    ["ipaddresspools-cheap-and-expensive-autoassign-false.yaml", { cheap: true, expensive: true }],
    ["ipaddresspool-plus-l2advertisement-all-pools.yaml", { example: true }],
    ["legacy-configmap-address-pools.converted.golden.yaml", { "my-ip-space-bgp": true, "my-ip-space-l2": true }],
    ["transcribed-config-test-all-features-pools.yaml", { pool1: true, pool2: true, pool3: true, pool4: true }],
    ["transcribed-e2e-webhook-overlapping-pools.yaml", { "webhooks-test1": true, "webhooks-test2": false }],
  ];
  for (const [file, want] of table) {
    it(file, () => {
      const v = viewOf(CLUSTER);
      const got: Record<string, boolean> = {};
      for (const o of objects(readFileSync(join(FIXTURES, "metallb", file), "utf8"))) {
        if (o.kind !== "IPAddressPool") continue;
        const obj: KubeObject = { ...o, metadata: { ...o.metadata, namespace: "metallb-system" } };
        const j = judge(kvNull, v, { object: obj });
        got[o.metadata!.name as string] = j.allowed;
        if (j.allowed) v.apply(obj);
      }
      expect(got).to.deep.equal(want);
    });
  }
});

describe("rules/kubevip-configmap: kube-vip's ConfigMap fixtures", () => {
  const table: [string, boolean, string[], string?][] = [
    // file, allowed, rule ids, exact denial message
    ["cloud-provider-configmap_docs-cidr-range-per-namespace.yaml", true, []],
    ["cloud-provider-configmap_readme-namespace-pools-ipv6.yaml", true, []],
    ["cloud-provider-configmap_readme-interface-per-namespace-DUPLICATE-KEY.yaml", true, []],
    [
      "cloud-provider-configmap_readme-allow-share-UNQUOTED-BOOL.yaml",
      false,
      ["kube-vip-configmap.parse"],
      "ConfigMap kube-system/kubevip: data.allow-share-development is boolean, not a string; quote it",
    ],
    [
      "cloud-provider-configmap-allow-share-UNQUOTED-BOOLS_cloud-provider-repo-example-0.1.yaml",
      false,
      ["kube-vip-configmap.parse", "kube-vip-configmap.parse"],
      "ConfigMap kube-system/kubevip: data.allow-share-global is boolean, not a string; quote it; also: data.allow-share-plunder is boolean, not a string; quote it",
    ],
    [
      "cloud-provider-configmap_readme-skip-end-ips-UNQUOTED-BOOL.yaml",
      false,
      ["kube-vip-configmap.parse"],
      "ConfigMap kube-system/kubevip: data.skip-end-ips-in-cidr is boolean, not a string; quote it",
    ],
  ];
  for (const [file, allowed, rules, denial] of table) {
    it(`${file}: ${allowed ? "allowed" : "denied"}`, () => {
      const [cm] = objects(readFileSync(join(FIXTURES, "kubevip", file), "utf8"));
      expectJudgement(judge(kvNull, viewOf(CLUSTER), { object: cm }), { allowed, rules, denial });
    });
  }

  it("a fixture's ranges become a conflict once MetalLB owns them", () => {
    const [cm] = objects(
      readFileSync(join(FIXTURES, "kubevip/cloud-provider-configmap_docs-cidr-range-per-namespace.yaml"), "utf8"),
    );
    const v = viewOf(CLUSTER, pool("lan", ["192.168.0.192/26"]));
    const j = judge(kvNull, v, { object: cm });
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal([
      "kube-vip-configmap.pool",
      "kube-vip-configmap.pool",
      "kube-vip-configmap.pool",
      "kube-vip-configmap.pool",
      "kube-vip-configmap.pool",
    ]);
    expect(j.message).to.equal(
      "ConfigMap kube-system/kubevip: cidr-default 192.168.0.200/29 overlaps 192.168.0.192/26 of IPAddressPool metallb-system/lan; kube-vip-cloud-provider would hand out MetalLB's addresses (it never sees MetalLB's allocations) (+4 more)",
    );
  });

  it("the view reads kube-vip's ranges from the ConfigMap for Service and pool decisions", () => {
    const v = viewOf(kubevipCM({ "cidr-global": "10.0.9.0/29" }));
    const j = judge(kvNull, v, { object: pool("new", ["10.0.9.4/30"]) });
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal(["pool.kube-vip"]);
    expect(j.message).to.equal(
      "IPAddressPool metallb-system/new: 10.0.9.4/30 overlaps 10.0.9.0/29 in ConfigMap kube-system/kubevip key cidr-global; MetalLB would hand out addresses kube-vip uses",
    );
  });
});
