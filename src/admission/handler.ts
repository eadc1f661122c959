/**
 * Glue between the transport and the rules: decode, decide, encode, and
 * account for it (metrics, one info log line per denial or warning). A rule
 * that throws becomes an `errored` review, never a crash.
 */
import type { ClusterView } from "../cluster/view.js";
import type { Metrics } from "../observability/metrics.js";
import type { Logger } from "../observability/logger.js";
import type { Policy } from "../policy/policy.js";
import { mutate, validate } from "../rules/engine.js";
import type { AdmissionInput, Verdict } from "../rules/types.js";
import type { HandlerResult, ReviewHandler, Webhook } from "../transport/server.js";
import {
  AdmissionResponse,
  allowed,
  buildPatch,
  composeMessage,
  composeWarnings,
  decodeReview,
  denied,
  encodeReview,
  errored,
  patched,
} from "./codec.js";

export interface DecisionSources {
  policy(): Policy;
  view(): ClusterView;
  /**
   * Optional asynchronous preparation before deciding (the pool re-list of
   * SPEC §4); undefined when the request needs none. Must settle by `deadline`.
   */
  prepare?(req: AdmissionInput, deadline: number): Promise<ClusterView | undefined> | undefined;
}

export interface Decision {
  response: AdmissionResponse;
  verdict?: Verdict;
  decision: "allowed" | "patched" | "warned" | "denied" | "error" | "invalid";
}

/** Decide one decoded request; used by the server and by tests. */
export function decide(
  webhook: Webhook,
  req: AdmissionInput,
  policy: Policy,
  view: ClusterView,
  log?: Logger,
): Decision {
  try {
    const verdict = webhook === "mutate" ? mutate(req, view, policy) : validate(req, view, policy);
    const warnings = verdict.warnings.length ? composeWarnings(verdict.warnings.map((f) => f.message)) : undefined;
    if (verdict.denials.length)
      return {
        response: denied(req.uid, composeMessage(verdict.denials.map((f) => f.message)), warnings),
        verdict,
        decision: "denied",
      };
    if (webhook === "mutate" && verdict.mutation && req.object) {
      const ops = buildPatch(req.object, verdict.mutation.changes);
      if (ops.length) return { response: patched(req.uid, ops, warnings), verdict, decision: "patched" };
    }
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

function logDecision(log: Logger, webhook: Webhook, req: AdmissionInput, d: Decision): void {
  const base = {
    uid: req.uid,
    webhook,
    kind: req.kind?.kind,
    namespace: req.namespace ?? (req.object?.metadata?.namespace as string | undefined),
    name: req.name || (req.object?.metadata?.name as string | undefined),
    operation: req.operation,
    subResource: req.subResource || undefined,
    user: req.userInfo?.username,
  };
  if (d.verdict) {
    for (const f of d.verdict.denials)
      log.info({ ...base, decision: "deny", rule: f.rule, family: f.family }, f.message);
    for (const f of d.verdict.warnings)
      log.info({ ...base, decision: "warn", rule: f.rule, family: f.family }, f.message);
  }
  if (log.isLevelEnabled("debug"))
    log.debug({ ...base, decision: d.decision, patch: d.response.patch !== undefined }, "review answered");
}

export function createReviewHandler(src: DecisionSources, metrics: Metrics | undefined, log: Logger): ReviewHandler {
  const finish = (webhook: Webhook, req: AdmissionInput, d: Decision, t0: number): HandlerResult => {
    metrics?.observe(webhook, req.kind?.kind ?? "", req.operation, d.decision, (performance.now() - t0) / 1000);
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
    const prep = webhook === "validate" ? src.prepare?.(req, deadline) : undefined;
    if (prep) {
      return prep.then(
        (fresh) => finish(webhook, req, decide(webhook, req, policy, fresh ?? src.view(), log), t0),
        () => finish(webhook, req, decide(webhook, req, policy, src.view(), log), t0),
      );
    }
    return finish(webhook, req, decide(webhook, req, policy, src.view(), log), t0);
  };
}
