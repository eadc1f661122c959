#!/usr/bin/env node
/** The `lbguard` executable: serve, check, certs, audit, init, version (README: Command line). */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { WARM_UP_REVIEWS } from "../admission/warmup.js";
import { LOG_FORMATS, LOG_LEVELS } from "../observability/logger.js";
import { packageVersion, POLICY_API_VERSION } from "../version.js";

/**
 * The one parser of numeric flags and their LBGUARD_* variables: plain
 * decimal digits (a fraction only where `fraction` says so) within
 * [min, max]. Commander prints the message with the flag, the value and,
 * for a variable, its name, and the command exits 2. `Number()` alone would
 * take "", "0x10", "1e3" and " 5 ", and turn "abc" into NaN.
 */
export function numberFlag(what: string, o: { min: number; max: number; fraction?: boolean }) {
  const shape = o.fraction ? /^\d+(\.\d+)?$/ : /^\d+$/;
  return (v: string): number => {
    const n = Number(v);
    if (!shape.test(v) || n < o.min || n > o.max)
      throw new InvalidArgumentError(`Expected ${what} from ${o.min} to ${o.max}.`);
    return n;
  };
}

/**
 * A duration flag: a number with a unit, as Go and kubectl write them
 * (`60s`, `500ms`, `2m`, `1h`), or plain seconds; within [0, maxSeconds].
 * Returns seconds.
 */
export function durationFlag(what: string, maxSeconds: number) {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, "": 1 };
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
    const n = m ? Number(m[1]) * unit[m[2] ?? ""] : NaN;
    if (!m || !(n >= 0 && n <= maxSeconds))
      throw new InvalidArgumentError(
        `Expected ${what}: a duration such as 60s, 500ms or 2m, from 0 to ${maxSeconds}s.`,
      );
    return n;
  };
}

/** `--warm-up`: a review count, or `off` (0) */
export function warmUpFlag(v: string): number {
  return v === "off" ? 0 : numberFlag("a number of reviews (or off)", { min: 0, max: 1_000_000 })(v);
}

/** Lease timings `DURATION,RENEW-DEADLINE,RETRY` (a test knob): ms. */
function leaseTiming(v: string): { durationMs: number; renewDeadlineMs: number; retryMs: number } {
  const d = durationFlag("a lease timing", 3600);
  const parts = v.split(",");
  if (parts.length !== 3) throw new InvalidArgumentError("Expected DURATION,RENEW-DEADLINE,RETRY, e.g. 15s,10s,2s.");
  const [durationMs, renewDeadlineMs, retryMs] = parts.map((p) => Math.round(d(p) * 1000));
  if (!(retryMs > 0 && retryMs < renewDeadlineMs && renewDeadlineMs < durationMs))
    throw new InvalidArgumentError("Expected 0 < RETRY < RENEW-DEADLINE < DURATION.");
  return { durationMs, renewDeadlineMs, retryMs };
}

const port = numberFlag("a port number", { min: 0, max: 65535 });
const days = numberFlag("a whole number of days", { min: 1, max: 36500 });
const seconds = numberFlag("a number of seconds (5, 0.5)", { min: 0, max: 3600, fraction: true });

/** A usage error found after parsing: each line on stderr as `lbguard CMD: …`, exit 2. */
function usage(cmd: Command, message: string): never {
  for (const line of message.split("\n")) process.stderr.write(`lbguard ${cmd.name()}: ${line}\n`);
  throw new CommanderError(2, "lbguard.usage", message);
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(",").filter(Boolean)];
}

export function program(): Command {
  const p = new Command("lbguard")
    .description("Admission webhook that enforces load-balancer ownership between MetalLB and kube-vip")
    .version(packageVersion(), "--version", "print the version")
    .showHelpAfterError()
    .exitOverride();

  p.command("serve")
    .description("run the admission webhook over HTTPS (snapshot state with --state, else the live cluster)")
    .addOption(new Option("--policy <file>", "OwnershipPolicy YAML").env("LBGUARD_POLICY").makeOptionMandatory())
    .addOption(
      new Option(
        "--state <path>",
        "cluster state from YAML/JSON files or directories (repeatable); omit for the live cluster",
      )
        .env("LBGUARD_STATE")
        .argParser(collect),
    )
    .addOption(
      new Option("--kubeconfig <file>", "kubeconfig for the live cluster (default: in-cluster config)").env(
        "LBGUARD_KUBECONFIG",
      ),
    )
    .addOption(
      new Option("--port <n>", "HTTPS port (0 picks a free one)").env("LBGUARD_PORT").default(8443).argParser(port),
    )
    .addOption(
      new Option("--cert-dir <dir>", "directory with tls.crt and tls.key (generated for development when absent)")
        .env("LBGUARD_CERT_DIR")
        .default("certs"),
    )
    .addOption(
      new Option("--metrics-port <n>", "plain-HTTP port for /metrics (0 picks a free one)")
        .env("LBGUARD_METRICS_PORT")
        .default(9090)
        .argParser(port),
    )
    .addOption(
      new Option("--log-level <level>", "log level").env("LBGUARD_LOG_LEVEL").default("info").choices(LOG_LEVELS),
    )
    .addOption(
      new Option(
        "--log-format <format>",
        "json (one JSON object a line), text (one readable line per event), auto (text on a terminal, else json)",
      )
        .env("LBGUARD_LOG_FORMAT")
        .default("auto")
        .choices(LOG_FORMATS),
    )
    .addOption(new Option("--host <addr>", "listen address (default: all)").env("LBGUARD_HOST"))
    .addOption(
      new Option(
        "--shutdown-delay <seconds>",
        "on SIGTERM, keep answering (not ready) this long before draining, so endpoints update first",
      )
        .env("LBGUARD_SHUTDOWN_DELAY")
        .default(0)
        .argParser(seconds),
    )
    .addOption(
      new Option(
        "--warm-up <reviews>",
        "before reporting ready, send this many synthetic reviews through a second server of the same code (0 or off: none)",
      )
        .env("LBGUARD_WARM_UP")
        .default(WARM_UP_REVIEWS)
        .argParser(warmUpFlag),
    )
    // the background audit (SPEC §12): live cluster only
    .addOption(
      new Option(
        "--audit-interval <duration>",
        "audit the live view this often (60s, 5m; 0 turns the background audit off)",
      )
        .env("LBGUARD_AUDIT_INTERVAL")
        .default(60, "60s")
        .argParser(durationFlag("an audit interval", 86400)),
    )
    .addOption(
      new Option(
        "--reports <format>",
        "where the audit's findings go: auto (wgpolicyk8s.io/v1alpha2 PolicyReports when that API is served, else none), wgpolicyk8s, openreports (openreports.io/v1alpha1), none",
      )
        .env("LBGUARD_REPORTS")
        .default("auto")
        .choices(["auto", "wgpolicyk8s", "openreports", "none"]),
    )
    .addOption(
      new Option("--audit-max-results <n>", "results per report (the summary always counts every finding)")
        .env("LBGUARD_AUDIT_MAX_RESULTS")
        .default(100)
        .argParser(numberFlag("a number of results", { min: 1, max: 1000 })),
    )
    .addOption(
      new Option(
        "--audit-events",
        "one Warning Event (LoadBalancerOwnershipConflict) on the object when a finding first appears, a few a minute at most",
      )
        .env("LBGUARD_AUDIT_EVENTS")
        .default(false),
    )
    .addOption(
      new Option("--audit-lease-timing <d,r,p>", "Lease duration, renew deadline, retry (tests)")
        .env("LBGUARD_AUDIT_LEASE_TIMING")
        .argParser(leaseTiming)
        .hideHelp(),
    )
    .action(async (o, cmd: Command) => {
      // a --state path that does not exist is a typo, not an empty cluster: refuse to start
      if (o.state?.length) {
        const { manifestFiles } = await import("../k8s/manifests.js");
        const missing = manifestFiles(o.state).errors;
        if (missing.length) usage(cmd, missing.map((e) => `--state ${e.file}: ${e.message}`).join("\n"));
      }
      const { serveMain } = await import("./serve.js");
      await serveMain({
        policy: o.policy,
        state: o.state ?? [],
        kubeconfig: o.kubeconfig,
        port: o.port,
        certDir: o.certDir,
        metricsPort: o.metricsPort,
        logLevel: o.logLevel,
        logFormat: o.logFormat,
        host: o.host,
        shutdownDelay: o.shutdownDelay,
        warmUp: o.warmUp,
        auditInterval: o.auditInterval,
        reports: o.reports,
        auditMaxResults: o.auditMaxResults,
        auditEvents: o.auditEvents,
        auditLeaseTiming: o.auditLeaseTiming,
      });
    });

  p.command("check")
    .description(
      "evaluate manifests offline as if each object were created in order; exit 0 clean, 1 violations, 2 usage or parse errors",
    )
    .argument("<path...>", "files or directories (recursive: .yaml, .yml, .json), or - for stdin")
    .addOption(new Option("--policy <file>", "OwnershipPolicy YAML").env("LBGUARD_POLICY").makeOptionMandatory())
    .addOption(
      new Option("--state <path>", "cluster state from YAML/JSON files or directories (repeatable)")
        .env("LBGUARD_STATE")
        .argParser(collect),
    )
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .addOption(new Option("-n, --namespace <ns>", "namespace for objects that have none").default("default"))
    .addOption(
      new Option(
        "--exclude <glob>",
        "skip files and directories matching GLOB (repeatable): a name at any depth (templates, *.tpl.yaml) or a path (charts/*/templates); * and ? within a name, ** across directories",
      )
        .env("LBGUARD_EXCLUDE")
        .argParser(collect),
    )
    .option("--strict", "warnings fail too (exit 1)", false)
    .option("-v, --verbose", "also list objects without findings", false)
    .action(async (paths: string[], o) => {
      const { checkMain } = await import("./check.js");
      process.exitCode = checkMain(paths, {
        policy: o.policy,
        state: o.state ?? [],
        output: o.output,
        strict: o.strict,
        namespace: o.namespace,
        verbose: o.verbose,
        exclude: o.exclude ?? [],
      });
    });

  p.command("certs")
    .description(
      "create or reuse a CA and a serving certificate for NAME.NS.svc, store them in a Secret (or --out DIR), and patch caBundle into webhook configurations",
    )
    .addOption(
      new Option("--namespace <ns>", "namespace of the webhook Service (and of the Secret)")
        .env("LBGUARD_NAMESPACE")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--service <name>", "name of the webhook Service").env("LBGUARD_SERVICE").makeOptionMandatory(),
    )
    .addOption(
      new Option("--secret <name>", "Secret to keep the CA and serving certificate in (default: <service>-tls)").env(
        "LBGUARD_SECRET",
      ),
    )
    .addOption(
      new Option(
        "--webhook-config <name>",
        "Mutating/ValidatingWebhookConfiguration whose caBundle to keep current (repeatable)",
      )
        .env("LBGUARD_WEBHOOK_CONFIG")
        .argParser(collect),
    )
    .addOption(
      new Option("--out <dir>", "write ca.crt, ca.key, tls.crt, tls.key here instead of a Secret").env("LBGUARD_OUT"),
    )
    .addOption(new Option("--kubeconfig <file>", "kubeconfig (default: in-cluster config)").env("LBGUARD_KUBECONFIG"))
    .addOption(
      new Option("--ca-days <n>", "lifetime of a new CA, in days").env("LBGUARD_CA_DAYS").default(3650).argParser(days),
    )
    .addOption(
      new Option("--cert-days <n>", "lifetime of a new serving certificate, in days")
        .env("LBGUARD_CERT_DAYS")
        .default(365)
        .argParser(days),
    )
    .action(async (o, cmd: Command) => {
      if (o.certDays > o.caDays)
        usage(
          cmd,
          `--cert-days ${o.certDays} exceeds --ca-days ${o.caDays}: the serving certificate would outlive its CA`,
        );
      const { certsMain } = await import("./certs.js");
      try {
        process.exitCode = await certsMain({
          namespace: o.namespace,
          service: o.service,
          secret: o.secret,
          webhookConfig: o.webhookConfig ?? [],
          out: o.out,
          kubeconfig: o.kubeconfig,
          caDays: o.caDays,
          certDays: o.certDays,
        });
      } catch (e) {
        process.stderr.write(`lbguard certs: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });

  // ---- audit and init (SPEC §11) ----
  p.command("audit")
    .description(
      "find what is already wrong in a cluster (snapshot with --state, else the live cluster); exit 0 nothing at or above --fail-level, 1 something is, 2 usage, read or parse errors",
    )
    .addOption(
      new Option("--policy <file>", "OwnershipPolicy YAML (default: the policy lbguard init infers)").env(
        "LBGUARD_POLICY",
      ),
    )
    .addOption(
      new Option(
        "--state <path>",
        "snapshot: kubectl get svc,ipaddresspools,ds,deploy,pods,cm,leases,nodes -A -o yaml --show-managed-fields (repeatable)",
      )
        .env("LBGUARD_STATE")
        .argParser(collect),
    )
    .addOption(
      new Option(
        "--kubeconfig <file>",
        "kubeconfig for the live cluster (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
      ).env("LBGUARD_KUBECONFIG"),
    )
    .addOption(
      new Option("-o, --output <format>", "output format")
        .choices(["text", "json", "yaml", "policyreport"])
        .default("text"),
    )
    .addOption(
      new Option("--fail-level <severity>", "exit 1 when a finding is at or above this severity")
        .env("LBGUARD_FAIL_LEVEL")
        .choices(["critical", "high", "medium", "low"])
        .default("high"),
    )
    .addOption(
      new Option("--exit-zero", "exit 0 even with findings (usage, read and parse errors still exit 2)")
        .env("LBGUARD_EXIT_ZERO")
        .default(false),
    )
    .action(async (o) => {
      const { auditMain } = await import("./audit.js");
      process.exitCode = await auditMain({
        policy: o.policy,
        state: o.state ?? [],
        kubeconfig: o.kubeconfig,
        output: o.output,
        failLevel: o.failLevel,
        exitZero: o.exitZero,
      });
    });

  p.command("init")
    .description(
      "write the OwnershipPolicy that matches what runs in the cluster (snapshot with --state, else the live cluster)",
    )
    .addOption(
      new Option("--state <path>", "snapshot: YAML/JSON files or directories, as for audit (repeatable)")
        .env("LBGUARD_STATE")
        .argParser(collect),
    )
    .addOption(
      new Option(
        "--kubeconfig <file>",
        "kubeconfig for the live cluster (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
      ).env("LBGUARD_KUBECONFIG"),
    )
    .addOption(
      new Option(
        "--null-owner <provider>",
        "who keeps Services without a class when both take them (default: the one serving more of them today)",
      )
        .env("LBGUARD_NULL_OWNER")
        .choices(["metallb", "kube-vip"]),
    )
    .addOption(new Option("-o, --output <file>", "write the policy here (default: stdout)"))
    .action(async (o) => {
      const { initMain } = await import("./init.js");
      process.exitCode = await initMain({
        state: o.state ?? [],
        kubeconfig: o.kubeconfig,
        nullOwner: o.nullOwner,
        output: o.output,
      });
    });

  p.command("version")
    .description("print the version and the policy API version it understands")
    .action(() => {
      process.stdout.write(`lbguard ${packageVersion()}\npolicy ${POLICY_API_VERSION}\n`);
    });
  return p;
}

export async function main(argv: string[]): Promise<void> {
  const p = program();
  try {
    await p.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help")
        process.exit(0);
      process.exit(2);
    }
    throw e;
  }
}

main(process.argv).catch((e) => {
  process.stderr.write(`lbguard: ${(e as Error)?.message ?? e}\n`);
  process.exit(1);
});
