/**
 * The background audit of `lbguard serve --kubeconfig` (SPEC §12) against the
 * fake API server: the server in process (its logs captured) and, for two
 * replicas, as two real processes. Short audit intervals and Lease timings;
 * every test waits for conditions (a report, a run count, a log line), never
 * for time.
 */
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, type ServeOptions, type Serving } from "../../src/cli/serve.js";
import { createLogger } from "../../src/observability/logger.js";
import { FakeApiServer, REPORT_CRDS } from "../fake/apiserver.js";
import { CLUSTER, objects } from "../helpers/cluster.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import { request, reviewBody, svc } from "../helpers/review.js";
import YAML from "yaml";
import { deployFile } from "../helpers/paths.js";
import { request as https, scrapeMetrics, spawnServe, testCertDir } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";
import type { Obj } from "./helpers.js";

const LEASE = { durationMs: 1500, renewDeadlineMs: 1000, retryMs: 100 };
const REPORTS = "/apis/wgpolicyk8s.io/v1alpha2";
const MLB = "system:serviceaccount:metallb-system:controller";
const KV = "system:serviceaccount:kube-system:kube-vip";

/** A MetalLB Service in shop asking for kube-vip's address in use: three findings in two namespaces. */
const WEB2 = svc({
  ns: "shop",
  name: "web2",
  cls: "metallb",
  annotations: { "metallb.io/loadBalancerIPs": "10.0.4.210" },
});

const metrics = scrapeMetrics;

/** The value of one series in Prometheus text, undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function captured() {
  const lines: Obj[] = [];
  const sink = { write: (s: string) => void lines.push(JSON.parse(s)) };
  return { log: createLogger("debug", sink as unknown as NodeJS.WritableStream), lines };
}

describe("serve: the background audit", function () {
  this.timeout(30_000);
  let fake: FakeApiServer;
  let dir: string;
  const servers: Serving[] = [];

  const start = async (o: Partial<ServeOptions> = {}, log = createLogger("silent"), token = "fake-token") => {
    writeFileSync(join(dir, `${token}.kubeconfig`), fake.kubeconfig(token));
    const s = await serve(
      {
        policy: join(dir, "policy.yaml"),
        state: [],
        kubeconfig: join(dir, `${token}.kubeconfig`),
        port: 0,
        certDir: testCertDir(),
        metricsPort: 0,
        logLevel: "debug",
        host: "127.0.0.1",
        auditInterval: 0.3,
        auditLeaseTiming: LEASE,
        env: { POD_NAME: `lbguard-${token}`, POD_NAMESPACE: "lbguard-system" },
        ...o,
      },
      log,
    );
    servers.push(s);
    return s;
  };
  const runs = (s: Serving) => s.audit!.runs;
  /** wait until `s` has completed `n` more runs than now */
  const moreRuns = async (s: Serving, n: number) => {
    const from = runs(s);
    await waitFor(() => runs(s) >= from + n, { what: `${n} more audit runs`, state: () => runs(s) });
  };
  const writes = (prefix = REPORTS) =>
    fake.requests.filter((r) => r.method !== "GET" && r.path.startsWith(prefix)).map((r) => `${r.method} ${r.path}`);

  beforeEach(async () => {
    fake = new FakeApiServer();
    fake.bookmarkMs = 200;
    for (const o of objects(CLUSTER)) fake.apply(o);
    await fake.start();
    dir = mkdtempSync(join(tmpdir(), "lbguard-bg-"));
    writeFileSync(join(dir, "policy.yaml"), KUBEVIP_NULL);
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
    await fake.stop();
  });

  it("a conflict created after startup is in its namespace's PolicyReport by the next run, written once, deleted when fixed; metrics follow", async () => {
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    const s = await start();
    await waitFor(() => runs(s) >= 1 && fake.get("Lease", "lbguard-system", "lbguard-audit"), {
      what: "a run and the Lease",
    });
    await moreRuns(s, 2);
    // the example cluster is clean as the informers see it: no report
    expect(fake.objects("PolicyReport")).to.deep.equal([]);

    const before = runs(s);
    fake.apply(WEB2);
    const shop = await waitFor(() => fake.get("PolicyReport", "shop", "lbguard"), { what: "the shop report" });
    // the run in progress when the Service arrived may have missed it; the next one has it
    expect(runs(s) - before).to.be.at.most(2);
    expect(shop.summary).to.deep.equal({ pass: 0, fail: 2, warn: 0, error: 0, skip: 0 });
    expect(
      shop.results.map((r: Obj) => [
        r.rule,
        r.severity,
        r.result,
        r.resources.map((x: Obj) => `${x.kind} ${x.namespace}/${x.name}`),
      ]),
    ).to.deep.equal([
      ["audit.unserved-class", "high", "fail", ["Service shop/web2"]],
      ["service.foreign-address", "high", "fail", ["Service shop/web2", "ConfigMap kube-system/kubevip"]],
    ]);
    expect(shop.results[1].message).to.equal(
      "Service shop/web2: 10.0.4.210 is owned by kube-vip (ConfigMap kube-system/kubevip key range-global: 10.0.4.200-10.0.4.230); MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
    );
    expect(shop.results[1].properties).to.deep.equal({
      fix: "MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
      owner: "metallb",
      contender: "kube-vip",
    });
    const ks = await waitFor(() => fake.get("PolicyReport", "kube-system", "lbguard"), {
      what: "the kube-system report",
    });
    expect(ks.results.map((r: Obj) => r.message)).to.deep.equal([
      "Service kube-system/ingress-expose: 10.0.4.210 is in use by Service shop/web2 (MetalLB); request another address",
    ]);
    expect(fake.get("ClusterPolicyReport", undefined, "lbguard")).to.equal(undefined);

    // more runs, the same findings: nothing more is sent
    await moreRuns(s, 3);
    expect(writes()).to.deep.equal([
      `POST ${REPORTS}/namespaces/kube-system/policyreports`,
      `POST ${REPORTS}/namespaces/shop/policyreports`,
    ]);
    const m = await metrics(s.metricsPort);
    expect(value(m, 'lbguard_audit_findings{rule="service.foreign-address",severity="high"}')).to.equal(1);
    expect(value(m, 'lbguard_audit_findings{rule="audit.unserved-class",severity="high"}')).to.equal(1);
    expect(value(m, 'lbguard_audit_findings{rule="service.address-in-use",severity="high"}')).to.equal(1);
    expect(value(m, "lbguard_audit_leader")).to.equal(1);
    expect(value(m, "lbguard_status_bounce_services")).to.equal(0);
    expect(value(m, "lbguard_audit_last_run_timestamp_seconds")).to.be.within(
      Date.now() / 1000 - 60,
      Date.now() / 1000 + 1,
    );
    expect(value(m, "lbguard_audit_duration_seconds_count")).to.be.at.least(runs(s) - 1);

    // fixed: both reports deleted, once each; the findings go to 0
    fake.delete(WEB2);
    await waitFor(
      () => !fake.get("PolicyReport", "shop", "lbguard") && !fake.get("PolicyReport", "kube-system", "lbguard"),
      {
        what: "the reports deleted",
      },
    );
    await moreRuns(s, 2);
    expect(writes().filter((w) => w.startsWith("DELETE"))).to.deep.equal([
      `DELETE ${REPORTS}/namespaces/kube-system/policyreports/lbguard`,
      `DELETE ${REPORTS}/namespaces/shop/policyreports/lbguard`,
    ]);
    expect(writes()).to.have.length(4);
    const after = await metrics(s.metricsPort);
    expect(value(after, 'lbguard_audit_findings{rule="service.foreign-address",severity="high"}')).to.equal(0);
  });

  it("with the CRDs absent nothing is written and the log says why once; once they are installed, reports appear", async () => {
    fake.apply(WEB2);
    const logs = captured();
    const s = await start({}, logs.log);
    await waitFor(() => runs(s) >= 1 && fake.get("Lease", "lbguard-system", "lbguard-audit"), {
      what: "a run and the Lease",
    });
    await moreRuns(s, 4);
    expect(writes()).to.deep.equal([]);
    // discovery only: no report was read or written
    expect(
      new Set(fake.requests.filter((r) => r.path.startsWith(REPORTS)).map((r) => `${r.method} ${r.path}`)),
    ).to.deep.equal(new Set([`GET ${REPORTS}`]));
    const why = logs.lines.filter((l) => /not served/.test(l.msg));
    expect(why.map((l) => l.msg)).to.deep.equal([
      "--reports auto: wgpolicyk8s.io/v1alpha2 is not served (the wgpolicyk8s.io CRDs are not installed): no reports are written; lbguard never installs CRDs: install the PolicyReport and ClusterPolicyReport CRDs (Kyverno or Policy Reporter bring them), or set --reports none",
    ]);
    // the audit and its metrics run all the same
    expect(
      value(await metrics(s.metricsPort), 'lbguard_audit_findings{rule="service.foreign-address",severity="high"}'),
    ).to.equal(1);
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    await waitFor(() => fake.get("PolicyReport", "shop", "lbguard"), { what: "the report once the CRDs exist" });
  });

  it("--reports none writes nothing: no report, no Lease, no Event; the metrics are there", async () => {
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    fake.apply(WEB2);
    const s = await start({ reports: "none" });
    await waitFor(() => runs(s) >= 4, { what: "four runs" });
    expect(fake.requests.filter((r) => r.method !== "GET")).to.deep.equal([]);
    expect(fake.requests.filter((r) => r.path.startsWith(REPORTS) || r.path.includes("leases"))).to.deep.equal([]);
    const m = await metrics(s.metricsPort);
    expect(value(m, 'lbguard_audit_findings{rule="service.foreign-address",severity="high"}')).to.equal(1);
    expect(value(m, "lbguard_audit_leader")).to.equal(0);
  });

  it("--audit-events: one Warning Event per appearing finding on its subject, not repeated while it persists", async () => {
    const s = await start({ reports: "none", auditEvents: true });
    await waitFor(() => runs(s) >= 1 && fake.get("Lease", "lbguard-system", "lbguard-audit"), {
      what: "a run and the Lease",
    });
    await moreRuns(s, 1);
    fake.apply(WEB2);
    await waitFor(() => fake.objects("Event").length >= 3, { what: "three Events" });
    await moreRuns(s, 4);
    const evs = fake.objects("Event");
    expect(
      evs
        .map((e) => [
          e.metadata.namespace,
          e.type,
          e.reason,
          `${e.involvedObject.kind} ${e.involvedObject.namespace}/${e.involvedObject.name}`,
        ])
        .sort(),
    ).to.deep.equal([
      ["kube-system", "Warning", "LoadBalancerOwnershipConflict", "Service kube-system/ingress-expose"],
      ["shop", "Warning", "LoadBalancerOwnershipConflict", "Service shop/web2"],
      ["shop", "Warning", "LoadBalancerOwnershipConflict", "Service shop/web2"],
    ]);
    expect(evs.map((e) => e.message).sort()).to.deep.equal([
      "Service kube-system/ingress-expose: 10.0.4.210 is in use by Service shop/web2 (MetalLB); request another address",
      'Service shop/web2 has loadBalancerClass "metallb", which no running controller serves, and no address (status.loadBalancer.ingress is empty); run MetalLB for it: start MetalLB\'s controller and speaker with --lb-class=metallb (Helm: --set loadBalancerClass=metallb)',
      "Service shop/web2: 10.0.4.210 is owned by kube-vip (ConfigMap kube-system/kubevip key range-global: 10.0.4.200-10.0.4.230); MetalLB pools for this namespace: default (10.0.5.0/24, +1)",
    ]);
    expect(evs.every((e) => e.reportingInstance === "lbguard-fake-token")).to.equal(true);
  });

  it("status writes by two providers through the webhook: lbguard_status_bounce_services and an audit.status-bounce result", async () => {
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    const s = await start();
    const ca = readFileSync(join(testCertDir(), "ca.crt"), "utf8");
    await waitFor(() => runs(s) >= 1, { what: "a run" });
    const write = (user: string) =>
      https(
        s.port,
        ca,
        "POST",
        "/validate",
        reviewBody(
          request({
            operation: "UPDATE",
            subResource: "status",
            user,
            object: svc({ ns: "shop", name: "web", cls: "metallb", status: ["10.0.6.10"] }),
            oldObject: svc({ ns: "shop", name: "web", cls: "metallb" }),
          }),
        ),
        { "Content-Type": "application/json" },
      );
    expect((await write(MLB)).json().response.allowed).to.equal(true);
    expect((await write(KV)).json().response.allowed).to.equal(false);
    expect(value(await metrics(s.metricsPort), "lbguard_status_bounce_services")).to.equal(1);
    const shop = await waitFor(() => fake.get("PolicyReport", "shop", "lbguard"), { what: "the bounce in the report" });
    expect(shop.results.map((r: Obj) => [r.rule, r.severity, r.properties.contender])).to.deep.equal([
      ["audit.status-bounce", "critical", "kube-vip"],
    ]);
    expect(shop.results[0].message).to.match(
      /^Service shop\/web bounces between MetalLB and kube-vip: lbguard saw status writes from system:serviceaccount:metallb-system:controller \(MetalLB, 1 write\) and system:serviceaccount:kube-system:kube-vip \(kube-vip, 1 write\) within 5 minutes; set kube-vip's lb_class_name to /,
    );
    const m = await metrics(s.metricsPort);
    expect(value(m, 'lbguard_audit_findings{rule="audit.status-bounce",severity="critical"}')).to.equal(1);
  });
});

/** The request as an RBAC attribute check: verb, group, resource, namespace, name; undefined for discovery. */
function attributes(r: { method: string; path: string; query: Record<string, string> }) {
  const m =
    /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(r.path) ??
    /^\/apis\/([^/]+)\/[^/]+(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(r.path);
  if (!m) return undefined;
  const core = r.path.startsWith("/api/");
  const [group, ns, resource, name] = core ? ["", m[1], m[2], m[3]] : [m[1], m[2], m[3], m[4]];
  const field = /^metadata\.name=(.+)$/.exec(r.query.fieldSelector ?? "")?.[1];
  const verb =
    {
      GET: name ? "get" : r.query.watch ? "watch" : "list",
      POST: "create",
      PUT: "update",
      PATCH: "patch",
      DELETE: "delete",
    }[r.method] ?? r.method;
  return { verb, group, resource, ns, name: name ?? field };
}

describe("serve: the background audit's requests and deploy/base's RBAC", function () {
  this.timeout(30_000);
  it("every request the server sends is granted to ServiceAccount lbguard, and the audit's grants are used", async () => {
    const fake = new FakeApiServer();
    fake.bookmarkMs = 200;
    for (const o of objects(CLUSTER)) fake.apply(o);
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    await fake.start();
    const dir = mkdtempSync(join(tmpdir(), "lbguard-rbac-"));
    writeFileSync(join(dir, "policy.yaml"), KUBEVIP_NULL);
    writeFileSync(join(dir, "kubeconfig"), fake.kubeconfig());
    const s = await serve(
      {
        policy: join(dir, "policy.yaml"),
        state: [],
        kubeconfig: join(dir, "kubeconfig"),
        port: 0,
        certDir: testCertDir(),
        metricsPort: 0,
        logLevel: "silent",
        host: "127.0.0.1",
        auditInterval: 0.3,
        auditEvents: true,
        auditLeaseTiming: LEASE,
        env: { POD_NAME: "lbguard-0", POD_NAMESPACE: "lbguard-system" },
      },
      createLogger("silent"),
    );
    try {
      await waitFor(() => s.audit!.runs >= 1 && fake.get("Lease", "lbguard-system", "lbguard-audit"), {
        what: "the Lease",
      });
      fake.apply(WEB2);
      await waitFor(() => fake.get("PolicyReport", "shop", "lbguard") && fake.objects("Event").length === 3, {
        what: "reports and Events",
      });
      // a second version of the shop findings (an update), then the fix (deletes)
      fake.apply({ ...WEB2, metadata: { ...WEB2.metadata, name: "web3" } });
      await waitFor(() => fake.get("PolicyReport", "shop", "lbguard")?.summary.fail === 4, {
        what: "the report updated",
      });
      fake.delete(WEB2);
      fake.delete({ ...WEB2, metadata: { ...WEB2.metadata, name: "web3" } });
      await waitFor(() => !fake.get("PolicyReport", "shop", "lbguard"), { what: "the report deleted" });
    } finally {
      await s.stop(); // releases the Lease: an update
      await fake.stop();
    }
    const docs = YAML.parseAllDocuments(readFileSync(deployFile("rbac.yaml"), "utf8")).map((d) => d.toJS() as Obj);
    const bound = docs.filter(
      (b) =>
        (b.kind === "ClusterRoleBinding" || b.kind === "RoleBinding") &&
        b.subjects.some((x: Obj) => x.kind === "ServiceAccount" && x.name === "lbguard"),
    );
    const roles = bound.map((b) => ({
      ns: b.kind === "RoleBinding" ? (b.metadata.namespace as string) : undefined,
      role: docs.find((d) => d.kind === b.roleRef.kind && d.metadata.name === b.roleRef.name)!,
    }));
    const grants = (a: NonNullable<ReturnType<typeof attributes>>) =>
      roles.filter(
        ({ ns, role }) =>
          (!ns || ns === a.ns) &&
          (role.rules as Obj[]).some(
            (rule) =>
              rule.apiGroups.includes(a.group) &&
              rule.resources.includes(a.resource) &&
              rule.verbs.includes(a.verb) &&
              (!rule.resourceNames || (a.name !== undefined && rule.resourceNames.includes(a.name))),
          ),
      );
    const seen = new Set<string>();
    for (const r of fake.requests) {
      const a = attributes(r);
      if (!a) continue; // discovery: every authenticated user may read it (system:discovery)
      const by = grants(a);
      expect(by.length, `${r.method} ${r.path} ${JSON.stringify(r.query)}`).to.be.greaterThan(0);
      for (const g of by) seen.add(`${g.role.metadata.name} ${a.group || "core"}/${a.resource} ${a.verb}`);
    }
    // what the audit's roles grant and the run above used (ClusterPolicyReports: for cluster-scoped findings, which
    // the informer view cannot produce; get of a report: only after a 409)
    expect([...seen].filter((x) => /^lbguard-audit/.test(x)).sort()).to.deep.equal([
      "lbguard-audit core/events create",
      "lbguard-audit wgpolicyk8s.io/clusterpolicyreports get",
      "lbguard-audit wgpolicyk8s.io/policyreports create",
      "lbguard-audit wgpolicyk8s.io/policyreports delete",
      "lbguard-audit wgpolicyk8s.io/policyreports list",
      "lbguard-audit wgpolicyk8s.io/policyreports update",
      "lbguard-audit-lease coordination.k8s.io/leases create",
      "lbguard-audit-lease coordination.k8s.io/leases get",
      "lbguard-audit-lease coordination.k8s.io/leases update",
    ]);
  });
});

describe("serve: two replicas, one writer", function () {
  this.timeout(90_000);
  let fake: FakeApiServer;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
    await fake.stop();
  });

  it("write each report once (the Lease holder), and the other takes over when the first dies", async () => {
    fake = new FakeApiServer();
    fake.bookmarkMs = 200;
    for (const o of objects(CLUSTER)) fake.apply(o);
    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    await fake.start();
    const dir = mkdtempSync(join(tmpdir(), "lbguard-two-"));
    writeFileSync(join(dir, "policy.yaml"), KUBEVIP_NULL);
    const certDir = testCertDir();
    const replica = async (name: string) => {
      writeFileSync(join(dir, `${name}.kubeconfig`), fake.kubeconfig(name));
      const r = await spawnServe(
        [
          "--policy",
          join(dir, "policy.yaml"),
          "--kubeconfig",
          join(dir, `${name}.kubeconfig`),
          "--cert-dir",
          certDir,
          "--port",
          "0",
          "--metrics-port",
          "0",
          "--host",
          "127.0.0.1",
          "--audit-interval",
          "300ms",
          "--audit-lease-timing",
          "1500ms,1s,100ms",
        ],
        { POD_NAME: name, POD_NAMESPACE: "lbguard-system" },
      );
      children.push(r.child);
      const metricsPort = Number(/"metricsPort":(\d+)/.exec(r.output())![1]);
      return { ...r, name, metricsPort, m: () => metrics(metricsPort) };
    };
    const [a, b] = await Promise.all([replica("lbguard-a"), replica("lbguard-b")]);
    const holder = () =>
      fake.get("Lease", "lbguard-system", "lbguard-audit")?.spec.holderIdentity as string | undefined;
    const first = await waitFor(() => holder(), { what: "a Lease holder" });
    const [leader, other] = first === a.name ? [a, b] : [b, a];
    const lastRun = async (r: typeof a) => value(await r.m(), "lbguard_audit_last_run_timestamp_seconds") ?? 0;
    await waitFor(async () => (await lastRun(a)) > 0 && (await lastRun(b)) > 0, { what: "both replicas audited" });

    fake.apply(WEB2);
    await waitFor(
      () => fake.get("PolicyReport", "shop", "lbguard") && fake.get("PolicyReport", "kube-system", "lbguard"),
      {
        what: "both reports",
      },
    );
    // both replicas audit and export the findings, several runs on
    const count = async (r: typeof a) => value(await r.m(), "lbguard_audit_duration_seconds_count") ?? 0;
    const [na, nb] = [await count(a), await count(b)];
    await waitFor(async () => (await count(a)) >= na + 3 && (await count(b)) >= nb + 3, {
      what: "three more runs on each",
    });
    for (const r of [a, b])
      expect(
        value(await r.m(), 'lbguard_audit_findings{rule="service.foreign-address",severity="high"}'),
        r.name,
      ).to.equal(1);
    expect(value(await leader.m(), "lbguard_audit_leader")).to.equal(1);
    expect(value(await other.m(), "lbguard_audit_leader")).to.equal(0);
    const reportWrites = () => fake.requests.filter((r) => r.method !== "GET" && r.path.startsWith(REPORTS));
    expect(reportWrites().map((r) => `${r.token} ${r.method} ${r.path}`)).to.deep.equal([
      `${leader.name} POST ${REPORTS}/namespaces/kube-system/policyreports`,
      `${leader.name} POST ${REPORTS}/namespaces/shop/policyreports`,
    ]);

    // the holder dies without releasing: the other takes the Lease once it expires, and rewrites nothing
    leader.child.kill("SIGKILL");
    await waitFor(() => holder() === other.name, { what: "the other replica takes the Lease" });
    await waitFor(async () => value(await other.m(), "lbguard_audit_leader") === 1, { what: "the new holder leads" });
    const nOther = await count(other);
    await waitFor(async () => (await count(other)) >= nOther + 2, { what: "two runs as holder" });
    expect(reportWrites()).to.have.length(2);
    // the new holder keeps the reports current: the fix deletes them
    fake.delete(WEB2);
    await waitFor(
      () => !fake.get("PolicyReport", "shop", "lbguard") && !fake.get("PolicyReport", "kube-system", "lbguard"),
      {
        what: "the reports deleted by the new holder",
      },
    );
    expect(
      reportWrites()
        .slice(2)
        .map((r) => `${r.token} ${r.method}`),
    ).to.deep.equal([`${other.name} DELETE`, `${other.name} DELETE`]);
  });
});
