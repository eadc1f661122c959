/**
 * The HTTPS surface, and its public entry `startServer`. The two admission
 * paths are served straight from node:https; express serves everything else
 * (probes, 404/405). The transport knows nothing about MetalLB, kube-vip or
 * rules: it hands a complete body to the review handler and writes its result.
 *
 * The steps, one file each:
 * - route.ts: path → "mutate" | "validate" | "probes"
 * - review.ts: one review: method, body, handler, answer
 * - body.ts: the body, within its byte limit (413), its deadline (408) and
 *   the budget of bytes buffered across all unfinished bodies (503)
 * - deadline.ts: the review's deadline from `?timeout=`
 * - answer.ts: writing the handler's result, and plain-text errors
 * - connections.ts: the cap on connections, the idle-before-first-request timeout
 * - inflight.ts: in-flight accounting and the drain (no request reset)
 * - probes.ts: the express app for /healthz, /readyz, 404 and 405
 * - limits.ts: every number above, and where it comes from
 */
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "../observability/logger.js";
import { Bodies } from "./body.js";
import { Connections } from "./connections.js";
import { InFlight } from "./inflight.js";
import {
  CONNECTIONS_CHECKING_INTERVAL_MS,
  DRAIN_GRACE_MS,
  HANDSHAKE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_BODY,
  MAX_BUFFERED_BODY_BYTES,
  MAX_CONNECTIONS,
  REQUEST_TIMEOUT_MS,
} from "./limits.js";
import { probeApp } from "./probes.js";
import { reviewEndpoint } from "./review.js";
import { route } from "./route.js";
import type { RunningServer, ServerOptions } from "./types.js";

export { deadlineFor, parseGoDuration } from "./deadline.js";
export { DEADLINE_MARGIN_MS, DRAIN_GRACE_MS, EXIT_MARGIN_MS, MAX_BODY } from "./limits.js";
export type { HandlerResult, Readiness, ReviewHandler, RunningServer, ServerOptions, Webhook } from "./types.js";

/** TLS 1.2 at least, for the first certificate and every rotated one. */
const TLS_BASE: SecureContextOptions = { minVersion: "TLSv1.2" };

export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { log } = opts;
  const inFlight = new InFlight();
  const bodies = new Bodies(log, opts.maxBody ?? MAX_BODY, opts.maxBuffered ?? MAX_BUFFERED_BODY_BYTES);
  const probes = probeApp(opts.readiness, () => inFlight.draining);
  const review = reviewEndpoint(opts.handler, log, bodies, inFlight);

  const server = https.createServer(
    {
      ...TLS_BASE,
      cert: opts.tls.cert,
      key: opts.tls.key,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    },
    (req, res) => {
      const r = route(req.url ?? "/");
      if (r !== "probes") review(r, req, res);
      else {
        if (inFlight.closing) res.setHeader("Connection", "close");
        probes(req, res);
      }
    },
  );
  const connections = new Connections(server, log, opts.maxConnections ?? MAX_CONNECTIONS);
  guard(server, log, connections);
  server.once("close", () => bodies.close());

  return listen(server, opts.port, opts.host).then((port) => ({
    port,
    server,
    get draining() {
      return inFlight.draining;
    },
    get closing() {
      return inFlight.closing;
    },
    get inFlight() {
      return inFlight.count;
    },
    stats() {
      return {
        connections: connections.open.size,
        bufferedBodyBytes: bodies.buffered,
        ...connections.stats,
        bodiesTimedOut: bodies.stats.timedOut,
        bodiesRefused: bodies.stats.refused,
        bodiesTooLarge: bodies.stats.tooLarge,
      };
    },
    setCertificate(pair) {
      server.setSecureContext({ ...TLS_BASE, cert: pair.cert, key: pair.key });
    },
    closeAfterAnswers() {
      inFlight.closing = true;
    },
    drain(graceMs = DRAIN_GRACE_MS) {
      return inFlight.drain(server, connections, graceMs, log);
    },
  }));
}

/** Failures before any request reaches a step (the limits on connections are in connections.ts). */
function guard(server: https.Server, log: Logger, connections: Connections): void {
  server.on("tlsClientError", (err: Error & { code?: string }) =>
    log.debug({ err: err.message, code: err.code }, "TLS handshake failed"),
  );
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    log.debug({ err: err.message, code: err.code }, "bad HTTP request");
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") connections.stats.timedOut++;
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" && socket.writable)
      socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    else if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
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
