/**
 * deploy/overlays/monitoring: the PodMonitor, the PrometheusRule and the
 * Grafana dashboard. Built with the real kustomize (`kubectl kustomize`);
 * the two Prometheus Operator kinds checked against a strict hand schema
 * (unknown fields refused, as the API server's strict field validation
 * would), and every alert expression evaluated against sample series with
 * `promtool test rules` (Debian: `apt-get install prometheus`; skipped, and
 * said so, where promtool is absent).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import * as core from "kubernetes-models/v1";
import { ROOT } from "../helpers/paths.js";
import { hasKubectl, kustomize, NO_KUBECTL, Obj, parseDocs } from "./kustomize.js";

const DIR = join(ROOT, "deploy/overlays/monitoring");
const PROMTOOL = process.env.PROMTOOL || "promtool";
const hasPromtool = spawnSync(PROMTOOL, ["--version"], { encoding: "utf8" }).status === 0;
const NO_PROMTOOL = `${PROMTOOL} not found: alert expressions not evaluated (Debian/Ubuntu: apt-get install prometheus; or set PROMTOOL)`;

/** The metric names the alerts and the dashboard may use: SPEC §8 and §12, and the process defaults. */
const METRICS = [
  "lbguard_admission_requests_total",
  "lbguard_admission_duration_seconds_bucket",
  "lbguard_cache_synced",
  "lbguard_policy_reloads_total",
  "lbguard_certificate_expiry_timestamp_seconds",
  "lbguard_build_info",
  "lbguard_event_loop_delay_seconds",
  "lbguard_status_bounce_services",
  "lbguard_audit_findings",
  "lbguard_audit_last_run_timestamp_seconds",
  "lbguard_audit_duration_seconds",
  "lbguard_audit_duration_seconds_bucket",
  "lbguard_audit_leader",
];

// ---- a strict schema for the two Prometheus Operator kinds -----------------------------------

type Schema =
  | "string"
  | "int"
  | "bool"
  | "duration"
  | { enum: readonly string[] }
  | { map: "string" }
  | { list: Schema }
  | { object: Record<string, Schema>; required?: readonly string[]; oneOf?: readonly string[] };

/** monitoring.coreos.com/v1 `Duration` */
const DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

const metadata: Schema = {
  object: { name: "string", namespace: "string", labels: { map: "string" }, annotations: { map: "string" } },
  required: ["name", "namespace"],
};
const labelSelector: Schema = {
  object: {
    matchLabels: { map: "string" },
    matchExpressions: {
      list: {
        object: { key: "string", operator: { enum: ["In", "NotIn", "Exists", "DoesNotExist"] }, values: { list: "string" } },
        required: ["key", "operator"],
      },
    },
  },
};
const relabel: Schema = {
  object: {
    sourceLabels: { list: "string" },
    separator: "string",
    targetLabel: "string",
    regex: "string",
    modulus: "int",
    replacement: "string",
    action: {
      enum: ["replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod", "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep", "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual", "dropequal", "DropEqual"],
    },
  },
};
/** the fields of the PodMonitor CRD (prometheus-operator v0.7x) this schema admits; anything else is refused */
const podMonitor: Schema = {
  object: {
    apiVersion: { enum: ["monitoring.coreos.com/v1"] },
    kind: { enum: ["PodMonitor"] },
    metadata,
    spec: {
      object: {
        selector: labelSelector,
        namespaceSelector: { object: { any: "bool", matchNames: { list: "string" } } },
        jobLabel: "string",
        podTargetLabels: { list: "string" },
        sampleLimit: "int",
        targetLimit: "int",
        podMetricsEndpoints: {
          list: {
            object: {
              port: "string",
              targetPort: "string",
              path: "string",
              scheme: { enum: ["http", "https"] },
              params: { map: "string" },
              interval: "duration",
              scrapeTimeout: "duration",
              honorLabels: "bool",
              honorTimestamps: "bool",
              enableHttp2: "bool",
              followRedirects: "bool",
              filterRunning: "bool",
              relabelings: { list: relabel },
              metricRelabelings: { list: relabel },
            },
          },
        },
      },
      required: ["selector"],
    },
  },
  required: ["apiVersion", "kind", "metadata", "spec"],
};
const prometheusRule: Schema = {
  object: {
    apiVersion: { enum: ["monitoring.coreos.com/v1"] },
    kind: { enum: ["PrometheusRule"] },
    metadata,
    spec: {
      object: {
        groups: {
          list: {
            object: {
              name: "string",
              interval: "duration",
              limit: "int",
              partial_response_strategy: { enum: ["abort", "warn"] },
              rules: {
                list: {
                  object: {
                    alert: "string",
                    record: "string",
                    expr: "string",
                    for: "duration",
                    keep_firing_for: "duration",
                    labels: { map: "string" },
                    annotations: { map: "string" },
                  },
                  required: ["expr"],
                  oneOf: ["alert", "record"],
                },
              },
            },
            required: ["name", "rules"],
          },
        },
      },
      required: ["groups"],
    },
  },
  required: ["apiVersion", "kind", "metadata", "spec"],
};

/** Every way `v` breaks `s`, each with its path. */
function problems(v: unknown, s: Schema, path: string): string[] {
  const at = path || "(root)";
  if (s === "string") return typeof v === "string" ? [] : [`${at}: want a string, got ${JSON.stringify(v)}`];
  if (s === "int") return Number.isInteger(v) ? [] : [`${at}: want an integer, got ${JSON.stringify(v)}`];
  if (s === "bool") return typeof v === "boolean" ? [] : [`${at}: want a boolean, got ${JSON.stringify(v)}`];
  if (s === "duration")
    return typeof v === "string" && DURATION.test(v) ? [] : [`${at}: want a duration (30s, 5m), got ${JSON.stringify(v)}`];
  if ("enum" in s) return s.enum.includes(v as string) ? [] : [`${at}: want one of ${s.enum.join(", ")}, got ${JSON.stringify(v)}`];
  if ("map" in s) {
    if (!v || typeof v !== "object" || Array.isArray(v)) return [`${at}: want a map of strings`];
    return Object.entries(v).flatMap(([k, x]) => problems(x, "string", `${path}.${k}`));
  }
  if ("list" in s) {
    if (!Array.isArray(v)) return [`${at}: want a list`];
    return v.flatMap((x, i) => problems(x, s.list, `${path}[${i}]`));
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return [`${at}: want an object`];
  const o = v as Obj;
  const out: string[] = [];
  for (const k of Object.keys(o))
    if (!(k in s.object)) out.push(`${path ? `${path}.` : ""}${k}: unknown field`);
    else out.push(...problems(o[k], s.object[k], path ? `${path}.${k}` : k));
  for (const k of s.required ?? []) if (!(k in o)) out.push(`${path ? `${path}.` : ""}${k}: required`);
  if (s.oneOf && s.oneOf.filter((k) => k in o).length !== 1) out.push(`${at}: exactly one of ${s.oneOf.join(", ")}`);
  return out;
}

const SCHEMAS: Record<string, Schema> = { PodMonitor: podMonitor, PrometheusRule: prometheusRule };

// ---- the overlay, as kustomize renders it (or its files, without kubectl) -----------------------------

function rendered(): Obj[] {
  if (hasKubectl()) return kustomize(DIR);
  const files = ["podmonitor.yaml", "prometheusrule.yaml"].flatMap((f) =>
    parseDocs(readFileSync(join(DIR, f), "utf8"), f),
  );
  const dashboard: Obj = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "lbguard-dashboard", namespace: "lbguard-system", labels: { grafana_dashboard: "1" } },
    data: { "lbguard.json": readFileSync(join(DIR, "dashboard.json"), "utf8") },
  };
  return [...files, dashboard];
}

const OBJECTS = rendered();
const one = (kind: string, name: string) => {
  const o = OBJECTS.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`${kind} ${name} not rendered`);
  return o;
};
const rule = one("PrometheusRule", "lbguard");
const alerts: Obj[] = rule.spec.groups.flatMap((g: Obj) => g.rules).filter((r: Obj) => r.alert);
const deployment = OBJECTS.find((o) => o.kind === "Deployment" && o.metadata.name === "lbguard");

describe("deploy: overlays/monitoring", () => {
  it("builds with kubectl kustomize", function () {
    if (!hasKubectl()) {
      console.warn(`      ${NO_KUBECTL}`);
      this.skip();
    }
    const kinds = OBJECTS.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).to.include.members(["PodMonitor/lbguard", "PrometheusRule/lbguard", "ConfigMap/lbguard-dashboard"]);
    for (const o of OBJECTS) expect(o.metadata.labels?.["app.kubernetes.io/part-of"], `${o.kind} ${o.metadata.name}`).to.equal("lbguard");
  });

  for (const kind of Object.keys(SCHEMAS))
    it(`the ${kind} matches its schema, unknown fields refused`, () => {
      for (const o of OBJECTS.filter((x) => x.kind === kind)) expect(problems(o, SCHEMAS[kind], "")).to.deep.equal([]);
    });

  it("the schema check refuses what the API server would (a typo, a bad duration, alert and record both)", () => {
    const pm = structuredClone(one("PodMonitor", "lbguard"));
    pm.spec.podMetricsEndpoints[0].intervall = "30s";
    pm.spec.podMetricsEndpoints[0].scrapeTimeout = "10 seconds";
    expect(problems(pm, podMonitor, "")).to.deep.equal([
      "spec.podMetricsEndpoints[0].scrapeTimeout: want a duration (30s, 5m), got \"10 seconds\"",
      "spec.podMetricsEndpoints[0].intervall: unknown field",
    ]);
    const pr = structuredClone(rule);
    pr.spec.groups[0].rules[0].record = "x";
    pr.spec.groups[0].rules[1].severity = "critical";
    expect(problems(pr, prometheusRule, "")).to.deep.equal([
      "spec.groups[0].rules[0]: exactly one of alert, record",
      "spec.groups[0].rules[1].severity: unknown field",
    ]);
  });

  it("the PodMonitor scrapes the lbguard pods' metrics port", () => {
    const pm = one("PodMonitor", "lbguard");
    const ep = pm.spec.podMetricsEndpoints[0];
    expect(ep).to.deep.include({ port: "metrics", path: "/metrics" });
    if (!deployment) return; // without kubectl only the overlay's own files are read
    const tmpl = deployment.spec.template;
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) expect(tmpl.metadata.labels[k], k).to.equal(v);
    const ports = tmpl.spec.containers.flatMap((c: Obj) => c.ports ?? []);
    expect(ports.map((p: Obj) => p.name)).to.include("metrics");
    expect(pm.spec.namespaceSelector.matchNames).to.deep.equal([deployment.metadata.namespace]);
  });

  it("has the seven alerts, each with a severity, a summary and a description, on SPEC metric names", () => {
    expect(alerts.map((a) => a.alert)).to.deep.equal([
      "LbguardStatusBounce",
      "LbguardControllerWritesRefused",
      "LbguardCertificateExpiresSoon",
      "LbguardCacheNotSynced",
      "LbguardCriticalAuditFindings",
      "LbguardAuditFindings",
      "LbguardAuditStale",
    ]);
    for (const a of alerts) {
      expect(a.labels.severity, a.alert).to.be.oneOf(["critical", "warning", "info"]);
      expect(a.annotations.summary, a.alert).to.be.a("string");
      expect(a.annotations.description, a.alert).to.be.a("string");
      const names = [...String(a.expr).matchAll(/\b(lbguard_[a-z_]+)/g)].map((m) => m[1]);
      expect(names.length, a.alert).to.be.greaterThan(0);
      for (const n of names) expect(METRICS, `${a.alert}: ${n}`).to.include(n);
    }
  });

  it("each alert fires on its sample series, and only there (promtool test rules)", function () {
    if (!hasPromtool) {
      console.warn(`      ${NO_PROMTOOL}`);
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), "lbguard-promtool-"));
    writeFileSync(join(dir, "rules.yaml"), YAML.stringify({ groups: rule.spec.groups }));
    writeFileSync(join(dir, "tests.yaml"), YAML.stringify(PROMTOOL_TESTS, { lineWidth: 0 }));
    const check = spawnSync(PROMTOOL, ["check", "rules", join(dir, "rules.yaml")], { encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    const r = spawnSync(PROMTOOL, ["test", "rules", join(dir, "tests.yaml")], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
  });

  it("the Grafana dashboard: a ConfigMap for the sidecar, with its panels on SPEC metric names (reviews and the background audit)", () => {
    const cm = one("ConfigMap", "lbguard-dashboard");
    new core.ConfigMap(cm as never).validate();
    expect(cm.metadata.labels.grafana_dashboard).to.equal("1");
    const keys = Object.keys(cm.data);
    expect(keys).to.deep.equal(["lbguard.json"]);
    const d = JSON.parse(cm.data["lbguard.json"]);
    expect(d.uid).to.equal("lbguard");
    const panels: Obj[] = d.panels;
    const exprOf = (title: RegExp) => {
      const p = panels.find((x) => title.test(x.title));
      expect(p, String(title)).to.not.equal(undefined);
      return p!.targets.map((t: Obj) => t.expr).join("\n");
    };
    expect(exprOf(/by decision/)).to.match(/sum by \(decision\) \(rate\(lbguard_admission_requests_total/);
    expect(exprOf(/latency p99/)).to.match(/histogram_quantile\(0\.99, sum by \(le, webhook\) \(rate\(lbguard_admission_duration_seconds_bucket/);
    expect(exprOf(/by rule/)).to.match(/sum by \(decision, rule\) \(rate\(lbguard_admission_requests_total\{[^}]*decision=~"denied\|warned\|audited"/);
    expect(exprOf(/synced/)).to.match(/lbguard_cache_synced/);
    expect(exprOf(/certificate/i)).to.match(/lbguard_certificate_expiry_timestamp_seconds\{[^}]*\}\) - time\(\)/);
    expect(exprOf(/Event-loop/)).to.match(/lbguard_event_loop_delay_seconds\{[^}]*quantile="0\.99"/);
    expect(exprOf(/audit: findings/)).to.match(/max by \(rule, severity\) \(lbguard_audit_findings\{[^}]*\}\) > 0/);
    expect(exprOf(/audit: run time/)).to.match(/histogram_quantile\(0\.9, sum by \(le, pod\) \(increase\(lbguard_audit_duration_seconds_bucket/);
    expect(exprOf(/audit: last run/)).to.match(/time\(\) - max\(lbguard_audit_last_run_timestamp_seconds\{[^}]*\} > 0\)/);
    expect(exprOf(/Report writers/)).to.match(/sum\(lbguard_audit_leader\{/);
    expect(exprOf(/status bounce/)).to.match(/max\(lbguard_status_bounce_services\{/);
    // no two panels overlap on the grid
    const cells = new Set<string>();
    for (const p of panels)
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`).to.equal(false);
          cells.add(`${x},${y}`);
        }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size, "panel ids are unique").to.equal(ids.length);
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).to.equal("${datasource}");
      for (const t of p.targets) {
        const names = [...String(t.expr).matchAll(/\b(lbguard_[a-z_]+)/g)].map((m) => m[1]);
        for (const n of names) expect(METRICS, `${p.title}: ${n}`).to.include(n);
      }
    }
  });
});

// ---- promtool: sample series per alert, and what must (not) fire ---------------------------------

const target = { namespace: "lbguard-system", job: "lbguard" };
const series = (name: string, labels: Record<string, string>, values: string) => ({
  series: `${name}{${Object.entries({ ...target, pod: "lbguard-a", ...labels })
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`,
  values,
});
const req = (decision: string, rule: string | undefined, values: string) =>
  series(
    "lbguard_admission_requests_total",
    { webhook: "validate", kind: "Service", operation: "UPDATE", decision, ...(rule ? { rule } : {}) },
    values,
  );

const PROMTOOL_TESTS = {
  rule_files: ["rules.yaml"],
  evaluation_interval: "1m",
  tests: [
    {
      name: "status bounce in progress",
      interval: "1m",
      input_series: [
        series("lbguard_status_bounce_services", {}, "0 0 2 2 2 2 2"),
        series("lbguard_status_bounce_services", { pod: "lbguard-b" }, "0 0 0 1 1 1 1"),
      ],
      alert_rule_test: [
        { eval_time: "1m", alertname: "LbguardStatusBounce", exp_alerts: [] },
        // pending at 2m, firing a minute later; the replicas' counts deduplicated by max
        { eval_time: "2m", alertname: "LbguardStatusBounce", exp_alerts: [] },
        {
          eval_time: "4m",
          alertname: "LbguardStatusBounce",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", ...target },
              exp_annotations: {
                summary: "Load-balancer status bounce in progress on 2 Service(s)",
                description:
                  "lbguard saw the status of 2 LoadBalancer Service(s) written by two providers' controllers within a few minutes: MetalLB and kube-vip both serve them. Run `lbguard audit` for the Services and the fix (usually a loadBalancerClass or kube-vip's svc_enable / lb_class_only).",
              },
            },
          ],
        },
      ],
    },
    {
      name: "writes by a controller identity refused (denied, and audited in shadow mode)",
      interval: "1m",
      input_series: [
        // the series exists at 0 from the start (src/observability/metrics.ts), then MetalLB keeps writing
        req("denied", "foreign-write", "0x9 1+1x20"),
        req("audited", "foreign-write", "0x30"),
        // other denials and plain traffic never fire it
        req("denied", "service.foreign-address", "0+5x30"),
        req("allowed", undefined, "0+100x30"),
      ],
      alert_rule_test: [
        { eval_time: "9m", alertname: "LbguardControllerWritesRefused", exp_alerts: [] },
        // rate > 0 from 10m on: pending, firing after 5m
        { eval_time: "13m", alertname: "LbguardControllerWritesRefused", exp_alerts: [] },
        {
          eval_time: "20m",
          alertname: "LbguardControllerWritesRefused",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", decision: "denied", ...target },
              exp_annotations: {
                summary: "A load-balancer controller writes Services it does not own",
                description:
                  "lbguard refuses status or bookkeeping writes by one provider's identity on Services another provider owns (16.67m/s): the controller is misconfigured. See the lbguard log (rule=foreign-write) for the Services and the identity.",
              },
            },
          ],
        },
      ],
    },
    {
      name: "writes by a controller identity in shadow mode",
      interval: "1m",
      input_series: [req("audited", "foreign-write", "0+2x20")],
      alert_rule_test: [
        {
          eval_time: "10m",
          alertname: "LbguardControllerWritesRefused",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", decision: "audited", ...target },
              exp_annotations: {
                summary: "A load-balancer controller writes Services it does not own",
                description:
                  "lbguard records status or bookkeeping writes by one provider's identity on Services another provider owns (33.33m/s): the controller is misconfigured. See the lbguard log (rule=foreign-write) for the Services and the identity.",
              },
            },
          ],
        },
      ],
    },
    {
      name: "serving certificate expiring within 7 days",
      interval: "1m",
      input_series: [
        // promtool's clock starts at 0: these values are seconds from then
        series("lbguard_certificate_expiry_timestamp_seconds", {}, `${6 * 86400}x30`),
        series("lbguard_certificate_expiry_timestamp_seconds", { pod: "lbguard-b" }, `${30 * 86400}x30`),
      ],
      alert_rule_test: [
        { eval_time: "5m", alertname: "LbguardCertificateExpiresSoon", exp_alerts: [] },
        {
          eval_time: "15m",
          alertname: "LbguardCertificateExpiresSoon",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", pod: "lbguard-a", ...target },
              exp_annotations: {
                summary: "lbguard's serving certificate expires in 5d 23h 45m 0s",
                description:
                  "The serving certificate of lbguard-a expires within 7 days. When it does, the API server cannot call the webhook: entries with failurePolicy Fail block their writes. Renew it (cert-manager Certificate lbguard-serving, or the lbguard-certs Job).",
              },
            },
          ],
        },
      ],
    },
    {
      name: "cluster state not synced for 5 minutes",
      interval: "1m",
      input_series: [
        series("lbguard_cache_synced", { resource: "ipaddresspools" }, "0x10"),
        series("lbguard_cache_synced", { resource: "services" }, "0 0 1x8"),
      ],
      alert_rule_test: [
        { eval_time: "4m", alertname: "LbguardCacheNotSynced", exp_alerts: [] },
        {
          eval_time: "6m",
          alertname: "LbguardCacheNotSynced",
          exp_alerts: [
            {
              exp_labels: {
                severity: "critical",
                resource: "ipaddresspools",
                pod: "lbguard-a",
                ...target,
              },
              exp_annotations: {
                summary: "lbguard has not synced ipaddresspools for 5 minutes",
                description:
                  'lbguard-a has not synced its cluster state of ipaddresspools: decisions that need it follow failureMode (closed: denied with "retry"). Check its RBAC, the CRD (MetalLB\'s IPAddressPool) and the lbguard log.',
              },
            },
          ],
        },
      ],
    },
    {
      name: "critical audit findings",
      interval: "1m",
      input_series: [
        series("lbguard_audit_findings", { rule: "audit.contested-service", severity: "critical" }, "0 0 3x6"),
        series("lbguard_audit_findings", { rule: "audit.contested-service", severity: "critical", pod: "lbguard-b" }, "0 0 3x6"),
        series("lbguard_audit_findings", { rule: "audit.unserved-class", severity: "high" }, "5x8"),
      ],
      alert_rule_test: [
        { eval_time: "3m", alertname: "LbguardCriticalAuditFindings", exp_alerts: [] },
        {
          eval_time: "5m",
          alertname: "LbguardCriticalAuditFindings",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", rule: "audit.contested-service", ...target },
              exp_annotations: {
                summary: "lbguard audit: 3 critical finding(s) of audit.contested-service",
                description:
                  "The background audit found load-balancer traffic contested or wrong now (audit.contested-service). `kubectl get policyreports -A` or `lbguard audit` lists the objects and the fix.",
              },
            },
          ],
        },
      ],
    },
    {
      name: "high audit findings left for 30 minutes",
      interval: "1m",
      input_series: [
        series("lbguard_audit_findings", { rule: "pool.overlap", severity: "high" }, "0 2x40"),
        // a high finding fixed after 20 minutes, and a medium one that stays: neither fires
        series("lbguard_audit_findings", { rule: "service.foreign-address", severity: "high" }, "1x20 0x20"),
        series("lbguard_audit_findings", { rule: "service.shared-ip", severity: "medium" }, "4x40"),
      ],
      alert_rule_test: [
        { eval_time: "25m", alertname: "LbguardAuditFindings", exp_alerts: [] },
        {
          eval_time: "35m",
          alertname: "LbguardAuditFindings",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", rule: "pool.overlap", ...target },
              exp_annotations: {
                summary: "lbguard audit: 2 high finding(s) of pool.overlap for 30 minutes",
                description:
                  "The background audit has found pool.overlap for half an hour: it breaks on the next write or restart of the objects involved. `kubectl get policyreports -A` or `lbguard audit` lists the objects and the fix.",
              },
            },
          ],
        },
      ],
    },
    {
      name: "a background audit that stopped running",
      interval: "1m",
      input_series: [
        // lbguard-a ran at 1m and never again; lbguard-b runs every minute; lbguard-c has the audit off (0)
        series("lbguard_audit_last_run_timestamp_seconds", {}, "0 60x30"),
        series("lbguard_audit_last_run_timestamp_seconds", { pod: "lbguard-b" }, "0 60+60x30"),
        series("lbguard_audit_last_run_timestamp_seconds", { pod: "lbguard-c" }, "0x30"),
      ],
      alert_rule_test: [
        { eval_time: "10m", alertname: "LbguardAuditStale", exp_alerts: [] },
        // stale from 11m on (more than 600 s since 60 s): pending, firing after 5m
        { eval_time: "15m", alertname: "LbguardAuditStale", exp_alerts: [] },
        {
          eval_time: "17m",
          alertname: "LbguardAuditStale",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", pod: "lbguard-a", ...target },
              exp_annotations: {
                summary: "lbguard's background audit on lbguard-a has not run for 16m 0s",
                description:
                  "lbguard-a last finished a background audit 16m 0s ago: its findings, reports and lbguard_audit_findings are stale. Check the lbguard log (component=audit) and lbguard_cache_synced.",
              },
            },
          ],
        },
      ],
    },
  ],
};
