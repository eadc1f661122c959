/**
 * The transport on its own: startServer with a fake review handler, no rules,
 * no admission codec. Each step of src/transport is checked through HTTPS, and
 * the pure ones (route, rawHeader) directly.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDevCertificates } from "../../src/certs/devdir.js";
import { createLogger } from "../../src/observability/logger.js";
import { rawHeader } from "../../src/transport/headers.js";
import { route } from "../../src/transport/route.js";
import { HandlerResult, ReviewHandler, RunningServer, startServer, Webhook } from "../../src/transport/server.js";
import { waitFor } from "../helpers/wait.js";

interface Call {
  webhook: Webhook;
  body: string;
  contentType: string | undefined;
  deadline: number;
  at: number;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

let certDir: string | undefined;
function certs(): { cert: string; key: string; ca: string } {
  if (!certDir) {
    certDir = mkdtempSync(join(tmpdir(), "lbguard-transport-"));
    ensureDevCertificates(certDir);
  }
  const read = (f: string) => readFileSync(join(certDir!, f), "utf8");
  return { cert: read("tls.crt"), key: read("tls.key"), ca: read("ca.crt") };
}

describe("transport: the steps of src/transport on their own", function () {
  this.timeout(20_000);
  let s: RunningServer;
  let ca: string;
  const calls: Call[] = [];
  let next: (c: Call) => HandlerResult | Promise<HandlerResult> = () => ({ status: 200, body: '{"ok":true}' });
  const handler: ReviewHandler = (webhook, body, contentType, deadline) => {
    const c = { webhook, body, contentType, deadline, at: Date.now() };
    calls.push(c);
    return next(c);
  };

  function send(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string | number> = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: "127.0.0.1", port: s.port, method, path, ca, servername: "localhost", agent: false, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  before(async () => {
    const c = certs();
    ca = c.ca;
    s = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: { cert: c.cert, key: c.key },
      handler,
      readiness: () => ({ ready: true, reasons: [] }),
      log: createLogger("silent"),
      maxBody: 1000,
    });
  });
  beforeEach(() => {
    calls.length = 0;
    next = () => ({ status: 200, body: '{"ok":true}' });
  });
  after(async () => {
    await s.drain(1000);
  });

  it("route: the two review paths, with or without a query; everything else to the probe app", () => {
    expect(route("/validate")).to.equal("validate");
    expect(route("/validate?timeout=3s")).to.equal("validate");
    expect(route("/mutate")).to.equal("mutate");
    expect(route("/mutate?")).to.equal("mutate");
    for (const u of ["/", "/validatex", "/validate/", "/mutate/x", "/Mutate", "/healthz", "/readyz?x=1", ""])
      expect(route(u), u).to.equal("probes");
  });

  it("rawHeader: case-insensitive name, the last value when repeated, undefined when absent", () => {
    const raw = ["Host", "x", "content-TYPE", "a", "Content-Length", "12", "Content-Type", "b"];
    expect(rawHeader(raw, "content-type")).to.equal("b");
    expect(rawHeader(raw, "content-length")).to.equal("12");
    expect(rawHeader(raw, "accept")).to.equal(undefined);
  });

  it("hands the handler the webhook, body, content type and ?timeout= deadline, and writes its result", async () => {
    next = () => ({ status: 200, body: "é-answer", contentType: "application/json; charset=utf-8" });
    const t0 = Date.now();
    const r = await send("POST", "/mutate?timeout=3s", '{"x":"ü"}', { "Content-Type": "application/json" });
    expect(r.status).to.equal(200);
    expect(r.text).to.equal("é-answer");
    expect(r.headers["content-length"]).to.equal(String(Buffer.byteLength("é-answer")));
    expect(r.headers["content-type"]).to.equal("application/json; charset=utf-8");
    expect(calls).to.have.length(1);
    const c = calls[0];
    expect(c.webhook).to.equal("mutate");
    expect(c.body).to.equal('{"x":"ü"}');
    expect(c.contentType).to.equal("application/json");
    // the deadline is 2.5 s (3 s less the margin) after the server read the review: between the send and the call
    expect(c.deadline - 2500).to.be.within(t0, c.at);
    next = () => ({ status: 200, body: "{}" });
    const t1 = Date.now();
    const v = await send("POST", "/validate", "{}");
    expect(v.headers["content-type"]).to.equal("application/json");
    expect(calls[1].webhook).to.equal("validate");
    expect(calls[1].contentType).to.equal(undefined);
    expect(calls[1].deadline - 9500).to.be.within(t1, calls[1].at); // no ?timeout=: the API server's 10 s
  });

  it("a declared Content-Length over the limit: 413 with Connection: close, handler not called", async () => {
    const r = await send("POST", "/validate", Buffer.alloc(1001, 0x20));
    expect(r.status).to.equal(413);
    expect(r.headers.connection).to.equal("close");
    expect(r.text).to.equal("request body over 1000 bytes\n");
    expect(calls).to.have.length(0);
    expect(s.inFlight).to.equal(0);
  });

  it("a body exactly at the limit is read", async () => {
    const r = await send("POST", "/validate", Buffer.alloc(1000, 0x61));
    expect(r.status).to.equal(200);
    expect(calls[0].body).to.equal("a".repeat(1000));
  });

  it("a streamed body that grows over the limit: 413 (or the connection cut), handler not called", async () => {
    const outcome = await new Promise<number | string>((resolve) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: s.port,
          method: "POST",
          path: "/validate",
          ca,
          servername: "localhost",
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      // chunked: no Content-Length to refuse up front
      req.write(Buffer.alloc(600, 0x20));
      setTimeout(() => req.write(Buffer.alloc(600, 0x20)), 50);
    });
    expect([413, "ECONNRESET", "EPIPE"]).to.include(outcome);
    await waitFor(() => s.inFlight === 0, { what: "the refused review to leave the in-flight count" });
    expect(calls).to.have.length(0);
  });

  it("a handler that throws or rejects: 500 internal error", async () => {
    next = () => {
      throw new Error("sync boom");
    };
    const a = await send("POST", "/validate", "{}");
    expect([a.status, a.text, a.headers["content-type"]]).to.deep.equal([500, "internal error", "text/plain"]);
    next = () => Promise.reject(new Error("async boom"));
    const b = await send("POST", "/validate", "{}");
    expect([b.status, b.text]).to.deep.equal([500, "internal error"]);
    expect(s.inFlight).to.equal(0);
  });

  it("other methods on the review paths: 405 Allow: POST; probes and 404 from the probe app", async () => {
    const g = await send("GET", "/mutate");
    expect(g.status).to.equal(405);
    expect(g.headers.allow).to.equal("POST");
    expect((await send("GET", "/healthz")).text).to.equal("ok\n");
    expect((await send("GET", "/readyz")).status).to.equal(200);
    expect((await send("GET", "/nope")).status).to.equal(404);
    expect((await send("POST", "/readyz", "x")).status).to.equal(405);
    expect(calls).to.have.length(0);
  });

  it("counts a review in flight from its first body byte, and releases it when the client goes away", async () => {
    const req = https.request({
      host: "127.0.0.1",
      port: s.port,
      method: "POST",
      path: "/validate",
      ca,
      servername: "localhost",
      agent: false,
      headers: { "Content-Length": 100 },
    });
    req.on("error", () => {});
    req.write('{"half":');
    await waitFor(() => s.inFlight === 1, { what: "the first body bytes to count the review in flight" });
    req.destroy();
    await waitFor(() => s.inFlight === 0, { what: "the gone client to release the review" });
    expect(calls).to.have.length(0);
  });

  it("an async handler's review stays in flight until its answer is written", async () => {
    let release!: () => void;
    next = () => new Promise<HandlerResult>((r) => (release = () => r({ status: 200, body: "{}" })));
    const reply = send("POST", "/validate", "{}");
    await waitFor(() => calls.length === 1, { what: "the handler to be called" });
    expect(s.inFlight).to.equal(1);
    release();
    expect((await reply).status).to.equal(200);
    expect(s.inFlight).to.equal(0);
  });
});

describe("transport: drain", function () {
  this.timeout(20_000);

  it("answers the review in flight with Connection: close, then resolves", async () => {
    const c = certs();
    let release: (() => void) | undefined;
    const s = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: { cert: c.cert, key: c.key },
      handler: () => new Promise<HandlerResult>((r) => (release = () => r({ status: 200, body: "{}" }))),
      readiness: () => ({ ready: true, reasons: [] }),
      log: createLogger("silent"),
    });
    const agent = new https.Agent({ keepAlive: true });
    const get = (path: string, method = "GET", body?: string) =>
      new Promise<Reply>((resolve, reject) => {
        const req = https.request(
          { host: "127.0.0.1", port: s.port, method, path, ca: c.ca, servername: "localhost", agent },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const review = get("/validate", "POST", "{}");
    await waitFor(() => release, { what: "the handler to be called" });
    expect(s.inFlight).to.equal(1);
    // a second, idle keep-alive connection: closed at once by the drain
    const probe = await get("/healthz");
    expect(probe.status).to.equal(200);
    const idle = () => Object.values(agent.freeSockets).flat().length;
    await waitFor(() => idle() === 1, { what: "the probe's connection to be idle in the agent", state: idle });
    let drained = false;
    const d = s.drain(5000).then(() => (drained = true));
    expect(s.draining).to.equal(true);
    await waitFor(() => idle() === 0, { what: "the drain to close the idle connection", state: idle });
    // the busy one stays open: the drain waits for its answer
    expect(drained).to.equal(false);
    release!();
    const r = await review;
    expect(r.status).to.equal(200);
    expect(r.headers.connection).to.equal("close");
    await d;
    expect(s.inFlight).to.equal(0);
    agent.destroy();
  });

  it("closes the connections still busy after the grace period", async () => {
    const c = certs();
    const lines: Record<string, unknown>[] = [];
    const sink = { write: (l: string) => void lines.push(JSON.parse(l)) };
    let called = 0;
    const s = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: { cert: c.cert, key: c.key },
      handler: () => (called++, new Promise<HandlerResult>(() => {})),
      readiness: () => ({ ready: true, reasons: [] }),
      log: createLogger("warn", sink as unknown as NodeJS.WritableStream),
    });
    const failed = new Promise<string>((resolve) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: s.port,
          method: "POST",
          path: "/validate",
          ca: c.ca,
          servername: "localhost",
          agent: false,
        },
        () => resolve("answered"),
      );
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      req.end("{}");
    });
    await waitFor(() => called === 1, { what: "the handler to be called" });
    await s.drain(300);
    // the drain ended because its grace period ran out, not because the review finished
    expect(lines.map((l) => [l.msg, l.inFlight])).to.deep.equal([["drain timeout; closing remaining connections", 1]]);
    expect(await failed).to.equal("ECONNRESET");
  });
});
