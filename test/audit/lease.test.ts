/**
 * The audit's Lease elector against the fake API server, with short timings
 * (the same algorithm as client-go's at 15 s / 10 s / 2 s): one leader among
 * candidates, takeover when the holder releases or stops renewing, and a
 * holder that cannot renew stops leading at its renew deadline, before
 * anyone else may take over. Tests wait for conditions, never for time.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { LeaseElector, leaseIdentity, microTime, podNamespace, type LeaseTiming } from "../../src/audit/lease.js";
import { createLogger } from "../../src/observability/logger.js";
import { FakeApiServer } from "../fake/apiserver.js";
import { waitFor } from "../helpers/wait.js";

const TIMING: LeaseTiming = { durationMs: 1500, renewDeadlineMs: 1000, retryMs: 100 };
const NS = "lbguard-system";

function kcFor(fake: FakeApiServer, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig(token));
  return kc;
}

describe("audit lease: one writer among replicas (client-go's LeaseLock algorithm)", function () {
  this.timeout(30_000);
  let fake: FakeApiServer;
  const electors: LeaseElector[] = [];
  const changes: string[] = [];
  const elector = (id: string) => {
    const e = new LeaseElector({
      kc: kcFor(fake, id),
      namespace: NS,
      identity: id,
      timing: TIMING,
      log: createLogger("silent"),
      onChange: (l) => changes.push(`${id} ${l ? "leads" : "stops"}`),
    });
    electors.push(e);
    return e;
  };
  const lease = () => fake.get("Lease", NS, "lbguard-audit");

  beforeEach(async () => {
    fake = new FakeApiServer();
    await fake.start();
    changes.length = 0;
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop(false);
    await fake.stop();
  });

  it("identity and namespace: POD_NAME and POD_NAMESPACE, else the host and pid and lbguard-system", () => {
    expect(leaseIdentity({ POD_NAME: "lbguard-7d9f-abc" })).to.equal("lbguard-7d9f-abc");
    expect(leaseIdentity({})).to.match(new RegExp(`_${process.pid}$`));
    expect(podNamespace({ POD_NAMESPACE: "guard" })).to.equal("guard");
    expect(podNamespace({})).to.equal("lbguard-system");
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).to.equal("2025-01-02T03:04:05.678000Z");
  });

  it("creates the Lease, and exactly one of two candidates leads", async () => {
    const a = elector("a");
    const b = elector("b");
    a.start();
    b.start();
    const leader = await waitFor(() => (a.isLeader() ? "a" : b.isLeader() ? "b" : undefined), { what: "a leader" });
    const other = leader === "a" ? b : a;
    // several renew periods later, still one leader, never the other
    const renewedFrom = lease()!.spec.renewTime;
    await waitFor(() => lease()!.spec.renewTime !== renewedFrom && lease()!.metadata.resourceVersion, {
      what: "a renewal",
    });
    expect(other.isLeader()).to.equal(false);
    const l = lease()!;
    expect(l.spec).to.include({ holderIdentity: leader, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(l.spec.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(changes).to.deep.equal([`${leader} leads`]);
    // every write is a create or a resourceVersion-checked update of this one Lease
    const writes = fake.requests.filter((r) => r.method !== "GET");
    expect(new Set(writes.map((w) => `${w.method} ${w.path}`))).to.deep.equal(
      new Set([
        `POST /apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
        `PUT /apis/coordination.k8s.io/v1/namespaces/${NS}/leases/lbguard-audit`,
      ]),
    );
  });

  it("a holder that releases (stop) is replaced at the next retry; one that vanishes, after the lease duration", async () => {
    const a = elector("a");
    a.start();
    await waitFor(() => a.isLeader(), { what: "a leads" });
    const b = elector("b");
    b.start();
    await waitFor(() => fake.requests.some((r) => r.token === "b"), { what: "b tried" });
    expect(b.isLeader()).to.equal(false);
    await a.stop();
    expect(a.isLeader()).to.equal(false);
    await waitFor(() => b.isLeader(), { what: "b takes over" });
    expect(lease()!.spec).to.include({ holderIdentity: "b", leaseTransitions: 1 });

    // b vanishes without releasing (a crash): c waits for the lease to expire on its own clock, then takes it
    const c = elector("c");
    c.start();
    await waitFor(() => fake.requests.some((r) => r.token === "c"), { what: "c tried" });
    await b.stop(false);
    await waitFor(() => c.isLeader(), { what: "c takes over after the lease expired" });
    expect(lease()!.spec).to.include({ holderIdentity: "c", leaseTransitions: 2 });
    expect(changes).to.deep.equal(["a leads", "a stops", "b leads", "b stops", "c leads"]);
  });

  it("a holder that cannot renew stops leading at its renew deadline, before anyone else takes over", async () => {
    const a = elector("a");
    a.start();
    await waitFor(() => a.isLeader(), { what: "a leads" });
    const b = elector("b");
    b.start();
    // a's requests now fail (its API server connection is broken); b's are served
    fake.fault = (r) => (r.token === "a" ? 503 : undefined);
    await waitFor(() => !a.isLeader(), { what: "a stops leading" });
    // the lease is still a's: b has not taken it, so there was never a moment with two leaders
    expect(lease()!.spec.holderIdentity).to.equal("a");
    expect(changes).to.deep.equal(["a leads", "a stops"]);
    await waitFor(() => b.isLeader(), { what: "b takes over once the lease expired" });
    fake.fault = undefined;
    // a sees b's lease and stays a candidate
    await waitFor(() => fake.requests.filter((r) => r.token === "a" && r.method === "GET").length > 3, {
      what: "a polls again",
    });
    const n = fake.requests.length;
    await waitFor(() => fake.requests.slice(n).some((r) => r.token === "a"), { what: "a polled after b led" });
    expect(a.isLeader()).to.equal(false);
    expect(lease()!.spec.holderIdentity).to.equal("b");
  });

  it("a conflicting update (another replica wrote first) ends leadership at once", async () => {
    const a = elector("a");
    a.start();
    await waitFor(() => a.isLeader(), { what: "a leads" });
    // someone else takes the Lease by writing it directly
    const cur = lease()!;
    fake.apply({ ...cur, spec: { ...cur.spec, holderIdentity: "intruder", renewTime: microTime(Date.now()) } });
    await waitFor(() => !a.isLeader(), { what: "a notices" });
    expect(changes).to.deep.equal(["a leads", "a stops"]);
  });
});
