/**
 * "Did a relevant field change?" declared as data: each kind's module lists
 * the fields whose change re-opens an UPDATE to its rules (as Pod Security
 * Admission re-checks only when the pod spec changes), and one comparison
 * serves them all.
 */
import type { KubeObject } from "../k8s/object.js";

export interface FieldSpec {
  /** path from the object's root */
  path: readonly string[];
  /** for a map: only these keys count */
  keys?: (key: string) => boolean;
  /** for a list of objects: only these fields of each element count */
  each?: readonly string[];
}

/** Structural equality of JSON values (absent and undefined are equal). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    if (!sameJson(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

function at(o: unknown, path: readonly string[]): unknown {
  let v = o;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function sameKeys(a: unknown, b: unknown, only: (k: string) => boolean): boolean {
  const x = (a && typeof a === "object" ? a : {}) as Record<string, unknown>;
  const y = (b && typeof b === "object" ? b : {}) as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!only(k)) continue;
    if (!sameJson(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (only(k)) n--;
  return n === 0;
}

function sameEach(a: unknown, b: unknown, fields: readonly string[]): boolean {
  const x = Array.isArray(a) ? a : [];
  const y = Array.isArray(b) ? b : [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) for (const f of fields) if (!sameJson(at(x[i], [f]), at(y[i], [f]))) return false;
  return true;
}

/** Whether any of `fields` differs between the old and the new object. */
export function fieldsChanged(
  oldObj: KubeObject | null | undefined,
  newObj: KubeObject | null | undefined,
  fields: readonly FieldSpec[],
): boolean {
  if (!oldObj || !newObj) return true;
  for (const f of fields) {
    const a = at(oldObj, f.path);
    const b = at(newObj, f.path);
    if (f.keys ? !sameKeys(a, b, f.keys) : f.each ? !sameEach(a, b, f.each) : !sameJson(a, b)) return true;
  }
  return false;
}
