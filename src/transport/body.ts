/**
 * Reading review bodies, every byte within three bounds:
 * - a byte limit per body (controller-runtime reads through an
 *   io.LimitedReader of maxRequestSize and answers 413 past it);
 * - a deadline: the body must arrive by the review's deadline (from its
 *   `?timeout=`, else DEFAULT_REVIEW_TIMEOUT_MS), else 408 and the
 *   connection is closed;
 * - a budget of bytes buffered across all unfinished bodies
 *   (MAX_BUFFERED_BODY_BYTES): a body that would exceed it is answered 503
 *   at once and discarded, never buffered.
 * One timer (BODY_SWEEP_MS) checks the deadlines of all unfinished bodies: a
 * body that arrives whole, as nearly all do, costs no timer of its own.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.js";
import { plain } from "./answer.js";
import { rawHeader } from "./headers.js";
import { BODY_SWEEP_MS, MAX_BUFFERED_BODY_BYTES, MAX_BODY } from "./limits.js";

/**
 * Receives the outcome of a read: the body as UTF-8, or undefined when the
 * request has already been answered (413, 408, 503) or its connection
 * failed; either way, nothing more is to be written. `tag` and `deadline` are
 * what the caller passed to `read`, handed back so that the caller needs no
 * closure per request.
 */
export type BodyDone<T> = (
  body: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  tag: T,
  deadline: number,
) => void;

/** One body being read. */
interface Pending {
  req: IncomingMessage;
  res: ServerResponse;
  deadline: number;
  /** bytes taken from the budget: the declared Content-Length, or what arrived */
  reserved: number;
  size: number;
  /** set once, just before `done` is called: the one place per-body resources are released */
  settled: boolean;
  finish: (body: string | undefined) => void;
}

export interface BodyStats {
  /** bodies answered 408: not complete by their deadline */
  timedOut: number;
  /** bodies answered 503: over the buffered-bytes budget */
  refused: number;
  /** bodies answered 413 */
  tooLarge: number;
}

export class Bodies {
  /** bytes taken from the budget by unfinished bodies */
  buffered = 0;
  readonly stats: BodyStats = { timedOut: 0, refused: 0, tooLarge: 0 };
  private readonly pending = new Set<Pending>();
  /** connections answered 408, destroyed at the next sweep if still open (a peer that reads nothing) */
  private dying = new Set<IncomingMessage>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    readonly limit = MAX_BODY,
    readonly maxBuffered = MAX_BUFFERED_BODY_BYTES,
    sweepMs = BODY_SWEEP_MS,
  ) {
    this.sweep = setInterval(() => this.expire(Date.now()), sweepMs);
    this.sweep.unref();
  }

  /** bodies not yet complete */
  get unfinished(): number {
    return this.pending.size;
  }

  /**
   * Read the body of `req`, at most `limit` bytes, by `deadline` (epoch ms).
   *
   * Returns false when the request is answered at once and `done` is never
   * called: a declared Content-Length over the limit (413) or over what is
   * left of the budget (503), both with `Connection: close` and the body
   * discarded. Otherwise returns true and calls `done` exactly once, later:
   * with the body, or with undefined when it grew over the limit (413) or the
   * budget (503), missed its deadline (408), or the request failed.
   */
  read<T>(req: IncomingMessage, res: ServerResponse, deadline: number, tag: T, done: BodyDone<T>): boolean {
    const declared = Number(rawHeader(req.rawHeaders, "content-length") ?? NaN);
    if (declared > this.limit) {
      this.stats.tooLarge++;
      tooLarge(res, this.limit);
      req.resume();
      return false;
    }
    const reserve = declared >= 0 ? declared : 0;
    if (this.buffered + reserve > this.maxBuffered) {
      this.refuse(res);
      req.resume();
      return false;
    }
    this.buffered += reserve;
    const chunks: Buffer[] = [];
    const p: Pending = {
      req,
      res,
      deadline,
      reserved: reserve,
      size: 0,
      settled: false,
      finish: (body) => {
        if (p.settled) return;
        p.settled = true;
        this.pending.delete(p);
        this.buffered -= p.reserved;
        chunks.length = 0;
        done(body, req, res, tag, deadline);
      },
    };
    this.pending.add(p);
    req.on("data", (c: Buffer) => {
      if (p.settled) return;
      p.size += c.length;
      if (p.size > this.limit) {
        this.stats.tooLarge++;
        tooLarge(res, this.limit);
        req.destroy();
        p.finish(undefined);
        return;
      }
      if (p.size > p.reserved) {
        // no Content-Length (chunked): take the budget as the bytes arrive
        const more = p.size - p.reserved;
        if (this.buffered + more > this.maxBuffered) {
          this.refuse(res);
          req.destroy();
          p.finish(undefined);
          return;
        }
        this.buffered += more;
        p.reserved = p.size;
      }
      chunks.push(c);
    });
    req.on("error", () => p.finish(undefined));
    req.on("end", () =>
      p.finish(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8")),
    );
    return true;
  }

  /** Answer 408 and close for every body past its deadline; destroy what a peer left unread since the last sweep. */
  expire(now: number): void {
    if (this.dying.size) {
      for (const req of this.dying) req.socket?.destroy();
      this.dying = new Set();
    }
    if (!this.pending.size) return;
    for (const p of this.pending) {
      if (p.deadline > now) continue;
      const { req, res } = p;
      this.stats.timedOut++;
      this.log.warn(
        { path: req.url, received: p.size, declared: p.reserved, lateMs: now - p.deadline },
        "review body not received by its deadline: answered 408, connection closed",
      );
      if (!res.headersSent)
        plain(res, 408, "request body not received within the review's timeout", { Connection: "close" });
      p.finish(undefined);
      this.dying.add(req);
    }
  }

  /** Stop the deadline timer (the server has closed). */
  close(): void {
    clearInterval(this.sweep);
  }

  private refuse(res: ServerResponse): void {
    this.stats.refused++;
    this.log.warn(
      { buffered: this.buffered, max: this.maxBuffered },
      "review body refused: too many body bytes in transit (503)",
    );
    plain(res, 503, "too many review bytes in transit; retry", { Connection: "close", "Retry-After": "1" });
  }
}

function tooLarge(res: ServerResponse, limit: number): void {
  plain(res, 413, `request body over ${limit} bytes`, { Connection: "close" });
}
