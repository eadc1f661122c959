/**
 * The two admission paths, in the order of controller-runtime's
 * `Webhook.ServeHTTP` (pkg/webhook/admission/http.go): check the method,
 * read the body within its limits (body.ts), call the review handler with the
 * content type and the deadline, write its result (answer.ts). Decoding and
 * deciding are the handler's business: this file only moves bytes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.js";
import { answer, plain } from "./answer.js";
import type { BodyDone, Bodies } from "./body.js";
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
 * made once here, not per request (the body reader hands it back the
 * webhook and the deadline), and captures nothing of its own: the
 * synchronous path allocates no closure.
 *
 * The deadline is taken from `?timeout=` when the request starts: the body
 * must arrive by it (body.ts), and the handler gets the same one.
 */
export function reviewEndpoint(handler: ReviewHandler, log: Logger, bodies: Bodies, inFlight: InFlight): ServeReview {
  const onBody: BodyDone<Webhook> = (body, req, res, webhook, deadline) => {
    if (body === undefined) {
      inFlight.leave(); // already answered (413, 408, 503), or the request failed
      return;
    }
    const contentType = rawHeader(req.rawHeaders, "content-type");
    const r = callHandler(handler, log, webhook, body, contentType, deadline);
    if (r instanceof Promise) {
      answerWhenSettled(r, res, inFlight, log);
    } else {
      answer(res, r, inFlight.closing);
      inFlight.leave();
    }
  };

  return (webhook, req, res) => {
    if (req.method !== "POST") {
      plain(
        res,
        405,
        "method not allowed",
        inFlight.closing ? { Allow: "POST", Connection: "close" } : { Allow: "POST" },
      );
      return;
    }
    // in flight from here: the body's listeners are attached, none has run yet
    if (bodies.read(req, res, deadlineFor(req.url ?? "", Date.now()), webhook, onBody)) inFlight.enter();
  };
}

/**
 * The async path, kept out of `onBody` so that the synchronous path allocates
 * no closure context: a rejection becomes INTERNAL_ERROR.
 */
function answerWhenSettled(p: Promise<HandlerResult>, res: ServerResponse, inFlight: InFlight, log: Logger): void {
  p.then(
    (x) => answer(res, x, inFlight.closing),
    (e) => {
      log.error({ err: e }, "review handler failed");
      answer(res, INTERNAL_ERROR, inFlight.closing);
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
