/** Prometheus metrics (README: Observability) (prom-client), with label children cached off the hot path. */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import client from "prom-client";
import { AUDIT_RULES } from "../audit/rules.js";
import { RULE_IDS } from "../rules/catalogue.js";
import { packageVersion } from "../version.js";

const KNOWN_KINDS = new Set(["Service", "IPAddressPool", "ConfigMap", "Pod", "DaemonSet", "Deployment", "StatefulSet"]);
const KNOWN_OPS = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);
/** the `rule` label: catalogue ids only, anything else is "other" */
const KNOWN_RULES: ReadonlySet<string> = new Set(RULE_IDS);
/** the audit's `rule` label: catalogue and audit rule ids, anything else "other" */
const KNOWN_AUDIT_RULES: ReadonlySet<string> = new Set([...RULE_IDS, ...AUDIT_RULES.map((r) => r.id)]);
const AUDIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Values {
  name: string;
  help: string;
  type: "counter" | "histogram" | "summary";
  values: {
    labels?: Record<string, string | number>;
    sharedLabels?: Record<string, string>;
    value: number;
    metricName?: string;
  }[];
  aggregator: "sum";
}

/**
 * The per-review counter and histogram, as prom-client collectors: a review
 * only bumps numbers (a few nanoseconds); prom-client renders them at scrape
 * time. prom-client's own observe() hashes and validates labels on every
 * call, which costs a measurable share of the throughput (BENCHMARKS.md).
 */
class ReviewCounter {
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly series = new Map<string, { labels: Record<string, string>; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(key: string, labels: () => Record<string, string>, by = 1): void {
    const s = this.series.get(key);
    if (s) s.value += by;
    else this.series.set(key, { labels: labels(), value: by });
  }
  get(): Values {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: "sum",
      values: [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value })),
    };
  }
  reset(): void {
    this.series.clear();
  }
}

class ReviewHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<
    string,
    { labels: Record<string, string>; counts: Float64Array; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(key: string, labels: () => Record<string, string>, seconds: number): void {
    let s = this.series.get(key);
    if (!s)
      this.series.set(key, (s = { labels: labels(), counts: new Float64Array(BUCKETS.length), sum: 0, count: 0 }));
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    if (i < BUCKETS.length) s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }
  get(): Values {
    const values: Values["values"] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      BUCKETS.forEach((le, i) => {
        acc += s.counts[i];
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({
        labels: { le: "+Inf" },
        sharedLabels: s.labels,
        value: s.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: "sum", values };
  }
  reset(): void {
    this.series.clear();
  }
}

/**
 * Event-loop delay as a summary, from perf_hooks.monitorEventLoopDelay: a
 * libuv timer samples every RESOLUTION_MS whatever the load, so a review
 * costs nothing; the quantiles are computed at scrape time over the samples
 * since the previous scrape (then the histogram is reset), `_sum` and
 * `_count` accumulate. A sample is the delay beyond the timer's own
 * interval: 0 on an idle loop.
 */
class EventLoopDelay {
  static readonly RESOLUTION_MS = 10;
  static readonly QUANTILES = [0.5, 0.9, 0.99];
  readonly type = "summary";
  readonly aggregator = "sum";
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: EventLoopDelay.RESOLUTION_MS });
  private sum = 0;
  private count = 0;
  private last: number[] | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    this.h.enable();
  }
  get(): Values {
    const h = this.h;
    const res = EventLoopDelay.RESOLUTION_MS * 1e6;
    const sec = (ns: number) => (ns > res ? (ns - res) / 1e9 : 0);
    const n = h.count;
    if (n > 0) {
      this.last = EventLoopDelay.QUANTILES.map((q) => sec(h.percentile(q * 100)));
      this.sum += sec(h.mean) * n;
      this.count += n;
      h.reset();
    }
    const values: Values["values"] = [];
    // no sample since the previous scrape (two scrapes within 10 ms): the previous quantiles
    if (this.last)
      EventLoopDelay.QUANTILES.forEach((q, i) => values.push({ labels: { quantile: q }, value: this.last![i] }));
    values.push({ value: this.sum, metricName: `${this.name}_sum` });
    values.push({ value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: "sum", values };
  }
  reset(): void {
    this.h.reset();
    this.sum = this.count = 0;
    this.last = undefined;
  }
  close(): void {
    this.h.disable();
  }
}

interface RequestKeys {
  /** the series key without a rule (allowed, patched, error, invalid) */
  key: string;
  /** the series keys by bounded rule (denied, warned, audited) */
  byRule?: Map<string, string>;
}

interface KindKeys {
  /** the duration series key */
  dur: string;
  /** request series keys by operation, then decision */
  req: Map<string, Map<string, RequestKeys>>;
}

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new ReviewCounter(
    "lbguard_admission_requests_total",
    "Admission reviews answered, by webhook, kind, operation and decision (allowed, patched, warned, audited, denied, error, invalid); denied, warned and audited reviews also by the rule of their first finding (catalogue ids, else other).",
  );
  readonly duration = new ReviewHistogram(
    "lbguard_admission_duration_seconds",
    "Time from a complete request body to the answer, by webhook and kind.",
  );
  readonly cacheSynced: client.Gauge<"resource">;
  readonly policyReloads: client.Counter<"result">;
  readonly snapshotReloads: client.Counter<"result">;
  readonly certExpiry: client.Gauge;
  readonly buildInfo: client.Gauge<"version">;
  readonly eventLoopDelay = new EventLoopDelay(
    "lbguard_event_loop_delay_seconds",
    "Event-loop delay beyond the 10 ms sampling timer (perf_hooks.monitorEventLoopDelay); quantiles over the samples since the previous scrape.",
  );

  readonly auditFindings: client.Gauge<"rule" | "severity">;
  readonly auditLastRun: client.Gauge;
  readonly auditDuration: client.Histogram;
  readonly auditLeader: client.Gauge;
  readonly statusBounce: client.Gauge;
  /** how many Services bounce now, read at scrape time (serve sets it to the detector's count) */
  bouncing: () => number = () => 0;
  private auditSeries = new Set<string>();

  constructor(defaults = true) {
    if (defaults) client.collectDefaultMetrics({ register: this.registry });
    this.registry.registerMetric(this.requests as unknown as client.Metric);
    this.registry.registerMetric(this.duration as unknown as client.Metric);
    this.registry.registerMetric(this.eventLoopDelay as unknown as client.Metric);
    this.buildInfo = new client.Gauge({
      name: "lbguard_build_info",
      help: "Always 1; the version of lbguard running, as a label.",
      labelNames: ["version"],
      registers: [this.registry],
    });
    this.buildInfo.labels(packageVersion()).set(1);
    // the series the foreign-write alert (deploy/overlays/monitoring) watches, at 0 from the start:
    // rate() and increase() see a series' first increment only when the series existed before it
    for (const decision of ["denied", "audited"])
      this.count("validate", "Service", "UPDATE", decision, "foreign-write", 0);
    this.cacheSynced = new client.Gauge({
      name: "lbguard_cache_synced",
      help: "1 when the cluster state of a resource has synced at least once, else 0.",
      labelNames: ["resource"],
      registers: [this.registry],
    });
    this.policyReloads = new client.Counter({
      name: "lbguard_policy_reloads_total",
      help: "Policy (re)loads by result (success, error); an error keeps the previous policy.",
      labelNames: ["result"],
      registers: [this.registry],
    });
    this.snapshotReloads = new client.Counter({
      name: "lbguard_snapshot_reloads_total",
      help: "Cluster snapshot (--state) loads and reloads by result (success, error); an error keeps the previous state.",
      labelNames: ["result"],
      registers: [this.registry],
    });
    this.certExpiry = new client.Gauge({
      name: "lbguard_certificate_expiry_timestamp_seconds",
      help: "Expiry (Unix time) of the serving certificate in use.",
      registers: [this.registry],
    });
    // the background audit (SPEC §12): on every replica, whichever writes the reports
    this.auditFindings = new client.Gauge({
      name: "lbguard_audit_findings",
      help: "Findings of the last background audit, by rule and severity (0 for a rule and severity seen before and gone now).",
      labelNames: ["rule", "severity"],
      registers: [this.registry],
    });
    this.auditLastRun = new client.Gauge({
      name: "lbguard_audit_last_run_timestamp_seconds",
      help: "When the last background audit finished (Unix time); 0 before the first.",
      registers: [this.registry],
    });
    this.auditDuration = new client.Histogram({
      name: "lbguard_audit_duration_seconds",
      help: "Wall time of each background audit run (it yields to reviews, so under load it takes longer).",
      buckets: AUDIT_BUCKETS,
      registers: [this.registry],
    });
    this.auditLeader = new client.Gauge({
      name: "lbguard_audit_leader",
      help: "1 while this replica holds the Lease lbguard-audit and writes the audit's reports and events, else 0.",
      registers: [this.registry],
    });
    this.statusBounce = new client.Gauge({
      name: "lbguard_status_bounce_services",
      help: "Services whose status two providers' identities wrote within the last 5 minutes, as this replica saw the writes (a status bounce).",
      registers: [this.registry],
      collect: () => this.statusBounce.set(this.bouncing()),
    });
  }

  /** The findings of one audit run: counts by rule and severity; series seen before and gone now go to 0. */
  setAuditFindings(findings: Iterable<{ rule: string; severity: string }>): void {
    const counts = new Map<string, { rule: string; severity: string; n: number }>();
    for (const f of findings) {
      const rule = KNOWN_AUDIT_RULES.has(f.rule) ? f.rule : "other";
      const k = `${rule}|${f.severity}`;
      const c = counts.get(k);
      if (c) c.n++;
      else counts.set(k, { rule, severity: f.severity, n: 1 });
    }
    for (const k of this.auditSeries)
      if (!counts.has(k)) this.auditFindings.labels(...(k.split("|") as [string, string])).set(0);
    for (const [k, c] of counts) {
      this.auditFindings.labels(c.rule, c.severity).set(c.n);
      this.auditSeries.add(k);
    }
  }

  /** bounded label values: unknown kinds from hostile reviews do not grow the series */
  static kindLabel(kind: string): string {
    return KNOWN_KINDS.has(kind) ? kind : "other";
  }

  /** bounded `rule` label values: the catalogue's ids, anything else "other" */
  static ruleLabel(rule: string): string {
    return KNOWN_RULES.has(rule) ? rule : "other";
  }

  /**
   * One answered review. `rule` (the rule of the first finding of a denied,
   * warned or audited review; "" for none) becomes the `rule` label, absent
   * when "".
   */
  observe(webhook: string, kind: string, operation: string, decision: string, seconds: number, rule = ""): void {
    const k = KNOWN_KINDS.has(kind) ? kind : "other";
    const op = KNOWN_OPS.has(operation) ? operation : "other";
    const keys = this.count(webhook, k, op, decision, rule, 1);
    this.duration.observe(keys.dur, () => ({ webhook, kind: k }), seconds);
  }

  /** Add `by` to the requests series of these (bounded) labels; the keys of its kind. */
  private count(webhook: string, k: string, op: string, decision: string, rule: string, by: number): KindKeys {
    // the key of one series, without building a string per review
    let byKind = this.keys.get(webhook);
    if (!byKind) this.keys.set(webhook, (byKind = new Map()));
    let keys = byKind.get(k);
    if (!keys) byKind.set(k, (keys = { dur: `${webhook}|${k}`, req: new Map() }));
    let byOp = keys.req.get(op);
    if (!byOp) keys.req.set(op, (byOp = new Map()));
    let leaf = byOp.get(decision);
    if (!leaf) byOp.set(decision, (leaf = { key: `${webhook}|${k}|${op}|${decision}` }));
    if (rule === "") this.requests.inc(leaf.key, () => ({ webhook, kind: k, operation: op, decision }), by);
    else {
      const r = KNOWN_RULES.has(rule) ? rule : "other";
      const byRule = (leaf.byRule ??= new Map());
      let rk = byRule.get(r);
      if (!rk) byRule.set(r, (rk = `${leaf.key}|${r}`));
      this.requests.inc(rk, () => ({ webhook, kind: k, operation: op, decision, rule: r }), by);
    }
    return keys;
  }

  /** Stop the event-loop sampling timer (tests that create many registries). */
  close(): void {
    this.eventLoopDelay.close();
  }

  private readonly keys = new Map<string, Map<string, KindKeys>>();
}
