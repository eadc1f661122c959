/**
 * How a kind's rule module declares itself to the engine (cert-manager's
 * webhook style: one module per admitted kind, a table mapping kinds to
 * them). The engine, not the rules, checks operations, subresources, field
 * relevance on UPDATE and enforcement `off`.
 */
import type { AdmissionInput, Operation } from "../k8s/review.js";
import type { RuleFamily } from "../policy/policy.js";
import type { FieldSpec } from "./fields.js";
import type { Finding, Mutation, RuleContext } from "./types.js";

export interface Check {
  /** the enforcement family whose `off` skips this check */
  family: RuleFamily;
  /** the family for this request when it is not `family` (a mirror pod reports under mirrorPods) */
  familyOf?(req: AdmissionInput): RuleFamily;
  operations: readonly Operation[];
  /** subresources the check judges; "" is the main resource (the default: [""]) */
  subResources?: readonly string[];
  /** fields whose change makes an UPDATE relevant; absent: every UPDATE */
  fields?: readonly FieldSpec[];
  /** the catalogue ids this check reports */
  rules: readonly string[];
  validate?(ctx: RuleContext): Finding[];
  mutate?(ctx: RuleContext): Mutation | undefined;
}

export interface KindModule {
  group: string;
  kinds: readonly string[];
  checks: readonly Check[];
  /**
   * Cluster state that must be read fresh from the API server before
   * deciding (MetalLB's own webhook re-lists pools for a pool write).
   */
  fresh?: { what: "pools"; operations: readonly Operation[] };
}
