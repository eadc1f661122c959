/**
 * One writer among lbguard's replicas: a coordination.k8s.io/v1 Lease held
 * the way client-go's leaderelection holds a LeaseLock (SPEC §12):
 * - a candidate reads the Lease every `retryMs`; it takes it when it does not
 *   exist (create), has no holder, or has not changed for `durationMs` as
 *   seen on this replica's own clock (client-go's observedTime: no
 *   comparison of clocks across machines);
 * - the holder renews every `retryMs` (an update carrying the
 *   resourceVersion it read, so two candidates never both win: the loser
 *   gets 409 Conflict);
 * - the holder counts as leader only until `renewDeadlineMs` after its last
 *   successful renewal, checked on every `isLeader()` call: a holder whose
 *   renewals fail (API server unreachable, a conflict) stops writing at
 *   once, before `durationMs` lets another replica take over;
 * - on stop, the holder releases the Lease (no holder, 1 s duration) so the
 *   next one takes over at its next retry.
 * Timings default to client-go's (15 s, 10 s, 2 s): a stopped holder that
 * could not release is replaced within about 20 s. Tests inject shorter ones.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { hostname } from "node:os";
import { ApiError, apiRequest } from "../k8s/api.js";
import type { Logger } from "../observability/logger.js";

export interface LeaseTiming {
  /** leaseDurationSeconds, in ms: how long a candidate waits on a Lease that does not change */
  durationMs: number;
  /** the holder stops leading when it has not renewed for this long */
  renewDeadlineMs: number;
  /** how often candidates try and the holder renews */
  retryMs: number;
}

export const CLIENT_GO_TIMING: LeaseTiming = { durationMs: 15_000, renewDeadlineMs: 10_000, retryMs: 2_000 };

export const LEASE_NAME = "lbguard-audit";

/** lbguard's namespace (downward API), and this replica's identity: the pod's name, else host and pid. */
export function podNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAMESPACE || "lbguard-system";
}

export function leaseIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAME || `${hostname()}_${process.pid}`;
}

export interface ElectorOptions {
  kc: KubeConfig;
  namespace: string;
  name?: string;
  identity: string;
  timing?: LeaseTiming;
  log: Logger;
  /** called when this replica starts or stops leading */
  onChange?(leading: boolean): void;
  /** the clock (tests) */
  now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (Go parses no other width). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaseElector {
  readonly name: string;
  private readonly timing: LeaseTiming;
  private readonly now: () => number;
  private leading = false;
  private lastRenew = 0;
  /** the Lease as last read and when it last changed, on this replica's clock */
  private observed?: { key: string; at: number };
  private timer?: NodeJS.Timeout;
  private running = false;
  private busy?: Promise<void>;
  private lastError = "";

  constructor(private readonly o: ElectorOptions) {
    this.name = o.name ?? LEASE_NAME;
    this.timing = o.timing ?? CLIENT_GO_TIMING;
    this.now = o.now ?? Date.now;
  }

  get identity(): string {
    return this.o.identity;
  }

  /** Leading now: the last renewal is younger than the renew deadline. */
  isLeader(): boolean {
    if (this.leading && this.now() - this.lastRenew >= this.timing.renewDeadlineMs) this.lose("renew deadline passed");
    return this.leading;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stop trying; a holder releases the Lease (unless `release` is false: a crash, for tests). */
  async stop(release = true): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.busy;
    if (!this.leading) return;
    this.leading = false;
    this.o.onChange?.(false);
    if (!release) return;
    try {
      const cur = await this.get();
      if (cur?.spec?.holderIdentity !== this.o.identity) return;
      const now = microTime(this.now());
      await this.put(cur, {
        ...cur.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
      });
      this.o.log.info({ lease: this.path() }, "audit lease released");
    } catch (e) {
      this.o.log.warn({ lease: this.path(), err: (e as Error).message }, "could not release the audit lease");
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.busy = this.tick().finally(() => {
        this.busy = undefined;
        // client-go's JitterUntil for candidates (factor 1.2); the holder renews on the period
        this.schedule(this.leading ? this.timing.retryMs : this.timing.retryMs * (1 + Math.random() * 0.2));
      });
    }, ms);
    this.timer.unref();
  }

  private path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.name}`;
  }

  private async get(): Promise<any | undefined> {
    try {
      return await apiRequest(this.o.kc, this.path(), { timeoutMs: this.requestTimeout() });
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404) return undefined;
      throw e;
    }
  }

  private requestTimeout(): number {
    return Math.max(1000, Math.floor(this.timing.renewDeadlineMs / 2));
  }

  private put(cur: any, spec: LeaseSpec): Promise<any> {
    return apiRequest(this.o.kc, this.path(), {
      method: "PUT",
      timeoutMs: this.requestTimeout(),
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { ...cur.metadata, managedFields: undefined },
        spec,
      },
    });
  }

  /** One try: acquire or renew (client-go tryAcquireOrRenew). */
  private async tick(): Promise<void> {
    const t = this.now();
    const seconds = Math.ceil(this.timing.durationMs / 1000);
    try {
      const cur = await this.get();
      if (!this.running) return;
      if (!cur) {
        const now = microTime(t);
        await apiRequest(this.o.kc, `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`, {
          method: "POST",
          timeoutMs: this.requestTimeout(),
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.name, namespace: this.o.namespace },
            spec: {
              holderIdentity: this.o.identity,
              leaseDurationSeconds: seconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        this.renewed(t, true);
        return;
      }
      const spec: LeaseSpec = cur.spec ?? {};
      const key = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseDurationSeconds]);
      if (this.observed?.key !== key) this.observed = { key, at: t };
      const holder = spec.holderIdentity ?? "";
      const mine = holder === this.o.identity;
      const durationMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
      if (holder && !mine && this.observed.at + durationMs > t) {
        if (this.leading) this.lose(`the lease is held by ${holder}`);
        return;
      }
      const now = microTime(t);
      const next: LeaseSpec = {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: seconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      };
      const stored = await this.put(cur, next);
      const s: LeaseSpec = stored.spec ?? next;
      this.observed = {
        key: JSON.stringify([s.holderIdentity, s.renewTime, s.acquireTime, s.leaseDurationSeconds]),
        at: t,
      };
      this.renewed(t, !mine);
    } catch (e) {
      const msg = (e as Error).message;
      // a conflict means another replica wrote the Lease first: it is theirs until it expires
      if (this.leading && e instanceof ApiError && e.statusCode === 409) this.lose("another replica updated the lease");
      else if (msg !== this.lastError) this.o.log.warn({ lease: this.path(), err: msg }, "audit lease: request failed");
      this.lastError = msg;
      this.isLeader();
    }
  }

  private renewed(t: number, acquired: boolean): void {
    this.lastRenew = t;
    this.lastError = "";
    if (!this.leading) {
      this.leading = true;
      this.o.log.info(
        { lease: `${this.o.namespace}/${this.name}`, identity: this.o.identity, transition: acquired },
        "audit lease acquired: this replica writes the audit's reports and events",
      );
      this.o.onChange?.(true);
    }
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.log.warn(
      { lease: `${this.o.namespace}/${this.name}`, identity: this.o.identity, reason: why },
      "audit lease lost: this replica stops writing",
    );
    this.o.onChange?.(false);
  }
}
