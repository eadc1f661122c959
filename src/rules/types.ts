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
