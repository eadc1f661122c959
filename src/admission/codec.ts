/**
 * AdmissionReview v1 in, AdmissionReview v1 out (docs/controllers.md A). The codec
 * knows the protocol, not the rules: response helpers in the style of
 * controller-runtime (`allowed`, `denied`, `patched`, `errored`).
 */
import jsonpatch from "fast-json-patch";
import { textOf } from "../k8s/text.js";
import type { Finding } from "../findings/finding.js";
import { MAX_MESSAGE, MAX_WARNING, clipTo, message } from "../findings/format.js";
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
  /** recorded by the API server in its audit log, each key prefixed with the webhook's name */
  auditAnnotations?: Record<string, string>;
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
  // JSON.parse takes any depth; the rules' walks over the objects (field
  // comparison, JSON.stringify) recurse and would throw RangeError
  const tooDeep = nestedDeeperThan(body, MAX_JSON_DEPTH);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, message: tooDeep ? `body ${TOO_DEEP}` : "body is not valid JSON" };
  }
  // too deep: answered with its uid if it has one; nothing here may walk the deep parts
  if (
    tooDeep &&
    !(
      isObj(doc) &&
      doc.kind === "AdmissionReview" &&
      doc.apiVersion === REVIEW_API_VERSION &&
      isObj(doc.request) &&
      typeof doc.request.uid === "string" &&
      doc.request.uid !== ""
    )
  )
    return { ok: false, status: 400, message: `body ${TOO_DEEP}` };
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
  if (tooDeep) problems.push(TOO_DEEP);
  const request = r as unknown as AdmissionInput;
  if (!problems.length) return { ok: true, request };
  const malformed = problems.filter((p) => p !== TOO_DEEP);
  return {
    ok: true,
    request,
    problem: [malformed.length ? `malformed ${malformed.join(", ")}` : "", tooDeep ? TOO_DEEP : ""]
      .filter(Boolean)
      .join("; "),
  };
}

/**
 * The deepest nesting of arrays and objects decoded: 512 levels. Kubernetes
 * objects nest a dozen levels or so; the rules' recursive walks overflow the
 * stack at about 10,000 (a 20,000-level UPDATE was answered `status.code`
 * 500, BENCHMARKS.md "Faults"). A deeper review is answered, with its uid,
 * `allowed: false`, `status.code` 400.
 */
export const MAX_JSON_DEPTH = 512;

const TOO_DEEP = `nested more than ${MAX_JSON_DEPTH} levels deep`;

/**
 * Whether the JSON text nests arrays and objects deeper than `max` (brackets
 * inside strings do not count). Text with no more than `max` opening brackets
 * in all (every review of a normal object) is answered from native indexOf
 * calls, without a scan: about 0.5 µs for the benchmark's reviews, 3–5% of
 * their JSON.parse.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  if (text.length <= 2 * max) return false; // every level opens and closes
  let brackets = 0;
  for (let i = text.indexOf("{"); i >= 0 && brackets <= max; i = text.indexOf("{", i + 1)) brackets++;
  for (let i = text.indexOf("["); i >= 0 && brackets <= max; i = text.indexOf("[", i + 1)) brackets++;
  if (brackets <= max) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: jump to its closing quote (one preceded by an even number of backslashes)
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return false;
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

// ---- responses --------------------------------------------------------------

/** The review as JSON text; the common plain "allowed" answer is written directly. */
export function encodeReview(response: AdmissionResponse): string {
  if (
    response.allowed &&
    response.status === undefined &&
    response.warnings === undefined &&
    response.auditAnnotations === undefined
  ) {
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

// ---- audit annotations (enforcement `audit`) ---------------------------------

/** an audit annotation value: one line, capped (the audit log keeps the whole event) */
export const MAX_AUDIT_VALUE = 1024;
/** audit annotations per answer: the first rules by rank, then one `more` key */
export const MAX_AUDIT_ANNOTATIONS = 5;
/** the key's name part: a Kubernetes qualified name (at most 63 characters) */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * The auditAnnotations for findings of families under `audit`: one key per
 * rule, the one-line message as value (further findings of the rule appended
 * as far as they fit), at most MAX_AUDIT_ANNOTATIONS keys.
 *
 * The key is the rule id alone: the API server stores each key as
 * `<webhook name>/<key>` and drops a key that is not then a qualified name
 * with exactly one `/` (k8s.io/apiserver pkg/admission/plugin/webhook
 * validating/dispatcher.go, pkg/admission/audit.go checkKeyFormat). Every
 * lbguard webhook is named `*.lbguard.dev`, so the audit log shows
 * `services.lbguard.dev/service.foreign-address`: `lbguard.dev/<rule>`.
 */
export function auditAnnotations(findings: readonly Finding[]): Record<string, string> | undefined {
  if (!findings.length) return undefined;
  const byRule = new Map<string, string[]>();
  for (const f of findings) {
    const key = QUALIFIED_NAME.test(f.rule) ? f.rule : "other";
    const list = byRule.get(key);
    const m = message(f);
    if (!list) byRule.set(key, [m]);
    else if (!list.includes(m)) list.push(m);
  }
  const out: Record<string, string> = {};
  const rules = [...byRule.keys()];
  const shown = rules.length > MAX_AUDIT_ANNOTATIONS ? rules.slice(0, MAX_AUDIT_ANNOTATIONS - 1) : rules;
  for (const rule of shown) out[rule] = joinCapped(byRule.get(rule)!);
  if (shown.length < rules.length) {
    const rest = rules.slice(shown.length);
    out.more = clipTo(`${rest.length} more rules: ${rest.join(", ")}; see the lbguard log`, MAX_AUDIT_VALUE);
  }
  return out;
}

function joinCapped(messages: string[]): string {
  let out = clipTo(messages[0], MAX_AUDIT_VALUE);
  let i = 1;
  for (; i < messages.length; i++) {
    const next = `; also: ${clipTo(messages[i], MAX_AUDIT_VALUE)}`;
    const tail = i < messages.length - 1 ? ` (+${messages.length - i - 1} more)` : "";
    if (out.length + next.length + tail.length > MAX_AUDIT_VALUE) break;
    out += next;
  }
  if (i < messages.length) {
    const more = ` (+${messages.length - i} more)`;
    out = out.length + more.length <= MAX_AUDIT_VALUE ? out + more : clipTo(out, MAX_AUDIT_VALUE - more.length) + more;
  }
  return out;
}

/** The response with the audit annotations of these findings, if any. */
export function withAudit(r: AdmissionResponse, findings: readonly Finding[]): AdmissionResponse {
  const a = auditAnnotations(findings);
  if (a) r.auditAnnotations = a;
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
