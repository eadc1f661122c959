/**
 * In-flight accounting and the drain. A review is in flight from the moment
 * its body starts to be read until its answer is written (or its request
 * fails). `drain()` stops accepting and lets those finish.
 */
import type https from "node:https";
import type { Logger } from "../observability/logger.js";

export class InFlight {
  /** reviews between the start of their body and their answer */
  count = 0;
  draining = false;
  private onIdle: (() => void) | undefined;

  enter(): void {
    this.count++;
  }

  /** A bound function (made once), so it can be passed to `.finally()` as is. */
  readonly leave = (): void => {
    this.count--;
    if (this.draining && this.count === 0) this.onIdle?.();
  };

  /**
   * Stop accepting connections, close the idle ones, and close each busy one
   * as soon as no review is in flight (answers written while draining carry
   * `Connection: close`). Resolves when the server has closed; after
   * `graceMs`, the connections still open are closed by force.
   */
  drain(server: https.Server, graceMs: number, log: Logger): Promise<void> {
    this.draining = true;
    return new Promise<void>((done) => {
      const hard = setTimeout(() => {
        log.warn({ inFlight: this.count }, "drain timeout; closing remaining connections");
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
      if (this.count === 0) idle();
      // after the last answer's write has been queued
      this.onIdle = () => setImmediate(idle);
    });
  }
}
