/** The provider modules, by the name the policy uses for them. */
import type { ClusterView } from "../cluster/view.js";
import type { Policy, Provider, ProviderName } from "../policy/policy.js";
import { kubeVip } from "./kubevip.js";
import { metallb } from "./metallb.js";
import type { ProviderModule } from "./provider.js";

export type { AddressOwner, Exclude, ProviderModule, ServicePlace } from "./provider.js";

export const PROVIDER_MODULES: Readonly<Record<ProviderName, ProviderModule>> = {
  metallb,
  "kube-vip": kubeVip,
};

export function moduleOf(p: Provider | ProviderName): ProviderModule {
  return PROVIDER_MODULES[typeof p === "string" ? p : p.name];
}

/** The providers the policy declares other than `name`, each with its module. */
/**
 * The provider that owns Services of `cls`: the one whose policy class it is,
 * else one whose running instances serve it (a provider owns the classes its
 * instances claim; the declared class wins where they disagree).
 */
export function ownerOfClass(policy: Policy, view: ClusterView, cls: string | null | undefined): Provider | undefined {
  const declared = policy.ownerOfClass(cls);
  if (declared) return declared;
  for (const p of Object.values(policy.providers))
    if (p && moduleOf(p).servesUndeclaredClass?.(view, policy, cls ?? null)) return p;
  return undefined;
}

export interface DeclaredProvider {
  provider: Provider;
  module: ProviderModule;
}

// a policy is immutable: its lists are computed once (this is on every review's path)
const cache = new WeakMap<Policy, Map<string, readonly DeclaredProvider[]>>();

export function othersThan(policy: Policy, name: ProviderName): readonly DeclaredProvider[] {
  let byName = cache.get(policy);
  if (!byName) cache.set(policy, (byName = new Map()));
  let out = byName.get(name);
  if (!out) {
    out = Object.values(policy.providers)
      .filter((p): p is Provider => !!p && p.name !== name)
      .map((p) => ({ provider: p, module: moduleOf(p) }));
    byName.set(name, out);
  }
  return out;
}

export {
  admittingPools,
  poolAdmits,
  poolEntryServes,
  poolSummary,
  serviceAllocationProblems,
} from "./metallb-pools.js";
export { controlPlaneVIPs, workloadTitle } from "./kubevip.js";
