/**
 * The background audit's report writer against the fake API server:
 * discovery (nothing written, one log line, while the CRDs are absent),
 * a write only when content changes, results keeping the time their finding
 * was first seen, resourceVersion-checked updates and deletes (409 handled
 * by re-reading), a new Lease holder adopting what exists, the result cap
 * with full summaries, and both report formats valid against their CRDs.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import type { AuditFinding } from "../../src/audit/finding.js";
import { contentHash, keyHash, ReportWriter, type WriterOptions } from "../../src/audit/writer.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { FakeApiServer, REPORT_CRDS } from "../fake/apiserver.js";
import { SCHEMAS, validate } from "./crd.js";
import type { Obj } from "./helpers.js";

function finding(ns: string, name: string, o: Partial<AuditFinding> = {}): AuditFinding {
  return {
    rule: "service.foreign-address",
    family: "services",
    severity: "high",
    subject: { kind: "Service", namespace: ns, name },
    related: [{ kind: "ConfigMap", namespace: "kube-system", name: "kubevip" }],
    problem: "10.0.4.210 is owned by kube-vip (ConfigMap kube-system/kubevip key range-global: 10.0.4.200-10.0.4.230)",
    fix: "request an address from MetalLB's pools",
    owner: "metallb",
    contender: "kube-vip",
    ...o,
  };
}

function captured(): { log: Logger; lines: Obj[] } {
  const lines: Obj[] = [];
  const sink = { write: (s: string) => void lines.push(JSON.parse(s)) };
  return { log: createLogger("debug", sink as unknown as NodeJS.WritableStream), lines };
}

describe("audit reports: the writer", function () {
  this.timeout(20_000);
  let fake: FakeApiServer;
  let kc: KubeConfig;
  let clock: number;
  let leader: boolean;
  let logs: ReturnType<typeof captured>;
  const writer = (o: Partial<WriterOptions> = {}) =>
    new ReportWriter({
      kc,
      format: "wgpolicyk8s",
      requested: "auto",
      maxResults: 100,
      log: logs.log,
      canWrite: () => leader,
      now: () => new Date(clock),
      ...o,
    });
  const writes = () => fake.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
  const report = (ns: string) => fake.get("PolicyReport", ns, "lbguard");
  /** a writer's run: remember first sightings, then write */
  const run = (w: ReportWriter, fs: AuditFinding[]) => {
    w.observe(fs);
    return w.sync(fs);
  };
  const SHOP = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports";

  beforeEach(async () => {
    fake = new FakeApiServer();
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    await fake.start();
    kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfig());
    clock = Date.UTC(2025, 5, 1, 12, 0, 0, 250);
    leader = true;
    logs = captured();
  });
  afterEach(() => fake.stop());

  it("creates one report per namespace with findings, then sends nothing while nothing changes", async () => {
    const w = writer();
    const fs = [finding("shop", "web2"), finding("edge", "a", { severity: "medium", rule: "service.shared-ip" })];
    expect(await run(w, fs)).to.deep.include({ created: 2, updated: 0, deleted: 0, unchanged: 0, failed: 0 });
    expect(writes()).to.deep.equal([
      "POST /apis/wgpolicyk8s.io/v1alpha2/namespaces/edge/policyreports",
      `POST ${SHOP}`,
    ]);
    const shop = report("shop")!;
    expect(validate(SCHEMAS.PolicyReport, shop)).to.deep.equal([]);
    expect(shop.metadata.labels).to.deep.equal({ "app.kubernetes.io/managed-by": "lbguard" });
    expect(shop.summary).to.deep.equal({ pass: 0, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(shop.results).to.deep.equal([
      {
        source: "lbguard",
        policy: "lb-ownership",
        rule: "service.foreign-address",
        category: "LoadBalancer ownership",
        severity: "high",
        result: "fail",
        scored: true,
        timestamp: { seconds: Math.floor(clock / 1000), nanos: 250_000_000 },
        resources: [
          { apiVersion: "v1", kind: "Service", namespace: "shop", name: "web2" },
          { apiVersion: "v1", kind: "ConfigMap", namespace: "kube-system", name: "kubevip" },
        ],
        message:
          "Service shop/web2: 10.0.4.210 is owned by kube-vip (ConfigMap kube-system/kubevip key range-global: 10.0.4.200-10.0.4.230); request an address from MetalLB's pools",
        properties: { fix: "request an address from MetalLB's pools", owner: "metallb", contender: "kube-vip" },
      },
    ]);
    expect(report("edge")!.summary).to.deep.equal({ pass: 0, fail: 0, warn: 1, error: 0, skip: 0 });
    // later runs, later clock: the same findings keep their first timestamp, so nothing is sent
    for (let i = 0; i < 3; i++) {
      clock += 60_000;
      expect(await run(w, fs)).to.deep.include({ created: 0, updated: 0, deleted: 0, unchanged: 2 });
    }
    expect(writes()).to.have.length(2);
  });

  it("updates only the namespace whose findings changed (resourceVersion-checked), deletes a report once clean", async () => {
    const w = writer();
    await run(w, [finding("shop", "web2"), finding("edge", "a")]);
    const rv = report("shop")!.metadata.resourceVersion;
    const n = fake.requests.length;
    clock += 60_000;
    const more = [finding("shop", "web2"), finding("shop", "web3", { severity: "critical" }), finding("edge", "a")];
    expect(await run(w, more)).to.deep.include({ created: 0, updated: 1, unchanged: 1 });
    expect(writes().slice(-1)).to.deep.equal([`PUT ${SHOP}/lbguard`]);
    const shop = report("shop")!;
    expect(Number(shop.metadata.resourceVersion)).to.be.greaterThan(Number(rv));
    expect(shop.summary.fail).to.equal(2);
    // most severe first; web2 keeps the time it was first seen, web3 has the new one
    expect(shop.results.map((r: Obj) => [r.resources[0].name, r.timestamp.seconds])).to.deep.equal([
      ["web3", Math.floor(clock / 1000)],
      ["web2", Math.floor((clock - 60_000) / 1000)],
    ]);
    expect(fake.requests.slice(n).filter((r) => r.method !== "GET")).to.have.length(1);

    expect(await run(w, [finding("edge", "a")])).to.deep.include({ deleted: 1, unchanged: 1 });
    expect(report("shop")).to.equal(undefined);
    expect(writes().slice(-1)).to.deep.equal([`DELETE ${SHOP}/lbguard`]);
    expect(await run(w, [])).to.deep.include({ deleted: 1 });
    expect(fake.requests.filter((r) => r.method === "GET" && r.path.endsWith("/policyreports"))).to.have.length(1);
  });

  it("a conflicting write by another writer: 409, read again, write only if it still differs", async () => {
    const w = writer();
    const fs = [finding("shop", "web2")];
    await run(w, fs);
    // another writer (a former Lease holder) rewrote the report since
    const cur = report("shop")!;
    fake.apply({ ...cur, summary: { ...cur.summary, fail: 7 } });
    clock += 60_000;
    const fs2 = [finding("shop", "web2"), finding("shop", "web4")];
    const r = await run(w, fs2);
    expect(r).to.deep.include({ updated: 1, failed: 0 });
    // the first PUT carried the old resourceVersion (409), the second the one just read
    const puts = fake.requests.filter((x) => x.method === "PUT");
    expect(puts).to.have.length(2);
    expect(fake.requests.filter((x) => x.method === "GET" && x.path === `${SHOP}/lbguard`)).to.have.length(1);
    expect(report("shop")!.summary.fail).to.equal(2);
    // the other writer writes exactly what this one would: this one's update is refused (409), it reads
    // the report, finds it equal and sends nothing more
    const fs3 = [finding("shop", "web2")];
    const other = writer();
    other.observe(fs2);
    other.observe(fs3);
    await other.sync(fs3); // reads what exists, adopts the first-seen times, writes the one-finding report
    const rv = report("shop")!.metadata.resourceVersion;
    const n = fake.requests.length;
    expect(await w.sync(fs3)).to.deep.include({ updated: 0, unchanged: 1 });
    expect(fake.requests.slice(n).map((x) => x.method)).to.deep.equal(["PUT", "GET"]);
    expect(report("shop")!.metadata.resourceVersion).to.equal(rv);
    expect(await w.sync(fs3)).to.deep.include({ unchanged: 1 });
    expect(fake.requests.length).to.equal(n + 2);
  });

  it("a new Lease holder reads the reports once: nothing rewritten, leftovers deleted, first-seen times kept", async () => {
    const first = writer();
    await run(first, [finding("shop", "web2"), finding("edge", "a")]);
    const shopRV = report("shop")!.metadata.resourceVersion;
    const n = fake.requests.length;
    // the next holder saw the findings later (its clock is an interval on), and edge is clean by now
    clock += 60_000;
    const next = writer();
    expect(await run(next, [finding("shop", "web2")])).to.deep.include({
      created: 0,
      updated: 0,
      deleted: 1,
      unchanged: 1,
    });
    const reqs = fake.requests
      .slice(n)
      .map((r) => `${r.method} ${r.path}${r.query.fieldSelector ? `?${r.query.fieldSelector}` : ""}`);
    expect(reqs).to.deep.equal([
      "GET /apis/wgpolicyk8s.io/v1alpha2",
      "GET /apis/wgpolicyk8s.io/v1alpha2/policyreports?metadata.name=lbguard",
      "GET /apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/lbguard",
      "DELETE /apis/wgpolicyk8s.io/v1alpha2/namespaces/edge/policyreports/lbguard",
    ]);
    expect(report("shop")!.metadata.resourceVersion).to.equal(shopRV);
    expect(next.reportedKeys).to.include(
      keyHash("service.foreign-address|Service/shop/web2,ConfigMap/kube-system/kubevip"),
    );
  });

  it("writes nothing when it does not hold the Lease, and stops between two reports when it loses it", async () => {
    const w = writer();
    leader = false;
    expect(await run(w, [finding("shop", "web2")])).to.deep.include({ stopped: true, created: 0 });
    expect(fake.requests).to.deep.equal([]);
    leader = true;
    let n = 0;
    const losing = writer({ canWrite: () => n++ < 3 });
    const r = await run(losing, [finding("a", "x"), finding("b", "x"), finding("c", "x"), finding("d", "x")]);
    expect(r.stopped).to.equal(true);
    expect(r.created).to.be.lessThan(4);
    expect(fake.requests.filter((x) => x.method === "POST")).to.have.length(r.created);
  });

  it("with the CRDs absent: nothing written, the reason logged once; once installed, reports are written", async () => {
    fake.crds.clear();
    const w = writer();
    for (let i = 0; i < 3; i++) expect(await run(w, [finding("shop", "web2")])).to.deep.include({ stopped: true });
    expect(writes()).to.deep.equal([]);
    const why = logs.lines.filter((l) => /not served/.test(l.msg));
    expect(why.map((l) => [l.level, l.msg])).to.deep.equal([
      [
        40,
        "--reports auto: wgpolicyk8s.io/v1alpha2 is not served (the wgpolicyk8s.io CRDs are not installed): no reports are written; lbguard never installs CRDs: install the PolicyReport and ClusterPolicyReport CRDs (Kyverno or Policy Reporter bring them), or set --reports none",
      ],
    ]);
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    expect(await run(w, [finding("shop", "web2")])).to.deep.include({ created: 1 });
    expect(logs.lines.filter((l) => /writing PolicyReports/.test(l.msg))).to.have.length(1);
  });

  it("caps results per report and keeps full summaries; openreports.io Reports are valid against their CRD", async () => {
    for (const c of REPORT_CRDS.openreports) fake.crds.add(c);
    const fs: AuditFinding[] = [];
    for (let i = 0; i < 30; i++) fs.push(finding("shop", `s${i}`, { severity: i % 2 ? "medium" : "critical" }));
    fs.push(finding("", "cp1", { subject: { kind: "Node", name: "cp1" }, rule: "audit.vip-on-control-plane" }));
    const w = writer({ format: "openreports", requested: "openreports", maxResults: 10 });
    expect(await run(w, fs)).to.deep.include({ created: 2 });
    const shop = fake.get("Report", "shop", "lbguard")!;
    const cluster = fake.get("ClusterReport", undefined, "lbguard")!;
    expect(shop.apiVersion).to.equal("openreports.io/v1alpha1");
    expect(shop.source).to.equal("lbguard");
    expect(shop.results).to.have.length(10);
    expect(shop.results.every((r: Obj) => r.severity === "critical")).to.equal(true);
    expect(shop.summary).to.deep.equal({ pass: 0, fail: 15, warn: 15, error: 0, skip: 0 });
    expect(cluster.results[0].resources[0]).to.deep.equal({ apiVersion: "v1", kind: "Node", name: "cp1" });
    for (const r of [shop, cluster]) expect(validate(SCHEMAS[r.kind], r), r.kind).to.deep.equal([]);
    expect(fake.get("PolicyReport", "shop", "lbguard")).to.equal(undefined);
  });

  it("compares content only: server-set metadata and labels others add do not count as changes", () => {
    const a = {
      kind: "PolicyReport",
      metadata: { labels: { "app.kubernetes.io/managed-by": "lbguard" } },
      summary: { fail: 1 },
      results: [{ b: 1, a: 2 }],
    };
    const b = {
      ...a,
      metadata: { uid: "u", resourceVersion: "9", generation: 3, labels: { ...a.metadata.labels, team: "x" } },
      summary: { fail: 1, pass: 0, warn: 0, error: 0, skip: 0 },
      results: [{ a: 2, b: 1 }],
    };
    expect(contentHash(b)).to.equal(contentHash(a));
    expect(contentHash({ ...a, summary: { fail: 2 } })).to.not.equal(contentHash(a));
  });
});
