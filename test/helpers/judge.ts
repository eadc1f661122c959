/** Run a request through the engine as the API server would: mutate, apply the patch, validate. */
import type { ClusterView } from "../../src/cluster/view.js";
import type { KubeObject } from "../../src/k8s/object.js";
import { admit } from "../../src/admission/handler.js";
import type { Policy } from "../../src/policy/policy.js";
import { applyReviewPatch, request, ReqOpts } from "./review.js";

export interface Judgement {
  allowed: boolean;
  /** the object after the mutating webhook */
  object?: KubeObject | null;
  /** set when the mutating webhook patched */
  patched: boolean;
  message?: string;
  warnings: string[];
  rules: string[];
}

export function judge(policy: Policy, view: ClusterView, o: ReqOpts): Judgement {
  const req = request(o);
  const a = admit(req, view, policy);
  const m = a.mutated;
  if (!m.response.allowed) {
    return {
      allowed: false,
      object: req.object,
      patched: false,
      message: m.response.status?.message,
      warnings: m.response.warnings ?? [],
      rules: m.verdict?.denials.map((f) => f.rule) ?? [],
    };
  }
  // the patch as the API server applies it must give the object the pipeline validated
  const object = m.response.patch && req.object ? applyReviewPatch(req.object, m.response.patch) : req.object;
  if (JSON.stringify(object) !== JSON.stringify(a.object)) throw new Error("patch and mutation disagree");
  const v = a.validated!;
  if (v.response.patch) throw new Error("validating webhook returned a patch");
  return {
    allowed: v.response.allowed,
    object,
    patched: !!m.response.patch,
    message: v.response.status?.message,
    warnings: [...(m.response.warnings ?? []), ...(v.response.warnings ?? [])],
    rules: [...(v.verdict?.denials ?? []), ...(v.verdict?.warnings ?? [])].map((f) => f.rule),
  };
}

/** The same as `judge`, over HTTPS against a running server. */
export async function judgeHttps(
  post: (path: string, body: string) => Promise<{ status: number; json(): any }>,
  o: ReqOpts,
): Promise<Judgement> {
  const req = request(o);
  const m = await post(
    "/mutate?timeout=10s",
    JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: req }),
  );
  if (m.status !== 200) throw new Error(`mutate answered ${m.status}`);
  const mr = m.json().response;
  if (mr.uid !== req.uid) throw new Error("uid not echoed");
  let object = req.object;
  if (!mr.allowed)
    return {
      allowed: false,
      object,
      patched: false,
      message: mr.status?.message,
      warnings: mr.warnings ?? [],
      rules: [],
    };
  if (mr.patch && object) object = applyReviewPatch(object, mr.patch);
  const v = await post(
    "/validate?timeout=10s",
    JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { ...req, object } }),
  );
  if (v.status !== 200) throw new Error(`validate answered ${v.status}`);
  const vr = v.json().response;
  if (vr.patch) throw new Error("validating webhook returned a patch");
  return {
    allowed: vr.allowed,
    object,
    patched: !!mr.patch,
    message: vr.status?.message,
    warnings: [...(mr.warnings ?? []), ...(vr.warnings ?? [])],
    rules: [],
  };
}
