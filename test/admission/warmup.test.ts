import { expect } from "chai";
import { createReviewHandler } from "../../src/admission/handler.js";
import { warmUp, warmUpReviews } from "../../src/admission/warmup.js";
import { MemoryView } from "../../src/cluster/view.js";
import { createLogger } from "../../src/observability/logger.js";
import { parsePolicy } from "../../src/policy/load.js";
import { BENCH_POLICY } from "../../bench/generate.js";

describe("admission/warmup: synthetic reviews before serving", () => {
  const policy = parsePolicy(BENCH_POLICY);

  it("are reviews lbguard decodes and answers (200, its own uid), of every common kind", async () => {
    const view = new MemoryView();
    const handler = createReviewHandler({ policy: () => policy, view: () => view }, undefined, createLogger("silent"));
    const reviews = warmUpReviews(policy, true, 2);
    const kinds = new Set<string>();
    for (const [webhook, body] of reviews) {
      const req = JSON.parse(body).request;
      kinds.add(`${req.kind.kind}${req.subResource ? `/${req.subResource}` : ""} ${req.operation}`);
      const out = await handler(webhook, body, "application/json", Date.now() + 10_000);
      expect(out.status).to.equal(200);
      expect(JSON.parse(out.body).response.uid).to.equal(req.uid);
    }
    expect([...kinds].sort()).to.deep.equal([
      "DaemonSet CREATE",
      "IPAddressPool CREATE",
      "Service CREATE",
      "Service UPDATE",
      "Service/status UPDATE",
    ]);
  });

  it("leaves pool CREATEs out when asked (a live view would re-list pools for each)", () => {
    expect(warmUpReviews(policy, false).some(([, b]) => b.includes('"IPAddressPool"'))).to.equal(false);
  });

  it("stops at its round count and never throws, even when the handler does", async () => {
    const view = new MemoryView();
    const handler = createReviewHandler({ policy: () => policy, view: () => view }, undefined, createLogger("silent"));
    expect(await warmUp(handler, policy, { rounds: 2 })).to.equal(2 * warmUpReviews(policy).length);
    expect(
      await warmUp(
        () => {
          throw new Error("boom");
        },
        policy,
        { rounds: 2 },
      ),
    ).to.equal(0);
  });
});
