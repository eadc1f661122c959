/**
 * CPU profile of `lbguard serve` under the benchmark mix (for finding what a
 * review costs beyond the baseline). Writes .bench/lbguard-*.cpuprofile and
 * prints the top self-time functions.
 *   node dist/bench/profile.js [--quick]
 */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { BENCH_POLICY, FULL, QUICK, writeState } from "./generate.js";
import { mix } from "./mix.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const sizes = process.argv.includes("--quick") ? QUICK : FULL;

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-prof-"));
  const out = join(ROOT, ".bench");
  mkdirSync(out, { recursive: true });
  ensureDevCertificates(join(dir, "certs"));
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  writeState(
    join(dir, "state"),
    process.env.PROFILE_EMPTY ? { ...sizes, namespaces: 0, pools: 0, services: 0, kubeVipRanges: 0 } : sizes,
  );
  const baseline = process.argv.includes("--baseline");
  const name = `${baseline ? "baseline" : "lbguard"}-${Date.now()}.cpuprofile`;
  const args = baseline
    ? [join(ROOT, process.env.PROFILE_BASELINE ?? "dist/bench/baseline.js"), "--cert-dir", join(dir, "certs")]
    : [
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
      ];
  const lb = spawn(process.execPath, ["--cpu-prof", "--cpu-prof-dir", out, "--cpu-prof-name", name, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve) => {
    let s = "";
    lb.stdout!.on("data", (c) => {
      s += c;
      const m = /(?:serving on https:\/\/localhost:|listening on )(\d+)/.exec(s);
      if (m) resolve(Number(m[1]));
    });
  });
  const reviews = mix(sizes);
  const res = await autocannon({
    url: `https://127.0.0.1:${port}`,
    connections: 10,
    duration: 10,
    requests: reviews.map((r) => ({
      method: "POST",
      path: r.path,
      headers: { "content-type": "application/json" },
      body: r.body,
    })),
  });
  lb.kill("SIGTERM");
  await new Promise((r) => lb.on("exit", r));
  const file = name;
  const prof = JSON.parse(readFileSync(join(out, file), "utf8"));
  const self = new Map<string, number>();
  const dt = prof.timeDeltas as number[];
  const byId = new Map<number, any>(prof.nodes.map((n: any) => [n.id, n]));
  const total = dt.reduce((a: number, b: number) => a + b, 0);
  (prof.samples as number[]).forEach((id, i) => {
    const n = byId.get(id);
    const key = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(node_modules\/|dist\/)/, "$1")}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 25));
  for (const [k, v] of top)
    console.log(
      `${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / res.requests.total).toFixed(2).padStart(6)} µs/req  ${k}`,
    );
  // CPU microseconds per request, by origin
  const groups = new Map<string, number>();
  for (const [k, v] of self) {
    const g = k.startsWith("(idle)")
      ? "idle"
      : k.includes("dist/src") || k.includes("dist/bench")
        ? "lbguard code"
        : k.includes("node_modules/")
          ? `lib ${k.split("node_modules/")[1].split("/")[0]}`
          : k.includes("node:")
            ? "node internals"
            : "native (TLS, JSON, GC…)";
    groups.set(g, (groups.get(g) ?? 0) + v);
  }
  const n = res.requests.total;
  console.log(`requests: ${n} (${Math.round(res.requests.average)}/s)`);
  for (const [g, v] of [...groups.entries()].sort((a, b) => b[1] - a[1]))
    console.log(`  ${g.padEnd(28)} ${(v / n).toFixed(1)} µs/request`);
  console.log(`profile: ${join(out, file)}`);
}
main();
