/**
 * `lbguard serve`'s background audit (SPEC §12), wired: the Lease elector,
 * the report writer (`--reports`), the Event recorder (`--audit-events`)
 * and the loop (src/audit/background.ts).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { BounceDetector } from "../admission/bounce.js";
import { BackgroundAudit } from "../audit/background.js";
import { EventRecorder } from "../audit/events.js";
import type { AuditFacts } from "../audit/facts.js";
import { CLIENT_GO_TIMING, LeaseElector, leaseIdentity, podNamespace, type LeaseTiming } from "../audit/lease.js";
import { DEFAULT_MAX_RESULTS } from "../audit/reports.js";
import { ReportWriter } from "../audit/writer.js";
import type { ClusterView } from "../cluster/view.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { PolicySource } from "../policy/source.js";

export interface AuditWiring {
  kc: KubeConfig;
  view(): ClusterView;
  facts: AuditFacts;
  policy: PolicySource;
  log: Logger;
  metrics: Metrics;
  bounce: BounceDetector;
  auditInterval?: number;
  reports?: "auto" | "wgpolicyk8s" | "openreports" | "none";
  auditMaxResults?: number;
  auditEvents?: boolean;
  auditLeaseTiming?: LeaseTiming;
  env?: NodeJS.ProcessEnv;
  /** grows with every review: runs pause while reviews arrive */
  activity?: () => number;
}

export function startBackgroundAudit(o: AuditWiring): BackgroundAudit {
  const env = o.env ?? process.env;
  const log = o.log.child({ component: "audit" });
  const reports = o.reports ?? "auto";
  const writes = reports !== "none" || !!o.auditEvents;
  const elector = writes
    ? new LeaseElector({
        kc: o.kc,
        namespace: podNamespace(env),
        identity: leaseIdentity(env),
        timing: o.auditLeaseTiming ?? CLIENT_GO_TIMING,
        log,
        onChange: (leading) => audit.leadershipChanged(leading),
      })
    : undefined;
  const canWrite = () => elector?.isLeader() ?? false;
  const writer =
    reports === "none"
      ? undefined
      : new ReportWriter({
          kc: o.kc,
          format: reports === "openreports" ? "openreports" : "wgpolicyk8s",
          requested: reports,
          maxResults: o.auditMaxResults ?? DEFAULT_MAX_RESULTS,
          log,
          canWrite,
        });
  const events = o.auditEvents
    ? new EventRecorder({ kc: o.kc, log, identity: elector!.identity, canWrite })
    : undefined;
  const audit: BackgroundAudit = new BackgroundAudit({
    intervalMs: (o.auditInterval ?? 60) * 1000,
    view: o.view,
    facts: o.facts,
    policy: () => o.policy.current,
    log,
    metrics: o.metrics,
    bounce: o.bounce,
    elector,
    writer,
    events,
    activity: o.activity,
  });
  log.info(
    {
      interval: `${o.auditInterval ?? 60}s`,
      reports: writer ? `${reports} (${writer.apiVersion})` : "none",
      events: !!events,
      lease: elector ? `${podNamespace(env)}/${elector.name}` : undefined,
      identity: elector?.identity,
    },
    writes
      ? "background audit on: every replica audits, the holder of the Lease writes"
      : "background audit on: metrics only (--reports none, no --audit-events)",
  );
  audit.start();
  elector?.start();
  return audit;
}
