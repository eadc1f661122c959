/**
 * The benchmarks' servers as separate processes: `lbguard serve --state` over a
 * generated cluster and the baseline (bench/baseline.ts), pinned to the last
 * core when `taskset` exists (the load generator then runs on the first).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { BENCH_POLICY, Sizes, writeState } from "./generate.js";
import { waitForLine } from "./proc.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CORES = os.cpus().length;
/** the node flags of the image's ENTRYPOINT (Dockerfile), so that the benchmarks run lbguard as the image does */
function imageNodeFlags(): string {
  try {
    const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
    const argv = m ? (JSON.parse(m[1]) as string[]) : [];
    return argv
      .slice(1)
      .filter((a) => a.startsWith("--"))
      .join(" ");
  } catch {
    return "";
  }
}
/** node flags lbguard runs with: LBGUARD_NODE_FLAGS, else the image's */
export const LB_FLAGS = (process.env.LBGUARD_NODE_FLAGS ?? imageNodeFlags()).split(" ").filter(Boolean);

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return CORES >= 2;
  } catch {
    return false;
  }
}
export const PIN = hasTaskset();

/** Pin this process (the load generator) to core 0. */
export function pinGenerator(): void {
  if (PIN) execFileSync("taskset", ["-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
}

export interface Server {
  child: ChildProcess;
  port: number;
  /** the server's process id (under taskset, node is exec'd in place of taskset) */
  pid: number;
}

/** Start `node [flags] args` (pinned to the last core) and wait for `re` on its stdout; `re` captures the port. */
export function startServer(args: string[], re: RegExp, what: string, nodeFlags: string[] = []): Promise<Server> {
  return startProgram(process.execPath, [...nodeFlags, ...args], re, what);
}

/** Start a program (pinned to the last core) and wait for `re` on its stdout; `re` captures the port. */
export async function startProgram(cmd: string, args: string[], re: RegExp, what: string): Promise<Server> {
  const child = PIN
    ? spawn("taskset", ["-c", String(CORES - 1), cmd, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  const m = await waitForLine(child, re, what);
  return { child, port: Number(m[1]), pid: child.pid! };
}

export interface Workdir {
  dir: string;
  certDir: string;
  /** the CA of the serving certificate (PEM) */
  ca: string;
}

/** A temporary directory with development certificates, the bench policy and a generated cluster snapshot. */
export function prepare(sizes: Sizes, prefix = "lbguard-bench-"): Workdir {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  const certDir = join(dir, "certs");
  ensureDevCertificates(certDir);
  writeFileSync(join(dir, "policy.yaml"), BENCH_POLICY);
  writeState(join(dir, "state"), sizes);
  return { dir, certDir, ca: readFileSync(join(certDir, "ca.crt"), "utf8") };
}

export function startLbguard(w: Workdir, flags: string[] = LB_FLAGS, args: string[] = []): Promise<Server> {
  return startServer(
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--policy",
      join(w.dir, "policy.yaml"),
      "--state",
      join(w.dir, "state"),
      "--cert-dir",
      w.certDir,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
      ...args,
    ],
    /serving on https:\/\/localhost:(\d+)/,
    "lbguard",
    flags,
  );
}

export function startBaseline(w: Workdir, flags: string[] = []): Promise<Server> {
  return startServer(
    [join(ROOT, "dist/bench/baseline.js"), "--cert-dir", w.certDir],
    /listening on (\d+)/,
    "baseline",
    flags,
  );
}

export async function stop(s: Server): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  await exited;
}
