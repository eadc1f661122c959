/**
 * Finding (a) of SPEC §11: every object of an admitted kind judged by the
 * admission rules against the rest of the view, as if it were created now.
 * The object is judged against the view without it (without.ts), so it
 * never conflicts with its own stored version; the view itself is never
 * changed (the server's background audit judges the live view).
 *
 * Only the validating webhook's rules run: the mutating webhook's defaulting
 * would judge an existing class-less Service as if it had the namespace's
 * class, which it can never get (the class is immutable, docs/controllers.md S1).
 * Severity: a finding the rules report as a denial is `high`, a warning
 * `medium`, whatever the policy's enforcement (a `warn` family or mirror
 * pods only say how writes are blocked, not how wrong the running state is);
 * `critical` when the address is in use by two owners now (see `critical`).
 */
import { decide } from "../admission/handler.js";
import type { ViewRecord } from "../cluster/records.js";
import type { ClusterView } from "../cluster/view.js";
import type { Finding, ObjectRef } from "../findings/finding.js";
import { apiGroup, type KubeObject } from "../k8s/object.js";
import type { AdmissionInput } from "../k8s/review.js";
import type { Policy } from "../policy/policy.js";
import { serviceObject, type AuditFacts } from "./facts.js";
import { flat, refKey, type AuditFinding } from "./finding.js";
import type { AuditSeverity } from "./rules.js";
import { ViewWithout } from "./without.js";

/** one empty `related` for every finding that has none */
const NO_RELATED: AuditFinding["related"] = Object.freeze([]) as unknown as AuditFinding["related"];

/** The user the audit's requests come from (never a provider's identity, so foreign-write rules stay out). */
export const AUDIT_USER = "lbguard-audit";

const KIND_ORDER = ["Service", "IPAddressPool", "ConfigMap", "DaemonSet", "Deployment", "StatefulSet", "Pod"];

/** Rules whose findings come in pairs (A overlaps B, B overlaps A): the second of a pair is dropped. */
const SYMMETRIC = new Set(["pool.overlap", "kube-vip.lease-clash"]);

/** Rules about another provider's space, whose contender is the other provider when no object is named. */
const CROSS_PROVIDER = new Set([
  "service.foreign-address",
  "service.foreign-annotation",
  "service.allowed-class",
  "pool.kube-vip",
  "kube-vip-configmap.pool",
  "kube-vip.claims",
  "kube-vip.cloud-provider",
  "kube-vip.vip-in-pool",
]);

function version(apiVersion: unknown): string {
  const a = typeof apiVersion === "string" ? apiVersion : "";
  return a.slice(a.indexOf("/") + 1);
}

function recordOf(view: ClusterView, kind: string, ns: string, name: string): ViewRecord | undefined {
  switch (kind) {
    case "Service":
      return view.service(ns, name);
    case "IPAddressPool":
      return view.pool(ns, name);
    case "ConfigMap":
      return view.configMap(ns, name);
    default:
      return view.workload(kind, ns, name);
  }
}

/** The provider an object belongs to under the policy, for a report's owner/contender. */
export function providerOf(ref: ObjectRef, policy: Policy, facts: AuditFacts): string {
  switch (ref.kind) {
    case "Service": {
      const s = facts.services.get(`${ref.namespace}/${ref.name}`);
      return (s && policy.ownerOfClass(s.cls)?.name) || "none";
    }
    case "IPAddressPool":
      return "metallb";
    case "ConfigMap":
    case "Pod":
    case "DaemonSet":
    case "Deployment":
    case "StatefulSet":
      return "kube-vip";
    default:
      return "none";
  }
}

function otherProvider(policy: Policy, owner: string): string {
  const o = Object.keys(policy.providers).find((p) => p !== owner);
  return o ?? "none";
}

function ipsShared(a: string[] | undefined, b: string[] | undefined): boolean {
  return !!a && !!b && a.some((x) => b.includes(x));
}

/**
 * Critical when the address is in use by two owners now: a Service requesting
 * another provider's Service's address while both hold it in
 * status.loadBalancer.ingress; two overlapping pools that both have addresses
 * assigned (status.assignedIPv4/IPv6 > 0).
 */
function critical(f: Finding, facts: AuditFacts): boolean {
  const rel = f.related[0];
  if (!rel) return false;
  if (f.rule === "service.foreign-address" && rel.kind === "Service") {
    const a = facts.services.get(`${f.subject.namespace}/${f.subject.name}`);
    const b = facts.services.get(`${rel.namespace}/${rel.name}`);
    return ipsShared(a?.ingress, b?.ingress);
  }
  if (f.rule === "pool.overlap" && rel.kind === "IPAddressPool")
    return (
      (facts.poolAssigned.get(`${f.subject.namespace}/${f.subject.name}`) ?? 0) > 0 &&
      (facts.poolAssigned.get(`${rel.namespace}/${rel.name}`) ?? 0) > 0
    );
  return false;
}

export interface JudgeResult {
  findings: AuditFinding[];
  /** objects the rules could not judge (a rule threw) */
  errors: string[];
  judged: number;
}

interface Judged {
  kind: string;
  ns: string;
  name: string;
  object: () => KubeObject;
}

/**
 * The objects the admission rules judge: Services in the order they were
 * read (the findings are sorted afterwards, and no Service rule pairs up),
 * then pools, the ConfigMap and kube-vip workloads sorted by kind and name, so
 * that which finding of a symmetric pair is kept never depends on the input order.
 */
function* judgedObjects(facts: AuditFacts): Generator<Judged> {
  for (const s of facts.services.values())
    yield { kind: "Service", ns: s.namespace, name: s.name, object: () => serviceObject(s) };
  const rest: Judged[] = [];
  for (const [key, o] of facts.judged) {
    const [kind, ns, name] = key.split("/");
    rest.push({ kind, ns, name, object: () => o });
  }
  const rank = (k: string) => KIND_ORDER.indexOf(k);
  const key = (j: Judged) => `${j.ns}/${j.name}`;
  rest.sort((a, b) => rank(a.kind) - rank(b.kind) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  yield* rest;
}

export function judgeAll(view: ClusterView, facts: AuditFacts, policy: Policy): JudgeResult {
  const out: JudgeResult = { findings: [], errors: [], judged: 0 };
  for (const _ of judgeSteps(view, facts, policy, out));
  return out;
}

/**
 * judgeAll one object at a time: yields after each object, so that a caller
 * (the server's background audit) can give the event loop back between
 * objects. The results accumulate in `out`.
 */
export function* judgeSteps(view: ClusterView, facts: AuditFacts, policy: Policy, out: JudgeResult): Generator<void> {
  const { findings, errors } = out;
  const pairs = new Set<string>();
  // fixes repeat across findings ("allowed: metallb (class "metallb")"): one copy of each
  const fixes = new Map<string, string>();
  const fixOf = (fix: string) => {
    let hit = fixes.get(fix);
    if (hit === undefined) {
      hit = flat(fix);
      if (fixes.size < 10_000) fixes.set(hit, hit);
    }
    return hit;
  };
  for (const j of judgedObjects(facts)) {
    yield;
    const rec = recordOf(view, j.kind, j.ns, j.name);
    if (!rec) continue;
    const object = j.object();
    const req: AdmissionInput = {
      uid: `audit-${out.judged}`,
      kind: { group: apiGroup(object.apiVersion), version: version(object.apiVersion), kind: j.kind },
      name: j.name,
      namespace: j.ns,
      operation: "CREATE",
      userInfo: { username: AUDIT_USER },
      object,
      oldObject: null,
    };
    out.judged++;
    const d = decide("validate", req, policy, new ViewWithout(view, j.kind, j.ns, j.name));
    if (d.decision === "error") {
      errors.push(`${j.kind} ${j.ns}/${j.name}: ${d.response.status?.message ?? "internal error"}`);
      continue;
    }
    const v = d.verdict;
    if (!v) continue;
    // findings of families in shadow mode (enforcement audit) are findings all the same
    for (const f of [...v.denials, ...v.warnings, ...(v.audited ?? [])]) {
      if (f.rule === "cluster-state") continue;
      const rel = f.related[0];
      if (SYMMETRIC.has(f.rule) && rel) {
        const me = `${f.rule}|${refKey(f.subject)}|${refKey(rel)}`;
        if (pairs.has(`${f.rule}|${refKey(rel)}|${refKey(f.subject)}`)) continue;
        pairs.add(me);
      }
      const severity: AuditSeverity = f.severity === "warn" ? "medium" : critical(f, facts) ? "critical" : "high";
      const owner = providerOf(f.subject, policy, facts);
      let contender = rel ? providerOf(rel, policy, facts) : "none";
      if (!rel && CROSS_PROVIDER.has(f.rule)) contender = otherProvider(policy, owner);
      if (f.rule === "service.reserved-address" || f.rule.endsWith(".reserved")) contender = "reserved";
      findings.push({
        rule: f.rule,
        family: f.family,
        severity,
        subject: f.subject,
        related: f.related.length ? f.related : NO_RELATED,
        problem: flat(f.problem),
        fix: fixOf(f.fix),
        ...(f.field ? { field: f.field } : {}),
        ...(f.join ? { join: f.join } : {}),
        owner,
        contender,
      });
    }
  }
}
