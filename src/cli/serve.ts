/** `lbguard serve`: wire policy, cluster view, certificates, metrics and the HTTPS server together. */
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { BounceDetector } from "../admission/bounce.js";
import { createReviewHandler } from "../admission/handler.js";
import { WARM_UP_BUDGET_MS, WARM_UP_REVIEWS, warmUpReviews } from "../admission/warmup.js";
import { warmUpTransport } from "../transport/warmup.js";
import type { BackgroundAudit } from "../audit/background.js";
import type { LeaseTiming } from "../audit/lease.js";
import type { ViewSource } from "../cluster/source.js";
import { ensureDevCertificates } from "../certs/devdir.js";
import { SnapshotError, SnapshotSource } from "../cluster/sources/snapshot.js";
import { createLogger, Logger, LogFormat, stdoutSink } from "../observability/logger.js";
import { Metrics } from "../observability/metrics.js";
import { PolicyError } from "../policy/policy.js";
import { PolicySource } from "../policy/source.js";
import { startMetricsServer } from "../transport/metrics-server.js";
import { DRAIN_GRACE_MS, EXIT_MARGIN_MS, RunningServer, startServer } from "../transport/server.js";
import { loadServingPair, ServingPair, CERT_FILE, KEY_FILE } from "../transport/tls.js";
import { watchPaths } from "../util/watch.js";
import { manifestErrorText } from "../k8s/manifests.js";

export interface ServeOptions {
  policy: string;
  state: string[];
  kubeconfig?: string;
  port: number;
  certDir: string;
  metricsPort: number;
  logLevel: string;
  /** json | text | auto (text on a terminal) */
  logFormat?: LogFormat;
  host?: string;
  /** seconds to keep answering (not ready) after SIGTERM before draining */
  shutdownDelay?: number;
  /** reviews of the warm-up before serving (0: none); default LBGUARD_WARM_UP (`off` or a count), else WARM_UP_REVIEWS */
  warmUp?: number;
  /** the background audit (SPEC §12), live source only: seconds between runs (default 60; 0 off) */
  auditInterval?: number;
  /** default auto */
  reports?: "auto" | "wgpolicyk8s" | "openreports" | "none";
  auditMaxResults?: number;
  auditEvents?: boolean;
  /** Lease timings (default client-go's: 15 s, 10 s, 2 s) */
  auditLeaseTiming?: LeaseTiming;
  /** POD_NAME, POD_NAMESPACE (default: process.env) */
  env?: NodeJS.ProcessEnv;
}

export interface Serving {
  port: number;
  metricsPort: number;
  server: RunningServer;
  /** the background audit, when it runs */
  audit?: BackgroundAudit;
  bounce: BounceDetector;
  stop(): Promise<void>;
}

/** LBGUARD_WARM_UP for a caller that passes no `warmUp`: `off` or a count; anything else, the default */
function warmUpFromEnv(v: string | undefined): number {
  if (v === "off") return 0;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : WARM_UP_REVIEWS;
}

/** Start everything; resolves once the HTTPS server listens. */
export async function serve(
  o: ServeOptions,
  log: Logger = createLogger(o.logLevel, undefined, o.logFormat),
): Promise<Serving> {
  const metrics = new Metrics();
  const policy = PolicySource.start(o.policy, log, metrics);

  const certDir = resolve(o.certDir);
  if (ensureDevCertificates(certDir))
    log.warn(
      { certDir, caBundle: join(certDir, "ca.crt") },
      "no serving certificate found: generated a development CA and certificate (for localhost and lbguard.lbguard-system.svc); use `lbguard certs` or cert-manager in a cluster",
    );
  let pair: ServingPair = loadServingPair(certDir);
  metrics.certExpiry.set(pair.notAfter.getTime() / 1000);

  // the status-bounce detector sees every review (SPEC §12); its count is read at scrape time
  const bounce = new BounceDetector();
  metrics.bouncing = () => bounce.count();
  let reviews = 0;

  let source: ViewSource | undefined;
  let audit: BackgroundAudit | undefined;
  // once the view is complete, send synthetic reviews through a second server of the same code, so that
  // the first real ones find the code compiled (src/admission/warmup.ts, src/transport/warmup.ts); readiness
  // waits for it. Its handler is built like the real one, with metrics, bounce detector and log of its own,
  // so that nothing it decides is recorded; a live view's pools are not re-listed for it.
  // --warm-up 0 (LBGUARD_WARM_UP=off) skips it (BENCHMARKS.md "A fresh server").
  const warmUpCount = o.warmUp ?? warmUpFromEnv(process.env.LBGUARD_WARM_UP);
  let warming = warmUpCount > 0;
  let warmStarted = false;
  const warm = async () => {
    const v = source?.view();
    if (!warming || warmStarted || !v?.synced) return;
    warmStarted = true;
    const shadowBounce = new BounceDetector();
    const shadow = createReviewHandler(
      { policy: () => policy.current, view: () => v, observe: (w, r, p) => shadowBounce.observe(w, r, p) },
      new Metrics(false),
      createLogger(o.logLevel, new Writable({ write: (_c, _e, done) => done() }), o.logFormat),
    );
    const t0 = performance.now();
    try {
      const n = await warmUpTransport({
        bodies: warmUpReviews(policy.current, !v.freshPools),
        tls: pair,
        handler: shadow,
        reviews: warmUpCount,
        budgetMs: WARM_UP_BUDGET_MS,
      });
      log.info({ reviews: n, ms: Math.round(performance.now() - t0) }, "warmed up");
    } finally {
      warming = false; // whatever happened, readiness does not wait on it any longer
    }
  };
  if (o.state.length) {
    source = SnapshotSource.start(o.state, log, undefined, { reloads: metrics.snapshotReloads });
    metrics.cacheSynced.labels("snapshot").set(1);
    await warm();
  } else {
    const { startLiveSource } = await import("../cluster/sources/live.js");
    const auditOn = (o.auditInterval ?? 60) > 0;
    const { LiveFacts } = await import("../audit/live-facts.js");
    const facts = auditOn ? new LiveFacts() : undefined;
    const live = await startLiveSource({
      kubeconfig: o.kubeconfig,
      policy: () => policy.current,
      onPolicyChange: (cb) => policy.onChange(cb),
      log,
      metrics,
      observer: facts,
      // the warm-up, and the first audit as soon as everything has listed (after the source's own post-sync work)
      onSynced: () => {
        void warm();
        setImmediate(() => live?.memory.synced && audit?.kick());
      },
    });
    source = live;
    void warm(); // when it synced before `source` was set
    if (facts) {
      const { startBackgroundAudit } = await import("./serve-audit.js");
      audit = startBackgroundAudit({
        ...o,
        kc: live.kc,
        view: () => live.view(),
        facts: facts.facts,
        policy,
        log,
        metrics,
        bounce,
        activity: () => reviews,
      });
      if (live.memory.synced) void audit.kick();
    } else log.info("background audit off (--audit-interval 0)");
  }
  const src: ViewSource = source;

  let shuttingDown = false;
  const handler = createReviewHandler(
    {
      policy: () => policy.current,
      view: () => src.view(),
      observe: (webhook, req, p) => {
        reviews++;
        bounce.observe(webhook, req, p);
      },
    },
    metrics,
    log,
  );
  const server = await startServer({
    port: o.port,
    host: o.host,
    tls: pair,
    handler,
    log,
    readiness: () => {
      const reasons: string[] = [];
      if (shuttingDown) reasons.push("shutting down");
      const v = src.view();
      if (!v.synced) reasons.push(`cluster state not synced: ${v.pending().join(", ")}`);
      else if (warming) reasons.push("warming up");
      return { ready: reasons.length === 0, reasons };
    },
  });
  const certWatch = watchPaths(
    [join(certDir, CERT_FILE), join(certDir, KEY_FILE)],
    () => {
      try {
        const next = loadServingPair(certDir);
        server.setCertificate(next);
        pair = next;
        metrics.certExpiry.set(next.notAfter.getTime() / 1000);
        log.info({ notAfter: next.notAfter.toISOString() }, "serving certificate reloaded");
      } catch (e) {
        log.error({ err: (e as Error).message }, "new serving certificate unusable; keeping the current one");
      }
    },
    1000,
  );
  const m = await startMetricsServer(metrics.registry, o.metricsPort, o.host);
  log.info(
    { port: server.port, metricsPort: m.port, certDir, policy: o.policy, state: o.state },
    `lbguard serving on https://localhost:${server.port}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      shuttingDown = true;
      // every answer from now on carries Connection: close: clients leave this pod between requests
      server.closeAfterAnswers();
      if (o.shutdownDelay) {
        // readiness now fails; keep answering while the endpoints catch up
        log.info({ seconds: o.shutdownDelay }, "shutting down: not ready, still answering");
        await new Promise((r) => setTimeout(r, o.shutdownDelay! * 1000));
      }
      log.info({ inFlight: server.inFlight }, "shutting down: draining in-flight reviews");
      // the audit stops and a Lease holder releases its Lease while the reviews drain
      const audited = audit?.stop().catch((e) => log.warn({ err: e }, "stopping the background audit failed"));
      await server.drain();
      await audited;
      certWatch.close();
      policy.close();
      await src.close();
      await new Promise<void>((r) => {
        m.server.close(() => r());
        m.server.closeAllConnections(); // a scraper's kept-alive connection must not hold the exit
      });
      log.info({ droppedLogLines: stdoutSink().dropped || undefined }, "stopped");
    })());
  return { port: server.port, metricsPort: m.port, server, audit, bounce, stop };
}

export async function serveMain(o: ServeOptions): Promise<void> {
  const log = createLogger(o.logLevel, undefined, o.logFormat);
  let s: Serving;
  try {
    s = await serve(o, log);
  } catch (e) {
    if (e instanceof PolicyError) {
      log.fatal({ problems: e.problems }, "invalid policy");
      process.stderr.write(`lbguard: invalid policy:\n${e.problems.map((p) => `  - ${p}`).join("\n")}\n`);
      process.exit(2);
    }
    if (e instanceof SnapshotError) {
      // as `lbguard check --state`: a file that does not parse is an error (exit 2), one line per problem
      log.fatal({ problems: e.problems.map(manifestErrorText) }, "invalid cluster state");
      const lines = e.problems.slice(0, 10).map((p) => `lbguard serve: --state ${manifestErrorText(p)}\n`);
      if (e.problems.length > 10) lines.push(`lbguard serve: --state: ${e.problems.length - 10} more problems\n`);
      process.stderr.write(lines.join(""));
      process.exit(2);
    }
    log.fatal({ err: e }, "cannot start");
    process.stderr.write(`lbguard: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const onSignal = (sig: string) => {
    log.info({ signal: sig }, "signal received");
    // The exit never waits on stdout or on a stuck close: after the shutdown delay, the drain's grace
    // and a margin for the last log lines, the process exits whatever is still pending.
    const hardMs = (o.shutdownDelay ?? 0) * 1000 + DRAIN_GRACE_MS + EXIT_MARGIN_MS;
    setTimeout(() => {
      process.stderr.write(`lbguard: shutdown did not finish within ${hardMs} ms; exiting\n`);
      process.exit(1);
    }, hardMs).unref();
    s.stop().then(
      // the last lines get a bounded chance to reach stdout
      () =>
        stdoutSink()
          .flush(EXIT_MARGIN_MS)
          .then(() => process.exit(0)),
      (e) => {
        log.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}
