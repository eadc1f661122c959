/** Writing responses: the handler's result, and the transport's own plain-text errors. */
import type { ServerResponse } from "node:http";
import type { HandlerResult } from "./types.js";

/**
 * Write a handler's result in one `writeHead` + `end`, with its
 * Content-Length. `closing` (the server is draining) adds
 * `Connection: close` so the client does not reuse the connection.
 */
export function answer(res: ServerResponse, r: HandlerResult, closing: boolean): void {
  const headers: Record<string, string | number> = {
    "Content-Type": r.contentType ?? "application/json",
    "Content-Length": Buffer.byteLength(r.body),
  };
  if (closing) headers.Connection = "close";
  res.writeHead(r.status, headers);
  res.end(r.body);
}

/** A one-line text/plain answer (405, 413) with a trailing newline. */
export function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text + "\n"),
    ...headers,
  });
  res.end(text + "\n");
}
