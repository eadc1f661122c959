/**
 * `npm run bench [-- --quick]`: lbguard against the platform's limit.
 *
 * Starts, as separate processes, `lbguard serve --state` over a generated
 * cluster (10,000 namespaces, 10,000 pools, 100,000 LoadBalancer Services, 50
 * kube-vip ranges; --quick: a tenth) and the baseline of bench/baseline.ts
 * (node:https, same certificate, JSON.parse, "allowed"), and drives both with
 * autocannon over keep-alive connections with the same mix of reviews:
 * - maximum throughput, in alternating rounds; the ratio is the median of the
 *   rounds' ratios (this machine's speed drifts between runs);
 * - server CPU time per review (from /proc), steadier than throughput;
 * - latency (exact per-response times) at a fixed 1,000 reviews/s;
 * - lbguard's RSS idle with the view loaded, and its peak under load;
 * - the in-process time per review type against the baseline's own work.
 * When `taskset` exists, the servers run on the last core and the load
 * generator on the first. Writes BENCHMARKS.md and ends with
 * `bench: ratio=<x> p99_ms=<y> rss_mb=<z>`.
 */
import autocannon from "autocannon";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { BENCH_POLICY, FULL, QUICK, Sizes, writeState } from "./generate.js";
import { inProcess } from "./inprocess.js";
import { MixedReview, TYPES, mix } from "./mix.js";
import { cpuSeconds, rssMB, waitForLine } from "./proc.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const quick = process.argv.includes("--quick");
const sizes: Sizes = quick ? QUICK : FULL;
const DURATION = quick ? 3 : 8;
const ROUNDS = quick ? 2 : 4;
const FIXED_RATE = 1000;
const CONNECTIONS = 32;
const CORES = os.cpus().length;
/** node flags lbguard runs with (the production image's entry point uses the same) */
const LB_FLAGS = (process.env.LBGUARD_NODE_FLAGS ?? "--max-semi-space-size=8").split(" ").filter(Boolean);

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return CORES >= 2;
  } catch {
    return false;
  }
}
const PIN = hasTaskset();

async function start(
  args: string[],
  re: RegExp,
  what: string,
  nodeFlags: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  args = [...nodeFlags, ...args];
  const child = PIN
    ? spawn("taskset", ["-c", String(CORES - 1), process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const m = await waitForLine(child, re, what);
  return { child, port: Number(m[1]) };
}

/** the server's process id (under taskset, the node child of taskset is exec'd in place) */
const pidOf = (c: ChildProcess) => c.pid!;

function call(port: number, ca: string, r: MixedReview): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: r.path,
        method: "POST",
        ca,
        servername: "lbguard.lbguard-system.svc",
        headers: { "Content-Type": "application/json" },
      },
      (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(JSON.parse(b).response) : reject(new Error(`${res.statusCode}: ${b}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(r.body);
  });
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  bad: number;
  cpuUsPerReview: number;
  rssPeak: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

async function load(
  server: { port: number; child: ChildProcess },
  reviews: MixedReview[],
  rate?: number,
): Promise<Load> {
  const pid = pidOf(server.child);
  const times: number[] = [];
  let rssPeak = rssMB(pid);
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMB(pid))), 250);
  const cpu0 = cpuSeconds(pid);
  const inst = autocannon({
    url: `https://127.0.0.1:${server.port}`,
    connections: rate ? 10 : CONNECTIONS,
    pipelining: 1,
    duration: rate ? Math.max(DURATION, 5) : DURATION,
    ...(rate ? { overallRate: rate } : {}),
    requests: reviews.map((r) => ({
      method: "POST",
      path: r.path,
      headers: { "content-type": "application/json" },
      body: r.body,
    })),
  });
  inst.on("response", (_c: unknown, _code: number, _bytes: number, ms: number) => times.push(ms));
  const res = await inst;
  clearInterval(sampler);
  const cpu = cpuSeconds(pid) - cpu0;
  times.sort((a, b) => a - b);
  return {
    rps: res.requests.average,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: times[times.length - 1],
    bad: res.errors + res.timeouts + res.non2xx,
    cpuUsPerReview: (cpu * 1e6) / Math.max(1, res.requests.total),
    rssPeak,
  };
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
  if (PIN) execFileSync("taskset", ["-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-bench-"));
  const certDir = join(dir, "certs");
  ensureDevCertificates(certDir);
  const ca = readFileSync(join(certDir, "ca.crt"), "utf8");
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  writeState(join(dir, "state"), sizes);
  const reviews = mix(sizes);

  const t0 = Date.now();
  const lb = await start(
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--policy",
      join(dir, "policy.yaml"),
      "--state",
      join(dir, "state"),
      "--cert-dir",
      certDir,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
    ],
    /serving on https:\/\/localhost:(\d+)/,
    "lbguard",
    LB_FLAGS,
  );
  const loadMs = Date.now() - t0;
  const base = await start(
    [join(ROOT, "dist/bench/baseline.js"), "--cert-dir", certDir],
    /listening on (\d+)/,
    "baseline",
  );
  try {
    // every review is answered as intended (verified TLS, real decisions)
    for (const t of TYPES) {
      const r = await call(
        lb.port,
        ca,
        reviews.find((x) => x.type === t)!,
      );
      if (!r.allowed || r.warnings || (t === "service-create") !== !!r.patch)
        throw new Error(`${t}: unexpected answer ${JSON.stringify(r)}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rssIdle = rssMB(pidOf(lb.child));
    await load(lb, reviews); // warm-up for the JIT of both
    await load(base, reviews);
    const rounds: { lb: Load; base: Load }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        const b = await load(base, reviews);
        rounds.push({ base: b, lb: await load(lb, reviews) });
      } else {
        const l = await load(lb, reviews);
        rounds.push({ lb: l, base: await load(base, reviews) });
      }
    }
    const lbFixed = await load(lb, reviews, FIXED_RATE);
    const baseFixed = await load(base, reviews, FIXED_RATE);
    const ratios = rounds.map((r) => r.lb.rps / r.base.rps);
    const ratio = median(ratios);
    const lbRps = median(rounds.map((r) => r.lb.rps));
    const baseRps = median(rounds.map((r) => r.base.rps));
    const lbCpu = median(rounds.map((r) => r.lb.cpuUsPerReview));
    const baseCpu = median(rounds.map((r) => r.base.cpuUsPerReview));
    const rssPeak = Math.max(...rounds.map((r) => r.lb.rssPeak), lbFixed.rssPeak);
    const bad = rounds.reduce((n, r) => n + r.lb.bad, 0) + lbFixed.bad;
    const ip = inProcess(sizes, reviews);
    const met = (ok: boolean) => (ok ? "met" : "**missed**");
    const f0 = (x: number) => String(Math.round(x));
    const f1 = (x: number) => x.toFixed(1);
    const f2 = (x: number) => x.toFixed(2);
    const section = [
      `## npm run bench${quick ? " -- --quick" : ""} (latest run, written by bench/bench.ts)`,
      "",
      `Machine: ${CORES} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. ${PIN ? `Servers pinned to core ${CORES - 1}, load generator to core 0 (taskset).` : "No CPU pinning (taskset not available)."}`,
      `lbguard runs as the image runs it: node ${LB_FLAGS.join(" ")} (the baseline with no flags).`,
      `Cluster view: ${sizes.namespaces} namespaces, ${sizes.pools} pools, ${sizes.services} LoadBalancer Services, ${sizes.kubeVipRanges} kube-vip ranges, loaded from JSON snapshot files in ${f1(loadMs / 1000)} s.`,
      `Load: autocannon, keep-alive, ${CONNECTIONS} connections for throughput (${ROUNDS} alternating rounds of ${DURATION} s after a warm-up), 10 connections at a fixed ${FIXED_RATE}/s for latency; the same ${reviews.length} reviews in rotation for both servers: Service CREATE → /mutate (defaulted), Service UPDATE, pool CREATE, kube-vip DaemonSet CREATE, status UPDATE by MetalLB's controller → /validate; all allowed, as almost all real reviews are.`,
      "",
      "| measure | lbguard | baseline (node:https, JSON.parse, allow) | target |",
      "|---|---|---|---|",
      `| throughput, reviews/s (median of rounds) | ${f0(lbRps)} | ${f0(baseRps)} | |`,
      `| throughput ratio (median of the rounds' ratios: ${ratios.map(f2).join(", ")}) | **${f2(ratio)}** | 1 | ≥ 0.85: ${met(ratio >= 0.85)} |`,
      `| server CPU per review, µs (median) | ${f1(lbCpu)} | ${f1(baseCpu)} | (ratio ${f2(baseCpu / lbCpu)}) |`,
      `| latency at ${FIXED_RATE}/s, p50 / p99 / max, ms | ${f2(lbFixed.p50)} / ${f2(lbFixed.p99)} / ${f1(lbFixed.max)} | ${f2(baseFixed.p50)} / ${f2(baseFixed.p99)} / ${f1(baseFixed.max)} | p99 < 5 ms: ${met(lbFixed.p99 < 5)} |`,
      `| RSS with the view loaded, idle / peak under load, MB | ${f1(rssIdle)} / ${f1(rssPeak)} | | < 250 MB: ${met(rssIdle < 250)} idle, ${met(rssPeak < 250)} under load |`,
      `| errors and non-200 answers | ${bad} | ${rounds.reduce((n, r) => n + r.base.bad, 0) + baseFixed.bad} | 0 |`,
      "",
      "In process, best of 7 × 20,000 (lbguard: decode, decide, encode — the handler the server runs; baseline: JSON.parse and an allowed answer), µs per review:",
      "",
      "| | Service CREATE (defaulted) | Service UPDATE | pool CREATE | DaemonSet CREATE | status UPDATE | mixed |",
      "|---|---|---|---|---|---|---|",
      `| lbguard | ${[...TYPES, "mixed"].map((t) => f2(ip[t].lbguard)).join(" | ")} |`,
      `| baseline | ${[...TYPES, "mixed"].map((t) => f2(ip[t].baseline)).join(" | ")} |`,
      `| lbguard's extra | ${[...TYPES, "mixed"].map((t) => f2(ip[t].lbguard - ip[t].baseline)).join(" | ")} |`,
      "",
      `Pool CREATE decision against ${sizes.pools} pools: ${f1(ip["pool-create"].lbguard)} µs including decoding (target < 1 ms: ${met(ip["pool-create"].lbguard < 1000)}).`,
    ].join("\n");
    if (!process.argv.includes("--no-write")) writeBenchmarks(section);
    console.log(section);
    console.log(`bench: ratio=${f2(ratio)} p99_ms=${f2(lbFixed.p99)} rss_mb=${f1(Math.max(rssIdle, rssPeak))}`);
  } finally {
    lb.child.kill("SIGTERM");
    base.child.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
