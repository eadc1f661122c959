/**
 * Kustomize-style assembly for tests: exactly the features deploy/ uses
 * (resources, images, labels, strategic-merge `$patch: delete`, JSON 6902
 * patches with a target). Anything else in a kustomization is an error, so
 * this assembler cannot silently drift from what kustomize would build.
 */
import jsonpatch from "fast-json-patch";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";

export type Obj = Record<string, any>;
const SUPPORTED = new Set(["apiVersion", "kind", "resources", "images", "labels", "patches"]);

export function build(dir: string): Obj[] {
  const k = YAML.parse(readFileSync(join(dir, "kustomization.yaml"), "utf8"));
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field ${key} is not supported by the test assembler`);
  let objs: Obj[] = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) objs.push(...build(p));
    else
      for (const d of YAML.parseAllDocuments(readFileSync(p, "utf8"))) {
        if (d.errors.length) throw new Error(`${p}: ${d.errors[0].message}`);
        const o = d.toJS();
        if (o) objs.push(o);
      }
  }
  for (const img of k.images ?? [])
    for (const o of objs) for (const c of containersOf(o)) if (c.image.split(":")[0] === img.name) c.image = `${img.newName ?? img.name}:${img.newTag}`;
  for (const l of k.labels ?? []) for (const o of objs) o.metadata.labels = { ...(o.metadata.labels ?? {}), ...l.pairs };
  for (const p of k.patches ?? []) {
    const doc = YAML.parse(p.patch);
    if (Array.isArray(doc)) {
      const t = p.target;
      const hits = objs.filter((o) => o.kind === t.kind && o.metadata.name === t.name && (!t.group || o.apiVersion.startsWith(`${t.group}/`)));
      if (!hits.length) throw new Error(`patch target ${t.kind}/${t.name} not found`);
      for (const h of hits) jsonpatch.applyPatch(h, doc, true, true);
    } else if (doc?.$patch === "delete") {
      const before = objs.length;
      objs = objs.filter((o) => !(o.kind === doc.kind && o.metadata.name === doc.metadata.name && (o.metadata.namespace ?? "") === (doc.metadata.namespace ?? "")));
      if (objs.length === before) throw new Error(`delete patch: ${doc.kind}/${doc.metadata.name} not found`);
    } else throw new Error(`unsupported patch: ${p.patch.slice(0, 80)}`);
  }
  return objs;
}

export function podSpecOf(o: Obj): Obj | undefined {
  if (o.kind === "Pod") return o.spec;
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

export function containersOf(o: Obj): Obj[] {
  const ps = podSpecOf(o);
  return ps ? [...(ps.containers ?? []), ...(ps.initContainers ?? [])] : [];
}
