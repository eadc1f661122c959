/**
 * Strict schema checks for rendered Kubernetes objects: every field must be
 * one the API declares, as the API server's strict field validation
 * (`kubectl apply --validate=strict`, the default) refuses unknown fields.
 *
 * kubernetes-models' runtime validators (`new Deployment(o).validate()`)
 * check types, enums and required fields, but are generated without
 * `additionalProperties: false`: `readOnlyRootFileSystem` or `timeoutSecond`
 * pass them. Their TypeScript interfaces, generated from the same schemas
 * (Kubernetes' OpenAPI for kubernetes-models, cert-manager's CRDs for
 * @kubernetes-models/cert-manager), are closed, and TypeScript's excess
 * property check on an object literal refuses exactly the fields a schema
 * does not declare, at any depth. So each object is written out as a typed
 * literal and compiled; both checks must pass.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "../helpers/paths.js";

export type Obj = Record<string, any>;

/** The package whose models and interfaces describe an apiVersion. */
const PACKAGES: Record<string, string> = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "batch/v1": "kubernetes-models/batch/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "rbac.authorization.k8s.io/v1": "kubernetes-models/rbac.authorization.k8s.io/v1",
  "admissionregistration.k8s.io/v1": "kubernetes-models/admissionregistration.k8s.io/v1",
  "coordination.k8s.io/v1": "kubernetes-models/coordination.k8s.io/v1",
  "cert-manager.io/v1": "@kubernetes-models/cert-manager/cert-manager.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

/**
 * apiVersions whose model package may be absent, and what checks them then:
 * their objects are reported by `uncheckedReason` instead of failing.
 */
const OPTIONAL: Record<string, string> = {
  "monitoring.coreos.com/v1": "test/deploy/monitoring.test.ts checks it against a hand-written strict schema",
};

const require = createRequire(join(ROOT, "package.json"));

/** Why an object cannot be checked here although that is allowed (its optional package is not installed), else undefined. */
export function uncheckedReason(o: Obj): string | undefined {
  const pkg = PACKAGES[o?.apiVersion];
  const fallback = OPTIONAL[o?.apiVersion];
  if (!pkg || !fallback) return undefined;
  try {
    require.resolve(`${pkg}/${o.kind}`);
    return undefined;
  } catch {
    const name = pkg.split("/").slice(0, pkg.startsWith("@") ? 2 : 1).join("/");
    return `${objectName(o)}: not checked against the CRD's schema (npm i -D ${name}); ${fallback}`;
  }
}

export function objectName(o: Obj): string {
  const ns = o?.metadata?.namespace;
  return `${o?.kind} ${ns ? `${ns}/` : ""}${o?.metadata?.name}`;
}

/** The model module for an object's kind, or why there is none. */
function moduleFor(o: Obj): { specifier: string } | { problem: string } {
  const pkg = PACKAGES[o?.apiVersion];
  if (!pkg) return { problem: `no schema known for apiVersion ${o?.apiVersion} (test/deploy/schema.ts PACKAGES)` };
  const specifier = `${pkg}/${o.kind}`;
  try {
    require.resolve(specifier);
  } catch {
    return { problem: `no schema for ${o.apiVersion} ${o.kind}: ${specifier} is not installed (npm i -D ${pkg.split("/").slice(0, pkg.startsWith("@") ? 2 : 1).join("/")})` };
  }
  return { specifier };
}

/** kubernetes-models' own validator: types, enums, formats, required fields. */
function runtimeProblems(o: Obj, specifier: string): string[] {
  const Model = require(specifier)[o.kind];
  try {
    new Model(o).validate();
    return [];
  } catch (e) {
    return [(e as Error).message.split("\n").slice(0, 4).join(" ")];
  }
}

type Key = string | number;
interface Line {
  text: string;
  /** the path of the property the line holds, shown and as keys */
  path: string;
  keys: Key[];
  owner: number;
}

/**
 * An object as a TypeScript literal, one property per line, with the path of
 * each line; the values at `untyped` paths (problems already reported) are
 * written `(null as any)`, so they hide nothing else.
 */
function literal(
  v: unknown,
  keys: Key[],
  path: string,
  lead: string,
  tail: string,
  out: Omit<Line, "owner">[],
  untyped: Set<string>,
): void {
  // `undefined!` is never: assignable anywhere, and unlike `any` it leaves an enclosing array literal typed
  if (untyped.has(JSON.stringify(keys))) out.push({ text: `${lead}undefined!${tail}`, path, keys });
  else if (Array.isArray(v)) {
    out.push({ text: `${lead}[`, path, keys });
    v.forEach((x, i) => literal(x, [...keys, i], `${path}[${i}]`, "", ",", out, untyped));
    out.push({ text: `]${tail}`, path, keys });
  } else if (v && typeof v === "object") {
    out.push({ text: `${lead}{`, path, keys });
    for (const [k, x] of Object.entries(v))
      // a bare key where it can be one: TypeScript then suggests the field meant ("did you mean")
      literal(x, [...keys, k], path ? `${path}.${k}` : k, `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: `, ",", out, untyped);
    out.push({ text: `}${tail}`, path, keys });
  } else out.push({ text: `${lead}${JSON.stringify(v)}${tail}`, path, keys });
}

function describeDiagnostic(d: ts.Diagnostic, path: string): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
  const unknown = /known properties, (?:and|but) '"?([^"']+)"?' does not exist in type '([^']*)'/.exec(message);
  if (unknown) {
    const notes = [
      /^I[A-Za-z0-9]+$/.test(unknown[2]) ? `not in ${unknown[2]}` : "",
      /Did you mean to write '([^']+)'/.exec(message)?.[1] ? `did you mean ${/Did you mean to write '([^']+)'/.exec(message)![1]}?` : "",
    ].filter(Boolean);
    return `${path || "(object)"}: unknown field "${unknown[1]}"${notes.length ? ` (${notes.join("; ")})` : ""}`;
  }
  return `${path || "(object)"}: ${message.length > 300 ? message.slice(0, 300) + "…" : message}`;
}

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: [],
};
const FILE = join(ROOT, "__deploy_schema_check__.ts");
let oldProgram: ts.Program | undefined;

/** Compile the objects as typed literals: the diagnostics, each with the line it points at. */
interface Pending {
  o: Obj;
  specifier: string;
  owner: number;
  untyped: Set<string>;
}

function compile(objects: Pending[]): { line: Line; message: string }[] {
  const lines: Line[] = [];
  for (const { o, specifier, owner, untyped } of objects) {
    lines.push({ text: `import type { I${o.kind} as T${owner} } from ${JSON.stringify(specifier)};`, path: "", keys: [], owner });
    const out: Omit<Line, "owner">[] = [];
    literal(o, [], "", `export const o${owner}: T${owner} = `, ";", out, untyped);
    for (const l of out) lines.push({ ...l, owner });
  }
  const text = lines.map((l) => l.text).join("\n") + "\n";
  const host = ts.createCompilerHost(OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === FILE ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === FILE || fileExists(name);
  // the previous program's declaration files are reused: only the literals are checked again
  const program = ts.createProgram([FILE], OPTIONS, host, oldProgram);
  oldProgram = program;
  const source = program.getSourceFile(FILE)!;
  return ts
    .getPreEmitDiagnostics(program, source)
    .filter((d) => d.file?.fileName === FILE && d.start !== undefined)
    .map((d) => {
      const line = lines[source.getLineAndCharacterOfPosition(d.start!).line];
      return { line, message: describeDiagnostic(d, line.path) };
    });
}

/** Remove the property at `keys`; false when there is none. */
function drop(o: Obj, keys: Key[]): boolean {
  if (!keys.length) return false;
  let at: any = o;
  for (const k of keys.slice(0, -1)) at = at?.[k];
  const last = keys[keys.length - 1];
  if (at == null || Array.isArray(at) || !(last in at)) return false;
  delete at[last];
  return true;
}

/**
 * Check many objects at once (one TypeScript program: the declarations are
 * read once). Returns, for each object, the problems found (empty: valid).
 * TypeScript reports one problem per literal and lets one problem hide
 * another next to it, so after each round an unknown field is removed and a
 * value of the wrong type (or an object missing a field) written as `any`,
 * and the object checked again until nothing more is found.
 */
export function validateStrict(objects: Obj[]): string[][] {
  const problems: string[][] = objects.map(() => []);
  let pending: Pending[] = [];
  objects.forEach((o, i) => {
    if (uncheckedReason(o)) return;
    const m = moduleFor(o);
    if ("problem" in m) {
      problems[i].push(m.problem);
      return;
    }
    problems[i].push(...runtimeProblems(o, m.specifier));
    pending.push({ o: structuredClone(o), specifier: m.specifier, owner: i, untyped: new Set() });
  });
  for (let round = 0; round < 8 && pending.length; round++) {
    const again = new Set<number>();
    for (const { line, message } of compile(pending)) {
      const p = pending.find((x) => x.owner === line.owner)!;
      if (!problems[line.owner].includes(message)) problems[line.owner].push(message);
      const key = JSON.stringify(line.keys);
      if (/: unknown field "/.test(message) ? drop(p.o, line.keys) : line.keys.length > 0 && !p.untyped.has(key)) {
        if (!/: unknown field "/.test(message)) p.untyped.add(key);
        again.add(line.owner);
      }
    }
    pending = pending.filter((p) => again.has(p.owner));
  }
  return problems;
}
