/**
 * `--audit-events` (SPEC §12): one Warning Event, reason
 * `LoadBalancerOwnershipConflict`, on a finding's subject when the finding
 * first appears; none while it persists (a finding is known by its rule and
 * objects: writer.ts findingKey). Written by the Lease holder only, and never
 * more than `perMinute` in any minute (Kyverno's event floods: SEMANTICS §6):
 * findings that appear faster wait in a bounded queue and are sent later if
 * they still persist; the rest are counted in the log. What a holder knows
 * on taking over: the findings of its own earlier runs (every replica
 * audits) and those already in the reports, so a takeover sends no Event
 * for what was already there.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { ApiError, apiRequest } from "../k8s/api.js";
import type { Logger } from "../observability/logger.js";
import { auditMessage, type AuditFinding } from "./finding.js";
import { objectReference } from "./reports.js";
import { findingHash } from "./writer.js";

export const EVENT_REASON = "LoadBalancerOwnershipConflict";
export const EVENT_COMPONENT = "lbguard";
/** at most this many Events in any 60 s */
export const EVENTS_PER_MINUTE = 5;
/** findings waiting for an Event; beyond, they get none (the reports have them) */
export const EVENT_QUEUE = 100;

export interface EventOptions {
  kc: KubeConfig;
  log: Logger;
  /** reportingInstance: the Lease identity */
  identity: string;
  canWrite(): boolean;
  perMinute?: number;
  now?: () => number;
}

/** metav1.Time: RFC 3339, whole seconds. */
function time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

export class EventRecorder {
  private known = new Set<number>();
  private readonly queue = new Map<number, AuditFinding>();
  private readonly sent: number[] = [];
  private readonly perMinute: number;
  private readonly now: () => number;
  private dropped = 0;

  constructor(private readonly o: EventOptions) {
    this.perMinute = o.perMinute ?? EVENTS_PER_MINUTE;
    this.now = o.now ?? Date.now;
  }

  /** Findings already reported (the reports read on taking the Lease): they are not new. */
  seed(keys: Iterable<number>): void {
    for (const k of keys) this.known.add(k);
  }

  /** Every run, on every replica: findings new since the last run are queued when this replica is the writer. */
  observe(findings: AuditFinding[], writer: boolean): void {
    const current = new Map<number, AuditFinding>();
    for (const f of findings) current.set(findingHash(f), f);
    if (writer)
      for (const [k, f] of current) {
        if (this.known.has(k) || this.queue.has(k)) continue;
        if (this.queue.size < EVENT_QUEUE) this.queue.set(k, f);
        else this.dropped++;
      }
    // a finding that went away needs no Event; one that comes back later is new again
    for (const [k, f] of this.queue)
      if (!current.has(k)) this.queue.delete(k);
      else this.queue.set(k, current.get(k) ?? f);
    this.known = new Set(current.keys());
  }

  /** Events still to send. */
  get pending(): number {
    return this.queue.size;
  }

  /** Send what the rate allows; returns how many were sent. */
  async flush(): Promise<number> {
    let n = 0;
    if (this.dropped) {
      this.o.log.warn(
        { dropped: this.dropped, queued: this.queue.size },
        `more new audit findings than Events allowed (${this.perMinute} a minute, ${EVENT_QUEUE} waiting): these get no Event; the reports and lbguard_audit_findings list them`,
      );
      this.dropped = 0;
    }
    for (const [k, f] of this.queue) {
      const t = this.now();
      while (this.sent.length && this.sent[0] <= t - 60_000) this.sent.shift();
      if (this.sent.length >= this.perMinute || !this.o.canWrite()) break;
      this.sent.push(t);
      this.queue.delete(k);
      try {
        await this.send(f, t);
        n++;
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message, rule: f.rule }, "could not write an audit Event");
      }
    }
    return n;
  }

  private async send(f: AuditFinding, t: number): Promise<void> {
    const ref = objectReference(f.subject);
    // Events live in the namespace of their object; those about cluster-scoped objects in default
    const ns = f.subject.namespace || "default";
    const name = `${f.subject.name.slice(0, 200)}.${(BigInt(t) * 1_000_000n + BigInt(this.sent.length)).toString(16)}`;
    const message = auditMessage(f);
    try {
      await apiRequest(this.o.kc, `/api/v1/namespaces/${ns}/events`, {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name, namespace: ns },
          involvedObject: ref,
          reason: EVENT_REASON,
          message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
          type: "Warning",
          source: { component: EVENT_COMPONENT },
          reportingComponent: EVENT_COMPONENT,
          reportingInstance: this.o.identity,
          action: "Audit",
          firstTimestamp: time(t),
          lastTimestamp: time(t),
          count: 1,
        },
      });
    } catch (e) {
      // the same name twice (two Events within a nanosecond): the Event is there
      if (!(e instanceof ApiError && e.statusCode === 409)) throw e;
    }
  }
}
