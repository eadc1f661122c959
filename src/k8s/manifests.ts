/**
 * Reading Kubernetes manifests: files or directories (recursive; .yaml,
 * .yml, .json), multi-document YAML, `kind: List` and typed lists (the output
 * of `kubectl get … -o yaml` works as is). Files and directories matching an
 * exclude glob are skipped; a syntax error names its line and column.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import YAML, { isMap, isSeq, type Node } from "yaml";
import type { KubeObject } from "./object.js";

export interface ManifestObject {
  file: string;
  /** position of the object in its file (0-based, lists flattened) */
  index: number;
  object: KubeObject;
}

export interface ManifestError {
  file: string;
  /** the problem, with its position when known: `line 3, column 5: …` */
  message: string;
  /** 1-based position of a syntax error */
  line?: number;
  column?: number;
  /** the problem without its position */
  reason?: string;
}

/** `file:line:column: reason`, as compilers print it (editors and CI annotate it). */
export function manifestErrorText(e: ManifestError): string {
  return e.line !== undefined
    ? `${e.file}:${e.line}:${e.column ?? 1}: ${e.reason ?? e.message}`
    : `${e.file}: ${e.message}`;
}

const ERRNO: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  ENOTDIR: "a path element is not a directory",
  ELOOP: "too many symbolic links",
};

/** An fs error in words, its code kept: `no such file or directory (ENOENT)`. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? `${ERRNO[code] ?? "error"} (${code})` : (e as Error).message;
}

/** A position in a text from a 0-based offset (1-based line and column). */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/**
 * A glob as a RegExp: `*` and `?` within one path segment, `**` across
 * segments, `[abc]` / `[!abc]` classes. Matched against whole paths with `/`.
 */
export function globRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      const slashAfter = glob[i + 2] === "/";
      const slashBefore = i === 0 || glob[i - 1] === "/";
      if (slashBefore && slashAfter) {
        re += "(?:.*/)?"; // `**/`: any directories, none included
        i += 2;
      } else {
        re += ".*";
        i += 1;
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) re += "\\[";
      else {
        const body = glob
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\");
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Exclusion by globs, .gitignore-style: a glob without `/` matches any one
 * file or directory name at any depth (`*.tpl.yaml`, `templates`); a glob
 * with `/` matches a path, as given or relative to the argument it was found
 * under (`charts/*\/templates`, `repo/charts/**`). A directory that matches
 * excludes everything below it.
 */
export class Excluder {
  private readonly names: RegExp[] = [];
  /** a path glob as given, and without a leading `/` for paths relative to the argument */
  private readonly paths: [RegExp, RegExp][] = [];
  constructor(globs: readonly string[]) {
    for (const g of globs) {
      const glob = g.replace(/^(\.\/)+/, "").replace(/(.)\/+$/, "$1");
      if (!glob || glob === "/") continue;
      if (glob.includes("/")) this.paths.push([globRegExp(glob), globRegExp(glob.replace(/^\/+/, ""))]);
      else this.names.push(globRegExp(glob));
    }
  }
  get empty(): boolean {
    return !this.names.length && !this.paths.length;
  }
  /** Whether `path` (found under the argument `root`) is excluded by its own name or path. */
  matches(path: string, root: string): boolean {
    const norm = (p: string) =>
      p
        .split(sep)
        .join("/")
        .replace(/^(\.\/)+/, "");
    const full = norm(path);
    const name = full.slice(full.lastIndexOf("/") + 1);
    if (this.names.some((r) => r.test(name))) return true;
    const under = norm(relative(root, path));
    return this.paths.some(([r, rel]) => r.test(full) || (under !== "" && !under.startsWith("..") && rel.test(under)));
  }
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/**
 * Files under the given paths, in a stable order (directories sorted,
 * recursive), less those an exclude glob matches (`excluded` counts the
 * files and directories skipped; a skipped directory is not read at all).
 */
export function manifestFiles(
  paths: string[],
  exclude: readonly string[] = [],
): { files: string[]; errors: ManifestError[]; excluded: number } {
  const files: string[] = [];
  const errors: ManifestError[] = [];
  const ex = new Excluder(exclude);
  let excluded = 0;
  const walk = (p: string, top: boolean, root: string) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      errors.push({ file: p, message: `cannot read: ${errnoText(e)}` });
      return;
    }
    if (!ex.empty && ex.matches(p, root)) {
      excluded++;
      return;
    }
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) {
        if (n.startsWith(".")) continue; // ..data and friends of mounted volumes are followed through their links
        walk(join(p, n), false, root);
      }
    } else if (top || EXTENSIONS.has(extname(p).toLowerCase())) files.push(p);
  };
  for (const p of paths) walk(p, true, p);
  return { files, errors, excluded };
}

/**
 * Why a document or List item is not a Kubernetes object as the API server
 * returns one (apiVersion, kind and metadata.name, all strings), or undefined.
 */
export function objectProblem(o: unknown): string | undefined {
  if (o === null || typeof o !== "object")
    return `not a Kubernetes object but ${o === null ? "null" : `a ${typeof o}`}`;
  if (Array.isArray(o)) return "not a Kubernetes object but a sequence (a list of objects needs kind: List and items)";
  const k = o as KubeObject;
  if (typeof k.kind !== "string" || !k.kind) return "not a Kubernetes object: no kind";
  if (typeof k.apiVersion !== "string" || !k.apiVersion) return `${k.kind} without apiVersion`;
  const name = (k.metadata as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || !name) return `${k.kind} without metadata.name`;
  return undefined;
}

/** An object that is not one (`objectProblem`): where it is, when known, and why. */
export interface ObjectProblem {
  /** the YAML node it came from (a position in the text) */
  node?: Node;
  /** `items[3]` when it is an item of a List */
  path?: string;
  reason: string;
}

/**
 * Kubernetes objects of a document, Lists flattened. With `bad`, what is not
 * an object (`objectProblem`) is reported there; `node` is the document's
 * YAML node, when there is one, to name positions by.
 */
function flatten(
  doc: unknown,
  out: KubeObject[],
  bad?: (p: ObjectProblem) => void,
  node?: Node | null,
  path?: string,
): void {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    if (bad && doc !== null && doc !== undefined) bad({ node: node ?? undefined, path, reason: objectProblem(doc)! });
    return;
  }
  const o = doc as KubeObject;
  const kind = typeof o.kind === "string" ? o.kind : "";
  if (Array.isArray(o.items) && (kind === "List" || kind.endsWith("List"))) {
    const itemKind = kind !== "List" ? kind.slice(0, -4) : undefined;
    const itemNodes = bad && node && isMap(node) ? node.get("items", true) : undefined;
    (o.items as unknown[]).forEach((it, i) => {
      const where = bad && { node: isSeq(itemNodes) ? (itemNodes.items[i] as Node) : undefined, path: `items[${i}]` };
      if (it && typeof it === "object" && !Array.isArray(it)) {
        const item = it as KubeObject;
        // typed lists from the API carry no kind/apiVersion on their items
        if (itemKind && item.kind === undefined)
          flatten(
            { ...item, kind: itemKind, apiVersion: item.apiVersion ?? o.apiVersion },
            out,
            bad,
            where?.node,
            where?.path,
          );
        else flatten(item, out, bad, where?.node, where?.path);
      } else if (where) bad!({ ...where, reason: objectProblem(it)! });
    });
    return;
  }
  if (bad) {
    const why = objectProblem(o);
    if (why) return bad({ node: node ?? undefined, path, reason: why });
  }
  out.push(o);
}

export interface ParsedManifest {
  objects: KubeObject[];
  /** a syntax error, with its position when known: `line 3, column 5: …` */
  error?: string;
  line?: number;
  column?: number;
  /** the error without its position */
  reason?: string;
  /** with `objects`: documents and List items that are not Kubernetes objects (left out of `objects`) */
  invalid?: { line?: number; column?: number; reason: string }[];
}

/**
 * Where a JSON text stops being JSON (a 0-based offset; -1 when it is JSON):
 * V8's messages name a position for some errors only.
 */
export function jsonErrorOffset(t: string): number {
  let i = 0;
  const ws = () => {
    while (i < t.length && (t[i] === " " || t[i] === "\t" || t[i] === "\n" || t[i] === "\r")) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const str = () => {
    i++;
    while (i < t.length) {
      const c = t[i];
      if (c === '"') return void i++;
      if (c < " ") fail();
      i += c === "\\" ? 2 : 1;
    }
    fail();
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail();
    ws();
    const c = t[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (t[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          ws();
          if (t[i] !== '"') fail();
          str();
          ws();
          if (t[i] !== ":") fail();
          i++;
        }
        value(depth + 1);
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(t.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value(0);
    ws();
    return i < t.length ? i : -1;
  } catch (e) {
    if (typeof e === "number") return e;
    throw e;
  }
}

/** Template syntax in a file that does not parse: say what it probably is. */
function templateHint(text: string): string {
  return /\{\{[\s\S]*?\}\}/.test(text) ? " (template syntax {{ }}: render it first, e.g. with helm template)" : "";
}

/** documents or List items of one file named in `invalid`; the rest are counted */
const MAX_INVALID = 10;

function failed(text: string, reason: string, pos?: { line: number; column: number }): ParsedManifest {
  const r = reason + templateHint(text);
  return pos
    ? {
        objects: [],
        error: `line ${pos.line}, column ${pos.column}: ${r}`,
        line: pos.line,
        column: pos.column,
        reason: r,
      }
    : { objects: [], error: r, reason: r };
}

/**
 * Parse one manifest text; a syntax error rejects the whole file (nothing
 * half-read). With `o.objects` every document and List item must be a
 * Kubernetes object (`objectProblem`; cluster state, which only ever holds
 * objects): those that are not are listed in `invalid`, with their position
 * when the text is YAML, else as `items[N]` or `document N`.
 */
export function parseManifestText(
  text: string,
  file: string,
  strict = false,
  o: { objects?: boolean } = {},
): ParsedManifest {
  const out: KubeObject[] = [];
  const invalid: NonNullable<ParsedManifest["invalid"]> = [];
  let unlisted = 0;
  // positions cost a scan of the text each: the first MAX_INVALID are named, the rest counted
  const report = (p: ObjectProblem, where: string) => {
    if (invalid.length >= MAX_INVALID) return void unlisted++;
    const at = p.node?.range?.[0];
    if (at !== undefined) invalid.push({ ...positionOf(text, at), reason: p.reason });
    else if (p.path || where) invalid.push({ reason: `${p.path ?? where}: ${p.reason}` });
    else invalid.push({ reason: p.reason });
  };
  const result = (): ParsedManifest => {
    if (unlisted) invalid.push({ reason: `${unlisted} more documents or List items that are not Kubernetes objects` });
    return invalid.length ? { objects: out, invalid } : { objects: out };
  };
  const json = extname(file).toLowerCase() === ".json";
  if (json || (/^\s*[[{]/.test(text) && !text.includes("\n---"))) {
    try {
      const doc: unknown = JSON.parse(text);
      flatten(doc, out, o.objects ? (p) => report(p, "") : undefined);
      return result();
    } catch (e) {
      if (json) {
        const what = (e as Error).message
          .split("\n")[0]
          .replace(/ at position \d+.*$/, "")
          .replace(/ in JSON$/, "")
          .replace(/, (\.\.\.)?".*$/, "");
        const at = jsonErrorOffset(text);
        return failed(text, `invalid JSON: ${what}`, at >= 0 ? positionOf(text, at) : undefined);
      }
    }
  }
  // strict: duplicate keys are errors, as kubectl's YAML decoding makes them
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: strict, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const [i, d] of list.entries()) {
    if (d.errors.length) {
      const e = d.errors[0];
      const pos = e.linePos?.[0];
      const reason = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      return failed(text, reason, pos ? { line: pos.line, column: pos.col } : undefined);
    }
    const where = list.length > 1 ? `document ${i + 1}` : "";
    flatten(d.toJS({ maxAliasCount: 100 }), out, o.objects ? (p) => report(p, where) : undefined, d.contents);
  }
  return result();
}

export function readManifests(
  paths: string[],
  stdin?: () => string,
  opts: { strict?: boolean; exclude?: readonly string[] } = {},
): { objects: ManifestObject[]; errors: ManifestError[]; excluded: number } {
  const objects: ManifestObject[] = [];
  const errors: ManifestError[] = [];
  let excluded = 0;
  const read = (file: string, text: string) => {
    const r = parseManifestText(text, file, opts.strict);
    if (r.error) errors.push({ file, message: r.error, line: r.line, column: r.column, reason: r.reason });
    r.objects.forEach((object, index) => objects.push({ file, index, object }));
  };
  for (const p of paths) {
    if (p === "-" && stdin) {
      read("-", stdin());
      continue;
    }
    const found = manifestFiles([p], opts.exclude);
    errors.push(...found.errors);
    excluded += found.excluded;
    for (const f of found.files) {
      let text: string;
      try {
        text = readFileSync(f, "utf8");
      } catch (err) {
        errors.push({ file: f, message: `cannot read: ${errnoText(err)}` });
        continue;
      }
      read(f, text);
    }
  }
  return { objects, errors, excluded };
}
