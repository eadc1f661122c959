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
  ViewRecord,
  WorkloadRec,
  toRecord,
} from "./records.js";
import { KubeObject, WORKLOAD_KINDS, WorkloadKind } from "../k8s/object.js";

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

interface Store {
  put(rec: ViewRecord): void;
  remove(namespace: string, name: string): void;
}

function classKey(cls: string | null): string {
  return cls === null ? "\u0000" : cls;
}

export function objectKey(kind: string, namespace: string, name: string): string {
  return kind === "Namespace" ? `Namespace//${name}` : `${kind}/${namespace}/${name}`;
}

export class MemoryView implements ClusterView {
  /** set by a source that can re-list pools (the live source) */
  freshPools?: (deadline: number, uid?: string) => Promise<ClusterView | undefined> | undefined;
  private readonly namespaces_ = new Map<string, NamespaceRec>();
  private readonly poolsByKey = new Map<string, { rec: PoolRec; handles: IndexEntry<PoolHit>[] }>();
  private readonly poolIndex = new IntervalIndex<PoolHit>();
  private readonly servicesByKey = new Map<string, ServiceRec>();
  private readonly serviceIndex = new Map<string, IntervalIndex<ServiceAddr>>();
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
        this.poolsByKey.set(objectKey(rec.kind, rec.namespace, rec.name), { rec, handles });
      },
      remove: (ns, name) => {
        const key = objectKey("IPAddressPool", ns, name);
        const p = this.poolsByKey.get(key);
        if (!p) return;
        for (const h of p.handles) this.poolIndex.delete(h);
        this.poolsByKey.delete(key);
      },
    };
    const services: Store = {
      put: (r) => {
        const rec = r as ServiceRec;
        const ck = classKey(rec.cls);
        let idx = this.serviceIndex.get(ck);
        if (!idx) this.serviceIndex.set(ck, (idx = new IntervalIndex<ServiceAddr>()));
        for (const addr of rec.addrs) addr.handle = idx.insert(addr, addr);
        this.servicesByKey.set(`${rec.namespace}/${rec.name}`, rec);
      },
      remove: (ns, name) => {
        const k = `${ns}/${name}`;
        const s = this.servicesByKey.get(k);
        if (!s) return;
        const idx = this.serviceIndex.get(classKey(s.cls))!;
        for (const a of s.addrs) idx.delete(a.handle as IndexEntry<ServiceAddr>);
        this.servicesByKey.delete(k);
      },
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
    return this.poolsByKey.get(objectKey("IPAddressPool", namespace, name))?.rec;
  }

  pools(namespace?: string): PoolRec[] {
    const out: PoolRec[] = [];
    for (const { rec } of this.poolsByKey.values())
      if (namespace === undefined || rec.namespace === namespace) out.push(rec);
    return out;
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

  service(namespace: string, name: string): ServiceRec | undefined {
    return this.servicesByKey.get(`${namespace}/${name}`);
  }

  forEachServiceAddrAnyClass(iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void {
    let stop = false;
    for (const idx of this.serviceIndex.values()) {
      idx.forEachOverlap(iv, (e) => (stop = fn(e.value.svc, e.value) === true));
      if (stop) return;
    }
  }

  forEachServiceAddr(
    cls: string | null,
    iv: Interval,
    fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void,
  ): void {
    this.serviceIndex.get(classKey(cls))?.forEachOverlap(iv, (e) => fn(e.value.svc, e.value));
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
      pools: this.poolsByKey.size,
      services: this.servicesByKey.size,
      configMaps: [...this.configMaps.values()].reduce((n, m) => n + m.size, 0),
      workloads: this.workloadsByKey.size,
    };
  }
}

/** Holds the current view; sources swap in a new one (snapshot reload) atomically. */
export class ViewHolder {
  constructor(public current: ClusterView) {}
}
