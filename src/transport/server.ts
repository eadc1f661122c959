/**
 * The HTTPS surface. The two admission paths are served straight from
 * node:https (body read with limits, deadline from `?timeout=`, one call to
 * the review handler, one write); express serves everything else (probes,
 * 404/405). The transport knows nothing about MetalLB, kube-vip or rules.
 */
import express from "express";
import { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "../observability/logger.js";

export const MAX_BODY = 7 * 1024 * 1024;
/** answer this long before the API server's own timeout */
export const DEADLINE_MARGIN_MS = 500;

export type Webhook = "mutate" | "validate";

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

const TLS_BASE: SecureContextOptions = { minVersion: "TLSv1.2" };

/** Go duration as the API server writes it (`10s`, `1m0s`, `500ms`). */
export function parseGoDuration(s: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

/** Deadline (epoch ms) for a review from its `?timeout=`; 10 s (the API server default) when absent. */
export function deadlineFor(url: string, now: number): number {
  const q = url.indexOf("?");
  let ms = 10_000;
  if (q >= 0) {
    const t = new URLSearchParams(url.slice(q + 1)).get("timeout");
    const d = t ? parseGoDuration(t) : undefined;
    if (d !== undefined && d > 0) ms = Math.min(d, 30_000);
  }
  return now + Math.max(ms - DEADLINE_MARGIN_MS, ms / 2);
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text + "\n"),
    ...headers,
  });
  res.end(text + "\n");
}

function probeApp(readiness: Readiness, isDraining: () => boolean): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
  app.get("/readyz", (_req, res) => {
    const r = readiness();
    if (isDraining()) r.reasons.unshift("shutting down");
    if (r.ready && !isDraining()) res.type("text/plain").send("ok\n");
    else
      res
        .status(503)
        .type("text/plain")
        .send(`not ready: ${r.reasons.join("; ")}\n`);
  });
  for (const p of ["/healthz", "/readyz"]) {
    app.all(p, (_req, res) => {
      res.status(405).set("Allow", "GET, HEAD").type("text/plain").send("method not allowed\n");
    });
  }
  app.use((_req, res) => {
    res.status(404).type("text/plain").send("not found\n");
  });
  return app;
}

export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { handler, log } = opts;
  const maxBody = opts.maxBody ?? MAX_BODY;
  let draining = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const app = probeApp(opts.readiness, () => draining);

  const finish = () => {
    inFlight--;
    if (draining && inFlight === 0) drained?.();
  };

  const answer = (res: ServerResponse, r: HandlerResult) => {
    const headers: Record<string, string | number> = {
      "Content-Type": r.contentType ?? "application/json",
      "Content-Length": Buffer.byteLength(r.body),
    };
    if (draining) headers.Connection = "close";
    res.writeHead(r.status, headers);
    res.end(r.body);
  };

  const admission = (webhook: Webhook, req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST") {
      plain(res, 405, "method not allowed", { Allow: "POST" });
      return;
    }
    // read the two headers we need from the raw list: touching req.headers builds an object per request
    let contentType: string | undefined;
    let contentLength: string | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i];
      if (k.length === 12 && k.toLowerCase() === "content-type") contentType = raw[i + 1];
      else if (k.length === 14 && k.toLowerCase() === "content-length") contentLength = raw[i + 1];
    }
    const declared = Number(contentLength);
    if (declared > maxBody) {
      plain(res, 413, `request body over ${maxBody} bytes`, { Connection: "close" });
      req.resume();
      return;
    }
    inFlight++;
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on("data", (c: Buffer) => {
      if (aborted) return;
      size += c.length;
      if (size > maxBody) {
        aborted = true;
        plain(res, 413, `request body over ${maxBody} bytes`, { Connection: "close" });
        req.destroy();
        finish();
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => {
      if (!aborted) {
        aborted = true;
        finish();
      }
    });
    req.on("end", () => {
      if (aborted) return;
      const body = chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8");
      const deadline = deadlineFor(req.url ?? "", Date.now());
      let r: HandlerResult | Promise<HandlerResult>;
      try {
        r = handler(webhook, body, contentType, deadline);
      } catch (e) {
        log.error({ err: e }, "review handler threw");
        r = { status: 500, body: "internal error", contentType: "text/plain" };
      }
      if (r instanceof Promise) {
        r.then(
          (x) => answer(res, x),
          (e) => {
            log.error({ err: e }, "review handler failed");
            answer(res, { status: 500, body: "internal error", contentType: "text/plain" });
          },
        ).finally(finish);
      } else {
        answer(res, r);
        finish();
      }
    });
  };

  const server = https.createServer({ ...TLS_BASE, cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path === "/validate") admission("validate", req, res);
    else if (path === "/mutate") admission("mutate", req, res);
    else app(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 20_000;
  server.requestTimeout = 35_000;
  server.on("tlsClientError", (err: Error & { code?: string }) =>
    log.debug({ err: err.message, code: err.code }, "TLS handshake failed"),
  );
  server.on("clientError", (err: Error, socket: Socket) => {
    log.debug({ err: err.message }, "bad HTTP request");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        server,
        get draining() {
          return draining;
        },
        get inFlight() {
          return inFlight;
        },
        setCertificate(pair) {
          server.setSecureContext({ ...TLS_BASE, cert: pair.cert, key: pair.key });
        },
        drain(graceMs = 25_000) {
          draining = true;
          return new Promise<void>((done) => {
            const hard = setTimeout(() => {
              log.warn({ inFlight }, "drain timeout; closing remaining connections");
              server.closeAllConnections();
            }, graceMs);
            hard.unref();
            server.close(() => {
              clearTimeout(hard);
              done();
            });
            server.closeIdleConnections();
            const idle = () => {
              server.closeIdleConnections();
            };
            if (inFlight === 0) idle();
            drained = () => setImmediate(idle);
          });
        },
      });
    });
  });
}
