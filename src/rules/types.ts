/**
 * What rules see and say. A rule is a pure function of (request, cluster
 * view, policy): no I/O, no clock, no HTTP. The admission server and the
 * offline `check` command both call the engine with these types.
 */
import type { ClusterView } from "../cluster/view.js";
import type { KubeObject } from "../cluster/records.js";
import type { Policy, RuleFamily } from "../policy/policy.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** The fields of an admission.k8s.io/v1 AdmissionRequest that rules read. */
export interface AdmissionInput {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string; groups?: string[] };
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  dryRun?: boolean;
}

/**
 * One problem a rule found. `severity: "deny"` findings follow the family's
 * enforcement (deny, warn or off); `severity: "warn"` findings are advice and
 * never deny.
 */
export interface Finding {
  rule: string;
  family: RuleFamily;
  message: string;
  severity: "deny" | "warn";
  /** ordering inside one request: lower is reported first */
  rank: number;
}

export interface Mutation {
  /** what changed, in words ("set loadBalancerClass to metallb") */
  description: string;
  /** the object after the change */
  object: KubeObject;
  /** top-level fields the change touched (the patch is computed over these) */
  touched: string[];
}

export interface Verdict {
  /** findings that deny the request */
  denials: Finding[];
  /** findings returned as warnings */
  warnings: Finding[];
  mutation?: Mutation;
}

export interface RuleContext {
  req: AdmissionInput;
  view: ClusterView;
  policy: Policy;
  /** record that a decision needs cluster state the view does not have yet */
  needState(what: string): void;
  readonly stateReady: boolean;
}

export function objectName(req: AdmissionInput, o: KubeObject | null | undefined): string {
  const n = o?.metadata?.name;
  if (typeof n === "string" && n) return n;
  if (req.name) return req.name;
  const g = o?.metadata?.generateName;
  return typeof g === "string" && g ? `${g}*` : "(unnamed)";
}

export function objectNamespace(req: AdmissionInput, o: KubeObject | null | undefined, fallback = "default"): string {
  const n = o?.metadata?.namespace;
  if (typeof n === "string" && n) return n;
  return req.namespace || fallback;
}
