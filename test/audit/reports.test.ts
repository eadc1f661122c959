/**
 * `lbguard audit -o policyreport`: the wgpolicyk8s.io/v1alpha2 reports of
 * SPEC §12, validated against the upstream CRDs' openAPIV3Schema (vendored in
 * test/fixtures/crds) by a small structural validator that, like the API
 * server with strict field validation, refuses unknown fields.
 */
import { expect } from "chai";
import YAML from "yaml";
import type { AuditFinding } from "../../src/audit/finding.js";
import { policyReports } from "../../src/audit/reports.js";
import { SCHEMAS, validate } from "./crd.js";
import { lbguardAll, Obj, story } from "./helpers.js";

function finding(i: number, o: Partial<AuditFinding> = {}): AuditFinding {
  return {
    rule: "audit.contested-service",
    family: "audit",
    severity: i % 3 === 0 ? "critical" : i % 3 === 1 ? "high" : "medium",
    subject: { kind: "Service", namespace: "shop", name: `svc-${i}` },
    related: [{ kind: "Deployment", namespace: "metallb-system", name: "controller" }],
    problem: "is taken by two controllers",
    fix: "kubectl -n kube-system set env daemonset/kube-vip-ds lb_class_only=true",
    join: " ",
    owner: "metallb",
    contender: "kube-vip",
    ...o,
  };
}

describe("audit: -o policyreport", function () {
  this.timeout(60_000);

  it("the validator refuses what the API server would (it is not a rubber stamp)", () => {
    const bad = {
      apiVersion: "wgpolicyk8s.io/v1alpha2",
      kind: "PolicyReport",
      metadata: { name: "lbguard", namespace: "shop" },
      summary: { fail: 1, flaky: 2 },
      results: [{ policy: "p", severity: "urgent", scored: "yes", timestamp: { seconds: 1 } }, { rule: "no policy" }],
    };
    expect(validate(SCHEMAS.PolicyReport, bad)).to.deep.equal([
      'summary: unknown field "flaky"',
      'results[0].severity: "urgent" is not one of critical, high, low, medium, info',
      "results[0].scored: expected a boolean",
      "results[0].timestamp: nanos is required",
      "results[1]: policy is required",
    ]);
  });

  it("prints one PolicyReport per namespace with findings, valid against the v1alpha2 CRD", async () => {
    const [r] = await lbguardAll([["audit", "-o", "policyreport", "--state", story("k3s-status-bounce")]]);
    expect(r.code, r.err).to.equal(1);
    const docs = YAML.parseAllDocuments(r.out).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).to.deep.equal([
      "PolicyReport dns/lbguard",
      "PolicyReport kube-system/lbguard",
    ]);
    for (const d of docs) expect(validate(SCHEMAS[d.kind], d), `${d.kind} ${d.metadata.namespace}`).to.deep.equal([]);
    const [dns, ks] = docs;
    expect(dns.apiVersion).to.equal("wgpolicyk8s.io/v1alpha2");
    expect(dns.metadata.labels).to.deep.equal({ "app.kubernetes.io/managed-by": "lbguard" });
    expect(dns.summary).to.deep.equal({ pass: 0, fail: 3, warn: 0, error: 0, skip: 0 });
    expect(ks.summary).to.deep.equal({ pass: 0, fail: 3, warn: 0, error: 0, skip: 0 });
    const bounce = dns.results.find((x: Obj) => x.rule === "audit.status-bounce");
    expect(bounce).to.deep.include({
      source: "lbguard",
      policy: "lb-ownership",
      category: "LoadBalancer ownership",
      severity: "critical",
      result: "fail",
      scored: true,
    });
    expect(bounce.resources).to.deep.equal([
      { apiVersion: "v1", kind: "Service", namespace: "dns", name: "unbound" },
      { apiVersion: "apps/v1", kind: "Deployment", namespace: "metallb-system", name: "controller" },
      { apiVersion: "apps/v1", kind: "DaemonSet", namespace: "kube-system", name: "kube-vip-ds" },
    ]);
    expect(bounce.properties).to.deep.equal({
      fix: "stop kube-vip's status writes now: kubectl -n kube-system set env daemonset/kube-vip-ds disable_service_updates=true; then kubectl -n kube-system set env daemonset/kube-vip-ds lb_class_only=true",
      owner: "metallb",
      contender: "kube-vip",
    });
    expect(bounce.message.endsWith(bounce.properties.fix), "the message carries the fix").to.equal(true);
    expect(bounce.timestamp.seconds).to.be.within(Date.now() / 1000 - 120, Date.now() / 1000 + 1);
    const third = ks.results.find((x: Obj) => x.rule === "audit.third-controller");
    expect(third.properties).to.deep.equal({
      fix: "start the k3s servers with --disable=servicelb (or disable: [servicelb] in /etc/rancher/k3s/config.yaml) and restart them",
      owner: "metallb",
      contender: "servicelb",
    });
  });

  it("a clean cluster prints no report", async () => {
    const [r] = await lbguardAll([["audit", "-o", "policyreport", "--state", story("clean")]]);
    expect(r.code).to.equal(0);
    expect(r.out).to.equal("");
  });

  it("caps results at 100 per report, keeps the most severe, and the summary counts every finding", () => {
    const fs = Array.from({ length: 250 }, (_, i) => finding(i));
    fs.push(finding(999, { subject: { kind: "Node", name: "cp1" }, severity: "high" }));
    const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
    const reports = policyReports(fs, { now }) as Obj[];
    expect(reports.map((r) => r.kind)).to.deep.equal(["PolicyReport", "ClusterPolicyReport"]);
    const [shop, cluster] = reports;
    expect(shop.results).to.have.length(100);
    expect(shop.summary).to.deep.equal({ pass: 0, fail: 167, warn: 83, error: 0, skip: 0 });
    expect(shop.results.every((r: Obj) => r.severity === "critical" || r.severity === "high")).to.equal(true);
    expect(shop.results[0].timestamp).to.deep.equal({ seconds: Math.floor(now.getTime() / 1000), nanos: 678_000_000 });
    expect(cluster.metadata).to.deep.equal({ name: "lbguard", labels: { "app.kubernetes.io/managed-by": "lbguard" } });
    expect(cluster.results[0].resources[0]).to.deep.equal({ apiVersion: "v1", kind: "Node", name: "cp1" });
    for (const r of reports) expect(validate(SCHEMAS[r.kind], r)).to.deep.equal([]);
    expect(policyReports(fs, { now, maxResults: 5 })[0].results).to.have.length(5);
    expect(policyReports([], { now })).to.deep.equal([]);
  });
});
