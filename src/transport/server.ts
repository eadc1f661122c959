/**
 * The HTTPS surface, and its public entry `startServer`. The two admission
 * paths are served straight from node:https; express serves everything else
 * (probes, 404/405). The transport knows nothing about MetalLB, kube-vip or
 * rules: it hands a complete body to the review handler and writes its result.
 *
 * The steps, one file each:
 * - route.ts: path → "mutate" | "validate" | "probes"
 * - review.ts: one review: method, body, handler, answer
 * - body.ts: the body, within the byte limit (413 beyond)
 * - deadline.ts: the review's deadline from `?timeout=`
 * - answer.ts: writing the handler's result, and plain-text errors
 * - inflight.ts: in-flight accounting and the drain
 * - probes.ts: the express app for /healthz, /readyz, 404 and 405
 * - limits.ts: every number above, and where it comes from
 */
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "../observability/logger.js";
import { InFlight } from "./inflight.js";
import { DRAIN_GRACE_MS, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_BODY, REQUEST_TIMEOUT_MS } from "./limits.js";
import { probeApp } from "./probes.js";
import { reviewEndpoint } from "./review.js";
import { route } from "./route.js";
import type { RunningServer, ServerOptions } from "./types.js";

export { deadlineFor, parseGoDuration } from "./deadline.js";
export { DEADLINE_MARGIN_MS, MAX_BODY } from "./limits.js";
export type { HandlerResult, Readiness, ReviewHandler, RunningServer, ServerOptions, Webhook } from "./types.js";

/** TLS 1.2 at least, for the first certificate and every rotated one. */
const TLS_BASE: SecureContextOptions = { minVersion: "TLSv1.2" };

export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { log } = opts;
  const inFlight = new InFlight();
  const probes = probeApp(opts.readiness, () => inFlight.draining);
  const review = reviewEndpoint(opts.handler, log, opts.maxBody ?? MAX_BODY, inFlight);

  const server = https.createServer({ ...TLS_BASE, cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const r = route(req.url ?? "/");
    if (r === "probes") probes(req, res);
    else review(r, req, res);
  });
  guard(server, log);

  return listen(server, opts.port, opts.host).then((port) => ({
    port,
    server,
    get draining() {
      return inFlight.draining;
    },
    get inFlight() {
      return inFlight.count;
    },
    setCertificate(pair) {
      server.setSecureContext({ ...TLS_BASE, cert: pair.cert, key: pair.key });
    },
    drain(graceMs = DRAIN_GRACE_MS) {
      return inFlight.drain(server, graceMs, log);
    },
  }));
}

/**
 * Connection-level limits and failures, before any request reaches a step.
 * A cap on open connections belongs here too (`server.maxConnections`, or a
 * count kept in a "secureConnection" listener).
 */
function guard(server: https.Server, log: Logger): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.on("tlsClientError", (err: Error & { code?: string }) =>
    log.debug({ err: err.message, code: err.code }, "TLS handshake failed"),
  );
  server.on("clientError", (err: Error, socket: Socket) => {
    log.debug({ err: err.message }, "bad HTTP request");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
}

/** Listen, and resolve with the port actually bound (`port: 0` picks one). */
function listen(server: https.Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
