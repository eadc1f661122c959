/**
 * SPEC §7.2: a provider's controller writing its bookkeeping (status, its own
 * annotations and labels) on a Service another provider owns. This is what
 * stops the MetalLB/kube-vip status bounce (MetalLB #2177).
 */
import type { KubeObject } from "../cluster/records.js";
import { KV, MLB, ServiceLike, isLoadBalancer, serviceClass, stringMap } from "../k8s/service.js";
import type { Provider } from "../policy/policy.js";
import { classPhrase } from "./messages.js";
import { Finding, RuleContext, objectName, objectNamespace } from "./types.js";

/** Controller-written annotations and labels, per provider. */
const BOOKKEEPING: Record<string, { annotations: string[]; labels: [string, string][] }> = {
  "kube-vip": { annotations: [KV.vipHost, KV.hwaddr, KV.requestedIP], labels: [[KV.implementationLabel, "kube-vip"]] },
  metallb: { annotations: [MLB.allocated, MLB.allocatedOld], labels: [] },
};

function canonical(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** status.loadBalancer compared as JSON; absent and empty are equal. */
export function loadBalancerStatusKey(o: KubeObject | null | undefined): string {
  const lb = (o?.status as { loadBalancer?: { ingress?: unknown } } | undefined)?.loadBalancer;
  if (!lb || typeof lb !== "object") return "{}";
  const ing = (lb as { ingress?: unknown }).ingress;
  const rest = { ...(lb as Record<string, unknown>) };
  if (!Array.isArray(ing) || ing.length === 0) delete rest.ingress;
  const c = canonical(rest);
  return c === "" ? "{}" : c;
}

function changedBookkeeping(writer: Provider, oldObj: ServiceLike | undefined, newObj: ServiceLike): string[] {
  const b = BOOKKEEPING[writer.name];
  const oa = stringMap(oldObj?.metadata?.annotations);
  const na = stringMap(newObj.metadata?.annotations);
  const ol = stringMap(oldObj?.metadata?.labels);
  const nl = stringMap(newObj.metadata?.labels);
  const out: string[] = [];
  for (const k of b.annotations) if (k in na && na[k] !== oa[k]) out.push(k);
  for (const [k, v] of b.labels) if (nl[k] === v && ol[k] !== v) out.push(`label ${k}=${v}`);
  return out;
}

/** The configuration change that makes `writer` leave Services of `cls` alone. */
function fixFor(writer: Provider, cls: string | null, user: string): string {
  if (writer.name === "metallb") {
    return writer.loadBalancerClass === null
      ? `check MetalLB's --lb-class; the policy says it serves Services without a class`
      : `start the MetalLB controller with --lb-class=${writer.loadBalancerClass} as the policy says`;
  }
  if (cls === null) {
    // kube-vip-cloud-provider runs as its own identity (kube-vip-cloud-controller).
    if (user.includes("cloud")) return `set KUBEVIP_ENABLE_LOADBALANCERCLASS "true" on kube-vip-cloud-provider`;
    return `set lb_class_only "true" on kube-vip (or svc_enable "false")`;
  }
  return `set kube-vip's lb_class_name to ${writer.loadBalancerClass === null ? "its own class" : `"${writer.loadBalancerClass}"`}`;
}

export function foreignWrites(ctx: RuleContext): Finding[] {
  const { req, policy } = ctx;
  if (req.operation !== "UPDATE") return [];
  const writer = policy.providerOfIdentity(req.userInfo?.username);
  if (!writer) return [];
  const svc = req.object as ServiceLike | undefined;
  const old = req.oldObject as ServiceLike | undefined;
  if (!svc || typeof svc !== "object") return [];
  if (!isLoadBalancer(svc) && !isLoadBalancer(old)) return [];
  const cls = serviceClass(svc) ?? serviceClass(old);
  const owner = policy.ownerOfClass(cls);
  if (!owner || owner.name === writer.name) return [];
  const ns = objectNamespace(req, req.object);
  const who = `Service ${ns}/${objectName(req, req.object)}`;
  const user = req.userInfo?.username ?? "";
  let what: string | undefined;
  if (req.subResource === "status") {
    if (loadBalancerStatusKey(req.object) !== loadBalancerStatusKey(req.oldObject)) what = "status writes";
  } else if (!req.subResource) {
    const changed = changedBookkeeping(writer, old, svc);
    if (changed.length) what = `writes of ${changed.join(", ")}`;
  }
  if (!what) return [];
  return [
    {
      rule: "foreign-write",
      family: "foreignWrites",
      severity: "deny",
      rank: 0,
      message: `${who} is owned by ${owner.name} (${classPhrase(cls)}); ${what} from ${user} (${writer.name}) are refused; ${fixFor(writer, cls, user)}`,
    },
  ];
}
