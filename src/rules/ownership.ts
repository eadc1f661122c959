/**
 * Who owns an address: kube-vip's address space (cloud-provider ConfigMap
 * ranges, control-plane VIPs, addresses of kube-vip-owned Services), MetalLB's
 * (IPAddressPools in its namespace), or the policy's reservedAddresses.
 * Every query goes through the view's sorted indexes.
 */
import { Interval, overlaps } from "../addr/interval.js";
import type { ClusterView } from "../cluster/view.js";
import type { PoolRec, WorkloadRec } from "../cluster/records.js";
import { selectorMatches, Labels } from "../k8s/selector.js";
import type { Policy } from "../policy/policy.js";
import { MetalLBEntry } from "../addr/metallb.js";

export interface AddressOwner {
  provider: "kube-vip" | "metallb" | "reserved";
  /** the other object, in words: `control-plane VIP`, `IPAddressPool metallb-system/gold`, … */
  what: string;
  /** the other side's entry in its own notation */
  entry: string;
  /** which kind of owner, for ordering and tests */
  kind: "configmap" | "cp-vip" | "service" | "pool" | "reserved";
}

export interface Exclude {
  /** the Service being admitted (its own addresses never conflict) */
  service?: { namespace: string; name: string };
  /** the kube-vip instance being admitted */
  instance?: string;
  /** the pool being admitted */
  pool?: { namespace: string; name: string };
}

function wlTitle(w: WorkloadRec): string {
  if (w.mirror) return `static pod ${w.namespace}/${w.mirror.manifest}`;
  return `${w.kind} ${w.namespace}/${w.name}`;
}

/** Control-plane VIPs (policy and kube-vip workloads) overlapping iv. */
export function controlPlaneVIPs(
  view: ClusterView,
  policy: Policy,
  iv: Interval,
  ex: Exclude,
  out: AddressOwner[],
  limit: number,
): void {
  const kv = policy.kubeVip;
  if (!kv) return;
  const seen: bigint[] = [];
  for (const v of kv.controlPlaneVIPs) {
    if (out.length >= limit) return;
    if (overlaps(v.iv, iv)) {
      out.push({ provider: "kube-vip", kind: "cp-vip", what: "the kube-vip control-plane VIP", entry: v.text });
      seen.push(v.iv.lo);
    }
  }
  view.forEachControlPlaneVIP(iv, (w, vip) => {
    if (ex.instance && w.instance === ex.instance) return false;
    if (seen.includes(vip.ip!.v)) return false;
    seen.push(vip.ip!.v);
    out.push({
      provider: "kube-vip",
      kind: "cp-vip",
      what: `the kube-vip control-plane VIP (${wlTitle(w)})`,
      entry: vip.value,
    });
    return out.length >= limit;
  });
}

/** Owners in kube-vip's address space overlapping iv, most authoritative first. */
export function kubeVipOwners(
  view: ClusterView,
  policy: Policy,
  iv: Interval,
  ex: Exclude = {},
  limit = 1,
): AddressOwner[] {
  const out: AddressOwner[] = [];
  const kv = policy.kubeVip;
  if (!kv) return out;
  controlPlaneVIPs(view, policy, iv, ex, out, limit);
  if (out.length >= limit) return out;
  const cm = kv.configMap;
  if (cm) {
    view.forEachConfigMapOverlap(cm.namespace, cm.name, iv, (e) => {
      out.push({
        provider: "kube-vip",
        kind: "configmap",
        what: `ConfigMap ${cm.namespace}/${cm.name} key ${e.key}`,
        entry: e.text,
      });
      return out.length >= limit;
    });
    if (out.length >= limit) return out;
  }
  view.forEachServiceAddr(kv.loadBalancerClass, iv, (svc, addr) => {
    if (ex.service && svc.namespace === ex.service.namespace && svc.name === ex.service.name) return false;
    out.push({ provider: "kube-vip", kind: "service", what: `Service ${svc.namespace}/${svc.name}`, entry: addr.text });
    return out.length >= limit;
  });
  return out;
}

/** Owners in MetalLB's address space (its pools) overlapping iv. */
export function metallbOwners(
  view: ClusterView,
  policy: Policy,
  iv: Interval,
  ex: Exclude = {},
  limit = 1,
): AddressOwner[] {
  const out: AddressOwner[] = [];
  const m = policy.metallb;
  if (!m) return out;
  view.forEachPoolOverlap(m.namespace, iv, (pool, entry) => {
    if (ex.pool && pool.namespace === ex.pool.namespace && pool.name === ex.pool.name) return false;
    out.push({
      provider: "metallb",
      kind: "pool",
      what: `IPAddressPool ${pool.namespace}/${pool.name}`,
      entry: entry.text,
    });
    return out.length >= limit;
  });
  return out;
}

export function reservedOwner(policy: Policy, iv: Interval): AddressOwner | undefined {
  const r = policy.reservedHit(iv);
  return r && { provider: "reserved", kind: "reserved", what: "reservedAddresses", entry: r.text };
}

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
  const m = policy.metallb;
  if (!m) return [];
  const out: PoolRec[] = [];
  for (const p of view.pools(m.namespace)) {
    if (poolAdmits(p, namespace, nsLabels, svcLabels)) out.push(p);
    if (out.length >= limit) break;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
