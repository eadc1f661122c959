/**
 * MetalLB IPAddressPools (docs/controllers.md M1–M3). Parsed with MetalLB's own grammar, then
 * checked against reservedAddresses, kube-vip's address space, the other
 * pools and itself, through the view's indexes. Messages quote the user's
 * entries on both sides (MetalLB quotes the CIDRs it split them into).
 */
import { Interval } from "../addr/interval.js";
import { clip } from "../k8s/text.js";
import { poolRecord, PoolRec } from "../cluster/records.js";
import { selectorMatches } from "../k8s/selector.js";
import type { Policy } from "../policy/policy.js";
import { listSome } from "./messages.js";
import { AddressOwner, PROVIDER_MODULES, othersThan, serviceAllocationProblems } from "../providers/index.js";
import type { KindModule } from "./kind.js";
import { reservedOwner } from "./ownership.js";
import { Finding, ObjectRef, RuleContext, finding, objectName, objectNamespace } from "./types.js";

/** At most this many overlaps are reported per pool (the message keeps what fits). */
const MAX_OVERLAPS = 8;

function hint(entry: string): string {
  if (entry !== entry.trim()) return "remove the spaces";
  if (/^[0-9.]+$/.test(entry) || (/^[0-9a-fA-F:.]+$/.test(entry) && entry.includes(":")))
    return `write ${entry}/${entry.includes(":") ? 128 : 32} for a single address`;
  if (/(^|[.:/])0\d/.test(entry)) return "drop the leading zeros";
  const dash = entry.indexOf("-");
  if (dash > 0) {
    // an inverted range: the two halves swapped is what was meant
    const [a, b] = [entry.slice(0, dash).trim(), entry.slice(dash + 1).trim()];
    if (a && b && !b.includes("-") && !a.includes("/") && !b.includes("/"))
      return `write ${b}-${a} if that range was meant`;
  }
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
  if (!m || !req.object) return [];
  const ns = objectNamespace(req, req.object, "");
  const name = objectName(req, req.object);
  const subject: ObjectRef = { kind: "IPAddressPool", namespace: ns, name };
  const out: Finding[] = [];
  const say = (rule: string, problem: string, fix: string, field = "spec.addresses", related: ObjectRef[] = []) =>
    out.push(finding(rule, subject, problem, fix, { field, related }));

  if (ns !== m.namespace)
    say(
      "pool.namespace",
      `MetalLB only reads pools in ${m.namespace} and would ignore this one`,
      `create it in ${m.namespace}`,
      "metadata.namespace",
    );

  const spec = req.object.spec as { addresses?: unknown; serviceAllocation?: unknown } | undefined;
  const rawAddrs = spec?.addresses;
  if (rawAddrs !== undefined && !Array.isArray(rawAddrs)) {
    say("pool.parse", "spec.addresses must be a list of CIDRs or ranges", "");
    return out;
  }
  const pool = poolRecord(req.object, ns);
  if (!pool.entries.length)
    say(
      "pool.empty",
      `spec.addresses is empty; MetalLB refuses it ("pool has no prefixes defined")`,
      "add at least one CIDR or range",
    );
  for (const e of pool.entries)
    if (e.error)
      say(
        "pool.parse",
        `MetalLB cannot parse ${clip(JSON.stringify(e.text), 60)}: ${clip(e.error, 120)}`,
        hint(e.text),
      );

  for (const [field, problem, fix] of serviceAllocationProblems(spec?.serviceAllocation))
    say("pool.service-allocation", problem, fix, field);

  for (const [later, first] of selfOverlaps(pool))
    say(
      "pool.self-overlap",
      `${later} overlaps ${first} earlier in the same pool`,
      "MetalLB refuses overlapping entries",
    );

  if (ns === m.namespace) {
    if (!ctx.stateReady) ctx.needState("the existing pools and kube-vip's addresses");
    else {
      const self = { pool: { namespace: ns, name } };
      const mine = PROVIDER_MODULES.metallb;
      const others = othersThan(policy, "metallb");
      let count = 0;
      const overlap = (rule: string, text: string, o: AddressOwner, fix: string) => {
        say(rule, `${text} overlaps ${ownerPhrase(o)}`, fix, "spec.addresses", o.ref ? [o.ref] : []);
        count++;
      };
      for (const e of pool.entries) {
        for (const iv of e.intervals) {
          if (count >= MAX_OVERLAPS) break;
          const res = reservedOwner(policy, iv);
          if (res) overlap("pool.reserved", e.text, res, "keep reserved addresses out of pools");
          for (const { module: other } of others)
            for (const o of other.addressOwners(view, policy, iv, {}, 2))
              overlap(
                `pool.${other.ruleSuffix}`,
                e.text,
                o,
                `${mine.title} would hand out addresses ${other.title} uses`,
              );
          for (const o of mine.addressOwners(view, policy, iv, self, 2))
            overlap("pool.overlap", e.text, o, "pools must not overlap");
        }
      }
    }
  }

  const foreign = foreignNamespaces(ctx, pool, policy);
  if (foreign.length)
    out.push(
      finding(
        "pool.foreign-namespace",
        subject,
        `serviceAllocation admits ${listSome(foreign)}, where MetalLB may not serve Services under the policy`,
        "",
        { severity: "warn", field: "spec.serviceAllocation" },
      ),
    );
  return out;
}

export const poolKind: KindModule = {
  group: "metallb.io",
  kinds: ["IPAddressPool"],
  fresh: { what: "pools", operations: ["CREATE", "UPDATE"] },
  checks: [
    {
      family: "pools",
      operations: ["CREATE", "UPDATE"],
      fields: [{ path: ["spec", "addresses"] }, { path: ["spec", "serviceAllocation"] }],
      rules: [
        "pool.namespace",
        "pool.parse",
        "pool.empty",
        "pool.service-allocation",
        "pool.reserved",
        "pool.kube-vip",
        "pool.overlap",
        "pool.self-overlap",
        "pool.foreign-namespace",
      ],
      validate: validatePool,
    },
  ],
};
