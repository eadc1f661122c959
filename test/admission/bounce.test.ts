/**
 * The status-bounce detector (SPEC §12) on its own, with a fake clock:
 * which reviews count, the window, the LRU bound, and the findings the
 * background audit makes of it; then through the webhook (the real
 * handler, in process): a denied status write counts too.
 */
import { expect } from "chai";
import { BOUNCE_CAPACITY, BOUNCE_WINDOW_MS, BounceDetector } from "../../src/admission/bounce.js";
import { createReviewHandler } from "../../src/admission/handler.js";
import { bounceFindings } from "../../src/audit/background.js";
import { auditMessage } from "../../src/audit/finding.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { CLUSTER } from "../helpers/cluster.js";
import { viewOf } from "../helpers/cluster.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { request, reviewBody, svc } from "../helpers/review.js";

const MLB = "system:serviceaccount:metallb-system:controller";
const KV = "system:serviceaccount:kube-system:kube-vip";
const pol = policy(KUBEVIP_NULL);

function statusWrite(user: string, o: { ns?: string; name?: string; cls?: string | null; ip?: string } = {}) {
  const cls = o.cls === undefined ? "metallb" : o.cls;
  const object = svc({ ns: o.ns ?? "shop", name: o.name ?? "web", cls, status: [o.ip ?? "10.0.6.10"] });
  const oldObject = svc({ ns: o.ns ?? "shop", name: o.name ?? "web", cls });
  return request({ operation: "UPDATE", subResource: "status", user, object, oldObject });
}

describe("status-bounce detector", () => {
  let t = 1_000_000;
  const clock = () => t;
  beforeEach(() => (t = 1_000_000));

  it("two providers' identities writing one Service's status within the window is a bounce", () => {
    const d = new BounceDetector(BOUNCE_CAPACITY, BOUNCE_WINDOW_MS, clock);
    d.observe("validate", statusWrite(MLB), pol);
    expect(d.count()).to.equal(0);
    t += 1000;
    d.observe("validate", statusWrite(KV), pol);
    t += 1000;
    d.observe("validate", statusWrite(MLB), pol);
    expect(d.count()).to.equal(1);
    expect(d.bouncing()).to.deep.equal([
      {
        namespace: "shop",
        name: "web",
        cls: "metallb",
        writers: [
          { provider: "kube-vip", user: KV, at: 1_001_000, writes: 1 },
          { provider: "metallb", user: MLB, at: 1_002_000, writes: 2 },
        ],
      },
    ]);
    // once one side stops writing for the window, it is no longer a bounce
    t += BOUNCE_WINDOW_MS - 1000;
    expect(d.count()).to.equal(0);
    expect(d.bouncing()).to.deep.equal([]);
  });

  it("counts only status UPDATEs of Services on /validate by a provider's identity", () => {
    const d = new BounceDetector(BOUNCE_CAPACITY, BOUNCE_WINDOW_MS, clock);
    const kv = statusWrite(KV);
    d.observe("validate", statusWrite(MLB), pol);
    d.observe("mutate", kv, pol); // the mutating webhook never gets status writes; ignored if it did
    d.observe("validate", { ...kv, subResource: undefined }, pol); // a spec write
    d.observe("validate", statusWrite("alice"), pol); // not a provider's identity
    d.observe("validate", { ...kv, operation: "CREATE" }, pol);
    d.observe("validate", { ...kv, kind: { group: "example.com", version: "v1", kind: "Service" } }, pol);
    expect(d.count()).to.equal(0);
    expect(d.size).to.equal(1);
    d.observe("validate", kv, pol);
    expect(d.count()).to.equal(1);
  });

  it("keeps at most `capacity` Services, dropping the least recently written", () => {
    const d = new BounceDetector(BOUNCE_CAPACITY, BOUNCE_WINDOW_MS, clock);
    d.observe("validate", statusWrite(MLB, { name: "old" }), pol);
    d.observe("validate", statusWrite(MLB, { name: "kept" }), pol);
    for (let i = 0; i < BOUNCE_CAPACITY - 2; i++) d.observe("validate", statusWrite(MLB, { name: `s${i}` }), pol);
    expect(d.size).to.equal(BOUNCE_CAPACITY);
    // "kept" is written again: it becomes the most recent, and "old" is the one dropped next
    d.observe("validate", statusWrite(KV, { name: "kept" }), pol);
    d.observe("validate", statusWrite(MLB, { name: "new" }), pol);
    expect(d.size).to.equal(BOUNCE_CAPACITY);
    d.observe("validate", statusWrite(KV, { name: "old" }), pol);
    expect(d.bouncing().map((b) => b.name)).to.deep.equal(["kept"]);
    // 20k more Services: never more than 10k entries
    for (let i = 0; i < 2 * BOUNCE_CAPACITY; i++) d.observe("validate", statusWrite(KV, { name: `x${i}` }), pol);
    expect(d.size).to.equal(BOUNCE_CAPACITY);
  });

  it("is an audit.status-bounce finding naming both writers, with the fix for the one the policy does not give it to", () => {
    const d = new BounceDetector(BOUNCE_CAPACITY, BOUNCE_WINDOW_MS, clock);
    d.observe("validate", statusWrite(MLB, { cls: null, ns: "kube-system", name: "ingress" }), pol);
    d.observe("validate", statusWrite(KV, { cls: null, ns: "kube-system", name: "ingress" }), pol);
    const [f] = bounceFindings(d.bouncing(), pol, d.windowMs);
    expect(f).to.deep.include({
      rule: "audit.status-bounce",
      severity: "critical",
      subject: { kind: "Service", namespace: "kube-system", name: "ingress" },
      owner: "kube-vip",
      contender: "metallb",
      fix: "start the MetalLB controller with --lb-class=metallb as the policy says",
    });
    expect(auditMessage(f)).to.equal(
      `Service kube-system/ingress bounces between MetalLB and kube-vip: lbguard saw status writes from ${MLB} (MetalLB, 1 write) and ${KV} (kube-vip, 1 write) within 5 minutes; start the MetalLB controller with --lb-class=metallb as the policy says`,
    );
  });

  it("through the webhook: denied status writes count as much as admitted ones", async () => {
    const d = new BounceDetector();
    const view = viewOf(CLUSTER);
    const handler = createReviewHandler(
      { policy: () => pol, view: () => view, observe: (w, r, p) => d.observe(w, r, p) },
      new Metrics(false),
      createLogger("silent"),
    );
    const answer = async (user: string) => {
      const a = await handler("validate", reviewBody(statusWrite(user)), "application/json", Date.now() + 5000);
      return JSON.parse(a.body).response.allowed as boolean;
    };
    // shop/web has class metallb: MetalLB's write is admitted, kube-vip's refused (foreign-write)
    expect(await answer(MLB)).to.equal(true);
    expect(await answer(KV)).to.equal(false);
    expect(d.count()).to.equal(1);
    expect(d.bouncing()[0].writers.map((w) => w.provider)).to.deep.equal(["metallb", "kube-vip"]);
  });
});
