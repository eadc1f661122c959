/**
 * SPEC §7.4: the kube-vip-cloud-provider ConfigMap named by the policy.
 * Its ranges must stay clear of MetalLB's pools, reservedAddresses and
 * control-plane VIPs, and be written so kube-vip parses them as meant.
 */
import { parseKubeVipData } from "../addr/kubevip.js";
import { clip } from "../addr/quote.js";
import { controlPlaneVIPs, metallbOwners, reservedOwner, AddressOwner } from "./ownership.js";
import { Finding, RuleContext, objectName, objectNamespace } from "./types.js";

const RANK = { parse: 0, reserved: 1, cpVip: 2, pools: 3 } as const;
const MAX_OVERLAPS = 8;

function deny(rank: number, rule: string, message: string): Finding {
  return { rule, family: "pools", severity: "deny", rank, message };
}

function dataKey(o: unknown): string {
  const d = (o as { data?: Record<string, unknown> } | null | undefined)?.data ?? {};
  return JSON.stringify(
    Object.keys(d)
      .filter((k) => /^(cidr|range)-/.test(k))
      .sort()
      .map((k) => [k, d[k]]),
  );
}

/** Whether this ConfigMap is the one kube-vip-cloud-provider reads, per the policy. */
export function isKubeVipConfigMap(ctx: RuleContext): boolean {
  const cm = ctx.policy.kubeVip?.configMap;
  if (!cm) return false;
  const o = ctx.req.object ?? ctx.req.oldObject;
  return objectNamespace(ctx.req, o, "") === cm.namespace && objectName(ctx.req, o) === cm.name;
}

export function validateKubeVipConfigMap(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  if (!isKubeVipConfigMap(ctx) || (req.operation !== "CREATE" && req.operation !== "UPDATE") || !req.object) return [];
  if (req.operation === "UPDATE" && req.oldObject && dataKey(req.oldObject) === dataKey(req.object)) return [];
  const who = `ConfigMap ${objectNamespace(req, req.object, "")}/${objectName(req, req.object)}`;
  const data = (req.object as { data?: unknown }).data;
  const keys = parseKubeVipData(data && typeof data === "object" ? (data as Record<string, unknown>) : {});
  const out: Finding[] = [];
  // ConfigMap data is map[string]string: the API server refuses anything else (an unquoted true, a number).
  if (data && typeof data === "object")
    for (const [k, v] of Object.entries(data as Record<string, unknown>))
      if (typeof v !== "string" && !/^(cidr|range)-/.test(k))
        out.push(
          deny(
            RANK.parse,
            "kube-vip-configmap.parse",
            `${who}: data.${k} is ${v === null ? "null" : typeof v}, not a string; quote it`,
          ),
        );
  for (const k of keys) {
    for (const p of k.problems)
      out.push(
        deny(RANK.parse, "kube-vip-configmap.parse", `${who}: ${p.startsWith("is ") ? "data." : ""}${k.key} ${p}`),
      );
    for (const e of k.entries)
      if (e.error) out.push(deny(RANK.parse, "kube-vip-configmap.parse", `${who}: ${k.key}: ${clip(e.error, 140)}`));
  }
  if (!keys.some((k) => k.entries.some((e) => e.iv))) return out;
  if (!ctx.stateReady) {
    ctx.needState("MetalLB's pools");
    return out;
  }
  let count = 0;
  const say = (rank: number, rule: string, k: string, text: string, o: AddressOwner, why: string) => {
    out.push(
      deny(
        rank,
        rule,
        `${who}: ${k} ${text} overlaps ${o.entry} ${o.kind === "pool" ? `of ${o.what}` : o.kind === "reserved" ? "in reservedAddresses" : `(${o.what})`}; ${why}`,
      ),
    );
    count++;
  };
  for (const k of keys) {
    for (const e of k.entries) {
      if (!e.iv || count >= MAX_OVERLAPS) continue;
      const res = reservedOwner(policy, e.iv);
      if (res)
        say(
          RANK.reserved,
          "kube-vip-configmap.reserved",
          k.key,
          e.text,
          res,
          "keep reserved addresses out of kube-vip's ranges",
        );
      const vips: AddressOwner[] = [];
      controlPlaneVIPs(view, policy, e.iv, {}, vips, 2);
      for (const v of vips)
        say(
          RANK.cpVip,
          "kube-vip-configmap.cp-vip",
          k.key,
          e.text,
          v,
          "kube-vip-cloud-provider would hand the control-plane VIP to a Service",
        );
      for (const o of metallbOwners(view, policy, e.iv, {}, 2))
        say(
          RANK.pools,
          "kube-vip-configmap.pool",
          k.key,
          e.text,
          o,
          "kube-vip-cloud-provider would hand out MetalLB's addresses (it never sees MetalLB's allocations)",
        );
    }
  }
  return out;
}
