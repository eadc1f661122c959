/**
 * The cluster view: the one interface rules read cluster state through, and
 * its in-memory implementation with sorted address indexes. Sources (file
 * snapshot, live informers) feed a MemoryView through `apply`/`remove`.
 */
import { Interval } from "../addr/interval.js";
import { IntervalIndex, IndexEntry } from "../addr/index.js";
import { KubeVipEntry } from "../addr/kubevip.js";
import { MetalLBEntry } from "../addr/metallb.js";
import { Labels, NAMESPACE_NAME_LABEL } from "../k8s/selector.js";
import type { VIPSetting } from "../kubevip/effective.js";
import {
  ConfigMapRec,
  NamespaceRec,
  PoolRec,
  ServiceAddr,
  ServiceRec,
  ServiceAllocation,
  ViewRecord,
  WorkloadRec,
  toRecord,
} from "./records.js";
import { KubeObject, WORKLOAD_KINDS, WorkloadKind } from "../k8s/object.js";
import { ServiceTable } from "./service-table.js";

export interface ClusterView {
  /** every source has delivered a complete first state */
  readonly synced: boolean;
  /** what has not synced yet, in words */
  pending(): string[];
  namespace(name: string): NamespaceRec | undefined;
  namespaces(): Iterable<NamespaceRec>;
  /**
   * Labels of a namespace. A namespace the view does not hold gets the label
   * the API server sets on every namespace. Undefined only before the sync.
   */
  namespaceLabels(name: string): Labels | undefined;
  pool(namespace: string, name: string): PoolRec | undefined;
  pools(namespace?: string): PoolRec[];
  /**
   * Pools of `namespace` whose serviceAllocation does not rule out Services of
   * `serviceNamespace` by its namespace list alone (their selectors are for the
   * caller to check), in the order `pools(namespace)` lists them; fn returns
   * true to stop. Indexed: the cost does not grow with the pools of other namespaces.
   */
  forEachPoolFor(namespace: string, serviceNamespace: string, fn: (pool: PoolRec) => boolean | void): void;
  /** pool entries overlapping iv, pools of `namespace` only; fn returns true to stop */
  forEachPoolOverlap(namespace: string, iv: Interval, fn: (pool: PoolRec, entry: MetalLBEntry) => boolean | void): void;
  service(namespace: string, name: string): ServiceRec | undefined;
  /** addresses of LoadBalancer Services of class `cls` overlapping iv */
  forEachServiceAddr(
    cls: string | null,
    iv: Interval,
    fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void,
  ): void;
  /** addresses of LoadBalancer Services of any class overlapping iv */
  forEachServiceAddrAnyClass(iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void;
  configMap(namespace: string, name: string): ConfigMapRec | undefined;
  forEachConfigMapOverlap(namespace: string, name: string, iv: Interval, fn: (e: KubeVipEntry) => boolean | void): void;
  workloads(): Iterable<WorkloadRec>;
  workload(kind: string, namespace: string, name: string): WorkloadRec | undefined;
  /** control-plane VIPs of kube-vip workloads overlapping iv */
  forEachControlPlaneVIP(iv: Interval, fn: (w: WorkloadRec, vip: VIPSetting) => boolean | void): void;
  counts(): Record<string, number>;
  /**
   * A view whose pools were just re-listed from the API server with a
   * consistent read, settling by `deadline` (epoch ms); undefined (or a
   * promise of undefined) when the source cannot, in time: decide from this
   * view then. Only live sources have it. `uid` names the review in logs.
   */
  freshPools?(deadline: number, uid?: string): Promise<ClusterView | undefined> | undefined;
}

type PoolHit = { pool: PoolRec; entry: MetalLBEntry };

interface PoolSlot {
  rec: PoolRec;
  handles: IndexEntry<PoolHit>[];
  /** put order across all pools: pools() lists them in it */
  seq: number;
  alive: boolean;
}

/** Pools in put order with lazy removal. */
class PoolList {
  items: PoolSlot[] = [];
  private dead = 0;
  add(p: PoolSlot): void {
    this.items.push(p);
  }
  removed(): void {
    if (++this.dead > 32 && this.dead * 2 > this.items.length) {
      this.items = this.items.filter((p) => p.alive);
      this.dead = 0;
    }
  }
  get empty(): boolean {
    return this.items.length === this.dead;
  }
}

/**
 * The pools of one namespace by what their serviceAllocation says about
 * namespaces: admitting every namespace, listing namespaces (by each listed
 * one), or with namespace selectors (any namespace may match them).
 */
class PoolsOfNamespace {
  readonly byName = new Map<string, PoolSlot>();
  readonly open = new PoolList();
  readonly selectors = new PoolList();
  readonly listed = new Map<string, PoolList>();

  private static lists(sa: ServiceAllocation | undefined): "open" | "selectors" | "listed" {
    if (!sa || (!sa.namespaces.length && !sa.namespaceSelectors.length)) return "open";
    return sa.namespaceSelectors.length ? "selectors" : "listed";
  }

  add(p: PoolSlot): void {
    this.byName.set(p.rec.name, p);
    const where = PoolsOfNamespace.lists(p.rec.serviceAllocation);
    if (where !== "listed") return this[where].add(p);
    for (const ns of new Set(p.rec.serviceAllocation!.namespaces)) {
      let l = this.listed.get(ns);
      if (!l) this.listed.set(ns, (l = new PoolList()));
      l.add(p);
    }
  }

  remove(p: PoolSlot): void {
    p.alive = false;
    this.byName.delete(p.rec.name);
    const where = PoolsOfNamespace.lists(p.rec.serviceAllocation);
    if (where !== "listed") return this[where].removed();
    for (const ns of new Set(p.rec.serviceAllocation!.namespaces)) {
      const l = this.listed.get(ns)!;
      l.removed();
      if (l.empty) this.listed.delete(ns);
    }
  }

  /** open, selector and listed pools for serviceNamespace, merged in put order */
  forEachFor(serviceNamespace: string, fn: (pool: PoolRec) => boolean | void): void {
    const a = this.open.items;
    const b = this.selectors.items;
    const c = this.listed.get(serviceNamespace)?.items ?? [];
    let i = 0;
    let j = 0;
    let k = 0;
    for (;;) {
      while (i < a.length && !a[i].alive) i++;
      while (j < b.length && !b[j].alive) j++;
      while (k < c.length && !c[k].alive) k++;
      const sa = i < a.length ? a[i].seq : Infinity;
      const sb = j < b.length ? b[j].seq : Infinity;
      const sc = k < c.length ? c[k].seq : Infinity;
      let p: PoolSlot;
      if (sa === Infinity && sb === Infinity && sc === Infinity) return;
      if (sa <= sb && sa <= sc) p = a[i++];
      else if (sb <= sc) p = b[j++];
      else p = c[k++];
      if (fn(p.rec) === true) return;
    }
  }
}

interface Store {
  put(rec: ViewRecord): void;
  remove(namespace: string, name: string): void;
}

export function objectKey(kind: string, namespace: string, name: string): string {
  return kind === "Namespace" ? `Namespace//${name}` : `${kind}/${namespace}/${name}`;
}

export class MemoryView implements ClusterView {
  /** set by a source that can re-list pools (the live source) */
  freshPools?: (deadline: number, uid?: string) => Promise<ClusterView | undefined> | undefined;
  private readonly namespaces_ = new Map<string, NamespaceRec>();
  private readonly poolsByNs = new Map<string, PoolsOfNamespace>();
  private poolCount = 0;
  private poolSeq = 0;
  private readonly poolIndex = new IntervalIndex<PoolHit>();
  private readonly services = new ServiceTable();
  private readonly configMaps = new Map<
    string,
    Map<string, { rec: ConfigMapRec; index: IntervalIndex<KubeVipEntry> }>
  >();
  private readonly workloadsByKey = new Map<string, WorkloadRec>();
  private readonly vipIndex = new IntervalIndex<{ w: WorkloadRec; vip: VIPSetting }>();
  private readonly vipHandles = new Map<string, IndexEntry<{ w: WorkloadRec; vip: VIPSetting }>[]>();
  private readonly unsynced = new Map<string, string>();

  /** `pending` lists resources that must sync before the view is complete. */
  constructor(pending: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(pending)) this.unsynced.set(k, v);
  }

  get synced(): boolean {
    return this.unsynced.size === 0;
  }

  pending(): string[] {
    return [...this.unsynced.values()];
  }

  setPending(resource: string, why: string | undefined): void {
    if (why === undefined) this.unsynced.delete(resource);
    else this.unsynced.set(resource, why);
  }

  // ---- writes -------------------------------------------------------------

  /** One store per record kind: what a record adds to the maps and indexes, and how it is taken out again. */
  private readonly stores: Record<string, Store> = this.makeStores();

  private makeStores(): Record<string, Store> {
    const namespaces: Store = {
      put: (r) => void this.namespaces_.set(r.name, r as NamespaceRec),
      remove: (_ns, name) => void this.namespaces_.delete(name),
    };
    const pools: Store = {
      put: (r) => {
        const rec = r as PoolRec;
        const handles: IndexEntry<PoolHit>[] = [];
        for (const entry of rec.entries)
          for (const iv of entry.intervals) handles.push(this.poolIndex.insert(iv, { pool: rec, entry }));
        let ns = this.poolsByNs.get(rec.namespace);
        if (!ns) this.poolsByNs.set(rec.namespace, (ns = new PoolsOfNamespace()));
        ns.add({ rec, handles, seq: this.poolSeq++, alive: true });
        this.poolCount++;
      },
      remove: (namespace, name) => {
        const ns = this.poolsByNs.get(namespace);
        const p = ns?.byName.get(name);
        if (!ns || !p) return;
        for (const h of p.handles) this.poolIndex.delete(h);
        ns.remove(p);
        if (!ns.byName.size) this.poolsByNs.delete(namespace);
        this.poolCount--;
      },
    };
    const services: Store = {
      put: (r) => this.services.put(r as ServiceRec),
      remove: (ns, name) => void this.services.remove(ns, name),
    };
    const configMaps: Store = {
      put: (r) => {
        const rec = r as ConfigMapRec;
        const index = new IntervalIndex<KubeVipEntry>();
        for (const k of rec.keys) for (const e of k.entries) if (e.iv) index.insert(e.iv, e);
        let ns = this.configMaps.get(rec.namespace);
        if (!ns) this.configMaps.set(rec.namespace, (ns = new Map()));
        ns.set(rec.name, { rec, index });
      },
      remove: (ns, name) => void this.configMaps.get(ns)?.delete(name),
    };
    const workloads = (kind: WorkloadKind): Store => ({
      put: (r) => {
        const rec = r as WorkloadRec;
        const key = objectKey(rec.kind, rec.namespace, rec.name);
        this.workloadsByKey.set(key, rec);
        const handles: IndexEntry<{ w: WorkloadRec; vip: VIPSetting }>[] = [];
        for (const c of rec.kubeVip)
          for (const vip of c.controlPlaneVIPs)
            if (vip.ip)
              handles.push(this.vipIndex.insert({ fam: vip.ip.fam, lo: vip.ip.v, hi: vip.ip.v }, { w: rec, vip }));
        if (handles.length) this.vipHandles.set(key, handles);
      },
      remove: (ns, name) => {
        const key = objectKey(kind, ns, name);
        this.workloadsByKey.delete(key);
        for (const h of this.vipHandles.get(key) ?? []) this.vipIndex.delete(h);
        this.vipHandles.delete(key);
      },
    });
    const out: Record<string, Store> = {
      Namespace: namespaces,
      IPAddressPool: pools,
      Service: services,
      ConfigMap: configMaps,
    };
    for (const k of WORKLOAD_KINDS) out[k] = workloads(k);
    return out;
  }

  /** Add or replace what an object contributes (or drop it when it no longer qualifies). */
  apply(o: KubeObject, defaultNs = ""): ViewRecord | undefined {
    const rec = toRecord(o, defaultNs);
    if (!rec) {
      const kind = typeof o?.kind === "string" ? o.kind : "";
      const name = typeof o?.metadata?.name === "string" ? o.metadata.name : "";
      const ns = (typeof o?.metadata?.namespace === "string" && o.metadata.namespace) || defaultNs;
      if (kind && name) this.removeKey(kind, ns, name);
      return undefined;
    }
    this.put(rec);
    return rec;
  }

  remove(o: KubeObject, defaultNs = ""): void {
    const kind = typeof o?.kind === "string" ? o.kind : "";
    const name = typeof o?.metadata?.name === "string" ? o.metadata.name : "";
    const ns = (typeof o?.metadata?.namespace === "string" && o.metadata.namespace) || defaultNs;
    this.removeKey(kind, ns, name);
  }

  put(rec: ViewRecord): void {
    const store = this.stores[rec.kind];
    const ns = rec.kind === "Namespace" ? "" : rec.namespace;
    store.remove(ns, rec.name);
    store.put(rec);
  }

  removeKey(kind: string, namespace: string, name: string): void {
    this.stores[kind]?.remove(namespace, name);
  }

  /**
   * Bring the indexes to their steady form after a bulk load (the sources call
   * it once the first state is in), so that no review pays for it.
   */
  settle(): void {
    this.services.compact();
  }

  // ---- reads --------------------------------------------------------------

  namespace(name: string): NamespaceRec | undefined {
    return this.namespaces_.get(name);
  }

  namespaces(): Iterable<NamespaceRec> {
    return this.namespaces_.values();
  }

  namespaceLabels(name: string): Labels | undefined {
    const n = this.namespaces_.get(name);
    if (n) return n.labels;
    if (this.unsynced.has("namespaces")) return undefined;
    // a namespace the view does not hold: the label the API server sets on all (one object per name, so callers may cache by it)
    let l = this.implicitLabels.get(name);
    if (!l) {
      if (this.implicitLabels.size > 10_000) this.implicitLabels.clear();
      this.implicitLabels.set(name, (l = Object.freeze({ [NAMESPACE_NAME_LABEL]: name })));
    }
    return l;
  }

  private readonly implicitLabels = new Map<string, Labels>();

  pool(namespace: string, name: string): PoolRec | undefined {
    return this.poolsByNs.get(namespace)?.byName.get(name)?.rec;
  }

  /** Pools in the order they were put (a replaced pool moves to the end). */
  pools(namespace?: string): PoolRec[] {
    if (namespace !== undefined) return [...(this.poolsByNs.get(namespace)?.byName.values() ?? [])].map((p) => p.rec);
    const all: PoolSlot[] = [];
    for (const ns of this.poolsByNs.values()) for (const p of ns.byName.values()) all.push(p);
    return all.sort((a, b) => a.seq - b.seq).map((p) => p.rec);
  }

  forEachPoolFor(namespace: string, serviceNamespace: string, fn: (pool: PoolRec) => boolean | void): void {
    this.poolsByNs.get(namespace)?.forEachFor(serviceNamespace, fn);
  }

  forEachPoolOverlap(
    namespace: string,
    iv: Interval,
    fn: (pool: PoolRec, entry: MetalLBEntry) => boolean | void,
  ): void {
    this.poolIndex.forEachOverlap(iv, (e) =>
      e.value.pool.namespace === namespace ? fn(e.value.pool, e.value.entry) : false,
    );
  }

  /** A copy: the view keeps Services as table rows (src/cluster/service-table.ts). */
  service(namespace: string, name: string): ServiceRec | undefined {
    return this.services.get(namespace, name);
  }

  forEachServiceAddrAnyClass(iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void {
    this.services.forEachAddrAnyClass(iv, fn);
  }

  forEachServiceAddr(
    cls: string | null,
    iv: Interval,
    fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void,
  ): void {
    this.services.forEachAddr(cls, iv, fn);
  }

  configMap(namespace: string, name: string): ConfigMapRec | undefined {
    return this.configMaps.get(namespace)?.get(name)?.rec;
  }

  forEachConfigMapOverlap(
    namespace: string,
    name: string,
    iv: Interval,
    fn: (e: KubeVipEntry) => boolean | void,
  ): void {
    this.configMaps
      .get(namespace)
      ?.get(name)
      ?.index.forEachOverlap(iv, (e) => fn(e.value));
  }

  workloads(): Iterable<WorkloadRec> {
    return this.workloadsByKey.values();
  }

  workload(kind: string, namespace: string, name: string): WorkloadRec | undefined {
    return this.workloadsByKey.get(objectKey(kind, namespace, name));
  }

  forEachControlPlaneVIP(iv: Interval, fn: (w: WorkloadRec, vip: VIPSetting) => boolean | void): void {
    this.vipIndex.forEachOverlap(iv, (e) => fn(e.value.w, e.value.vip));
  }

  counts(): Record<string, number> {
    return {
      namespaces: this.namespaces_.size,
      pools: this.poolCount,
      services: this.services.size,
      configMaps: [...this.configMaps.values()].reduce((n, m) => n + m.size, 0),
      workloads: this.workloadsByKey.size,
    };
  }
}

/** Holds the current view; sources swap in a new one (snapshot reload) atomically. */
export class ViewHolder {
  constructor(public current: ClusterView) {}
}
