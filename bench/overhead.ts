/**
 * Per-review CPU of lbguard's handler against the baseline's work (JSON.parse
 * the review, JSON.stringify an "allowed" answer), in process, best of 7 runs
 * (the minimum is the least disturbed by a noisy machine).
 *   node dist/bench/overhead.js [--quick]
 */
import { createReviewHandler } from "../src/admission/handler.js";
import { MemoryView } from "../src/cluster/view.js";
import { createLogger } from "../src/observability/logger.js";
import { Metrics } from "../src/observability/metrics.js";
import { parsePolicy } from "../src/policy/load.js";
import { BENCH_POLICY, FULL, QUICK, generate } from "./generate.js";
import { TYPES, mix } from "./mix.js";

const sizes = process.argv.includes("--quick") ? QUICK : FULL;
const view = new MemoryView();
for (const o of generate(sizes)) view.apply(o);
const policy = parsePolicy(BENCH_POLICY);
const handler = createReviewHandler({ policy: () => policy, view: () => view }, new Metrics(false), createLogger("silent"));
const baseline = (body: string) => {
  const r = JSON.parse(body);
  return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: r.request.uid, allowed: true } });
};
const reviews = mix(sizes);
function best(fn: () => void, n: number): number {
  let min = Infinity;
  for (let run = 0; run < 7; run++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    min = Math.min(min, ((performance.now() - t0) * 1000) / n);
  }
  return min;
}
const rows: string[] = [];
let sumL = 0;
let sumB = 0;
for (const t of [...TYPES, "all"]) {
  const rs = t === "all" ? reviews : reviews.filter((r) => r.type === t);
  let i = 0;
  const l = best(() => {
    const r = rs[i++ % rs.length];
    handler(r.path === "/mutate" ? "mutate" : "validate", r.body, "application/json", 0);
  }, 20000);
  let j = 0;
  const b = best(() => baseline(rs[j++ % rs.length].body), 20000);
  if (t !== "all") {
    sumL += l;
    sumB += b;
  }
  rows.push(`${t.padEnd(18)} lbguard ${l.toFixed(2).padStart(6)} µs   baseline ${b.toFixed(2).padStart(6)} µs   extra ${(l - b).toFixed(2).padStart(6)} µs`);
}
console.log(rows.join("\n"));
