/**
 * Enforcement `audit` (SPEC §3), the shadow mode for rolling lbguard out on a
 * live cluster: a family under `audit` never denies, warns or patches; what it
 * would have done is in the answer's auditAnnotations, the info log line and
 * `lbguard_admission_requests_total{decision="audited"}`. Through the engine,
 * through the review handler, and over real HTTPS.
 */
import { expect } from "chai";
import http from "node:http";
import { Writable } from "node:stream";
import YAML from "yaml";
import { MAX_AUDIT_ANNOTATIONS, MAX_AUDIT_VALUE, auditAnnotations, encodeReview } from "../../src/admission/codec.js";
import { createReviewHandler, decide } from "../../src/admission/handler.js";
import { WEBHOOKS } from "../../src/admission/webhooks.js";
import { MemoryView } from "../../src/cluster/view.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { RULE_IDS } from "../../src/rules/catalogue.js";
import { mutate, validate } from "../../src/rules/engine.js";
import { finding } from "../../src/rules/types.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { request, reviewBody, svc } from "../helpers/review.js";
import { startTestServer, TestServer } from "../helpers/server.js";

const ALL_AUDIT = {
  services: "audit",
  foreignWrites: "audit",
  pools: "audit",
  kubeVip: "audit",
  mirrorPods: "audit",
  namespaces: "audit",
};
const auditing = (families: Record<string, string> = ALL_AUDIT) =>
  policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = families));
const denying = policy(KUBEVIP_NULL);
const view = viewOf(CLUSTER);

/** The API server's check of an audit annotation key once it has prefixed the webhook's name. */
function apiServerAccepts(webhook: string, key: string): boolean {
  const full = `${webhook}/${key}`;
  const parts = full.split("/");
  if (parts.length !== 2) return false;
  const [prefix, name] = parts;
  const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  return (
    prefix.length <= 253 &&
    dns1123.test(prefix) &&
    name.length <= 63 &&
    /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)
  );
}

const cpVip = () => request({ object: svc({ ns: "traefik", name: "traefik", cls: "metallb", ip: "10.0.4.247" }) });
const metallbStatusWrite = () =>
  request({
    operation: "UPDATE",
    subResource: "status",
    user: "system:serviceaccount:metallb-system:controller",
    oldObject: svc({ ns: "kube-system", name: "ingress-expose", status: ["10.0.4.210"] }),
    object: {
      ...svc({ ns: "kube-system", name: "ingress-expose" }),
      status: { loadBalancer: { ingress: [{ ip: "10.0.4.210", ports: [{ port: 443, protocol: "TCP" }] }] } },
    },
  });

describe("observability: enforcement audit through the engine", () => {
  it("the policy accepts audit for every family", () => {
    const p = auditing();
    for (const f of Object.keys(ALL_AUDIT)) expect(p.enforcementOf(f as never)).to.equal("audit");
  });

  it("what deny refuses, audit records: the same findings, none denied or warned", () => {
    const req = cpVip();
    const denied = validate(req, view, denying);
    expect(denied.denials.length).to.be.greaterThan(0);
    const audited = validate(req, view, auditing());
    expect(audited.denials).to.deep.equal([]);
    expect(audited.warnings).to.deep.equal([]);
    expect(audited.audited.map((f) => f.rule)).to.deep.equal(
      [...denied.denials, ...denied.warnings].map((f) => f.rule),
    );
  });

  it("a foreign status write under foreignWrites: audit is allowed, recorded as foreign-write", () => {
    const d = decide("validate", metallbStatusWrite(), auditing({ foreignWrites: "audit" }), view);
    expect(d.decision).to.equal("audited");
    expect(d.response.allowed).to.equal(true);
    expect(d.response.status).to.equal(undefined);
    expect(d.response.warnings).to.equal(undefined);
    expect(Object.keys(d.response.auditAnnotations!)).to.deep.equal(["foreign-write"]);
    expect(d.response.auditAnnotations!["foreign-write"]).to.match(
      /^Service kube-system\/ingress-expose is owned by kube-vip \(no loadBalancerClass\); status writes from system:serviceaccount:metallb-system:controller \(metallb\) are refused/,
    );
  });

  it("families keep their own enforcement: a denial of one carries the audit findings of another", () => {
    const old = svc({ ns: "kube-system", name: "dns" });
    const req = request({
      operation: "UPDATE",
      user: "system:serviceaccount:metallb-system:controller",
      oldObject: old,
      object: svc({
        ns: "kube-system",
        name: "dns",
        annotations: { "metallb.io/ip-allocated-from-pool": "default", "metallb.io/address-pool": "default" },
      }),
    });
    const d = decide("validate", req, auditing({ services: "deny", foreignWrites: "audit" }), view);
    expect(d.decision).to.equal("denied");
    expect(d.verdict!.denials.map((f) => f.rule)).to.include("service.foreign-annotation");
    expect(d.verdict!.audited.map((f) => f.rule)).to.deep.equal(["foreign-write"]);
    expect(Object.keys(d.response.auditAnnotations!)).to.deep.equal(["foreign-write"]);
  });

  it("defaulting under services: audit is not applied but recorded (shadow mode changes nothing)", () => {
    const req = request({ object: svc({ ns: "shop", name: "checkout" }) });
    expect(decide("mutate", req, denying, view).decision).to.equal("patched");
    const v = mutate(req, view, auditing());
    expect(v.mutation).to.equal(undefined);
    const d = decide("mutate", req, auditing(), view);
    expect(d.decision).to.equal("audited");
    expect(d.response.patch).to.equal(undefined);
    expect(d.response.auditAnnotations).to.deep.equal({
      "service.default-class":
        "Service shop/checkout: would set loadBalancerClass to metallb; not applied: services enforcement is audit",
    });
  });

  it("unsynced state under audit never denies, even with failureMode closed", () => {
    const unsynced = new MemoryView({ services: "services" });
    for (const o of YAML.parse(CLUSTER).items) unsynced.apply(o, "default");
    const req = cpVip();
    expect(decide("validate", req, denying, unsynced).decision).to.equal("denied");
    const d = decide("validate", req, auditing(), unsynced);
    expect(d.response.allowed).to.equal(true);
    expect(d.decision).to.equal("audited");
    expect(d.verdict!.audited.map((f) => f.rule)).to.include("cluster-state");
  });

  it("a plain allowed answer has no auditAnnotations and keeps the fast encoding", () => {
    const d = decide(
      "validate",
      request({ object: svc({ ns: "shop", name: "web", cls: "metallb" }) }),
      auditing(),
      view,
    );
    expect(d.decision).to.equal("allowed");
    expect(d.response.auditAnnotations).to.equal(undefined);
    expect(encodeReview(d.response)).to.equal(
      `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"${d.response.uid}","allowed":true}}`,
    );
  });
});

describe("observability: audit annotations", () => {
  const subject = { kind: "Service", namespace: "shop", name: "web" };

  it("every rule id makes a key the API server keeps under every lbguard webhook name", () => {
    for (const rule of [...RULE_IDS, "more"])
      for (const w of Object.values(WEBHOOKS)) expect(apiServerAccepts(w, rule), `${w}/${rule}`).to.equal(true);
    // what the key must not be: the API server would drop it (two slashes)
    expect(apiServerAccepts(WEBHOOKS.services, "lbguard.dev/foreign-write")).to.equal(false);
  });

  it("values are one line and at most 1 KiB; further findings of a rule are appended as far as they fit", () => {
    const long = "x".repeat(3000);
    const a = auditAnnotations([
      finding("service.foreign-address", subject, `first\nline ${long}`, "fix it"),
      finding("service.foreign-address", subject, "second", "fix it"),
    ])!;
    expect(Object.keys(a)).to.deep.equal(["service.foreign-address"]);
    const v = a["service.foreign-address"];
    expect(v.length).to.be.at.most(MAX_AUDIT_VALUE);
    expect(v).to.not.match(/[\r\n]/);
    expect(v).to.match(/ \(\+1 more\)$/);
    const b = auditAnnotations([
      finding("service.foreign-address", subject, "10.0.4.9 is kube-vip's", "use a pool address"),
      finding("service.foreign-address", subject, "10.0.4.10 is kube-vip's", "use a pool address"),
    ])!;
    expect(b["service.foreign-address"]).to.equal(
      "Service shop/web: 10.0.4.9 is kube-vip's; use a pool address; also: Service shop/web: 10.0.4.10 is kube-vip's; use a pool address",
    );
  });

  it("at most a few keys: the first rules, then `more` naming the rest", () => {
    const rules = RULE_IDS.filter((r) => r.startsWith("service.")).slice(0, MAX_AUDIT_ANNOTATIONS + 2);
    const a = auditAnnotations(rules.map((r) => finding(r, subject, "p", "f")))!;
    expect(Object.keys(a)).to.have.length(MAX_AUDIT_ANNOTATIONS);
    expect(Object.keys(a).slice(0, -1)).to.deep.equal(rules.slice(0, MAX_AUDIT_ANNOTATIONS - 1));
    expect(a.more).to.equal(`3 more rules: ${rules.slice(MAX_AUDIT_ANNOTATIONS - 1).join(", ")}; see the lbguard log`);
  });
});

describe("observability: audited reviews in the log and the metrics", () => {
  it("one info line with decision audit, the would-be denial as message, the object's name as `object`", async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const metrics = new Metrics(false);
    try {
      const p = auditing();
      const handle = createReviewHandler(
        { policy: () => p, view: () => view },
        metrics,
        createLogger("info", sink, "json"),
      );
      const req = cpVip();
      const ans = await handle("validate", reviewBody(req), "application/json", Date.now() + 10_000);
      const resp = JSON.parse(ans.body).response;
      expect(resp.allowed).to.equal(true);
      expect(resp.warnings).to.equal(undefined);
      const keys = Object.keys(resp.auditAnnotations);
      expect(lines).to.have.length(1);
      const l = lines[0];
      expect(l).to.deep.include({
        level: 30,
        name: "lbguard",
        decision: "audit",
        kind: "Service",
        namespace: "traefik",
        object: "traefik",
        operation: "CREATE",
        rule: keys[0],
      });
      expect(l.msg).to.match(/^Service traefik\/traefik: 10\.0\.4\.247 is owned by kube-vip \(control-plane VIP\)/);
      const text = await metrics.registry.metrics();
      expect(text).to.include(
        `lbguard_admission_requests_total{webhook="validate",kind="Service",operation="CREATE",decision="audited",rule="${keys[0]}"} 1`,
      );
    } finally {
      metrics.close();
    }
  });
});

describe("observability: enforcement audit over HTTPS", function () {
  let s: TestServer;
  before(async () => {
    const doc = YAML.parse(KUBEVIP_NULL);
    doc.spec.enforcement = ALL_AUDIT;
    s = await startTestServer(YAML.stringify(doc), CLUSTER);
  });
  after(async () => {
    await s.stop();
  });

  it("allows what deny refuses, without a warning, the findings in auditAnnotations", async () => {
    const r = await s.post("/validate?timeout=10s", reviewBody(cpVip()));
    expect(r.status).to.equal(200);
    const resp = r.json().response;
    expect(resp.allowed).to.equal(true);
    expect(resp.status).to.equal(undefined);
    expect(resp.warnings).to.equal(undefined);
    expect(resp.patch).to.equal(undefined);
    const keys = Object.keys(resp.auditAnnotations);
    expect(keys.length).to.be.within(1, MAX_AUDIT_ANNOTATIONS);
    for (const k of keys) {
      expect(apiServerAccepts(WEBHOOKS.services, k), k).to.equal(true);
      expect(resp.auditAnnotations[k].length).to.be.at.most(MAX_AUDIT_VALUE);
    }
    expect(Object.values(resp.auditAnnotations).join(" ")).to.match(/10\.0\.4\.247 is owned by kube-vip/);
  });

  it("the mutating webhook returns no patch under audit, only the annotation", async () => {
    const r = await s.post("/mutate?timeout=10s", reviewBody({ object: svc({ ns: "shop", name: "checkout" }) }));
    const resp = r.json().response;
    expect(resp.allowed).to.equal(true);
    expect(resp.patch).to.equal(undefined);
    expect(resp.patchType).to.equal(undefined);
    expect(resp.auditAnnotations).to.have.keys(["service.default-class"]);
  });

  it("counts them as decision=audited with the rule", async () => {
    await s.post("/validate?timeout=10s", reviewBody(metallbStatusWrite()));
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: s.metricsPort, path: "/metrics" }, (res) => {
          let b = "";
          res.on("data", (c) => (b += c));
          res.on("end", () => resolve(b));
        })
        .on("error", reject);
    });
    expect(text).to.match(
      /lbguard_admission_requests_total\{webhook="validate",kind="Service",operation="CREATE",decision="audited",rule="service\.[a-z-]+"\} 1/,
    );
    expect(text).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="UPDATE",decision="audited",rule="foreign-write"} 1',
    );
    expect(text).to.include(
      'lbguard_admission_requests_total{webhook="mutate",kind="Service",operation="CREATE",decision="audited",rule="service.default-class"} 1',
    );
    // nothing denied (the foreign-write series exist from the start, at 0)
    expect(text).to.not.match(/decision="denied"[^}]*\} [1-9]/);
  });
});
