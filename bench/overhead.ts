/**
 * Per-review CPU of lbguard's handler against the baseline's work (JSON.parse
 * the review, JSON.stringify an "allowed" answer), in process, best of 7 runs
 * (the minimum is the least disturbed by a noisy machine).
 *   node dist/bench/overhead.js [--quick]
 */
import { FULL, QUICK } from "./generate.js";
import { inProcess } from "./inprocess.js";
import { mix } from "./mix.js";

const sizes = process.argv.includes("--quick") ? QUICK : FULL;
const times = inProcess(sizes, mix(sizes));
for (const [t, { lbguard: l, baseline: b }] of Object.entries(times))
  console.log(
    `${t.padEnd(18)} lbguard ${l.toFixed(2).padStart(6)} µs   baseline ${b.toFixed(2).padStart(6)} µs   extra ${(l - b).toFixed(2).padStart(6)} µs`,
  );
