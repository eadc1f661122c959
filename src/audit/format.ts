/**
 * The audit's outputs: text grouped by severity (one line per finding as
 * admission prints it, then its fix), and one JSON/YAML document
 * `{findings, summary, policy}`. PolicyReports are in reports.ts.
 */
import YAML from "yaml";
import { countBySeverity, type SeverityCounts } from "./audit.js";
import { auditFindingJson, auditMessage, type AuditFinding, type AuditFindingJson } from "./finding.js";
import { SEVERITIES, type AuditSeverity } from "./rules.js";

export interface AuditSummary extends SeverityCounts {
  findings: number;
  objects: number;
}

export interface AuditDocument {
  findings: AuditFindingJson[];
  summary: AuditSummary;
  policy: { inferred: boolean; file?: string };
}

export function summaryOf(findings: AuditFinding[], objects: number): AuditSummary {
  return { findings: findings.length, ...countBySeverity(findings), objects };
}

/** `lbguard audit: N findings (c critical, h high, m medium, l low) in K objects` */
export function summaryLine(s: AuditSummary): string {
  return `lbguard audit: ${s.findings} finding${s.findings === 1 ? "" : "s"} (${s.critical} critical, ${s.high} high, ${s.medium} medium, ${s.low} low) in ${s.objects} object${s.objects === 1 ? "" : "s"}`;
}

const COLOUR: Record<AuditSeverity, string> = {
  critical: "\x1b[1;31m",
  high: "\x1b[31m",
  medium: "\x1b[33m",
  low: "\x1b[36m",
  info: "\x1b[2m",
};
const RESET = "\x1b[0m";

export interface TextOptions {
  colour: boolean;
  /** the first line when the policy was inferred */
  inferred?: string;
}

/** Text output, line by line (a large audit is written as it is formatted, never held whole). */
export function* textLines(findings: AuditFinding[], objects: number, o: TextOptions): Generator<string> {
  if (o.inferred) yield o.inferred;
  const paint = (s: AuditSeverity, t: string) => (o.colour ? `${COLOUR[s]}${t}${RESET}` : t);
  const bySeverity = new Map<AuditSeverity, AuditFinding[]>(SEVERITIES.map((s) => [s, []]));
  for (const f of findings) bySeverity.get(f.severity)!.push(f);
  for (const sev of SEVERITIES) {
    const group = bySeverity.get(sev)!;
    if (!group.length) continue;
    yield paint(sev, `${sev} (${group.length})`);
    for (const f of group) {
      yield `  ${auditMessage(f)}`;
      if (f.fix) yield `    fix: ${f.fix}`;
    }
  }
  yield summaryLine(summaryOf(findings, objects));
}

export function textReport(findings: AuditFinding[], objects: number, o: TextOptions): string {
  return [...textLines(findings, objects, o)].join("\n") + "\n";
}

function indent(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text.replace(/^/gm, pad);
}

/** The JSON document in pieces: the same text as JSON.stringify(auditDocument(…), null, 2), one finding at a time. */
export function* jsonChunks(
  findings: AuditFinding[],
  objects: number,
  policy: { inferred: boolean; file?: string },
): Generator<string> {
  if (!findings.length) yield '{\n  "findings": [],\n';
  else {
    yield '{\n  "findings": [\n';
    for (let i = 0; i < findings.length; i++)
      yield (
        indent(JSON.stringify(auditFindingJson(findings[i]), null, 2), 4) + (i < findings.length - 1 ? ",\n" : "\n")
      );
    yield "  ],\n";
  }
  const tail = JSON.stringify({ summary: summaryOf(findings, objects), policy }, null, 2);
  yield tail.slice(tail.indexOf("\n") + 1) + "\n";
}

/** The YAML document in pieces, one finding at a time. */
export function* yamlChunks(
  findings: AuditFinding[],
  objects: number,
  policy: { inferred: boolean; file?: string },
): Generator<string> {
  if (!findings.length) yield "findings: []\n";
  else {
    yield "findings:\n";
    for (const f of findings)
      yield indent(YAML.stringify([auditFindingJson(f)], { lineWidth: 0 }), 2).replace(/ +$/gm, "");
  }
  yield YAML.stringify({ summary: summaryOf(findings, objects), policy }, { lineWidth: 0 });
}

export function auditDocument(
  findings: AuditFinding[],
  objects: number,
  policy: { inferred: boolean; file?: string },
): AuditDocument {
  return { findings: findings.map(auditFindingJson), summary: summaryOf(findings, objects), policy };
}

export function jsonReport(d: AuditDocument): string {
  return JSON.stringify(d, null, 2) + "\n";
}

export function yamlReport(d: AuditDocument): string {
  return YAML.stringify(d, { lineWidth: 0 });
}
