/** Prometheus metrics of SPEC §8 (prom-client), with label children cached off the hot path. */
import client from "prom-client";

const KNOWN_KINDS = new Set(["Service", "IPAddressPool", "ConfigMap", "Pod", "DaemonSet", "Deployment", "StatefulSet"]);
const KNOWN_OPS = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<"webhook" | "kind" | "operation" | "decision">;
  readonly duration: client.Histogram<"webhook" | "kind">;
  readonly cacheSynced: client.Gauge<"resource">;
  readonly policyReloads: client.Counter<"result">;
  readonly certExpiry: client.Gauge;
  private readonly reqChildren = new Map<string, client.Counter.Internal>();
  private readonly durChildren = new Map<string, client.Histogram.Internal<"webhook" | "kind">>();

  constructor(defaults = true) {
    if (defaults) client.collectDefaultMetrics({ register: this.registry });
    this.requests = new client.Counter({
      name: "lbguard_admission_requests_total",
      help: "Admission reviews answered, by webhook, kind, operation and decision (allowed, patched, warned, denied, error, invalid).",
      labelNames: ["webhook", "kind", "operation", "decision"],
      registers: [this.registry],
    });
    this.duration = new client.Histogram({
      name: "lbguard_admission_duration_seconds",
      help: "Time from a complete request body to the answer, by webhook and kind.",
      labelNames: ["webhook", "kind"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
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
    const k = Metrics.kindLabel(kind);
    const op = KNOWN_OPS.has(operation) ? operation : "other";
    const rk = `${webhook}|${k}|${op}|${decision}`;
    let c = this.reqChildren.get(rk);
    if (!c) this.reqChildren.set(rk, (c = this.requests.labels(webhook, k, op, decision)));
    c.inc();
    const dk = `${webhook}|${k}`;
    let h = this.durChildren.get(dk);
    if (!h) this.durChildren.set(dk, (h = this.duration.labels(webhook, k)));
    h.observe(seconds);
  }
}
