/**
 * Reading a review body with a byte limit (controller-runtime reads through an
 * io.LimitedReader of maxRequestSize and answers 413 past it).
 *
 * Later limits belong here, in the one place every body byte passes through:
 * - a body deadline (the body must arrive within the review's `?timeout=`,
 *   else DEFAULT_REVIEW_TIMEOUT_MS): arm it in readBody, clear it where `settled` is set;
 * - a cap on bytes buffered across all unfinished bodies (503 beyond): take
 *   `c.length` from a shared budget in the data listener, give `size` back
 *   where `settled` is set.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { plain } from "./answer.js";
import { rawHeader } from "./headers.js";

/**
 * Receives the outcome of readBody: the body as UTF-8, or undefined when the
 * request has already been answered (413) or its connection failed; either
 * way, nothing more is to be written. `tag` is what the caller passed to
 * readBody, handed back so that the caller needs no closure per request.
 */
export type BodyDone<T> = (body: string | undefined, req: IncomingMessage, res: ServerResponse, tag: T) => void;

/**
 * Read the body of `req`, at most `limit` bytes.
 *
 * Returns false when the declared Content-Length is already over the limit:
 * 413 is written with `Connection: close`, the body is discarded, and `done`
 * is never called. Otherwise returns true and calls `done` exactly once, later:
 * with the body, or with undefined when more than `limit` bytes arrived (413
 * written, the request destroyed) or the request failed.
 */
export function readBody<T>(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  tag: T,
  done: BodyDone<T>,
): boolean {
  if (Number(rawHeader(req.rawHeaders, "content-length")) > limit) {
    tooLarge(res, limit);
    req.resume();
    return false;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // one flag, set just before `done` (the only place to release per-body resources later)
  let settled = false;
  req.on("data", (c: Buffer) => {
    if (settled) return;
    size += c.length;
    if (size > limit) {
      tooLarge(res, limit);
      req.destroy();
      settled = true;
      done(undefined, req, res, tag);
      return;
    }
    chunks.push(c);
  });
  req.on("error", () => {
    if (settled) return;
    settled = true;
    done(undefined, req, res, tag);
  });
  req.on("end", () => {
    if (settled) return;
    settled = true;
    done(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8"), req, res, tag);
  });
  return true;
}

function tooLarge(res: ServerResponse, limit: number): void {
  plain(res, 413, `request body over ${limit} bytes`, { Connection: "close" });
}
