/**
 * In-process time per review: lbguard's handler (decode, decide, encode, as
 * the server runs it) against the baseline's own work (JSON.parse the review,
 * JSON.stringify an "allowed" answer). Best of 7 runs: the minimum is the
 * least disturbed by a noisy machine.
 */
import { createReviewHandler } from "../src/admission/handler.js";
import { MemoryView } from "../src/cluster/view.js";
import { createLogger } from "../src/observability/logger.js";
import { Metrics } from "../src/observability/metrics.js";
import { parsePolicy } from "../src/policy/load.js";
import { BENCH_POLICY, Sizes, generate } from "./generate.js";
import { MixedReview, TYPES } from "./mix.js";

export interface InProcessTimes {
  lbguard: number;
  baseline: number;
}

function best(fn: () => void, n: number): number {
  let min = Infinity;
  for (let run = 0; run < 7; run++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    min = Math.min(min, ((performance.now() - t0) * 1000) / n);
  }
  return min;
}

function baseline(body: string): string {
  const r = JSON.parse(body);
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: r.request.uid, allowed: true },
  });
}

/** µs per review for each review type and for the whole rotation ("mixed") */
export function inProcess(sizes: Sizes, reviews: MixedReview[], n = 20000): Record<string, InProcessTimes> {
  const view = new MemoryView();
  for (const o of generate(sizes)) view.apply(o);
  const policy = parsePolicy(BENCH_POLICY);
  const handler = createReviewHandler(
    { policy: () => policy, view: () => view },
    new Metrics(false),
    createLogger("silent"),
  );
  const out: Record<string, InProcessTimes> = {};
  for (const t of [...TYPES, "mixed"]) {
    const rs = t === "mixed" ? reviews : reviews.filter((r) => r.type === t);
    let i = 0;
    let j = 0;
    out[t] = {
      lbguard: best(() => {
        const r = rs[i++ % rs.length]!;
        handler(r.path === "/mutate" ? "mutate" : "validate", r.body, "application/json", 0);
      }, n),
      baseline: best(() => baseline(rs[j++ % rs.length]!.body), n),
    };
  }
  return out;
}
