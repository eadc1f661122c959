/**
 * `lbguard audit`: what is already wrong in a cluster (SPEC §11). Reads the
 * state once (a snapshot with --state, else the live cluster), judges it
 * against --policy or the policy `lbguard init` would write, and prints the
 * findings. Exit 0: nothing at or above --fail-level; 1: something is; 2:
 * usage, read or parse errors (also with --exit-zero, which only turns 1 into 0).
 */
import { auditExitCode, runAudit } from "../audit/audit.js";
import { collectSnapshot, type Collected } from "../audit/collect.js";
import { jsonChunks, textLines, yamlChunks } from "../audit/format.js";
import { InferError, inferPolicy, type Inferred } from "../audit/infer.js";
import { policyReports } from "../audit/reports.js";
import type { AuditSeverity } from "../audit/rules.js";
import YAML from "yaml";
import { loadPolicyFile } from "../policy/load.js";
import { PolicyError, PROVIDER_TITLE, type Policy } from "../policy/policy.js";

export interface AuditOptions {
  policy?: string;
  state: string[];
  kubeconfig?: string;
  output: "text" | "json" | "yaml" | "policyreport";
  failLevel: AuditSeverity;
  exitZero: boolean;
}

/** Read the cluster for audit and init; errors are printed and make the command exit 2. */
export async function readCluster(
  cmd: string,
  o: { state: string[]; kubeconfig?: string },
  policy?: Policy,
): Promise<Collected | undefined> {
  if (o.state.length) {
    const c = collectSnapshot(o.state);
    for (const e of c.errors) process.stderr.write(`error: ${e}\n`);
    return c;
  }
  let server = "";
  try {
    // client-node is loaded only for the live cluster (it costs a snapshot audit most of its start-up)
    const { collectLive, kubeConfigFor } = await import("../audit/live.js");
    const kc = kubeConfigFor(o.kubeconfig);
    server = kc.getCurrentCluster()?.server ?? "";
    return await collectLive(kc, policy);
  } catch (e) {
    process.stderr.write(
      `lbguard ${cmd}: cannot read the cluster${server ? ` at ${server}` : ""}: ${(e as Error).message}\n` +
        `  (give --state PATH for a snapshot, or --kubeconfig FILE)\n`,
    );
    return undefined;
  }
}

/** Write output as it is formatted, in blocks of about 64 KiB (stdout to a file or pipe is synchronous on Linux). */
function write(chunks: Iterable<string>): void {
  let buf = "";
  for (const c of chunks) {
    buf += c;
    if (buf.length >= 65_536) {
      process.stdout.write(buf);
      buf = "";
    }
  }
  if (buf) process.stdout.write(buf);
}

/** The first line of text output when the policy was inferred. */
export function inferredLine(inf: Inferred): string {
  const owner = inf.nullOwner
    ? `${PROVIDER_TITLE[inf.nullOwner]} keeps Services without a class`
    : "nobody takes Services without a class";
  return `lbguard audit: no --policy given; judging against the policy lbguard init infers from the cluster (${owner}; lbguard init writes it)`;
}

export async function auditMain(o: AuditOptions): Promise<number> {
  let policy: Policy | undefined;
  if (o.policy) {
    try {
      policy = loadPolicyFile(o.policy);
    } catch (e) {
      const problems = e instanceof PolicyError ? e.problems : [(e as Error).message];
      process.stderr.write(`lbguard audit: invalid policy:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
      return 2;
    }
  }
  const c = await readCluster("audit", o, policy);
  if (!c) return 2;
  let inferred: Inferred | undefined;
  if (!policy) {
    try {
      inferred = inferPolicy(c.view, c.facts);
      policy = inferred.policy;
    } catch (e) {
      if (!(e instanceof InferError)) throw e;
      process.stderr.write(`lbguard audit: cannot infer a policy: ${e.message}; give --policy FILE\n`);
      return 2;
    }
  }
  const run = runAudit(c.view, c.facts, policy);
  for (const e of run.errors) process.stderr.write(`error: the rules could not judge ${e}\n`);
  const failed = c.errors.length > 0 || run.errors.length > 0;
  const meta = { inferred: !!inferred, ...(o.policy ? { file: o.policy } : {}) };
  switch (o.output) {
    case "json":
      write(jsonChunks(run.findings, c.objects, meta));
      break;
    case "yaml":
      write(yamlChunks(run.findings, c.objects, meta));
      break;
    case "policyreport": {
      const reports = policyReports(run.findings, { now: new Date() });
      write(reports.map((r, i) => (i ? "---\n" : "") + YAML.stringify(r, { lineWidth: 0 })));
      break;
    }
    default: {
      const colour = !!process.stdout.isTTY && !process.env.NO_COLOR;
      const lines = textLines(run.findings, c.objects, {
        colour,
        inferred: inferred ? inferredLine(inferred) : undefined,
      });
      write(
        (function* () {
          for (const l of lines) yield l + "\n";
        })(),
      );
    }
  }
  if (failed) return 2;
  return auditExitCode(run.findings, o.failLevel, o.exitZero);
}
