/**
 * The one formatter: a finding becomes a one-line sentence
 * `<subject>: <problem>; <fix>`, a denial becomes one kubectl line that names
 * the subject once, warnings become at most four short lines. Limits follow
 * the admission protocol (docs/controllers.md A4): the API server truncates a
 * warning past 256 characters and recommends under 120; a denial message of
 * ~300 characters stays readable in `kubectl` and fits an Event (1024).
 */
import { Finding, refTitle } from "./finding.js";

export const MAX_MESSAGE = 300;
export const MAX_WARNING = 256;
export const WANT_WARNING = 120;
export const MAX_WARNINGS = 4;

function oneLine(s: string): string {
  return s.includes("\n") || s.includes("\r") ? s.replace(/[\r\n]+/g, " ") : s;
}

export function clipTo(s: string, n: number): string {
  const one = oneLine(s);
  return one.length <= n ? one : one.slice(0, n - 1) + "…";
}

/** The problem and its fix, without the subject. */
export function body(f: Finding): string {
  return f.fix ? `${f.problem}; ${f.fix}` : f.problem;
}

/** The finding as one sentence: `Service shop/web: 10.0.4.247 is owned by kube-vip (…); <fix>`. */
export function message(f: Finding): string {
  return `${refTitle(f.subject)}${f.join ?? ": "}${body(f)}`;
}

/**
 * One kubectl line for a denial: the most specific finding in full, then the
 * others as far as they fit (`; also: …`, the subject named once), then how
 * many were left out.
 */
export function denialMessage(findings: Finding[]): string {
  if (!findings.length) return "denied by lbguard";
  const first = findings[0];
  const subject = refTitle(first.subject);
  let out = clipTo(message(first), MAX_MESSAGE);
  let i = 1;
  for (; i < findings.length; i++) {
    const f = findings[i];
    const text = refTitle(f.subject) === subject && (f.join ?? ": ") === ": " ? body(f) : message(f);
    const next = `; also: ${oneLine(text)}`;
    const rest = findings.length - i - 1;
    const tail = rest > 0 ? ` (+${rest} more)` : "";
    if (out.length + next.length + tail.length > MAX_MESSAGE) break;
    out += next;
  }
  if (i < findings.length) {
    const more = ` (+${findings.length - i} more)`;
    if (out.length + more.length <= MAX_MESSAGE + 20) out += more;
  }
  return out;
}

/** At most four warnings, one line each, never over 256 characters; the last says how many were dropped. */
export function warningLines(findings: Finding[]): string[] | undefined {
  if (findings.length === 0) return undefined;
  const uniq = [...new Set(findings.map((f) => clipTo(message(f), MAX_WARNING)))];
  if (uniq.length <= MAX_WARNINGS) return uniq;
  const kept = uniq.slice(0, MAX_WARNINGS - 1);
  kept.push(`${uniq.length - kept.length} more lbguard warnings not shown; see the lbguard log`);
  return kept;
}

/** The machine-readable form (`check -o json`, audit json/yaml). */
export interface FindingJson {
  rule: string;
  family: string;
  severity: string;
  subject: { kind: string; namespace?: string; name: string };
  related: { kind: string; namespace?: string; name: string }[];
  field?: string;
  message: string;
  fix: string;
}

export function findingJson(f: Finding): FindingJson {
  const ref = (r: Finding["subject"]) =>
    r.namespace ? { kind: r.kind, namespace: r.namespace, name: r.name } : { kind: r.kind, name: r.name };
  return {
    rule: f.rule,
    family: f.family,
    severity: f.severity,
    subject: ref(f.subject),
    related: f.related.map(ref),
    ...(f.field ? { field: f.field } : {}),
    message: message(f),
    fix: f.fix,
  };
}
