/**
 * `npm run bench:faults [-- NAME…]`: the load and fault experiments of issue 12,
 * each against its own `lbguard serve --state` process on 127.0.0.1, each
 * bounded in count and time. One line per experiment:
 *
 *   faults: giant-annotation   a Service whose metallb.io/loadBalancerIPs lists 22,800 addresses (256 KiB)
 *   faults: kube-vip-list      the same list in kube-vip.io/loadbalancerIPs
 *   faults: huge-list          150,000 addresses (1.8 MiB)
 *   faults: deep-nesting       an UPDATE whose objects nest 20,000 levels deep
 *   faults: stalled-bodies     80 bodies of 7 MiB that never finish, on ?timeout=2s
 *   faults: slow-body          a body sent at 1 byte/s on ?timeout=2s
 *   faults: idle-connections   6,000 TLS connections that never send a request
 *   faults: sigterm            SIGTERM under keep-alive load (--shutdown-delay 5, as deployed, and 0)
 *   faults: stdout-blocked     SIGTERM while nobody reads stdout
 *   faults: stdout-closed      SIGTERM after stdout's reader went away (`serve … | head`)
 *   faults: half-written-policy  the policy file rewritten in place in two halves
 *   faults: invalid-state      a state file replaced by invalid YAML, then by half of itself
 *
 * NAME… runs only those experiments (the first word after `faults: `).
 * Figures go to BENCHMARKS.md by hand ("Faults"): this script only prints.
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { ensureDevCertificates } from "../src/certs/devdir.js";
import { cpuSeconds, rssMB } from "./proc.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist/src/cli/main.js");
const SERVICE_DNS = "lbguard.lbguard-system.svc";
const ONLY = process.argv.slice(2).filter((a) => !a.startsWith("-"));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const f1 = (x: number) => x.toFixed(1);

// ---- the cluster and policy every experiment starts from --------------------

const PROVIDERS = `  providers:
    metallb:
      loadBalancerClass: metallb
      namespace: metallb-system
      identities: [system:serviceaccount:metallb-system:controller]
    kube-vip:
      loadBalancerClass: null
      namespace: kube-system
      configMap: kube-system/kubevip
      identities: [system:serviceaccount:kube-system:kube-vip, kubernetes-admin]
      controlPlaneVIPs: [10.0.4.247]
  defaultProvider: metallb
`;

/**
 * The policy, generation `gen`. reservedAddresses comes right after the
 * providers, so the file's first part up to it is a valid policy that
 * reserves nothing: the half a non-atomic writer leaves behind.
 */
function policyText(gen: number): string {
  return `apiVersion: lbguard.dev/v1alpha1
kind: OwnershipPolicy
metadata: {name: faults-${gen}}
spec:
${PROVIDERS}  reservedAddresses: [10.0.4.1/32, 10.0.5.240/28]
  namespaces:
    - names: [kube-system]
      provider: kube-vip
    - selector: {matchLabels: {lbguard.dev/provider: kube-vip}}
      provider: kube-vip
      allowedProviders: [kube-vip, metallb]
${Array.from({ length: 6 }, (_, i) => `    - names: [team-${gen}-${i}]\n      provider: metallb\n`).join("")}`;
}

const POOLS_YAML = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop}}}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: default, namespace: metallb-system}
  spec: {addresses: [10.0.5.0/24]}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: kubevip, namespace: kube-system}
  data: {range-global: 10.0.4.200-10.0.4.230}
`;

/** Services in use, as `kubectl get services -o json` writes them */
function servicesJson(): string {
  const items = [];
  for (let i = 0; i < 200; i++)
    items.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `web-${i}`, namespace: "shop" },
      spec: { type: "LoadBalancer", loadBalancerClass: "metallb", ports: [{ port: 443, protocol: "TCP" }] },
      status: { loadBalancer: { ingress: [{ ip: `10.0.5.${i + 1}` }] } },
    });
  return JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 1);
}

let certDirOnce: string | undefined;
interface Setup {
  dir: string;
  policy: string;
  state: string;
  certDir: string;
  ca: string;
}

/** A fresh directory: policy, state (pools.yaml, services.json), and a copy of one development CA. */
function setup(): Setup {
  const dir = mkdtempSync(join(os.tmpdir(), "lbguard-faults-"));
  if (!certDirOnce) {
    certDirOnce = mkdtempSync(join(os.tmpdir(), "lbguard-faults-certs-"));
    ensureDevCertificates(certDirOnce);
  }
  const certDir = join(dir, "certs");
  cpSync(certDirOnce, certDir, { recursive: true });
  writeFileSync(join(dir, "policy.yaml"), policyText(0));
  mkdirSync(join(dir, "state"));
  writeFileSync(join(dir, "state", "pools.yaml"), POOLS_YAML);
  writeFileSync(join(dir, "state", "services.json"), servicesJson());
  return {
    dir,
    policy: join(dir, "policy.yaml"),
    state: join(dir, "state"),
    certDir,
    ca: readFileSync(join(certDir, "ca.crt"), "utf8"),
  };
}

// ---- the server process -------------------------------------------------------

interface Server {
  child: ChildProcess;
  port: number;
  pid: number;
  /** bytes the server wrote to stdout so far (only when stdout is read) */
  logBytes(): number;
  /** resolves with the exit code (null when killed) and the time of exit */
  exited: Promise<{ code: number | null; signal: string | null; at: number }>;
  kill(): void;
}

/** read: stdout drained and counted; blocked: never read after the first line; closed: the reader goes away */
type StdoutMode = "read" | "blocked" | "closed";

async function startServe(s: Setup, extra: string[] = [], mode: StdoutMode = "read"): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--policy",
      s.policy,
      "--state",
      s.state,
      "--cert-dir",
      s.certDir,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  let bytes = 0;
  let head = "";
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (c: Buffer) => {
      bytes += c.length;
      if (head.length < 1 << 20) head += c.toString("utf8");
      const m = /serving on https:\/\/localhost:(\d+)/.exec(head);
      if (!m) return;
      resolve(Number(m[1]));
      if (mode === "blocked") {
        child.stdout!.off("data", onData);
        child.stdout!.pause(); // the pipe fills: 64 KiB in the kernel, then the server's writes would block
      } else if (mode === "closed") {
        child.stdout!.off("data", onData);
        child.stdout!.destroy(); // the server's next writes get EPIPE
      }
    };
    child.stdout!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`lbguard serve exited ${code}: ${head.slice(-2000)}`)));
  });
  return {
    child,
    port,
    pid: child.pid!,
    logBytes: () => bytes,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** the peak RSS of a process while `during` runs, sampled every 100 ms */
async function peakRss<T>(pid: number, during: Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, rssMB(pid));
    } catch {
      /* exited */
    }
  };
  sample();
  const t = setInterval(sample, 100);
  try {
    const value = await during;
    sample();
    return { value, peak };
  } finally {
    clearInterval(t);
  }
}

// ---- HTTPS ------------------------------------------------------------------

interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

function post(
  port: number,
  ca: string,
  path: string,
  body: string | Buffer,
  agent: https.Agent | false = false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // whether the request could be sent: the connection was reused, or its TLS handshake completed
    let established = false;
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path,
        ca,
        servername: SERVICE_DNS,
        agent,
        headers: { "Content-Type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers }),
        );
        res.on("error", reject);
      },
    );
    req.on("socket", (sock) => {
      if (req.reusedSocket) established = true;
      else sock.once("secureConnect", () => (established = true));
    });
    req.on("error", (e: Error) => reject(Object.assign(e, { established })));
    req.end(body);
  });
}

/** the review's response, or a description of what came back instead */
function responseOf(r: Reply): { allowed?: boolean; code?: number; message?: string } {
  if (r.status !== 200) return { message: `HTTP ${r.status}: ${r.text.trim().slice(0, 100)}` };
  const x = JSON.parse(r.text).response;
  return { allowed: x.allowed, code: x.status?.code, message: x.status?.message };
}

function review(object: unknown, operation = "CREATE", oldObject: unknown = null): string {
  const o = object as { metadata: { name: string; namespace: string } };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: { group: "", version: "v1", kind: "Service" },
      resource: { group: "", version: "v1", resource: "services" },
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      operation,
      userInfo: { username: "tenant", groups: ["system:authenticated"] },
      object,
      oldObject,
    },
  });
}

function service(
  ns: string,
  name: string,
  opts: { cls?: string; ip?: string; annotations?: Record<string, string> } = {},
): Record<string, any> {
  const spec: Record<string, unknown> = { type: "LoadBalancer", ports: [{ port: 443, protocol: "TCP" }] };
  if (opts.cls) spec.loadBalancerClass = opts.cls;
  if (opts.ip) spec.loadBalancerIP = opts.ip;
  const metadata: Record<string, unknown> = { name, namespace: ns };
  if (opts.annotations) metadata.annotations = opts.annotations;
  return { apiVersion: "v1", kind: "Service", metadata, spec };
}

/** n addresses outside every pool and reservation: 10.1.0.0, 10.1.0.1, … */
function addresses(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  return out.join(",");
}

// ---- 7 and 11: work bounded by the request ------------------------------------

async function giantAnnotation(): Promise<string[]> {
  const s = setup();
  const srv = await startServe(s);
  const lines: string[] = [];
  try {
    await post(srv.port, s.ca, "/validate", review(service("shop", "warm", { cls: "metallb" })));
    const one = async (body: string) => {
      const b0 = srv.logBytes();
      const c0 = cpuSeconds(srv.pid);
      const t0 = performance.now();
      const r = await post(srv.port, s.ca, "/validate?timeout=10s", body);
      const ms = performance.now() - t0;
      await sleep(300); // the log line, if any, arrives
      return { ms, cpuMs: (cpuSeconds(srv.pid) - c0) * 1000, log: srv.logBytes() - b0, r, resp: responseOf(r) };
    };
    const say = (name: string, n: number, body: string, x: Awaited<ReturnType<typeof one>>, more = "") =>
      `faults: ${name} addresses=${n} body_kib=${Math.round(body.length / 1024)} review_ms=${f1(x.ms)} cpu_ms=${f1(x.cpuMs)} log_bytes=${x.log} http=${x.r.status} code=${x.resp.code ?? "-"} allowed=${x.resp.allowed ?? "-"} message_chars=${x.resp.message?.length ?? 0}${more} message=${JSON.stringify((x.resp.message ?? "").slice(0, 120))}`;

    const list = addresses(22_800);
    const mlb = review(
      service("shop", "giant", { cls: "metallb", annotations: { "metallb.io/loadBalancerIPs": list } }),
    );
    const a = await one(mlb);
    // a tenant re-sending it: 30 times in a row, at most 30 s
    const loop = await peakRss(
      srv.pid,
      (async () => {
        const b0 = srv.logBytes();
        const until = Date.now() + 30_000;
        let n = 0;
        for (; n < 30 && Date.now() < until; n++) await post(srv.port, s.ca, "/validate", mlb);
        await sleep(300);
        return { n, log: srv.logBytes() - b0 };
      })(),
    );
    lines.push(
      say(
        "giant-annotation",
        22_800,
        mlb,
        a,
        ` loop_reviews=${loop.value.n} loop_log_bytes=${loop.value.log} loop_peak_rss_mb=${f1(loop.peak)}`,
      ),
    );

    const kv = review(service("kube-system", "giant", { annotations: { "kube-vip.io/loadbalancerIPs": list } }));
    lines.push(say("kube-vip-list", 22_800, kv, await one(kv)));

    const huge = review(
      service("shop", "huge", { cls: "metallb", annotations: { "metallb.io/loadBalancerIPs": addresses(150_000) } }),
    );
    lines.push(say("huge-list", 150_000, huge, await one(huge)));

    // 20,000 levels in both objects of an UPDATE: the "did a relevant field change" comparison recurses
    const levels = 20_000;
    const deep = "[".repeat(levels) + "]".repeat(levels);
    const base = service("shop", "deep", { cls: "metallb" });
    const text = review(base, "UPDATE", base).replaceAll(
      '"type":"LoadBalancer"',
      `"type":"LoadBalancer","externalIPs":${deep}`,
    );
    const d = await one(text);
    lines.push(
      `faults: deep-nesting levels=${levels} review_ms=${f1(d.ms)} http=${d.r.status} code=${d.resp.code ?? "-"} allowed=${d.resp.allowed ?? "-"} message=${JSON.stringify((d.resp.message ?? "").slice(0, 120))}`,
    );
  } finally {
    srv.kill();
  }
  return lines;
}

// ---- 8: stalled bodies, slow bodies, idle connections -------------------------

interface Outcome {
  /** ms from the request's start to its answer or the connection's end */
  ms: number;
  what: string;
}

/** POST with a declared Content-Length, send `first`, then `drip` one byte every `dripMs`; never finish. */
function stalledPost(
  port: number,
  ca: string,
  path: string,
  length: number,
  first: Buffer,
  dripMs = 0,
  boundMs = 70_000,
): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let drip: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (what: string) => {
      if (done) return;
      done = true;
      if (drip) clearInterval(drip);
      clearTimeout(bound);
      req.destroy();
      resolve({ ms: Date.now() - t0, what });
    };
    const bound = setTimeout(() => finish("still open"), boundMs);
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path,
        ca,
        servername: SERVICE_DNS,
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": length },
      },
      (res) => {
        res.resume();
        finish(String(res.statusCode));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => finish(e.code ?? "error"));
    req.on("close", () => finish("closed"));
    req.write(first);
    if (dripMs) {
      let sent = first.length;
      drip = setInterval(() => {
        if (sent < length - 1) {
          req.write(" ");
          sent++;
        }
      }, dripMs);
    }
  });
}

function tally(xs: Outcome[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x.what, (m.get(x.what) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k}x${v}`).join(",");
}

async function stalledBodies(): Promise<string[]> {
  const s = setup();
  const srv = await startServe(s);
  try {
    // 1 byte/s on ?timeout=2s, started first so that it is not refused for the others' bytes
    const slow = stalledPost(srv.port, s.ca, "/validate?timeout=2s", 1000, Buffer.from('{"apiVersion":'), 1000, 70_000);
    await sleep(200);
    const size = 7 * 1024 * 1024;
    const first = Buffer.alloc(size - 1024, 0x20);
    Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","x":"').copy(first);
    const t0 = Date.now();
    const all = Promise.all(
      Array.from({ length: 80 }, () => stalledPost(srv.port, s.ca, "/validate?timeout=2s", size, first)),
    );
    const r = await peakRss(srv.pid, all);
    const last = Math.max(...r.value.map((x) => x.ms));
    const answer = await post(srv.port, s.ca, "/validate", review(service("shop", "after", { cls: "metallb" })));
    const sl = await slow;
    return [
      `faults: stalled-bodies bodies=80 body_mib=7 timeout=2s peak_rss_mb=${f1(r.peak)} dropped_after_s=${f1(last / 1000)} outcomes=${tally(r.value)} wall_s=${f1((Date.now() - t0) / 1000)} answers_after=${answer.status}`,
      `faults: slow-body rate=1B/s timeout=2s answered_after_s=${f1(sl.ms / 1000)} outcome=${sl.what}`,
    ];
  } finally {
    srv.kill();
  }
}

async function idleConnections(): Promise<string[]> {
  const s = setup();
  const srv = await startServe(s);
  const sockets: tls.TLSSocket[] = [];
  try {
    const total = 6000;
    let opened = 0;
    let failed = 0;
    let closedByServer = 0;
    /** the longest a connection stayed open, handshake to close */
    let longest = 0;
    const t0 = Date.now();
    const open = () =>
      new Promise<void>((resolve) => {
        const sock = tls.connect({ host: "127.0.0.1", port: srv.port, ca: s.ca, servername: SERVICE_DNS });
        let up = false;
        let upAt = 0;
        sock.setTimeout(15_000, () => sock.destroy());
        sock.on("secureConnect", () => {
          up = true;
          upAt = Date.now();
          opened++;
          sock.setTimeout(0);
          sock.resume(); // read, so that the server's close is seen
          sockets.push(sock);
          resolve();
        });
        sock.on("error", () => undefined);
        sock.on("close", () => {
          if (up) {
            closedByServer++;
            longest = Math.max(longest, Date.now() - upAt);
          } else {
            failed++;
            resolve();
          }
        });
      });
    const r = await peakRss(
      srv.pid,
      (async () => {
        for (let i = 0; i < total; i += 100) await Promise.all(Array.from({ length: Math.min(100, total - i) }, open));
        const openedAt = Date.now();
        // how long the server keeps them: wait until all are closed, at most 70 s
        while (closedByServer < opened && Date.now() - openedAt < 70_000) await sleep(100);
        return openedAt;
      })(),
    );
    const answer = await post(srv.port, s.ca, "/validate", review(service("shop", "after", { cls: "metallb" })));
    return [
      `faults: idle-connections attempted=${total} handshakes=${opened} refused=${failed} peak_rss_mb=${f1(r.peak)} open_s=${f1((r.value - t0) / 1000)} closed_by_server=${closedByServer} longest_open_s=${closedByServer === opened ? f1(longest / 1000) : `>70 (${opened - closedByServer} still open)`} answers_after=${answer.status}`,
    ];
  } finally {
    for (const x of sockets) x.destroy();
    srv.kill();
  }
}

// ---- 9: SIGTERM -------------------------------------------------------------------

async function sigterm(delay: number): Promise<string> {
  const s = setup();
  const srv = await startServe(s, ["--shutdown-delay", String(delay)]);
  try {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 32 });
    const body = review(service("kube-system", "ok"));
    let termAt = 0;
    let ok = 0;
    let okAfter = 0;
    let failed = 0;
    let refused = 0;
    const errors = new Map<string, number>();
    let stop = false;
    const bound = setTimeout(() => (stop = true), (delay + 40) * 1000);
    const worker = async () => {
      while (!stop) {
        try {
          const r = await post(srv.port, s.ca, "/validate", body, agent);
          if (r.status === 200) {
            ok++;
            if (termAt) okAfter++;
          } else {
            failed++;
            errors.set(`HTTP ${r.status}`, (errors.get(`HTTP ${r.status}`) ?? 0) + 1);
          }
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          // after SIGTERM, a connection refused, or reset before its TLS handshake completed (it sat in
          // the kernel's accept queue when the listener closed): no request was sent, the API server goes
          // to another endpoint; with --shutdown-delay the endpoint is gone before the listener closes
          if (termAt && !(e as { established?: boolean }).established) {
            refused++;
            return;
          }
          failed++;
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
      }
    };
    const workers = Array.from({ length: 32 }, worker);
    await sleep(1500);
    termAt = Date.now();
    srv.child.kill("SIGTERM");
    const exit = await Promise.race([srv.exited, sleep(45_000).then(() => undefined)]);
    stop = true;
    await Promise.all(workers);
    clearTimeout(bound);
    agent.destroy();
    return `faults: sigterm shutdown_delay=${delay} keepalive_connections=32 answered=${ok} answered_after_sigterm=${okAfter} failed=${failed}${errors.size ? ` (${[...errors].map(([k, v]) => `${k}x${v}`).join(",")})` : ""} not_sent_after_close=${refused} exit_s=${exit ? f1((exit.at - termAt) / 1000) : ">45"} exit_code=${exit ? exit.code : "-"}`;
  } finally {
    srv.kill();
  }
}

/** SIGTERM with stdout blocked (nobody reads it) or closed (EPIPE), after enough denials to fill the pipe. */
async function stdoutFault(mode: "blocked" | "closed"): Promise<string> {
  const s = setup();
  const srv = await startServe(s, [], mode);
  try {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    const denied = review(service("shop", "reserved", { cls: "metallb", ip: "10.0.5.245" }));
    const n = mode === "blocked" ? 10_000 : 2_000;
    let answered = 0;
    let i = 0;
    const t0 = Date.now();
    const load = await peakRss(
      srv.pid,
      Promise.all(
        Array.from({ length: 16 }, async () => {
          while (i < n && Date.now() - t0 < 60_000) {
            i++;
            try {
              const r = await post(srv.port, s.ca, "/validate", denied, agent);
              if (r.status === 200 && JSON.parse(r.text).response.allowed === false) answered++;
            } catch {
              /* counted as not answered */
            }
          }
        }),
      ),
    );
    agent.destroy();
    const termAt = Date.now();
    srv.child.kill("SIGTERM");
    const exit = await Promise.race([srv.exited, sleep(30_000).then(() => undefined)]);
    return `faults: stdout-${mode} denials=${n} answered=${answered} peak_rss_mb=${f1(load.peak)} exit_s=${exit ? f1((exit.at - termAt) / 1000) : ">30 (killed)"} exit_code=${exit ? (exit.code ?? exit.signal) : "-"}`;
  } finally {
    srv.kill();
  }
}

// ---- 10: atomic reloads -------------------------------------------------------------

/**
 * Probe continuously with reviews that must be denied under every version
 * of the files; returns how many were answered and how many were allowed.
 */
function prober(
  port: number,
  ca: string,
  bodies: () => string[],
): { stop(): Promise<{ probes: number; wrong: number }> } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
  let running = true;
  let probes = 0;
  let wrong = 0;
  const loops = Array.from({ length: 2 }, async () => {
    while (running) {
      for (const b of bodies()) {
        const r = await post(port, ca, "/validate", b, agent).catch(() => undefined);
        if (!r) continue;
        probes++;
        if (responseOf(r).allowed !== false) wrong++;
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { probes, wrong };
    },
  };
}

async function halfWrittenPolicy(gapMs: number): Promise<string> {
  const s = setup();
  const srv = await startServe(s);
  try {
    // in MetalLB's pool, in use by nobody, reserved in every version of the policy (10.0.5.240/28)
    const bodies = () => [
      review(service("shop", "r", { cls: "metallb", ip: `10.0.5.${241 + Math.floor(Math.random() * 14)}` })),
    ];
    const probe = prober(srv.port, s.ca, bodies);
    const rounds = 3;
    for (let gen = 1; gen <= rounds; gen++) {
      const text = policyText(gen);
      const cut = text.indexOf("  reservedAddresses:");
      // in place (same inode), as `cp`, an editor without atomic save or a slow copy writes
      writeFileSync(s.policy, text.slice(0, cut));
      await sleep(gapMs);
      appendFileSync(s.policy, text.slice(cut));
      await sleep(1500);
    }
    const r = await probe.stop();
    return `faults: half-written-policy rounds=${rounds} gap_ms=${gapMs} probes=${r.probes} wrong=${r.wrong}`;
  } finally {
    srv.kill();
  }
}

async function invalidState(): Promise<string> {
  const s = setup();
  const srv = await startServe(s);
  try {
    const pools = join(s.state, "pools.yaml");
    const services = join(s.state, "services.json");
    const good = { pools: readFileSync(pools, "utf8"), services: readFileSync(services, "utf8") };
    // denied only while the view holds the pool (a kube-vip Service in MetalLB's pool)
    // and the Services (a MetalLB Service taking another's address)
    const bodies = () => [
      review(service("kube-system", "p", { ip: `10.0.5.${201 + Math.floor(Math.random() * 39)}` })),
      review(service("shop", "taken", { cls: "metallb", ip: `10.0.5.${1 + Math.floor(Math.random() * 200)}` })),
    ];
    const probe = prober(srv.port, s.ca, bodies);
    await sleep(500);
    const steps: [string, () => void][] = [
      ["invalid YAML", () => writeFileSync(pools, good.pools.replace("kind: List", "kind: List\n  items: [oops"))],
      ["restored", () => writeFileSync(pools, good.pools)],
      ["half a JSON file", () => writeFileSync(services, good.services.slice(0, good.services.length >> 1))],
      ["restored", () => writeFileSync(services, good.services)],
    ];
    for (const [, step] of steps) {
      step();
      await sleep(2000);
    }
    const r = await probe.stop();
    return `faults: invalid-state swaps=${steps.map((x) => x[0]).join("/")} probes=${r.probes} wrong=${r.wrong}`;
  } finally {
    srv.kill();
  }
}

// ---- main ---------------------------------------------------------------------------

const EXPERIMENTS: [string, () => Promise<string | string[]>][] = [
  ["giant-annotation", giantAnnotation],
  ["stalled-bodies", stalledBodies],
  ["idle-connections", idleConnections],
  ["sigterm", async () => [await sigterm(5), await sigterm(0)]],
  ["stdout-blocked", () => stdoutFault("blocked")],
  ["stdout-closed", () => stdoutFault("closed")],
  ["half-written-policy", async () => [await halfWrittenPolicy(300), await halfWrittenPolicy(50)]],
  ["invalid-state", invalidState],
];

async function main() {
  console.log(
    `faults: machine ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  for (const [name, run] of EXPERIMENTS) {
    if (ONLY.length && !ONLY.includes(name)) continue;
    try {
      const out = await run();
      for (const l of Array.isArray(out) ? out : [out]) console.log(l);
    } catch (e) {
      console.log(`faults: ${name} failed: ${(e as Error).stack ?? e}`);
    }
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
