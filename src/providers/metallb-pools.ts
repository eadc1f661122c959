/** MetalLB's pools as its controller reads them: serviceAllocation admission, avoidBuggyIPs, summaries for messages. */
import type { Interval } from "../addr/interval.js";
import type { MetalLBEntry } from "../addr/metallb.js";
import type { PoolRec } from "../cluster/records.js";
import type { ClusterView } from "../cluster/view.js";
import { LabelSelector, Labels, selectorError, selectorMatches } from "../k8s/selector.js";
import type { Policy } from "../policy/policy.js";
import type { ServicePlace } from "./provider.js";

/** MetalLB's pool/Service compatibility (serviceAllocation namespaces, namespaceSelectors, serviceSelectors). */
export function poolAdmits(pool: PoolRec, namespace: string, nsLabels: Labels, svcLabels: Labels): boolean {
  const sa = pool.serviceAllocation;
  if (!sa) return true;
  if (sa.namespaces.length || sa.namespaceSelectors.length) {
    if (!sa.namespaces.includes(namespace) && !sa.namespaceSelectors.some((s) => selectorMatches(s, nsLabels)))
      return false;
  }
  if (sa.serviceSelectors.length && !sa.serviceSelectors.some((s) => selectorMatches(s, svcLabels))) return false;
  return true;
}

/** Whether MetalLB would hand out `ip` from this entry of the pool (avoidBuggyIPs skips IPv4 .0 and .255). */
export function poolEntryServes(pool: PoolRec, entry: MetalLBEntry, iv: Interval): boolean {
  if (!entry.intervals.some((x) => x.fam === iv.fam && x.lo <= iv.lo && iv.hi <= x.hi)) return false;
  if (pool.avoidBuggyIPs && iv.fam === 4) {
    const last = Number(iv.lo & 255n);
    if (last === 0 || last === 255) return false;
  }
  return true;
}

/** `gold (10.0.5.0/24, 10.0.6.1-10.0.6.9)` */
export function poolSummary(pool: PoolRec, maxEntries = 2): string {
  const es = pool.entries.map((e) => e.text);
  const shown = es.slice(0, maxEntries).join(", ") + (es.length > maxEntries ? `, +${es.length - maxEntries}` : "");
  return `${pool.name} (${shown})`;
}

/**
 * The first `limit` pools (in the view's order) in MetalLB's namespace
 * admitting a Service, sorted by name. Only the candidates the view's pool
 * index gives for the namespace are checked, so a denial costs the same at
 * 100,000 pools as at 1,000.
 */
export function admittingPools(
  view: ClusterView,
  policy: Policy,
  namespace: string,
  nsLabels: Labels,
  svcLabels: Labels,
  limit = 3,
): PoolRec[] {
  const m = policy.providers.metallb;
  if (!m) return [];
  const out: PoolRec[] = [];
  view.forEachPoolFor(m.namespace, namespace, (p) => {
    if (poolAdmits(p, namespace, nsLabels, svcLabels)) out.push(p);
    return out.length >= limit;
  });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** `MetalLB pools for this namespace: a (…), b (…)`, or what to do when there is none. */
export function poolsForNamespace(view: ClusterView, policy: Policy, place: ServicePlace, none: string): string {
  const pools = admittingPools(view, policy, place.namespace, place.nsLabels, place.svcLabels);
  if (!pools.length) return none;
  const shown = pools.map((p) => poolSummary(p, 1));
  return `MetalLB pools for this namespace: ${shown.length <= 3 ? shown.join(", ") : `${shown.slice(0, 3).join(", ")} and ${shown.length - 3} more`}`;
}

function canonicalSelector(s: unknown): string {
  const sel = (s && typeof s === "object" ? s : {}) as { matchLabels?: unknown; matchExpressions?: unknown };
  const labels =
    sel.matchLabels && typeof sel.matchLabels === "object" ? (sel.matchLabels as Record<string, unknown>) : {};
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  return JSON.stringify([
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
    exprs.map((e: { key?: unknown; operator?: unknown; values?: unknown }) => [
      e?.key,
      e?.operator,
      Array.isArray(e?.values) ? [...e.values].map(String).sort() : [],
    ]),
  ]);
}

/** A selector as users write it, for messages: `{matchLabels: {team: a}}`. */
function selectorText(s: unknown): string {
  return JSON.stringify(s ?? {}).replace(/"([^"]+)":/g, "$1: ");
}

/**
 * What MetalLB's config parser refuses in `spec.serviceAllocation`
 * (addressPoolServiceAllocationsFromCR, validateLabelSelectorDuplicate): a
 * repeated namespace, a repeated selector (match-expression values compared
 * sorted), a repeated match expression or value, or a selector
 * LabelSelectorAsSelector rejects. Any of these makes MetalLB refuse the pool
 * (docs/controllers.md M4). Returns [field, problem] pairs.
 */
export function serviceAllocationProblems(raw: unknown): [field: string, problem: string, fix: string][] {
  if (!raw || typeof raw !== "object") return [];
  const sa = raw as { namespaces?: unknown; namespaceSelectors?: unknown; serviceSelectors?: unknown };
  const out: [string, string, string][] = [];
  const seen = new Set<string>();
  for (const ns of Array.isArray(sa.namespaces) ? sa.namespaces : []) {
    if (seen.has(String(ns))) {
      out.push([
        "spec.serviceAllocation.namespaces",
        `namespace ${String(ns)} is listed twice; MetalLB refuses it ("duplicate definition in namespaces field")`,
        "list each namespace once",
      ]);
      break;
    }
    seen.add(String(ns));
  }
  for (const field of ["namespaceSelectors", "serviceSelectors"] as const) {
    const list = sa[field];
    if (!Array.isArray(list)) continue;
    const at = `spec.serviceAllocation.${field}`;
    const canon = new Map<string, number>();
    for (const [i, s] of list.entries()) {
      const sel = (s && typeof s === "object" ? s : {}) as LabelSelector;
      const bad = selectorError(sel, `${at}[${i}]`);
      if (bad) {
        out.push([`${at}[${i}]`, `MetalLB refuses an invalid selector: ${bad}`, "fix the selector"]);
        continue;
      }
      const exprs = sel.matchExpressions ?? [];
      const exprSeen = new Set<string>();
      for (const e of exprs) {
        const k = canonicalSelector({ matchExpressions: [e] });
        if (exprSeen.has(k))
          out.push([`${at}[${i}]`, `match expression on ${e.key} is repeated; MetalLB refuses it`, "keep one"]);
        exprSeen.add(k);
        const values = e.values ?? [];
        if (new Set(values).size !== values.length)
          out.push([
            `${at}[${i}]`,
            `match expression on ${e.key} repeats a value; MetalLB refuses it`,
            "list each value once",
          ]);
      }
      const c = canonicalSelector(s);
      const first = canon.get(c);
      if (first !== undefined)
        out.push([
          `${at}[${i}]`,
          `${field}[${i}] ${selectorText(s)} repeats ${field}[${first}]; MetalLB refuses duplicate selectors`,
          `remove ${field}[${i}]`,
        ]);
      else canon.set(c, i);
    }
  }
  return out;
}
