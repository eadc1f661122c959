/**
 * The two admission paths, in the order of controller-runtime's
 * `Webhook.ServeHTTP` (pkg/webhook/admission/http.go): check the method,
 * read the body within its limit (body.ts), call the review handler with the
 * content type and the deadline, write its result (answer.ts). Decoding and
 * deciding are the handler's business: this file only moves bytes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.js";
import { answer, plain } from "./answer.js";
import { BodyDone, readBody } from "./body.js";
import { deadlineFor } from "./deadline.js";
import { rawHeader } from "./headers.js";
import type { InFlight } from "./inflight.js";
import type { HandlerResult, ReviewHandler, Webhook } from "./types.js";

export type ServeReview = (webhook: Webhook, req: IncomingMessage, res: ServerResponse) => void;

/** What a handler that throws or rejects answers; the error itself is logged. */
const INTERNAL_ERROR: HandlerResult = Object.freeze({
  status: 500,
  body: "internal error",
  contentType: "text/plain",
});

/**
 * The request listener for /mutate and /validate. The per-body callback is
 * made once here, not per request (readBody hands it back the webhook), and
 * captures nothing of its own: the synchronous path allocates no closure.
 */
export function reviewEndpoint(handler: ReviewHandler, log: Logger, maxBody: number, inFlight: InFlight): ServeReview {
  const onBody: BodyDone<Webhook> = (body, req, res, webhook) => {
    if (body === undefined) {
      inFlight.leave(); // already answered (413), or the request failed
      return;
    }
    const contentType = rawHeader(req.rawHeaders, "content-type");
    const deadline = deadlineFor(req.url ?? "", Date.now());
    const r = callHandler(handler, log, webhook, body, contentType, deadline);
    if (r instanceof Promise) {
      answerWhenSettled(r, res, inFlight, log);
    } else {
      answer(res, r, inFlight.draining);
      inFlight.leave();
    }
  };

  return (webhook, req, res) => {
    if (req.method !== "POST") {
      plain(res, 405, "method not allowed", { Allow: "POST" });
      return;
    }
    // in flight from here: the body's listeners are attached, none has run yet
    if (readBody(req, res, maxBody, webhook, onBody)) inFlight.enter();
  };
}

/**
 * The async path, kept out of `onBody` so that the synchronous path allocates
 * no closure context: a rejection becomes INTERNAL_ERROR.
 */
function answerWhenSettled(p: Promise<HandlerResult>, res: ServerResponse, inFlight: InFlight, log: Logger): void {
  p.then(
    (x) => answer(res, x, inFlight.draining),
    (e) => {
      log.error({ err: e }, "review handler failed");
      answer(res, INTERNAL_ERROR, inFlight.draining);
    },
  ).finally(inFlight.leave);
}

/** The handler's answer; a synchronous throw becomes INTERNAL_ERROR. */
function callHandler(
  handler: ReviewHandler,
  log: Logger,
  webhook: Webhook,
  body: string,
  contentType: string | undefined,
  deadline: number,
): HandlerResult | Promise<HandlerResult> {
  try {
    return handler(webhook, body, contentType, deadline);
  } catch (e) {
    log.error({ err: e }, "review handler threw");
    return INTERNAL_ERROR;
  }
}
