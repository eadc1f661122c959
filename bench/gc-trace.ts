/** Experiment: GC pauses of `lbguard serve` (full view) at a fixed 1,000 reviews/s. Extra node flags from GC_FLAGS. */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { BENCH_POLICY, FULL, writeState } from "./generate.js";
import { mix } from "./mix.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), "lbguard-gc-"));
ensureDevCertificates(join(dir, "certs"));
writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
writeState(join(dir, "state"), FULL);
const flags = (process.env.GC_FLAGS ?? "").split(" ").filter(Boolean);
const lb = spawn(
  process.execPath,
  [
    "--trace-gc",
    ...flags,
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
let out = "";
const marking = false;
const port = await new Promise<number>((resolve) => {
  lb.stdout!.on("data", (c) => {
    out += c;
    const m = /listening|serving on https:\/\/localhost:(\d+)/.exec(out);
    if (m && m[1]) resolve(Number(m[1]));
  });
  setTimeout(() => {
    // the serving line is at info; with warn we find the port from the generated-cert warning's neighbour instead
  }, 0);
});
void marking;
const reviews = mix(FULL).map((r) => ({
  method: "POST",
  path: r.path,
  headers: { "content-type": "application/json" },
  body: r.body,
}));
const mark = out.length;
const times: number[] = [];
const inst = autocannon({
  url: `https://127.0.0.1:${port}`,
  connections: 10,
  overallRate: 1000,
  duration: 15,
  requests: reviews,
});
inst.on("response", (_c: unknown, _s: number, _b: number, ms: number) => times.push(ms));
await inst;
const trace = out
  .slice(mark)
  .split("\n")
  .filter((l) => /Mark-Compact|Scavenge|Mark-sweep/.test(l));
const mc = trace.filter((l) => /Mark-Compact|Mark-sweep/.test(l));
const pauses = mc.map((l) => Number(/MB, ([\d.]+) \/ ([\d.]+) ms/.exec(l)?.[1] ?? NaN));
times.sort((a, b) => a - b);
console.log(
  `flags [${flags.join(" ")}]: scavenges ${trace.length - mc.length}, mark-compacts ${mc.length}, pauses ms ${pauses.map((p) => p.toFixed(1)).join(", ")}`,
);
console.log(
  `p50 ${times[Math.floor(times.length * 0.5)].toFixed(2)} p99 ${times[Math.floor(times.length * 0.99)].toFixed(2)} max ${times[times.length - 1].toFixed(1)} ms`,
);
for (const l of trace.slice(0, 6)) console.log("  " + l.trim().slice(0, 160));
lb.kill();
