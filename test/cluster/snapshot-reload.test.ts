/**
 * Atomic snapshot reloads (SPEC §6), over real HTTPS: state files are used
 * only once they read the same twice in a row and every one parses; a
 * reload with any error keeps the previous view. The source is driven by
 * hand (no watcher, no settle time): each step is one look at the files.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReviewHandler } from "../../src/admission/handler.js";
import { SnapshotSource } from "../../src/cluster/sources/snapshot.js";
import { createLogger } from "../../src/observability/logger.js";
import { RunningServer, startServer } from "../../src/transport/server.js";
import { policy } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";
import { request, testCertDir } from "../helpers/server.js";
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
  const counter = { labels: (result: string) => ({ inc: () => void reloads.push(result) }) };

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
    expect(reloads).to.deep.equal(["error"]);
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
    expect(reloads).to.deep.equal(["error", "success"]);
  });

  it("files still changing between two looks are not loaded", async () => {
    writeFileSync(join(dir, "state", "services.json"), services(6));
    expect(src.check()).to.equal("pending");
    writeFileSync(join(dir, "state", "services.json"), services(5));
    expect(src.check()).to.equal("pending");
    expect(await allows("10.0.5.6")).to.equal(false);
    expect(src.check()).to.equal("reloaded");
    expect(await allows("10.0.5.6")).to.equal(true);
    expect(reloads).to.deep.equal(["success"]);
  });

  it("with the watcher: a rewritten file is used once it has settled", async () => {
    src.close();
    src = SnapshotSource.start([join(dir, "state")], log, undefined, { pollMs: 100, settleMs: 100, reloads: counter });
    writeFileSync(join(dir, "state", "services.json"), services(2));
    await waitFor(async () => await allows("10.0.5.5"), { what: "the rewritten state to be used" });
    expect(reloads).to.deep.equal(["success"]);
  });
});
