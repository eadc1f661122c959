/**
 * AdmissionReview v1 in, AdmissionReview v1 out (SEMANTICS §4). The codec
 * knows the protocol, not the rules: response helpers in the style of
 * controller-runtime (`allowed`, `denied`, `patched`, `errored`).
 */
import jsonpatch from "fast-json-patch";
import type { KubeObject } from "../cluster/records.js";
import type { AdmissionInput, Operation } from "../rules/types.js";

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
  | { ok: true; request: AdmissionInput; problem?: string }
  | { ok: false; status: 400; message: string };

const OPERATIONS = new Set<Operation>(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isJsonContentType(ct: string | undefined): boolean {
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
  if (!isJsonContentType(contentType)) return { ok: false, status: 400, message: "content type must be application/json" };
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
      message: `unsupported apiVersion ${JSON.stringify(String(doc.apiVersion)).slice(0, 60)}; lbguard speaks admission.k8s.io/v1 (admissionReviewVersions: [v1])`,
    };
  const r = doc.request;
  if (!isObj(r)) return { ok: false, status: 400, message: "AdmissionReview has no request" };
  if (typeof r.uid !== "string" || r.uid === "") return { ok: false, status: 400, message: "AdmissionReview request has no uid" };
  const problems: string[] = [];
  const kind = isObj(r.kind) ? r.kind : undefined;
  if (!kind || typeof kind.kind !== "string") problems.push("request.kind");
  const op = r.operation as Operation;
  if (!OPERATIONS.has(op)) problems.push("request.operation");
  for (const f of ["object", "oldObject"] as const) if (r[f] !== undefined && r[f] !== null && !isObj(r[f])) problems.push(`request.${f}`);
  const userInfo = isObj(r.userInfo) ? r.userInfo : undefined;
  const request: AdmissionInput = {
    uid: r.uid,
    kind: {
      group: typeof kind?.group === "string" ? kind.group : "",
      version: typeof kind?.version === "string" ? kind.version : "",
      kind: typeof kind?.kind === "string" ? kind.kind : "",
    },
    resource: isObj(r.resource) ? (r.resource as AdmissionInput["resource"]) : undefined,
    subResource: typeof r.subResource === "string" ? r.subResource : undefined,
    name: typeof r.name === "string" ? r.name : undefined,
    namespace: typeof r.namespace === "string" ? r.namespace : undefined,
    operation: op,
    userInfo: userInfo
      ? { username: typeof userInfo.username === "string" ? userInfo.username : undefined, groups: Array.isArray(userInfo.groups) ? (userInfo.groups as string[]) : undefined }
      : undefined,
    object: isObj(r.object) ? (r.object as KubeObject) : null,
    oldObject: isObj(r.oldObject) ? (r.oldObject as KubeObject) : null,
    dryRun: r.dryRun === true,
  };
  return problems.length ? { ok: true, request, problem: `malformed ${problems.join(", ")}` } : { ok: true, request };
}

// ---- responses --------------------------------------------------------------

export const MAX_MESSAGE = 300;
export const MAX_WARNING = 256;
export const WANT_WARNING = 120;
export const MAX_WARNINGS = 4;

function clipTo(s: string, n: number): string {
  const one = s.replace(/[\r\n]+/g, " ");
  return one.length <= n ? one : one.slice(0, n - 1) + "…";
}

/** One line of at most ~300 characters: the first message, then further ones as far as they fit. */
export function composeMessage(messages: string[]): string {
  if (!messages.length) return "denied by lbguard";
  let out = clipTo(messages[0], MAX_MESSAGE);
  let i = 1;
  for (; i < messages.length; i++) {
    const next = `; also: ${messages[i].replace(/[\r\n]+/g, " ")}`;
    const rest = messages.length - i - 1;
    const tail = rest > 0 ? ` (+${rest} more)` : "";
    if (out.length + next.length + tail.length > MAX_MESSAGE) break;
    out += next;
  }
  if (i < messages.length) {
    const more = ` (+${messages.length - i} more)`;
    if (out.length + more.length <= MAX_MESSAGE + 20) out += more;
  }
  return out;
}

/** At most four warnings, one line each, never over 256 characters; the last says how many were dropped. */
export function composeWarnings(messages: string[]): string[] | undefined {
  if (!messages.length) return undefined;
  const uniq = [...new Set(messages.map((m) => clipTo(m, MAX_WARNING)))];
  if (uniq.length <= MAX_WARNINGS) return uniq;
  const kept = uniq.slice(0, MAX_WARNINGS - 1);
  kept.push(`${uniq.length - kept.length} more lbguard warnings not shown; see the lbguard log`);
  return kept;
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

export function patched(uid: string, ops: jsonpatch.Operation[], warnings?: string[]): AdmissionResponse {
  if (!ops.length) return allowed(uid, warnings);
  const r: AdmissionResponse = {
    uid,
    allowed: true,
    patchType: "JSONPatch",
    patch: Buffer.from(JSON.stringify(ops)).toString("base64"),
  };
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

/** RFC 6902 patch from the original object to the mutated one, over the fields the mutation touched. */
export function buildPatch(original: KubeObject, mutated: KubeObject, touched: string[]): jsonpatch.Operation[] {
  const ops: jsonpatch.Operation[] = [];
  for (const field of touched) {
    const before = original[field];
    const after = mutated[field];
    const prefix = `/${jsonpatch.escapePathComponent(field)}`;
    if (before === undefined) {
      if (after !== undefined) ops.push({ op: "add", path: prefix, value: after });
      continue;
    }
    if (typeof before !== "object" || before === null || typeof after !== "object" || after === null) {
      if (after === undefined) ops.push({ op: "remove", path: prefix });
      else if (before !== after) ops.push({ op: "replace", path: prefix, value: after });
      continue;
    }
    for (const op of jsonpatch.compare(before as object, after as object)) ops.push({ ...op, path: prefix + op.path });
  }
  return ops;
}
