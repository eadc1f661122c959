/**
 * Micro-benchmark: the in-process decision for an IPAddressPool CREATE
 * against a large cluster view (default 10,000 pools and 100,000 kube-vip
 * Service addresses). Measures the rule engine only (no HTTP), wall and CPU.
 * Then, at 1,000, 10,000 and 100,000 pools (--scale), a denied Service (an
 * address in no pool: the denial lists the pools admitting its namespace), an
 * allowed Service and a pool CREATE, best of 5 runs.
 *   node dist/bench/pool-decision.js [--pools N] [--kube-vip-services N] [--iterations N] [--scale 1000,10000,100000]
 */
import os from "node:os";
import { MemoryView } from "../src/cluster/view.js";
import { parsePolicy } from "../src/policy/load.js";
import { validate } from "../src/rules/engine.js";
import type { AdmissionInput } from "../src/rules/types.js";
import { BENCH_POLICY, generate } from "./generate.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const pools = arg("pools", 10_000);
const kvServices = arg("kube-vip-services", 100_000);
const iterations = arg("iterations", 20_000);

const policy = parsePolicy(BENCH_POLICY);
const view = new MemoryView();
const t0 = performance.now();
for (const o of generate({ namespaces: 1000, pools, services: kvServices, kubeVipShare: 1, kubeVipRanges: 50 }))
  view.apply(o);
const loadMs = performance.now() - t0;

const ip4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
function req(i: number): AdmissionInput {
  // three shapes: clear of everything, overlapping an existing pool, overlapping kube-vip Service addresses
  const kind = i % 3;
  const addr =
    kind === 0
      ? `${ip4(((100 << 24) | (i << 8)) >>> 0)}/24`
      : kind === 1
        ? `${ip4(((10 << 24) | (64 << 16)) + (i % pools) * 16)}/28`
        : `${ip4(((172 << 24) | (16 << 16)) + (i % kvServices))}/30`;
  return {
    uid: `u${i}`,
    kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
    operation: "CREATE",
    namespace: "metallb-system",
    userInfo: { username: "admin" },
    object: {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: `new-${i}`, namespace: "metallb-system" },
      spec: { addresses: [addr, "fd00:99::/120"] },
    },
  };
}

// warm up
let denied = 0;
for (let i = 0; i < 2000; i++) validate(req(i), view, policy);
const cpu0 = process.cpuUsage();
const w0 = performance.now();
for (let i = 0; i < iterations; i++) if (validate(req(i), view, policy).denials.length) denied++;
const wall = performance.now() - w0;
const cpu = process.cpuUsage(cpu0);
const perWallUs = (wall * 1000) / iterations;
const perCpuUs = (cpu.user + cpu.system) / iterations;
console.log(
  JSON.stringify({
    bench: "pool-create-decision",
    node: process.version,
    cores: os.cpus().length,
    pools,
    kubeVipServiceAddresses: kvServices,
    iterations,
    deniedShare: +(denied / iterations).toFixed(3),
    loadMs: Math.round(loadMs),
    wallUsPerDecision: +perWallUs.toFixed(2),
    cpuUsPerDecision: +perCpuUs.toFixed(2),
  }),
);

// For contrast: the same overlap question answered by scanning every pool entry and
// every kube-vip Service address (what a webhook without an index does per request).
import { overlaps, parseGoCIDR } from "../src/addr/interval.js";
import type { Interval } from "../src/addr/interval.js";
const allPoolIvs: Interval[] = view.pools("metallb-system").flatMap((p) => p.entries.flatMap((e) => e.intervals));
const allSvcIvs: Interval[] = [];
for (let i = 0; i < kvServices; i++) {
  const s = view.service(`ns-${i % 1000}`, `svc-${i}`);
  if (s) for (const a of s.addrs) allSvcIvs.push(a);
}
const scanIters = Math.max(200, Math.floor(iterations / 50));
const s0 = performance.now();
let hits = 0;
for (let i = 0; i < scanIters; i++) {
  const spec = (req(i).object!.spec as { addresses: string[] }).addresses[0];
  const iv = parseGoCIDR(spec)!.iv;
  for (const p of allPoolIvs) if (overlaps(p, iv)) hits++;
  for (const a of allSvcIvs) if (overlaps(a, iv)) hits++;
}
const scanUs = ((performance.now() - s0) * 1000) / scanIters;
console.log(
  JSON.stringify({
    bench: "pool-create-linear-scan-for-contrast",
    entries: allPoolIvs.length + allSvcIvs.length,
    wallUsPerQuery: +scanUs.toFixed(1),
    hits,
  }),
);

// ---- cost against the pool count: a denied Service, an allowed Service, a pool CREATE
function serviceReq(i: number, ip: string): AdmissionInput {
  const object = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `scale-${i}`, namespace: "ns-1", labels: { app: "web" } },
    spec: { type: "LoadBalancer", loadBalancerClass: "metallb", loadBalancerIP: ip, ports: [{ port: 443 }] },
  };
  return {
    uid: `s${i}`,
    kind: { group: "", version: "v1", kind: "Service" },
    resource: { group: "", version: "v1", resource: "services" },
    operation: "CREATE",
    namespace: "ns-1",
    name: object.metadata.name,
    userInfo: { username: "admin" },
    object,
  };
}

/** µs per call, best of 5 runs of at least 200 ms (or `max` calls) each */
function timeIt(fn: (i: number) => void, max = 20_000): number {
  const w0 = performance.now();
  let warm = 0;
  while (warm < 2000 && performance.now() - w0 < 500) fn(warm++);
  const once = (performance.now() - w0) / warm;
  const n = Math.max(10, Math.min(max, Math.ceil(200 / Math.max(once, 0.001))));
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const s0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, ((performance.now() - s0) * 1000) / n);
  }
  return best;
}

const scale = (
  process.argv.includes("--scale") ? process.argv[process.argv.indexOf("--scale") + 1] : "1000,10000,100000"
)
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
for (const n of scale) {
  const v = new MemoryView();
  for (const o of generate({ namespaces: 1000, pools: n, services: 10_000, kubeVipShare: 0.5, kubeVipRanges: 50 }))
    v.apply(o);
  (v as { settle?: () => void }).settle?.(); // absent before issue 16
  const denied = validate(serviceReq(0, "10.200.0.1"), v, policy);
  const allowed = validate(serviceReq(0, "10.64.0.17"), v, policy);
  if (!denied.denials.length || allowed.denials.length)
    throw new Error(`unexpected verdicts: ${JSON.stringify({ denied: denied.denials, allowed: allowed.denials })}`);
  const deniedUs = timeIt((i) => validate(serviceReq(i, "10.200.0.1"), v, policy));
  const allowedUs = timeIt((i) => validate(serviceReq(i, "10.64.0.17"), v, policy));
  const poolUs = timeIt((i) => validate(req(i * 3), v, policy));
  console.log(
    JSON.stringify({
      bench: "decision-vs-pool-count",
      pools: n,
      deniedServiceUs: +deniedUs.toFixed(2),
      allowedServiceUs: +allowedUs.toFixed(2),
      poolCreateUs: +poolUs.toFixed(2),
      denial: n === scale[0] ? `${denied.denials[0].problem}; ${denied.denials[0].fix}` : undefined,
    }),
  );
}
