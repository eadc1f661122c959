/**
 * SPEC §7.5: kube-vip workloads (Pods, DaemonSets, Deployments,
 * StatefulSets; mirror pods of static pods) and kube-vip-cloud-provider.
 * Each kube-vip container's effective configuration (src/kubevip) decides
 * which Services it claims, how it coordinates with other instances, and
 * which control-plane VIPs it binds.
 */
import { pointInterval } from "../addr/interval.js";
import { clip } from "../addr/quote.js";
import { WorkloadRec, KubeObject, workloadRecord, isWorkloadKind } from "../cluster/records.js";
import { stringMap } from "../k8s/service.js";
import { CloudProviderConfig, DEFAULT_CLASS, KubeVipConfig, SVC_GATED } from "../kubevip/effective.js";
import { formatVersion } from "../kubevip/image.js";
import type { Policy, RuleFamily } from "../policy/policy.js";
import { classPhrase } from "./messages.js";
import { poolSummary } from "./ownership.js";
import { Finding, RuleContext, objectNamespace } from "./types.js";

const RANK = { bool: 0, claim: 1, vip: 2, clash: 3, unverifiable: 4 } as const;

// ---- who and where -----------------------------------------------------------

export function workloadTitle(w: WorkloadRec): string {
  if (w.mirror) return `static pod ${w.namespace}/${w.mirror.manifest}`;
  return `${w.kind} ${w.namespace}/${w.name}`;
}

function containerSuffix(w: WorkloadRec, name: string): string {
  return w.kubeVip.length + w.cloudProviders.length > 1 && name ? ` (container ${name})` : "";
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
  cfg: { claims: KubeVipConfig["claims"]; svcNamespace?: string },
): (string | null)[] {
  const { policy, view } = ctx;
  const foreign: (string | null)[] = [];
  const candidates: (string | null)[] = cfg.claims.all
    ? Object.values(policy.providers)
        .filter((p) => p!.name !== "kube-vip")
        .map((p) => p!.loadBalancerClass)
    : [...cfg.claims.classes];
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

function claimMessage(ctx: RuleContext, who: string, cfg: KubeVipConfig, foreign: (string | null)[]): string {
  const { policy } = ctx;
  const kv = kubeVipClass(policy);
  const ownerName = (c: string | null) => policy.ownerOfClass(c)!.title;
  const where = cfg.svcNamespace ? ` in namespace ${cfg.svcNamespace}` : "";
  if (cfg.claims.all) {
    return `${who}: image ${clip(cfg.image.repository, 60)}:${cfg.image.tag} (kube-vip ${formatVersion(cfg.version)}, older than v0.5.0) takes every LoadBalancer Service${where}, including ${ownerName(foreign[0])}'s; upgrade to v0.5.5 or later with lb_class_only "true", or set svc_enable "false"`;
  }
  const named = foreign.find((c) => c !== null);
  if (named !== undefined && named !== null)
    return `${who}: lb_class_name is "${clip(named, 60)}", the class of ${ownerName(named)}; set lb_class_name "${kv}"`;
  const owner = ownerName(null);
  const oldVersion =
    cfg.version && cfg.version[0] === 0 && (cfg.version[1] < 5 || (cfg.version[1] === 5 && cfg.version[2] < 5));
  if (!cfg.lbClassLegacy.value && cfg.lbClassName.value === "")
    return `${who}: lb_class_legacy_handling is "false" with an empty lb_class_name, so kube-vip takes only Services without a class${where}, which ${owner} owns; set lb_class_name "${kv}"`;
  if (cfg.lbClassName.value === "" && cfg.lbClassName.from === "env")
    return `${who}: lb_class_name is empty, so kube-vip takes Services without a class${where}, which ${owner} owns; set lb_class_name "${kv}" and lb_class_only "true"`;
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
  return `${who}: ${on} and kube-vip will also take Services without a class${where}, which ${owner} owns; ${fix}${note}`;
}

// ---- coordination between instances ------------------------------------------------

function claimsIntersect(a: KubeVipConfig, b: KubeVipConfig): boolean {
  if (a.svcNamespace && b.svcNamespace && a.svcNamespace !== b.svcNamespace) return false;
  const size = (c: KubeVipConfig["claims"]) => c.all || c.classes.size > 0;
  if (a.claims.all) return size(b.claims);
  if (b.claims.all) return size(a.claims);
  for (const c of a.claims.classes) if (b.claims.classes.has(c)) return true;
  return false;
}

function sharedClaim(a: KubeVipConfig, b: KubeVipConfig): string {
  if (a.claims.all && b.claims.all) return "every LoadBalancer Service";
  const mine = a.claims.all ? [...(b.claims as { classes: Set<string | null> }).classes] : [...a.claims.classes];
  const common = b.claims.all ? mine : mine.filter((c) => (b.claims as { classes: Set<string | null> }).classes.has(c));
  const c = common[0] ?? null;
  return c === null ? "Services without a class" : `Services of class "${c}"`;
}

function leaseOf(c: KubeVipConfig): string {
  switch (c.coordination.kind) {
    case "lease":
      return `lease ${c.coordination.namespace}/${c.coordination.name}`;
    case "per-service":
      return "per-Service leases";
    default:
      return "no lease";
  }
}

function sameLease(a: KubeVipConfig, b: KubeVipConfig): boolean {
  const x = a.coordination;
  const y = b.coordination;
  return x.kind === "lease" && y.kind === "lease" && x.namespace === y.namespace && x.name === y.name;
}

function clashes(ctx: RuleContext, w: WorkloadRec, who: string, cfg: KubeVipConfig): string[] {
  const out: string[] = [];
  if (!cfg.services.value || (!cfg.claims.all && cfg.claims.classes.size === 0)) return out;
  for (const other of ctx.view.workloads()) {
    if (other.instance === w.instance) continue;
    for (const o of other.kubeVip) {
      if (!o.services.value || (!o.claims.all && o.claims.classes.size === 0)) continue;
      const them = workloadTitle(other);
      if (claimsIntersect(cfg, o)) {
        const common =
          sameLease(cfg, o) || (cfg.coordination.kind === "per-service" && o.coordination.kind === "per-service");
        if (!common)
          out.push(
            `${who} and ${them} both take ${sharedClaim(cfg, o)} via ${leaseOf(cfg)} vs ${leaseOf(o)}, so both announce the same VIPs; use one svc_leasename or separate classes`,
          );
      } else if (sameLease(cfg, o)) {
        out.push(
          `${who} shares the services ${leaseOf(cfg)} with ${them} but takes other Services: only the lease holder serves, so one of them never does; set svc_leasename to a lease of its own`,
        );
      }
      if (out.length >= 3) return out;
    }
  }
  return out;
}

// ---- the rule ---------------------------------------------------------------------

function relevantKey(o: KubeObject | null | undefined): string {
  if (!o) return "";
  const spec = o.spec as { template?: { spec?: unknown }; containers?: unknown } | undefined;
  const ps = (o.kind === "Pod" ? spec : spec?.template?.spec) as Record<string, unknown> | undefined;
  if (!ps) return "";
  const cs = Array.isArray(ps.containers) ? ps.containers : [];
  return JSON.stringify([
    cs.map((c: Record<string, unknown>) => [c?.name, c?.image, c?.command, c?.args, c?.env, c?.envFrom]),
    ps.automountServiceAccountToken ?? null,
    ps.serviceAccountName ?? null,
  ]);
}

function finding(
  family: RuleFamily,
  rule: string,
  rank: number,
  message: string,
  severity: "deny" | "warn" = "deny",
): Finding {
  return { rule, family, severity, rank, message };
}

export function validateWorkload(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  if ((req.operation !== "CREATE" && req.operation !== "UPDATE") || !req.object) return [];
  if (!isWorkloadKind(req.object.kind ?? req.kind.kind)) return [];
  if (req.operation === "UPDATE" && req.oldObject && relevantKey(req.oldObject) === relevantKey(req.object)) return [];
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
  const fix = mirrorFix(w);
  const out: Finding[] = [];
  const base = workloadTitle(w);

  for (const cfg of w.kubeVip) {
    const who = base + containerSuffix(w, cfg.container);
    for (const b of cfg.invalidBools)
      out.push(
        finding(
          family,
          "kube-vip.boolean",
          RANK.bool,
          `${who}: ${b.from === "flag" ? `${b.key}=${clip(b.raw, 30)}` : `${b.key} is ${clip(JSON.stringify(b.raw), 30)}`}, which kube-vip cannot parse as a boolean: it exits at start and the pod crash-loops; use "true" or "false"${fix}`,
        ),
      );
    if (!exempt && cfg.services.value) {
      const foreign = foreignClaims(ctx, cfg);
      if (foreign.length)
        out.push(finding(family, "kube-vip.claims", RANK.claim, claimMessage(ctx, who, cfg, foreign) + fix));
    }
    for (const vip of cfg.controlPlaneVIPs) {
      const ip = vip.ip;
      if (!ip) {
        out.push(
          finding(
            family,
            "kube-vip.unverifiable",
            RANK.unverifiable,
            `${who}: control-plane VIP ${clip(JSON.stringify(vip.value), 40)} (${vip.key}) is not an IP address; lbguard cannot check it against MetalLB's pools`,
            "warn",
          ),
        );
        continue;
      }
      if (!ctx.stateReady) {
        ctx.needState("MetalLB's pools");
        continue;
      }
      const m = policy.metallb;
      if (!m) continue;
      view.forEachPoolOverlap(m.namespace, pointInterval(ip), (pool) => {
        out.push(
          finding(
            family,
            "kube-vip.vip-in-pool",
            RANK.vip,
            `${who}: control-plane VIP ${vip.value} (${vip.key}) is inside IPAddressPool ${m.namespace}/${poolSummary(pool, 1)}; MetalLB could give it to a Service; move the VIP or the pool${fix}`,
          ),
        );
        return true;
      });
    }
    if (!exempt && cfg.services.value) {
      if (!ctx.stateReady) ctx.needState("the other kube-vip instances");
      else
        for (const m of clashes(ctx, w, who, cfg))
          out.push(finding(family, "kube-vip.lease-clash", RANK.clash, m + fix));
    }
    const unseen = relevantUnverifiable(cfg);
    if (unseen.length)
      out.push(
        finding(
          family,
          "kube-vip.unverifiable",
          RANK.unverifiable,
          `${who}: ${unseen.join(", ")} cannot be read by lbguard; which Services this kube-vip takes is not verified`,
          "warn",
        ),
      );
  }

  for (const cp of w.cloudProviders) {
    const who = base + containerSuffix(w, cp.container);
    for (const b of cp.invalidBools)
      out.push(
        finding(
          family,
          "kube-vip.boolean",
          RANK.bool,
          `${who}: ${b.key} is ${clip(JSON.stringify(b.raw), 30)}, which kube-vip-cloud-provider cannot parse as a boolean: it exits at start; use "true" or "false"`,
        ),
      );
    if (!exempt) {
      const foreign = foreignClaims(ctx, { claims: cp.claims });
      if (foreign.length)
        out.push(
          finding(family, "kube-vip.cloud-provider", RANK.claim, cloudProviderMessage(policy, who, cp, foreign[0])),
        );
    }
    if (cp.unverifiable.length)
      out.push(
        finding(
          family,
          "kube-vip.unverifiable",
          RANK.unverifiable,
          `${who}: ${cp.unverifiable.join(", ")} cannot be read by lbguard; which Services kube-vip-cloud-provider serves is not verified`,
          "warn",
        ),
      );
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
    if (SVC_GATED.includes(name) || ["vip_arp", "bgp_enable", "vip_routingtable", "vip_wireguard"].includes(name))
      return servicesMaybe;
    if (["address", "vip_address", "cp_namespace"].includes(name))
      return cpMaybe || (name === "cp_namespace" && servicesMaybe);
    return true;
  });
}

function cloudProviderMessage(policy: Policy, who: string, cp: CloudProviderConfig, c: string | null): string {
  const kv = kubeVipClass(policy);
  const owner = policy.ownerOfClass(c)!.title;
  if (c === null)
    return `${who}: kube-vip-cloud-provider allocates addresses for Services without a class, which ${owner} owns; set env KUBEVIP_ENABLE_LOADBALANCERCLASS "true"${kv !== DEFAULT_CLASS ? ` and KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME "${kv}"` : ""}`;
  return `${who}: KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME is "${clip(c, 60)}", the class of ${owner}; set it to "${kv}"`;
}

/** For `check` and tests: how the claims of an instance read in words. */
export function describeClaims(cfg: KubeVipConfig): string {
  if (!cfg.services.value) return "no Services (services off)";
  if (cfg.claims.all) return "every LoadBalancer Service";
  return [...cfg.claims.classes].map((c) => (c === null ? "no class" : classPhrase(c))).join(", ") || "nothing";
}
