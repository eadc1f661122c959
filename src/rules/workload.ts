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
import { DEFAULT_CLASS, KubeVipConfig, SVC_GATED } from "../kubevip/effective.js";
import { formatVersion } from "../kubevip/image.js";
import type { Policy, RuleFamily } from "../policy/policy.js";
import { othersThan, workloadTitle } from "../providers/index.js";
import type { FieldSpec } from "./fields.js";
import type { KindModule } from "./kind.js";
import { Finding, ObjectRef, RuleContext, finding, objectNamespace } from "./types.js";

// ---- who and where -----------------------------------------------------------

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

interface Clash {
  problem: string;
  fix: string;
  other: WorkloadRec;
}

function clashes(ctx: RuleContext, w: WorkloadRec, cfg: KubeVipConfig): Clash[] {
  const out: Clash[] = [];
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
          out.push({
            problem: `and ${them} both take ${sharedClaim(cfg, o)} via ${leaseOf(cfg)} vs ${leaseOf(o)}, so both announce the same VIPs`,
            fix: "use one svc_leasename or separate classes",
            other,
          });
      } else if (sameLease(cfg, o)) {
        out.push({
          problem: `shares the services ${leaseOf(cfg)} with ${them} but takes other Services: only the lease holder serves, so one of them never does`,
          fix: "set svc_leasename to a lease of its own",
          other,
        });
      }
      if (out.length >= 3) return out;
    }
  }
  return out;
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
    const who = base + containerSuffix(w, cfg.container);
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
    if (!exempt && cfg.services.value) {
      const foreign = foreignClaims(ctx, cfg);
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
    if (!exempt && cfg.services.value) {
      if (!ctx.stateReady) ctx.needState("the other kube-vip instances");
      else
        for (const c of clashes(ctx, w, cfg))
          say(who, "kube-vip.lease-clash", [c.problem, c.fix], {
            join: " ",
            field: "env svc_leasename",
            related: [{ kind: c.other.kind, namespace: c.other.namespace, name: c.other.name }],
          });
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
    const who = base + containerSuffix(w, cp.container);
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
