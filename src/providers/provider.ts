/**
 * A load-balancer provider as the rules see it: the annotations Services use
 * to ask it for something, what its controller writes on Services
 * (bookkeeping), its address space, and the fixes that are its own. MetalLB
 * and kube-vip implement it (`metallb.ts`, `kubevip.ts`); the rules iterate
 * over `othersThan(owner)` instead of branching on provider names. Adding a
 * provider is one module here plus its policy name (docs/architecture.md).
 */
import type { Interval } from "../addr/interval.js";
import type { ClusterView } from "../cluster/view.js";
import type { ObjectRef } from "../findings/finding.js";
import type { Labels } from "../k8s/selector.js";
import type { RequestedIP, ServiceLike } from "../k8s/service.js";
import type { Policy, Provider, ProviderName } from "../policy/policy.js";
import type { Finding, RuleContext } from "../rules/types.js";

export interface AddressOwner {
  provider: ProviderName | "reserved";
  /** the other object, in words: `control-plane VIP`, `IPAddressPool metallb-system/gold`, … */
  what: string;
  /** the other side's entry in its own notation */
  entry: string;
  /** which kind of owner, for wording and ordering */
  kind: "configmap" | "cp-vip" | "service" | "pool" | "reserved";
  /** the object, when there is one */
  ref?: ObjectRef;
}

/** What never counts as a conflict with itself. */
export interface Exclude {
  /** the Service being admitted (its own addresses never conflict) */
  service?: { namespace: string; name: string };
  /** the kube-vip instance being admitted */
  instance?: string;
  /** the pool being admitted */
  pool?: { namespace: string; name: string };
}

/** Where a Service lives, for fixes that depend on it (MetalLB's serviceAllocation). */
export interface ServicePlace {
  namespace: string;
  nsLabels: Labels;
  svcLabels: Labels;
}

export interface ProviderModule {
  name: ProviderName;
  /** the name in messages: `MetalLB`, `kube-vip` */
  title: string;
  /** suffix of the rule ids for overlaps with this provider's space (`pool.kube-vip`, `kube-vip-configmap.pool`) */
  ruleSuffix: string;
  /** annotations a Service uses to ask this provider for something */
  requestAnnotations: readonly string[];
  /** annotations and labels its controller writes on Services: bookkeeping, never a request */
  bookkeeping: { annotations: readonly string[]; labels: readonly (readonly [string, string])[] };
  /** owners in this provider's address space overlapping iv, most authoritative first, at most `limit` */
  addressOwners(view: ClusterView, policy: Policy, iv: Interval, ex: Exclude, limit: number): AddressOwner[];
  /** the fix for a Service this provider owns that requested an address of `other`'s space */
  addressFix(view: ClusterView, policy: Policy, place: ServicePlace, other: ProviderModule): string;
  /** the phrase naming this provider's address space in someone else's fix: `MetalLB's pools` */
  spacePhrase: string;
  /** the fix for a Service this provider owns that carries another provider's request annotation `key` */
  foreignAnnotationFix(key: string): string;
  /**
   * The provider's own refusals of a Service it owns (MetalLB: its request
   * parser and pool admission). `place` is undefined while cluster state is
   * not synced; `reqs` are the requests no other provider's space refused.
   */
  ownServiceChecks?(
    ctx: RuleContext,
    subject: ObjectRef,
    svc: ServiceLike,
    place: ServicePlace | undefined,
    reqs: RequestedIP[],
  ): Finding[];
  /**
   * Whether this provider's running instances serve Services of `cls`, a
   * class the policy declares for no provider (kube-vip in legacy class
   * handling serves its default class besides class-less Services).
   */
  servesUndeclaredClass?(view: ClusterView, policy: Policy, cls: string | null): boolean;
  /** the configuration change that makes this provider's controller leave Services of `cls` alone */
  stopWritingFix(self: Provider, cls: string | null, user: string): string;
}
