/**
 * Atomic policy reloads (SPEC §6), over real HTTPS: a changed policy file is
 * used only once it reads the same twice in a row and parses. The source is
 * driven by hand (no watcher, no settle time), so each step is one look at
 * the file: deterministic whatever the machine's load.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReviewHandler } from "../../src/admission/handler.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { parsePolicy } from "../../src/policy/load.js";
import { PolicySource } from "../../src/policy/source.js";
import { RunningServer, startServer } from "../../src/transport/server.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";
import { request, testCertDir } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const log = createLogger("silent");

/**
 * KUBEVIP_NULL reserving also 10.0.5.66 (in MetalLB's pool default, so only
 * the reservation refuses it), with reservedAddresses moved up, right after
 * defaultProvider: the file's first part is a valid policy that reserves nothing.
 */
function policyText(extraReserved: string[] = []): string {
  const reserved = ["10.0.4.1/32", "fd00:10::1", "10.0.5.66/32", ...extraReserved]
    .map((a) => JSON.stringify(a))
    .join(", ");
  const text = KUBEVIP_NULL.replace(/\n {2}reservedAddresses: .*\n/, "\n").replace(
    "  defaultProvider: metallb\n",
    `  defaultProvider: metallb\n  reservedAddresses: [${reserved}]\n`,
  );
  expect(text).to.not.equal(KUBEVIP_NULL);
  return text;
}

async function counter(m: Metrics, result: string): Promise<number> {
  return (await m.policyReloads.get()).values.find((x) => x.labels.result === result)?.value ?? 0;
}

describe("policy: atomic reloads over HTTPS", function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;
  let m: Metrics;
  let src: PolicySource;
  let server: RunningServer;
  let ca: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "lbguard-reload-"));
    file = join(dir, "policy.yaml");
    writeFileSync(file, policyText());
    m = new Metrics(false);
    src = PolicySource.start(file, log, m, 0, 0); // no watcher, no settle time: check() by hand
    const view = viewOf(CLUSTER);
    const certDir = testCertDir();
    ca = readFileSync(join(certDir, "ca.crt"), "utf8");
    server = await startServer({
      port: 0,
      host: "127.0.0.1",
      tls: {
        cert: readFileSync(join(certDir, "tls.crt"), "utf8"),
        key: readFileSync(join(certDir, "tls.key"), "utf8"),
      },
      handler: createReviewHandler({ policy: () => src.current, view: () => view }, m, log),
      readiness: () => ({ ready: true, reasons: [] }),
      log,
    });
  });
  afterEach(async () => {
    src.close();
    await server.drain(1000);
  });

  /** whether the policy in force lets a MetalLB Service in shop take `ip` (in its pool 10.0.5.0/24) */
  async function allows(ip: string): Promise<boolean> {
    const body = reviewBody({ object: svc({ ns: "shop", name: "probe", cls: "metallb", ip }) });
    const r = await request(server.port, ca, "POST", "/validate", body, { "Content-Type": "application/json" });
    expect(r.status).to.equal(200);
    return r.json().response.allowed;
  }

  it("a file written in two halves: the old policy decides until the whole file has read the same twice", async () => {
    expect(await allows("10.0.5.77")).to.equal(true);
    expect(await allows("10.0.5.66")).to.equal(false);
    const next = policyText(["10.0.5.77/32"]);
    const cut = next.indexOf("  reservedAddresses:");
    // the first half is a valid policy that reserves nothing
    expect(parsePolicy(next.slice(0, cut)).summary()).to.match(/; 0 reserved/);
    writeFileSync(file, next.slice(0, cut));
    expect(src.check(log, m)).to.equal("pending");
    expect(await allows("10.0.5.66")).to.equal(false); // still reserved: the old policy decides
    writeFileSync(file, next);
    expect(src.check(log, m)).to.equal("pending"); // changed again since the last look
    expect(await allows("10.0.5.66")).to.equal(false);
    expect(await allows("10.0.5.77")).to.equal(true);
    expect(src.check(log, m)).to.equal("adopted"); // the same twice in a row
    expect(await allows("10.0.5.77")).to.equal(false);
    expect(await allows("10.0.5.66")).to.equal(false);
    expect(await counter(m, "success")).to.equal(2); // the start and the whole file, never the half
    expect(src.check(log, m)).to.equal("unchanged");
  });

  it("a half-written file that stays half-written is used only if it parses; an invalid one never", async () => {
    const text = policyText();
    writeFileSync(file, text.slice(0, text.length >> 1) + "\n  - [broken");
    expect(src.check(log, m)).to.equal("pending");
    expect(src.check(log, m)).to.equal("invalid");
    expect(await allows("10.0.5.66")).to.equal(false);
    expect(await counter(m, "error")).to.equal(1);
    // the same broken text is not judged (or counted) again
    expect(src.check(log, m)).to.equal("unchanged");
    expect(await counter(m, "error")).to.equal(1);
  });

  it("with the watcher: an in-place rewrite is adopted once it has settled", async () => {
    src.close();
    m = new Metrics(false);
    src = PolicySource.start(file, log, m, 100, 100);
    writeFileSync(file, policyText(["10.0.5.78/32"]));
    await waitFor(async () => !(await allows("10.0.5.78")), { what: "the rewritten policy to be used" });
    expect(await counter(m, "success")).to.equal(2); // the start, the rewrite
    expect(await counter(m, "error")).to.equal(0);
  });

  it("with the watcher: a settle timer that fires early by Date.now() looks again, and the rewrite is adopted", async () => {
    // libuv starts a timer from the time its loop iteration began, so on a busy process a timer can fire
    // before Date.now() says its delay has passed; the clock here runs 150 ms behind from the first look on
    src.close();
    m = new Metrics(false);
    src = PolicySource.start(file, log, m, 0, 200);
    (src as unknown as { watch: { close(): void } }).watch = { close() {} }; // watching, with no watcher of files
    const real = Date.now;
    try {
      writeFileSync(file, policyText(["10.0.5.78/32"]));
      expect(src.check(log, m)).to.equal("pending");
      Date.now = () => real() - 150;
      await waitFor(async () => (await counter(m, "success")) === 2, { what: "the rewritten policy to be adopted" });
    } finally {
      Date.now = real;
    }
    expect(await allows("10.0.5.78")).to.equal(false);
  });
});
