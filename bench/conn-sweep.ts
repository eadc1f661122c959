/** Experiment: throughput of lbguard and the baseline against the number of keep-alive connections. */
import autocannon from "autocannon";
import { spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { BENCH_POLICY, QUICK, writeState } from "./generate.js";
import { mix } from "./mix.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const port = (c: ChildProcess) =>
  new Promise<number>((resolve) => {
    let s = "";
    c.stdout!.on("data", (d) => {
      s += d;
      const m = /(?:serving on https:\/\/localhost:|listening on )(\d+)/.exec(s);
      if (m) resolve(Number(m[1]));
    });
  });
const dir = mkdtempSync(join(os.tmpdir(), "lbguard-sweep-"));
ensureDevCertificates(join(dir, "certs"));
writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
writeState(join(dir, "state"), QUICK);
const pin = process.env.PIN ? ["taskset", "-c", process.env.PIN] : [];
const cmd = (args: string[]) =>
  (pin.length ? [pin[0], [...pin.slice(1), process.execPath, ...args]] : [process.execPath, args]) as [
    string,
    string[],
  ];
const lbArgs = process.env.LB_VARIANT
  ? [join(ROOT, "dist/bench/transport-only.js"), "--cert-dir", join(dir, "certs")]
  : null;
const lb = spawn(
  ...cmd(
    lbArgs ?? [
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
  ),
  { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, VARIANT: process.env.LB_VARIANT ?? "" } },
);
const base = spawn(...cmd([join(ROOT, "dist/bench/baseline.js"), "--cert-dir", join(dir, "certs")]), {
  stdio: ["ignore", "pipe", "inherit"],
});
const [lp, bp] = await Promise.all([port(lb), port(base)]);
const reqs = mix(QUICK).map((r) => ({
  method: "POST",
  path: r.path,
  headers: { "content-type": "application/json" },
  body: r.body,
}));
for (const connections of (process.env.CONNS ?? "10,32,100").split(",").map(Number)) {
  const run = async (p: number) =>
    (await autocannon({ url: `https://127.0.0.1:${p}`, connections, duration: 4, requests: reqs })).requests.average;
  const b1 = await run(bp);
  const l1 = await run(lp);
  const b2 = await run(bp);
  const l2 = await run(lp);
  console.log(
    `connections ${connections}: baseline ${Math.round((b1 + b2) / 2)}/s, lbguard ${Math.round((l1 + l2) / 2)}/s, ratio ${((l1 + l2) / (b1 + b2)).toFixed(2)}`,
  );
}
lb.kill();
base.kill();
