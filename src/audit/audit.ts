/**
 * `lbguard audit`: the admission rules over every object (judge.ts) and the
 * whole-view conflicts (conflicts.ts), against one policy (given, or the one
 * `lbguard init` infers). Pure over (view, facts, policy): the CLI reads the
 * cluster, the server's background audit will pass its informer view.
 */
import type { ClusterView } from "../cluster/view.js";
import type { Policy } from "../policy/policy.js";
import { conflictSteps } from "./conflicts.js";
import type { AuditFacts } from "./facts.js";
import type { AuditFinding } from "./finding.js";
import { judgeSteps, type JudgeResult } from "./judge.js";
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

export function runAudit(view: ClusterView, facts: AuditFacts, policy: Policy): AuditRun {
  const steps = auditSteps(view, facts, policy);
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/**
 * runAudit one object at a time: the generator yields between objects and
 * returns the run. The server's background audit (background.ts) runs it in
 * slices of a few milliseconds over the live view, so reviews keep being
 * answered while it runs.
 */
export function* auditSteps(view: ClusterView, facts: AuditFacts, policy: Policy): Generator<void, AuditRun> {
  const j: JudgeResult = { findings: [], errors: [], judged: 0 };
  yield* judgeSteps(view, facts, policy, j);
  const whole: AuditFinding[] = [];
  yield* conflictSteps(view, facts, policy, whole);
  const findings = j.findings.concat(whole);
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
