/**
 * AdmissionReview v1 in, AdmissionReview v1 out (docs/controllers.md A). The codec
 * knows the protocol, not the rules: response helpers in the style of
 * controller-runtime (`allowed`, `denied`, `patched`, `errored`).
 */
import jsonpatch from "fast-json-patch";
import { textOf } from "../k8s/text.js";
import { MAX_MESSAGE, MAX_WARNING, clipTo } from "../findings/format.js";
import type { KubeObject } from "../k8s/object.js";
import type { AdmissionInput, Operation } from "../k8s/review.js";
import type { Change } from "../rules/types.js";

export const REVIEW_API_VERSION = "admission.k8s.io/v1";

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message?: string };
  patch?: string;
  patchType?: "JSONPatch";
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof REVIEW_API_VERSION;
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

export type Decoded =
  { ok: true; request: AdmissionInput; problem?: string } | { ok: false; status: 400; message: string };

const OPERATIONS = new Set<Operation>(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isJsonContentType(ct: string | undefined): boolean {
  if (ct === "application/json") return true;
  if (!ct) return false;
  const base = ct.split(";")[0].trim().toLowerCase();
  return base === "application/json";
}

/**
 * Decode a request body. Anything that is not an admission.k8s.io/v1
 * AdmissionReview with a request and a uid is a 400: there is no uid to
 * answer to. A review with a uid but a malformed request decodes, with
 * `problem` set, so it is still answered with HTTP 200.
 */
export function decodeReview(body: string, contentType: string | undefined): Decoded {
  if (!isJsonContentType(contentType))
    return { ok: false, status: 400, message: "content type must be application/json" };
  if (body.length === 0) return { ok: false, status: 400, message: "empty body" };
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, message: "body is not valid JSON" };
  }
  if (!isObj(doc)) return { ok: false, status: 400, message: "body is not an AdmissionReview" };
  if (doc.kind !== "AdmissionReview") return { ok: false, status: 400, message: "body is not an AdmissionReview" };
  if (doc.apiVersion !== REVIEW_API_VERSION)
    return {
      ok: false,
      status: 400,
      message: `unsupported apiVersion ${JSON.stringify(textOf(doc.apiVersion)).slice(0, 60)}; lbguard speaks admission.k8s.io/v1 (admissionReviewVersions: [v1])`,
    };
  const r = doc.request;
  if (!isObj(r)) return { ok: false, status: 400, message: "AdmissionReview has no request" };
  if (typeof r.uid !== "string" || r.uid === "")
    return { ok: false, status: 400, message: "AdmissionReview request has no uid" };
  // Validate the parsed request in place (it is ours), normalising only what is
  // missing or mistyped: copying every field costs measurable throughput.
  const problems: string[] = [];
  const kind = r.kind;
  if (!isObj(kind) || typeof kind.kind !== "string") {
    problems.push("request.kind");
    r.kind = { group: "", version: "", kind: isObj(kind) && typeof kind.kind === "string" ? kind.kind : "" };
  } else {
    if (typeof kind.group !== "string") kind.group = "";
    if (typeof kind.version !== "string") kind.version = "";
  }
  if (!OPERATIONS.has(r.operation as Operation)) problems.push("request.operation");
  for (const f of ["object", "oldObject"] as const) {
    const v = r[f];
    if (v === undefined) r[f] = null;
    else if (v !== null && !isObj(v)) {
      problems.push(`request.${f}`);
      r[f] = null;
    }
  }
  for (const f of ["subResource", "name", "namespace"] as const)
    if (r[f] !== undefined && typeof r[f] !== "string") r[f] = undefined;
  if (r.resource !== undefined && !isObj(r.resource)) r.resource = undefined;
  const ui = r.userInfo;
  if (ui !== undefined) {
    if (!isObj(ui)) r.userInfo = undefined;
    else {
      if (ui.username !== undefined && typeof ui.username !== "string") ui.username = undefined;
      if (ui.groups !== undefined && !Array.isArray(ui.groups)) ui.groups = undefined;
    }
  }
  r.dryRun = r.dryRun === true;
  const request = r as unknown as AdmissionInput;
  return problems.length ? { ok: true, request, problem: `malformed ${problems.join(", ")}` } : { ok: true, request };
}

// ---- responses --------------------------------------------------------------

/** The review as JSON text; the common plain "allowed" answer is written directly. */
export function encodeReview(response: AdmissionResponse): string {
  if (response.allowed && response.status === undefined && response.warnings === undefined) {
    const head = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":${JSON.stringify(response.uid)},"allowed":true`;
    // base64 needs no escaping
    return response.patch === undefined ? `${head}}}` : `${head},"patchType":"JSONPatch","patch":"${response.patch}"}}`;
  }
  return JSON.stringify(review(response));
}

export function review(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: REVIEW_API_VERSION, kind: "AdmissionReview", response };
}

export function allowed(uid: string, warnings?: string[]): AdmissionResponse {
  return warnings?.length ? { uid, allowed: true, warnings } : { uid, allowed: true };
}

export function denied(uid: string, message: string, warnings?: string[]): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: false, status: { code: 403, reason: "Forbidden", message } };
  if (warnings?.length) r.warnings = warnings;
  return r;
}

/** Encoded patches, by their JSON: defaulting produces the same few again and again. */
const encodedPatches = new Map<string, string>();

function encodePatch(ops: jsonpatch.Operation[]): string {
  const json = JSON.stringify(ops);
  let b64 = encodedPatches.get(json);
  if (b64 === undefined) {
    b64 = Buffer.from(json).toString("base64");
    if (encodedPatches.size >= 256) encodedPatches.clear();
    encodedPatches.set(json, b64);
  }
  return b64;
}

export function patched(uid: string, ops: jsonpatch.Operation[], warnings?: string[]): AdmissionResponse {
  if (!ops.length) return allowed(uid, warnings);
  const r: AdmissionResponse = { uid, allowed: true, patchType: "JSONPatch", patch: encodePatch(ops) };
  if (warnings?.length) r.warnings = warnings;
  return r;
}

export function errored(uid: string, message: string, allow: boolean, code = 500): AdmissionResponse {
  const r: AdmissionResponse = {
    uid,
    allowed: allow,
    status: { code, reason: code === 500 ? "InternalError" : "BadRequest", message: clipTo(message, MAX_MESSAGE) },
  };
  if (allow) r.warnings = [clipTo(message, MAX_WARNING)];
  return r;
}

/**
 * RFC 6902 patch for a mutation, built with fast-json-patch: for each change,
 * the field's old and new value are compared under their parent's path (a
 * diff of just what changed, not of the whole object).
 */
export function buildPatch(original: KubeObject, changes: Change[]): jsonpatch.Operation[] {
  const ops: jsonpatch.Operation[] = [];
  const ptr = (path: string[]) => path.map((k) => `/${jsonpatch.escapePathComponent(k)}`).join("");
  for (const c of changes) {
    // the deepest ancestor that exists as an object
    let node: unknown = original;
    let depth = 0;
    while (depth < c.path.length - 1) {
      const next = (node as Record<string, unknown>)[c.path[depth]];
      if (!next || typeof next !== "object" || Array.isArray(next)) break;
      node = next;
      depth++;
    }
    const key = c.path[depth];
    if (depth < c.path.length - 1) {
      // missing parents: add them, holding the new value
      let value: unknown = c.value;
      for (let i = c.path.length - 1; i > depth; i--) value = { [c.path[i]]: value };
      ops.push({
        op: (node as Record<string, unknown>)[key] === undefined ? "add" : "replace",
        path: ptr(c.path.slice(0, depth + 1)),
        value,
      });
      continue;
    }
    const before = (node as Record<string, unknown>)[key];
    const prefix = ptr(c.path.slice(0, depth));
    for (const op of jsonpatch.compare(before === undefined ? {} : { [key]: before }, { [key]: c.value }))
      ops.push({ ...op, path: prefix + op.path });
  }
  return ops;
}
