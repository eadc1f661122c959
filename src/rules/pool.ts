/**
 * SPEC §7.3: MetalLB IPAddressPools. Parsed with MetalLB's own grammar, then
 * checked against reservedAddresses, kube-vip's address space, the other
 * pools and itself, through the view's indexes. Messages quote the user's
 * entries on both sides (MetalLB quotes the CIDRs it split them into).
 */
import { Interval } from "../addr/interval.js";
import { clip } from "../addr/quote.js";
import { poolRecord, PoolRec, KubeObject } from "../cluster/records.js";
import { selectorMatches } from "../k8s/selector.js";
import type { Policy } from "../policy/policy.js";
import { listSome } from "./messages.js";
import { AddressOwner, kubeVipOwners, metallbOwners, reservedOwner } from "./ownership.js";
import { Finding, RuleContext, objectName, objectNamespace } from "./types.js";

const RANK = { parse: 0, reserved: 1, kubeVip: 2, pools: 3, self: 4, advice: 5 } as const;

/** At most this many overlaps are reported per pool (the message keeps what fits). */
const MAX_OVERLAPS = 8;

function deny(rank: number, rule: string, message: string): Finding {
  return { rule, family: "pools", severity: "deny", rank, message };
}

function hint(entry: string): string {
  if (entry !== entry.trim()) return "; remove the spaces";
  if (/^[0-9.]+$/.test(entry) || (/^[0-9a-fA-F:.]+$/.test(entry) && entry.includes(":")))
    return `; write ${entry}/${entry.includes(":") ? 128 : 32} for a single address`;
  if (/(^|[.:/])0\d/.test(entry)) return "; drop the leading zeros";
  return "";
}

function ownerPhrase(o: AddressOwner): string {
  switch (o.kind) {
    case "cp-vip":
      return `${o.entry}, ${o.what}`;
    case "configmap":
      return `${o.entry} in ${o.what}`;
    case "service":
      return `${o.entry}, in use by kube-vip ${o.what}`;
    case "pool":
      return `${o.entry} of ${o.what}`;
    case "reserved":
      return `${o.entry} in reservedAddresses`;
  }
}

function specKey(o: KubeObject | null | undefined): string {
  const spec = (o?.spec ?? {}) as Record<string, unknown>;
  return JSON.stringify([spec.addresses ?? null, spec.serviceAllocation ?? null]);
}

/** The pool's own entries overlapping each other (a sweep, not a k² scan). */
function selfOverlaps(pool: PoolRec): [string, string][] {
  const items: { iv: Interval; text: string; order: number }[] = [];
  pool.entries.forEach((e, order) => e.intervals.forEach((iv) => items.push({ iv, text: e.text, order })));
  if (items.length < 2) return [];
  if (items.length === 2) {
    const [a, b] = items;
    return a.order !== b.order && a.iv.fam === b.iv.fam && a.iv.lo <= b.iv.hi && b.iv.lo <= a.iv.hi
      ? [[b.text, a.text]]
      : [];
  }
  items.sort((a, b) =>
    a.iv.fam !== b.iv.fam ? a.iv.fam - b.iv.fam : a.iv.lo < b.iv.lo ? -1 : a.iv.lo > b.iv.lo ? 1 : a.order - b.order,
  );
  const out: [string, string][] = [];
  let open: (typeof items)[number] | undefined;
  for (const it of items) {
    if (open && open.iv.fam === it.iv.fam && it.iv.lo <= open.iv.hi) {
      const [first, later] = open.order <= it.order ? [open, it] : [it, open];
      out.push([later.text, first.text]);
      if (out.length >= MAX_OVERLAPS) break;
    }
    if (!open || open.iv.fam !== it.iv.fam || it.iv.hi > open.iv.hi) open = it;
  }
  return out;
}

/** Namespaces a pool's serviceAllocation names or selects whose Services MetalLB may not serve. */
function foreignNamespaces(ctx: RuleContext, pool: PoolRec, policy: Policy): string[] {
  const sa = pool.serviceAllocation;
  if (!sa) return [];
  const out: string[] = [];
  const consider = (ns: string, labels: Record<string, string> | undefined) => {
    const d = policy.resolveNamespace(ns, labels);
    if (d && !d.allowed.includes("metallb")) out.push(`${ns} (${d.provider})`);
  };
  for (const ns of sa.namespaces) consider(ns, ctx.view.namespaceLabels(ns));
  if (sa.namespaceSelectors.length && ctx.stateReady) {
    for (const ns of ctx.view.namespaces()) {
      if (sa.namespaces.includes(ns.name)) continue;
      if (sa.namespaceSelectors.some((s) => selectorMatches(s, ns.labels))) consider(ns.name, ns.labels);
    }
  }
  return out;
}

export function validatePool(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  const m = policy.metallb;
  if (!m || (req.operation !== "CREATE" && req.operation !== "UPDATE") || !req.object) return [];
  if (req.operation === "UPDATE" && req.oldObject && specKey(req.oldObject) === specKey(req.object)) return [];
  const ns = objectNamespace(req, req.object, "");
  const name = objectName(req, req.object);
  const who = `IPAddressPool ${ns}/${name}`;
  const out: Finding[] = [];

  if (ns !== m.namespace)
    out.push(
      deny(
        RANK.parse,
        "pool.namespace",
        `${who}: MetalLB only reads pools in ${m.namespace} and would ignore this one; create it in ${m.namespace}`,
      ),
    );

  const rawAddrs = (req.object.spec as { addresses?: unknown } | undefined)?.addresses;
  if (rawAddrs !== undefined && !Array.isArray(rawAddrs))
    return [...out, deny(RANK.parse, "pool.parse", `${who}: spec.addresses must be a list of CIDRs or ranges`)];
  const pool = poolRecord(req.object, ns);
  if (!pool.entries.length)
    out.push(
      deny(
        RANK.parse,
        "pool.empty",
        `${who}: spec.addresses is empty; MetalLB refuses it ("pool has no prefixes defined")`,
      ),
    );
  for (const e of pool.entries)
    if (e.error)
      out.push(
        deny(
          RANK.parse,
          "pool.parse",
          `${who}: MetalLB cannot parse ${clip(JSON.stringify(e.text), 60)}: ${clip(e.error, 120)}${hint(e.text)}`,
        ),
      );

  for (const [later, first] of selfOverlaps(pool))
    out.push(
      deny(
        RANK.self,
        "pool.self-overlap",
        `${who}: ${later} overlaps ${first} earlier in the same pool; MetalLB refuses overlapping entries`,
      ),
    );

  if (ns === m.namespace) {
    if (!ctx.stateReady) ctx.needState("the existing pools and kube-vip's addresses");
    else {
      const self = { pool: { namespace: ns, name }, service: undefined };
      let count = 0;
      for (const e of pool.entries) {
        for (const iv of e.intervals) {
          if (count >= MAX_OVERLAPS) break;
          const res = reservedOwner(policy, iv);
          if (res) {
            out.push(
              deny(
                RANK.reserved,
                "pool.reserved",
                `${who}: ${e.text} overlaps ${ownerPhrase(res)}; keep reserved addresses out of pools`,
              ),
            );
            count++;
          }
          for (const o of kubeVipOwners(view, policy, iv, {}, 2)) {
            out.push(
              deny(
                RANK.kubeVip,
                "pool.kube-vip",
                `${who}: ${e.text} overlaps ${ownerPhrase(o)}; MetalLB would hand out addresses kube-vip uses`,
              ),
            );
            count++;
          }
          for (const o of metallbOwners(view, policy, iv, self, 2)) {
            out.push(
              deny(RANK.pools, "pool.overlap", `${who}: ${e.text} overlaps ${ownerPhrase(o)}; pools must not overlap`),
            );
            count++;
          }
        }
      }
    }
  }

  const foreign = foreignNamespaces(ctx, pool, policy);
  if (foreign.length)
    out.push({
      rule: "pool.foreign-namespace",
      family: "pools",
      severity: "warn",
      rank: RANK.advice,
      message: `${who}: serviceAllocation admits ${listSome(foreign)}, where MetalLB may not serve Services under the policy`,
    });
  return out;
}
