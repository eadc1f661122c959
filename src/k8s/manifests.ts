/**
 * Reading Kubernetes manifests: files or directories (recursive; .yaml,
 * .yml, .json), multi-document YAML, `kind: List` and typed lists (the output
 * of `kubectl get … -o yaml` works as is).
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import YAML from "yaml";
import type { KubeObject } from "./object.js";

export interface ManifestObject {
  file: string;
  /** position of the object in its file (0-based, lists flattened) */
  index: number;
  object: KubeObject;
}

export interface ManifestError {
  file: string;
  message: string;
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Files under the given paths, in a stable order (directories sorted, recursive). */
export function manifestFiles(paths: string[]): { files: string[]; errors: ManifestError[] } {
  const files: string[] = [];
  const errors: ManifestError[] = [];
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      errors.push({ file: p, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return;
    }
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) {
        if (n.startsWith(".")) continue; // ..data and friends of mounted volumes are followed through their links
        walk(join(p, n), false);
      }
    } else if (top || EXTENSIONS.has(extname(p).toLowerCase())) files.push(p);
  };
  for (const p of paths) walk(p, true);
  return { files, errors };
}

function flatten(doc: unknown, out: KubeObject[]): void {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return;
  const o = doc as KubeObject;
  const kind = typeof o.kind === "string" ? o.kind : "";
  if (Array.isArray(o.items) && (kind === "List" || kind.endsWith("List"))) {
    const itemKind = kind !== "List" ? kind.slice(0, -4) : undefined;
    for (const it of o.items as unknown[]) {
      if (it && typeof it === "object" && !Array.isArray(it)) {
        const item = it as KubeObject;
        // typed lists from the API carry no kind/apiVersion on their items
        if (itemKind && item.kind === undefined)
          flatten({ ...item, kind: itemKind, apiVersion: item.apiVersion ?? o.apiVersion }, out);
        else flatten(item, out);
      }
    }
    return;
  }
  out.push(o);
}

/** Parse one manifest text; a syntax error rejects the whole file (nothing half-read). */
export function parseManifestText(
  text: string,
  file: string,
  strict = false,
): { objects: KubeObject[]; error?: string } {
  const out: KubeObject[] = [];
  if (extname(file).toLowerCase() === ".json" || (/^\s*[[{]/.test(text) && !text.includes("\n---"))) {
    try {
      flatten(JSON.parse(text), out);
      return { objects: out };
    } catch {
      if (extname(file).toLowerCase() === ".json") return { objects: [], error: "invalid JSON" };
    }
  }
  // strict: duplicate keys are errors, as kubectl's YAML decoding makes them
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: strict, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    if (d.errors.length) {
      const e = d.errors[0];
      const pos = e.linePos?.[0];
      return {
        objects: [],
        error: `${pos ? `line ${pos.line}: ` : ""}${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
      };
    }
    flatten(d.toJS({ maxAliasCount: 100 }), out);
  }
  return { objects: out };
}

export function readManifests(
  paths: string[],
  stdin?: () => string,
  opts: { strict?: boolean } = {},
): { objects: ManifestObject[]; errors: ManifestError[] } {
  const objects: ManifestObject[] = [];
  const errors: ManifestError[] = [];
  const read = (file: string, text: string) => {
    const r = parseManifestText(text, file, opts.strict);
    if (r.error) errors.push({ file, message: r.error });
    r.objects.forEach((object, index) => objects.push({ file, index, object }));
  };
  for (const p of paths) {
    if (p === "-" && stdin) {
      read("-", stdin());
      continue;
    }
    const { files, errors: e } = manifestFiles([p]);
    errors.push(...e);
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(f, "utf8");
      } catch (err) {
        errors.push({ file: f, message: `cannot read: ${(err as Error).message}` });
        continue;
      }
      read(f, text);
    }
  }
  return { objects, errors };
}
