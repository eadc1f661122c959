/**
 * `npm run bench:background [-- --quick] [-- --no-throughput] [-- --no-memory]`: the
 * background audit of `lbguard serve --kubeconfig` (SPEC §12) at 10,000
 * namespaces, 10,000 pools and 100,000 LoadBalancer Services (--quick: a
 * tenth), served by the fake API server in its own process (as bench:memory).
 *
 * 1. Memory and CPU: lbguard with the audit off, then on; RSS sampled from
 *    /proc every 200 ms from readiness through several audit runs; per run
 *    its wall time, the time in the engine's slices and the process CPU, from
 *    the run's log line.
 * 2. Throughput: lbguard (live source) against the baseline of bench/bench.ts
 *    under the same review mix, alternating rounds, with the audit off, on at
 *    its default interval (60 s), and running back to back (the worst case:
 *    every round is during an audit).
 * 3. The status-bounce detector's cost per review, in process.
 * Prints a Markdown section for BENCHMARKS.md ("Background audit") and the
 * load average at each step.
 */
import autocannon from "autocannon";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import { join } from "node:path";
import { BounceDetector } from "../src/admission/bounce.js";
import { decodeReview } from "../src/admission/codec.js";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { parsePolicy } from "../src/policy/load.js";
import { BENCH_POLICY, FULL, QUICK } from "./generate.js";
import { mix, type MixedReview } from "./mix.js";
import { cpuSeconds, rssMB, waitForLine } from "./proc.js";
import { CORES, LB_FLAGS, PIN, ROOT, pinGenerator, startBaseline, stop, type Server } from "./servers.js";

const quick = process.argv.includes("--quick");
const sizes = quick ? QUICK : FULL;
const DURATION = quick ? 3 : 8;
const ROUNDS = quick ? 2 : 4;
const CONNECTIONS = 32;

type Obj = Record<string, any>;

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Lbguard extends Server {
  lines: Obj[];
  metricsPort: number;
}

/** `lbguard serve --kubeconfig` pinned like bench/servers.ts, its JSON log lines kept (audit lines only). */
async function startLive(
  dir: string,
  port: number,
  interval: string,
  logLevel = "debug",
  policy = "policy.yaml",
): Promise<Lbguard> {
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: f\n  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: f\n  context: {cluster: f, user: u}\ncurrent-context: f\n`,
  );
  const args = [
    ...LB_FLAGS,
    join(ROOT, "dist/src/cli/main.js"),
    "serve",
    "--policy",
    join(dir, policy),
    "--kubeconfig",
    kubeconfig,
    "--cert-dir",
    join(dir, "certs"),
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--host",
    "127.0.0.1",
    "--log-level",
    logLevel,
    "--audit-interval",
    interval,
  ];
  const child: ChildProcess = PIN
    ? spawn("taskset", ["-c", String(CORES - 1), process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines: Obj[] = [];
  let buf = "";
  let resolveStart: (v: [number, number]) => void;
  const started = new Promise<[number, number]>((r) => (resolveStart = r));
  child.stdout!.on("data", (c: Buffer) => {
    buf += c;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.startsWith("{")) continue;
      const o = JSON.parse(line);
      const m = /serving on https:\/\/localhost:(\d+)/.exec(o.msg ?? "");
      if (m) resolveStart([Number(m[1]), o.metricsPort]);
      if (o.component === "audit") lines.push(o);
    }
  });
  const [httpsPort, metricsPort] = await started;
  return { child, port: httpsPort, pid: child.pid!, lines, metricsPort };
}

function get(port: number, ca: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port, path, ca, servername: "lbguard.lbguard-system.svc" }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on("error", reject);
  });
}

async function ready(s: Server, ca: string): Promise<void> {
  while ((await get(s.port, ca, "/readyz")) !== 200) await new Promise((r) => setTimeout(r, 200));
}

const runsOf = (s: Lbguard) => s.lines.filter((l) => l.msg === "background audit");

function metrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    import("node:http").then(({ get: hget }) =>
      hget({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolve(b));
      }).on("error", reject),
    );
  });
}

/** audit runs so far and their total wall time, from /metrics */
async function auditRuns(s: Lbguard): Promise<{ n: number; sum: number }> {
  const m = await metrics(s.metricsPort);
  const v = (k: string) => Number(new RegExp(`^${k} (\\S+)`, "m").exec(m)?.[1] ?? 0);
  return { n: v("lbguard_audit_duration_seconds_count"), sum: v("lbguard_audit_duration_seconds_sum") };
}

async function untilRuns(s: Lbguard, n: number, sample?: () => void): Promise<void> {
  while (runsOf(s).length < n) {
    sample?.();
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function throughput(
  server: Server,
  reviews: MixedReview[],
): Promise<{ rps: number; bad: number; cpuUs: number; p99: number }> {
  const cpu0 = cpuSeconds(server.pid);
  const res = await autocannon({
    url: `https://127.0.0.1:${server.port}`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: DURATION,
    requests: reviews.map((r) => ({
      method: "POST",
      path: r.path,
      headers: { "content-type": "application/json" },
      body: r.body,
    })),
  });
  const cpu = cpuSeconds(server.pid) - cpu0;
  return {
    rps: res.requests.average,
    bad: res.errors + res.timeouts + res.non2xx,
    cpuUs: (cpu * 1e6) / Math.max(1, res.requests.total),
    p99: res.latency.p99,
  };
}

/** ns per call of the bounce detector on a status UPDATE by a provider, and on anything else */
function bounceCost(reviews: MixedReview[]): { status: number; other: number; lru: number } {
  const policy = parsePolicy(BENCH_POLICY);
  const decode = (b: string) => {
    const d = decodeReview(b, "application/json");
    if (!d.ok) throw new Error("bad review");
    return d.request;
  };
  const status = reviews.filter((r) => r.type === "status-update").map((r) => decode(r.body));
  const other = reviews.filter((r) => r.type !== "status-update").map((r) => decode(r.body));
  // distinct Services: the LRU at its bound, every call a miss that evicts
  const many = Array.from({ length: 50_000 }, (_, i) => ({ ...status[0], name: `svc-${i}` }));
  const time = (reqs: typeof status, n: number) => {
    let best = Infinity;
    for (let run = 0; run < 7; run++) {
      const d = new BounceDetector();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) d.observe("validate", reqs[i % reqs.length], policy);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
    }
    return best;
  };
  return { status: time(status, 200_000), other: time(other, 200_000), lru: time(many, 200_000) };
}

async function main() {
  pinGenerator();
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-bg-bench-"));
  ensureDevCertificates(join(dir, "certs"));
  const ca = readFileSync(join(dir, "certs/ca.crt"), "utf8");
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  // the same policy allowing kube-vip's class-less Services in every namespace: the generated cluster is clean
  writeFileSync(
    join(dir, "clean.yaml"),
    BENCH_POLICY.replace(
      "  reservedAddresses:",
      "    - selector: {}\n      provider: metallb\n      allowedProviders: [metallb, kube-vip]\n  reservedAddresses:",
    ),
  );
  const startFake = async (crds?: string) => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "dist/test/fake/apiserver-main.js"),
        "--generate",
        quick ? "quick" : "full",
        ...(crds ? ["--crds", crds] : []),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const [, port, n] = await waitForLine(child, /listening on (\d+) with (\d+) objects/);
    return { child, port: Number(port), count: n };
  };
  const { child: fake, port: fakePort, count } = await startFake();
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    console.log(s);
  };
  try {
    // ---- 1. memory and CPU -------------------------------------------------------------------
    const memory: Obj[] = [];
    for (const [name, interval, policy, crds] of (process.argv.includes("--no-memory")
      ? []
      : [
          ["audit off (--audit-interval 0)", "0", "policy.yaml", ""],
          ["audit on (--audit-interval 20s), the bench policy; no report CRDs", "20s", "policy.yaml", ""],
          ["audit on (--audit-interval 20s), a policy under which the cluster is clean", "20s", "clean.yaml", ""],
          [
            "audit on (--audit-interval 20s), the bench policy; PolicyReports written",
            "20s",
            "policy.yaml",
            "wgpolicyk8s",
          ],
        ]) as string[][]) {
      const la = load();
      // reports go to an API server of their own, so that every row starts from none
      const withCrds = crds ? await startFake(crds) : undefined;
      const t0 = Date.now();
      const lb = await startLive(dir, withCrds?.port ?? fakePort, interval, "debug", policy);
      await ready(lb, ca);
      const readyS = (Date.now() - t0) / 1000;
      const rss: number[] = [];
      const sample = () => rss.push(rssMB(lb.pid));
      const timer = setInterval(sample, 200);
      if (interval === "0") await new Promise((r) => setTimeout(r, quick ? 10_000 : 45_000));
      else await untilRuns(lb, crds ? 4 : 3);
      clearInterval(timer);
      const runs = runsOf(lb);
      const m = await metrics(lb.metricsPort);
      const mb = (k: string) => Number(new RegExp(`^${k} (\\S+)`, "m").exec(m)?.[1] ?? NaN) / 1048576;
      memory.push({
        name,
        readyS,
        rss,
        runs,
        la,
        heapUsed: mb("nodejs_heap_size_used_bytes"),
        heapTotal: mb("nodejs_heap_size_total_bytes"),
        gcMs: lb.lines.filter((l) => /collected the background audit/.test(l.msg)).map((l) => l.ms),
        written: lb.lines
          .filter((l) => l.msg === "audit reports written")
          .map((l) => l.created + l.updated + l.deleted),
      });
      await stop(lb);
      withCrds?.child.kill("SIGTERM");
    }
    const f1 = (x: number) => x.toFixed(1);
    const f2 = (x: number) => x.toFixed(2);
    say(
      `Machine: ${CORES} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; lbguard as the image runs it (node ${LB_FLAGS.join(" ")})${PIN ? ", pinned to the last core" : ""}. Cluster: ${sizes.namespaces} namespaces, ${sizes.pools} pools, ${sizes.services} LoadBalancer Services (${count} objects) served by the fake API server (its own process).`,
    );
    say("");
    say(
      "| lbguard serve --kubeconfig | ready after | RSS after ready, max / last | heap used / total at the end (after the run's collection) | audit runs: wall / in the engine / process CPU, ms (each run) | findings | full collection after each run, ms | load average at start |",
    );
    say("|---|---|---|---|---|---|---|---|");
    for (const m of memory) {
      const runs = m.runs as Obj[];
      const per = runs.length ? runs.map((r) => `${r.ms} / ${r.workMs} / ${r.cpuMs}`).join("; ") : "—";
      say(
        `| ${m.name} | ${f1(m.readyS)} s | ${f1(Math.max(...m.rss))} / ${f1(m.rss[m.rss.length - 1])} MB | ${f1(m.heapUsed)} / ${f1(m.heapTotal)} MB | ${per} | ${runs.length ? runs[runs.length - 1].findings : "—"}${m.written?.length ? ` (reports written: ${m.written.join(", ")})` : ""} | ${m.gcMs?.length ? m.gcMs.join(", ") : "—"} | ${m.la} |`,
      );
    }
    say("");

    // ---- 2. throughput ------------------------------------------------------------------------
    if (!process.argv.includes("--no-throughput")) {
      // no pool CREATEs: with the live source each one re-lists every pool from the API server first
      // (a consistent read, as MetalLB's webhook does), which is the live source's cost, not the audit's
      const reviews = mix(sizes).filter((r) => r.type !== "pool-create");
      const base = await startBaseline({ dir, certDir: join(dir, "certs"), ca });
      const rows: string[] = [];
      try {
        // two phases each, alternating, so that both see the machine in the same states
        const acc: Record<
          string,
          { ratios: number[]; cpu: number[]; p99: number[]; bad: number; runs: number; sum: number; la: string[] }
        > = {};
        for (const [name, interval] of [
          ["audit off", "0"],
          ["audit running back to back (every round during an audit)", "1ms"],
          ["audit off", "0"],
          ["audit running back to back (every round during an audit)", "1ms"],
        ]) {
          const a = (acc[name] ??= { ratios: [], cpu: [], p99: [], bad: 0, runs: 0, sum: 0, la: [] });
          a.la.push(load());
          const lb = await startLive(dir, fakePort, interval, "info");
          await ready(lb, ca);
          if (interval !== "0") while ((await auditRuns(lb)).n < 1) await new Promise((r) => setTimeout(r, 200));
          // lbguard is stopped (SIGSTOP) while the baseline is measured: its audit would otherwise take the
          // baseline's core (both are pinned to the same one)
          const measure = async (s: Server) => {
            if (s === lb) return throughput(lb, reviews);
            lb.child.kill("SIGSTOP");
            try {
              return await throughput(base, reviews);
            } finally {
              lb.child.kill("SIGCONT");
            }
          };
          await measure(lb); // warm-up
          await measure(base);
          const runsBefore = await auditRuns(lb);
          for (let i = 0; i < ROUNDS; i++) {
            const order = i % 2 ? [base, lb] : [lb, base];
            const r: Record<string, { rps: number; bad: number; cpuUs: number; p99: number }> = {};
            for (const s of order) r[s === lb ? "lb" : "base"] = await measure(s);
            a.ratios.push(r.lb.rps / r.base.rps);
            a.cpu.push(r.lb.cpuUs);
            a.p99.push(r.lb.p99);
            a.bad += r.lb.bad;
          }
          const after = await auditRuns(lb);
          a.runs += after.n - runsBefore.n;
          a.sum += after.sum - runsBefore.sum;
          await stop(lb);
        }
        for (const [name, a] of Object.entries(acc))
          rows.push(
            `| ${name} | **${f2(median(a.ratios))}** (${a.ratios.map(f2).join(", ")}) | ${f1(median(a.cpu))} | ${a.p99.join(", ")} | ${a.runs ? `${a.runs}, ${f1(a.sum / a.runs)} s each` : "0"} | ${a.bad} | ${a.la.join("; ")} |`,
          );
        const off = median(acc["audit off"].ratios);
        const b2b = acc["audit running back to back (every round during an audit)"];
        const during = median(b2b.ratios);
        const runS = b2b.sum / Math.max(1, b2b.runs);
        const share = Math.min(1, runS / 60);
        rows.push(
          `| at the default interval (60 s), averaged: a run under this load takes ${f1(runS)} s of each minute | ${f2(off * (1 - share) + during * share)} (${f2(off)} × ${f2(1 - share)} + ${f2(during)} × ${f2(share)}) | | | | | |`,
        );
      } finally {
        await stop(base);
      }
      say(
        `Throughput: lbguard (live source) against the baseline of bench/bench.ts (node:https, JSON.parse, allow), the same ${reviews.length} reviews (bench/mix.ts without its pool CREATEs, which with the live source each re-list the pools from the API server), autocannon with ${CONNECTIONS} connections; each configuration twice, alternating, ${ROUNDS} rounds of ${DURATION} s each time (lbguard and the baseline alternating; lbguard stopped with SIGSTOP while the baseline runs, so that its audit does not take the baseline's core) after a warm-up.`,
      );
      say("");
      say(
        "| lbguard | throughput ratio, median (rounds) | lbguard CPU per review, µs | lbguard p99 latency under full load, ms (rounds) | audit runs finished during warm-up and rounds, wall time | errors | load average at start |",
      );
      say("|---|---|---|---|---|---|---|");
      for (const r of rows) say(r);
      say("");
    }

    // ---- 3. the bounce detector --------------------------------------------------------------
    const b = bounceCost(mix(sizes));
    say(
      `Status-bounce detector, in process (best of 7 × 200,000 calls): ${b.status.toFixed(0)} ns per status UPDATE by a provider's identity (a hit: the same Services again), ${b.lru.toFixed(0)} ns when every write is a new Service (the LRU at 10,000, evicting), ${b.other.toFixed(0)} ns for any other review.`,
    );
  } finally {
    fake.kill("SIGTERM");
  }
  writeFileSync(join(os.tmpdir(), "lbguard-bench-background.md"), out.join("\n") + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
