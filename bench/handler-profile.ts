/**
 * In-process profile of the review handler per review type (no HTTP):
 *   node --cpu-prof --cpu-prof-dir .bench dist/bench/handler-profile.js <type> [iterations]
 */
import { createReviewHandler } from "../src/admission/handler.js";
import { MemoryView } from "../src/cluster/view.js";
import { createLogger } from "../src/observability/logger.js";
import { Metrics } from "../src/observability/metrics.js";
import { parsePolicy } from "../src/policy/load.js";
import { BENCH_POLICY, QUICK, generate } from "./generate.js";
import { mix } from "./mix.js";

const type = process.argv[2];
const n = Number(process.argv[3] ?? 200_000);
const view = new MemoryView();
for (const o of generate(QUICK)) view.apply(o);
const policy = parsePolicy(BENCH_POLICY);
const h = createReviewHandler({ policy: () => policy, view: () => view }, new Metrics(false), createLogger("silent"));
const rs = mix(QUICK).filter((r) => !type || r.type === type);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const r = rs[i % rs.length];
  h(r.path === "/mutate" ? "mutate" : "validate", r.body, "application/json", 0);
}
const parse0 = performance.now();
for (let i = 0; i < n; i++) JSON.parse(rs[i % rs.length].body);
const parseUs = ((performance.now() - parse0) * 1000) / n;
console.log(`${type || "all"}: ${(((parse0 - t0) * 1000) / n).toFixed(2)} µs/review (JSON.parse alone: ${parseUs.toFixed(2)} µs)`);
