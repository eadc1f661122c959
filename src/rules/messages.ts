/** Shared wording: messages name objects and owners in the user's own terms. */
import { clip } from "../k8s/text.js";
import type { Policy, Provider, ProviderName } from "../policy/policy.js";

export function classPhrase(cls: string | null): string {
  return cls === null ? "no loadBalancerClass" : `loadBalancerClass "${clip(cls, 64)}"`;
}

export function providerClass(p: Provider): string {
  return p.loadBalancerClass === null ? "no class" : `class "${p.loadBalancerClass}"`;
}

/** `metallb (class "metallb"), kube-vip (no class)` */
export function allowedList(policy: Policy, names: ProviderName[]): string {
  return names
    .map((n) => policy.providers[n])
    .filter((p): p is Provider => !!p)
    .map((p) => `${p.name} (${providerClass(p)})`)
    .join(", ");
}

/** Join a list, keeping it short: `a, b, c and 4 more`. */
export function listSome(items: string[], max = 3): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}
