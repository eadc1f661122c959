/**
 * The warm-up before serving, as `serve` runs it (src/cli/serve.ts): the suite turns it off for
 * every other server (test/setup.ts); these servers turn it on with a small review count.
 */
import { expect } from "chai";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { serve, type Serving } from "../../src/cli/serve.js";
import { createLogger } from "../../src/observability/logger.js";
import { FakeApiServer } from "../fake/apiserver.js";
import { CLUSTER, objects } from "../helpers/cluster.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";
import { liveServe, request, scrapeMetrics, spawnServe, testCertDir } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

/** the lbguard_admission_requests_total samples of a scrape that counted something */
const counted = (text: string) =>
  text.split("\n").filter((l) => l.startsWith("lbguard_admission_requests_total{") && !l.endsWith(" 0"));

describe("serve: the warm-up before serving", function () {
  this.timeout(60_000);
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.LBGUARD_WARM_UP;
    process.env.LBGUARD_WARM_UP = "400";
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.LBGUARD_WARM_UP;
    else process.env.LBGUARD_WARM_UP = saved;
  });

  it("decides its reviews before listening (--state), and records none of them: no metric, no bounce, no log line of a decision", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-warm-"));
    writeFileSync(join(dir, "policy.yaml"), KUBEVIP_NULL);
    writeFileSync(join(dir, "state.yaml"), CLUSTER);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(c, _e, done) {
        for (const l of String(c).split("\n")) if (l.startsWith("{")) lines.push(JSON.parse(l));
        done();
      },
    });
    const certDir = testCertDir();
    const o = { policy: join(dir, "policy.yaml"), state: [join(dir, "state.yaml")], port: 0, metricsPort: 0 };
    let s: Serving | undefined;
    try {
      s = await serve(
        { ...o, certDir, logLevel: "info", logFormat: "json", host: "127.0.0.1" },
        createLogger("info", sink, "json"),
      );
      const warmed = lines.filter((l) => l.msg === "warmed up");
      expect(warmed.length).to.equal(1);
      expect(warmed[0]!.reviews).to.be.within(400, 403);
      // logged before the server said it serves
      expect(lines.findIndex((l) => l.msg === "warmed up")).to.be.lessThan(
        lines.findIndex((l) => String(l.msg).startsWith("lbguard serving on")),
      );
      expect(counted(await scrapeMetrics(s.metricsPort))).to.deep.equal([]);
      expect(s.bounce.count()).to.equal(0);
      expect(lines.filter((l) => "webhook" in l)).to.deep.equal([]);
      // the first real review is the first one counted
      const ca = readFileSync(join(certDir, "ca.crt"), "utf8");
      const r = await request(s.port, ca, "POST", "/validate", reviewBody({ object: svc({ ns: "shop", cls: null }) }), {
        "Content-Type": "application/json",
      });
      expect(r.status).to.equal(200);
      expect(counted(await scrapeMetrics(s.metricsPort)).map((l) => l.replace(/\{.*\}/, ""))).to.deep.equal([
        "lbguard_admission_requests_total 1",
      ]);
    } finally {
      await s?.stop();
    }
  });

  it('keeps /readyz at 503 "warming up" until it is done (--kubeconfig: after every informer listed)', async () => {
    const fake = new FakeApiServer();
    let child: ChildProcessWithoutNullStreams | undefined;
    try {
      for (const o of objects(CLUSTER)) fake.apply(o);
      await fake.start();
      const { args, ca } = liveServe(fake.kubeconfig(), KUBEVIP_NULL, "lbguard-warm-live-");
      const s = await spawnServe(args, { LBGUARD_WARM_UP: "3000" });
      child = s.child;
      const answers = new Set<string>();
      let warmedWhenReady: boolean | undefined;
      await waitFor(
        async () => {
          const r = await request(s.port, ca, "GET", "/readyz");
          answers.add(`${r.status} ${r.text.trim()}`);
          if (r.status !== 200) return false;
          warmedWhenReady = s.output().includes('"msg":"warmed up"');
          return true;
        },
        { what: "/readyz 200", state: () => [...answers] },
      );
      expect(warmedWhenReady).to.equal(true);
      for (const a of answers)
        expect(a).to.match(/^(200 ok|503 not ready: .*(cluster state not synced|warming up).*)$/);
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child!.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await fake.stop();
    }
  });
});
