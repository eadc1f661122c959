#!/usr/bin/env node
/** The `lbguard` executable: serve, check, certs, version (README: Command line). */
import { Command, CommanderError, Option } from "commander";
import { LOG_LEVELS } from "../observability/logger.js";
import { packageVersion, POLICY_API_VERSION } from "../version.js";

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new CommanderError(2, "lbguard.usage", `${name} must be a port number (0-65535), not "${v}"`);
    return n;
  };
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
      new Option("--port <n>", "HTTPS port (0 picks a free one)")
        .env("LBGUARD_PORT")
        .default(8443)
        .argParser(int("--port")),
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
        .argParser(int("--metrics-port")),
    )
    .addOption(
      new Option("--log-level <level>", "log level").env("LBGUARD_LOG_LEVEL").default("info").choices(LOG_LEVELS),
    )
    .addOption(new Option("--host <addr>", "listen address (default: all)").env("LBGUARD_HOST"))
    .addOption(
      new Option(
        "--shutdown-delay <seconds>",
        "on SIGTERM, keep answering (not ready) this long before draining, so endpoints update first",
      )
        .env("LBGUARD_SHUTDOWN_DELAY")
        .default(0)
        .argParser((v) => Number(v)),
    )
    .action(async (o) => {
      const { serveMain } = await import("./serve.js");
      await serveMain({
        policy: o.policy,
        state: o.state ?? [],
        kubeconfig: o.kubeconfig,
        port: o.port,
        certDir: o.certDir,
        metricsPort: o.metricsPort,
        logLevel: o.logLevel,
        host: o.host,
        shutdownDelay: o.shutdownDelay,
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
    .addOption(new Option("--ca-days <n>", "lifetime of a new CA").default(3650).argParser((v) => Number(v)))
    .addOption(
      new Option("--cert-days <n>", "lifetime of a new serving certificate").default(365).argParser((v) => Number(v)),
    )
    .action(async (o) => {
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
