/**
 * An open-loop load generator: request i is sent at t0 + i/rate whatever the
 * answers so far, and its latency is measured from that scheduled instant to
 * the end of its answer, so a server that stalls is charged for every request
 * that waited behind the stall (a closed-loop generator such as autocannon's
 * `overallRate` sends less while the server stalls and under-reports it).
 * Requests go over a fixed number of keep-alive TLS sockets (10: what an API
 * server keeps open to a webhook under moderate load; RawPool below); one that
 * finds every socket busy waits in the queue, and that wait is part of its
 * latency.
 *
 * As a program, it measures lbguard and the baseline side by side:
 *   node dist/bench/openloop.js [--quick] [--rates 1000,5000] [--reps 3] [--duration S]
 *     [--lb-flags "--max-semi-space-size=8"] [--fresh] [--cold] [--idle S] [--trace-gc] [--series] [--warmup S]
 * alternating the servers in every repetition (this machine is noisy).
 * --fresh starts a new server for every run and measures its first seconds
 * from the moment it listens (no unrecorded seconds at rate; lbguard has done
 * its own warm-up, src/admission/warmup.ts, by then; the generator warms up
 * first against a throwaway server); --cold adds lbguard with `--warm-up 0`
 * to the rotation; --idle S a server's first seconds after S idle seconds; --trace-gc prints
 * lbguard's GC trace lines that fall into the measured window; --series the
 * worst latency in every 250 ms.
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { pathToFileURL } from "node:url";
import { apiServerRequestHead } from "../src/k8s/wire.js";
import { FULL, QUICK } from "./generate.js";
import { MixedReview, mix } from "./mix.js";
import { cpuSeconds, rssMB } from "./proc.js";
import { LB_FLAGS, PIN, Server, pinGenerator, prepare, startBaseline, startLbguard, stop } from "./servers.js";

export interface OpenLoopOptions {
  port: number;
  /** CA of the serving certificate: the generator verifies it, as the API server does */
  ca: string;
  reviews: MixedReview[];
  /** reviews per second */
  rate: number;
  durationS: number;
  /** seconds at the same rate before the measured window (not recorded) */
  warmupS?: number;
  sockets?: number;
  /** the server process, for its CPU time over the measured window */
  pid?: number;
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  /** answers that were not 200, and connection errors */
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** how late the generator itself sent, ms (its timer granularity and its own pauses): p99 / max */
  sendLagP99: number;
  sendLagMax: number;
  /** the server's CPU over the measured window, share of one core */
  serverCpu: number;
  /** peak RSS of the server in the window, MB */
  rssPeak: number;
  /**
   * share of the window in which some runnable task of this machine waited for
   * a CPU (/proc/pressure/cpu "some"; NaN where absent): other work competing
   * with the measurement. Near 0 on a quiet machine.
   */
  pressure: number;
  /** per request, in send order: scheduled time (ms from the window's start) and latency (ms) */
  scheduled: Float64Array;
  latency: Float64Array;
}

/** /proc/pressure/cpu "some" total, µs (NaN where the kernel has no PSI) */
export function cpuPressureUs(): number {
  try {
    return Number(/some .*total=(\d+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * A keep-alive HTTP/1.1 client over raw TLS sockets, one request in flight per
 * socket and a FIFO queue in front of them (what an https.Agent with
 * `maxSockets` does), but without node's http client: its per-request objects
 * and parsing cost the generator ~60 µs a request, and at 5,000/s that made
 * the generator itself late by milliseconds at p99, which every figure then
 * included. Requests are pre-encoded; a response is complete when its
 * Content-Length bytes are in. The certificate is verified against the CA for
 * the service name, as the API server does.
 */
class RawPool {
  private readonly idle: Conn[] = [];
  private readonly queue: number[] = [];
  private opening = 0;
  private closed = false;
  private readonly all = new Set<Conn>();

  constructor(
    private readonly o: { port: number; ca: string; sockets: number },
    private readonly bytesOf: (i: number) => Buffer,
    private readonly onDone: (i: number, ok: boolean) => void,
  ) {}

  send(i: number): void {
    this.queue.push(i);
    this.pump();
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.sock.destroy();
  }

  private pump(): void {
    while (this.queue.length && this.idle.length) {
      const c = this.idle.pop()!;
      const i = this.queue.shift()!;
      c.inFlight = i;
      c.sock.write(this.bytesOf(i));
    }
    if (this.queue.length && this.all.size + this.opening < this.o.sockets) this.open();
  }

  private open(): void {
    this.opening++;
    const sock = tls.connect({ host: "127.0.0.1", port: this.o.port, ca: this.o.ca, servername: SERVICE_NAME });
    const c: Conn = { sock, inFlight: -1, buf: Buffer.alloc(0) };
    sock.setNoDelay(true);
    sock.once("secureConnect", () => {
      this.opening--;
      this.all.add(c);
      this.idle.push(c);
      this.pump();
    });
    sock.on("data", (d: Buffer) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      for (;;) {
        const he = c.buf.indexOf("\r\n\r\n");
        if (he < 0) return;
        const head = c.buf.subarray(0, he).toString("latin1");
        const cl = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (c.buf.length < he + 4 + cl) return;
        const ok = head.startsWith("HTTP/1.1 200");
        const close = /\r\nconnection:\s*close/i.test(head);
        c.buf = c.buf.subarray(he + 4 + cl);
        const i = c.inFlight;
        c.inFlight = -1;
        if (i >= 0) this.onDone(i, ok);
        if (close) {
          sock.destroy();
          return;
        }
        this.idle.push(c);
        this.pump();
      }
    });
    const lost = () => {
      if (!this.all.delete(c)) this.opening--;
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
      if (c.inFlight >= 0) {
        const j = c.inFlight;
        c.inFlight = -1;
        this.onDone(j, false);
      }
      if (!this.closed) this.pump();
    };
    sock.once("close", lost);
    sock.on("error", () => undefined);
  }
}

interface Conn {
  sock: tls.TLSSocket;
  /** the request on this socket, or -1 */
  inFlight: number;
  buf: Buffer;
}

const SERVICE_NAME = "lbguard.lbguard-system.svc";

export function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const sockets = o.sockets ?? 10;
  const warm = Math.round((o.warmupS ?? 0) * o.rate);
  const total = warm + Math.round(o.durationS * o.rate);
  const requests = o.reviews.map((r) => {
    const body = Buffer.from(r.body);
    // as kube-apiserver writes it (src/k8s/wire.ts): the header order is part of what V8 compiles for
    const head = apiServerRequestHead(r.path, body.length, `${SERVICE_NAME}:443`);
    return Buffer.concat([Buffer.from(head, "latin1"), body]);
  });
  const scheduled = new Float64Array(total);
  const latency = new Float64Array(total).fill(NaN);
  const lag = new Float64Array(total);
  let errors = 0;
  let finished = 0;
  let next = 0;
  let cpu0 = 0;
  let psi0 = NaN;
  let w0 = 0;
  let rssPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  const t0 = performance.now() + 20;
  const at = (i: number) => t0 + (i * 1000) / o.rate;

  return new Promise((resolve) => {
    const done = () => {
      if (++finished < total) return;
      if (sampler) clearInterval(sampler);
      const serverCpu = o.pid ? (cpuSeconds(o.pid) - cpu0) / (o.durationS || 1) : NaN;
      const pressure = (cpuPressureUs() - psi0) / 1000 / (performance.now() - w0);
      pool.close();
      const lat = latency.subarray(warm);
      const sorted = Float64Array.from(lat.filter((x) => !Number.isNaN(x))).sort();
      const lags = Float64Array.from(lag.subarray(warm)).sort();
      const sch = scheduled.subarray(warm).map((s) => s - (scheduled[warm] ?? 0));
      resolve({
        rate: o.rate,
        sent: total - warm,
        errors,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        p999: percentile(sorted, 99.9),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        sendLagP99: percentile(lags, 99),
        sendLagMax: lags.length ? lags[lags.length - 1] : NaN,
        serverCpu,
        rssPeak,
        pressure,
        scheduled: sch,
        latency: lat,
      });
    };
    const pool = new RawPool(
      { port: o.port, ca: o.ca, sockets },
      (i) => requests[i % requests.length],
      (i, ok) => {
        if (ok) latency[i] = performance.now() - scheduled[i];
        else errors++;
        done();
      },
    );
    const send = (i: number) => {
      const sch = at(i);
      scheduled[i] = sch;
      lag[i] = performance.now() - sch;
      if (i === warm) {
        psi0 = cpuPressureUs();
        w0 = performance.now();
      }
      if (i === warm && o.pid) {
        cpu0 = cpuSeconds(o.pid);
        rssPeak = rssMB(o.pid);
        const pid = o.pid;
        sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMB(pid))), 250);
      }
      pool.send(i);
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) * o.rate) / 1000) + 1);
      while (next < due) send(next++);
      if (next >= total) return;
      // node's timers have a 1 ms granularity: within 2 ms of the next send, poll (setImmediate lets
      // I/O in between), so a request leaves within microseconds of its instant, not up to 1-2 ms late
      const wait = at(next) - performance.now();
      if (wait > 2) setTimeout(tick, wait - 2);
      else setImmediate(tick);
    };
    setTimeout(tick, 20);
  });
}

/** Stalls: maximal runs of requests whose latency exceeds `ms`, as [start ms, worst latency ms, requests]. */
export function stalls(r: OpenLoopResult, ms = 20): [number, number, number][] {
  const out: [number, number, number][] = [];
  let cur: [number, number, number] | undefined;
  for (let i = 0; i < r.latency.length; i++) {
    const l = r.latency[i];
    if (l > ms) {
      if (!cur || r.scheduled[i] - (cur[0] + cur[1]) > 50) out.push((cur = [r.scheduled[i], l, 0]));
      cur[1] = Math.max(cur[1], l);
      cur[2]++;
    }
  }
  return out;
}

export const fmtRun = (r: OpenLoopResult) =>
  `p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r.p999.toFixed(2)} max ${r.max.toFixed(1)} ms; ` +
  `server CPU ${(r.serverCpu * 100).toFixed(0)}%, RSS peak ${r.rssPeak.toFixed(0)} MB, errors ${r.errors}, ` +
  `generator lag p99/max ${r.sendLagP99.toFixed(2)}/${r.sendLagMax.toFixed(1)} ms, CPU pressure ${(r.pressure * 100).toFixed(0)}%`;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
  const quick = process.argv.includes("--quick");
  const sizes = quick ? QUICK : FULL;
  const rates = arg("rates", "1000,5000").split(",").map(Number);
  const reps = Number(arg("reps", "3"));
  const duration = Number(arg("duration", quick ? "5" : "10"));
  const fresh = process.argv.includes("--fresh");
  const idleS = Number(arg("idle", "0"));
  const traceGc = process.argv.includes("--trace-gc");
  const lbFlags = process.argv.includes("--lb-flags") ? arg("lb-flags", "").split(" ").filter(Boolean) : LB_FLAGS;
  pinGenerator();
  const w = prepare(sizes, "lbguard-openloop-");
  const reviews = mix(sizes);
  console.log(
    `open loop: ${sizes.services} Services, lbguard flags [${lbFlags.join(" ")}], ${duration} s per run, ${PIN ? "pinned" : "not pinned"}${fresh ? ", fresh servers" : ""}${idleS ? `, after ${idleS} s idle` : ""}`,
  );
  let gcLines: string[] = [];
  // --cold: a third server, lbguard without its warm-up (--warm-up 0), in the same rotation
  const cold = process.argv.includes("--cold");
  const startLb = async (args: string[] = []) => {
    const s = await startLbguard(w, traceGc ? ["--trace-gc", ...lbFlags] : lbFlags, args);
    if (traceGc)
      s.child.stdout!.on("data", (c: Buffer) => {
        for (const l of c.toString().split("\n")) if (/Scavenge|Mark-Compact|Mark-Sweep/i.test(l)) gcLines.push(l);
      });
    return s;
  };
  if (fresh) {
    // the generator's own code warms up first, against a throwaway baseline: its first run would be slower
    const g = await startBaseline(w);
    await openLoop({ port: g.port, ca: w.ca, reviews, rate: 2000, durationS: 2, warmupS: 0 });
    await stop(g);
  }
  const lb: Server | undefined = fresh ? undefined : await startLb();
  const base: Server | undefined = fresh ? undefined : await startBaseline(w);
  const coldLb: Server | undefined = cold && !fresh ? await startLb(["--warm-up", "0"]) : undefined;
  type Which = "lbguard" | "cold" | "baseline";
  const p99s: Record<string, number[]> = {};
  const run = async (which: Which, rate: number) => {
    let s = which === "lbguard" ? lb : which === "cold" ? coldLb : base;
    const t0 = performance.now();
    if (fresh)
      s =
        which === "lbguard"
          ? await startLb()
          : which === "cold"
            ? await startLb(["--warm-up", "0"])
            : await startBaseline(w);
    const startS = (performance.now() - t0) / 1000;
    if (idleS > 0) await new Promise((r) => setTimeout(r, idleS * 1000));
    gcLines = [];
    const r = await openLoop({
      port: s!.port,
      ca: w.ca,
      reviews,
      rate,
      durationS: duration,
      warmupS: fresh || idleS > 0 ? 0 : Number(arg("warmup", "1")),
      pid: s!.pid,
    });
    console.log(
      `  ${which.padEnd(8)} ${String(rate).padStart(5)}/s: ${fmtRun(r)}${fresh ? `; started in ${startS.toFixed(1)} s` : ""}`,
    );
    if (process.argv.includes("--series")) {
      // worst latency of the requests scheduled in each 250 ms
      const bins: number[] = [];
      for (let i = 0; i < r.latency.length; i++) {
        const b = Math.floor(r.scheduled[i] / 250);
        bins[b] = Math.max(bins[b] ?? 0, r.latency[i]);
      }
      console.log(`    worst ms per 250 ms: ${bins.map((x) => x.toFixed(0)).join(" ")}`);
    }
    const st = stalls(r);
    if (st.length)
      console.log(
        `    stalls > 20 ms (at s: worst ms × requests): ${st
          .slice(0, 12)
          .map(([t, l, n]) => `${(t / 1000).toFixed(2)}: ${l.toFixed(0)}×${n}`)
          .join(", ")}${st.length > 12 ? ` … ${st.length} in all` : ""}`,
      );
    if (traceGc && which !== "baseline") {
      const mc = gcLines.filter((l) => /Mark-Compact|Mark-Sweep/i.test(l));
      const sc = gcLines.filter((l) => /Scavenge/.test(l));
      const ms = sc.map((l) => Number(/MB, ([\d.]+) \//.exec(l)?.[1] ?? NaN)).sort((x, y) => x - y);
      const heap = (l: string | undefined) => /-> ([\d.]+) \(/.exec(l ?? "")?.[1] ?? "?";
      console.log(
        `    GC: ${sc.length} scavenges (pause p50 ${ms[Math.floor(ms.length / 2)]?.toFixed(2)} max ${ms[ms.length - 1]?.toFixed(2)} ms; heap after ${heap(sc[0])} → ${heap(sc[sc.length - 1])} MB), ${mc.length} mark-compacts`,
      );
      for (const l of mc) console.log(`      ${l.trim().slice(0, 200)}`);
    }
    if (fresh) await stop(s!);
    (p99s[`${which} ${rate}/s`] ??= []).push(r.p99);
    return r;
  };
  try {
    for (let rep = 0; rep < reps; rep++)
      for (const rate of rates) {
        const kinds: Which[] = cold ? ["lbguard", "cold", "baseline"] : ["lbguard", "baseline"];
        for (const which of rep % 2 ? kinds.reverse() : kinds) await run(which, rate);
      }
    for (const [k, v] of Object.entries(p99s)) {
      const sorted = [...v].sort((x, y) => x - y);
      console.log(
        `  p99 of ${k}: ${v.map((x) => x.toFixed(1)).join(", ")} ms; median ${sorted[(sorted.length - 1) >> 1]!.toFixed(1)} ms`,
      );
    }
  } finally {
    if (lb) await stop(lb);
    if (coldLb) await stop(coldLb);
    if (base) await stop(base);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
