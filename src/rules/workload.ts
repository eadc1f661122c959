/**
 * kube-vip workloads (Pods, DaemonSets, Deployments,
 * StatefulSets; mirror pods of static pods) and kube-vip-cloud-provider.
 * Each kube-vip container's effective configuration (src/kubevip) decides
 * which Services it claims, how it coordinates with other instances, and
 * which control-plane VIPs it binds.
 */
import { pointInterval } from "../addr/interval.js";
import { clip } from "../k8s/text.js";
import { WorkloadRec, workloadRecord } from "../cluster/records.js";
import { KubeObject, MIRROR_ANNOTATION, isWorkloadKind } from "../k8s/object.js";
import { stringMap } from "../k8s/service.js";
import {
  Claims,
  Coordination,
  DEFAULT_CLASS,
  Exit,
  KubeVipConfig,
  SVC_GATED,
  claimsAny,
  takesServices,
} from "../kubevip/effective.js";
import { Version, formatVersion, versionBefore } from "../kubevip/image.js";
import type { Policy, RuleFamily } from "../policy/policy.js";
import { othersThan, workloadTitle } from "../providers/index.js";
import type { FieldSpec } from "./fields.js";
import type { KindModule } from "./kind.js";
import { Finding, ObjectRef, RuleContext, finding, objectNamespace } from "./types.js";

// ---- who and where -----------------------------------------------------------

const KIND_WORDS = {
  container: "container",
  initContainer: "init container",
  ephemeralContainer: "ephemeral container",
};

/** Names the container when the workload has several, and always when it is an init or ephemeral one. */
function containerSuffix(w: WorkloadRec, c: { container: string; containerKind: keyof typeof KIND_WORDS }): string {
  if (!c.container) return "";
  if (c.containerKind !== "container") return ` (${KIND_WORDS[c.containerKind]} ${c.container})`;
  return w.kubeVip.length + w.cloudProviders.length > 1 ? ` (container ${c.container})` : "";
}

/** "kube-vip v1.2.3", "kube-vip latest", or for a digest "kube-vip (digest: newest)". */
function release(cfg: KubeVipConfig): string {
  if (cfg.version) return `kube-vip ${formatVersion(cfg.version)}`;
  return cfg.digestPinned ? "kube-vip (pinned by digest, judged as the newest)" : "kube-vip latest";
}

/** The kubelet directory hint for mirror pods: the manifest is what must change. */
function mirrorFix(w: WorkloadRec): string {
  return w.mirror ? `; fix its manifest on node ${w.mirror.node || "?"} (usually in /etc/kubernetes/manifests)` : "";
}

/** Exemptions match the workload, the pods it creates, and the mirror pods of a static pod of that name. */
export function isExempt(policy: Policy, w: WorkloadRec, labels: Record<string, string>): boolean {
  if (!policy.exemptions.length || !policy.exemptions.some((e) => e.namespace === w.namespace)) return false;
  const names = new Set<string>([w.name]);
  if (w.mirror) names.add(w.mirror.manifest);
  if (w.owner) {
    names.add(w.owner.name);
    const hash = labels["pod-template-hash"];
    if (w.owner.kind === "ReplicaSet" && hash && w.owner.name.endsWith(`-${hash}`))
      names.add(w.owner.name.slice(0, -hash.length - 1));
  }
  const kinds = new Set<string>([w.kind]);
  if (w.owner) kinds.add(w.owner.kind === "ReplicaSet" ? "Deployment" : w.owner.kind);
  return policy.exemptions.some(
    (e) => e.namespace === w.namespace && names.has(e.name) && (!e.kind || kinds.has(e.kind) || w.kind === "Pod"),
  );
}

function kubeVipClass(policy: Policy): string {
  return policy.kubeVip?.loadBalancerClass ?? DEFAULT_CLASS;
}

// ---- what an instance claims ------------------------------------------------------

/** The classes this instance claims that another provider owns (honouring svc_namespace). */
function foreignClaims(
  ctx: RuleContext,
  cfg: { claims: Claims; forced?: { claims: Claims }; svcNamespace?: string },
): (string | null)[] {
  const { policy, view } = ctx;
  const foreign: (string | null)[] = [];
  const all = cfg.claims.all || !!cfg.forced?.claims.all;
  const candidates: (string | null)[] = all
    ? Object.values(policy.providers)
        .filter((p) => p!.name !== "kube-vip")
        .map((p) => p!.loadBalancerClass)
    : [...new Set([...classesOf(cfg.claims), ...(cfg.forced ? classesOf(cfg.forced.claims) : [])])];
  for (const c of candidates) {
    const owner = policy.ownerOfClass(c);
    if (!owner || owner.name === "kube-vip") continue;
    if (cfg.svcNamespace) {
      // watching one namespace: harmless when the owner's Services may not exist there
      const d = policy.resolveNamespace(cfg.svcNamespace, view.namespaceLabels(cfg.svcNamespace));
      if (d && !d.allowed.includes(owner.name)) continue;
    }
    foreign.push(c);
  }
  return foreign;
}

function classesOf(c: Claims): (string | null)[] {
  return c.all ? [] : [...c.classes];
}

type Said = [problem: string, fix: string];

function claimMessage(ctx: RuleContext, cfg: KubeVipConfig, foreign: (string | null)[]): Said {
  const { policy } = ctx;
  const kv = kubeVipClass(policy);
  const ownerName = (c: string | null) => policy.ownerOfClass(c)!.title;
  const where = cfg.svcNamespace ? ` in namespace ${cfg.svcNamespace}` : "";
  if (cfg.claims.all) {
    return [
      `image ${clip(cfg.image.repository, 60)}:${cfg.image.tag} (kube-vip ${formatVersion(cfg.version)}, older than v0.5.0) takes every LoadBalancer Service${where}, including ${ownerName(foreign[0])}'s`,
      `upgrade to v0.5.5 or later with lb_class_only "true", or set svc_enable "false"`,
    ];
  }
  const named = foreign.find((c) => c !== null);
  if (named !== undefined && named !== null)
    return [`lb_class_name is "${clip(named, 60)}", the class of ${ownerName(named)}`, `set lb_class_name "${kv}"`];
  const owner = ownerName(null);
  const oldVersion =
    cfg.version && cfg.version[0] === 0 && (cfg.version[1] < 5 || (cfg.version[1] === 5 && cfg.version[2] < 5));
  if (!cfg.lbClassLegacy.value && cfg.lbClassName.value === "")
    return [
      `lb_class_legacy_handling is "false" with an empty lb_class_name, so kube-vip takes only Services without a class${where}, which ${owner} owns`,
      `set lb_class_name "${kv}"`,
    ];
  if (cfg.lbClassName.value === "" && cfg.lbClassName.from === "env")
    return [
      `lb_class_name is empty, so kube-vip takes Services without a class${where}, which ${owner} owns`,
      `set lb_class_name "${kv}" and lb_class_only "true"`,
    ];
  const on = cfg.services.from === "flag" ? "--services is set" : `svc_enable is "${cfg.services.raw}"`;
  let fix: string;
  if (oldVersion) fix = `upgrade kube-vip to v0.5.5 or later and set lb_class_only "true", or set svc_enable "false"`;
  else if (cfg.services.from === "flag")
    fix = `remove --services, or add --lbClassOnly${cfg.lbClassName.value === kv ? "" : ` --lbClassName=${kv}`}`;
  else
    fix = `set svc_enable "false", or lb_class_only "true"${cfg.lbClassName.value === kv ? "" : ` with lb_class_name "${kv}"`}`;
  const ignored = cfg.ignoredEnv.filter((k) => k.startsWith("lb_class"));
  const note = ignored.length
    ? ` (${ignored.join(", ")} ignored: kube-vip reads ${ignored.length > 1 ? "them" : "it"} only when the svc_enable env var is set)`
    : "";
  return [`${on} and kube-vip will also take Services without a class${where}, which ${owner} owns`, fix + note];
}

// ---- coordination between instances ------------------------------------------------

/** What an instance takes of one population of Services, and how it coordinates there. */
interface Take {
  claims: Claims;
  coordination: Coordination;
  svcNamespace?: string;
}

function normalTake(c: KubeVipConfig): Take {
  return { claims: c.claims, coordination: c.coordination, svcNamespace: c.svcNamespace };
}
function forcedTake(c: KubeVipConfig): Take {
  return { claims: c.forced.claims, coordination: c.forced.coordination, svcNamespace: c.svcNamespace };
}

function claimsIntersect(a: Take, b: Take): boolean {
  if (a.svcNamespace && b.svcNamespace && a.svcNamespace !== b.svcNamespace) return false;
  if (a.claims.all) return claimsAny(b.claims);
  if (b.claims.all) return claimsAny(a.claims);
  for (const c of a.claims.classes) if (b.claims.classes.has(c)) return true;
  return false;
}

function sharedClaim(a: Take, b: Take, forced: boolean): string {
  const what = forced ? "forcePerServiceElection Services" : "Services";
  if (a.claims.all && b.claims.all) return forced ? `every ${what}` : "every LoadBalancer Service";
  const mine = a.claims.all ? classesOf(b.claims) : classesOf(a.claims);
  const common = b.claims.all ? mine : mine.filter((c) => classesOf(b.claims).includes(c));
  const c = common[0] ?? null;
  return c === null ? `${what} without a class` : `${what} of class "${clip(c, 60)}"`;
}

function leaseOf(c: Coordination): string {
  switch (c.kind) {
    case "lease":
      return `${c.backend === "etcd" ? "etcd election" : "lease"} ${c.namespace}/${c.name}`;
    case "per-service":
      return c.backend === "etcd" ? "per-Service etcd elections" : "per-Service leases";
    default:
      return "no lease";
  }
}

function sameLease(x: Coordination, y: Coordination): boolean {
  return (
    x.kind === "lease" &&
    y.kind === "lease" &&
    x.backend === y.backend &&
    x.namespace === y.namespace &&
    x.name === y.name
  );
}

/** One election decides who serves: the same global lease, or per-Service elections on one backend. */
function commonElection(x: Coordination, y: Coordination): boolean {
  return sameLease(x, y) || (x.kind === "per-service" && y.kind === "per-service" && x.backend === y.backend);
}

function backendOf(c: Coordination): string | undefined {
  return c.kind === "none" ? undefined : c.backend;
}

interface Clash {
  problem: string;
  fix: string;
  other: WorkloadRec;
}

/** How to give an instance a global lease of its own (the name is fixed in some releases). */
function ownLeaseFix(cfg: KubeVipConfig): string {
  // ARP before v0.6.3, table mode and WireGuard before v1.1.0 use plndr-svcs-lock
  // whatever svc_leasename says; WireGuard from v1.1.0 serves under the control-plane lease (K5)
  const honours: Record<string, Version> = { arp: [0, 6, 3], table: [1, 1, 0], wireguard: [1, 1, 0] };
  const from = honours[cfg.mode];
  if (from && versionBefore(cfg.version, from))
    return `${release(cfg)} ignores svc_leasename in ${MODE_NAMES[cfg.mode]} mode: upgrade to ${formatVersion(from)} or later`;
  if (cfg.mode === "wireguard") return "set vip_leasename to a lease of its own";
  return "set svc_leasename to a lease of its own";
}

const MODE_NAMES: Record<string, string> = { arp: "ARP", bgp: "BGP", table: "table", wireguard: "WireGuard" };

/** The clash between two instances, if any (docs/controllers.md K5). */
function pairClash(cfg: KubeVipConfig, o: KubeVipConfig, them: string): Omit<Clash, "other"> | undefined {
  const a = normalTake(cfg);
  const b = normalTake(o);
  if (claimsIntersect(a, b)) {
    if (!commonElection(a.coordination, b.coordination))
      return {
        problem: `and ${them} both take ${sharedClaim(a, b, false)} via ${leaseOf(a.coordination)} vs ${leaseOf(b.coordination)}, so both announce the same VIPs`,
        fix:
          backendOf(a.coordination) &&
          backendOf(b.coordination) &&
          backendOf(a.coordination) !== backendOf(b.coordination)
            ? "use one --leaderElectionType and one svc_leasename, or separate classes"
            : "use one svc_leasename or separate classes",
      };
  } else if (sameLease(a.coordination, b.coordination) && claimsAny(a.claims) && claimsAny(b.claims)) {
    return {
      problem: `shares the services ${leaseOf(a.coordination)} with ${them} but takes other Services: only the lease holder serves, so one of them never does`,
      fix: ownLeaseFix(cfg),
    };
  }
  // Annotated Services (v1.2.2+ skip them unless per-Service election on demand
  // elects them; older releases take them like any other).
  if (!cfg.forced.honoured && !o.forced.honoured) return undefined;
  const fa = forcedTake(cfg);
  const fb = forcedTake(o);
  if (claimsIntersect(fa, fb) && !commonElection(fa.coordination, fb.coordination))
    return {
      problem: `and ${them} both take ${sharedClaim(fa, fb, true)} via ${leaseOf(fa.coordination)} vs ${leaseOf(fb.coordination)}, so both announce the same VIPs`,
      fix: "upgrade the older one to v1.2.2 or later, or separate classes",
    };
  return undefined;
}

function clashes(ctx: RuleContext, w: WorkloadRec, cfg: KubeVipConfig): Clash[] {
  const out: Clash[] = [];
  if (!takesServices(cfg)) return out;
  // a controller and its Pods are one instance: report each other instance once
  const judged = new Set<string>([w.instance]);
  for (const other of ctx.view.workloads()) {
    if (judged.has(other.instance)) continue;
    judged.add(other.instance);
    for (const o of other.kubeVip) {
      if (!o.serves || !takesServices(o)) continue;
      const c = pairClash(cfg, o, workloadTitle(other));
      if (c) out.push({ ...c, other });
      if (out.length >= 3) return out;
    }
  }
  return out;
}

// ---- exits at start ----------------------------------------------------------------

function exitMessage(cfg: KubeVipConfig, e: Exit): { said: Said; field: string } {
  const where = (key: string) => (key.startsWith("--") ? `args ${key}` : `env ${key}`);
  switch (e.reason) {
    case "modes": {
      const keys = e.keys.length === 2 ? `${e.keys[0]} and ${e.keys[1]} are both` : `${e.keys.join(", ")} are all`;
      return {
        said: [
          `${keys} on, and ${release(cfg)} runs one mode only: it exits at start ("multiple kube-vip modes detected") and the pod crash-loops`,
          `keep one of ${e.keys.join(", ")}`,
        ],
        field: where(e.keys[1]),
      };
    }
    case "no-mode":
      return {
        said: [
          `no mode is on (vip_arp, bgp_enable, vip_routingtable or vip_wireguard), and ${release(cfg)} exits at start without one ("no valid kube-vip mode detected"): the pod crash-loops`,
          `turn one on, e.g. vip_arp "true"`,
        ],
        field: "env vip_arp",
      };
    case "leader-election-type":
      return {
        said: [
          `--leaderElectionType=${clip(e.raw, 30)}, which kube-vip knows only as "kubernetes" or "etcd": it exits at start and the pod crash-loops`,
          `use --leaderElectionType=kubernetes (or etcd)`,
        ],
        field: "args --leaderElectionType",
      };
    case "unknown-flag": {
      const newer = !!e.since && versionBefore(cfg.version, e.since);
      const when = newer ? `it is new in ${formatVersion(e.since)}` : `it was removed after ${formatVersion(e.until)}`;
      return {
        said: [
          `${e.key}, which ${release(cfg)} does not have (${when}): it exits at start ("unknown flag") and the pod crash-loops`,
          newer ? `remove ${e.key}, or upgrade kube-vip to ${formatVersion(e.since)} or later` : `remove ${e.key}`,
        ],
        field: `args ${e.key}`,
      };
    }
  }
}

/** The warning for a digest-pinned image whose oldest behaviour would change the decision (docs/controllers.md V3). */
function digestWarning(
  ctx: RuleContext,
  w: WorkloadRec,
  cfg: KubeVipConfig,
  deniedClaims: boolean,
  clashed: boolean,
): Said | undefined {
  const old = cfg.oldest;
  if (!old || !takesServices(old)) return undefined;
  const digest = cfg.image.digest ?? "";
  const short = digest.includes(":") ? digest.slice(0, digest.indexOf(":") + 13) : digest.slice(0, 12);
  const image = `image ${clip(cfg.image.repository, 50)}@${short}${digest.length > short.length ? "…" : ""} is pinned by digest (judged as the newest kube-vip)`;
  const fix = "make sure the digest is v0.5.5 or later";
  if (!deniedClaims) {
    const foreign = foreignClaims(ctx, old);
    if (foreign.length) {
      const owner = ctx.policy.ownerOfClass(foreign[0])!.title;
      return [`${image}; v0.4.4 or older would take every LoadBalancer Service, ${owner}'s too`, fix];
    }
  }
  if (!clashed && ctx.stateReady) {
    const c = clashes(ctx, w, old)[0];
    if (c)
      return [
        `${image}; v0.4.4 or older would take every LoadBalancer Service and clash with ${workloadTitle(c.other)}`,
        fix,
      ];
  }
  return undefined;
}

// ---- the rule ---------------------------------------------------------------------

export function validateWorkload(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  if (!req.object || !isWorkloadKind(req.object.kind ?? req.kind.kind)) return [];
  const ns = objectNamespace(req, req.object);
  // the record needs kind, apiVersion and namespace; copy only when the object lacks them
  let obj: KubeObject = req.object;
  if (obj.kind === undefined || obj.apiVersion === undefined || obj.metadata?.namespace !== ns) {
    obj = {
      ...req.object,
      kind: req.object.kind ?? req.kind.kind,
      metadata: { ...(req.object.metadata ?? {}), namespace: ns },
    };
    if (!obj.apiVersion) obj.apiVersion = req.kind.group ? `${req.kind.group}/${req.kind.version}` : req.kind.version;
  }
  const w = workloadRecord(obj, ns);
  if (!w) return [];
  const family: RuleFamily = w.mirror ? "mirrorPods" : "kubeVip";
  const exempt = isExempt(policy, w, stringMap(obj.metadata?.labels));
  const out: Finding[] = [];
  const base = workloadTitle(w);
  const mirror = mirrorFix(w);
  const say = (
    who: string,
    rule: string,
    [problem, fix]: Said,
    o: { severity?: "warn"; field?: string; related?: ObjectRef[]; join?: " " } = {},
  ) =>
    out.push(
      finding(rule, { kind: w.kind, namespace: w.namespace, name: w.name, title: who }, problem, fix + mirror, {
        ...o,
        family,
      }),
    );

  for (const cfg of w.kubeVip) {
    // `kube-vip manifest …` and the like print and exit: nothing to judge (K8)
    if (!cfg.serves) continue;
    const who = base + containerSuffix(w, cfg);
    for (const b of cfg.invalidBools)
      say(
        who,
        "kube-vip.boolean",
        [
          `${b.from === "flag" ? `${b.key}=${clip(b.raw, 30)}` : `${b.key} is ${clip(JSON.stringify(b.raw), 30)}`}, which kube-vip cannot parse as a boolean: it exits at start and the pod crash-loops`,
          `use "true" or "false"`,
        ],
        { field: b.from === "flag" ? `args ${b.key}` : `env ${b.key}` },
      );
    // other reasons the manager exits at start: like a bad boolean, the pod crash-loops and takes nothing
    for (const e of cfg.exits) {
      const { said, field } = exitMessage(cfg, e);
      say(who, "kube-vip.boolean", said, { field });
    }
    let deniedClaims = false;
    if (!exempt && takesServices(cfg)) {
      const foreign = foreignClaims(ctx, cfg);
      deniedClaims = foreign.length > 0;
      if (foreign.length) say(who, "kube-vip.claims", claimMessage(ctx, cfg, foreign), { field: "env svc_enable" });
    }
    for (const vip of cfg.controlPlaneVIPs) {
      const ip = vip.ip;
      if (!ip) {
        say(
          who,
          "kube-vip.unverifiable",
          [
            `control-plane VIP ${clip(JSON.stringify(vip.value), 40)} (${vip.key}) is not an IP address`,
            "lbguard cannot check it against MetalLB's pools",
          ],
          { severity: "warn", field: vip.key },
        );
        continue;
      }
      if (!ctx.stateReady) {
        ctx.needState("MetalLB's pools");
        continue;
      }
      for (const { module: other } of othersThan(policy, "kube-vip")) {
        const o = other.addressOwners(view, policy, pointInterval(ip), {}, 1)[0];
        if (!o) continue;
        say(
          who,
          "kube-vip.vip-in-pool",
          [
            `control-plane VIP ${vip.value} (${vip.key}) is inside ${o.what} (${o.entry}); ${other.title} could give it to a Service`,
            "move the VIP or the pool",
          ],
          { field: vip.key, related: o.ref ? [o.ref] : [] },
        );
      }
    }
    let clashed = false;
    if (!exempt && (takesServices(cfg) || (cfg.oldest && takesServices(cfg.oldest)))) {
      if (!ctx.stateReady) ctx.needState("the other kube-vip instances");
      else
        for (const c of clashes(ctx, w, cfg)) {
          clashed = true;
          say(who, "kube-vip.lease-clash", [c.problem, c.fix], {
            join: " ",
            field: "env svc_leasename",
            related: [{ kind: c.other.kind, namespace: c.other.namespace, name: c.other.name }],
          });
        }
    }
    if (!exempt && cfg.digestPinned) {
      const warn = digestWarning(ctx, w, cfg, deniedClaims, clashed);
      if (warn) say(who, "kube-vip.unverifiable", warn, { severity: "warn" });
    }
    const unseen = relevantUnverifiable(cfg);
    if (unseen.length)
      say(
        who,
        "kube-vip.unverifiable",
        [`${unseen.join(", ")} cannot be read by lbguard`, "which Services this kube-vip takes is not verified"],
        { severity: "warn" },
      );
  }

  for (const cp of w.cloudProviders) {
    const who = base + containerSuffix(w, cp);
    for (const b of cp.invalidBools)
      say(
        who,
        "kube-vip.boolean",
        [
          `${b.key} is ${clip(JSON.stringify(b.raw), 30)}, which kube-vip-cloud-provider cannot parse as a boolean: it exits at start`,
          `use "true" or "false"`,
        ],
        { field: `env ${b.key}` },
      );
    if (!exempt) {
      const foreign = foreignClaims(ctx, { claims: cp.claims });
      if (foreign.length)
        say(who, "kube-vip.cloud-provider", cloudProviderMessage(policy, foreign[0]), {
          field: "env KUBEVIP_ENABLE_LOADBALANCERCLASS",
        });
    }
    if (cp.unverifiable.length)
      say(
        who,
        "kube-vip.unverifiable",
        [
          `${cp.unverifiable.join(", ")} cannot be read by lbguard`,
          "which Services kube-vip-cloud-provider serves is not verified",
        ],
        { severity: "warn" },
      );
    // its ranges are checked only in the policy's ConfigMap (docs/controllers.md K10)
    const want = policy.kubeVip?.configMap;
    const hidden = cp.unverifiable.some((u) => /^(KUBEVIP_NAMESPACE|KUBEVIP_CONFIG_MAP|envFrom)\b/.test(u));
    if (want && !hidden && (cp.configMap.namespace !== want.namespace || cp.configMap.name !== want.name)) {
      const from = cp.configMapSource.map((x) => x.key).join(", ") || "its default";
      const have = `${cp.configMap.namespace}/${cp.configMap.name}`;
      say(
        who,
        "kube-vip.unverifiable",
        [
          `reads ConfigMap ${clip(have, 80)} (${from}), not the policy's ${want.namespace}/${want.name}: its ranges go unchecked`,
          `set providers.kube-vip.configMap to ${clip(have, 80)}`,
        ],
        { severity: "warn", field: `env ${cp.configMapSource[0]?.key ?? "KUBEVIP_CONFIG_MAP"}` },
      );
    }
  }
  return out;
}

/**
 * Settings lbguard cannot read, kept only where they could change a value the
 * rules read (vip_nodename from fieldRef, in every generated manifest, is not one).
 */
function relevantUnverifiable(cfg: KubeVipConfig): string[] {
  const hidden = (name: string) => cfg.unverifiable.includes(`${name} (valueFrom)`);
  const servicesMaybe = cfg.services.value || hidden("svc_enable");
  const cpMaybe = cfg.controlPlane.value || hidden("cp_enable");
  return cfg.unverifiable.filter((u) => {
    const name = u.split(" ")[0];
    if (name === "svc_enable" || name === "envFrom" || name === "--config-file" || name === "cp_enable") return true;
    if (
      SVC_GATED.includes(name) ||
      [
        "vip_arp",
        "bgp_enable",
        "vip_routingtable",
        "vip_wireguard",
        "vip_leaderelection",
        "vip_leasename",
        "per_service_election_on_demand",
      ].includes(name)
    )
      return servicesMaybe;
    if (["address", "vip_address", "cp_namespace"].includes(name))
      return cpMaybe || (name === "cp_namespace" && servicesMaybe);
    return true;
  });
}

function cloudProviderMessage(policy: Policy, c: string | null): Said {
  const kv = kubeVipClass(policy);
  const owner = policy.ownerOfClass(c)!.title;
  if (c === null)
    return [
      `kube-vip-cloud-provider allocates addresses for Services without a class, which ${owner} owns`,
      `set env KUBEVIP_ENABLE_LOADBALANCERCLASS "true"${kv !== DEFAULT_CLASS ? ` and KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME "${kv}"` : ""}`,
    ];
  return [`KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME is "${clip(c, 60)}", the class of ${owner}`, `set it to "${kv}"`];
}

const CONTAINER_FIELDS = ["name", "image", "command", "args", "env", "envFrom"] as const;

/** What a kube-vip decision reads of a pod spec at `at` (a Pod's spec, or a controller's template). */
function podSpecFields(...at: string[]): FieldSpec[] {
  return [
    { path: [...at, "containers"], each: CONTAINER_FIELDS },
    // every container that runs counts (docs/controllers.md S3)
    { path: [...at, "initContainers"], each: CONTAINER_FIELDS },
    { path: [...at, "ephemeralContainers"], each: CONTAINER_FIELDS },
    { path: [...at, "automountServiceAccountToken"] },
    { path: [...at, "serviceAccountName"] },
  ];
}

/** A mirror pod: the API copy of a static pod, judged under mirrorPods. */
function isMirrorPod(o: KubeObject | null | undefined): boolean {
  const ann = o?.metadata?.annotations;
  return !!ann && typeof ann === "object" && Object.prototype.hasOwnProperty.call(ann, MIRROR_ANNOTATION);
}

const WORKLOAD_RULES = [
  "kube-vip.boolean",
  "kube-vip.claims",
  "kube-vip.cloud-provider",
  "kube-vip.vip-in-pool",
  "kube-vip.lease-clash",
  "kube-vip.unverifiable",
] as const;

export const podKind: KindModule = {
  group: "",
  kinds: ["Pod"],
  checks: [
    {
      family: "kubeVip",
      familyOf: (req) => (isMirrorPod(req.object) ? "mirrorPods" : "kubeVip"),
      operations: ["CREATE", "UPDATE"],
      // an ephemeral container is added through its own subresource (docs/controllers.md S3)
      subResources: ["", "ephemeralcontainers"],
      fields: podSpecFields("spec"),
      rules: WORKLOAD_RULES,
      validate: validateWorkload,
    },
  ],
};

export const appsKind: KindModule = {
  group: "apps",
  kinds: ["DaemonSet", "Deployment", "StatefulSet"],
  checks: [
    {
      family: "kubeVip",
      operations: ["CREATE", "UPDATE"],
      fields: podSpecFields("spec", "template", "spec"),
      rules: WORKLOAD_RULES,
      validate: validateWorkload,
    },
  ],
};
