/**
 * `lbguard init`: write the OwnershipPolicy that matches what runs (SPEC §11),
 * every inferred field commented with where it came from, ending with the
 * changes that would make the cluster match it. Exit 0, or 2 when the
 * cluster cannot be read or no provider runs.
 */
import { writeFileSync } from "node:fs";
import { runAudit } from "../audit/audit.js";
import { InferError, inferPolicy } from "../audit/infer.js";
import { renderPolicy } from "../audit/render.js";
import type { ProviderName } from "../policy/policy.js";
import { readCluster } from "./audit.js";

export interface InitOptions {
  state: string[];
  kubeconfig?: string;
  nullOwner?: ProviderName;
  output?: string;
}

export async function initMain(o: InitOptions): Promise<number> {
  const c = await readCluster("init", o);
  if (!c) return 2;
  if (c.errors.length) return 2;
  let inf;
  try {
    inf = inferPolicy(c.view, c.facts, { nullOwner: o.nullOwner });
  } catch (e) {
    if (!(e instanceof InferError)) throw e;
    process.stderr.write(`lbguard init: ${e.message}\n`);
    return 2;
  }
  const run = runAudit(c.view, c.facts, inf.policy);
  const text = renderPolicy(inf, c.source, run.findings);
  if (o.output && o.output !== "-") {
    try {
      writeFileSync(o.output, text);
    } catch (e) {
      process.stderr.write(`lbguard init: cannot write ${o.output}: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`lbguard init: wrote ${o.output}\n`);
  } else process.stdout.write(text);
  return 0;
}
