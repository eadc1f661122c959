/**
 * The effective configuration of one kube-vip container, read the way
 * kube-vip reads it (docs/controllers.md K1–K8, V1–V3): exact lowercase env
 * names; a non-empty env var beats a flag; an empty value is unset; booleans
 * by Go's strconv.ParseBool; the six service-class options read from env only
 * when the `svc_enable` env var is non-empty; every setting only in the
 * releases that read it (src/kubevip/settings.ts); `$(VAR)` expanded as the
 * kubelet does (src/kubevip/expand.ts).
 *
 * From it: whether the container serves at all (subcommand, crash-loops),
 * which Services it takes (its class claims, its mode, its election), and how
 * it coordinates with other instances.
 *
 * Pure: no I/O. Everything the rules need about an instance is derived here
 * once, when the workload enters the cluster view or is admitted.
 */
import { IP, parseIP } from "../addr/ip.js";
import { ResolvedEnv, expand, resolveEnv } from "./expand.js";
import { ImageRef, Version, formatVersion, imageVersion, parseImage, versionBefore } from "./image.js";
import {
  ANY_BOOL_FLAG,
  SVC_GATED,
  SettingSpec,
  envRead,
  flagKnown,
  settingByEnv,
  settingByFlag,
  settingByShort,
} from "./settings.js";

export { BOOL_ENV, BOOL_FLAGS, SETTINGS, SVC_GATED } from "./settings.js";
export type { EnvVar } from "./expand.js";

export interface ContainerSpec {
  name?: unknown;
  image?: unknown;
  command?: unknown;
  args?: unknown;
  env?: unknown;
  envFrom?: unknown;
}

export interface PodContext {
  /** namespace of the pod (or workload) */
  namespace: string;
  /** whether a ServiceAccount token is mounted (false for static pods and automountServiceAccountToken: false) */
  tokenMounted: boolean;
}

/** Where in the pod spec a container is (docs/controllers.md S3: all of them run). */
export type ContainerKind = "container" | "initContainer" | "ephemeralContainer";

/** Where a value came from, so messages can name what to change. */
export interface Source {
  from: "env" | "flag" | "default";
  /** env var or flag name */
  key: string;
  raw?: string;
}

export interface Setting<T> extends Source {
  value: T;
}

/** A control-plane VIP as written, and the address it is when it is one. */
export interface VIPSetting extends Setting<string> {
  ip?: IP;
}

export const DEFAULT_CLASS = "kube-vip.io/kube-vip-class";
export const DEFAULT_SVC_LEASE = "plndr-svcs-lock";
export const DEFAULT_CP_LEASE = "plndr-cp-lock";
/** Services annotated so (exactly "true") are elected per Service on demand (v1.2.2+, docs/controllers.md K5). */
export const FORCE_PER_SERVICE = "kube-vip.io/forcePerServiceElection";
export const IGNORE_ANNOTATION = "kube-vip.io/ignore";

/** Set of loadBalancerClass values claimed; `null` stands for "no class". */
export type Claims = { all: true } | { all: false; classes: Set<string | null> };

export type Mode = "arp" | "bgp" | "table" | "wireguard";

/** Where the elections run: Kubernetes Leases, or etcd keys (`--leaderElectionType=etcd`). */
export type Backend = "kubernetes" | "etcd";

export type Coordination =
  | { kind: "lease"; namespace: string; name: string; backend: Backend }
  | { kind: "per-service"; backend: Backend }
  | { kind: "none" };

/** What an instance takes from one population of Services, and how its pods agree who serves. */
export interface Serving {
  claims: Claims;
  coordination: Coordination;
}

export interface InvalidBool {
  key: string;
  from: "env" | "flag";
  raw: string;
}

/** Why the manager exits at start although every boolean parses (the pod crash-loops; it takes nothing). */
export type Exit =
  /** v1.2.2+: more than one mode on ("multiple kube-vip modes detected") */
  | { reason: "modes"; keys: string[] }
  /** v1.2.2+: no mode on ("no valid kube-vip mode detected") */
  | { reason: "no-mode" }
  /** a --leaderElectionType other than kubernetes or etcd */
  | { reason: "leader-election-type"; raw: string }
  /** a flag this release does not have: cobra's "unknown flag" */
  | { reason: "unknown-flag"; key: string; since?: Version; until?: Version };

export interface KubeVipConfig {
  container: string;
  containerKind: ContainerKind;
  image: ImageRef;
  /** the version the image runs; undefined: the newest (untagged, latest, a digest, a tag naming no version) */
  version: Version | undefined;
  /** pinned by digest: the tag is only a label, the version is unknown (judged as the newest) */
  digestPinned: boolean;
  /** the first positional argument (`manager`, `service`, `manifest`, …) */
  subcommand: string | undefined;
  /** `manager` or `service`: the subcommands that serve (docs/controllers.md K8) */
  serves: boolean;
  services: Setting<boolean>;
  controlPlane: Setting<boolean>;
  /** the mode that runs ("none": no mode on, or several from v1.2.2) */
  mode: Mode | "none";
  /** the mode switches that are on */
  modes: Setting<boolean>[];
  svcElection: Setting<boolean>;
  lbClassOnly: Setting<boolean>;
  lbClassName: Setting<string>;
  lbClassLegacy: Setting<boolean>;
  leaderElection: Setting<boolean>;
  perServiceOnDemand: Setting<boolean>;
  leaderElectionType: Setting<string>;
  /** namespace whose Services the instance watches; undefined = all */
  svcNamespace: string | undefined;
  /** how it serves the Services it takes (every Service, or those without the on-demand annotation from v1.2.2) */
  coordination: Coordination;
  claims: Claims;
  /**
   * Services annotated kube-vip.io/forcePerServiceElection "true": from v1.2.2
   * normal watchers skip them, only on-demand per-Service elections take them;
   * earlier releases treat them like any Service.
   */
  forced: Serving & { honoured: boolean };
  /** control-plane VIP values as written (IPs, DNS names) when the control plane is on */
  controlPlaneVIPs: VIPSetting[];
  invalidBools: InvalidBool[];
  exits: Exit[];
  /** settings lbguard cannot see (valueFrom, envFrom, config file) that could change a value the rules read */
  unverifiable: string[];
  /** service env vars present but ignored because `svc_enable` env is unset */
  ignoredEnv: string[];
  /** for a digest-pinned image: the same container as the oldest behaviour (kube-vip v0.4.4) reads it */
  oldest?: KubeVipConfig;
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function goParseBool(s: string): boolean | undefined {
  if (GO_TRUE.has(s)) return true;
  if (GO_FALSE.has(s)) return false;
  return undefined;
}

/** Env vars whose value the ownership rules read: unverifiable ones warn. */
export const RELEVANT_ENV = new Set([
  ...SVC_GATED,
  "svc_enable",
  "cp_enable",
  "cp_namespace",
  "address",
  "vip_address",
  "vip_arp",
  "bgp_enable",
  "vip_routingtable",
  "vip_wireguard",
  "vip_leaderelection",
  "vip_leasename",
  "per_service_election_on_demand",
]);

/** Flags whose value the ownership rules read (an argument lbguard cannot expand warns only for these). */
const RELEVANT_FLAGS = new Set([
  "services",
  "servicesElection",
  "lbClassOnly",
  "lbClassName",
  "lbClassNameLegacyHandling",
  "servicesLeaseName",
  "leaseName",
  "namespace",
  "controlplane",
  "address",
  "vip",
  "arp",
  "bgp",
  "table",
  "wireguard",
  "leaderElection",
  "leaderElectionType",
  "perServiceElectionOnDemand",
  "config-file",
]);

/** Release boundaries (docs/controllers.md V1). */
const V = {
  classCheck: [0, 5, 0], // K2: before it, every LoadBalancer Service
  svcLeaseName: [0, 6, 3], // K5: ARP's services lease honours svc_leasename
  tableElection: [0, 7, 0], // K5: table mode needs vip_leaderelection for the services lease
  legacySwitch: [0, 8, 1], // K1: lb_class_name read with LookupEnv
  tableLeType: [0, 8, 4], // K5: table mode checks --leaderElectionType with the control plane
  bgpElection: [1, 0, 1], // K5: BGP honours svc_election
  wgNoWatcher: [1, 0, 4], // K5: WireGuard v1.0.4 has no Service watcher
  worker: [1, 1, 0], // K4, K5: the worker package
  onDemand: [1, 2, 2], // K4, K5: mode exits; per-Service election on demand
} satisfies Record<string, Version>;

/** kube-vip v0.4.4: the oldest behaviour (every LoadBalancer Service, no class check). */
export const OLDEST: Version = [0, 4, 4];

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

// ---- arguments -----------------------------------------------------------------------

interface ParsedArgs {
  positionals: string[];
  bools: Map<string, { value: boolean | undefined; raw: string }>;
  strings: Map<string, string>;
  /** long flags as given, in order */
  seen: string[];
  /** arguments lbguard cannot expand, kept when they set something the rules read */
  unseen: string[];
}

/**
 * The manager's arguments as cobra and pflag read them: `--flag=value`; a
 * string (or unknown) flag takes the next argument as its value; a boolean
 * flag never does (`--arp value`: true, and `value` is positional).
 */
function parseArgs(argv: string[], env: ResolvedEnv): ParsedArgs {
  const bools = new Map<string, { value: boolean | undefined; raw: string }>();
  const strings = new Map<string, string>();
  const positionals: string[] = [];
  const seen: string[] = [];
  const unseen: string[] = [];
  const expanded = argv.map((a) => expand(a, env.lookup));
  const hidden = (i: number, what: string) => {
    const x = expanded[i];
    if (x?.unknown.length) unseen.push(`${what} ($(${x.unknown[0]}))`);
  };
  for (let i = 0; i < expanded.length; i++) {
    const a = expanded[i].text;
    if (a === "--") {
      for (let j = i + 1; j < expanded.length; j++) positionals.push(expanded[j].text);
      break;
    }
    let name: string;
    let val: string | undefined;
    const at = i;
    let valAt = i;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      val = eq >= 0 ? a.slice(eq + 1) : undefined;
      if (val === undefined && !ANY_BOOL_FLAG.has(name)) {
        val = expanded[i + 1]?.text;
        valAt = ++i;
      }
    } else if (a.startsWith("-") && a.length > 1) {
      const spec = settingByShort(a[1]);
      name = spec?.flag ?? a[1];
      if (a.length === 2) {
        val = expanded[i + 1]?.text;
        valAt = ++i;
      } else val = a.slice(a[2] === "=" ? 3 : 2);
    } else {
      if (!positionals.length) hidden(i, "the subcommand");
      positionals.push(a);
      continue;
    }
    seen.push(name);
    if (RELEVANT_FLAGS.has(name)) {
      hidden(at, `--${name}`);
      if (valAt !== at) hidden(valAt, `--${name}`);
    }
    if (ANY_BOOL_FLAG.has(name))
      bools.set(name, val === undefined ? { value: true, raw: "" } : { value: goParseBool(val), raw: val });
    else if (val !== undefined) strings.set(name, val);
  }
  return { positionals, bools, strings, seen, unseen: [...new Set(unseen)] };
}

// ---- the configuration -------------------------------------------------------------------

export interface EffectiveOptions {
  containerKind?: ContainerKind;
  /** read the container as this release would (the oldest behaviour of a digest-pinned image) */
  assumeVersion?: Version;
}

export function effectiveConfig(
  c: ContainerSpec,
  ctx: PodContext,
  parsedImage?: ImageRef,
  opts: EffectiveOptions = {},
): KubeVipConfig {
  const image = parsedImage ?? parseImage(typeof c.image === "string" ? c.image : "");
  const digestPinned = !!image.digest;
  const version = opts.assumeVersion ?? imageVersion(image);
  const hasEnvFrom = Array.isArray(c.envFrom) && c.envFrom.length > 0;
  const env = resolveEnv(c.env, hasEnvFrom);
  const command = asStrings(c.command);
  // no command: the image's ENTRYPOINT ["/kube-vip"] and the args (kube-vip/kube-vip Dockerfile)
  const argv = [...command.slice(1), ...asStrings(c.args)];
  const args = parseArgs(argv, env);
  const subcommand = args.positionals[0];
  const invalidBools: InvalidBool[] = [];
  const exits: Exit[] = [];
  const unverifiable: string[] = [];
  const ignoredEnv: string[] = [];

  // pflag: a bad boolean flag, or a flag this release does not have, fails before the command runs
  for (const name of new Set(args.seen)) {
    const spec = settingByFlag(name);
    if (!spec) continue;
    if (!flagKnown(spec, version)) {
      exits.push({ reason: "unknown-flag", key: `--${name}`, since: spec.flagSince, until: spec.flagUntil });
      continue;
    }
    const b = args.bools.get(name);
    if (b && b.value === undefined) invalidBools.push({ key: `--${name}`, from: "flag", raw: b.raw });
  }

  const gateRaw = env.value("svc_enable");
  const svcGate = gateRaw !== undefined && gateRaw !== "";
  const spec = (key: string) => (settingByEnv(key) ?? settingByFlag(key))!;

  /** the raw env value kube-vip reads for a setting at this release ("" and absent: unset) */
  const envRaw = (s: SettingSpec): string | undefined => {
    if (!envRead(s, version)) return undefined;
    let raw = env.value(s.env!);
    if (s.env === "egress_clean" && !raw) raw = env.value("EGRESS_CLEAN");
    if (raw === undefined || raw === "") return undefined;
    if (s.gated && !svcGate) {
      if (!ignoredEnv.includes(s.env!)) ignoredEnv.push(s.env!);
      return undefined;
    }
    return raw;
  };

  // ParseEnvironment: every boolean env variable of this release, in the manifest's order
  const order = [...env.entries()].map(([n]) => (n === "EGRESS_CLEAN" ? "egress_clean" : n));
  for (const name of new Set(order)) {
    const s = settingByEnv(name);
    if (!s || s.type !== "bool") continue;
    const raw = envRaw(s);
    if (raw !== undefined && goParseBool(raw) === undefined) invalidBools.push({ key: name, from: "env", raw });
  }

  const bool = (key: string): Setting<boolean> => {
    const s = spec(key);
    const raw = envRaw(s);
    if (raw !== undefined) return { value: goParseBool(raw) ?? (s.def as boolean), from: "env", key: s.env!, raw };
    if (s.flag && flagKnown(s, version)) {
      const f = args.bools.get(s.flag);
      if (f && f.value !== undefined) return { value: f.value, from: "flag", key: `--${s.flag}`, raw: f.raw || "true" };
    }
    return { value: s.def as boolean, from: "default", key: s.env ?? `--${s.flag}` };
  };
  const str = (key: string): Setting<string> => {
    const s = spec(key);
    const raw = envRaw(s);
    if (raw !== undefined) return { value: raw, from: "env", key: s.env!, raw };
    if (s.flag && flagKnown(s, version) && args.strings.has(s.flag)) {
      const raw = args.strings.get(s.flag)!;
      return { value: raw, from: "flag", key: `--${s.flag}`, raw };
    }
    return { value: s.def as string, from: "default", key: s.env ?? `--${s.flag}` };
  };

  const services = bool("svc_enable");
  const controlPlane = bool("cp_enable");
  const svcElection = bool("svc_election");
  const lbClassOnly = bool("lb_class_only");
  const lbClassLegacy = bool("lb_class_legacy_handling");
  const leaderElection = bool("vip_leaderelection");
  const perServiceOnDemand = bool("per_service_election_on_demand");
  let lbClassName = str("lb_class_name");
  // Since v0.8.1 lb_class_name is read with os.LookupEnv: present but empty sets "" (K1).
  if (
    svcGate &&
    env.has("lb_class_name") &&
    env.value("lb_class_name") === "" &&
    !versionBefore(version, V.legacySwitch)
  )
    lbClassName = { value: "", from: "env", key: "lb_class_name", raw: "" };
  const svcNs = str("svc_namespace");
  const svcLease = str("svc_leasename");
  const cpLease = str("vip_leasename");
  const cpNamespace = str("cp_namespace");
  const leaderElectionType = str("leaderElectionType");

  // a subcommand lbguard cannot expand is judged as `manager` (the safe side), with a warning
  const serves =
    subcommand === "manager" || subcommand === "service" || args.unseen.some((u) => u.startsWith("the subcommand"));

  // Modes (K4). From v1.2.2 `manager` exits at start with several modes or none
  // (cmd/kube-vip.go); before, the manager took the first in its order:
  // BGP > ARP > WireGuard > table up to v1.0.4 (pkg/manager/manager.go), ARP >
  // BGP > table > WireGuard from v1.1.0 (pkg/manager/worker/worker.go).
  const switches: [Mode, Setting<boolean>][] = [
    ["arp", bool("vip_arp")],
    ["bgp", bool("bgp_enable")],
    ["table", bool("vip_routingtable")],
    ["wireguard", bool("vip_wireguard")],
  ];
  const on = switches.filter(([, s]) => s.value);
  const precedence: Mode[] = versionBefore(version, V.worker)
    ? ["bgp", "arp", "wireguard", "table"]
    : ["arp", "bgp", "table", "wireguard"];
  let mode: Mode | "none" = precedence.find((m) => on.some(([x]) => x === m)) ?? "none";
  const parsed = invalidBools.length === 0 && exits.length === 0;
  if (parsed && subcommand === "manager" && !versionBefore(version, V.onDemand)) {
    if (on.length > 1) exits.push({ reason: "modes", keys: on.map(([, s]) => s.key) });
    else if (on.length === 0) exits.push({ reason: "no-mode" });
    if (on.length !== 1) mode = "none";
  }

  // --leaderElectionType (K5): "" and "kubernetes" are Leases, "etcd" is etcd;
  // anything else exits: from v1.1.0 always (pkg/election/election.go, from
  // manager.New), before only when the control plane starts in ARP or BGP mode,
  // and table mode from v0.8.4 (pkg/manager/cluster.go initClusterManager).
  const let_ = leaderElectionType.value;
  if (
    let_ !== "" &&
    let_ !== "kubernetes" &&
    let_ !== "etcd" &&
    serves &&
    exits.length === 0 &&
    invalidBools.length === 0
  ) {
    const before = versionBefore(version, V.worker);
    const cpStarts =
      controlPlane.value &&
      (mode === "arp" || mode === "bgp" || (mode === "table" && !versionBefore(version, V.tableLeType)));
    if (!before || cpStarts) exits.push({ reason: "leader-election-type", raw: let_ });
  }
  // Before v1.1.0 the Service elections always used Lease objects; etcd held only the control plane.
  const backend: Backend = let_ === "etcd" && !versionBefore(version, V.worker) ? "etcd" : "kubernetes";

  // What lbguard cannot see.
  for (const name of RELEVANT_ENV) if (env.unknown(name)) unverifiable.push(`${name} (valueFrom)`);
  if (hasEnvFrom) unverifiable.push("envFrom");
  if (args.seen.includes("config-file")) unverifiable.push("--config-file");
  unverifiable.push(...args.unseen);

  // Which Services its class filter admits (K2).
  let classes: Claims;
  if (versionBefore(version, V.classCheck)) classes = { all: true };
  else {
    const C = lbClassName.value;
    const set = new Set<string | null>();
    if (lbClassLegacy.value) {
      if (!lbClassOnly.value) set.add(null);
      if (C !== "") set.add(C);
    } else if (C !== "") set.add(C);
    else set.add(null);
    classes = { all: false, classes: set };
  }
  const nothing: Claims = { all: false, classes: new Set() };

  // How it coordinates (K5): the global services lease, per-Service leases, or none.
  const leaseNs = ctx.tokenMounted ? ctx.namespace : cpNamespace.value;
  const leaseAt = (name: string): Coordination => {
    // from v1.1.0 lease.NamespaceName: "a/b/c" → namespace a, name b (pkg/lease/lease.go)
    const parts = name.split("/");
    if (parts.length > 1 && !versionBefore(version, V.worker))
      return { kind: "lease", namespace: parts[0], name: parts[1], backend };
    return { kind: "lease", namespace: leaseNs, name, backend };
  };
  const perService: Coordination = { kind: "per-service", backend };
  const none: Coordination = { kind: "none" };
  const runs = serves && services.value && invalidBools.length === 0 && exits.length === 0;
  const election = svcElection.value;
  let normal: Serving;
  if (!runs || mode === "none") normal = { claims: nothing, coordination: none };
  else
    switch (mode) {
      case "arp":
        // pkg/manager/manager_arp.go (≤ v1.0.4), pkg/manager/worker/arp.go: the lease holder runs the watcher
        normal = election
          ? { claims: classes, coordination: perService }
          : {
              claims: classes,
              coordination: leaseAt(versionBefore(version, V.svcLeaseName) ? DEFAULT_SVC_LEASE : svcLease.value),
            };
        break;
      case "bgp":
        // pkg/manager/manager_bgp.go: svc_election only from v1.0.1; else every node serves, no lease
        normal = {
          claims: classes,
          coordination: election && !versionBefore(version, V.bgpElection) ? perService : none,
        };
        break;
      case "table":
        // pkg/manager/manager_table.go (≤ v1.0.4, constant plndr-svcs-lock), pkg/manager/worker/table.go
        if (election) normal = { claims: classes, coordination: perService };
        else if (versionBefore(version, V.tableElection) || leaderElection.value)
          normal = {
            claims: classes,
            coordination: leaseAt(versionBefore(version, V.worker) ? DEFAULT_SVC_LEASE : svcLease.value),
          };
        else normal = { claims: classes, coordination: none };
        break;
      case "wireguard":
        // pkg/manager/manager_wireguard.go: ≤ v1.0.3 the constant lease, v1.0.4 no Service watcher;
        // pkg/manager/worker/wireguard.go (v1.1.0+): svc_election, else the control-plane lease holder serves
        if (versionBefore(version, V.wgNoWatcher))
          normal = { claims: classes, coordination: election ? perService : leaseAt(DEFAULT_SVC_LEASE) };
        else if (versionBefore(version, V.worker)) normal = { claims: nothing, coordination: none };
        else if (election) normal = { claims: classes, coordination: perService };
        else if (controlPlane.value) normal = { claims: classes, coordination: leaseAt(cpLease.value) };
        else normal = { claims: nothing, coordination: none };
        break;
    }
  // Services annotated forcePerServiceElection (v1.2.2+, pkg/services/processor.go AddOrModify):
  // normal watchers skip them; on demand, the ARP, BGP and table paths without
  // svc_election elect them per Service on every instance (pkg/manager/worker/common.go
  // GlobalLeader, ServicesNoLeader). WireGuard and svc_election never do.
  const honoured = !versionBefore(version, V.onDemand);
  let forced: KubeVipConfig["forced"];
  if (!honoured) forced = { ...normal, honoured };
  else if (runs && perServiceOnDemand.value && !election && (mode === "arp" || mode === "bgp" || mode === "table"))
    forced = { claims: classes, coordination: perService, honoured };
  else forced = { claims: nothing, coordination: none, honoured };

  // Control-plane VIP (K6, pkg/cluster/cluster.go): Address (env address, else
  // --address) when non-empty, else VIP (env vip_address, else --vip).
  const controlPlaneVIPs: VIPSetting[] = [];
  if (serves && controlPlane.value) {
    const address = str("address");
    const vip = str("vip_address");
    const src = address.value ? address : vip.value ? vip : undefined;
    if (src)
      for (const part of src.value.split(","))
        if (part.trim()) controlPlaneVIPs.push({ ...src, value: part.trim(), ip: parseIP(part.trim()) ?? undefined });
  }

  const cfg: KubeVipConfig = {
    container: typeof c.name === "string" ? c.name : "",
    containerKind: opts.containerKind ?? "container",
    image,
    version,
    digestPinned,
    subcommand,
    serves,
    services,
    controlPlane,
    mode,
    modes: on.map(([, s]) => s),
    svcElection,
    lbClassOnly,
    lbClassName,
    lbClassLegacy,
    leaderElection,
    perServiceOnDemand,
    leaderElectionType,
    svcNamespace: svcNs.value || undefined,
    coordination: normal.coordination,
    claims: normal.claims,
    forced,
    controlPlaneVIPs,
    invalidBools,
    exits,
    unverifiable,
    ignoredEnv,
  };
  // A digest runs whatever it names (S3, V3): judged as the newest, but the rules
  // also look at what the oldest behaviour would do.
  if (digestPinned && !opts.assumeVersion && serves)
    cfg.oldest = effectiveConfig(c, ctx, image, { ...opts, assumeVersion: OLDEST });
  return cfg;
}

export function claimsClass(claims: Claims, cls: string | null): boolean {
  return claims.all || claims.classes.has(cls);
}

export function claimsAny(claims: Claims): boolean {
  return claims.all || claims.classes.size > 0;
}

/** Whether the instance takes any Service at all (either population). */
export function takesServices(cfg: KubeVipConfig): boolean {
  return claimsAny(cfg.claims) || claimsAny(cfg.forced.claims);
}

export function describeVersion(cfg: KubeVipConfig): string {
  return formatVersion(cfg.version);
}

/** A LoadBalancer Service as servesService needs it. */
export interface ServiceLike {
  cls: string | null;
  namespace: string;
  annotations?: Record<string, string>;
}

/**
 * How this kube-vip instance serves a LoadBalancer Service, or undefined when
 * it does not take it: class, `svc_namespace`, `kube-vip.io/ignore`, and from
 * v1.2.2 the `kube-vip.io/forcePerServiceElection` annotation (taken only by
 * instances with per-Service election on demand, elected per Service).
 */
export function serviceCoordination(cfg: KubeVipConfig, svc: ServiceLike): Coordination | undefined {
  const ann = svc.annotations ?? {};
  if (ann[IGNORE_ANNOTATION] === "true") return undefined;
  if (cfg.svcNamespace && cfg.svcNamespace !== svc.namespace) return undefined;
  const p = ann[FORCE_PER_SERVICE] === "true" ? cfg.forced : cfg;
  return claimsClass(p.claims, svc.cls) ? p.coordination : undefined;
}

/** Whether this kube-vip instance takes the Service (see serviceCoordination). */
export function servesService(cfg: KubeVipConfig, svc: ServiceLike): boolean {
  return serviceCoordination(cfg, svc) !== undefined;
}

// ---- kube-vip-cloud-provider ------------------------------------------------------------

/** kube-vip-cloud-provider: which classes it allocates for. */
export interface CloudProviderConfig {
  container: string;
  containerKind: ContainerKind;
  image: ImageRef;
  claims: Claims;
  classSource: Source;
  configMap: { namespace: string; name: string };
  /** where the ConfigMap's name came from (a KUBEVIP_* env var, or the default) */
  configMapSource: Source[];
  invalidBools: InvalidBool[];
  unverifiable: string[];
}

export function cloudProviderConfig(c: ContainerSpec, containerKind: ContainerKind = "container"): CloudProviderConfig {
  const image = parseImage(typeof c.image === "string" ? c.image : "");
  const hasEnvFrom = Array.isArray(c.envFrom) && c.envFrom.length > 0;
  const env = resolveEnv(c.env, hasEnvFrom);
  const invalidBools: InvalidBool[] = [];
  const unverifiable: string[] = [];
  for (const n of [
    "KUBEVIP_ENABLE_LOADBALANCERCLASS",
    "KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME",
    "KUBEVIP_NAMESPACE",
    "KUBEVIP_CONFIG_MAP",
  ])
    if (env.unknown(n)) unverifiable.push(`${n} (valueFrom)`);
  if (hasEnvFrom) unverifiable.push("envFrom");
  const raw = env.value("KUBEVIP_ENABLE_LOADBALANCERCLASS");
  let enabled = false;
  let classSource: Source = { from: "default", key: "KUBEVIP_ENABLE_LOADBALANCERCLASS" };
  if (raw) {
    const v = goParseBool(raw);
    if (v === undefined) invalidBools.push({ key: "KUBEVIP_ENABLE_LOADBALANCERCLASS", from: "env", raw });
    else enabled = v;
    classSource = { from: "env", key: "KUBEVIP_ENABLE_LOADBALANCERCLASS", raw };
  }
  const name = env.value("KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME") || DEFAULT_CLASS;
  const ns = env.value("KUBEVIP_NAMESPACE");
  const cm = env.value("KUBEVIP_CONFIG_MAP");
  const configMapSource: Source[] = [];
  if (ns) configMapSource.push({ from: "env", key: "KUBEVIP_NAMESPACE", raw: ns });
  if (cm) configMapSource.push({ from: "env", key: "KUBEVIP_CONFIG_MAP", raw: cm });
  return {
    container: typeof c.name === "string" ? c.name : "",
    containerKind,
    image,
    claims: { all: false, classes: new Set([enabled ? name : null]) },
    classSource,
    configMap: { namespace: ns || "kube-system", name: cm || "kubevip" },
    configMapSource,
    invalidBools,
    unverifiable,
  };
}
