/**
 * Bounded work per request and a shutdown that resets nothing (SPEC §6), over
 * real HTTPS: body deadlines, the cap on buffered body bytes, the cap on
 * connections and the idle-before-first-request timeout (startServer with a
 * fake handler); SIGTERM under a keep-alive client and with stdout never
 * read (`lbguard serve` as a process); deep nesting and huge address lists
 * (the real server). Every test waits for an outcome, never for a time.
 */
import { expect } from "chai";
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createLogger } from "../../src/observability/logger.js";
import { HandlerResult, RunningServer, ServerOptions, startServer } from "../../src/transport/server.js";
import { CLUSTER } from "../helpers/cluster.js";
import { CLI, ROOT } from "../helpers/paths.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";
import { SERVICE_DNS, spawnServe, startTestServer, TestServer, testCertDir } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  socket: unknown;
}

/** log lines as objects, from a logger at `level` */
function capture(level = "info") {
  const lines: Record<string, any>[] = [];
  const sink = { write: (l: string) => void lines.push(JSON.parse(l)) };
  return { lines, log: createLogger(level, sink as unknown as NodeJS.WritableStream) };
}

describe("transport: bounded work per request", function () {
  this.timeout(30_000);
  const certDir = testCertDir();
  const pem = (f: string) => readFileSync(join(certDir, f), "utf8");
  const ca = pem("ca.crt");
  const servers: RunningServer[] = [];

  async function server(o: Partial<ServerOptions> = {}): Promise<RunningServer> {
    const s = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: { cert: pem("tls.crt"), key: pem("tls.key") },
      handler: () => ({ status: 200, body: '{"ok":true}' }),
      readiness: () => ({ ready: true, reasons: [] }),
      log: createLogger("silent"),
      ...o,
    });
    servers.push(s);
    return s;
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.drain(1000)));
  });

  /** A POST whose body is declared `length` bytes long, of which only `first` is sent (more with `send`). */
  function open(s: RunningServer, path: string, length: number, first: string) {
    let closed = false;
    const req = https.request({
      host: "127.0.0.1",
      port: s.port,
      method: "POST",
      path,
      ca,
      servername: SERVICE_DNS,
      agent: false,
      headers: { "Content-Type": "application/json", "Content-Length": length },
    });
    const reply = new Promise<Reply | string>((resolve) => {
      req.on("response", (res) => {
        let text = "";
        const socket = res.socket;
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text, socket }));
      });
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    req.on("socket", (sock) => sock.on("close", () => (closed = true)));
    req.write(first);
    return { req, reply, closed: () => closed, send: (rest: string) => req.end(rest) };
  }

  it("a body that stalls is answered 408 at its deadline and its connection closed; the log says so", async () => {
    const { lines, log } = capture("warn");
    let called = 0;
    const s = await server({ log, handler: () => (called++, { status: 200, body: "{}" }) });
    const stalled = open(s, "/validate?timeout=1s", 100, '{"apiVersion":');
    const r = (await stalled.reply) as Reply;
    expect(r.status).to.equal(408);
    expect(r.headers.connection).to.equal("close");
    await waitFor(stalled.closed, { what: "the stalled connection to be closed" });
    expect(called).to.equal(0);
    expect(s.inFlight).to.equal(0);
    expect(s.stats().bodiesTimedOut).to.equal(1);
    expect(s.stats().bufferedBodyBytes).to.equal(0);
    const line = lines.find((l) => /not received by its deadline/.test(l.msg));
    expect(line, JSON.stringify(lines)).to.include({ path: "/validate?timeout=1s", received: 14, declared: 100 });
  });

  it("bodies past the budget of buffered bytes are refused 503 at once; the others still complete", async () => {
    const s = await server({ maxBody: 1000, maxBuffered: 2500 });
    const a = open(s, "/validate?timeout=30s", 1000, "{");
    const b = open(s, "/validate?timeout=30s", 1000, "{");
    await waitFor(() => s.stats().bufferedBodyBytes === 2000, {
      what: "two unfinished bodies to hold 2,000 bytes",
      state: () => s.stats(),
    });
    const c = open(s, "/validate?timeout=30s", 1000, "{");
    const refused = (await c.reply) as Reply;
    expect(refused.status).to.equal(503);
    expect(refused.headers.connection).to.equal("close");
    expect(refused.headers["retry-after"]).to.equal("1");
    expect(s.stats()).to.include({ bodiesRefused: 1, bufferedBodyBytes: 2000 });
    a.send(" ".repeat(998) + "}");
    b.send(" ".repeat(998) + "}");
    expect(((await a.reply) as Reply).status).to.equal(200);
    expect(((await b.reply) as Reply).status).to.equal(200);
    expect(s.stats().bufferedBodyBytes).to.equal(0);
  });

  it("refuses connections beyond the cap, and accepts again once one closes", async () => {
    const s = await server({ maxConnections: 3 });
    const connect = () =>
      new Promise<tls.TLSSocket | string>((resolve) => {
        const sock = tls.connect({ host: "127.0.0.1", port: s.port, ca, servername: SERVICE_DNS });
        sock.once("secureConnect", () => resolve(sock));
        sock.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        sock.once("close", () => resolve("closed"));
      });
    const held: tls.TLSSocket[] = [];
    for (let i = 0; i < 3; i++) held.push((await connect()) as tls.TLSSocket);
    await waitFor(() => s.stats().connections === 3, { what: "three open connections", state: () => s.stats() });
    const fourth = await connect();
    expect(fourth).to.be.a("string"); // reset or closed during the handshake
    expect(s.stats().dropped).to.equal(1);
    held.pop()!.destroy();
    await waitFor(() => s.stats().connections === 2, { what: "the closed connection to be gone" });
    const again = await connect();
    expect(again).to.not.be.a("string");
    (again as tls.TLSSocket).destroy();
    for (const h of held) h.destroy();
  });

  it("closes a TLS connection that sends no request", async () => {
    const s = await server({ headersTimeoutMs: 300 });
    const closedByServer = await new Promise<boolean>((resolve) => {
      const sock = tls.connect({ host: "127.0.0.1", port: s.port, ca, servername: SERVICE_DNS });
      sock.resume();
      sock.on("error", () => undefined);
      sock.on("close", () => resolve(true));
    });
    expect(closedByServer).to.equal(true);
    expect(s.stats().timedOut).to.equal(1);
  });

  it("draining: a request sent on a kept-alive connection after the drain began is answered with Connection: close", async () => {
    const s = await server();
    servers.splice(servers.indexOf(s), 1);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const post = () =>
      new Promise<Reply>((resolve, reject) => {
        const req = https.request(
          { host: "127.0.0.1", port: s.port, method: "POST", path: "/validate", ca, servername: SERVICE_DNS, agent },
          (res) => {
            let text = "";
            const socket = res.socket; // detached once the response has ended
            res.on("data", (c) => (text += c));
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text, socket }));
          },
        );
        req.on("error", reject);
        req.end("{}");
      });
    const first = await post();
    expect(first.headers.connection).to.equal("keep-alive");
    await waitFor(() => Object.values(agent.freeSockets).flat().length === 1, { what: "the connection to be idle" });
    const drained = s.drain(10_000);
    // the listener is closed; the idle connection is still there and the request goes over it
    const second = await post();
    expect(second.status).to.equal(200);
    expect(second.headers.connection).to.equal("close");
    expect(second.socket).to.equal(first.socket);
    await drained;
    agent.destroy();
  });

  it("draining: a connection with nothing in progress is closed by the drain, a busy one when its answer is written", async () => {
    let release: ((r: HandlerResult) => void) | undefined;
    const s = await server({ handler: () => new Promise<HandlerResult>((r) => (release = r)) });
    servers.splice(servers.indexOf(s), 1);
    const idle = await new Promise<tls.TLSSocket>((resolve) => {
      const sock = tls.connect({ host: "127.0.0.1", port: s.port, ca, servername: SERVICE_DNS }, () => resolve(sock));
      sock.resume();
    });
    const idleClosed = new Promise<void>((resolve) => idle.on("close", () => resolve()));
    const busy = open(s, "/validate", 2, "{}");
    await waitFor(() => release, { what: "the handler to be called" });
    let done = false;
    const drained = s.drain(10_000).then(() => (done = true));
    await idleClosed;
    expect(done).to.equal(false);
    release!({ status: 200, body: "{}" });
    const r = (await busy.reply) as Reply;
    expect(r.headers.connection).to.equal("close");
    await drained;
  });
});

describe("transport: SIGTERM and stdout", function () {
  this.timeout(40_000);

  function serveArgs(extra: string[] = []): { args: string[]; ca: string } {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-faults-"));
    writeFileSync(join(dir, "policy.yaml"), KUBEVIP_NULL);
    writeFileSync(join(dir, "state.yaml"), CLUSTER);
    const certDir = testCertDir();
    const args = [
      "--policy",
      join(dir, "policy.yaml"),
      "--state",
      join(dir, "state.yaml"),
      "--cert-dir",
      certDir,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
      ...extra,
    ];
    return { args, ca: readFileSync(join(certDir, "ca.crt"), "utf8") };
  }

  /** rejects with `established` set when the request could be sent (a reused connection, or a completed handshake) */
  function post(port: number, ca: string, agent: https.Agent, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let established = false;
      const req = https.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/validate",
          ca,
          servername: SERVICE_DNS,
          agent,
          headers: { "Content-Type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode!));
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

  it("SIGTERM under keep-alive clients: every request sent is answered (no ECONNRESET), then exit 0", async () => {
    const { args, ca } = serveArgs(["--shutdown-delay", "1"]);
    const { child, port, output } = await spawnServe(args);
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
    const body = reviewBody({ object: svc({ ns: "kube-system", name: "ok" }) });
    let answered = 0;
    let sigtermSent = false;
    const failures: string[] = [];
    // four clients, each sending until the listener is closed: a connection refused, or reset before its
    // handshake completed (queued in the kernel when the listener closed), sent nothing
    const client = async () => {
      for (let i = 0; i < 100_000; i++) {
        try {
          expect(await post(port, ca, agent, body)).to.equal(200);
          answered++;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          if (sigtermSent && !(e as { established?: boolean }).established) return;
          failures.push(code);
          if (failures.length > 20) return;
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await waitFor(() => answered >= 50, { what: "the clients to be under way" });
    sigtermSent = true;
    child.kill("SIGTERM");
    await Promise.all(clients);
    agent.destroy();
    expect(failures).to.deep.equal([]);
    expect(await exited, output()).to.equal(0);
  });

  it("exits on SIGTERM while nobody reads its stdout", async () => {
    const { args, ca } = serveArgs();
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, "serve", ...args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // read up to the line with the port, then never again: the pipe fills
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const onData = (c: Buffer) => {
        out += c;
        const m = /serving on https:\/\/localhost:(\d+)/.exec(out);
        if (!m) return;
        child.stdout.off("data", onData);
        child.stdout.pause();
        resolve(Number(m[1]));
      };
      child.stdout.on("data", onData);
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    child.stderr.resume();
    // denials: one info line each, far more than the pipe holds (64 KiB)
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
    const denied = reviewBody({ object: svc({ ns: "traefik", cls: "metallb", ip: "10.0.4.247" }) });
    for (let i = 0; i < 150; i++)
      await Promise.all(
        Array.from({ length: 8 }, () => post(port, ca, agent, denied).then((s) => expect(s).to.equal(200))),
      );
    agent.destroy();
    child.kill("SIGTERM");
    expect(await exited).to.equal(0);
  });
});

describe("transport: deep nesting and huge address lists get a clear answer over HTTPS", function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer(KUBEVIP_NULL, CLUSTER);
  });
  after(async () => {
    await s.stop();
  });

  it("an UPDATE nested 20,000 levels deep: allowed false, status.code 400, nested too deeply", async () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const o = svc({ ns: "shop", cls: "metallb", ip: "10.0.5.5" });
    const body = reviewBody({ operation: "UPDATE", object: o, oldObject: o }).replaceAll(
      '"type":"LoadBalancer"',
      `"type":"LoadBalancer","externalIPs":${deep}`,
    );
    const r = await s.post("/validate", body);
    expect(r.status).to.equal(200);
    const resp = r.json().response;
    expect(resp.uid).to.equal(JSON.parse(body.replaceAll(deep, "[]")).request.uid);
    expect(resp.allowed).to.equal(false);
    expect(resp.status.code).to.equal(400);
    expect(resp.status.message).to.match(/nested more than 512 levels deep/);
  });

  it("a body nested too deeply without a uid: 400", async () => {
    const deep = "[".repeat(1000) + "]".repeat(1000);
    const r = await s.post("/validate", `{"apiVersion":${deep},"kind":"AdmissionReview","request":{}}`);
    expect(r.status).to.equal(400);
    expect(r.text).to.equal("body nested more than 512 levels deep\n");
  });

  for (const [n, key, ns, cls] of [
    [22_800, "metallb.io/loadBalancerIPs", "shop", "metallb"],
    [150_000, "metallb.io/loadBalancerIPs", "shop", "metallb"],
    [150_000, "kube-vip.io/loadbalancerIPs", "kube-system", undefined],
  ] as const) {
    it(`${n} addresses in ${key}: a denial of at most ~300 characters, not an internal error`, async () => {
      const ips = Array.from({ length: n }, (_, i) => `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`).join(",");
      const r = await s.post("/validate", reviewBody({ object: svc({ ns, cls, annotations: { [key]: ips } }) }));
      expect(r.status).to.equal(200);
      const resp = r.json().response;
      expect(resp.allowed).to.equal(false);
      expect(resp.status.code).to.equal(403);
      expect(resp.status.message).to.include(
        `${key} lists ${n} addresses; lbguard judges at most 64; request fewer addresses`,
      );
      expect(resp.status.message.length).to.be.at.most(320);
    });
  }
});
