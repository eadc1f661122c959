/**
 * Atomic snapshot reloads (SPEC §6), over real HTTPS: state files are used
 * only once they read the same twice in a row and every one parses; a
 * reload with any error keeps the previous view. The source is driven by
 * hand (no watcher, no settle time): each step is one look at the files.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReviewHandler } from "../../src/admission/handler.js";
import { SnapshotSource } from "../../src/cluster/sources/snapshot.js";
import { createLogger } from "../../src/observability/logger.js";
import { RunningServer, startServer } from "../../src/transport/server.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";
import { request, startTestServer, testCertDir, type TestServer } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const log = createLogger("silent");

const POOLS = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop}}}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: default, namespace: metallb-system}
  spec: {addresses: [10.0.5.0/24]}
`;

/** Services as `kubectl get services -o json` writes them: web-i holds 10.0.5.(i+1) */
function services(n: number): string {
  const items = Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `web-${i}`, namespace: "shop" },
    spec: { type: "LoadBalancer", loadBalancerClass: "metallb" },
    status: { loadBalancer: { ingress: [{ ip: `10.0.5.${i + 1}` }] } },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 1);
}

describe("cluster: atomic snapshot reloads over HTTPS", function () {
  this.timeout(20_000);
  let dir: string;
  let src: SnapshotSource;
  let server: RunningServer;
  let ca: string;
  const reloads: string[] = [];
  // the first load counts too; inc(0) only creates a series
  const counter = { labels: (result: string) => ({ inc: (by = 1) => void (by && reloads.push(result)) }) };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "lbguard-snapreload-"));
    mkdirSync(join(dir, "state"));
    writeFileSync(join(dir, "state", "pools.yaml"), POOLS);
    writeFileSync(join(dir, "state", "services.json"), services(10));
    reloads.length = 0;
    src = SnapshotSource.start([join(dir, "state")], log, undefined, { pollMs: 0, settleMs: 0, reloads: counter });
    const p = policy();
    const certDir = testCertDir();
    ca = readFileSync(join(certDir, "ca.crt"), "utf8");
    server = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: {
        cert: readFileSync(join(certDir, "tls.crt"), "utf8"),
        key: readFileSync(join(certDir, "tls.key"), "utf8"),
      },
      handler: createReviewHandler({ policy: () => p, view: () => src.view() }, undefined, log),
      readiness: () => ({ ready: true, reasons: [] }),
      log,
    });
  });
  afterEach(async () => {
    src.close();
    await server.drain(1000);
  });

  /** whether a MetalLB Service shop/probe may take `ip`: refused while another Service holds it */
  async function allows(ip: string): Promise<boolean> {
    const body = reviewBody({ object: svc({ ns: "shop", name: "probe", cls: "metallb", ip }) });
    const r = await request(server.port, ca, "POST", "/validate", body, { "Content-Type": "application/json" });
    expect(r.status).to.equal(200);
    return r.json().response.allowed;
  }

  it("an invalid file among valid ones keeps the previous view, counted as an error", async () => {
    expect(await allows("10.0.5.3")).to.equal(false);
    const before = src.view();
    writeFileSync(join(dir, "state", "pools.yaml"), POOLS.replace("items:", "items: [oops"));
    expect(src.check()).to.equal("pending");
    expect(src.check()).to.equal("invalid");
    expect(src.view()).to.equal(before);
    expect(await allows("10.0.5.3")).to.equal(false);
    expect(reloads).to.deep.equal(["success", "error"]);
    expect(src.check()).to.equal("unchanged"); // not judged again until it changes
  });

  it("a file cut in half keeps the previous view; the whole file, read twice, replaces it", async () => {
    const full = services(10);
    writeFileSync(join(dir, "state", "services.json"), full.slice(0, full.length >> 1));
    expect(src.check()).to.equal("pending");
    expect(src.check()).to.equal("invalid");
    expect(await allows("10.0.5.3")).to.equal(false); // web-2 still holds it
    // the rewrite: four Services, so 10.0.5.9 is free now
    writeFileSync(join(dir, "state", "services.json"), services(4));
    expect(src.check()).to.equal("pending");
    expect(await allows("10.0.5.9")).to.equal(false);
    expect(src.check()).to.equal("reloaded");
    expect(await allows("10.0.5.9")).to.equal(true);
    expect(await allows("10.0.5.3")).to.equal(false);
    expect(reloads).to.deep.equal(["success", "error", "success"]);
  });

  it("an object that is not one (a Service without a name) keeps the previous view, counted as an error", async () => {
    const before = src.view();
    writeFileSync(
      join(dir, "state", "services.json"),
      services(4).replace('"name": "web-3"', '"generateName": "web-"'),
    );
    expect(src.check()).to.equal("pending");
    expect(src.check()).to.equal("invalid");
    expect(src.view()).to.equal(before);
    expect(await allows("10.0.5.9")).to.equal(false); // web-8 of the ten still holds it
    expect(reloads).to.deep.equal(["success", "error"]);
  });

  it("files still changing between two looks are not loaded", async () => {
    writeFileSync(join(dir, "state", "services.json"), services(6));
    expect(src.check()).to.equal("pending");
    writeFileSync(join(dir, "state", "services.json"), services(5));
    expect(src.check()).to.equal("pending");
    expect(await allows("10.0.5.6")).to.equal(false);
    expect(src.check()).to.equal("reloaded");
    expect(await allows("10.0.5.6")).to.equal(true);
    expect(reloads).to.deep.equal(["success", "success"]);
  });

  it("with the watcher: a rewritten file is used once it has settled", async () => {
    src.close();
    src = SnapshotSource.start([join(dir, "state")], log, undefined, { pollMs: 100, settleMs: 100, reloads: counter });
    writeFileSync(join(dir, "state", "services.json"), services(2));
    await waitFor(async () => await allows("10.0.5.5"), { what: "the rewritten state to be used" });
    // the first load of each of the two sources, then the reload
    expect(reloads).to.deep.equal(["success", "success", "success"]);
  });

  it("with the watcher: a settle timer that fires early by Date.now() looks again, and the file is still used", async () => {
    // libuv starts a timer from the time its loop iteration began, so on a busy process a timer can fire
    // before Date.now() says its delay has passed; the clock here runs 150 ms behind from the first look on
    src.close();
    src = SnapshotSource.start([join(dir, "state")], log, undefined, { pollMs: 0, settleMs: 200, reloads: counter });
    (src as unknown as { watch: { close(): void } }).watch = { close() {} }; // watching, with no watcher of files
    const real = Date.now;
    try {
      writeFileSync(join(dir, "state", "services.json"), services(2));
      expect(src.check()).to.equal("pending");
      let behind = 150;
      Date.now = () => real() - behind;
      await waitFor(async () => reloads.length === 3, { what: "the rewritten state to be used", state: () => reloads });
      behind = 0;
      expect(reloads).to.deep.equal(["success", "success", "success"]);
      expect(await allows("10.0.5.5")).to.equal(true);
    } finally {
      Date.now = real;
    }
  });
});

describe("serve --state: lbguard_snapshot_reloads_total on /metrics", function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer(KUBEVIP_NULL, [POOLS, services(10)]);
  });
  after(async () => s.stop());

  const scrape = () =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: s.metricsPort, path: "/metrics" }, (res) => {
          let b = "";
          res.on("data", (c) => (b += c));
          res.on("end", () => resolve(b));
        })
        .on("error", reject);
    });
  const reloads = async () => {
    const t = await scrape();
    const n = (result: string) =>
      Number(new RegExp(`^lbguard_snapshot_reloads_total\\{result="${result}"\\} (\\d+)$`, "m").exec(t)?.[1]);
    return { success: n("success"), error: n("error") };
  };
  const allows = async (ip: string) => {
    const r = await s.post("/validate", reviewBody({ object: svc({ ns: "shop", name: "probe", cls: "metallb", ip }) }));
    return r.json().response.allowed as boolean;
  };

  it("counts the first load, a reload with an error (the state kept) and a good reload", async () => {
    const t = await scrape();
    expect(t).to.include("# TYPE lbguard_snapshot_reloads_total counter");
    expect(await reloads()).to.deep.equal({ success: 1, error: 0 });
    const file = join(s.dir, "state", "s1.yaml");
    writeFileSync(file, services(4).slice(0, 200)); // half a file
    await waitFor(async () => (await reloads()).error === 1, {
      what: "the reload error to be counted",
      state: reloads,
    });
    expect(await allows("10.0.5.9")).to.equal(false); // the ten Services are still in force
    writeFileSync(file, services(4));
    await waitFor(async () => (await reloads()).success === 2, {
      what: "the good reload to be counted",
      state: reloads,
    });
    expect(await reloads()).to.deep.equal({ success: 2, error: 1 });
    expect(await allows("10.0.5.9")).to.equal(true);
  });
});
