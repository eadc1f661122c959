import { expect } from "chai";
import type { HandlerResult, Webhook } from "../../src/transport/server.js";
import { warmUpTransport } from "../../src/transport/warmup.js";
import { testCertDir } from "../helpers/server.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

describe("transport/warmup: reviews through a second server of the same code", () => {
  const dir = testCertDir();
  const pair = { cert: readFileSync(join(dir, "tls.crt"), "utf8"), key: readFileSync(join(dir, "tls.key"), "utf8") };
  const ok = (uid: string): HandlerResult => ({
    status: 200,
    body: JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid, allowed: true },
    }),
    contentType: "application/json",
  });

  it("sends each body to its webhook over TLS, and stops once the review count is answered", async () => {
    const seen: [Webhook, string][] = [];
    const bodies: [Webhook, string][] = [
      ["mutate", '{"request":{"uid":"a"}}'],
      ["validate", '{"request":{"uid":"b"}}'],
      ["validate", `{"request":{"uid":"c","pad":"${"x".repeat(70_000)}"}}`],
    ];
    const n = await warmUpTransport({
      bodies,
      tls: pair,
      handler: (webhook, body) => {
        seen.push([webhook, body]);
        return ok(JSON.parse(body).request.uid);
      },
      reviews: 30,
      budgetMs: 60_000,
      connections: 3,
    });
    // three connections each finish the request they are on
    expect(n).to.be.within(30, 32);
    expect(seen.length).to.equal(n);
    for (const [webhook, body] of bodies)
      expect(seen.filter(([w, b]) => w === webhook && b === body).length).to.be.greaterThan(8);
  });

  it("ends at the first answer that is not 200, and never throws (a broken handler leaves the process cold, no more)", async () => {
    let calls = 0;
    const n = await warmUpTransport({
      bodies: [["validate", "{}"]],
      tls: pair,
      handler: () => {
        calls++;
        throw new Error("boom");
      },
      reviews: 1_000_000,
      budgetMs: 600_000,
      connections: 2,
    });
    expect(n).to.equal(0);
    expect(calls).to.be.within(1, 2);
  });

  it("answers 0 when its server cannot start (a certificate that does not load)", async () => {
    const n = await warmUpTransport({
      bodies: [["validate", "{}"]],
      tls: { cert: "not a certificate", key: "no key" },
      handler: () => ok("x"),
      reviews: 10,
      budgetMs: 600_000,
    });
    expect(n).to.equal(0);
  });
});
