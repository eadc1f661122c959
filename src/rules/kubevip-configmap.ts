/**
 * The kube-vip-cloud-provider ConfigMap named by the policy (docs/controllers.md K10).
 * Its ranges must stay clear of MetalLB's pools, reservedAddresses and
 * control-plane VIPs, and be written so kube-vip parses them as meant.
 */
import { parseKubeVipData } from "../addr/kubevip.js";
import { clip } from "../k8s/text.js";
import { AddressOwner, controlPlaneVIPs, othersThan } from "../providers/index.js";
import type { KindModule } from "./kind.js";
import { reservedOwner } from "./ownership.js";
import { Finding, ObjectRef, RuleContext, finding, objectName, objectNamespace } from "./types.js";

const MAX_OVERLAPS = 8;

/** Whether this ConfigMap is the one kube-vip-cloud-provider reads, per the policy. */
export function isKubeVipConfigMap(ctx: RuleContext): boolean {
  const cm = ctx.policy.kubeVip?.configMap;
  if (!cm) return false;
  const o = ctx.req.object ?? ctx.req.oldObject;
  return objectNamespace(ctx.req, o, "") === cm.namespace && objectName(ctx.req, o) === cm.name;
}

export function validateKubeVipConfigMap(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  if (!isKubeVipConfigMap(ctx) || !req.object) return [];
  const subject: ObjectRef = {
    kind: "ConfigMap",
    namespace: objectNamespace(req, req.object, ""),
    name: objectName(req, req.object),
  };
  const data = (req.object as { data?: unknown }).data;
  const keys = parseKubeVipData(data && typeof data === "object" ? (data as Record<string, unknown>) : {});
  const out: Finding[] = [];
  const say = (rule: string, problem: string, fix: string, field: string, related: ObjectRef[] = []) =>
    out.push(finding(rule, subject, problem, fix, { field, related }));
  // ConfigMap data is map[string]string: the API server refuses anything else (an unquoted true, a number).
  if (data && typeof data === "object")
    for (const [k, v] of Object.entries(data as Record<string, unknown>))
      if (typeof v !== "string" && !/^(cidr|range)-/.test(k))
        say(
          "kube-vip-configmap.parse",
          `data.${k} is ${v === null ? "null" : typeof v}, not a string`,
          "quote it",
          `data.${k}`,
        );
  for (const k of keys) {
    for (const p of k.problems)
      say("kube-vip-configmap.parse", `${p.startsWith("is ") ? "data." : ""}${k.key} ${p}`, "", `data.${k.key}`);
    for (const e of k.entries)
      if (e.error) say("kube-vip-configmap.parse", `${k.key}: ${clip(e.error, 140)}`, "", `data.${k.key}`);
  }
  if (!keys.some((k) => k.entries.some((e) => e.iv))) return out;
  if (!ctx.stateReady) {
    ctx.needState("MetalLB's pools");
    return out;
  }
  let count = 0;
  const overlap = (rule: string, k: string, text: string, o: AddressOwner, why: string) => {
    const where = o.kind === "pool" ? `of ${o.what}` : o.kind === "reserved" ? "in reservedAddresses" : `(${o.what})`;
    say(rule, `${k} ${text} overlaps ${o.entry} ${where}`, why, `data.${k}`, o.ref ? [o.ref] : []);
    count++;
  };
  const others = othersThan(policy, "kube-vip");
  for (const k of keys) {
    for (const e of k.entries) {
      if (!e.iv || count >= MAX_OVERLAPS) continue;
      const res = reservedOwner(policy, e.iv);
      if (res)
        overlap("kube-vip-configmap.reserved", k.key, e.text, res, "keep reserved addresses out of kube-vip's ranges");
      const vips: AddressOwner[] = [];
      controlPlaneVIPs(view, policy, e.iv, {}, vips, 2);
      for (const v of vips)
        overlap(
          "kube-vip-configmap.cp-vip",
          k.key,
          e.text,
          v,
          "kube-vip-cloud-provider would hand the control-plane VIP to a Service",
        );
      for (const { module: other } of others)
        for (const o of other.addressOwners(view, policy, e.iv, {}, 2))
          overlap(
            `kube-vip-configmap.${other.ruleSuffix}`,
            k.key,
            e.text,
            o,
            `kube-vip-cloud-provider would hand out ${other.title}'s addresses (it never sees ${other.title}'s allocations)`,
          );
    }
  }
  return out;
}

export const configMapKind: KindModule = {
  group: "",
  kinds: ["ConfigMap"],
  checks: [
    {
      family: "pools",
      operations: ["CREATE", "UPDATE"],
      fields: [{ path: ["data"], keys: (k) => /^(cidr|range)-/.test(k) }],
      rules: [
        "kube-vip-configmap.parse",
        "kube-vip-configmap.reserved",
        "kube-vip-configmap.cp-vip",
        "kube-vip-configmap.pool",
      ],
      validate: validateKubeVipConfigMap,
    },
  ],
};
