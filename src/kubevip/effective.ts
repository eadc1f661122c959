/**
 * The effective configuration of one kube-vip container, read the way
 * kube-vip reads it (docs/controllers.md K1–K2, pkg/kubevip/config_environment.go):
 * exact lowercase env names; a non-empty env var beats a flag; an empty value
 * is unset; booleans by Go's strconv.ParseBool; the six service-class options
 * read from env only when the `svc_enable` env var is non-empty.
 *
 * Pure: no I/O. Everything the rules need about an instance is derived here
 * once, when the workload enters the cluster view or is admitted.
 */
import { IP, parseIP } from "../addr/ip.js";
import { textOf } from "../k8s/text.js";
import { ImageRef, Version, formatVersion, imageVersion, parseImage, versionBefore } from "./image.js";

export interface EnvVar {
  name?: unknown;
  value?: unknown;
  valueFrom?: unknown;
}

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

/** Set of loadBalancerClass values claimed; `null` stands for "no class". */
export type Claims = { all: true } | { all: false; classes: Set<string | null> };

export type Coordination =
  { kind: "lease"; namespace: string; name: string } | { kind: "per-service" } | { kind: "none" };

export interface InvalidBool {
  key: string;
  from: "env" | "flag";
  raw: string;
}

export interface KubeVipConfig {
  container: string;
  image: ImageRef;
  version: Version | undefined;
  services: Setting<boolean>;
  controlPlane: Setting<boolean>;
  mode: "arp" | "bgp" | "table" | "wireguard" | "none";
  svcElection: Setting<boolean>;
  lbClassOnly: Setting<boolean>;
  lbClassName: Setting<string>;
  lbClassLegacy: Setting<boolean>;
  /** namespace whose Services the instance watches; undefined = all */
  svcNamespace: string | undefined;
  coordination: Coordination;
  claims: Claims;
  /** control-plane VIP values as written (IPs, DNS names) when the control plane is on */
  controlPlaneVIPs: VIPSetting[];
  invalidBools: InvalidBool[];
  /** settings lbguard cannot see (valueFrom, envFrom, config file) that could change a value the rules read */
  unverifiable: string[];
  /** service env vars present but ignored because `svc_enable` env is unset */
  ignoredEnv: string[];
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function goParseBool(s: string): boolean | undefined {
  if (GO_TRUE.has(s)) return true;
  if (GO_FALSE.has(s)) return false;
  return undefined;
}

/**
 * Env vars kube-vip parses with strconv.ParseBool: a bad value makes the
 * manager return before it starts, so the pod crash-loops
 * (pkg/kubevip/config_environment.go; research notes in the README).
 */
export const BOOL_ENV = [
  "vip_interfaceloglobal",
  "vip_leaderelection",
  "vip_ddns",
  "cp_enable",
  "cp_detect",
  "svc_enable",
  "svc_election",
  "lb_class_only",
  "lb_class_legacy_handling",
  "vip_singlenode",
  "vip_startleader",
  "vip_arp",
  "vip_wireguard",
  "vip_routingtable",
  "vip_cleanroutingtable",
  "disable_service_updates",
  "bgp_enable",
  "bgp_multihop",
  "zebra_enable",
  "lb_enable",
  "enable_service_security",
  "enable_node_labeling",
  "egress_withnftables",
  "enable_endpoints",
  "enable_upnp",
  "egress_clean",
  "per_service_election_on_demand",
];

/** The six options read only when svc_enable env is non-empty. */
export const SVC_GATED = [
  "svc_election",
  "lb_class_only",
  "lb_class_name",
  "lb_class_legacy_handling",
  "svc_namespace",
  "svc_leasename",
];

/** Booleans parsed whatever svc_enable says (svc_enable and the gated ones are read with their settings). */
const UNGATED_BOOL_ENV = new Set(BOOL_ENV.filter((k) => k !== "svc_enable" && !SVC_GATED.includes(k)));

/** Env vars whose value the ownership rules read: unverifiable ones warn. */
export const RELEVANT_ENV = new Set([
  "svc_enable",
  "svc_election",
  "lb_class_only",
  "lb_class_name",
  "lb_class_legacy_handling",
  "svc_namespace",
  "svc_leasename",
  "cp_enable",
  "cp_namespace",
  "address",
  "vip_address",
  "vip_arp",
  "bgp_enable",
  "vip_routingtable",
  "vip_wireguard",
]);

const BOOL_FLAGS: Record<string, string> = {
  services: "services",
  servicesElection: "servicesElection",
  lbClassOnly: "lbClassOnly",
  lbClassNameLegacyHandling: "lbClassNameLegacyHandling",
  controlplane: "controlplane",
  arp: "arp",
  bgp: "bgp",
  table: "table",
  wireguard: "wireguard",
  leaderElection: "leaderElection",
  ddns: "ddns",
};
const STRING_FLAGS = new Set([
  "lbClassName",
  "servicesLeaseName",
  "leaseName",
  "namespace",
  "address",
  "vip",
  "interface",
  "config-file",
]);
const SHORT_STRING_FLAGS: Record<string, string> = { n: "namespace", i: "interface" };

interface Flags {
  bools: Map<string, { value: boolean | undefined; raw: string }>;
  strings: Map<string, string>;
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** pflag-style parsing of the manager's arguments. */
function parseFlags(argv: string[]): Flags {
  const bools = new Map<string, { value: boolean | undefined; raw: string }>();
  const strings = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") break;
    let name: string | undefined;
    let val: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      val = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else if (a.startsWith("-") && a.length > 1) {
      const short = a.slice(1, 2);
      name = SHORT_STRING_FLAGS[short];
      if (!name) continue;
      val = a.length > 2 ? a.slice(a[2] === "=" ? 3 : 2) : undefined;
    } else continue;
    if (name in BOOL_FLAGS) {
      bools.set(name, val === undefined ? { value: true, raw: "" } : { value: goParseBool(val), raw: val });
    } else if (STRING_FLAGS.has(name)) {
      if (val === undefined) {
        val = argv[i + 1];
        i++;
      }
      if (val !== undefined) strings.set(name, val);
    }
  }
  return { bools, strings };
}

interface EnvView {
  /** value of a plain env var ("" when present but empty); undefined when absent or not a plain value */
  value(name: string): string | undefined;
  entries(): Iterable<[string, string]>;
  has(name: string): boolean;
  fromRef(name: string): boolean;
}

function envView(env: unknown): EnvView {
  const vals = new Map<string, string>();
  const refs = new Set<string>();
  for (const e of Array.isArray(env) ? (env as EnvVar[]) : []) {
    if (!e || typeof e.name !== "string") continue;
    // Kubernetes: a later entry with the same name wins.
    if (e.valueFrom !== undefined && e.valueFrom !== null) {
      refs.add(e.name);
      vals.delete(e.name);
    } else {
      refs.delete(e.name);
      vals.set(e.name, typeof e.value === "string" ? e.value : e.value == null ? "" : textOf(e.value));
    }
  }
  return {
    value: (n) => vals.get(n),
    entries: () => vals.entries(),
    has: (n) => vals.has(n),
    fromRef: (n) => refs.has(n),
  };
}

/** kube-vip versions at which service-class behaviour changed (docs/controllers.md K2). */
const V_CLASS_CHECK: Version = [0, 5, 0];
const V_CLASS_ONLY: Version = [0, 5, 5];
const V_CLASS_NAME: Version = [0, 6, 0];
const V_LEGACY_SWITCH: Version = [0, 8, 1];
const V_WORKER: Version = [1, 0, 0];

export function effectiveConfig(c: ContainerSpec, ctx: PodContext, parsedImage?: ImageRef): KubeVipConfig {
  const image = parsedImage ?? parseImage(typeof c.image === "string" ? c.image : "");
  const version = imageVersion(image);
  const env = envView(c.env);
  const command = asStrings(c.command);
  const argv = [...command.slice(1), ...asStrings(c.args)];
  const flags = parseFlags(argv);
  const invalidBools: InvalidBool[] = [];
  const unverifiable: string[] = [];
  const ignoredEnv: string[] = [];

  for (const [k, f] of flags.bools)
    if (f.value === undefined) invalidBools.push({ key: `--${k}`, from: "flag", raw: f.raw });

  const svcEnvRaw = env.value("svc_enable");
  const svcGate = svcEnvRaw !== undefined && svcEnvRaw !== "";

  const boolSetting = (key: string, flag: string | undefined, def: boolean, gated = false): Setting<boolean> => {
    const raw = env.value(key);
    if (raw !== undefined && raw !== "") {
      if (gated && !svcGate) {
        ignoredEnv.push(key);
      } else {
        const v = goParseBool(raw);
        if (v === undefined) {
          if (!invalidBools.some((b) => b.key === key)) invalidBools.push({ key, from: "env", raw });
          return { value: def, from: "env", key, raw };
        }
        return { value: v, from: "env", key, raw };
      }
    }
    if (flag) {
      const f = flags.bools.get(flag);
      if (f && f.value !== undefined) return { value: f.value, from: "flag", key: `--${flag}`, raw: f.raw || "true" };
    }
    return { value: def, from: "default", key };
  };
  const stringSetting = (key: string, flag: string | undefined, def: string, gated = false): Setting<string> => {
    const raw = env.value(key);
    if (raw !== undefined && raw !== "") {
      if (gated && !svcGate) ignoredEnv.push(key);
      else return { value: raw, from: "env", key, raw };
    }
    if (flag && flags.strings.has(flag))
      return { value: flags.strings.get(flag)!, from: "flag", key: `--${flag}`, raw: flags.strings.get(flag) };
    return { value: def, from: "default", key };
  };

  // Every other boolean env var is parsed too: a bad one crash-loops the pod.
  // (walk the container's env once rather than look up every boolean name)
  for (const [name, raw] of env.entries()) {
    const key = name === "EGRESS_CLEAN" ? (env.value("egress_clean") ? undefined : "egress_clean") : name;
    if (!key || !UNGATED_BOOL_ENV.has(key)) continue;
    if (raw !== "" && goParseBool(raw) === undefined && !invalidBools.some((b) => b.key === key))
      invalidBools.push({ key, from: "env", raw });
  }

  const services = boolSetting("svc_enable", "services", false);
  const controlPlane = boolSetting("cp_enable", "controlplane", false);
  const svcElection = boolSetting("svc_election", "servicesElection", false, true);
  const lbClassOnly = boolSetting("lb_class_only", "lbClassOnly", false, true);
  const lbClassLegacy = boolSetting("lb_class_legacy_handling", "lbClassNameLegacyHandling", true, true);
  let lbClassName = stringSetting("lb_class_name", "lbClassName", DEFAULT_CLASS, true);
  // Since v0.8.1 lb_class_name is read with os.LookupEnv: present but empty sets "".
  if (
    svcGate &&
    env.has("lb_class_name") &&
    env.value("lb_class_name") === "" &&
    !versionBefore(version, V_LEGACY_SWITCH)
  )
    lbClassName = { value: "", from: "env", key: "lb_class_name", raw: "" };
  const svcNs = stringSetting("svc_namespace", undefined, "", true);
  const svcLease = stringSetting("svc_leasename", "servicesLeaseName", DEFAULT_SVC_LEASE, true);
  const cpNamespace = stringSetting("cp_namespace", "namespace", "kube-system");

  const arp = boolSetting("vip_arp", "arp", false);
  const bgp = boolSetting("bgp_enable", "bgp", false);
  const table = boolSetting("vip_routingtable", "table", false);
  const wg = boolSetting("vip_wireguard", "wireguard", false);
  // Mode when several are on: the worker package (v1.x) picks ARP > BGP > table >
  // WireGuard; the older manager.Start picked BGP > ARP. Which tag switched is
  // inferred (v1.0.0), not confirmed.
  const workerEra = !versionBefore(version, V_WORKER);
  const mode: KubeVipConfig["mode"] = workerEra
    ? arp.value
      ? "arp"
      : bgp.value
        ? "bgp"
        : table.value
          ? "table"
          : wg.value
            ? "wireguard"
            : "none"
    : bgp.value
      ? "bgp"
      : arp.value
        ? "arp"
        : wg.value
          ? "wireguard"
          : table.value
            ? "table"
            : "none";
  const leaderElection = boolSetting("vip_leaderelection", "leaderElection", false);

  // What lbguard cannot see.
  for (const name of RELEVANT_ENV) if (env.fromRef(name)) unverifiable.push(`${name} (valueFrom)`);
  if (Array.isArray(c.envFrom) && c.envFrom.length) unverifiable.push("envFrom");
  if (flags.strings.has("config-file")) unverifiable.push("--config-file");

  // Which Services it claims (docs/controllers.md K2).
  let claims: Claims;
  if (!services.value) claims = { all: false, classes: new Set() };
  else if (versionBefore(version, V_CLASS_CHECK)) claims = { all: true };
  else {
    const C = versionBefore(version, V_CLASS_NAME) ? DEFAULT_CLASS : lbClassName.value;
    const only = versionBefore(version, V_CLASS_ONLY) ? false : lbClassOnly.value;
    const legacy = versionBefore(version, V_LEGACY_SWITCH) ? true : lbClassLegacy.value;
    const set = new Set<string | null>();
    if (legacy) {
      if (!only) set.add(null);
      if (C !== "") set.add(C);
    } else if (C !== "") set.add(C);
    else set.add(null);
    claims = { all: false, classes: set };
  }

  // How instances coordinate (docs/controllers.md K5).
  let coordination: Coordination;
  // ARP: the global services lease, whatever vip_leaderelection says. BGP: every
  // node serves, no lease. Routing table: the global lease only with
  // vip_leaderelection (worker/table.go), else every node. WireGuard counts as
  // a global lease (docs/controllers.md K5).
  if (svcElection.value) coordination = { kind: "per-service" };
  else if (mode === "bgp" || (mode === "table" && !leaderElection.value)) coordination = { kind: "none" };
  else {
    const leaseNs = ctx.tokenMounted ? ctx.namespace : cpNamespace.value;
    const name = svcLease.value;
    const slash = name.indexOf("/");
    coordination =
      slash > 0
        ? { kind: "lease", namespace: name.slice(0, slash), name: name.slice(slash + 1) }
        : { kind: "lease", namespace: leaseNs, name };
  }

  const controlPlaneVIPs: VIPSetting[] = [];
  if (controlPlane.value) {
    const addr = env.value("address");
    const vipAddr = env.value("vip_address");
    let src: Setting<string> | undefined;
    if (addr) src = { value: addr, from: "env", key: "address", raw: addr };
    else if (vipAddr) src = { value: vipAddr, from: "env", key: "vip_address", raw: vipAddr };
    else if (flags.strings.get("address"))
      src = { value: flags.strings.get("address")!, from: "flag", key: "--address" };
    else if (flags.strings.get("vip")) src = { value: flags.strings.get("vip")!, from: "flag", key: "--vip" };
    if (src)
      for (const part of src.value.split(","))
        if (part.trim()) controlPlaneVIPs.push({ ...src, value: part.trim(), ip: parseIP(part.trim()) ?? undefined });
  }

  return {
    container: typeof c.name === "string" ? c.name : "",
    image,
    version,
    services,
    controlPlane,
    mode,
    svcElection,
    lbClassOnly,
    lbClassName,
    lbClassLegacy,
    svcNamespace: svcNs.value || undefined,
    coordination,
    claims,
    controlPlaneVIPs,
    invalidBools,
    unverifiable,
    ignoredEnv,
  };
}

export function claimsClass(claims: Claims, cls: string | null): boolean {
  return claims.all || claims.classes.has(cls);
}

export function describeVersion(cfg: KubeVipConfig): string {
  return formatVersion(cfg.version);
}

/** kube-vip-cloud-provider: which classes it allocates for. */
export interface CloudProviderConfig {
  container: string;
  image: ImageRef;
  claims: Claims;
  classSource: Source;
  configMap: { namespace: string; name: string };
  invalidBools: InvalidBool[];
  unverifiable: string[];
}

export function cloudProviderConfig(c: ContainerSpec): CloudProviderConfig {
  const image = parseImage(typeof c.image === "string" ? c.image : "");
  const env = envView(c.env);
  const invalidBools: InvalidBool[] = [];
  const unverifiable: string[] = [];
  for (const n of [
    "KUBEVIP_ENABLE_LOADBALANCERCLASS",
    "KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME",
    "KUBEVIP_NAMESPACE",
    "KUBEVIP_CONFIG_MAP",
  ])
    if (env.fromRef(n)) unverifiable.push(`${n} (valueFrom)`);
  if (Array.isArray(c.envFrom) && c.envFrom.length) unverifiable.push("envFrom");
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
  return {
    container: typeof c.name === "string" ? c.name : "",
    image,
    claims: { all: false, classes: new Set([enabled ? name : null]) },
    classSource,
    configMap: {
      namespace: env.value("KUBEVIP_NAMESPACE") || "kube-system",
      name: env.value("KUBEVIP_CONFIG_MAP") || "kubevip",
    },
    invalidBools,
    unverifiable,
  };
}
