/**
 * kube-vip as it is today, v0.4 → main (issue 11): table cases at the release
 * boundaries, over real-looking manifests (DaemonSet, static Pod,
 * kube-vip-cloud-provider Deployment), under both ways of handing out
 * class-less Services, asserting exact messages and rule ids; then the same
 * manifests through `lbguard check` (checkObjects), which must agree.
 *
 * Each fact cites the upstream file it was read from (kube-vip/kube-vip at
 * the tag named) and its section in docs/controllers.md.
 */
import { expect } from "chai";
import YAML from "yaml";
import { checkObjects } from "../../src/check/check.js";
import type { KubeObject } from "../../src/cluster/records.js";
import type { MemoryView } from "../../src/cluster/view.js";
import { MAX_WARNING, clipTo } from "../../src/findings/format.js";
import { BOOL_ENV, BOOL_FLAGS } from "../../src/kubevip/effective.js";
import { podKind } from "../../src/rules/workload.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { request, type ReqOpts } from "../helpers/review.js";
import { type Expected, expectJudgement } from "./expected.js";
import { INSTANCES, cloudProvider, container, ds, staticPod } from "./workload-cases.js";

const POLICIES = { mlb: policy(METALLB_NULL), kv: policy(KUBEVIP_NULL) };
type P = keyof typeof POLICIES;
const TITLE: Record<P, string> = { mlb: "MetalLB owns null", kv: "kube-vip owns null" };

const img = (tag: string) => `ghcr.io/kube-vip/kube-vip:${tag}`;
const DIGEST = "sha256:" + "0123456789abcdef".repeat(4);
/** class-isolated: only kube-vip's class, which neither policy gives another provider */
const ISO = { vip_arp: "true", svc_enable: "true", lb_class_only: "true" };
/** the common manifest: services on, class-less Services too */
const OPEN = { vip_arp: "true", svc_enable: "true" };
const SPEC_CLAIM =
  'svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"';
const CRASH =
  'which kube-vip cannot parse as a boolean: it exits at start and the pod crash-loops; use "true" or "false"';

// ---- cluster views ---------------------------------------------------------------------

const INSTANCE_OBJECTS = (YAML.parse(INSTANCES) as { items: KubeObject[] }).items;
/** An etcd-elected instance next to the Lease-elected ones of INSTANCES. */
const ETCD = ds(
  "kv-etcd",
  { ...ISO, lb_class_name: "example.com/etcd" },
  { args: ["manager", "--leaderElectionType=etcd"] },
);
/** A v1.2.1 instance (before the on-demand annotation) in namespace edge, on edge/plndr-svcs-lock. */
const OLD = ds("kv-old", { ...ISO, lb_class_name: "example.com/old" }, { ns: "edge", image: img("v1.2.1") });

/** The objects beyond CLUSTER each view holds (also what `lbguard check` reads before the case). */
const VIEW_OBJECTS = {
  plain: [] as KubeObject[],
  instances: INSTANCE_OBJECTS,
  etcd: [...INSTANCE_OBJECTS, ETCD],
  old: [...INSTANCE_OBJECTS, OLD],
};
type ViewName = keyof typeof VIEW_OBJECTS;
const view = (v: ViewName): MemoryView => viewOf(CLUSTER, ...VIEW_OBJECTS[v]);

// ---- the cases -------------------------------------------------------------------------

interface Outcome extends Expected {
  allowed: boolean;
}

interface VCase {
  what: string;
  /** upstream file and docs/controllers.md section the expectation follows */
  source: string;
  view?: ViewName;
  req: ReqOpts;
  mlb: Outcome;
  kv: Outcome;
}

const allow = (rules: string[] = [], warnings?: string[]): Outcome => ({
  allowed: true,
  rules,
  ...(warnings ? { warnings } : {}),
});
const deny = (rules: string[], denial: string, warnings?: string[]): Outcome => ({
  allowed: false,
  rules,
  denial,
  ...(warnings ? { warnings } : {}),
});
/** the same outcome under both policies */
const both = (o: Outcome) => ({ mlb: o, kv: o });

/** A DaemonSet whose kube-vip runs as an init container (native sidecar unless `plain`). */
function withInit(name: string, env: Record<string, string>, o: { args?: string[]; plain?: boolean } = {}): KubeObject {
  const d = ds(name, {}, { image: "nginx:1" }) as { spec: { template: { spec: Record<string, unknown> } } };
  const c = { ...container(env, img("v1.2.3"), o.args), ...(o.plain ? {} : { restartPolicy: "Always" }) };
  d.spec.template.spec.initContainers = [c];
  d.spec.template.spec.containers = [{ name: "app", image: "nginx:1" }];
  return d as unknown as KubeObject;
}

/** A plain Pod (with a ServiceAccount) and, optionally, ephemeral containers. */
function pod(name: string, ephemeral: unknown[] = []): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "kube-system" },
    spec: {
      serviceAccountName: "kube-vip",
      containers: [{ name: "app", image: "nginx:1" }],
      ...(ephemeral.length ? { ephemeralContainers: ephemeral } : {}),
    },
  };
}

function staticPodArgs(env: Record<string, string>, args: string[]): KubeObject {
  const p = staticPod(env) as { spec: { containers: { args: string[] }[] } };
  p.spec.containers[0].args = args;
  return p as unknown as KubeObject;
}

const CASES: VCase[] = [
  // ---- 1. modes (K4) --------------------------------------------------------------------
  {
    what: "v1.2.2 with vip_arp and bgp_enable both on exits at start",
    source: "cmd/kube-vip.go @v1.2.2 (K4)",
    req: { object: ds("kube-vip-ds", { ...OPEN, bgp_enable: "true" }, { image: img("v1.2.2") }) },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'DaemonSet kube-system/kube-vip-ds: vip_arp and bgp_enable are both on, and kube-vip v1.2.2 runs one mode only: it exits at start ("multiple kube-vip modes detected") and the pod crash-loops; keep one of vip_arp, bgp_enable',
      ),
    ),
  },
  {
    what: "v1.2.1 with both runs ARP (worker order) and takes class-less Services",
    source: "pkg/manager/worker/worker.go @v1.2.1 (K4)",
    req: { object: ds("kube-vip-ds", { ...OPEN, bgp_enable: "true" }, { image: img("v1.2.1") }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "--arp and --bgp as flags on v1.2.3",
    source: "cmd/kube-vip.go @v1.2.3 (K4)",
    req: { object: ds("kube-vip-ds", {}, { args: ["manager", "--services", "--arp", "--bgp"] }) },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'DaemonSet kube-system/kube-vip-ds: --arp and --bgp are both on, and kube-vip v1.2.3 runs one mode only: it exits at start ("multiple kube-vip modes detected") and the pod crash-loops; keep one of --arp, --bgp',
      ),
    ),
  },
  {
    what: "v1.2.2 with no mode exits at start",
    source: "cmd/kube-vip.go @v1.2.2 (K4)",
    req: { object: ds("kube-vip-ds", { svc_enable: "true" }, { image: img("v1.2.2") }) },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'DaemonSet kube-system/kube-vip-ds: no mode is on (vip_arp, bgp_enable, vip_routingtable or vip_wireguard), and kube-vip v1.2.2 exits at start without one ("no valid kube-vip mode detected"): the pod crash-loops; turn one on, e.g. vip_arp "true"',
      ),
    ),
  },
  {
    what: "v1.2.1 with no mode claims nothing",
    source: "pkg/manager/manager.go @v1.2.1 (K4)",
    req: { object: ds("kube-vip-ds", { svc_enable: "true" }, { image: img("v1.2.1") }) },
    ...both(allow()),
  },
  {
    what: "a v1.2.2 static pod with the control plane only and no mode",
    source: "cmd/kube-vip.go @v1.2.2 (K4)",
    req: { object: staticPod({ cp_enable: "true", address: "10.0.4.247" }, { image: img("v1.2.2") }) },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'Pod kube-system/kube-vip: no mode is on (vip_arp, bgp_enable, vip_routingtable or vip_wireguard), and kube-vip v1.2.2 exits at start without one ("no valid kube-vip mode detected"): the pod crash-loops; turn one on, e.g. vip_arp "true"',
      ),
    ),
  },
  {
    what: "its mirror pod: the same under mirrorPods (warn)",
    source: "cmd/kube-vip.go @v1.2.2 (K4, A5)",
    req: {
      object: staticPod({ cp_enable: "true", address: "10.0.4.247" }, { image: img("v1.2.2"), mirror: true }),
      user: "system:node:cp1",
    },
    ...both(
      allow(
        ["kube-vip.boolean"],
        [
          'static pod kube-system/kube-vip: no mode is on (vip_arp, bgp_enable, vip_routingtable or vip_wireguard), and kube-vip v1.2.2 exits at start without one ("no valid kube-vip mode detected"): the pod crash-loops; turn one on, e.g. vip_arp "true"; fix its man…',
        ],
      ),
    ),
  },
  {
    what: "v0.4.4 without a mode no longer counts as taking every Service",
    source: "pkg/manager/manager.go @v0.4.4 (K2, K4)",
    req: { object: ds("kube-vip-ds", { svc_enable: "true" }, { image: "plndr/kube-vip:v0.4.4" }) },
    ...both(allow()),
  },
  {
    what: "v0.4.4 in ARP mode takes every LoadBalancer Service",
    source: "pkg/manager/watcher.go @v0.4.4 (K2)",
    req: { object: ds("kube-vip-ds", OPEN, { image: "plndr/kube-vip:v0.4.4" }) },
    ...both(
      deny(
        ["kube-vip.claims"],
        'DaemonSet kube-system/kube-vip-ds: image plndr/kube-vip:v0.4.4 (kube-vip v0.4.4, older than v0.5.0) takes every LoadBalancer Service, including MetalLB\'s; upgrade to v0.5.5 or later with lb_class_only "true", or set svc_enable "false"',
      ),
    ),
  },
  {
    what: "v0.5.0 in ARP mode: a class check, still class-less Services",
    source: "pkg/manager/watch_services.go @v0.5.0 (K2)",
    req: { object: ds("kube-vip-ds", OPEN, { image: "plndr/kube-vip:v0.5.0" }) },
    mlb: deny(
      ["kube-vip.claims"],
      'DaemonSet kube-system/kube-vip-ds: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; upgrade kube-vip to v0.5.5 or later and set lb_class_only "true", or set svc_enable "false"',
    ),
    kv: allow(),
  },
  {
    what: "v1.0.4 with ARP and BGP runs BGP: no lease, against kv-arp's lease",
    source: "pkg/manager/manager.go @v1.0.4 (K4, K5)",
    view: "instances",
    req: {
      object: ds("kv-new", { ...ISO, bgp_enable: "true", lb_class_name: "example.com/arp" }, { image: img("v1.0.4") }),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        'DaemonSet kube-system/kv-new and DaemonSet kube-system/kv-arp both take Services of class "example.com/arp" via no lease vs lease kube-system/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
      ),
    ),
  },
  {
    what: "v0.9.2 with ARP and BGP runs BGP too",
    source: "pkg/manager/manager.go @v0.9.2 (K4)",
    view: "instances",
    req: {
      object: ds("kv-new", { ...ISO, bgp_enable: "true", lb_class_name: "example.com/arp" }, { image: img("v0.9.2") }),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        'DaemonSet kube-system/kv-new and DaemonSet kube-system/kv-arp both take Services of class "example.com/arp" via no lease vs lease kube-system/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
      ),
    ),
  },
  {
    what: "v1.1.0 with ARP and BGP runs ARP: kv-arp's lease, no clash",
    source: "pkg/manager/worker/worker.go @v1.1.0 (K4)",
    view: "instances",
    req: {
      object: ds("kv-new", { ...ISO, bgp_enable: "true", lb_class_name: "example.com/arp" }, { image: img("v1.1.0") }),
    },
    ...both(allow()),
  },

  // ---- 2. WireGuard (K5) ----------------------------------------------------------------
  {
    what: "v1.1.0 WireGuard without svc_election takes nothing",
    source: "pkg/manager/worker/wireguard.go @v1.1.0 (K5)",
    req: { object: ds("kube-vip-ds", { vip_wireguard: "true", svc_enable: "true" }, { image: img("v1.1.0") }) },
    ...both(allow()),
  },
  {
    what: "v1.1.0 WireGuard with svc_election takes Services per Service",
    source: "pkg/manager/worker/wireguard.go @v1.1.0 (K5)",
    req: {
      object: ds(
        "kube-vip-ds",
        { vip_wireguard: "true", svc_enable: "true", svc_election: "true" },
        { image: img("v1.1.0") },
      ),
    },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "v1.0.4 WireGuard has no Service watcher, even with svc_election",
    source: "pkg/manager/manager_wireguard.go @v1.0.4 (K5)",
    req: {
      object: ds(
        "kube-vip-ds",
        { vip_wireguard: "true", svc_enable: "true", svc_election: "true" },
        { image: img("v1.0.4") },
      ),
    },
    ...both(allow()),
  },
  {
    what: "v1.0.3 WireGuard takes Services on plndr-svcs-lock",
    source: "pkg/manager/manager_wireguard.go @v1.0.3 (K5)",
    req: { object: ds("kube-vip-ds", { vip_wireguard: "true", svc_enable: "true" }, { image: img("v1.0.3") }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "v1.2.3 WireGuard with the control plane: the control-plane lease holder takes Services",
    source: "pkg/manager/worker/wireguard.go @v1.2.3 OnStartedLeading (K5)",
    req: {
      object: ds("kube-vip-ds", {
        vip_wireguard: "true",
        svc_enable: "true",
        cp_enable: "true",
        address: "10.0.4.247",
      }),
    },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "v1.0.3 WireGuard ignores svc_leasename: it shares kv-arp's plndr-svcs-lock",
    source: "pkg/manager/manager_wireguard.go @v1.0.3 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-new",
        {
          vip_wireguard: "true",
          svc_enable: "true",
          lb_class_only: "true",
          lb_class_name: "example.com/wg",
          svc_leasename: "mine",
        },
        { image: img("v1.0.3") },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        "DaemonSet kube-system/kv-new shares the services lease kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-arp but takes other Services: only the lease holder serves, so one of them never does; kube-vip v1.0.3 ignores svc_leasename in WireGuard mode: upgrade to v1.1.0 or later",
      ),
    ),
  },

  // ---- 3. lease names (K5) --------------------------------------------------------------
  {
    what: "ARP v0.6.2 ignores svc_leasename: it shares kv-arp's plndr-svcs-lock",
    source: "pkg/manager/manager_arp.go @v0.6.2 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/other", svc_leasename: "mine" },
        { image: "plndr/kube-vip:v0.6.2" },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        "DaemonSet kube-system/kv-new shares the services lease kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-arp but takes other Services: only the lease holder serves, so one of them never does; kube-vip v0.6.2 ignores svc_leasename in ARP mode: upgrade to v0.6.3 or later",
      ),
    ),
  },
  {
    what: "ARP v0.6.3 honours svc_leasename",
    source: "pkg/manager/manager_arp.go @v0.6.3 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/other", svc_leasename: "mine" },
        { image: "plndr/kube-vip:v0.6.3" },
      ),
    },
    ...both(allow()),
  },
  {
    what: "table mode v1.0.4 ignores svc_leasename",
    source: "pkg/manager/manager_table.go @v1.0.4 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-new",
        {
          vip_routingtable: "true",
          vip_leaderelection: "true",
          svc_enable: "true",
          lb_class_only: "true",
          lb_class_name: "example.com/other",
          svc_leasename: "mine",
        },
        { image: img("v1.0.4") },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        "DaemonSet kube-system/kv-new shares the services lease kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-arp but takes other Services: only the lease holder serves, so one of them never does; kube-vip v1.0.4 ignores svc_leasename in table mode: upgrade to v1.1.0 or later",
      ),
    ),
  },
  {
    what: "table mode v1.1.0 honours svc_leasename",
    source: "pkg/manager/worker/table.go @v1.1.0 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-new",
        {
          vip_routingtable: "true",
          vip_leaderelection: "true",
          svc_enable: "true",
          lb_class_only: "true",
          lb_class_name: "example.com/other",
          svc_leasename: "mine",
        },
        { image: img("v1.1.0") },
      ),
    },
    ...both(allow()),
  },
  {
    what: "ns/a/b names lease a in namespace ns (v1.1.0+): from another namespace it joins kv-arp's",
    source: "pkg/lease/lease.go NamespaceName @v1.2.3 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-tenant",
        { ...ISO, lb_class_name: "example.com/other", svc_leasename: "kube-system/plndr-svcs-lock/x" },
        { ns: "tenant" },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        "DaemonSet tenant/kv-tenant shares the services lease kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-arp but takes other Services: only the lease holder serves, so one of them never does; set svc_leasename to a lease of its own",
      ),
    ),
  },
  {
    what: "v1.0.4 does not split the name: its own lease in namespace tenant",
    source: "pkg/manager/manager_arp.go @v1.0.4 (K5)",
    view: "instances",
    req: {
      object: ds(
        "kv-tenant",
        { ...ISO, lb_class_name: "example.com/other", svc_leasename: "kube-system/plndr-svcs-lock/x" },
        { ns: "tenant", image: img("v1.0.4") },
      ),
    },
    ...both(allow()),
  },

  // ---- 4. --leaderElectionType (K5) -----------------------------------------------------
  {
    what: "an etcd-elected instance and a Lease-elected one never coordinate",
    source: "pkg/lease/lease.go NewID, pkg/election/election.go @v1.2.3 (K5)",
    view: "etcd",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/arp", svc_leasename: "etcd-arp" },
        { args: ["manager", "--leaderElectionType=etcd"] },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        'DaemonSet kube-system/kv-new and DaemonSet kube-system/kv-arp both take Services of class "example.com/arp" via etcd election kube-system/etcd-arp vs lease kube-system/plndr-svcs-lock, so both announce the same VIPs; use one --leaderElectionType and one svc_leasename, or separate classes',
      ),
    ),
  },
  {
    what: "two etcd-elected instances with one lease name share one election",
    source: "pkg/lease/lease.go NewID @v1.2.3 (K5)",
    view: "etcd",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/etcd" },
        { args: ["manager", "--leaderElectionType=etcd"] },
      ),
    },
    ...both(allow()),
  },
  {
    what: "…so with other classes only the etcd election's holder serves",
    source: "pkg/manager/worker/common.go runGlobalElection @v1.2.3 (K5)",
    view: "etcd",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/other" },
        { args: ["manager", "--leaderElectionType", "etcd"] },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        "DaemonSet kube-system/kv-new shares the services etcd election kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-etcd but takes other Services: only the lease holder serves, so one of them never does; set svc_leasename to a lease of its own",
      ),
    ),
  },
  {
    what: "v1.0.4 with etcd still elects Services on Lease objects: kv-arp's lease",
    source: "pkg/manager/manager_arp.go @v1.0.4 (LeaseLock) (K5)",
    view: "etcd",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/arp" },
        { image: img("v1.0.4"), args: ["manager", "--leaderElectionType=etcd"] },
      ),
    },
    ...both(allow()),
  },
  {
    what: "--leaderElectionType=raft exits on v1.1.0",
    source: "pkg/election/election.go @v1.1.0 (K5)",
    req: { object: ds("kube-vip-ds", ISO, { image: img("v1.1.0"), args: ["manager", "--leaderElectionType=raft"] }) },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'DaemonSet kube-system/kube-vip-ds: --leaderElectionType=raft, which kube-vip knows only as "kubernetes" or "etcd": it exits at start and the pod crash-loops; use --leaderElectionType=kubernetes (or etcd)',
      ),
    ),
  },
  {
    what: "…but not on v1.0.4 without the control plane",
    source: "pkg/manager/cluster.go initClusterManager @v1.0.4 (K5)",
    req: { object: ds("kube-vip-ds", ISO, { image: img("v1.0.4"), args: ["manager", "--leaderElectionType=raft"] }) },
    ...both(allow()),
  },
  {
    what: "…and on v1.0.4 with it",
    source: "pkg/manager/manager_arp.go @v1.0.4 (K5)",
    req: {
      object: ds(
        "kube-vip-ds",
        { ...ISO, cp_enable: "true", address: "10.0.4.247" },
        { image: img("v1.0.4"), args: ["manager", "--leaderElectionType=raft"] },
      ),
    },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'DaemonSet kube-system/kube-vip-ds: --leaderElectionType=raft, which kube-vip knows only as "kubernetes" or "etcd": it exits at start and the pod crash-loops; use --leaderElectionType=kubernetes (or etcd)',
      ),
    ),
  },

  // ---- 5. control-plane VIP precedence (K6) ---------------------------------------------
  {
    what: "a flag --address beats an env vip_address",
    source: "pkg/cluster/cluster.go @v1.2.3 (K6)",
    req: {
      object: ds(
        "kube-vip-ds",
        { vip_arp: "true", cp_enable: "true", vip_address: "10.0.4.247" },
        { args: ["manager", "--address=10.0.5.10"] },
      ),
    },
    ...both(
      deny(
        ["kube-vip.vip-in-pool"],
        "DaemonSet kube-system/kube-vip-ds: control-plane VIP 10.0.5.10 (--address) is inside IPAddressPool metallb-system/default (10.0.5.0/24); MetalLB could give it to a Service; move the VIP or the pool",
      ),
    ),
  },
  {
    what: "an env address beats a flag --address",
    source: "pkg/kubevip/config_environment.go, pkg/cluster/cluster.go @v1.2.3 (K1, K6)",
    req: {
      object: ds(
        "kube-vip-ds",
        { vip_arp: "true", cp_enable: "true", address: "10.0.4.247" },
        { args: ["manager", "--address=10.0.5.10"] },
      ),
    },
    ...both(allow()),
  },
  {
    what: "an env vip_address beats a flag --vip",
    source: "pkg/kubevip/config_environment.go @v1.2.3 (K1, K6)",
    req: {
      object: ds(
        "kube-vip-ds",
        { vip_arp: "true", cp_enable: "true", vip_address: "10.0.4.247" },
        { args: ["manager", "--vip", "10.0.5.10"] },
      ),
    },
    ...both(allow()),
  },
  {
    what: "a static pod's --address from flags",
    source: "pkg/cluster/cluster.go @v1.2.3 (K6)",
    req: {
      object: staticPodArgs({ vip_arp: "true", cp_enable: "true" }, ["manager", "--address", "fd00:10:5::1"]),
    },
    ...both(
      deny(
        ["kube-vip.vip-in-pool"],
        "Pod kube-system/kube-vip: control-plane VIP fd00:10:5::1 (--address) is inside IPAddressPool metallb-system/default (fd00:10:5::/120); MetalLB could give it to a Service; move the VIP or the pool",
      ),
    ),
  },

  // ---- 6. booleans by release (K3) ------------------------------------------------------
  {
    what: "vip_skipdad is read from v1.2.3: ignored by v1.2.2",
    source: "pkg/kubevip/config_environment.go @v1.2.2 (K3)",
    req: { object: ds("kube-vip-ds", { ...ISO, vip_skipdad: "yes" }, { image: img("v1.2.2") }) },
    ...both(allow()),
  },
  {
    what: "vip_skipdad on v1.2.3",
    source: "pkg/kubevip/config_environment.go @v1.2.3 (K3)",
    req: { object: ds("kube-vip-ds", { ...ISO, vip_skipdad: "yes" }, { image: img("v1.2.3") }) },
    ...both(deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: vip_skipdad is "yes", ${CRASH}`)),
  },
  {
    what: "vip_allow_interface_not_up is read from v1.2.2: ignored by v1.2.1",
    source: "pkg/kubevip/config_environment.go @v1.2.1 (K3)",
    req: { object: ds("kube-vip-ds", { ...ISO, vip_allow_interface_not_up: "on" }, { image: img("v1.2.1") }) },
    ...both(allow()),
  },
  {
    what: "vip_allow_interface_not_up on v1.2.2",
    source: "pkg/kubevip/config_environment.go @v1.2.2 (K3)",
    req: { object: ds("kube-vip-ds", { ...ISO, vip_allow_interface_not_up: "on" }, { image: img("v1.2.2") }) },
    ...both(
      deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: vip_allow_interface_not_up is "on", ${CRASH}`),
    ),
  },
  {
    what: "--perServiceElectionOnDemand on v1.2.1: a flag it does not have",
    source: "cmd/kube-vip.go @v1.2.1 (K3, K8)",
    req: {
      object: ds("kube-vip-ds", ISO, { image: img("v1.2.1"), args: ["manager", "--perServiceElectionOnDemand=yes"] }),
    },
    ...both(
      deny(
        ["kube-vip.boolean"],
        'DaemonSet kube-system/kube-vip-ds: --perServiceElectionOnDemand, which kube-vip v1.2.1 does not have (it is new in v1.2.2): it exits at start ("unknown flag") and the pod crash-loops; remove --perServiceElectionOnDemand, or upgrade kube-vip to v1.2.2 or later',
      ),
    ),
  },
  {
    what: "--perServiceElectionOnDemand=yes on v1.2.2",
    source: "cmd/kube-vip.go @v1.2.2 (K3)",
    req: {
      object: ds("kube-vip-ds", ISO, { image: img("v1.2.2"), args: ["manager", "--perServiceElectionOnDemand=yes"] }),
    },
    ...both(
      deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: --perServiceElectionOnDemand=yes, ${CRASH}`),
    ),
  },
  {
    what: "a static pod with EGRESS_CLEAN (read upper case too)",
    source: "pkg/kubevip/config_environment.go @v1.2.3 (K1, K3)",
    req: { object: staticPod({ ...ISO, EGRESS_CLEAN: "enabled" }) },
    ...both(deny(["kube-vip.boolean"], `Pod kube-system/kube-vip: egress_clean is "enabled", ${CRASH}`)),
  },

  // ---- 7. subcommands (K8) --------------------------------------------------------------
  {
    what: "kube-vip manifest daemonset in a DaemonSet takes nothing and is not judged",
    source: "cmd/kube-vip-manifests.go @v1.2.3 (K8)",
    req: { object: ds("kube-vip-gen", { svc_enable: "yes" }, { args: ["manifest", "daemonset", "--services"] }) },
    ...both(allow()),
  },
  {
    what: "kube-vip manifest pod in a Pod",
    source: "cmd/kube-vip-manifests.go @v1.2.3 (K8)",
    req: { object: staticPodArgs({ ...OPEN, cp_enable: "true", address: "10.0.5.10" }, ["manifest", "pod"]) },
    ...both(allow()),
  },
  {
    what: "the service subcommand serves like manager",
    source: "cmd/kube-vip.go @v1.2.3 kubeVipService (K8)",
    req: { object: ds("kube-vip-ds", OPEN, { args: ["service"] }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },

  // ---- 8. per-Service election on demand (K5) -------------------------------------------
  {
    what: "on demand next to a v1.2.1 instance on the same lease: both take annotated Services",
    source: "pkg/services/processor.go AddOrModify @v1.2.2 vs @v1.2.1 (K5)",
    view: "old",
    req: {
      object: ds(
        "kv-new",
        { ...ISO, lb_class_name: "example.com/old", per_service_election_on_demand: "true" },
        { ns: "edge" },
      ),
    },
    ...both(
      deny(
        ["kube-vip.lease-clash"],
        'DaemonSet edge/kv-new and DaemonSet edge/kv-old both take forcePerServiceElection Services of class "example.com/old" via per-Service leases vs lease edge/plndr-svcs-lock, so both announce the same VIPs; upgrade the older one to v1.2.2 or later, or separate classes',
      ),
    ),
  },
  {
    what: "without on demand, v1.2.3 skips annotated Services: no clash with the v1.2.1 one",
    source: "pkg/services/processor.go AddOrModify @v1.2.3 (K5)",
    view: "old",
    req: { object: ds("kv-new", { ...ISO, lb_class_name: "example.com/old" }, { ns: "edge" }) },
    ...both(allow()),
  },
  {
    what: "on demand next to a v1.2.3 instance without it: clash-free for annotated Services",
    source: "pkg/manager/worker/common.go GlobalLeader @v1.2.3 (K5)",
    view: "instances",
    req: { object: ds("kv-new", { ...ISO, lb_class_name: "example.com/arp", per_service_election_on_demand: "true" }) },
    ...both(allow()),
  },
  {
    what: "svc_election with on demand never takes annotated Services",
    source: "pkg/manager/worker/arp.go StartServices @v1.2.3 (K5)",
    view: "instances",
    req: {
      object: ds("kv-new", {
        ...ISO,
        svc_election: "true",
        lb_class_name: "example.com/elect",
        per_service_election_on_demand: "true",
      }),
    },
    ...both(allow()),
  },

  // ---- 9. what runs (S3) ----------------------------------------------------------------
  {
    what: "a native sidecar (init container, restartPolicy Always)",
    source: "k8s.io/api core/v1/types.go (S3)",
    req: { object: withInit("kv-init", OPEN) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kv-init (init container kube-vip): ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "a plain init container running manager",
    source: "k8s.io/api core/v1/types.go (S3)",
    req: { object: withInit("kv-init", OPEN, { plain: true }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kv-init (init container kube-vip): ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "an init container running kube-vip manifest",
    source: "cmd/kube-vip-manifests.go (K8, S3)",
    req: { object: withInit("kv-init", OPEN, { plain: true, args: ["manifest", "pod"] }) },
    ...both(allow()),
  },
  {
    what: "a Pod UPDATE adding a kube-vip ephemeral container",
    source: "kubernetes pkg/registry/core/pod/storage/storage.go (S3)",
    req: {
      operation: "UPDATE",
      oldObject: pod("debug"),
      object: pod("debug", [{ ...container(OPEN), name: "kube-vip" }]),
    },
    mlb: deny(["kube-vip.claims"], `Pod kube-system/debug (ephemeral container kube-vip): ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "an UPDATE of the init container's env only is re-checked",
    source: "src/rules/workload.ts podSpecFields (S3)",
    req: { operation: "UPDATE", oldObject: withInit("kv-init", ISO), object: withInit("kv-init", OPEN) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kv-init (init container kube-vip): ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "$(VAR) in env values, from earlier entries",
    source: "kubernetes third_party/forked/golang/expansion/expand.go (S3)",
    req: { object: ds("kube-vip-ds", { ON: "true", vip_arp: "$(ON)", svc_enable: "$(ON)" }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "$(VAR) in args",
    source: "kubernetes third_party/forked/golang/expansion/expand.go (S3)",
    req: { object: ds("kube-vip-ds", { MODE: "--arp", svc_enable: "true" }, { args: ["manager", "$(MODE)"] }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(),
  },
  {
    what: "$$ escapes: kube-vip sees $(ON)",
    source: "kubernetes third_party/forked/golang/expansion/expand.go (S3)",
    req: { object: ds("kube-vip-ds", { ON: "true", vip_arp: "true", svc_enable: "$$(ON)" }) },
    ...both(deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: svc_enable is "$(ON)", ${CRASH}`)),
  },
  {
    what: "an undefined name stays as written",
    source: "kubernetes third_party/forked/golang/expansion/expand.go (S3)",
    req: { object: ds("kube-vip-ds", { vip_arp: "true", svc_enable: "$(LATER)", LATER: "true" }) },
    ...both(deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: svc_enable is "$(LATER)", ${CRASH}`)),
  },
  {
    what: "a reference to a valueFrom variable cannot be read",
    source: "kubernetes pkg/kubelet/kubelet_pods.go makeEnvironmentVariables (K1, S3)",
    req: {
      object: ds("kube-vip-ds", {
        ...ISO,
        NS: { valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        svc_leasename: "$(NS)-lock",
      }),
    },
    ...both(
      allow(
        ["kube-vip.unverifiable"],
        [
          "DaemonSet kube-system/kube-vip-ds: svc_leasename (valueFrom) cannot be read by lbguard; which Services this kube-vip takes is not verified",
        ],
      ),
    ),
  },
  {
    what: "a digest-pinned image with class isolation: judged as the newest, warned for the oldest",
    source: "kubernetes pkg/kubelet/images/image_manager.go (S3, V3)",
    req: { object: ds("kube-vip-ds", ISO, { image: `${img("v1.2.3")}@${DIGEST}` }) },
    mlb: allow(
      ["kube-vip.unverifiable"],
      [
        "DaemonSet kube-system/kube-vip-ds: image ghcr.io/kube-vip/kube-vip@sha256:0123456789ab… is pinned by digest (judged as the newest kube-vip); v0.4.4 or older would take every LoadBalancer Service, MetalLB's too; make sure the digest is v0.5.5 or later",
      ],
    ),
    kv: allow(
      ["kube-vip.unverifiable"],
      [
        "DaemonSet kube-system/kube-vip-ds: image ghcr.io/kube-vip/kube-vip@sha256:0123456789ab… is pinned by digest (judged as the newest kube-vip); v0.4.4 or older would take every LoadBalancer Service, MetalLB's too; make sure the digest is v0.5.5 or later",
      ],
    ),
  },
  {
    what: "a digest-pinned image tagged v0.4.4 runs its digest: the newest",
    source: "kubernetes pkg/kubelet/images/image_manager.go (S3, V3)",
    req: { object: ds("kube-vip-ds", OPEN, { image: `plndr/kube-vip:v0.4.4@${DIGEST}` }) },
    mlb: deny(["kube-vip.claims"], `DaemonSet kube-system/kube-vip-ds: ${SPEC_CLAIM}`),
    kv: allow(
      ["kube-vip.unverifiable"],
      [
        "DaemonSet kube-system/kube-vip-ds: image plndr/kube-vip@sha256:0123456789ab… is pinned by digest (judged as the newest kube-vip); v0.4.4 or older would take every LoadBalancer Service, MetalLB's too; make sure the digest is v0.5.5 or later",
      ],
    ),
  },
  {
    what: "a digest-pinned image with services off: nothing to warn about",
    source: "kubernetes pkg/kubelet/images/image_manager.go (S3, V3)",
    req: {
      object: ds(
        "kube-vip-ds",
        { vip_arp: "true", cp_enable: "true", address: "10.0.4.247" },
        { image: `${img("v1.2.3")}@${DIGEST}` },
      ),
    },
    ...both(allow()),
  },
  {
    what: "a cloud provider reading another ConfigMap than the policy's",
    source: "kube-vip/kube-vip-cloud-provider pkg/provider/provider.go (K10)",
    req: { object: cloudProvider({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "true", KUBEVIP_CONFIG_MAP: "lb-pools" }) },
    ...both(
      allow(
        ["kube-vip.unverifiable"],
        [
          "Deployment kube-system/kube-vip-cloud-provider: reads ConfigMap kube-system/lb-pools (KUBEVIP_CONFIG_MAP), not the policy's kube-system/kubevip: its ranges go unchecked; set providers.kube-vip.configMap to kube-system/lb-pools",
        ],
      ),
    ),
  },
  {
    what: "a cloud provider naming the policy's ConfigMap",
    source: "kube-vip/kube-vip-cloud-provider pkg/provider/provider.go (K10)",
    req: {
      object: cloudProvider({
        KUBEVIP_ENABLE_LOADBALANCERCLASS: "true",
        KUBEVIP_NAMESPACE: "kube-system",
        KUBEVIP_CONFIG_MAP: "kubevip",
      }),
    },
    ...both(allow()),
  },
  {
    what: "the default cloud provider in another namespace",
    source: "kube-vip/kube-vip-cloud-provider pkg/provider/provider.go (K10)",
    req: { object: cloudProvider({ KUBEVIP_NAMESPACE: "lb" }) },
    mlb: deny(
      ["kube-vip.cloud-provider", "kube-vip.unverifiable"],
      'Deployment kube-system/kube-vip-cloud-provider: kube-vip-cloud-provider allocates addresses for Services without a class, which MetalLB owns; set env KUBEVIP_ENABLE_LOADBALANCERCLASS "true"',
      [
        "Deployment kube-system/kube-vip-cloud-provider: reads ConfigMap lb/kubevip (KUBEVIP_NAMESPACE), not the policy's kube-system/kubevip: its ranges go unchecked; set providers.kube-vip.configMap to lb/kubevip",
      ],
    ),
    kv: allow(
      ["kube-vip.unverifiable"],
      [
        "Deployment kube-system/kube-vip-cloud-provider: reads ConfigMap lb/kubevip (KUBEVIP_NAMESPACE), not the policy's kube-system/kubevip: its ranges go unchecked; set providers.kube-vip.configMap to lb/kubevip",
      ],
    ),
  },
];

// ---- every boolean kube-vip parses, from the one table (K3) -----------------------------

/** The boolean env variables of `main`, each "yes" in an otherwise fine DaemonSet. */
const ENV_CASES: VCase[] = BOOL_ENV.map((name) => ({
  what: `env ${name} "yes"`,
  source: "pkg/kubevip/config_environment.go @v1.2.3 (K3)",
  req: { object: ds("kube-vip-ds", { ...ISO, [name]: "yes" }) },
  ...both(deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: ${name} is "yes", ${CRASH}`)),
}));

/** The boolean flags of `main`, each `--flag=yes`. */
const FLAG_CASES: VCase[] = BOOL_FLAGS.map((flag) => ({
  what: `--${flag}=yes`,
  source: "cmd/kube-vip.go @v1.2.3, spf13/pflag bool.go (K3)",
  req: { object: ds("kube-vip-ds", ISO, { args: ["manager", `--${flag}=yes`] }) },
  ...both(deny(["kube-vip.boolean"], `DaemonSet kube-system/kube-vip-ds: --${flag}=yes, ${CRASH}`)),
}));

const ALL = [...CASES, ...ENV_CASES, ...FLAG_CASES];

describe("rules/workload: kube-vip at its release boundaries, v0.4 → main (issue 11)", () => {
  for (const c of ALL)
    for (const p of ["mlb", "kv"] as const) {
      const want = c[p];
      it(`${want.allowed ? "allows" : "denies"} ${c.what} [${TITLE[p]}] (${c.source})`, () => {
        const j = judge(POLICIES[p], view(c.view ?? "plain"), c.req);
        expectJudgement(j, want);
        if (j.message) expect(j.message.length).to.be.at.most(320);
      });
    }

  it("a pods/ephemeralcontainers UPDATE: the workload rule reads spec.ephemeralContainers", () => {
    const req = request({
      operation: "UPDATE",
      subResource: "ephemeralcontainers",
      oldObject: pod("debug"),
      object: pod("debug", [{ ...container(OPEN), name: "kube-vip" }]),
    });
    const found = podKind.checks[0].validate!({
      req,
      view: view("plain"),
      policy: POLICIES.mlb,
      stateReady: true,
      needState: () => undefined,
    });
    expect(found.map((f) => [f.rule, f.subject.title, f.problem])).to.deep.equal([
      [
        "kube-vip.claims",
        "Pod kube-system/debug (ephemeral container kube-vip)",
        'svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns',
      ],
    ]);
  });
});

describe("lbguard check agrees on the same manifests", () => {
  for (const c of ALL.filter((x) => (x.req.operation ?? "CREATE") === "CREATE"))
    for (const p of ["mlb", "kv"] as const) {
      const want = c[p];
      it(`${c.what} [${TITLE[p]}]: ${want.allowed ? "admitted" : "denied"}`, () => {
        const objects = [...VIEW_OBJECTS[c.view ?? "plain"], c.req.object!].map((object, index) => ({
          file: "case.yaml",
          index,
          object,
        }));
        const run = checkObjects(objects, POLICIES[p], viewOf(CLUSTER), "default");
        // the instances before it are admitted, so it meets them as the webhook would
        expect(run.reports.slice(0, -1).filter((r) => r.denied)).to.deep.equal([]);
        const r = run.reports[run.reports.length - 1];
        expect(r.denied, r.denial).to.equal(!want.allowed);
        if (!want.allowed) expect(r.denial).to.equal(want.denial);
        if (want.allowed) expect(r.warnings.map((w) => clipTo(w, MAX_WARNING))).to.deep.equal(want.warnings ?? []);
      });
    }
});
