/**
 * `lbguard audit`: the admission rules over every object (judge.ts) and the
 * whole-view conflicts (conflicts.ts), against one policy (given, or the one
 * `lbguard init` infers). Pure over (view, facts, policy): the CLI reads the
 * cluster, the server's background audit will pass its informer view.
 */
import type { MemoryView } from "../cluster/view.js";
import type { Policy } from "../policy/policy.js";
import { conflicts } from "./conflicts.js";
import type { AuditFacts } from "./facts.js";
import type { AuditFinding } from "./finding.js";
import { judgeAll } from "./judge.js";
import { atOrAbove, severityRank, SEVERITIES, type AuditSeverity } from "./rules.js";

export interface AuditRun {
  findings: AuditFinding[];
  /** objects the admission rules judged */
  judged: number;
  /** objects the rules could not judge */
  errors: string[];
}

export type SeverityCounts = Record<AuditSeverity, number>;

function subjectOrder(a: AuditFinding, b: AuditFinding): number {
  const ka = `${a.subject.namespace ?? ""}/${a.subject.name}/${a.subject.kind}`;
  const kb = `${b.subject.namespace ?? ""}/${b.subject.name}/${b.subject.kind}`;
  return ka < kb ? -1 : ka > kb ? 1 : a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0;
}

export function runAudit(view: MemoryView, facts: AuditFacts, policy: Policy): AuditRun {
  const j = judgeAll(view, facts, policy);
  const findings = [...j.findings, ...conflicts(view, facts, policy)];
  findings.sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || subjectOrder(a, b));
  return { findings, judged: j.judged, errors: j.errors };
}

export function countBySeverity(findings: AuditFinding[]): SeverityCounts {
  const c = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts;
  for (const f of findings) c[f.severity]++;
  return c;
}

/** 0 when nothing is at or above the fail level, 1 when something is (`--exit-zero`: always 0). */
export function auditExitCode(findings: AuditFinding[], failLevel: AuditSeverity, exitZero = false): number {
  if (exitZero) return 0;
  return findings.some((f) => atOrAbove(f.severity, failLevel)) ? 1 : 0;
}
