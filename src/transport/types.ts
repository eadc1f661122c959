/**
 * What the transport exchanges with the rest of lbguard. Kept apart from
 * server.ts so the steps can use these types without importing the entry
 * point (no import cycle). server.ts re-exports them.
 */
import type https from "node:https";
import type { Logger } from "../observability/logger.js";

import type { Webhook } from "../k8s/review.js";

export type { Webhook };

export interface HandlerResult {
  status: number;
  body: string;
  contentType?: string;
}

/** Called with a complete body; may answer synchronously or with a promise. */
export type ReviewHandler = (
  webhook: Webhook,
  body: string,
  contentType: string | undefined,
  deadline: number,
) => HandlerResult | Promise<HandlerResult>;

export interface Readiness {
  (): { ready: boolean; reasons: string[] };
}

export interface ServerOptions {
  port: number;
  host?: string;
  tls: { cert: string; key: string };
  handler: ReviewHandler;
  readiness: Readiness;
  log: Logger;
  /** largest body (413 beyond); MAX_BODY unless told */
  maxBody?: number;
  /** bytes buffered across unfinished bodies (503 beyond); MAX_BUFFERED_BODY_BYTES unless told */
  maxBuffered?: number;
  /** open connections accepted at once; MAX_CONNECTIONS unless told */
  maxConnections?: number;
  /** time for a request's headers, from the connection's start for its first; HEADERS_TIMEOUT_MS unless told */
  headersTimeoutMs?: number;
}

/** What the transport has refused or closed so far, and what it holds now. */
export interface TransportStats {
  connections: number;
  bufferedBodyBytes: number;
  /** connections refused at accept: MAX_CONNECTIONS were open */
  dropped: number;
  /** connections closed by node's header or request timeout (a request, or nothing, too slow) */
  timedOut: number;
  bodiesTimedOut: number;
  bodiesRefused: number;
  bodiesTooLarge: number;
}

export interface RunningServer {
  port: number;
  server: https.Server;
  /** swap the serving certificate; open connections keep theirs */
  setCertificate(pair: { cert: string; key: string }): void;
  /**
   * From now on every answer carries `Connection: close` (the shutdown delay:
   * clients move to other endpoints without a connection being cut under them).
   */
  closeAfterAnswers(): void;
  /**
   * Stop accepting, answer what arrives on open connections (with
   * `Connection: close`), close each connection once it is quiet, then
   * resolve; after `graceMs` the rest are closed by force.
   */
  drain(graceMs?: number): Promise<void>;
  readonly draining: boolean;
  /** answers carry `Connection: close` */
  readonly closing: boolean;
  readonly inFlight: number;
  stats(): TransportStats;
}
