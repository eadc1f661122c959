/**
 * Experiment for profiling: lbguard's transport with a trivial handler
 * (VARIANT unset), the full review handler without metrics (VARIANT=decide),
 * or the trivial handler plus metrics (VARIANT=metrics).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createReviewHandler } from "../src/admission/handler.js";
import { allowed, decodeReview, encodeReview } from "../src/admission/codec.js";
import { MemoryView } from "../src/cluster/view.js";
import { createLogger } from "../src/observability/logger.js";
import { Metrics } from "../src/observability/metrics.js";
import { parsePolicy } from "../src/policy/load.js";
import { startServer, ReviewHandler } from "../src/transport/server.js";
import { BENCH_POLICY } from "./generate.js";

const dir = process.argv[process.argv.indexOf("--cert-dir") + 1];
const variant = process.env.VARIANT ?? "";
const metrics = new Metrics();
const burnUs = Number(process.env.BURN_US ?? 0);
const trivial: ReviewHandler = (w, body) => {
  const t0 = performance.now();
  if (burnUs) while ((performance.now() - t0) * 1000 < burnUs);
  const review = JSON.parse(body);
  if (variant === "metrics")
    metrics.observe(w, review.request.kind.kind, review.request.operation, "allowed", (performance.now() - t0) / 1000);
  return {
    status: 200,
    body: JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: review.request.uid, allowed: true },
    }),
  };
};
const norules: ReviewHandler = (w, body, ct) => {
  const t0 = performance.now();
  const d = decodeReview(body, ct);
  if (!d.ok) return { status: 400, body: d.message };
  metrics.observe(w, d.request.kind.kind, d.request.operation, "allowed", (performance.now() - t0) / 1000);
  return { status: 200, body: encodeReview(allowed(d.request.uid)) };
};
const policy = parsePolicy(BENCH_POLICY);
const view = new MemoryView();
const full = createReviewHandler({ policy: () => policy, view: () => view }, undefined, createLogger("silent"));
const s = await startServer({
  port: 0,
  host: "127.0.0.1",
  tls: { cert: readFileSync(join(dir, "tls.crt"), "utf8"), key: readFileSync(join(dir, "tls.key"), "utf8") },
  log: createLogger("silent"),
  readiness: () => ({ ready: true, reasons: [] }),
  handler: variant === "decide" ? full : variant === "norules" ? norules : trivial,
});
process.stdout.write(`baseline listening on ${s.port}\n`);
process.on("SIGTERM", () => process.exit(0));
