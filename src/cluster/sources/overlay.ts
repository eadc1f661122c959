/** A view whose pools come from a fresh list and everything else from the live view. */
import type { Interval } from "../../addr/interval.js";
import type { KubeVipEntry } from "../../addr/kubevip.js";
import type { MetalLBEntry } from "../../addr/metallb.js";
import type { Labels } from "../../k8s/selector.js";
import type { VIPSetting } from "../../kubevip/effective.js";
import type { ConfigMapRec, NamespaceRec, PoolRec, ServiceAddr, ServiceRec, WorkloadRec } from "../records.js";
import type { ClusterView, MemoryView } from "../view.js";

export class PoolOverlayView implements ClusterView {
  constructor(
    private readonly base: ClusterView,
    private readonly fresh: MemoryView,
  ) {}
  get synced(): boolean {
    return this.base.synced;
  }
  pending(): string[] {
    return this.base.pending();
  }
  namespace(name: string): NamespaceRec | undefined {
    return this.base.namespace(name);
  }
  namespaces(): Iterable<NamespaceRec> {
    return this.base.namespaces();
  }
  namespaceLabels(name: string): Labels | undefined {
    return this.base.namespaceLabels(name);
  }
  pool(namespace: string, name: string): PoolRec | undefined {
    return this.fresh.pool(namespace, name);
  }
  pools(namespace?: string): PoolRec[] {
    return this.fresh.pools(namespace);
  }
  forEachPoolFor(namespace: string, serviceNamespace: string, fn: (pool: PoolRec) => boolean | void): void {
    this.fresh.forEachPoolFor(namespace, serviceNamespace, fn);
  }
  forEachPoolOverlap(
    namespace: string,
    iv: Interval,
    fn: (pool: PoolRec, entry: MetalLBEntry) => boolean | void,
  ): void {
    this.fresh.forEachPoolOverlap(namespace, iv, fn);
  }
  service(namespace: string, name: string): ServiceRec | undefined {
    return this.base.service(namespace, name);
  }
  forEachServiceAddrAnyClass(iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void {
    this.base.forEachServiceAddrAnyClass(iv, fn);
  }
  forEachServiceAddr(
    cls: string | null,
    iv: Interval,
    fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void,
  ): void {
    this.base.forEachServiceAddr(cls, iv, fn);
  }
  configMap(namespace: string, name: string): ConfigMapRec | undefined {
    return this.base.configMap(namespace, name);
  }
  forEachConfigMapOverlap(
    namespace: string,
    name: string,
    iv: Interval,
    fn: (e: KubeVipEntry) => boolean | void,
  ): void {
    this.base.forEachConfigMapOverlap(namespace, name, iv, fn);
  }
  workloads(): Iterable<WorkloadRec> {
    return this.base.workloads();
  }
  workload(kind: string, namespace: string, name: string): WorkloadRec | undefined {
    return this.base.workload(kind, namespace, name);
  }
  forEachControlPlaneVIP(iv: Interval, fn: (w: WorkloadRec, vip: VIPSetting) => boolean | void): void {
    this.base.forEachControlPlaneVIP(iv, fn);
  }
  counts(): Record<string, number> {
    return { ...this.base.counts(), pools: this.fresh.counts().pools };
  }
}
