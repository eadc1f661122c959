/** MetalLB's pools as its controller reads them: serviceAllocation admission, avoidBuggyIPs, summaries for messages. */
import type { Interval } from "../addr/interval.js";
import type { MetalLBEntry } from "../addr/metallb.js";
import type { PoolRec } from "../cluster/records.js";
import type { ClusterView } from "../cluster/view.js";
import { selectorMatches, Labels } from "../k8s/selector.js";
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

/** Pools in MetalLB's namespace admitting a Service, stopping at `limit`. */
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
  for (const p of view.pools(m.namespace)) {
    if (poolAdmits(p, namespace, nsLabels, svcLabels)) out.push(p);
    if (out.length >= limit) break;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** `MetalLB pools for this namespace: a (…), b (…)`, or what to do when there is none. */
export function poolsForNamespace(view: ClusterView, policy: Policy, place: ServicePlace, none: string): string {
  const pools = admittingPools(view, policy, place.namespace, place.nsLabels, place.svcLabels);
  if (!pools.length) return none;
  const shown = pools.map((p) => poolSummary(p, 1));
  return `MetalLB pools for this namespace: ${shown.length <= 3 ? shown.join(", ") : `${shown.slice(0, 3).join(", ")} and ${shown.length - 3} more`}`;
}
