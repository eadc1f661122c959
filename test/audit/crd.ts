/**
 * The report CRDs vendored in test/fixtures/crds (wgpolicyk8s.io/v1alpha2,
 * openreports.io/v1alpha1) and a small structural validator that, like the
 * API server with strict field validation, refuses unknown fields.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { CRDS, type Obj } from "./helpers.js";

export function crdSchema(file: string, version: string): Obj {
  const docs = YAML.parseAllDocuments(readFileSync(join(CRDS, file), "utf8"))
    .map((d) => d.toJS())
    .filter(Boolean);
  const crd = docs.find((d) => d.kind === "CustomResourceDefinition");
  const v = crd.spec.versions.find((x: Obj) => x.name === version);
  return v.schema.openAPIV3Schema;
}

/** The openAPIV3Schema of each report kind, by kind. */
export const SCHEMAS: Record<string, Obj> = {
  PolicyReport: crdSchema("wgpolicyk8s.io_policyreports.yaml", "v1alpha2"),
  ClusterPolicyReport: crdSchema("wgpolicyk8s.io_clusterpolicyreports.yaml", "v1alpha2"),
  Report: crdSchema("openreports.io_reports.yaml", "v1alpha1"),
  ClusterReport: crdSchema("openreports.io_clusterreports.yaml", "v1alpha1"),
};

/** Structural validation: types, enums, required fields, int32/int64 ranges; unknown fields refused. */
export function validate(schema: Obj, value: unknown, at = ""): string[] {
  const errs: string[] = [];
  const here = at || "(root)";
  if (schema["x-kubernetes-preserve-unknown-fields"]) return errs;
  switch (schema.type) {
    case "object": {
      if (!value || typeof value !== "object" || Array.isArray(value)) return [`${here}: expected an object`];
      const v = value as Obj;
      for (const r of schema.required ?? []) if (!(r in v)) errs.push(`${here}: ${r} is required`);
      if (!schema.properties && !schema.additionalProperties) return errs; // e.g. metadata: the API server checks it
      for (const [k, x] of Object.entries(v)) {
        const sub =
          schema.properties?.[k] ??
          (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
        if (!sub) errs.push(`${here}: unknown field "${k}"`);
        else errs.push(...validate(sub, x, at ? `${at}.${k}` : k));
      }
      return errs;
    }
    case "array":
      if (!Array.isArray(value)) return [`${here}: expected an array`];
      value.forEach((x, i) => errs.push(...validate(schema.items ?? {}, x, `${at}[${i}]`)));
      return errs;
    case "string":
      if (typeof value !== "string") return [`${here}: expected a string`];
      if (schema.enum && !schema.enum.includes(value))
        return [`${here}: "${value}" is not one of ${schema.enum.join(", ")}`];
      return errs;
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) return [`${here}: expected an integer`];
      const max = schema.format === "int32" ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
      if (Math.abs(value) > max) return [`${here}: ${value} is out of range for ${schema.format}`];
      return errs;
    }
    case "boolean":
      return typeof value === "boolean" ? errs : [`${here}: expected a boolean`];
    case "number":
      return typeof value === "number" ? errs : [`${here}: expected a number`];
    default:
      return errs;
  }
}
