/**
 * Reading the cluster once for the audit: a snapshot (`--state`, the output
 * of `kubectl get … -o yaml --show-managed-fields`, one file at a time so the
 * peak is the largest file) or the live cluster (live.ts). Both feed the same
 * FactsBuilder, so both give the same view and facts.
 */
import { readFileSync } from "node:fs";
import { errnoText, manifestFiles, parseManifestText } from "../k8s/manifests.js";
import type { MemoryView } from "../cluster/view.js";
import { collectGarbage } from "../util/gc.js";
import { FactsBuilder, type AuditFacts } from "./facts.js";

export interface Collected {
  view: MemoryView;
  facts: AuditFacts;
  /** objects read */
  objects: number;
  /** files or lists that could not be read */
  errors: string[];
  /** where the state came from, in words */
  source: string;
}

export function collectSnapshot(paths: string[]): Collected {
  const b = new FactsBuilder();
  const errors: string[] = [];
  const { files, errors: missing } = manifestFiles(paths);
  for (const e of missing) errors.push(`${e.file}: ${e.message}`);
  let sinceGC = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      errors.push(`${file}: cannot read: ${errnoText(e)}`);
      continue;
    }
    // as `serve --state` reads it: every document and List item must be a Kubernetes object
    const r = parseManifestText(text, file, false, { objects: true });
    if (r.error) errors.push(`${file}: ${r.error}`);
    for (const i of r.invalid ?? [])
      errors.push(i.line !== undefined ? `${file}:${i.line}:${i.column}: ${i.reason}` : `${file}: ${i.reason}`);
    for (const object of r.objects) b.add(object, "default");
    // the parsed objects are garbage now; V8 would keep growing the heap for them: collect every ~30k objects
    sinceGC += r.objects.length;
    if (sinceGC > 30_000) {
      collectGarbage();
      sinceGC = 0;
    }
  }
  if (sinceGC > 10_000) collectGarbage();
  return {
    view: b.view,
    facts: b.facts,
    objects: b.objects,
    errors,
    source: `snapshot ${paths.join(", ")}`,
  };
}

export { FactsBuilder };
