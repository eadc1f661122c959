/**
 * `lbguard init`'s output: the inferred OwnershipPolicy as YAML, every
 * inferred field with a comment saying where it came from (the `yaml`
 * package's Document API), ending with the changes that would make the
 * cluster match it.
 */
import YAML, { isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { packageVersion } from "../version.js";
import { auditMessage, refKey, type AuditFinding } from "./finding.js";
import type { Inferred, Path } from "./infer.js";

const WIDTH = 118;
const MAX_CHANGES = 50;

/** Lines of at most WIDTH characters, broken at spaces (a comment line each; "#" is added by the printer). */
function wrap(text: string, indent = 0): string {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(" ")) {
      if (line && line.length + 1 + word.length > WIDTH - indent) {
        out.push(line);
        line = "   " + word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out.map((l) => ` ${l}`).join("\n");
}

function attach(doc: YAML.Document, path: Path, text: string): void {
  const parent = doc.getIn(path.slice(0, -1)) as Node | undefined;
  const last = path[path.length - 1];
  const depth = path.length * 2;
  if (typeof last === "number" && isSeq(parent)) {
    const item = parent.items[last] as Node | undefined;
    if (!item) return;
    if (isScalar(item)) item.comment = ` ${text}`;
    else item.commentBefore = wrap(text, depth);
    return;
  }
  if (!isMap(parent)) return;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last) as Pair<Node, Node> | undefined;
  if (!pair || !isScalar(pair.key)) return;
  pair.key.commentBefore = wrap(text, depth);
}

export function renderPolicy(inf: Inferred, source: string, findings: AuditFinding[]): string {
  const doc = new YAML.Document(inf.doc);
  for (const c of inf.comments) attach(doc, c.path, c.text);
  doc.commentBefore = [
    wrap(`OwnershipPolicy written by lbguard init ${packageVersion()} from the ${source}.`),
    wrap(
      "Every inferred field says where it came from; review it, then use it with lbguard serve, check and audit --policy.",
    ),
    wrap("enforcement is left at its defaults (deny; mirrorPods: warn): set a family to warn to roll out in shadow."),
  ].join("\n");
  const changes = inf.changes.map((c) => `${c.who}: ${c.fix}`);
  // the findings' fixes, without what the controller changes above already do
  const done = new Set(inf.changes.map((c) => c.fix));
  const changed = new Set(inf.changes.flatMap((c) => c.refs.map(refKey)));
  for (const f of findings) {
    if (!f.fix || changed.has(refKey(f.subject))) continue;
    const rest = f.fix.split(/; (?:and|then) /).filter((p) => !done.has(p));
    if (!rest.length) continue;
    const line = auditMessage({ ...f, fix: rest.join("; then ") });
    if (!done.has(line)) changes.push(line);
    done.add(line);
  }
  const tail =
    changes.length === 0
      ? [" Changes that would make the cluster match this policy: none."]
      : [
          " Changes that would make the cluster match this policy (lbguard audit --policy FILE shows the evidence):",
          // one line each, never wrapped: a command must survive copy and paste
          ...changes.slice(0, MAX_CHANGES).map((c, i) => `  ${i + 1}. ${c}`),
          ...(changes.length > MAX_CHANGES ? [`   … and ${changes.length - MAX_CHANGES} more`] : []),
        ];
  doc.comment = tail.join("\n");
  const text = doc.toString({ lineWidth: 0 });
  return text.endsWith("\n") ? text : `${text}\n`;
}
