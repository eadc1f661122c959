/**
 * Every kube-vip setting the model reads, in one table: its env variable, its
 * flag, the releases that read each, whether the env variable sits behind the
 * `svc_enable` gate, and its default. The boolean env list and the boolean
 * flag list are both derived from it (docs/controllers.md K1, K3).
 *
 * Versions were read from every tag v0.4.0 … v1.2.3 and `main`:
 * env variables from kube-vip/kube-vip pkg/kubevip/config_environment.go
 * (pkg/kubevip/config_generator.go `ParseEnvironment` up to v0.4.1), names from
 * pkg/kubevip/config_envvar.go, flags from cmd/kube-vip.go. `since: V040`
 * means "v0.4.0 or earlier": the model starts at v0.4.0.
 */
import type { Version } from "./image.js";

export const V040: Version = [0, 4, 0];

export interface SettingSpec {
  /** kube-vip's Config field (pkg/kubevip/config_types.go) */
  field: string;
  type: "bool" | "string";
  /** the env variable (exact lower case), if one is read */
  env?: string;
  /** the long flag of cmd/kube-vip.go, if one exists */
  flag?: string;
  /** a one-letter alias of the flag */
  short?: string;
  /** first release that reads the env variable */
  envSince?: Version;
  /** last release that reads the env variable (absent: still on `main`) */
  envUntil?: Version;
  /** first release that has the flag */
  flagSince?: Version;
  /** last release that has the flag (absent: still on `main`) */
  flagUntil?: Version;
  /** the env variable is read only when the `svc_enable` env var is non-empty (v0.5.0+) */
  gated?: true;
  /** the default (the flag's default, else the Config zero value) */
  def: boolean | string;
}

const v = (a: number, b: number, c: number): Version => [a, b, c];

/** One row for a setting read from env and flag over the same releases. */
function both(
  field: string,
  env: string,
  flag: string,
  since: Version,
  def: boolean,
  o: { until?: Version; gated?: true; flagSince?: Version } = {},
): SettingSpec {
  return {
    field,
    type: "bool",
    env,
    flag,
    envSince: since,
    envUntil: o.until,
    flagSince: o.flagSince ?? since,
    flagUntil: o.until,
    gated: o.gated,
    def,
  };
}

function envOnly(field: string, env: string, since: Version): SettingSpec {
  return { field, type: "bool", env, envSince: since, def: false };
}

/**
 * The booleans. A value Go's strconv.ParseBool refuses makes kube-vip exit: an
 * env variable in ParseEnvironment, a flag in pflag before the command runs.
 * At v1.2.3/`main`: 33 env variables and 27 flags.
 */
const BOOLEANS: SettingSpec[] = [
  both("EnableLeaderElection", "vip_leaderelection", "leaderElection", V040, false),
  both("DDNS", "vip_ddns", "ddns", V040, false),
  both("EnableControlPlane", "cp_enable", "controlplane", V040, false),
  both("EnableServices", "svc_enable", "services", V040, false),
  envOnly("SingleNode", "vip_singlenode", V040),
  envOnly("StartAsLeader", "vip_startleader", V040),
  both("EnableARP", "vip_arp", "arp", V040, false),
  both("EnableBGP", "bgp_enable", "bgp", V040, false),
  both("BGPPeerConfig.MultiHop", "bgp_multihop", "multihop", V040, false),
  both("EnableMetal", "vip_packet", "metal", V040, false, { until: v(0, 8, 10) }),
  both("EnableLoadBalancer", "lb_enable", "enableLoadBalancer", V040, false),
  both("EnableServicesElection", "svc_election", "servicesElection", v(0, 5, 0), false, { gated: true }),
  both("EnableWireguard", "vip_wireguard", "wireguard", v(0, 5, 0), false),
  both("EnableRoutingTable", "vip_routingtable", "table", v(0, 5, 0), false),
  both("LoadBalancerClassOnly", "lb_class_only", "lbClassOnly", v(0, 5, 5), false, { gated: true }),
  // the env variable since v0.5.12, the flag (default true) only since v1.2.2
  {
    ...both("EgressWithNftables", "egress_withnftables", "egressWithNftables", v(0, 5, 12), true),
    flagSince: v(1, 2, 2),
  },
  both("EnableServiceSecurity", "enable_service_security", "onlyAllowTrafficServicePorts", v(0, 6, 0), false),
  both("EnableNodeLabeling", "enable_node_labeling", "enableNodeLabeling", v(0, 6, 3), false),
  both("DetectControlPlane", "cp_detect", "autodetectcp", v(0, 7, 0), false),
  both("DisableServiceUpdates", "disable_service_updates", "disableServiceUpdates", v(0, 7, 0), false),
  both("EnableEndpointSlices", "enable_endpointslices", "enableEndpointSlices", v(0, 7, 0), false, {
    until: v(0, 9, 2),
  }),
  both("CleanRoutingTable", "vip_cleanroutingtable", "cleanRoutingTable", v(0, 7, 1), false),
  both("LoadBalancerClassLegacyHandling", "lb_class_legacy_handling", "lbClassNameLegacyHandling", v(0, 8, 1), true, {
    gated: true,
  }),
  both("LoInterfaceGlobalScope", "vip_interfaceloglobal", "loInterfaceGlobalScope", v(0, 8, 4), false),
  both("BGPConfig.Zebra.Enabled", "zebra_enable", "zebra", v(1, 0, 0), false),
  both("EnableEndpoints", "enable_endpoints", "enableEndpoints", v(1, 0, 0), false),
  envOnly("EnableUPNP", "enable_upnp", v(1, 0, 0)),
  // also read upper case (EGRESS_CLEAN) when the lower-case one is empty
  envOnly("EgressClean", "egress_clean", v(1, 0, 0)),
  both(
    "PreserveVIPOnLeadershipLoss",
    "vip_preserve_on_leadership_loss",
    "preserveVipOnLeadershipLoss",
    v(1, 0, 2),
    false,
  ),
  both("LoseLeadership", "vip_loseleadership", "loseLeadership", v(1, 2, 2), false),
  both("AllowInterfaceNotUp", "vip_allow_interface_not_up", "allowInterfaceNotUp", v(1, 2, 2), false),
  both("BGPAttachIPToInterface", "bgp_attach_ip_to_interface", "bgpAttachIPToInterface", v(1, 2, 2), false),
  both("PerServiceElectionOnDemand", "per_service_election_on_demand", "perServiceElectionOnDemand", v(1, 2, 2), false),
  envOnly("EnableInternalSNAT", "egress_enableinternalsnat", v(1, 2, 2)),
  envOnly("SkipDAD", "vip_skipdad", v(1, 2, 3)),
];

/** The strings the rules read. */
const STRINGS: SettingSpec[] = [
  {
    field: "LoadBalancerClassName",
    type: "string",
    env: "lb_class_name",
    flag: "lbClassName",
    envSince: v(0, 6, 0),
    flagSince: v(0, 6, 0),
    gated: true,
    def: "kube-vip.io/kube-vip-class",
  },
  { field: "ServiceNamespace", type: "string", env: "svc_namespace", envSince: v(0, 5, 5), gated: true, def: "" },
  {
    field: "ServicesLeaseName",
    type: "string",
    env: "svc_leasename",
    flag: "servicesLeaseName",
    envSince: v(0, 6, 3),
    flagSince: v(0, 6, 3),
    gated: true,
    def: "plndr-svcs-lock",
  },
  {
    field: "LeaseName",
    type: "string",
    env: "vip_leasename",
    flag: "leaseName",
    envSince: v(0, 6, 1),
    flagSince: v(0, 6, 1),
    def: "plndr-cp-lock",
  },
  {
    field: "Namespace",
    type: "string",
    env: "cp_namespace",
    flag: "namespace",
    short: "n",
    envSince: V040,
    flagSince: V040,
    def: "kube-system",
  },
  { field: "Address", type: "string", env: "address", flag: "address", envSince: V040, flagSince: V040, def: "" },
  { field: "VIP", type: "string", env: "vip_address", flag: "vip", envSince: V040, flagSince: V040, def: "" },
  // a flag only: no env variable sets it
  { field: "LeaderElectionType", type: "string", flag: "leaderElectionType", flagSince: v(0, 6, 4), def: "kubernetes" },
  { field: "ConfigFile", type: "string", flag: "config-file", flagSince: v(1, 0, 1), def: "" },
  {
    field: "Interface",
    type: "string",
    env: "vip_interface",
    flag: "interface",
    envSince: V040,
    flagSince: V040,
    def: "",
  },
];

export const SETTINGS: readonly SettingSpec[] = [...BOOLEANS, ...STRINGS];

const byEnv = new Map(SETTINGS.filter((s) => s.env).map((s) => [s.env!, s]));
const byFlag = new Map(SETTINGS.filter((s) => s.flag).map((s) => [s.flag!, s]));
const byShort = new Map(SETTINGS.filter((s) => s.short).map((s) => [s.short!, s]));

export function settingByEnv(env: string): SettingSpec | undefined {
  return byEnv.get(env);
}
export function settingByFlag(flag: string): SettingSpec | undefined {
  return byFlag.get(flag);
}
export function settingByShort(short: string): SettingSpec | undefined {
  return byShort.get(short);
}

/** a ≤ b */
function atMost(a: Version, b: Version): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return true;
}

/**
 * Whether a release reads something that exists from `since` to `until`.
 * `version` undefined is the newest (`main`); a release before v0.4.0 is read
 * as v0.4.0 (the model starts there).
 */
export function inRelease(version: Version | undefined, since: Version | undefined, until?: Version): boolean {
  if (!since) return false;
  if (!version) return until === undefined;
  const at = atMost(version, V040) ? V040 : version;
  return atMost(since, at) && (until === undefined || atMost(at, until));
}

export function envRead(s: SettingSpec, version: Version | undefined): boolean {
  return !!s.env && inRelease(version, s.envSince, s.envUntil);
}

export function flagKnown(s: SettingSpec, version: Version | undefined): boolean {
  return !!s.flag && inRelease(version, s.flagSince, s.flagUntil);
}

/** The boolean env variables `main` parses with ParseBool (33). */
export const BOOL_ENV: readonly string[] = BOOLEANS.filter((s) => envRead(s, undefined)).map((s) => s.env!);

/** The boolean flags of `main`'s cmd/kube-vip.go (27). */
export const BOOL_FLAGS: readonly string[] = BOOLEANS.filter((s) => flagKnown(s, undefined)).map((s) => s.flag!);

/** Every boolean flag kube-vip has had: pflag never gives them a separate value (`--arp value`). */
export const ANY_BOOL_FLAG: ReadonlySet<string> = new Set(BOOLEANS.filter((s) => s.flag).map((s) => s.flag!));

/** The six options read from env only when the `svc_enable` env var is non-empty (docs/controllers.md K1). */
export const SVC_GATED: readonly string[] = SETTINGS.filter((s) => s.gated).map((s) => s.env!);
