/** The live cluster source (informers). Placeholder until the informer source lands. */
import type { Logger } from "../../observability/logger.js";
import type { Metrics } from "../../observability/metrics.js";
import type { Policy } from "../../policy/policy.js";
import type { ViewSource } from "../../cli/serve.js";

export interface LiveOptions {
  kubeconfig?: string;
  policy(): Policy;
  log: Logger;
  metrics: Metrics;
}

export async function startLiveSource(_o: LiveOptions): Promise<ViewSource> {
  throw new Error("the live cluster source is not built yet: pass --state PATH");
}
