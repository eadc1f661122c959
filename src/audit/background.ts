/**
 * The background audit of `lbguard serve` (SPEC §12): every `intervalMs`,
 * the `lbguard audit` engine (audit.ts) over the live informer view and the
 * facts the informers feed (live-facts.ts), plus the status bounces the
 * webhook saw (admission/bounce.ts). No list of its own.
 *
 * - Every replica audits and exports the metrics; only the holder of the
 *   Lease `lbguard-audit` (lease.ts) writes reports (writer.ts) and Events
 *   (events.ts). A replica that takes the Lease audits at once and writes,
 *   without waiting for its next run.
 * - A run is cooperative: the engine runs in slices of `sliceMs` and gives
 *   the event loop back between them, so reviews are answered while it runs;
 *   while reviews arrive, it also pauses after each slice, so it takes at
 *   most a quarter of the core from the webhook (BENCHMARKS.md "Background
 *   audit").
 * - Runs never overlap; a run waits for the view to have synced.
 */
import { performance } from "node:perf_hooks";
import type { BounceDetector, Bounce } from "../admission/bounce.js";
import type { ClusterView } from "../cluster/view.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { Policy } from "../policy/policy.js";
import { moduleOf } from "../providers/index.js";
import { collectGarbage } from "../util/gc.js";
import { classPhrase } from "../rules/messages.js";
import { auditSteps, countBySeverity, type AuditRun } from "./audit.js";
import type { EventRecorder } from "./events.js";
import type { AuditFacts } from "./facts.js";
import type { AuditFinding } from "./finding.js";
import type { LeaseElector } from "./lease.js";
import { auditRule, severityRank } from "./rules.js";
import type { ReportWriter, SyncResult } from "./writer.js";

export const DEFAULT_INTERVAL_MS = 60_000;
/** how long the engine runs before it gives the event loop back */
export const DEFAULT_SLICE_MS = 4;
/**
 * While reviews keep arriving, the engine pauses this many slices' worth
 * after each slice: it then takes at most a quarter of the core, and the
 * webhook keeps the rest.
 */
export const BUSY_PAUSE_SLICES = 3;
/** after a run that judged or found more than this many objects, one full garbage collection */
export const GC_AFTER = 20_000;

export interface BackgroundOptions {
  intervalMs: number;
  view(): ClusterView;
  facts: AuditFacts;
  policy(): Policy;
  log: Logger;
  metrics?: Metrics;
  bounce?: BounceDetector;
  /** absent: this replica never writes */
  elector?: LeaseElector;
  writer?: ReportWriter;
  events?: EventRecorder;
  sliceMs?: number;
  /** a count that grows with every review (serve's): while it grows, runs pause between slices */
  activity?: () => number;
}

export interface RunSummary {
  findings: AuditFinding[];
  judged: number;
  /** wall time of the run */
  ms: number;
  /** time spent in the engine's slices (its share of the CPU) */
  workMs: number;
  /** process CPU over the run (the engine's and whatever else ran meanwhile) */
  cpuMs: number;
}

class Stopped extends Error {}

const PROVIDER_TITLE: Record<string, string> = { metallb: "MetalLB", "kube-vip": "kube-vip" };

/** The webhook's bounce evidence as `audit.status-bounce` findings. */
export function bounceFindings(bounces: Bounce[], policy: Policy, windowMs: number): AuditFinding[] {
  return bounces.map((b) => {
    const owner = policy.ownerOfClass(b.cls)?.name ?? "none";
    const others = b.writers.filter((w) => w.provider !== owner);
    const contender = others[0]?.provider ?? "none";
    const writes = b.writers
      .map((w) => `${w.user} (${PROVIDER_TITLE[w.provider]}, ${w.writes} write${w.writes === 1 ? "" : "s"})`)
      .join(" and ");
    const stop = others
      .map((w) => {
        const p = policy.providers[w.provider];
        return p ? moduleOf(p).stopWritingFix(p, b.cls, w.user) : "";
      })
      .filter(Boolean);
    const fix = stop.length
      ? stop.join("; and ")
      : `give it one provider's class: nothing in the policy owns ${classPhrase(b.cls)}`;
    return {
      rule: "audit.status-bounce",
      family: "audit",
      severity: auditRule("audit.status-bounce").severity,
      subject: { kind: "Service", namespace: b.namespace, name: b.name },
      related: [],
      problem: `bounces between MetalLB and kube-vip: lbguard saw status writes from ${writes} within ${Math.round(windowMs / 60_000)} minutes`,
      fix,
      join: " ",
      field: "status.loadBalancer",
      owner,
      contender,
    } satisfies AuditFinding;
  });
}

export class BackgroundAudit {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RunSummary | undefined>;
  private again = false;
  private stopped = false;
  private waiting = "";
  private publishing?: Promise<void>;
  private seeded = false;
  private lastSummary = "";
  private large = false;
  /** runs completed (tests) */
  runs = 0;

  constructor(private readonly o: BackgroundOptions) {
    o.metrics?.auditLeader.set(0);
  }

  /** Start the timer (the first run comes at `kick()`, when the view has synced, or after one interval). */
  start(): void {
    this.schedule(this.o.intervalMs);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.kick(), ms);
    this.timer.unref();
  }

  /** Run now (or right after the run in progress). */
  kick(): Promise<RunSummary | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run()
      .catch((e) => {
        if (!(e instanceof Stopped)) this.o.log.error({ err: e }, "background audit failed");
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
        // a large run leaves its findings and garbage in the old generation, which V8 would keep for
        // long: once nothing refers to them (after this turn), one full collection
        if (this.large) {
          this.large = false;
          setImmediate(() => {
            const t = performance.now();
            if (collectGarbage())
              this.o.log.debug({ ms: Math.round(performance.now() - t) }, "collected the background audit's garbage");
          });
        }
        if (this.again && !this.stopped) {
          this.again = false;
          void this.kick();
        } else this.schedule(this.o.intervalMs);
      });
    return this.running;
  }

  /**
   * The Lease changed hands: a new holder audits at once and writes what it
   * finds (the findings of a run are not kept after it: at 45,000 findings
   * they are 25 MB).
   */
  leadershipChanged(leading: boolean): void {
    this.seeded = false;
    this.o.metrics?.auditLeader.set(leading ? 1 : 0);
    if (!leading) return;
    this.o.writer?.invalidate();
    if (this.runs > 0) void this.kick();
  }

  private isLeader(): boolean {
    return this.o.elector?.isLeader() ?? false;
  }

  private async run(): Promise<RunSummary | undefined> {
    const view = this.o.view();
    if (!view.synced) {
      const why = view.pending().join(", ");
      if (why !== this.waiting)
        this.o.log.info({ pending: view.pending() }, "background audit waits for the cluster state to sync");
      this.waiting = why;
      return undefined;
    }
    this.waiting = "";
    const policy = this.o.policy();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const { value: run, workMs } = await this.cooperative(auditSteps(view, this.o.facts, policy));
    const findings = this.withBounces(run, policy);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const m = this.o.metrics;
    if (m) {
      m.setAuditFindings(findings);
      m.auditLastRun.set(Date.now() / 1000);
      m.auditDuration.observe(ms / 1000);
    }
    this.runs++;
    // first-seen times matter only to the writer (a new holder reads them from the reports)
    if (this.isLeader() && this.o.writer?.usable) this.o.writer.observe(findings);
    const counts = countBySeverity(findings);
    const summary: RunSummary = {
      findings,
      judged: run.judged,
      ms,
      workMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
    const line = JSON.stringify(counts);
    const fields = {
      findings: findings.length,
      ...counts,
      judged: run.judged,
      errors: run.errors.length ? run.errors.slice(0, 3) : undefined,
      ms: Math.round(ms),
      workMs: Math.round(workMs),
      cpuMs: Math.round(summary.cpuMs),
    };
    // one info line when the findings change, else debug: a steady cluster does not fill the log
    if (line !== this.lastSummary || run.errors.length) this.o.log.info(fields, "background audit");
    else this.o.log.debug(fields, "background audit");
    this.lastSummary = line;
    await this.publish(findings);
    this.large = findings.length + run.judged > GC_AFTER;
    return summary;
  }

  /** The engine's findings plus the webhook's bounce evidence for Services it does not already report bouncing. */
  private withBounces(run: AuditRun, policy: Policy): AuditFinding[] {
    const b = this.o.bounce;
    if (!b) return run.findings;
    const already = new Set(
      run.findings
        .filter((f) => f.rule === "audit.status-bounce")
        .map((f) => `${f.subject.namespace}/${f.subject.name}`),
    );
    const extra = bounceFindings(
      b.bouncing().filter((x) => !already.has(`${x.namespace}/${x.name}`)),
      policy,
      b.windowMs,
    );
    if (!extra.length) return run.findings;
    return [...run.findings, ...extra].sort((x, y) => severityRank(x.severity) - severityRank(y.severity));
  }

  /** Reports and Events from the Lease holder; every replica keeps its Event baseline current. */
  private publish(findings: AuditFinding[]): Promise<void> {
    const prev = this.publishing ?? Promise.resolve();
    const next = prev.then(async () => {
      if (this.stopped) return;
      const leader = this.isLeader();
      const { writer, events } = this.o;
      let result: SyncResult | undefined;
      if (leader && writer) {
        result = await writer.sync(findings);
        if (!this.seeded && !result.stopped) {
          events?.seed(writer.reportedKeys);
          this.seeded = true;
        }
        if (result.created || result.updated || result.deleted)
          this.o.log.info(
            {
              reports: writer.apiVersion,
              created: result.created,
              updated: result.updated,
              deleted: result.deleted,
              unchanged: result.unchanged,
            },
            "audit reports written",
          );
      }
      if (events) {
        events.observe(findings, leader);
        if (leader) await events.flush();
      }
    });
    this.publishing = next.catch((e) => this.o.log.error({ err: e }, "publishing the audit failed"));
    return this.publishing;
  }

  private async cooperative(gen: Generator<void, AuditRun>): Promise<{ value: AuditRun; workMs: number }> {
    const slice = this.o.sliceMs ?? DEFAULT_SLICE_MS;
    const activity = this.o.activity;
    let seen = activity?.() ?? 0;
    let work = 0;
    for (;;) {
      if (this.stopped) throw new Stopped();
      const t = performance.now();
      let r = gen.next();
      while (!r.done && performance.now() - t < slice) r = gen.next();
      const spent = performance.now() - t;
      work += spent;
      if (r.done) return { value: r.value, workMs: work };
      const now = activity?.() ?? seen;
      if (now !== seen) {
        // reviews arrived since the last slice: leave the core to them for a while
        seen = now;
        await new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(spent * BUSY_PAUSE_SLICES)));
      } else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Stop the timer and a run in progress; the elector releases the Lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.publishing;
    await this.o.elector?.stop();
  }
}
