/**
 * Audit findings as `wgpolicyk8s.io/v1alpha2` reports (SPEC §12,
 * docs/controllers.md L2): one PolicyReport `lbguard` per namespace with
 * findings, one ClusterPolicyReport `lbguard` for cluster-scoped subjects.
 * A pure function of the findings and a timestamp, shared by `lbguard audit
 * -o policyreport` and the server's background audit. A report holds at most
 * `maxResults` results (most severe first); its summary counts every finding.
 */
import type { ObjectRef } from "../findings/finding.js";
import type { KubeObject } from "../k8s/object.js";
import { auditMessage, type AuditFinding } from "./finding.js";
import { severityRank } from "./rules.js";

export const REPORT_NAME = "lbguard";
export const REPORT_API_VERSION = "wgpolicyk8s.io/v1alpha2";

/**
 * The two report APIs (SEMANTICS §6): wgpolicyk8s.io/v1alpha2, which Policy
 * Reporter and Kyverno read, and its successor openreports.io/v1alpha1
 * (Report/ClusterReport: the same results, plus a top-level `source`).
 */
export type ReportFormat = "wgpolicyk8s" | "openreports";

export interface ReportKinds {
  group: string;
  version: string;
  /** the namespaced kind and its resource (plural) */
  kind: string;
  resource: string;
  clusterKind: string;
  clusterResource: string;
}

export const REPORT_KINDS: Record<ReportFormat, ReportKinds> = {
  wgpolicyk8s: {
    group: "wgpolicyk8s.io",
    version: "v1alpha2",
    kind: "PolicyReport",
    resource: "policyreports",
    clusterKind: "ClusterPolicyReport",
    clusterResource: "clusterpolicyreports",
  },
  openreports: {
    group: "openreports.io",
    version: "v1alpha1",
    kind: "Report",
    resource: "reports",
    clusterKind: "ClusterReport",
    clusterResource: "clusterreports",
  },
};
export const REPORT_SOURCE = "lbguard";
export const REPORT_POLICY = "lb-ownership";
export const REPORT_CATEGORY = "LoadBalancer ownership";
export const DEFAULT_MAX_RESULTS = 100;

const API_VERSION: Record<string, string> = {
  Service: "v1",
  Pod: "v1",
  ConfigMap: "v1",
  Node: "v1",
  Namespace: "v1",
  DaemonSet: "apps/v1",
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  IPAddressPool: "metallb.io/v1beta1",
  Lease: "coordination.k8s.io/v1",
};

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function objectReference(r: ObjectRef): ObjectReference {
  const apiVersion = API_VERSION[r.kind] ?? "v1";
  return r.namespace
    ? { apiVersion, kind: r.kind, namespace: r.namespace, name: r.name }
    : { apiVersion, kind: r.kind, name: r.name };
}

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity: string;
  result: "fail" | "warn";
  scored: true;
  timestamp: { seconds: number; nanos: number };
  resources: ObjectReference[];
  message: string;
  properties: Record<string, string>;
}

export interface ReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface ReportOptions {
  /** when the audit ran */
  now: Date;
  /** results per report (SPEC §12 `--audit-max-results`) */
  maxResults?: number;
  /** labels on every report */
  labels?: Record<string, string>;
  /** wgpolicyk8s (the default) or openreports */
  format?: ReportFormat;
  /** when a finding was first seen (the server keeps a result's timestamp while it persists); default `now` */
  timestampOf?: (f: AuditFinding) => { seconds: number; nanos: number } | undefined;
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export function timestampOf(d: Date): Timestamp {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** fail for what breaks now or on the next write (critical, high), warn for the rest. */
export function resultOf(f: AuditFinding): "fail" | "warn" {
  return severityRank(f.severity) <= severityRank("high") ? "fail" : "warn";
}

export function reportResult(f: AuditFinding, timestamp: { seconds: number; nanos: number }): ReportResult {
  return {
    source: REPORT_SOURCE,
    policy: REPORT_POLICY,
    rule: f.rule,
    category: REPORT_CATEGORY,
    severity: f.severity,
    result: resultOf(f),
    scored: true,
    timestamp: { ...timestamp }, // one object per result: YAML would print a shared one as an alias
    resources: [f.subject, ...f.related].map(objectReference),
    message: auditMessage(f),
    properties: { fix: f.fix, owner: f.owner, contender: f.contender },
  };
}

function summaryOf(fs: AuditFinding[]): ReportSummary {
  let fail = 0;
  let warn = 0;
  for (const f of fs)
    if (resultOf(f) === "fail") fail++;
    else warn++;
  return { pass: 0, fail, warn, error: 0, skip: 0 };
}

/** Findings by the namespace of their subject ("" for cluster-scoped ones). */
export function byNamespace(findings: AuditFinding[]): Map<string, AuditFinding[]> {
  const byNs = new Map<string, AuditFinding[]>();
  for (const f of findings) {
    const ns = f.subject.namespace ?? "";
    const list = byNs.get(ns);
    if (list) list.push(f);
    else byNs.set(ns, [f]);
  }
  return byNs;
}

/**
 * The report of one namespace (a PolicyReport or Report), or of the
 * cluster-scoped findings (`namespace` ""; a ClusterPolicyReport or
 * ClusterReport): at most `maxResults` results, most severe first; the
 * summary counts every finding.
 */
export function policyReport(fs: AuditFinding[], namespace: string, o: ReportOptions): KubeObject {
  const max = o.maxResults ?? DEFAULT_MAX_RESULTS;
  const timestamp = timestampOf(o.now);
  const kinds = REPORT_KINDS[o.format ?? "wgpolicyk8s"];
  const labels = { "app.kubernetes.io/managed-by": "lbguard", ...(o.labels ?? {}) };
  const sorted = [...fs].sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
  return {
    apiVersion: `${kinds.group}/${kinds.version}`,
    kind: namespace ? kinds.kind : kinds.clusterKind,
    metadata: { name: REPORT_NAME, ...(namespace ? { namespace } : {}), labels },
    ...(o.format === "openreports" ? { source: REPORT_SOURCE } : {}),
    summary: summaryOf(fs),
    results: sorted.slice(0, max).map((f) => reportResult(f, o.timestampOf?.(f) ?? timestamp)),
  };
}

/** The reports for a set of findings: one per namespace (sorted), then the cluster-scoped one. */
export function policyReports(findings: AuditFinding[], o: ReportOptions): KubeObject[] {
  const byNs = byNamespace(findings);
  const out: KubeObject[] = [];
  for (const ns of [...byNs.keys()].filter(Boolean).sort()) out.push(policyReport(byNs.get(ns)!, ns, o));
  const cluster = byNs.get("");
  if (cluster) out.push(policyReport(cluster, "", o));
  return out;
}
