/**
 * Connections: the cap on how many are open (MAX_CONNECTIONS), the set of
 * open ones, and the drain's closing of those that have nothing in progress.
 * (The handshake, header and request timeouts, which also close a
 * connection that sends nothing, are server options: server.ts.)
 */
import type https from "node:https";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../observability/logger.js";
import { MAX_CONNECTIONS } from "./limits.js";

/** what lbguard keeps on a connection's socket */
interface Tracked extends TLSSocket {
  /** bytesRead at the previous drain sweep */
  _lbgRead?: number;
  /** nothing in progress and nothing read at the previous drain sweep */
  _lbgQuiet?: boolean;
  /** ended by the drain; destroyed at the next sweep if the peer has not closed */
  _lbgEnded?: boolean;
  /** node's response in progress on this socket (set from headers to the end of the answer) */
  _httpMessage?: unknown;
}

export interface ConnectionStats {
  /** connections refused at accept because MAX_CONNECTIONS were open */
  dropped: number;
  /** connections closed by node's headersTimeout/requestTimeout (a request, or nothing, too slow) */
  timedOut: number;
}

export class Connections {
  /** TLS connections open (handshake done) */
  readonly open = new Set<TLSSocket>();
  readonly stats: ConnectionStats = { dropped: 0, timedOut: 0 };

  constructor(server: https.Server, log: Logger, maxConnections = MAX_CONNECTIONS) {
    server.maxConnections = maxConnections;
    server.on("drop", (d?: { remoteAddress?: string }) => {
      this.stats.dropped++;
      log.debug({ remote: d?.remoteAddress, max: maxConnections }, "connection refused: too many open connections");
    });
    server.on("secureConnection", (s: TLSSocket) => {
      this.open.add(s);
      s.once("close", () => this.open.delete(s));
    });
  }

  /**
   * One drain sweep: end each connection that has no request in progress and
   * read nothing since the previous sweep; destroy the ones ended by the
   * previous sweep whose peer has not closed its side. Run it after the event
   * loop has read the sockets (setImmediate), so bytes that arrived are counted.
   */
  closeQuiet(): void {
    for (const s of this.open) {
      const t = s as Tracked;
      if (t._lbgEnded) {
        t.destroy();
        continue;
      }
      if (t._httpMessage || t.bytesRead !== t._lbgRead) {
        t._lbgRead = t.bytesRead;
        t._lbgQuiet = false;
        continue;
      }
      if (!t._lbgQuiet) {
        t._lbgQuiet = true;
        continue;
      }
      t._lbgEnded = true;
      t.end();
    }
  }

  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }
}
