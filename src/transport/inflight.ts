/**
 * In-flight accounting and the drain. A review is in flight from the moment
 * its body starts to be read until its answer is written (or its request
 * fails).
 *
 * Shutting down never resets a request the client has sent (SPEC §6):
 * - from `closing` on (SIGTERM, before any shutdown delay), every answer
 *   carries `Connection: close`, so a client stops reusing its connection
 *   after its next answer instead of racing a close;
 * - `drain()` stops listening but keeps open connections: a request that
 *   arrives on a kept-alive connection after that is still answered (with
 *   `Connection: close`). https.Server#close would destroy every idle
 *   connection at once, and a request already on its way over one of them
 *   would be reset: 32 of 32 keep-alive clients saw ECONNRESET
 *   (BENCHMARKS.md "Faults");
 * - a connection with nothing in progress is ended once it has read nothing
 *   for a sweep (DRAIN_IDLE_SWEEP_MS); a stalled body is answered at its
 *   deadline (body.ts); after the grace period whatever is left is closed.
 */
import type https from "node:https";
import type { Logger } from "../observability/logger.js";
import type { Connections } from "./connections.js";
import { DRAIN_IDLE_SWEEP_MS } from "./limits.js";

export class InFlight {
  /** reviews between the start of their body and their answer */
  count = 0;
  /** answers carry `Connection: close` (shutting down) */
  closing = false;
  /** the listener is closed and connections are being closed */
  draining = false;

  enter(): void {
    this.count++;
  }

  /** A bound function (made once), so it can be passed to `.finally()` as is. */
  readonly leave = (): void => {
    this.count--;
  };

  /**
   * Stop accepting connections and close the open ones as they fall quiet
   * (see above). Resolves when the last connection has closed; after
   * `graceMs`, the connections still open are closed by force.
   */
  drain(server: https.Server, connections: Connections, graceMs: number, log: Logger): Promise<void> {
    this.closing = true;
    this.draining = true;
    return new Promise<void>((done) => {
      let swept = false;
      const sweep = () => {
        if (swept) return;
        swept = true;
        // after the poll phase: bytes that arrived meanwhile have been read and counted
        setImmediate(() => {
          swept = false;
          connections.closeQuiet();
        });
      };
      const timer = setInterval(sweep, DRAIN_IDLE_SWEEP_MS);
      const hard = setTimeout(() => {
        log.warn(
          { inFlight: this.count, connections: connections.open.size },
          "drain timeout; closing remaining connections",
        );
        connections.destroyAll();
        server.closeAllConnections();
      }, graceMs);
      hard.unref();
      // https.Server#close, without its closeIdleConnections() (it still stops node's connection timer)
      const own = server as { closeIdleConnections: () => void };
      own.closeIdleConnections = () => undefined;
      server.close(() => {
        clearInterval(timer);
        clearTimeout(hard);
        done();
      });
      delete (own as { closeIdleConnections?: () => void }).closeIdleConnections;
      sweep();
    });
  }
}
