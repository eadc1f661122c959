/**
 * What rules see and say. A rule is a pure function of (request, cluster
 * view, policy): no I/O, no clock, no HTTP. The admission server, `lbguard
 * check` and the tests all reach the rules through `engine.ts`.
 */
import type { ClusterView } from "../cluster/view.js";
import type { Finding, ObjectRef, Severity } from "../findings/finding.js";
import type { KubeObject } from "../k8s/object.js";
import type { AdmissionInput } from "../k8s/review.js";
import type { Policy, RuleFamily } from "../policy/policy.js";
import { ruleInfo } from "./catalogue.js";

export type { Finding, ObjectRef } from "../findings/finding.js";
export type { AdmissionInput, Operation } from "../k8s/review.js";

export interface FindingOptions {
  severity?: Severity;
  related?: ObjectRef[];
  field?: string;
  /** the family, when not the catalogue's (the rules of a mirror pod report under mirrorPods) */
  family?: RuleFamily;
  join?: " ";
}

/** A finding of catalogue rule `rule`: family and rank come from the catalogue. */
export function finding(
  rule: string,
  subject: ObjectRef,
  problem: string,
  fix: string,
  o: FindingOptions = {},
): Finding {
  const info = ruleInfo(rule);
  const f: Finding = {
    rule,
    family: o.family ?? info.family,
    severity: o.severity ?? "deny",
    subject,
    related: o.related ?? [],
    problem,
    fix,
    rank: info.rank,
  };
  if (o.field) f.field = o.field;
  if (o.join) f.join = o.join;
  return f;
}

/** One field set to a value; the patch is computed from these (no copy of the object). */
export interface Change {
  /** path from the object's root, e.g. ["spec", "loadBalancerClass"] */
  path: string[];
  value: unknown;
}

export interface Mutation {
  /** what changed, in words ("set loadBalancerClass to metallb") */
  description: string;
  changes: Change[];
}

/** The object with a mutation applied (copies only along the changed paths). */
export function applyMutation(o: KubeObject, m: Mutation): KubeObject {
  let out: Record<string, unknown> = o;
  for (const c of m.changes) out = setIn(out, c.path, c.value);
  return out as KubeObject;
}

function setIn(o: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const child = (o?.[head] ?? {}) as Record<string, unknown>;
  return { ...o, [head]: rest.length ? setIn(child, rest, value) : value };
}

export interface Verdict {
  /** findings that deny the request */
  denials: Finding[];
  /** findings returned as warnings */
  warnings: Finding[];
  /**
   * findings of families under enforcement `audit`: the request is not denied
   * or warned for them; the answer records them in its auditAnnotations
   */
  audited: Finding[];
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
