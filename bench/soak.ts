/**
 * Soak test (not part of npm test): 1,000,000 mixed reviews through
 * `lbguard serve` (the quick-size cluster view), RSS sampled every 10 s.
 * Reports whether memory stays flat: the last third of the samples against
 * the first third after warm-up.
 *   npm run bench:soak [-- --reviews N]
 */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { BENCH_POLICY, QUICK, writeState } from "./generate.js";
import { mix } from "./mix.js";
import { rssMB, waitForLine } from "./proc.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const arg = (n: string, d: number) =>
  process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d;
const total = arg("reviews", 1_000_000);

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-soak-"));
  ensureDevCertificates(join(dir, "certs"));
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  writeState(join(dir, "state"), QUICK);
  const lb = spawn(
    process.execPath,
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--policy",
      join(dir, "policy.yaml"),
      "--state",
      join(dir, "state"),
      "--cert-dir",
      join(dir, "certs"),
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  // from then on lbguard's log (one info line per denial) is only drained
  const port = Number((await waitForLine(lb, /serving on https:\/\/localhost:(\d+)/, "lbguard"))[1]);
  // every fifth review is denied (pool over the control-plane VIP), so the logging path runs too
  const reviews = mix(QUICK).map((r) => ({
    method: "POST",
    path: r.path,
    headers: { "content-type": "application/json" },
    body: r.body,
  }));
  const denied = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "deny",
      kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
      operation: "CREATE",
      namespace: "metallb-system",
      object: {
        apiVersion: "metallb.io/v1beta1",
        kind: "IPAddressPool",
        metadata: { name: "bad", namespace: "metallb-system" },
        spec: { addresses: ["10.0.4.240/29"] },
      },
    },
  });
  for (let i = 0; i < reviews.length; i += 5) reviews[i] = { ...reviews[i], path: "/validate", body: denied };
  const samples: { t: number; rss: number; done: number }[] = [];
  let done = 0;
  const t0 = Date.now();
  samples.push({ t: 0, rss: rssMB(lb.pid!), done: 0 });
  const sampler = setInterval(
    () => samples.push({ t: Math.round((Date.now() - t0) / 1000), rss: rssMB(lb.pid!), done }),
    10_000,
  );
  // in chunks: one autocannon run over a million requests accumulates state of its own
  const CHUNK = 100_000;
  const res = { requests: { total: 0 }, non2xx: 0, errors: 0 };
  while (res.requests.total < total) {
    const r = await autocannon({
      url: `https://127.0.0.1:${port}`,
      connections: 32,
      amount: Math.min(CHUNK, total - res.requests.total),
      requests: reviews,
    });
    res.requests.total += r.requests.total;
    res.non2xx += r.non2xx;
    res.errors += r.errors + r.timeouts;
    done = res.requests.total;
  }
  clearInterval(sampler);
  samples.push({ t: Math.round((Date.now() - t0) / 1000), rss: rssMB(lb.pid!), done });
  lb.kill("SIGTERM");
  // after warm-up (the first 30% of the reviews), memory must not keep growing
  const steady = samples.filter((x) => x.done >= total * 0.3);
  const a = steady[0];
  const b = steady[steady.length - 1];
  const growth = ((b.rss - a.rss) / a.rss) * 100;
  const slope = b.done > a.done ? ((b.rss - a.rss) / (b.done - a.done)) * 100_000 : 0;
  const flat = growth < 10;
  console.log(
    JSON.stringify({
      bench: "soak",
      node: process.version,
      cores: os.cpus().length,
      reviews: res.requests.total,
      non2xx: res.non2xx,
      errors: res.errors,
      seconds: samples[samples.length - 1].t,
      samples,
    }),
  );
  console.log(
    `soak: ${res.requests.total} reviews in ${samples[samples.length - 1].t} s, ${res.non2xx + res.errors} failures; RSS ${samples.map((x) => x.rss.toFixed(0)).join(" → ")} MB; after warm-up ${a.rss.toFixed(1)} → ${b.rss.toFixed(1)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)}%, ${slope.toFixed(2)} MB per 100k reviews): ${flat ? "flat" : "GROWING"}`,
  );
  if (!flat) process.exitCode = 1;
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
