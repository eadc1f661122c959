/**
 * Glue between the transport and the rules: decode, decide, encode, and
 * account for it (metrics, one info log line per review). Findings of a
 * family under enforcement `audit` allow the request silently: they go to
 * the answer's auditAnnotations, the log line and `decision="audited"`. A
 * rule that throws becomes an `errored` review, never a crash. `admit` is the
 * whole API-server sequence (mutate, apply the patch, validate) for `lbguard
 * check` and tests.
 */
import type { ClusterView } from "../cluster/view.js";
import { denialMessage, warningLines } from "../findings/format.js";
import type { KubeObject } from "../k8s/object.js";
import type { AdmissionInput, Webhook } from "../k8s/review.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { Policy } from "../policy/policy.js";
import { freshNeeded, mutate, validate } from "../rules/engine.js";
import { applyMutation, type Verdict } from "../rules/types.js";
import {
  AdmissionResponse,
  allowed,
  buildPatch,
  decodeReview,
  denied,
  encodeReview,
  errored,
  patched,
  withAudit,
} from "./codec.js";

export interface DecisionSources {
  policy(): Policy;
  view(): ClusterView;
  /** sees every decoded review before it is decided, whatever the decision (bounce.ts) */
  observe?(webhook: Webhook, req: AdmissionInput, policy: Policy): void;
}

export interface Decision {
  response: AdmissionResponse;
  verdict?: Verdict;
  decision: "allowed" | "patched" | "warned" | "audited" | "denied" | "error" | "invalid";
}

/** What the transport gets back: an HTTP status and body (structurally the transport's HandlerResult). */
export interface HandlerAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/** Decide one decoded request against one view. */
export function decide(
  webhook: Webhook,
  req: AdmissionInput,
  policy: Policy,
  view: ClusterView,
  log?: Logger,
): Decision {
  try {
    const verdict = webhook === "mutate" ? mutate(req, view, policy) : validate(req, view, policy);
    const warnings = warningLines(verdict.warnings);
    const audited = verdict.audited;
    if (verdict.denials.length) {
      const response = denied(req.uid, denialMessage(verdict.denials), warnings);
      return { response: audited.length ? withAudit(response, audited) : response, verdict, decision: "denied" };
    }
    if (webhook === "mutate" && verdict.mutation && req.object) {
      const ops = buildPatch(req.object, verdict.mutation.changes);
      if (ops.length) {
        const response = patched(req.uid, ops, warnings);
        return { response: audited.length ? withAudit(response, audited) : response, verdict, decision: "patched" };
      }
    }
    if (audited.length)
      return {
        response: withAudit(allowed(req.uid, warnings), audited),
        verdict,
        decision: warnings ? "warned" : "audited",
      };
    return { response: allowed(req.uid, warnings), verdict, decision: warnings ? "warned" : "allowed" };
  } catch (e) {
    log?.error({ err: e, uid: req.uid, kind: req.kind?.kind }, "rule evaluation failed");
    const open = policy.failureMode === "open";
    return {
      response: errored(
        req.uid,
        `lbguard internal error while checking this ${req.kind?.kind || "object"}: ${(e as Error)?.message ?? e}`,
        open,
      ),
      decision: "error",
    };
  }
}

/**
 * Decide, first asking the view for what the rules want fresh (the pool
 * re-list before a pool decision); a view that cannot, in time, is used as it is.
 */
export function decideFresh(
  webhook: Webhook,
  req: AdmissionInput,
  policy: Policy,
  view: ClusterView,
  deadline: number,
  log?: Logger,
): Decision | Promise<Decision> {
  const fresh = webhook === "validate" && view.freshPools && freshNeeded(req, policy) === "pools";
  const pending = fresh ? view.freshPools!(deadline, req.uid) : undefined;
  if (!pending) return decide(webhook, req, policy, view, log);
  return pending.then(
    (v) => decide(webhook, req, policy, v ?? view, log),
    () => decide(webhook, req, policy, view, log),
  );
}

export interface Admission {
  /** the mutating webhook's decision */
  mutated: Decision;
  /** the object after the mutating webhook's patch */
  object: KubeObject | null | undefined;
  /** the validating webhook's decision; absent when the mutating webhook denied */
  validated?: Decision;
  /** the mutation's description, when one was applied */
  mutation?: string;
}

/** The API server's sequence for one request: mutate, apply the patch, validate. */
export function admit(req: AdmissionInput, view: ClusterView, policy: Policy, log?: Logger): Admission {
  const mutated = decide("mutate", req, policy, view, log);
  if (!mutated.response.allowed) return { mutated, object: req.object };
  let object = req.object;
  let mutation: string | undefined;
  const m = mutated.verdict?.mutation;
  if (mutated.decision === "patched" && m && object) {
    object = applyMutation(object, m);
    mutation = m.description;
  }
  const validated = decide("validate", object === req.object ? req : { ...req, object }, policy, view, log);
  return { mutated, object, validated, mutation };
}

const MAX_LOGGED = 3;

/** The rule a review is counted under in the metrics: its message's first finding ("" when none). */
export function ruleOf(d: Decision): string {
  const v = d.verdict;
  if (!v) return "";
  switch (d.decision) {
    case "denied":
      return v.denials[0]?.rule ?? "";
    case "warned":
      return v.warnings[0]?.rule ?? "";
    case "audited":
      return v.audited[0]?.rule ?? "";
    default:
      return "";
  }
}

/**
 * One info line per review that denied, warned or audited: the first
 * findings, then how many more. The object's name is logged as `object`:
 * `name` is the logger's own (pino-pretty prints it as `INFO (name):`).
 */
function logDecision(log: Logger, webhook: Webhook, req: AdmissionInput, d: Decision): void {
  const base = {
    uid: req.uid,
    webhook,
    kind: req.kind?.kind,
    namespace: req.namespace ?? (req.object?.metadata?.namespace as string | undefined),
    object: req.name || (req.object?.metadata?.name as string | undefined),
    operation: req.operation,
    subResource: req.subResource || undefined,
    user: req.userInfo?.username,
  };
  const v = d.verdict;
  if (v && (v.denials.length || v.warnings.length || v.audited.length)) {
    const all = v.audited.length ? [...v.denials, ...v.warnings, ...v.audited] : [...v.denials, ...v.warnings];
    const first = all[0];
    const decision = v.denials.length ? "deny" : v.warnings.length ? "warn" : "audit";
    log.info(
      {
        ...base,
        decision,
        rule: first.rule,
        family: first.family,
        rules: all.slice(0, MAX_LOGGED).map((f) => f.rule),
        more: all.length > MAX_LOGGED ? all.length - MAX_LOGGED : undefined,
        audited: v.audited.length && decision !== "audit" ? v.audited.map((f) => f.rule) : undefined,
      },
      decision === "deny"
        ? d.response.status?.message
        : decision === "warn"
          ? d.response.warnings?.[0]
          : // what a denial would have said
            denialMessage(v.audited),
    );
  }
  if (log.isLevelEnabled("debug"))
    log.debug({ ...base, decision: d.decision, patch: d.response.patch !== undefined }, "review answered");
}

export type ReviewHandler = (
  webhook: Webhook,
  body: string,
  contentType: string | undefined,
  deadline: number,
) => HandlerAnswer | Promise<HandlerAnswer>;

export function createReviewHandler(src: DecisionSources, metrics: Metrics | undefined, log: Logger): ReviewHandler {
  const finish = (webhook: Webhook, req: AdmissionInput, d: Decision, t0: number): HandlerAnswer => {
    metrics?.observe(
      webhook,
      req.kind?.kind ?? "",
      req.operation,
      d.decision,
      (performance.now() - t0) / 1000,
      ruleOf(d),
    );
    if (d.decision !== "allowed" && d.decision !== "patched") logDecision(log, webhook, req, d);
    else if (log.isLevelEnabled("debug")) logDecision(log, webhook, req, d);
    return { status: 200, body: encodeReview(d.response) };
  };
  return (webhook, body, contentType, deadline) => {
    const t0 = performance.now();
    const dec = decodeReview(body, contentType);
    if (!dec.ok) {
      metrics?.observe(webhook, "", "", "invalid", (performance.now() - t0) / 1000);
      log.debug({ webhook, reason: dec.message }, "undecodable review");
      return { status: dec.status, body: dec.message + "\n", contentType: "text/plain; charset=utf-8" };
    }
    const req = dec.request;
    if (dec.problem) {
      const d: Decision = {
        response: errored(req.uid, `lbguard cannot judge this review: ${dec.problem}`, false, 400),
        decision: "invalid",
      };
      return finish(webhook, req, d, t0);
    }
    const policy = src.policy();
    src.observe?.(webhook, req, policy);
    const d = decideFresh(webhook, req, policy, src.view(), deadline, log);
    return d instanceof Promise ? d.then((x) => finish(webhook, req, x, t0)) : finish(webhook, req, d, t0);
  };
}
