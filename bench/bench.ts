/**
 * `npm run bench [-- --quick]`: lbguard against the platform's limit.
 *
 * Starts, as separate processes, `lbguard serve --state` over a generated
 * cluster (10,000 namespaces, 10,000 pools, 100,000 LoadBalancer Services, 50
 * kube-vip ranges; --quick: a tenth) and the baseline of bench/baseline.ts
 * (node:https, same certificate, JSON.parse, "allowed"), then drives both
 * with autocannon over keep-alive connections with the same mix of reviews:
 * maximum throughput of each and their ratio, latency at a fixed 1,000
 * reviews/s, lbguard's RSS, and the in-process decision time per review type.
 * Writes the results into BENCHMARKS.md and ends with
 * `bench: ratio=<x> p99_ms=<y> rss_mb=<z>`.
 */
import autocannon from "autocannon";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createReviewHandler } from "../src/admission/handler.js";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { MemoryView } from "../src/cluster/view.js";
import { createLogger } from "../src/observability/logger.js";
import { parsePolicy } from "../src/policy/load.js";
import { BENCH_POLICY, FULL, QUICK, Sizes, generate } from "./generate.js";
import { MixedReview, TYPES, mix } from "./mix.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const quick = process.argv.includes("--quick");
const sizes: Sizes = quick ? QUICK : FULL;
const DURATION = quick ? 4 : 15;
const FIXED_RATE = 1000;
const CONNECTIONS = 10;

function waitFor(child: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c) => {
      out += c;
      const m = re.exec(out);
      if (m) resolve(m);
    });
    child.on("exit", (code) => reject(new Error(`${what} exited ${code}: ${out.slice(-1500)}`)));
  });
}

function rssMB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

function call(port: number, ca: string, r: MixedReview): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: r.path, method: "POST", ca, servername: "lbguard.lbguard-system.svc", headers: { "Content-Type": "application/json" } }, (res) => {
      let b = "";
      res.on("data", (c) => (b += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(b).response) : reject(new Error(`${res.statusCode}: ${b}`))));
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  total: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

async function load(port: number, reviews: MixedReview[], rate?: number): Promise<Load> {
  const times: number[] = [];
  const inst = autocannon({
    url: `https://127.0.0.1:${port}`,
    servername: "lbguard.lbguard-system.svc",
    connections: CONNECTIONS,
    pipelining: 1,
    duration: DURATION,
    ...(rate ? { overallRate: rate } : {}),
    requests: reviews.map((r) => ({ method: "POST", path: r.path, headers: { "content-type": "application/json" }, body: r.body })),
  });
  inst.on("response", (_c: unknown, _code: number, _bytes: number, ms: number) => times.push(ms));
  const res = await inst;
  times.sort((a, b) => a - b);
  return {
    rps: res.requests.average,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: times[times.length - 1],
    errors: res.errors + res.timeouts,
    non2xx: res.non2xx,
    total: res.requests.total,
  };
}

/** In-process: decode, decide and encode one review of each type, many times. */
function decisionTimes(reviews: MixedReview[]): Record<string, number> {
  const view = new MemoryView();
  for (const o of generate(sizes)) view.apply(o);
  const policy = parsePolicy(BENCH_POLICY);
  const handler = createReviewHandler({ policy: () => policy, view: () => view }, undefined, createLogger("silent"));
  const out: Record<string, number> = {};
  for (const t of TYPES) {
    const rs = reviews.filter((r) => r.type === t);
    const n = quick ? 5000 : 20000;
    for (let i = 0; i < 2000; i++) handler(rs[i % rs.length].path === "/mutate" ? "mutate" : "validate", rs[i % rs.length].body, "application/json", Date.now() + 10_000);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) handler(rs[i % rs.length].path === "/mutate" ? "mutate" : "validate", rs[i % rs.length].body, "application/json", Date.now() + 10_000);
    out[t] = ((performance.now() - t0) * 1000) / n;
  }
  return out;
}

function writeBenchmarks(section: string): void {
  const file = join(ROOT, "BENCHMARKS.md");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  let text = readFileSync(file, "utf8");
  const block = `${start}\n${section}\n${end}`;
  if (text.includes(start)) text = text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), block);
  else text = text.replace(/^(# Benchmarks\n[\s\S]*?\n)(## )/, `$1${block}\n\n$2`);
  writeFileSync(file, text);
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-bench-"));
  const certDir = join(dir, "certs");
  ensureDevCertificates(certDir);
  const ca = readFileSync(join(certDir, "ca.crt"), "utf8");
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  writeFileSync(join(dir, "state.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: [...generate(sizes)] }));
  const reviews = mix(sizes);

  const t0 = Date.now();
  const lb = spawn(process.execPath, [join(ROOT, "dist/src/cli/main.js"), "serve", "--policy", join(dir, "policy.yaml"), "--state", join(dir, "state.json"), "--cert-dir", certDir, "--port", "0", "--metrics-port", "0", "--host", "127.0.0.1"], { stdio: ["ignore", "pipe", "inherit"] });
  const [, lbPort] = await waitFor(lb, /serving on https:\/\/localhost:(\d+)/, "lbguard");
  const loadMs = Date.now() - t0;
  const base = spawn(process.execPath, [join(ROOT, "dist/bench/baseline.js"), "--cert-dir", certDir], { stdio: ["ignore", "pipe", "inherit"] });
  const [, basePort] = await waitFor(base, /listening on (\d+)/, "baseline");
  try {
    // sanity: every review is answered as intended (verified TLS, real decisions)
    for (const t of TYPES) {
      const r = await call(Number(lbPort), ca, reviews.find((x) => x.type === t)!);
      if (!r.allowed || (t === "service-create") !== !!r.patch) throw new Error(`${t}: unexpected answer ${JSON.stringify(r)}`);
    }
    const rssIdle = rssMB(lb.pid!);
    // alternate the order so neither server always runs on a cooler machine
    const baseMax = await load(Number(basePort), reviews);
    const lbMax = await load(Number(lbPort), reviews);
    const baseMax2 = await load(Number(basePort), reviews);
    const lbMax2 = await load(Number(lbPort), reviews);
    const baseRps = (baseMax.rps + baseMax2.rps) / 2;
    const lbRps = (lbMax.rps + lbMax2.rps) / 2;
    const lbFixed = await load(Number(lbPort), reviews, FIXED_RATE);
    const baseFixed = await load(Number(basePort), reviews, FIXED_RATE);
    const rssAfter = rssMB(lb.pid!);
    const decisions = decisionTimes(reviews);
    const ratio = lbRps / baseRps;
    const errors = lbMax.errors + lbMax2.errors + lbFixed.errors + lbMax.non2xx + lbMax2.non2xx + lbFixed.non2xx;
    const met = (ok: boolean) => (ok ? "met" : "**missed**");
    const f1 = (x: number) => x.toFixed(1);
    const f2 = (x: number) => x.toFixed(2);
    const rss = Math.max(rssIdle, rssAfter);
    const section = [
      `## npm run bench${quick ? " -- --quick" : ""} (latest run, written by bench/bench.ts)`,
      "",
      `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
      `Cluster view: ${sizes.namespaces} namespaces, ${sizes.pools} pools, ${sizes.services} LoadBalancer Services, ${sizes.kubeVipRanges} kube-vip ranges (loaded from a JSON snapshot in ${(loadMs / 1000).toFixed(1)} s).`,
      `Load: autocannon, ${CONNECTIONS} keep-alive connections, ${DURATION} s per run, the same ${reviews.length} reviews in rotation for both servers (Service CREATE → /mutate, Service UPDATE, pool CREATE, kube-vip DaemonSet CREATE, status UPDATE → /validate; all allowed, as almost all real reviews are). Both servers and autocannon share the machine.`,
      "",
      "| measure | lbguard | baseline (node:https, JSON.parse, allow) | target |",
      "|---|---|---|---|",
      `| throughput (reviews/s, mean of 2 runs) | ${Math.round(lbRps)} (${Math.round(lbMax.rps)}, ${Math.round(lbMax2.rps)}) | ${Math.round(baseRps)} (${Math.round(baseMax.rps)}, ${Math.round(baseMax2.rps)}) | ratio ≥ 0.85: **${f2(ratio)}**, ${met(ratio >= 0.85)} |`,
      `| latency at ${FIXED_RATE} reviews/s, p50 / p99 / max (ms) | ${f2(lbFixed.p50)} / ${f2(lbFixed.p99)} / ${f1(lbFixed.max)} | ${f2(baseFixed.p50)} / ${f2(baseFixed.p99)} / ${f1(baseFixed.max)} | p99 < 5 ms: ${met(lbFixed.p99 < 5)} |`,
      `| RSS of the server with the view loaded (MB) | ${f1(rss)} (idle ${f1(rssIdle)}, after load ${f1(rssAfter)}) | | < 250 MB: ${met(rss < 250)} |`,
      `| errors and non-200 answers | ${errors} | ${baseMax.errors + baseMax2.errors + baseMax.non2xx + baseMax2.non2xx} | 0 |`,
      "",
      "In-process time per review (decode, decide, encode; the same handler the server runs), µs:",
      "",
      "| Service CREATE (defaulted) | Service UPDATE | pool CREATE | DaemonSet CREATE | status UPDATE |",
      "|---|---|---|---|---|",
      `| ${TYPES.map((t) => f1(decisions[t])).join(" | ")} |`,
      "",
      `Pool decision target (< 1 ms at 10k pools): ${met(decisions["pool-create"] < 1000)}.`,
    ].join("\n");
    if (!process.argv.includes("--no-write")) writeBenchmarks(section);
    console.log(section);
    console.log(`bench: ratio=${f2(ratio)} p99_ms=${f2(lbFixed.p99)} rss_mb=${f1(rss)}`);
  } finally {
    lb.kill("SIGTERM");
    base.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
