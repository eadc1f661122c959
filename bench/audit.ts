/**
 * `lbguard audit` on a large snapshot: the benchmark cluster of generate.ts
 * (namespaces, pools, LoadBalancer Services, the kube-vip ConfigMap and static
 * pods), written as `kubectl get -o json --show-managed-fields` would (every
 * Service with its managedFields), plus what the audit reads besides: MetalLB's
 * controller, a kube-vip DaemonSet, Nodes and their Leases. Reports the wall
 * time, CPU time and peak RSS (getrusage) of the `lbguard audit` process, with the
 * benchmark policy and with the policy it infers, at 10k and 100k Services.
 *   node dist/bench/audit.js [--quick]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_POLICY, FULL, QUICK, Sizes, writeState } from "./generate.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHILD = join(ROOT, "dist/bench/audit-child.js");

type Obj = Record<string, any>;

/** Give every Service what the API server returns with it: uid, resourceVersion, managedFields. */
function asKubectl(dir: string): void {
  for (const f of readdirSync(dir).filter((n) => n.startsWith("services-"))) {
    const list = JSON.parse(readFileSync(join(dir, f), "utf8"));
    list.items.forEach((s: Obj, i: number) => {
      s.metadata.uid = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
      s.metadata.resourceVersion = String(1000 + i);
      s.metadata.creationTimestamp = "2025-01-01T00:00:00Z";
      s.metadata.managedFields = [
        {
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:spec": { "f:ports": {}, "f:type": {} } },
          manager: "kubectl-client-side-apply",
          operation: "Update",
          time: "2025-01-01T00:00:00Z",
        },
        {
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } },
          manager: s.spec.loadBalancerClass ? "controller" : "kube-vip",
          operation: "Update",
          subresource: "status",
          time: "2025-01-01T00:00:01Z",
        },
      ];
      s.spec.clusterIP = `10.96.${(i >> 8) & 255}.${i & 255}`;
      s.spec.sessionAffinity = "None";
    });
    writeFileSync(join(dir, f), JSON.stringify(list));
  }
  const nodes = 100;
  const items: Obj[] = [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "controller", namespace: "metallb-system", uid: "m-1" },
      spec: {
        template: {
          spec: {
            serviceAccountName: "controller",
            containers: [
              { name: "controller", image: "quay.io/metallb/controller:v0.14.9", args: ["--lb-class=metallb"] },
            ],
          },
        },
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "kube-vip-ds", namespace: "kube-system", uid: "k-1" },
      spec: {
        template: {
          spec: {
            serviceAccountName: "kube-vip",
            containers: [
              {
                name: "kube-vip",
                image: "ghcr.io/kube-vip/kube-vip:v0.8.9",
                args: ["manager"],
                env: [
                  { name: "vip_arp", value: "true" },
                  { name: "svc_enable", value: "true" },
                  { name: "svc_leasename", value: "plndr-svcs-lock-ds" },
                ],
              },
            ],
          },
        },
      },
    },
  ];
  for (let n = 0; n < nodes; n++) {
    const name = n < 3 ? `cp${n}` : `worker-${n}`;
    items.push({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        uid: `n-${n}`,
        labels: { "kubernetes.io/hostname": name, ...(n < 3 ? { "node-role.kubernetes.io/control-plane": "" } : {}) },
      },
    });
    items.push({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "kube-node-lease", uid: `l-${n}` },
      spec: { holderIdentity: name },
    });
  }
  items.push({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "plndr-svcs-lock-ds", namespace: "kube-system", uid: "l-svcs" },
    spec: { holderIdentity: "worker-7" },
  });
  writeFileSync(join(dir, "extra.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items }));
}

interface Result {
  seconds: number;
  cpu: number;
  peakMB: number;
  findings: number;
  summary: string;
  code: number | null;
}

/** One `lbguard audit` process: wall time here, CPU time and peak RSS (getrusage) from the child itself. */
function run(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CHILD, "audit", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const usage = JSON.parse(/lbguard-bench-usage (.*)/.exec(err)?.[1] ?? '{"cpu":0,"maxRSSMB":0}');
      const summary = out.trimEnd().split("\n").pop() ?? "";
      const n = /: (\d+) findings?/.exec(summary);
      resolve({ seconds, cpu: usage.cpu, peakMB: usage.maxRSSMB, findings: n ? Number(n[1]) : -1, summary, code });
    });
  });
}

async function main() {
  const sizes: [string, Sizes][] = process.argv.includes("--quick")
    ? [["10k", QUICK]]
    : [
        ["10k", QUICK],
        ["100k", FULL],
      ];
  const rows: string[] = [];
  for (const [label, s] of sizes) {
    const dir = mkdtempSync(join(os.tmpdir(), `lbguard-audit-bench-${label}-`));
    writeState(dir, s);
    asKubectl(dir);
    const policy = join(dir, "..", `${dir.split("/").pop()}-policy.yaml`);
    writeFileSync(policy, BENCH_POLICY);
    const bytes = readdirSync(dir).reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
    for (const [how, extra] of [
      ["--policy", ["--policy", policy]],
      ["inferred", []],
    ] as const) {
      const r = await run(["--state", dir, "--exit-zero", ...extra]);
      if (r.code !== 0) throw new Error(`lbguard audit exited ${r.code}: ${r.summary}`);
      const row = `| ${s.services.toLocaleString("en")} Services, ${s.pools.toLocaleString("en")} pools, ${s.namespaces.toLocaleString("en")} namespaces (${(bytes / 2 ** 20).toFixed(0)} MiB of JSON) | ${how} | ${r.seconds.toFixed(1)} s | ${r.cpu.toFixed(1)} s | ${r.peakMB.toFixed(0)} MB | ${r.findings} |`;
      rows.push(row);
      process.stdout.write(`${row}\n  ${r.summary}\n`);
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(policy, { force: true });
  }
  process.stdout.write(
    [
      "",
      `| snapshot | policy | wall time | CPU time | peak RSS | findings |  (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)})`,
      "|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
