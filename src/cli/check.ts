/** `lbguard check`: print findings as kubectl would show them; exit 0 clean, 1 violations, 2 usage or parse errors. */
import { readFileSync } from "node:fs";
import { checkObjects, kubectlLines } from "../check/check.js";
import { loadSnapshot } from "../cluster/sources/snapshot.js";
import { readManifests } from "../k8s/manifests.js";
import { loadPolicyFile } from "../policy/load.js";
import { PolicyError } from "../policy/policy.js";

export interface CheckOptions {
  policy: string;
  state: string[];
  output: "text" | "json";
  strict: boolean;
  namespace: string;
  verbose: boolean;
}

export function checkMain(paths: string[], o: CheckOptions): number {
  let policy;
  try {
    policy = loadPolicyFile(o.policy);
  } catch (e) {
    const problems = e instanceof PolicyError ? e.problems : [(e as Error).message];
    process.stderr.write(`lbguard check: invalid policy:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return 2;
  }
  const state = loadSnapshot(o.state);
  const manifests = readManifests(paths, () => readFileSync(0, "utf8"), { strict: true });
  const errors = [...state.errors.map((e) => ({ file: "--state", message: e })), ...manifests.errors];
  const run = checkObjects(manifests.objects, policy, state.view, o.namespace);
  const denied = run.reports.filter((r) => r.denied).length;
  const warned = run.reports.filter((r) => r.warnings.length).length;
  const mutated = run.reports.filter((r) => r.mutations.length).length;
  const code = errors.length ? 2 : denied || (o.strict && warned) ? 1 : 0;
  if (o.output === "json") {
    process.stdout.write(
      JSON.stringify(
        {
          findings: run.findings,
          errors,
          summary: { objects: run.reports.length, denied, warned, mutated, skipped: run.skipped, exitCode: code },
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    for (const r of run.reports) {
      if (!o.verbose && !r.denied && !r.warnings.length && !r.mutations.length) continue;
      for (const l of kubectlLines(r)) process.stdout.write(l + "\n");
    }
    for (const e of errors) process.stderr.write(`error: ${e.file}: ${e.message}\n`);
    const files = new Set(run.reports.map((r) => r.file)).size;
    process.stdout.write(
      `lbguard check: ${run.reports.length} object${run.reports.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}: ${denied} denied, ${warned} with warnings, ${mutated} mutated${run.skipped ? `, ${run.skipped} non-Kubernetes documents skipped` : ""}${errors.length ? `, ${errors.length} unreadable` : ""}\n`,
    );
  }
  return code;
}
