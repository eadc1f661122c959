/**
 * An audit finding: a Finding (src/findings) with the audit's severity and
 * the providers on either side of it. Admission rules' findings keep their
 * rule id, family, message and fix; the audit's own rules (rules.ts) report
 * under family `audit`.
 */
import type { Finding, ObjectRef } from "../findings/finding.js";
import { findingJson, message, type FindingJson } from "../findings/format.js";
import type { RuleFamily } from "../policy/schema.js";
import type { AuditSeverity } from "./rules.js";

export interface AuditFinding {
  rule: string;
  /** the admission rule's enforcement family, or `audit` */
  family: RuleFamily | "audit";
  severity: AuditSeverity;
  subject: ObjectRef;
  related: ObjectRef[];
  /** what is wrong, without the subject (as in Finding) */
  problem: string;
  /** what to change: a command, an env line, a Helm value */
  fix: string;
  field?: string;
  join?: ": " | " ";
  /** the provider that owns the subject (`metallb`, `kube-vip`, `none`) */
  owner: string;
  /** the provider on the other side (`metallb`, `kube-vip`, `servicelb`, `reserved`, `none`) */
  contender: string;
}

/** The Finding the one formatter reads (message() reads subject, join, problem and fix only). */
export function asFinding(a: AuditFinding): Finding {
  return {
    rule: a.rule,
    family: (a.family === "audit" ? "services" : a.family) as RuleFamily,
    severity: a.severity === "medium" || a.severity === "low" || a.severity === "info" ? "warn" : "deny",
    subject: a.subject,
    related: a.related,
    problem: a.problem,
    fix: a.fix,
    ...(a.field ? { field: a.field } : {}),
    ...(a.join ? { join: a.join } : {}),
    rank: 0,
  };
}

/** The one-line message, as admission prints it: `<subject>: <problem>; <fix>`. */
export function auditMessage(a: AuditFinding): string {
  return message(asFinding(a));
}

export interface AuditFindingJson extends Omit<FindingJson, "severity" | "family"> {
  family: string;
  severity: AuditSeverity;
  owner: string;
  contender: string;
}

/** `findingJson()` with the audit's severity, family and providers. */
export function auditFindingJson(a: AuditFinding): AuditFindingJson {
  return {
    ...findingJson(asFinding(a)),
    family: a.family,
    severity: a.severity,
    owner: a.owner,
    contender: a.contender,
  };
}

export function refKey(r: ObjectRef): string {
  return `${r.kind}/${r.namespace ?? ""}/${r.name}`;
}

/**
 * A string built from parts is a tree of parts until something reads it
 * whole; a finding keeps its texts for the whole run (and 45,000 findings
 * are 45,000 such trees): reading one character flattens the tree into one
 * string (about 100 bytes a finding less).
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
