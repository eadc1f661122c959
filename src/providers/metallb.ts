/**
 * MetalLB as a provider: its pools are its address space, its request
 * annotations are read the way its controller reads them, and its controller
 * writes `metallb.io/ip-allocated-from-pool` (docs/controllers.md M1, M6).
 */
import type { Interval } from "../addr/interval.js";
import type { ClusterView } from "../cluster/view.js";
import { MLB } from "../k8s/service.js";
import type { Policy, Provider } from "../policy/policy.js";
import { metallbServiceChecks } from "./metallb-service.js";
import { poolsForNamespace } from "./metallb-pools.js";
import type { AddressOwner, Exclude, ProviderModule } from "./provider.js";

export const metallb: ProviderModule = {
  name: "metallb",
  title: "MetalLB",
  ruleSuffix: "pool",
  spacePhrase: "MetalLB's pools",
  requestAnnotations: [MLB.pool, MLB.ips, MLB.share, MLB.poolOld, MLB.ipsOld, MLB.shareOld],
  bookkeeping: { annotations: [MLB.allocated, MLB.allocatedOld], labels: [] },

  addressOwners(view: ClusterView, policy: Policy, iv: Interval, ex: Exclude, limit: number): AddressOwner[] {
    const out: AddressOwner[] = [];
    const m = policy.providers.metallb;
    if (!m) return out;
    view.forEachPoolOverlap(m.namespace, iv, (pool, entry) => {
      if (ex.pool && pool.namespace === ex.pool.namespace && pool.name === ex.pool.name) return false;
      out.push({
        provider: "metallb",
        kind: "pool",
        what: `IPAddressPool ${pool.namespace}/${pool.name}`,
        entry: entry.text,
        ref: { kind: "IPAddressPool", namespace: pool.namespace, name: pool.name },
      });
      return out.length >= limit;
    });
    return out;
  },

  addressFix(view, policy, place) {
    return poolsForNamespace(view, policy, place, "request an address from a MetalLB pool");
  },

  ownServiceChecks: (...a) => metallbServiceChecks(...a),

  foreignAnnotationFix() {
    return `use ${MLB.ips} instead`;
  },

  stopWritingFix(self: Provider) {
    return self.loadBalancerClass === null
      ? `check MetalLB's --lb-class; the policy says it serves Services without a class`
      : `start the MetalLB controller with --lb-class=${self.loadBalancerClass} as the policy says`;
  },
};
