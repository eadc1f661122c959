/**
 * `--audit-events` on its own, against the fake API server with a fake
 * clock: one Warning Event per finding when it first appears, on its
 * subject, never again while it persists; at most five in any minute, the
 * rest sent later while they persist; nothing from a replica that does not
 * hold the Lease, and nothing for findings already in the reports.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { EVENT_QUEUE, EventRecorder } from "../../src/audit/events.js";
import type { AuditFinding } from "../../src/audit/finding.js";
import { findingHash } from "../../src/audit/writer.js";
import { createLogger } from "../../src/observability/logger.js";
import { FakeApiServer } from "../fake/apiserver.js";
import type { Obj } from "./helpers.js";

function finding(ns: string | undefined, name: string, rule = "service.foreign-address"): AuditFinding {
  return {
    rule,
    family: "services",
    severity: "high",
    subject: ns ? { kind: "Service", namespace: ns, name } : { kind: "Node", name },
    related: [],
    problem: "10.0.4.210 is owned by kube-vip",
    fix: "request an address from MetalLB's pools",
    owner: "metallb",
    contender: "kube-vip",
  };
}

describe("audit events: one per appearing finding, a few a minute at most", function () {
  let fake: FakeApiServer;
  let kc: KubeConfig;
  let t: number;
  let leader: boolean;
  const recorder = () =>
    new EventRecorder({ kc, log: createLogger("silent"), identity: "lbguard-0", canWrite: () => leader, now: () => t });
  const events = (): Obj[] =>
    fake.requests
      .filter((r) => r.method === "POST" && r.path.endsWith("/events"))
      .map((r) => {
        const [, ns] = /namespaces\/([^/]+)/.exec(r.path)!;
        return { ns };
      });
  const stored = (ns: string): Obj[] => fake.objects("Event", ns);

  beforeEach(async () => {
    fake = new FakeApiServer();
    await fake.start();
    kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfig());
    t = Date.UTC(2025, 5, 1, 12, 0, 0);
    leader = true;
  });
  afterEach(() => fake.stop());

  it("a Warning Event on the subject when a finding appears; none while it persists; again after it went away", async () => {
    const r = recorder();
    const a = finding("shop", "web2");
    r.observe([a], true);
    expect(await r.flush()).to.equal(1);
    const [ev] = stored("shop");
    expect(ev).to.deep.include({
      kind: "Event",
      involvedObject: { apiVersion: "v1", kind: "Service", namespace: "shop", name: "web2" },
      reason: "LoadBalancerOwnershipConflict",
      message: "Service shop/web2: 10.0.4.210 is owned by kube-vip; request an address from MetalLB's pools",
      type: "Warning",
      source: { component: "lbguard" },
      reportingComponent: "lbguard",
      reportingInstance: "lbguard-0",
      count: 1,
      firstTimestamp: "2025-06-01T12:00:00Z",
      lastTimestamp: "2025-06-01T12:00:00Z",
    });
    for (let i = 0; i < 5; i++) {
      t += 60_000;
      r.observe([a], true);
      expect(await r.flush()).to.equal(0);
    }
    t += 60_000;
    r.observe([], true);
    r.observe([a], true);
    expect(await r.flush()).to.equal(1);
    expect(events()).to.have.length(2);
  });

  it("never more than five in a minute; the others follow while they persist", async () => {
    const r = recorder();
    const fs = Array.from({ length: 12 }, (_, i) => finding("shop", `s${i}`));
    r.observe(fs, true);
    expect(await r.flush()).to.equal(5);
    t += 30_000;
    r.observe(fs, true);
    expect(await r.flush()).to.equal(0);
    t += 30_000;
    // s5..s11 wait; two of them went away meanwhile
    const still = fs.filter((f) => f.subject.name !== "s5" && f.subject.name !== "s6");
    r.observe(still, true);
    expect(await r.flush()).to.equal(5);
    t += 60_000;
    r.observe(still, true);
    expect(await r.flush()).to.equal(0);
    expect(r.pending).to.equal(0);
    const sent = stored("shop")
      .map((e) => e.involvedObject.name)
      .sort();
    expect(sent).to.deep.equal(["s0", "s1", "s10", "s11", "s2", "s3", "s4", "s7", "s8", "s9"]);
  });

  it("a replica that does not hold the Lease sends none, and what it saw before taking over is not new", async () => {
    const r = recorder();
    leader = false;
    r.observe([finding("shop", "old")], false);
    expect(await r.flush()).to.equal(0);
    leader = true;
    r.observe([finding("shop", "old"), finding("shop", "new")], true);
    expect(await r.flush()).to.equal(1);
    expect(stored("shop").map((e) => e.involvedObject.name)).to.deep.equal(["new"]);
    // a fresh holder seeded with what the reports already list
    const fresh = recorder();
    const listed = finding("edge", "x");
    fresh.seed([findingHash(listed)]);
    fresh.observe([listed, finding(undefined, "cp1", "audit.vip-on-control-plane")], true);
    expect(await fresh.flush()).to.equal(1);
    // a cluster-scoped subject's Event goes to default, as kubectl puts them
    expect(stored("default").map((e) => e.involvedObject)).to.deep.equal([
      { apiVersion: "v1", kind: "Node", name: "cp1" },
    ]);
  });

  it("keeps at most 100 findings waiting", async () => {
    const r = recorder();
    r.observe(
      Array.from({ length: EVENT_QUEUE + 50 }, (_, i) => finding("shop", `s${i}`)),
      true,
    );
    expect(r.pending).to.equal(EVENT_QUEUE);
  });
});
