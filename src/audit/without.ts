/**
 * A cluster view minus one object: what the audit judges an object against
 * ("as if it were created now", its own stored version excluded). The view
 * underneath is never changed, so the audit can run over the live view the
 * webhook decides from: taking an object out and putting it back would
 * reorder the pools and the Services' address rows, and re-merge the
 * Service table's indexes once every few dozen Services (at 100k Services
 * most of an audit's time).
 */
import type { Interval } from "../addr/interval.js";
import type { KubeVipEntry } from "../addr/kubevip.js";
import type { MetalLBEntry } from "../addr/metallb.js";
import type { ConfigMapRec, NamespaceRec, PoolRec, ServiceAddr, ServiceRec, WorkloadRec } from "../cluster/records.js";
import type { ClusterView } from "../cluster/view.js";
import type { Labels } from "../k8s/selector.js";
import type { VIPSetting } from "../kubevip/effective.js";

export class ViewWithout implements ClusterView {
  constructor(
    private readonly base: ClusterView,
    private readonly kind: string,
    private readonly ns: string,
    private readonly name: string,
  ) {}

  private hides(kind: string, ns: string, name: string): boolean {
    return kind === this.kind && name === this.name && ns === this.ns;
  }

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
    return this.hides("IPAddressPool", namespace, name) ? undefined : this.base.pool(namespace, name);
  }
  pools(namespace?: string): PoolRec[] {
    const all = this.base.pools(namespace);
    return this.kind === "IPAddressPool" ? all.filter((p) => !this.hides(p.kind, p.namespace, p.name)) : all;
  }
  forEachPoolFor(namespace: string, serviceNamespace: string, fn: (pool: PoolRec) => boolean | void): void {
    if (this.kind !== "IPAddressPool") return this.base.forEachPoolFor(namespace, serviceNamespace, fn);
    this.base.forEachPoolFor(namespace, serviceNamespace, (p) =>
      this.hides(p.kind, p.namespace, p.name) ? false : fn(p),
    );
  }
  forEachPoolOverlap(
    namespace: string,
    iv: Interval,
    fn: (pool: PoolRec, entry: MetalLBEntry) => boolean | void,
  ): void {
    if (this.kind !== "IPAddressPool") return this.base.forEachPoolOverlap(namespace, iv, fn);
    this.base.forEachPoolOverlap(namespace, iv, (p, e) => (this.hides(p.kind, p.namespace, p.name) ? false : fn(p, e)));
  }

  service(namespace: string, name: string): ServiceRec | undefined {
    return this.hides("Service", namespace, name) ? undefined : this.base.service(namespace, name);
  }
  forEachServiceAddr(
    cls: string | null,
    iv: Interval,
    fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void,
  ): void {
    if (this.kind !== "Service") return this.base.forEachServiceAddr(cls, iv, fn);
    this.base.forEachServiceAddr(cls, iv, (s, a) => (this.hides(s.kind, s.namespace, s.name) ? false : fn(s, a)));
  }
  forEachServiceAddrAnyClass(iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void {
    if (this.kind !== "Service") return this.base.forEachServiceAddrAnyClass(iv, fn);
    this.base.forEachServiceAddrAnyClass(iv, (s, a) => (this.hides(s.kind, s.namespace, s.name) ? false : fn(s, a)));
  }

  configMap(namespace: string, name: string): ConfigMapRec | undefined {
    return this.hides("ConfigMap", namespace, name) ? undefined : this.base.configMap(namespace, name);
  }
  forEachConfigMapOverlap(
    namespace: string,
    name: string,
    iv: Interval,
    fn: (e: KubeVipEntry) => boolean | void,
  ): void {
    if (this.hides("ConfigMap", namespace, name)) return;
    this.base.forEachConfigMapOverlap(namespace, name, iv, fn);
  }

  *workloads(): Iterable<WorkloadRec> {
    for (const w of this.base.workloads()) if (!this.hides(w.kind, w.namespace, w.name)) yield w;
  }
  workload(kind: string, namespace: string, name: string): WorkloadRec | undefined {
    return this.hides(kind, namespace, name) ? undefined : this.base.workload(kind, namespace, name);
  }
  forEachControlPlaneVIP(iv: Interval, fn: (w: WorkloadRec, vip: VIPSetting) => boolean | void): void {
    this.base.forEachControlPlaneVIP(iv, (w, v) => (this.hides(w.kind, w.namespace, w.name) ? false : fn(w, v)));
  }

  counts(): Record<string, number> {
    return this.base.counts();
  }
}
