/**
 * A warm-up through the whole transport (docs/architecture.md, "Warm-up"): reviews sent over
 * TLS keep-alive connections to a second server of the same code, on 127.0.0.1 and a free port,
 * with a handler that records nothing. The serving code (TLS, HTTP parsing, body reading,
 * answers) and the decision code are then compiled by the time the real server answers its
 * first review; functions of the same source share V8's type feedback and optimised code, so
 * what the second server teaches the JIT serves the first.
 *
 * The transport knows nothing of what the reviews say: they come from the caller.
 */
import tls from "node:tls";
import { apiServerRequestHead } from "../k8s/wire.js";
import { createLogger } from "../observability/logger.js";
import { startServer } from "./server.js";
import type { ReviewHandler, Webhook } from "./types.js";

export interface TransportWarmUp {
  /** [webhook, body] pairs, sent in turn */
  bodies: readonly (readonly [Webhook, string])[];
  tls: { cert: string; key: string };
  handler: ReviewHandler;
  /** stop once this many reviews were answered… */
  reviews: number;
  /** …or after this long (ms), whichever comes first */
  budgetMs: number;
  /** keep-alive connections used at once (4 unless told; each re-opened every 20 rounds, for the handshake code) */
  connections?: number;
}

interface Connection {
  /** send one request; resolves when its whole answer is in: whether it was a 200 */
  send(request: Buffer): Promise<boolean>;
  close(): void;
}

/** One keep-alive TLS connection that sends a request at a time. */
function connect(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      let done: ((ok: boolean) => void) | undefined;
      let closed = false;
      let got = "";
      socket.on("close", () => {
        closed = true;
        done?.(false);
      });
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => {
        got += chunk;
        const head = got.indexOf("\r\n\r\n");
        if (head < 0) return;
        const m = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, head));
        const length = m ? Number(m[1]) : 0;
        if (got.length < head + 4 + length) return;
        const ok = got.startsWith("HTTP/1.1 200");
        got = got.slice(head + 4 + length);
        done?.(ok);
      });
      resolve({
        send: (request) =>
          new Promise<boolean>((answered) => {
            if (closed) return answered(false);
            done = answered;
            socket.write(request);
          }),
        close: () => socket.end(),
      });
    });
    socket.on("error", (e) => {
      reject(e);
      socket.destroy();
    });
  });
}

/**
 * Start the second server, send the bodies round after round on `connections` connections
 * until `reviews` were answered or `budgetMs` has passed, close it. Resolves with the number of
 * reviews answered 200. Never throws: a warm-up that fails leaves the process cold, nothing else.
 */
export async function warmUpTransport(o: TransportWarmUp): Promise<number> {
  let answered = 0;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    server = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: o.tls,
      handler: o.handler,
      readiness: () => ({ ready: true, reasons: [] }),
      log: createLogger("silent"),
    });
    const port = server.port;
    const requests = o.bodies.map(([webhook, body]) => {
      const bytes = Buffer.from(body);
      const head = apiServerRequestHead(`/${webhook}`, bytes.length, "lbguard-warm-up.svc:443");
      return Buffer.concat([Buffer.from(head), bytes]);
    });
    const t0 = performance.now();
    let failed = false; // an answer other than 200 ends the warm-up: something is wrong, and the start must not wait on it
    const left = () => !failed && answered < o.reviews && performance.now() - t0 < o.budgetMs;
    const k = Math.max(1, o.connections ?? 4);
    // k connections share the reviews; each is re-opened every ROUNDS rounds, for the handshake code
    const ROUNDS = 20;
    // a request that never gets its answer must not hold the start: the budget, then closing the server, ends it
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, o.budgetMs + 1000)));
    const rounds = Promise.all(
      Array.from({ length: k }, async (_, c) => {
        while (left()) {
          const conn = await connect(port);
          try {
            for (let r = 0; r < ROUNDS && left(); r++)
              for (let i = c; i < requests.length && left(); i += k)
                if (await conn.send(requests[i]!)) answered++;
                else failed = true;
          } finally {
            conn.close();
          }
        }
      }),
    );
    rounds.catch(() => {}); // after the deadline, a connection error has nobody to tell
    await Promise.race([rounds, deadline]);
    clearTimeout(timer);
  } catch {
    // the warm-up is an optimisation only
  } finally {
    if (server) {
      server.server.close();
      server.server.closeAllConnections();
    }
  }
  return answered;
}
