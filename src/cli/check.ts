/** `lbguard check`: print findings as kubectl would show them; exit 0 clean, 1 violations, 2 usage or parse errors. */
import { readFileSync } from "node:fs";
import YAML, { isMap, isScalar, isSeq, LineCounter, type Node } from "yaml";
import { checkObjects, kubectlLines } from "../check/check.js";
import { loadSnapshot } from "../cluster/sources/snapshot.js";
import { manifestErrorText, readManifests, type ManifestError } from "../k8s/manifests.js";
import { parsePolicy } from "../policy/load.js";
import { PolicyError, type Policy } from "../policy/policy.js";

export interface CheckOptions {
  policy: string;
  state: string[];
  output: "text" | "json";
  strict: boolean;
  namespace: string;
  verbose: boolean;
  /** globs of files and directories to skip (repeatable `--exclude`) */
  exclude?: string[];
}

/** A policy problem with the position of what it names, when the file shows it. */
export interface PositionedProblem {
  line?: number;
  column?: number;
  message: string;
}

/**
 * The node a problem's path names (`spec.namespaces[1].selector`), as far as
 * the document has it: its key's position for a mapping entry, else the
 * node's own. A key that contains dots (a label key) is matched whole.
 */
function locate(doc: YAML.Document, path: string, field?: string): number | undefined {
  const parts = path.split(/\.|(?=\[)/).filter(Boolean);
  let node: Node | null | undefined = doc.contents;
  let at: number | undefined = node?.range?.[0];
  for (let i = 0; i < parts.length && node;) {
    const idx = /^\[(\d+)\]$/.exec(parts[i]);
    if (idx && isSeq(node)) {
      node = node.items[Number(idx[1])] as Node | undefined;
      at = node?.range?.[0] ?? at;
      i++;
      continue;
    }
    if (!isMap(node)) break;
    const map = node;
    let matched = false;
    // the longest run of segments that is one key (label keys carry dots)
    for (let j = parts.length; j > i && !matched; j--) {
      const key = parts.slice(i, j).join(".");
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair) {
        at = (pair.key as Node).range?.[0] ?? at;
        node = pair.value as Node | null;
        i = j;
        matched = true;
      }
    }
    if (!matched) break;
  }
  if (field && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === field);
    if (pair) at = (pair.key as Node).range?.[0] ?? at;
  }
  return at;
}

/** Read and compile the policy; every problem with file:line:column where the file shows it. */
export function loadPolicyWithPositions(file: string): { policy?: Policy; problems: PositionedProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { problems: [{ message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
  }
  try {
    return { policy: parsePolicy(text, file), problems: [] };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    const lc = new LineCounter();
    const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, lineCounter: lc });
    const list = Array.isArray(docs) ? docs : [docs];
    const syntax = list.flatMap((d) => d.errors);
    if (syntax.length)
      return {
        problems: syntax.slice(0, 5).map((err) => ({
          line: err.linePos?.[0].line,
          column: err.linePos?.[0].col,
          message: err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""),
        })),
      };
    const doc = list.find((d) => d.contents !== null);
    return {
      problems: e.problems.map((p) => {
        const message = p.startsWith(`${file}: `) ? p.slice(file.length + 2) : p;
        const m = /^([A-Za-z][\w.\-/[\]]*): (.*)$/.exec(message);
        const field = m && /^unknown fields? "([^"]+)"/.exec(m[2])?.[1];
        const offset = m && doc ? locate(doc, m[1], field ?? undefined) : undefined;
        if (offset === undefined) return { message };
        const pos = lc.linePos(offset);
        return { line: pos.line, column: pos.col, message };
      }),
    };
  }
}

const positioned = (file: string, p: PositionedProblem) =>
  p.line !== undefined ? `${file}:${p.line}:${p.column ?? 1}: ${p.message}` : `${file}: ${p.message}`;

export function checkMain(paths: string[], o: CheckOptions): number {
  const loaded = loadPolicyWithPositions(o.policy);
  if (!loaded.policy) {
    if (o.output === "json")
      process.stdout.write(
        JSON.stringify(
          {
            findings: [],
            errors: loaded.problems.map((p) => ({ file: o.policy, ...p, policy: true })),
            summary: { objects: 0, exitCode: 2 },
          },
          null,
          2,
        ) + "\n",
      );
    process.stderr.write(
      `lbguard check: invalid policy:\n${loaded.problems.map((p) => `  - ${positioned(o.policy, p)}`).join("\n")}\n`,
    );
    return 2;
  }
  const policy = loaded.policy;
  const state = loadSnapshot(o.state);
  const manifests = readManifests(paths, () => readFileSync(0, "utf8"), { strict: true, exclude: o.exclude });
  // the snapshot reports `FILE: line L, column C: what`; shown as FILE:L:C like the manifests
  const stateError = (e: string): ManifestError => {
    const m = /^(.*?): line (\d+), column (\d+): (.*)$/s.exec(e);
    return m
      ? { file: m[1], line: Number(m[2]), column: Number(m[3]), reason: m[4], message: e }
      : { file: "--state", message: e };
  };
  const errors: ManifestError[] = [...state.errors.map(stateError), ...manifests.errors];
  const run = checkObjects(manifests.objects, policy, state.view, o.namespace);
  const denied = run.reports.filter((r) => r.denied).length;
  const warned = run.reports.filter((r) => r.warnings.length).length;
  const mutated = run.reports.filter((r) => r.mutations.length).length;
  const code = errors.length ? 2 : denied || (o.strict && warned) ? 1 : 0;
  if (o.output === "json") {
    process.stdout.write(
      JSON.stringify(
        {
          findings: run.findings,
          errors: errors.map((e) =>
            e.line !== undefined
              ? { file: e.file, line: e.line, column: e.column, message: e.reason ?? e.message }
              : { file: e.file, message: e.message },
          ),
          summary: {
            objects: run.reports.length,
            denied,
            warned,
            mutated,
            skipped: run.skipped,
            excluded: manifests.excluded,
            exitCode: code,
          },
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    for (const r of run.reports) {
      if (!o.verbose && !r.denied && !r.warnings.length && !r.mutations.length) continue;
      for (const l of kubectlLines(r)) process.stdout.write(l + "\n");
    }
    for (const e of errors) process.stderr.write(`error: ${manifestErrorText(e)}\n`);
    if (errors.some((e) => e.reason?.includes("{{ }}")))
      process.stderr.write("hint: skip unrendered templates with --exclude GLOB (e.g. --exclude 'templates')\n");
    const files = new Set(run.reports.map((r) => r.file)).size;
    process.stdout.write(
      `lbguard check: ${run.reports.length} object${run.reports.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}: ${denied} denied, ${warned} with warnings, ${mutated} mutated${run.skipped ? `, ${run.skipped} non-Kubernetes documents skipped` : ""}${manifests.excluded ? `, ${manifests.excluded} excluded` : ""}${errors.length ? `, ${errors.length} unreadable` : ""}\n`,
    );
  }
  return code;
}
