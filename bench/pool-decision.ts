/**
 * Micro-benchmark: the in-process decision for an IPAddressPool CREATE
 * against a large cluster view (default 10,000 pools and 100,000 kube-vip
 * Service addresses). Measures the rule engine only (no HTTP), wall and CPU.
 *   node dist/bench/pool-decision.js [--pools N] [--kube-vip-services N] [--iterations N]
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
