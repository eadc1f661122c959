/** Prometheus metrics (README: Observability) (prom-client), with label children cached off the hot path. */
import client from "prom-client";

const KNOWN_KINDS = new Set(["Service", "IPAddressPool", "ConfigMap", "Pod", "DaemonSet", "Deployment", "StatefulSet"]);
const KNOWN_OPS = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Values {
  name: string;
  help: string;
  type: "counter" | "histogram";
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
  inc(key: string, labels: () => Record<string, string>): void {
    const s = this.series.get(key);
    if (s) s.value++;
    else this.series.set(key, { labels: labels(), value: 1 });
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

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new ReviewCounter(
    "lbguard_admission_requests_total",
    "Admission reviews answered, by webhook, kind, operation and decision (allowed, patched, warned, denied, error, invalid).",
  );
  readonly duration = new ReviewHistogram(
    "lbguard_admission_duration_seconds",
    "Time from a complete request body to the answer, by webhook and kind.",
  );
  readonly cacheSynced: client.Gauge<"resource">;
  readonly policyReloads: client.Counter<"result">;
  readonly certExpiry: client.Gauge;

  constructor(defaults = true) {
    if (defaults) client.collectDefaultMetrics({ register: this.registry });
    this.registry.registerMetric(this.requests as unknown as client.Metric);
    this.registry.registerMetric(this.duration as unknown as client.Metric);
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
    this.certExpiry = new client.Gauge({
      name: "lbguard_certificate_expiry_timestamp_seconds",
      help: "Expiry (Unix time) of the serving certificate in use.",
      registers: [this.registry],
    });
  }

  /** bounded label values: unknown kinds from hostile reviews do not grow the series */
  static kindLabel(kind: string): string {
    return KNOWN_KINDS.has(kind) ? kind : "other";
  }

  observe(webhook: string, kind: string, operation: string, decision: string, seconds: number): void {
    const k = KNOWN_KINDS.has(kind) ? kind : "other";
    const op = KNOWN_OPS.has(operation) ? operation : "other";
    // the key of one series, without building a string per review
    let byKind = this.keys.get(webhook);
    if (!byKind) this.keys.set(webhook, (byKind = new Map()));
    let keys = byKind.get(k);
    if (!keys) byKind.set(k, (keys = { dur: `${webhook}|${k}`, req: new Map() }));
    let byOp = keys.req.get(op);
    if (!byOp) keys.req.set(op, (byOp = new Map()));
    let rk = byOp.get(decision);
    if (!rk) byOp.set(decision, (rk = `${webhook}|${k}|${op}|${decision}`));
    this.requests.inc(rk, () => ({ webhook, kind: k, operation: op, decision }));
    this.duration.observe(keys.dur, () => ({ webhook, kind: k }), seconds);
  }

  private readonly keys = new Map<string, Map<string, { dur: string; req: Map<string, Map<string, string>> }>>();
}
