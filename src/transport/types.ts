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
  maxBody?: number;
}

export interface RunningServer {
  port: number;
  server: https.Server;
  /** swap the serving certificate; open connections keep theirs */
  setCertificate(pair: { cert: string; key: string }): void;
  /** stop accepting, finish in-flight reviews, then resolve */
  drain(graceMs?: number): Promise<void>;
  readonly draining: boolean;
  readonly inFlight: number;
}
