/**
 * A real lbguard server over HTTPS, and a client that checks its certificate
 * the way kube-apiserver does: against the CA bundle, for the Service DNS name.
 */
import { spawn, ChildProcessWithoutNullStreams } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, Serving } from "../../src/cli/serve.js";
import { ensureDevCertificates } from "../../src/certs/devdir.js";
import { createLogger } from "../../src/observability/logger.js";
import { CLI, ROOT } from "./paths.js";

export const SERVICE_DNS = "lbguard.lbguard-system.svc";

let sharedCerts: string | undefined;
/** One development CA per test run (RSA key generation is the slow part). */
export function testCertDir(): string {
  if (!sharedCerts) {
    sharedCerts = mkdtempSync(join(tmpdir(), "lbguard-certs-"));
    ensureDevCertificates(sharedCerts);
  }
  const d = mkdtempSync(join(tmpdir(), "lbguard-certdir-"));
  for (const f of ["ca.crt", "ca.key", "tls.crt", "tls.key"]) cpSync(join(sharedCerts, f), join(d, f));
  return d;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

export interface TestServer {
  port: number;
  metricsPort: number;
  dir: string;
  certDir: string;
  ca: string;
  serving: Serving;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Reply>;
  get(path: string): Promise<Reply>;
  stop(): Promise<void>;
}

export function request(
  port: number,
  ca: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  agent?: https.Agent,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, method, path, ca, servername: SERVICE_DNS, headers, agent: agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** `lbguard serve` flags for a test: free ports, loopback only */
export const LOCAL_PORTS = ["--port", "0", "--metrics-port", "0", "--host", "127.0.0.1"];

/**
 * Files and flags for `lbguard serve --kubeconfig` against a fake API server: the policy and the
 * kubeconfig written to a new directory, the test CA, free loopback ports, JSON logs.
 */
export function liveServe(kubeconfig: string, policyText: string, prefix: string): { args: string[]; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, "policy.yaml"), policyText);
  writeFileSync(join(dir, "kubeconfig"), kubeconfig);
  const certDir = testCertDir();
  return {
    args: [
      "--policy",
      join(dir, "policy.yaml"),
      "--kubeconfig",
      join(dir, "kubeconfig"),
      "--cert-dir",
      certDir,
      ...LOCAL_PORTS,
      "--log-format",
      "json",
    ],
    ca: readFileSync(join(certDir, "ca.crt"), "utf8"),
  };
}

/** GET /metrics of a server's plain-HTTP metrics port: the exposition text */
export function scrapeMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolve(b));
      })
      .on("error", reject);
  });
}

export async function startTestServer(policyText: string, state: string | string[]): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "lbguard-srv-"));
  writeFileSync(join(dir, "policy.yaml"), policyText);
  mkdirSync(join(dir, "state"));
  const states = Array.isArray(state) ? state : [state];
  states.forEach((s, i) => {
    if (existsSync(s)) cpSync(s, join(dir, "state", `s${i}`), { recursive: true });
    else writeFileSync(join(dir, "state", `s${i}.yaml`), s);
  });
  const certDir = testCertDir();
  const serving = await serve(
    {
      policy: join(dir, "policy.yaml"),
      state: [join(dir, "state")],
      port: 0,
      certDir,
      metricsPort: 0,
      logLevel: "silent",
      host: "127.0.0.1",
    },
    createLogger("silent"),
  );
  const ca = readFileSync(join(certDir, "ca.crt"), "utf8");
  return {
    port: serving.port,
    metricsPort: serving.metricsPort,
    dir,
    certDir,
    ca,
    serving,
    post: (path, body, headers = { "Content-Type": "application/json" }) =>
      request(serving.port, ca, "POST", path, body, headers),
    get: (path) => request(serving.port, ca, "GET", path),
    stop: () => serving.stop(),
  };
}

/** `lbguard serve …` as a real process; resolves with its HTTPS port once it listens. */
export async function spawnServe(
  args: string[],
  env?: Record<string, string>,
): Promise<{ child: ChildProcessWithoutNullStreams; port: number; output(): string }> {
  const child = spawn(process.execPath, [CLI, "serve", ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: env ? { ...process.env, ...env } : process.env,
  });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (c) => {
      out += c;
      const m = /serving on https:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on("data", (c) => (out += c));
    child.on("exit", (code) => reject(new Error(`lbguard serve exited (${code}): ${out}`)));
  });
  return { child, port, output: () => out };
}
