/**
 * The effective-configuration model across kube-vip releases, v0.4 → main.
 * Each fact cites the upstream file it was read from (kube-vip/kube-vip at the
 * tag named) and its section in docs/controllers.md.
 */
import { expect } from "chai";
import { workloadRecord } from "../../src/cluster/records.js";
import { slimPod, slimWorkload } from "../../src/cluster/slim.js";
import {
  BOOL_ENV,
  BOOL_FLAGS,
  ContainerSpec,
  KubeVipConfig,
  SETTINGS,
  SVC_GATED,
  cloudProviderConfig,
  effectiveConfig,
  serviceCoordination,
  servesService,
} from "../../src/kubevip/effective.js";
import { UNKNOWN, expand, resolveEnv } from "../../src/kubevip/expand.js";
import { imageVersion, parseImage } from "../../src/kubevip/image.js";
import { envRead, flagKnown } from "../../src/kubevip/settings.js";

type Env = Record<string, string | { valueFrom: unknown } | null>;

function kv(
  env: Env = {},
  o: { tag?: string; image?: string; args?: string[]; command?: string[]; ns?: string; token?: boolean } = {},
): KubeVipConfig {
  const c: ContainerSpec = {
    name: "kube-vip",
    image: o.image ?? `ghcr.io/kube-vip/kube-vip:${o.tag ?? "v1.2.3"}`,
    args: o.args ?? ["manager"],
    command: o.command,
    env: Object.entries(env).map(([name, v]) =>
      v === null ? { name } : typeof v === "string" ? { name, value: v } : { name, valueFrom: v.valueFrom },
    ),
  };
  return effectiveConfig(c, { namespace: o.ns ?? "kube-system", tokenMounted: o.token ?? true });
}

function claims(c: { claims: KubeVipConfig["claims"] }): string {
  if (c.claims.all) return "ALL";
  return [...c.claims.classes]
    .map((x) => (x === null ? "null" : x))
    .sort()
    .join(",");
}

const C = "kube-vip.io/kube-vip-class";
const SVC = { svc_enable: "true" };

describe("kubevip/settings: one table for every env variable and flag kube-vip parses (K3)", () => {
  // kube-vip/kube-vip pkg/kubevip/config_environment.go @v1.2.3 and main (docs/controllers.md K3)
  const K3_ENV = [
    "svc_enable",
    "svc_election",
    "lb_class_only",
    "lb_class_legacy_handling",
    "lb_enable",
    "disable_service_updates",
    "enable_service_security",
    "enable_endpoints",
    "per_service_election_on_demand",
    "cp_enable",
    "cp_detect",
    "vip_ddns",
    "vip_arp",
    "bgp_enable",
    "vip_routingtable",
    "vip_wireguard",
    "vip_leaderelection",
    "vip_startleader",
    "vip_singlenode",
    "bgp_multihop",
    "zebra_enable",
    "vip_cleanroutingtable",
    "enable_node_labeling",
    "enable_upnp",
    "vip_interfaceloglobal",
    "egress_clean",
    "egress_withnftables",
    // SEMANTICS §2.6's six
    "vip_skipdad",
    "vip_preserve_on_leadership_loss",
    "bgp_attach_ip_to_interface",
    "egress_enableinternalsnat",
    "vip_loseleadership",
    "vip_allow_interface_not_up",
  ];
  // kube-vip/kube-vip cmd/kube-vip.go @v1.2.3 and main: every BoolVar (docs/controllers.md K3)
  const K3_FLAGS = [
    "arp",
    "bgp",
    "table",
    "wireguard",
    "leaderElection",
    "services",
    "servicesElection",
    "lbClassOnly",
    "lbClassNameLegacyHandling",
    "enableLoadBalancer",
    "disableServiceUpdates",
    "enableEndpoints",
    "perServiceElectionOnDemand",
    "onlyAllowTrafficServicePorts",
    "controlplane",
    "autodetectcp",
    "ddns",
    "bgpAttachIPToInterface",
    "multihop",
    "zebra",
    "cleanRoutingTable",
    "allowInterfaceNotUp",
    "preserveVipOnLeadershipLoss",
    "loseLeadership",
    "enableNodeLabeling",
    "loInterfaceGlobalScope",
    "egressWithNftables",
  ];

  it("main parses 33 boolean env variables and has 27 boolean flags, all from the one SETTINGS table", () => {
    expect([...BOOL_ENV].sort()).to.deep.equal([...K3_ENV].sort());
    expect([...BOOL_FLAGS].sort()).to.deep.equal([...K3_FLAGS].sort());
    for (const n of BOOL_ENV) expect(SETTINGS.some((s) => s.env === n && s.type === "bool")).to.equal(true);
    for (const f of BOOL_FLAGS) expect(SETTINGS.some((s) => s.flag === f && s.type === "bool")).to.equal(true);
  });

  it("the svc_enable gate covers exactly the six service-class options (K1)", () => {
    expect([...SVC_GATED].sort()).to.deep.equal(
      [
        "lb_class_legacy_handling",
        "lb_class_name",
        "lb_class_only",
        "svc_election",
        "svc_leasename",
        "svc_namespace",
      ].sort(),
    );
  });

  // [setting, last release without it, first release with it] (pkg/kubevip/config_environment.go at each tag)
  const ENV_BOUNDARIES: [string, string, string][] = [
    ["svc_election", "v0.4.4", "v0.5.0"],
    ["vip_wireguard", "v0.4.4", "v0.5.0"],
    ["vip_routingtable", "v0.4.4", "v0.5.0"],
    ["lb_class_only", "v0.5.0", "v0.5.5"],
    ["egress_withnftables", "v0.5.11", "v0.5.12"],
    ["enable_node_labeling", "v0.6.2", "v0.6.3"],
    ["disable_service_updates", "v0.6.4", "v0.7.0"],
    ["lb_class_legacy_handling", "v0.8.0", "v0.8.1"],
    ["vip_interfaceloglobal", "v0.8.3", "v0.8.4"],
    ["egress_clean", "v0.9.2", "v1.0.0"],
    ["vip_preserve_on_leadership_loss", "v1.0.1", "v1.0.2"],
    ["vip_allow_interface_not_up", "v1.2.1", "v1.2.2"],
    ["per_service_election_on_demand", "v1.2.1", "v1.2.2"],
    ["vip_loseleadership", "v1.2.1", "v1.2.2"],
    ["vip_skipdad", "v1.2.2", "v1.2.3"],
  ];
  for (const [env, before, from] of ENV_BOUNDARIES)
    it(`${env}: "yes" is ignored by ${before}, crash-loops ${from}`, () => {
      const e = { ...SVC, vip_arp: "true", [env]: "yes" };
      expect(kv(e, { tag: before }).invalidBools.map((b) => b.key)).to.deep.equal([]);
      expect(kv(e, { tag: from }).invalidBools.map((b) => b.key)).to.deep.equal([env]);
    });

  it("removed booleans: vip_packet to v0.8.10, enable_endpointslices to v0.9.2", () => {
    expect(kv({ ...SVC, vip_arp: "true", vip_packet: "yes" }, { tag: "v0.8.10" }).invalidBools).to.have.length(1);
    expect(kv({ ...SVC, vip_arp: "true", vip_packet: "yes" }, { tag: "v0.9.0" }).invalidBools).to.have.length(0);
    expect(kv({ ...SVC, vip_arp: "true", enable_endpointslices: "on" }, { tag: "v0.9.2" }).invalidBools).to.have.length(
      1,
    );
    expect(kv({ ...SVC, vip_arp: "true", enable_endpointslices: "on" }, { tag: "v1.0.0" }).invalidBools).to.have.length(
      0,
    );
  });

  it("the gated booleans are parsed only behind svc_enable (pkg/kubevip/config_environment.go)", () => {
    expect(kv({ vip_arp: "true", cp_enable: "true", svc_election: "yes" }).invalidBools).to.deep.equal([]);
    expect(kv({ ...SVC, vip_arp: "true", svc_election: "yes" }).invalidBools.map((b) => b.key)).to.deep.equal([
      "svc_election",
    ]);
  });

  it("flags by version: a flag a release does not have exits (cobra: unknown flag); a bad value fails in pflag", () => {
    const a = (tag: string, flag: string) => kv({ ...SVC, vip_arp: "true" }, { tag, args: ["manager", flag] });
    expect(a("v1.2.1", "--perServiceElectionOnDemand").exits).to.deep.equal([
      { reason: "unknown-flag", key: "--perServiceElectionOnDemand", since: [1, 2, 2], until: undefined },
    ]);
    expect(a("v1.2.2", "--perServiceElectionOnDemand=yes").invalidBools).to.deep.equal([
      { key: "--perServiceElectionOnDemand", from: "flag", raw: "yes" },
    ]);
    expect(a("v0.9.0", "--metal").exits.map((e) => e.reason)).to.deep.equal(["unknown-flag"]);
    expect(a("v0.8.10", "--metal").exits).to.deep.equal([]);
    expect(a("v0.6.3", "--leaderElectionType=etcd").exits.map((e) => e.reason)).to.deep.equal(["unknown-flag"]);
    expect(a("v0.6.4", "--leaderElectionType=etcd").exits).to.deep.equal([]);
    // egress_withnftables env since v0.5.12, its flag only since v1.2.2
    const s = SETTINGS.find((x) => x.env === "egress_withnftables")!;
    expect([envRead(s, [0, 5, 12]), flagKnown(s, [1, 2, 1]), flagKnown(s, [1, 2, 2])]).to.deep.equal([
      true,
      false,
      true,
    ]);
  });

  it("a boolean flag never takes the next argument (pflag): `--arp manager` still runs manager", () => {
    const c = kv({ ...SVC }, { args: ["--arp", "manager"] });
    expect([c.subcommand, c.mode]).to.deep.equal(["manager", "arp"]);
    // an unknown or string flag does take it (cobra's stripFlags)
    expect(kv({}, { args: ["--interface", "eth0", "manager"] }).subcommand).to.equal("manager");
  });
});

describe("kubevip/effective: modes by release (K4)", () => {
  const both = { ...SVC, lb_class_only: "true", vip_arp: "true", bgp_enable: "true" };

  it("v1.2.2+: several modes exit at start, and claim nothing (cmd/kube-vip.go @v1.2.2)", () => {
    const c = kv(both, { tag: "v1.2.2" });
    expect(c.exits).to.deep.equal([{ reason: "modes", keys: ["vip_arp", "bgp_enable"] }]);
    expect([c.mode, claims(c)]).to.deep.equal(["none", ""]);
    expect(kv(both, { tag: "v1.2.1" }).exits).to.deep.equal([]);
  });

  it("v1.2.2+: no mode exits at start, also for a control-plane-only instance (cmd/kube-vip.go @v1.2.2)", () => {
    expect(kv({ cp_enable: "true", address: "10.0.0.1" }, { tag: "v1.2.2" }).exits).to.deep.equal([
      { reason: "no-mode" },
    ]);
    expect(kv({ cp_enable: "true", address: "10.0.0.1" }, { tag: "v1.2.1" }).exits).to.deep.equal([]);
  });

  it("a bad boolean stops kube-vip before the mode check: only the boolean is reported", () => {
    const c = kv({ svc_enable: "yes" });
    expect([c.invalidBools.length, c.exits.length]).to.deep.equal([1, 0]);
  });

  it("the `service` subcommand has no mode check (cmd/kube-vip.go @v1.2.3 kubeVipService)", () => {
    expect(kv(both, { args: ["service"] }).exits).to.deep.equal([]);
  });

  it("v1.1.0–v1.2.1 take ARP first (pkg/manager/worker/worker.go @v1.1.0); v1.0.4 and every 0.x BGP first (pkg/manager/manager.go @v1.0.4, @v0.9.2, @v0.5.0)", () => {
    expect(kv(both, { tag: "v1.2.1" }).mode).to.equal("arp");
    expect(kv(both, { tag: "v1.1.0" }).mode).to.equal("arp");
    expect(kv(both, { tag: "v1.0.4" }).mode).to.equal("bgp");
    expect(kv(both, { tag: "v1.0.0" }).mode).to.equal("bgp");
    expect(kv(both, { tag: "v0.9.2" }).mode).to.equal("bgp");
    // BGP: every node serves, no lease; ARP: the global services lease
    expect(kv(both, { tag: "v1.0.4" }).coordination.kind).to.equal("none");
    expect(kv(both, { tag: "v1.1.0" }).coordination.kind).to.equal("lease");
    // after BGP: ARP > WireGuard > table before v1.1.0; ARP > BGP > table > WireGuard after
    const tw = { ...SVC, vip_routingtable: "true", vip_wireguard: "true" };
    expect(kv(tw, { tag: "v1.0.4" }).mode).to.equal("wireguard");
    expect(kv(tw, { tag: "v1.1.0" }).mode).to.equal("table");
  });

  it("no mode claims nothing in every release (pkg/manager/manager.go @v1.0.4: prematurely exiting)", () => {
    for (const tag of ["v0.4.4", "v0.8.9", "v1.0.4", "v1.2.1", "v1.2.3"])
      expect(claims(kv(SVC, { tag })), tag).to.equal("");
    // ≤ v0.4.4 claims every LoadBalancer Service only with a mode (pkg/manager/watcher.go @v0.4.4)
    expect(claims(kv({ ...SVC, vip_arp: "true" }, { tag: "v0.4.4" }))).to.equal("ALL");
    expect(claims(kv({ ...SVC, vip_arp: "true" }, { tag: "v0.5.0" }))).to.equal(`${C},null`);
  });

  it("v0.4.x has no WireGuard or table mode: the switches are not read (pkg/kubevip/config_generator.go @v0.4.4)", () => {
    expect(kv({ ...SVC, vip_wireguard: "true" }, { tag: "v0.4.4" }).mode).to.equal("none");
  });
});

describe("kubevip/effective: WireGuard (K5)", () => {
  it("v1.1.0+: only svc_election Services; without it nothing and no lease (pkg/manager/worker/wireguard.go @v1.1.0)", () => {
    const c = kv({ ...SVC, vip_wireguard: "true" }, { tag: "v1.1.0" });
    expect([claims(c), c.coordination.kind]).to.deep.equal(["", "none"]);
    const e = kv({ ...SVC, vip_wireguard: "true", svc_election: "true" }, { tag: "v1.1.0" });
    expect([claims(e), e.coordination.kind]).to.deep.equal([`${C},null`, "per-service"]);
  });

  it("v1.1.0+ with the control plane on: the control-plane lease holder runs the Service watcher (OnStartedLeading)", () => {
    const c = kv({ ...SVC, vip_wireguard: "true", cp_enable: "true", address: "10.0.0.1" }, { tag: "v1.2.3" });
    expect(c.coordination).to.deep.equal({
      kind: "lease",
      namespace: "kube-system",
      name: "plndr-cp-lock",
      backend: "kubernetes",
    });
    expect(kv({ ...SVC, vip_wireguard: "true", cp_enable: "true", vip_leasename: "wg" }).coordination).to.deep.include({
      name: "wg",
    });
  });

  it("v1.0.4: no Service watcher at all, even with svc_election (pkg/manager/manager_wireguard.go @v1.0.4)", () => {
    expect(claims(kv({ ...SVC, vip_wireguard: "true", svc_election: "true" }, { tag: "v1.0.4" }))).to.equal("");
  });

  it("v1.0.3 and before: the constant plndr-svcs-lock whatever svc_leasename says (pkg/manager/manager_wireguard.go @v1.0.3)", () => {
    const c = kv({ ...SVC, vip_wireguard: "true", svc_leasename: "mine" }, { tag: "v1.0.3" });
    expect(c.coordination).to.deep.include({ kind: "lease", name: "plndr-svcs-lock" });
    expect(kv({ ...SVC, vip_wireguard: "true", svc_election: "true" }, { tag: "v1.0.3" }).coordination.kind).to.equal(
      "per-service",
    );
  });
});

describe("kubevip/effective: lease names by release (K5)", () => {
  const lease = (env: Env, tag: string, o: { ns?: string } = {}) => kv({ ...SVC, ...env }, { tag, ...o }).coordination;

  it("ARP: svc_leasename from v0.6.3; before, plndr-svcs-lock (pkg/manager/manager_arp.go @v0.6.2, @v0.6.3)", () => {
    expect(lease({ vip_arp: "true", svc_leasename: "mine" }, "v0.6.2")).to.deep.include({ name: "plndr-svcs-lock" });
    expect(lease({ vip_arp: "true", svc_leasename: "mine" }, "v0.6.3")).to.deep.include({ name: "mine" });
    expect(lease({ vip_arp: "true" }, "v0.4.4")).to.deep.include({ name: "plndr-svcs-lock" });
  });

  it("table mode: plndr-svcs-lock to v1.0.4, svc_leasename from v1.1.0 (pkg/manager/manager_table.go @v1.0.4; worker/table.go)", () => {
    const env = { vip_routingtable: "true", vip_leaderelection: "true", svc_leasename: "mine" };
    expect(lease(env, "v1.0.4")).to.deep.include({ name: "plndr-svcs-lock" });
    expect(lease(env, "v1.1.0")).to.deep.include({ name: "mine" });
  });

  it("table mode before v0.7.0 always holds the services lease; from v0.7.0 only with vip_leaderelection (manager_table.go @v0.6.4, @v0.7.0)", () => {
    expect(lease({ vip_routingtable: "true" }, "v0.6.4").kind).to.equal("lease");
    expect(lease({ vip_routingtable: "true" }, "v0.7.0").kind).to.equal("none");
  });

  it("BGP honours svc_election from v1.0.1; before, every node serves (pkg/manager/manager_bgp.go @v1.0.0, @v1.0.1)", () => {
    expect(lease({ bgp_enable: "true", svc_election: "true" }, "v1.0.0").kind).to.equal("none");
    expect(lease({ bgp_enable: "true", svc_election: "true" }, "v1.0.1").kind).to.equal("per-service");
  });

  it("ns/a/b keeps its first two parts from v1.1.0 (pkg/lease/lease.go NamespaceName); before, the name is used whole", () => {
    expect(lease({ vip_arp: "true", svc_leasename: "infra/lock/x" }, "v1.1.0", { ns: "tenant" })).to.deep.equal({
      kind: "lease",
      namespace: "infra",
      name: "lock",
      backend: "kubernetes",
    });
    expect(lease({ vip_arp: "true", svc_leasename: "infra/lock/x" }, "v1.0.4", { ns: "tenant" })).to.deep.include({
      namespace: "tenant",
      name: "infra/lock/x",
    });
  });
});

describe("kubevip/effective: --leaderElectionType (K5)", () => {
  const arp = { ...SVC, vip_arp: "true", lb_class_only: "true" };
  it("etcd: elections in etcd from v1.1.0 (pkg/lease/lease.go NewID); before, Service elections used Lease objects", () => {
    expect(kv(arp, { args: ["manager", "--leaderElectionType=etcd"] }).coordination).to.deep.include({
      backend: "etcd",
    });
    expect(kv(arp, { tag: "v1.1.0", args: ["manager", "--leaderElectionType", "etcd"] }).coordination).to.deep.include({
      backend: "etcd",
    });
    expect(kv(arp, { tag: "v1.0.4", args: ["manager", "--leaderElectionType=etcd"] }).coordination).to.deep.include({
      backend: "kubernetes",
    });
  });

  it("any other value exits: from v1.1.0 always (pkg/election/election.go), before only with the control plane (pkg/manager/cluster.go)", () => {
    const raft = ["manager", "--leaderElectionType=raft"];
    expect(kv(arp, { tag: "v1.1.0", args: raft }).exits).to.deep.equal([
      { reason: "leader-election-type", raw: "raft" },
    ]);
    expect(kv(arp, { tag: "v1.0.4", args: raft }).exits).to.deep.equal([]);
    expect(kv({ ...arp, cp_enable: "true" }, { tag: "v1.0.4", args: raft }).exits).to.have.length(1);
    // table mode checks it with the control plane from v0.8.4
    const table = { vip_routingtable: "true", cp_enable: "true" };
    expect(kv(table, { tag: "v0.8.3", args: raft }).exits).to.deep.equal([]);
    expect(kv(table, { tag: "v0.8.4", args: raft }).exits).to.have.length(1);
    // "" is kubernetes
    expect(kv(arp, { args: ["manager", "--leaderElectionType="] }).exits).to.deep.equal([]);
  });
});

describe("kubevip/effective: control-plane VIP precedence (K6, pkg/cluster/cluster.go)", () => {
  const vips = (env: Env, args: string[]) =>
    kv({ vip_arp: "true", cp_enable: "true", ...env }, { args: ["manager", ...args] }).controlPlaneVIPs.map(
      (v) => `${v.value} (${v.key})`,
    );
  it("Address (env address, else --address) beats VIP (env vip_address, else --vip)", () => {
    expect(vips({ vip_address: "10.0.0.2" }, ["--address=10.0.0.3"])).to.deep.equal(["10.0.0.3 (--address)"]);
    expect(vips({ address: "10.0.0.1" }, ["--address=10.0.0.3"])).to.deep.equal(["10.0.0.1 (address)"]);
    expect(vips({ vip_address: "10.0.0.2" }, ["--vip=10.0.0.4"])).to.deep.equal(["10.0.0.2 (vip_address)"]);
    expect(vips({}, ["--vip", "10.0.0.4"])).to.deep.equal(["10.0.0.4 (--vip)"]);
  });
});

describe("kubevip/effective: subcommands (K8)", () => {
  it("only manager and service serve; manifest and the rest claim nothing", () => {
    const env = { ...SVC, vip_arp: "true" };
    expect(kv(env, { args: ["manager"] }).serves).to.equal(true);
    expect(kv(env, { args: ["service"] }).serves).to.equal(true);
    for (const args of [["manifest", "daemonset", "--services"], ["version"], []]) {
      const c = kv(env, { args });
      expect([c.serves, claims(c)], args.join(" ")).to.deep.equal([false, ""]);
    }
    expect(kv(env, { command: ["/kube-vip", "manager"], args: [] }).serves).to.equal(true);
  });
});

describe("kubevip/effective: per-Service election on demand (K5, v1.2.2)", () => {
  const arp = { ...SVC, vip_arp: "true", lb_class_only: "true" };
  const annotated = { cls: C, namespace: "shop", annotations: { "kube-vip.io/forcePerServiceElection": "true" } };
  const plain = { cls: C, namespace: "shop" };

  it("v1.2.2+ normal watchers skip annotated Services; on demand, ARP elects them per Service (pkg/services/processor.go, pkg/manager/worker/common.go)", () => {
    const off = kv(arp, { tag: "v1.2.2" });
    expect([servesService(off, plain), servesService(off, annotated)]).to.deep.equal([true, false]);
    const on = kv({ ...arp, per_service_election_on_demand: "true" }, { tag: "v1.2.2" });
    expect(serviceCoordination(on, annotated)).to.deep.equal({ kind: "per-service", backend: "kubernetes" });
    expect(serviceCoordination(on, plain)).to.deep.include({ kind: "lease", name: "plndr-svcs-lock" });
  });

  it("before v1.2.2 the annotation means nothing: annotated Services go the normal way", () => {
    const old = kv({ ...arp, per_service_election_on_demand: "true" }, { tag: "v1.2.1" });
    expect(serviceCoordination(old, annotated)).to.deep.include({ kind: "lease" });
  });

  it("svc_election and WireGuard never run the on-demand watcher (worker/arp.go, worker/wireguard.go @v1.2.3)", () => {
    const elect = kv({ ...arp, svc_election: "true", per_service_election_on_demand: "true" });
    expect([servesService(elect, plain), servesService(elect, annotated)]).to.deep.equal([true, false]);
    const wg = kv({ ...SVC, vip_wireguard: "true", svc_election: "true", per_service_election_on_demand: "true" });
    expect(servesService(wg, annotated)).to.equal(false);
    // BGP and table without svc_election do
    expect(
      servesService(
        kv({ ...SVC, bgp_enable: "true", lb_class_only: "true", per_service_election_on_demand: "1" }),
        annotated,
      ),
    ).to.equal(true);
  });

  it('the annotation must be exactly "true"; kube-vip.io/ignore and svc_namespace still apply', () => {
    const on = kv({ ...arp, per_service_election_on_demand: "true", svc_namespace: "shop" });
    expect(
      serviceCoordination(on, { ...plain, annotations: { "kube-vip.io/forcePerServiceElection": "True" } }),
    ).to.deep.include({
      kind: "lease",
    });
    expect(servesService(on, { ...plain, annotations: { "kube-vip.io/ignore": "true" } })).to.equal(false);
    expect(servesService(on, { ...plain, namespace: "other" })).to.equal(false);
    expect(servesService(on, { ...plain, cls: null })).to.equal(false);
  });
});

describe("kubevip/expand: what the kubelet passes (S3)", () => {
  const none = () => undefined;
  it("$(VAR) from the mapping, $$ escapes, an undefined name stays as written", () => {
    const m = (n: string) => ({ A: "x", B: "y" })[n];
    expect(expand("$(A)-$(B)", m).text).to.equal("x-y");
    expect(expand("$$(A)", m).text).to.equal("$(A)");
    expect(expand("$(C)", m).text).to.equal("$(C)");
    expect(expand("$$$(A)", m).text).to.equal("$x");
    expect(expand("a$b $", none).text).to.equal("a$b $");
    expect(expand("$(A", m).text).to.equal("$(A");
    expect(expand("$(X)", () => UNKNOWN)).to.deep.equal({ text: "$(X)", unknown: ["X"] });
  });

  it("an env value sees only earlier entries; valueFrom (and what references it) is unknown", () => {
    const env = resolveEnv(
      [
        { name: "LATE", value: "$(ON)" },
        { name: "ON", value: "true" },
        { name: "svc_enable", value: "$(ON)" },
        { name: "FROM", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "svc_leasename", value: "$(FROM)-lock" },
      ],
      false,
    );
    expect([env.value("LATE"), env.value("svc_enable")]).to.deep.equal(["$(ON)", "true"]);
    expect([env.unknown("FROM"), env.unknown("svc_leasename"), env.value("svc_leasename")]).to.deep.equal([
      true,
      true,
      undefined,
    ]);
  });

  it("command and args are expanded from the container's env (kube-vip sees the result)", () => {
    const c = kv({ MODE: "--arp", ...SVC }, { args: ["manager", "$(MODE)"] });
    expect(c.mode).to.equal("arp");
    expect(kv({ ...SVC, vip_arp: "$$(X)" }).invalidBools).to.deep.equal([{ key: "vip_arp", from: "env", raw: "$(X)" }]);
    const hidden = kv(
      { ...SVC, vip_arp: "true", LEASE: { valueFrom: { fieldRef: { fieldPath: "x" } } } },
      { args: ["manager", "--servicesLeaseName=$(LEASE)"] },
    );
    expect(hidden.unverifiable).to.deep.equal(["--servicesLeaseName ($(LEASE))"]);
  });
});

describe("kubevip/image: digest-pinned images run the digest (S3, V3)", () => {
  it("repo:tag@sha256 counts as the newest; the tag is only a label", () => {
    expect(imageVersion(parseImage("ghcr.io/kube-vip/kube-vip:v0.4.4@sha256:abc"))).to.equal(undefined);
    const c = kv(
      { ...SVC, vip_arp: "true", lb_class_only: "true" },
      { image: "ghcr.io/kube-vip/kube-vip:v0.4.4@sha256:abc" },
    );
    expect([c.digestPinned, claims(c), c.oldest && claims(c.oldest)]).to.deep.equal([true, C, "ALL"]);
    expect(kv(SVC, { tag: "v1.2.3" }).oldest).to.equal(undefined);
  });
});

describe("kubevip/effective: kube-vip-cloud-provider's ConfigMap (K10)", () => {
  it("KUBEVIP_NAMESPACE/KUBEVIP_CONFIG_MAP name it, default kube-system/kubevip", () => {
    const cp = (env: Record<string, string>) =>
      cloudProviderConfig({
        image: "x/kube-vip-cloud-provider",
        env: Object.entries(env).map(([name, value]) => ({ name, value })),
      });
    expect(cp({}).configMap).to.deep.equal({ namespace: "kube-system", name: "kubevip" });
    expect(cp({ KUBEVIP_NAMESPACE: "lb", KUBEVIP_CONFIG_MAP: "pools" }).configMap).to.deep.equal({
      namespace: "lb",
      name: "pools",
    });
  });
});

describe("cluster/slim and records: every container that runs reaches the view (S3)", () => {
  it("slimPod and slimWorkload keep kube-vip init and ephemeral containers; workloadRecord reads them", () => {
    const kvc = { name: "kube-vip", image: "ghcr.io/kube-vip/kube-vip:v1.2.3", args: ["manager"], env: [] };
    const p = slimPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "kube-system" },
      spec: {
        containers: [{ name: "app", image: "nginx:1" }],
        initContainers: [{ ...kvc, name: "init", restartPolicy: "Always" }],
        ephemeralContainers: [{ ...kvc, name: "debug" }],
      },
    });
    expect(workloadRecord(p)!.kubeVip.map((c) => [c.container, c.containerKind])).to.deep.equal([
      ["init", "initContainer"],
      ["debug", "ephemeralContainer"],
    ]);
    const d = slimWorkload("DaemonSet")({
      metadata: { name: "d", namespace: "kube-system" },
      spec: { template: { spec: { containers: [{ name: "app", image: "nginx:1" }], initContainers: [kvc] } } },
    });
    expect(workloadRecord(d)!.kubeVip.map((c) => c.containerKind)).to.deep.equal(["initContainer"]);
  });
});
