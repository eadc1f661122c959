/**
 * Writes by another provider: a provider's controller writing its bookkeeping (status, its own
 * annotations and labels) on a Service another provider owns. This is what
 * stops the MetalLB/kube-vip status bounce (MetalLB #2177).
 */
import type { KubeObject } from "../cluster/records.js";
import { ServiceLike, isLoadBalancer, serviceClass, stringMap } from "../k8s/service.js";
import type { Provider } from "../policy/policy.js";
import { moduleOf } from "../providers/index.js";
import { classPhrase } from "./messages.js";
import { Finding, RuleContext, finding, objectName, objectNamespace } from "./types.js";

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
  const b = moduleOf(writer).bookkeeping;
  const oa = stringMap(oldObj?.metadata?.annotations);
  const na = stringMap(newObj.metadata?.annotations);
  const ol = stringMap(oldObj?.metadata?.labels);
  const nl = stringMap(newObj.metadata?.labels);
  const out: string[] = [];
  for (const k of b.annotations) if (k in na && na[k] !== oa[k]) out.push(k);
  for (const [k, v] of b.labels) if (nl[k] === v && ol[k] !== v) out.push(`label ${k}=${v}`);
  return out;
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
  const subject = { kind: "Service", namespace: objectNamespace(req, req.object), name: objectName(req, req.object) };
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
    finding(
      "foreign-write",
      subject,
      `is owned by ${owner.name} (${classPhrase(cls)}); ${what} from ${user} (${writer.name}) are refused`,
      moduleOf(writer).stopWritingFix(writer, cls, user),
      { join: " ", field: req.subResource === "status" ? "status.loadBalancer" : "metadata" },
    ),
  ];
}
