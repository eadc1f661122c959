/**
 * The load-balancer controllers that run in the audited cluster and which
 * Services each one takes (docs/controllers.md M7, K2, K10, L1): MetalLB's
 * controller by its `--lb-class`, every kube-vip instance by its effective
 * configuration (the view's WorkloadRec: mirror pods of one manifest are one
 * instance), kube-vip-cloud-provider by its class env; and the changes that
 * make one of them leave a class, in the notation its install uses.
 */
import type { WorkloadRec } from "../cluster/records.js";
import type { ClusterView } from "../cluster/view.js";
import { objectKey } from "../cluster/view.js";
import type { ObjectRef } from "../findings/finding.js";
import { KV } from "../k8s/service.js";
import { Claims, DEFAULT_CLASS, KubeVipConfig, claimsClass } from "../kubevip/effective.js";
import { formatVersion, versionBefore } from "../kubevip/image.js";
import type { Policy } from "../policy/policy.js";
import { workloadTitle } from "../providers/index.js";
import type { AuditFacts, MetalLBFact, ServiceFact } from "./facts.js";

export interface Controller {
  provider: "metallb" | "kube-vip";
  role: "metallb" | "kube-vip" | "cloud-provider";
  /** the object to point at (for a static pod: its first mirror pod) */
  ref: ObjectRef;
  /** every object of the instance (a static pod's mirror pods on each node) */
  refs: ObjectRef[];
  /** `Deployment metallb-system/controller`, `static pod kube-system/kube-vip` */
  title: string;
  /** why it takes what it takes: `no --lb-class`, `svc_enable "true"` */
  how: string;
  claims: Claims;
  /** kube-vip's svc_namespace: it watches only this namespace */
  svcNamespace?: string;
  /** nodes of a static pod's mirror pods */
  nodes: string[];
  cfg?: KubeVipConfig;
  workload?: WorkloadRec;
  metallb?: MetalLBFact;
  container?: string;
}

function metallbControllers(facts: AuditFacts): Controller[] {
  return facts.metallb
    .filter((m) => m.role === "controller")
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .map((m) => ({
      provider: "metallb",
      role: "metallb",
      ref: { kind: m.kind, namespace: m.namespace, name: m.name },
      refs: [{ kind: m.kind, namespace: m.namespace, name: m.name }],
      title: `${m.kind} ${m.namespace}/${m.name}`,
      how: m.lbClass === null ? "no --lb-class" : `--lb-class=${m.lbClass}`,
      claims: { all: false, classes: new Set([m.lbClass]) },
      nodes: [],
      metallb: m,
    }));
}

function serviceSwitch(cfg: KubeVipConfig): string {
  if (cfg.claims.all) return `kube-vip ${formatVersion(cfg.version)}, which takes every LoadBalancer Service`;
  if (cfg.services.from === "flag") return "--services";
  return `svc_enable "${cfg.services.raw ?? "true"}"`;
}

/** Every controller that takes Services now, in a stable order (MetalLB first, then kube-vip by instance). */
export function runningControllers(view: ClusterView, facts: AuditFacts): Controller[] {
  const out = metallbControllers(facts);
  const instances = new Map<string, WorkloadRec[]>();
  for (const w of view.workloads()) {
    const list = instances.get(w.instance);
    if (list) list.push(w);
    else instances.set(w.instance, [w]);
  }
  const keys = [...instances.keys()].sort();
  for (const k of keys) {
    // a controller stands for its Pods (they share its instance); mirror pods of one manifest stay, one per node
    const all = instances.get(k)!;
    const controller = all.filter((x) => x.kind !== "Pod");
    const ws = (controller.length ? controller : all).sort((a, b) => a.name.localeCompare(b.name));
    const w = ws[0];
    const nodes = ws.map((x) => x.mirror?.node ?? "").filter(Boolean);
    const refs: ObjectRef[] = ws.map((x) => ({ kind: x.kind, namespace: x.namespace, name: x.name }));
    const ref = refs[0];
    for (const cfg of w.kubeVip) {
      if (!cfg.services.value || (!cfg.claims.all && cfg.claims.classes.size === 0)) continue;
      out.push({
        provider: "kube-vip",
        role: "kube-vip",
        ref,
        refs,
        title: workloadTitle(w),
        how: serviceSwitch(cfg),
        claims: cfg.claims,
        svcNamespace: cfg.svcNamespace,
        nodes,
        cfg,
        workload: w,
        container: w.kubeVip.length + w.cloudProviders.length > 1 ? cfg.container : undefined,
      });
    }
    for (const cp of w.cloudProviders) {
      out.push({
        provider: "kube-vip",
        role: "cloud-provider",
        ref,
        refs,
        title: `kube-vip-cloud-provider ${w.kind} ${w.namespace}/${w.name}`,
        how: cp.claims.all || cp.claims.classes.has(null) ? "KUBEVIP_ENABLE_LOADBALANCERCLASS unset" : "its class",
        claims: cp.claims,
        nodes,
        workload: w,
        container: w.kubeVip.length + w.cloudProviders.length > 1 ? cp.container : undefined,
      });
    }
  }
  return out;
}

/** Whether a controller takes this Service (class, kube-vip's svc_namespace and kube-vip.io/ignore). */
export function takes(c: Controller, s: Pick<ServiceFact, "namespace" | "cls" | "annotations">): boolean {
  if (c.provider === "kube-vip") {
    if (c.role === "kube-vip" && s.annotations?.[KV.ignore] === "true") return false;
    if (c.svcNamespace && c.svcNamespace !== s.namespace) return false;
  }
  return claimsClass(c.claims, s.cls);
}

/** Some container env of a workload as the audit keeps it (its slim copy), or undefined. */
export function containerEnv(facts: AuditFacts, c: Controller, name: string): string | undefined {
  const w = c.workload;
  if (!w) return undefined;
  const o = facts.judged.get(objectKey(w.kind, w.namespace, w.name)) as Record<string, any> | undefined;
  const ps = w.kind === "Pod" ? o?.spec : o?.spec?.template?.spec;
  const containers: Record<string, any>[] = Array.isArray(ps?.containers) ? ps.containers : [];
  const want = c.cfg?.container ?? c.container;
  const ctr = containers.find((x) => (want ? x?.name === want : true));
  const env = Array.isArray(ctr?.env) ? ctr.env : [];
  let v: string | undefined;
  for (const e of env) if (e?.name === name && typeof e.value === "string") v = e.value;
  return v;
}

function kubectlKind(kind: string): string {
  return kind.toLowerCase();
}

/** `on cp1, cp2` */
function nodeList(nodes: string[]): string {
  return nodes.length ? ` on ${nodes.join(", ")}` : " on every control-plane node";
}

/**
 * Set env vars of a kube-vip workload, in its notation: `kubectl set env` for
 * a controller, the manifest file for a static pod.
 */
export function setEnvFix(c: Controller, env: [string, string][]): string {
  const w = c.workload!;
  if (w.mirror) {
    const vars = env.map(([k, v]) => `${k}: "${v}"`).join(", ");
    return `add env ${vars} to the ${c.cfg?.container || "kube-vip"} container in /etc/kubernetes/manifests/${w.mirror.manifest}.yaml${nodeList(c.nodes)}`;
  }
  if (w.kind === "Pod")
    return `set env ${env.map(([k, v]) => `${k}="${v}"`).join(" ")} in the manifest of Pod ${w.namespace}/${w.name} and recreate it`;
  const ctr = c.container ? ` -c ${c.container}` : "";
  return `kubectl -n ${w.namespace} set env ${kubectlKind(w.kind)}/${w.name}${ctr} ${env.map(([k, v]) => `${k}=${v}`).join(" ")}`;
}

const V_CLASS_ONLY: [number, number, number] = [0, 5, 5];

/** The change that makes a kube-vip controller leave Services that are not of kube-vip's class. */
export function kubeVipLeaveFix(c: Controller, policy: Policy): string {
  const kv = policy.kubeVip?.loadBalancerClass ?? DEFAULT_CLASS;
  if (c.role === "cloud-provider") {
    const env: [string, string][] = [["KUBEVIP_ENABLE_LOADBALANCERCLASS", "true"]];
    if (kv !== DEFAULT_CLASS) env.push(["KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME", kv]);
    return setEnvFix(c, env);
  }
  const cfg = c.cfg!;
  if (cfg.claims.all || versionBefore(cfg.version, V_CLASS_ONLY))
    return `upgrade ${c.title} to kube-vip v0.5.5 or later with lb_class_only "true", or ${setEnvFix(c, [["svc_enable", "false"]])}`;
  if (cfg.services.from === "flag") {
    const flags = ["--lbClassOnly", ...(cfg.lbClassName.value === kv ? [] : [`--lbClassName=${kv}`])];
    const where = c.workload?.mirror
      ? `/etc/kubernetes/manifests/${c.workload.mirror.manifest}.yaml${nodeList(c.nodes)}`
      : `${c.title}`;
    return `add ${flags.join(" ")} to the kube-vip args in ${where}`;
  }
  const env: [string, string][] = [["lb_class_only", "true"]];
  if (cfg.lbClassName.value !== kv) env.push(["lb_class_name", kv]);
  return setEnvFix(c, env);
}

/** The change that makes MetalLB serve only `cls`: its `--lb-class`, on the controller and the speaker. */
export function metallbClassFix(facts: AuditFacts, cls: string): string {
  const ms = [...facts.metallb].sort((a, b) => (a.role === b.role ? 0 : a.role === "controller" ? -1 : 1));
  const helm = ms.find((m) => m.helm);
  if (helm)
    return `helm upgrade ${helm.helm!.release} metallb/metallb -n ${helm.helm!.namespace} --reuse-values --set loadBalancerClass=${cls}`;
  if (!ms.length)
    return `start MetalLB's controller and speaker with --lb-class=${cls} (Helm: --set loadBalancerClass=${cls})`;
  return ms
    .map((m) => {
      if (m.lbClass !== null)
        return `kubectl -n ${m.namespace} edit ${kubectlKind(m.kind)} ${m.name} (set --lb-class=${cls})`;
      const base = `/spec/template/spec/containers/${m.container}/args`;
      const op = m.hasArgs
        ? `{"op":"add","path":"${base}/-","value":"--lb-class=${cls}"}`
        : `{"op":"add","path":"${base}","value":["--lb-class=${cls}"]}`;
      return `kubectl -n ${m.namespace} patch ${kubectlKind(m.kind)} ${m.name} --type=json -p '[${op}]'`;
    })
    .join(" && ");
}
