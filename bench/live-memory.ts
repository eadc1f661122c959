/**
 * Memory of `lbguard serve` fed by the live source: a fake API server (its own
 * process) holds 10,000 namespaces, 10,000 pools and 100,000 LoadBalancer
 * Services (half kube-vip's); lbguard lists and watches them through its
 * informers. Reports the time to ready and lbguard's RSS.
 *   node dist/bench/live-memory.js [--quick] [--pods N]
 * `--pods N` adds N Pods across the namespaces, 10 of them kube-vip Pods in
 * tenant namespaces owned by Jobs and ReplicaSets (bench/pods.ts): the live
 * source watches every Pod, and keeps next to nothing of the others.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_POLICY } from "./generate.js";
import { kubeVipPodVIP } from "./pods.js";
import { rssMB, waitForLine } from "./proc.js";
import { LB_FLAGS } from "./servers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const quick = process.argv.includes("--quick");
const podsAt = process.argv.indexOf("--pods");
const pods = podsAt > 0 ? Number(process.argv[podsAt + 1]) : 0;

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

function post(port: number, ca: string, body: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        ca,
        servername: "lbguard.lbguard-system.svc",
        headers: { "Content-Type": "application/json" },
      },
      (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolve(JSON.parse(b).response));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-mem-"));
  const fake = spawn(
    process.execPath,
    [
      ...(pods ? ["--max-old-space-size=4096"] : []),
      join(ROOT, "dist/test/fake/apiserver-main.js"),
      "--generate",
      quick ? "quick" : "full",
      ...(pods ? ["--pods", String(pods)] : []),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const [, port, count] = await waitForLine(fake, /listening on (\d+) with (\d+) objects/);
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  writeFileSync(
    join(dir, "kubeconfig"),
    `apiVersion: v1\nkind: Config\nclusters:\n- name: f\n  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: f\n  context: {cluster: f, user: u}\ncurrent-context: f\n`,
  );
  const t0 = Date.now();
  const lb2 = spawn(
    process.execPath,
    [
      ...LB_FLAGS,
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--policy",
      join(dir, "policy.yaml"),
      "--kubeconfig",
      join(dir, "kubeconfig"),
      "--cert-dir",
      join(dir, "certs"),
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const [, metricsPort, httpsPort] = await waitForLine(
    lb2,
    /"metricsPort":(\d+).*serving on https:\/\/localhost:(\d+)/,
  );
  const ca = readFileSync(join(dir, "certs/ca.crt"), "utf8");
  const hp = Number(httpsPort);
  while ((await get(hp, ca, "/readyz")) !== 200) await new Promise((r) => setTimeout(r, 200));
  const readyMs = Date.now() - t0;
  // prove the state is there: a pool over the last generated pool, a Service on a kube-vip address
  const poolReview = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "p",
      kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
      operation: "CREATE",
      namespace: "metallb-system",
      object: {
        apiVersion: "metallb.io/v1beta1",
        kind: "IPAddressPool",
        metadata: { name: "x", namespace: "metallb-system" },
        spec: { addresses: ["172.16.0.0/30"] },
      },
    },
  });
  const denied = await post(hp, ca, poolReview);
  // with --pods: a pool over the control-plane VIP of a kube-vip Pod among them is denied
  const podPool = pods
    ? await post(
        hp,
        ca,
        poolReview.replace('"uid":"p"', '"uid":"q"').replace("172.16.0.0/30", `${kubeVipPodVIP(0)}/32`),
      )
    : undefined;
  const samples: number[] = [];
  for (let i = 0; i < (quick ? 3 : 10); i++) {
    samples.push(rssMB(lb2.pid!));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const metrics = await new Promise<string>((resolve, reject) => {
    import("node:http").then(({ get: hget }) =>
      hget({ host: "127.0.0.1", port: Number(metricsPort), path: "/metrics" }, (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolve(b));
      }).on("error", reject),
    );
  });
  const metric = (n: string) => Number(new RegExp(`^${n} (\\S+)`, "m").exec(metrics)?.[1] ?? NaN) / 1048576;
  const result = {
    bench: "live-source-memory",
    node: process.version,
    cores: os.cpus().length,
    objectsServed: Number(count),
    readyMs,
    poolOverKubeVipServiceDenied: denied.allowed === false,
    denial: denied.status?.message,
    ...(podPool
      ? { pods, poolOverKubeVipPodDenied: podPool.allowed === false, podDenial: podPool.status?.message }
      : {}),
    rssMB: { max: +Math.max(...samples).toFixed(1), last: +samples[samples.length - 1].toFixed(1) },
    heapUsedMB: +metric("nodejs_heap_size_used_bytes").toFixed(1),
    heapTotalMB: +metric("nodejs_heap_size_total_bytes").toFixed(1),
    externalMB: +metric("nodejs_external_memory_bytes").toFixed(1),
  };
  console.log(JSON.stringify(result));
  lb2.kill("SIGTERM");
  fake.kill("SIGTERM");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
