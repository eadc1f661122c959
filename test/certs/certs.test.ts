import { expect } from "chai";
import { spawn } from "node:child_process";
import { X509Certificate, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { createCA, issueServing } from "../../src/certs/forge.js";
import { plan, serviceNames } from "../../src/certs/plan.js";
import { FakeApiServer } from "../fake/apiserver.js";
import { CLI, ROOT, deployFile } from "../helpers/paths.js";

const NAMES = serviceNames("lbguard", "lbguard-system");
const DAY = 86_400_000;

function verifies(caPem: string, certPem: string, host: string): boolean {
  const ca = new X509Certificate(caPem);
  const leaf = new X509Certificate(certPem);
  return leaf.verify(createPublicKey(ca.publicKey.export({ type: "spki", format: "pem" }))) && leaf.checkHost(host) === host && leaf.checkIssued(ca);
}

describe("certs/plan: reuse, renew, rotate", function () {
  this.timeout(30_000);
  const t0 = new Date("2026-01-01T00:00:00Z");
  const first = plan({}, { dnsNames: NAMES, now: t0 });

  it("creates a CA and a serving certificate for the Service, back-dated for clock skew", () => {
    expect(first.changed).to.equal(true);
    expect(first.actions).to.deep.equal(["CA: created (previous: absent)", "serving certificate: issued for lbguard.lbguard-system.svc (previous: absent)"]);
    expect(verifies(first.material.caCert!, first.material.cert!, "lbguard.lbguard-system.svc")).to.equal(true);
    expect(new X509Certificate(first.material.cert!).checkHost("lbguard.lbguard-system.svc.cluster.local")).to.equal("lbguard.lbguard-system.svc.cluster.local");
    expect(new Date(new X509Certificate(first.material.cert!).validFrom).getTime()).to.be.at.most(t0.getTime() - 30 * 60_000);
    expect(first.caBundle).to.equal(first.material.caCert);
  });

  it("reuses both while more than a third of their life is left", () => {
    const again = plan(first.material, { dnsNames: NAMES, now: new Date(t0.getTime() + 200 * DAY) });
    expect(again.changed).to.equal(false);
    expect(again.material).to.deep.equal(first.material);
  });

  it("renews the serving certificate when less than a third is left, keeping the CA", () => {
    const late = plan(first.material, { dnsNames: NAMES, now: new Date(t0.getTime() + 250 * DAY) });
    expect(late.changed).to.equal(true);
    expect(late.material.caCert).to.equal(first.material.caCert);
    expect(late.material.cert).to.not.equal(first.material.cert);
    expect(late.actions[1]).to.match(/^serving certificate: issued .*less than a third of its life left/);
  });

  it("renews the serving certificate when it names another Service or its key does not match", () => {
    const other = issueServing({ cert: first.material.caCert!, key: first.material.caKey! }, ["other.ns.svc"], [], 365, t0);
    expect(plan({ ...first.material, ...{ cert: other.cert, key: other.key } }, { dnsNames: NAMES, now: t0 }).actions[1]).to.match(/does not name lbguard\.lbguard-system\.svc/);
    const foreignKey = issueServing({ cert: first.material.caCert!, key: first.material.caKey! }, NAMES, [], 365, t0).key;
    expect(plan({ ...first.material, key: foreignKey }, { dnsNames: NAMES, now: t0 }).actions[1]).to.match(/key does not match/);
  });

  it("renews the CA late in its life, keeps the old one in the bundle while valid, and drops it once expired", () => {
    const ca = createCA("old", 30, t0);
    const leaf = issueServing(ca, NAMES, [], 365, t0);
    const t1 = new Date(t0.getTime() + 25 * DAY);
    const p = plan({ caCert: ca.cert, caKey: ca.key, cert: leaf.cert, key: leaf.key }, { dnsNames: NAMES, now: t1 });
    expect(p.actions[0]).to.match(/^CA: created \(previous: less than a third of its life left/);
    expect(p.material.caPrevious).to.equal(ca.cert);
    expect(p.caBundle).to.equal(p.material.caCert! + ca.cert);
    expect(verifies(p.material.caCert!, p.material.cert!, "lbguard.lbguard-system.svc")).to.equal(true);
    const later = plan(p.material, { dnsNames: NAMES, now: new Date(t0.getTime() + 40 * DAY) });
    expect(later.material.caPrevious).to.equal(undefined);
    expect(later.caBundle).to.equal(p.material.caCert);
    expect(later.actions).to.include("previous CA: dropped from the bundle (expired)");
  });
});

/** Async: the fake API server answering it lives in this process. */
function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "certs", ...args], { cwd: ROOT });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

describe("lbguard certs against a fake API server", function () {
  this.timeout(60_000);
  let fake: FakeApiServer;
  let kubeconfig: string;
  const args = () => ["--kubeconfig", kubeconfig, "--namespace", "lbguard-system", "--service", "lbguard", "--secret", "lbguard-tls", "--webhook-config", "lbguard"];
  const webhookDocs = YAML.parseAllDocuments(readFileSync(deployFile("webhooks.yaml"), "utf8")).map((d) => d.toJS());
  const count = (kind: string) => webhookDocs.find((d) => d?.kind === kind).webhooks.length as number;
  const validating = count("ValidatingWebhookConfiguration");
  const mutating = count("MutatingWebhookConfiguration");
  const bundles = (kind: string) => (fake.get(kind, undefined, "lbguard")!.webhooks as any[]).map((w) => w.clientConfig.caBundle);
  const secret = () => fake.get("Secret", "lbguard-system", "lbguard-tls")!;
  const decoded = (k: string) => Buffer.from(secret().data[k], "base64").toString();

  before(async () => {
    fake = new FakeApiServer();
    await fake.start();
    for (const d of webhookDocs) fake.apply(d);
    const dir = mkdtempSync(join(tmpdir(), "lbguard-certs-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, fake.kubeconfig());
  });
  after(() => fake.stop());

  it("creates the Secret and patches caBundle into every webhook of both configurations", async () => {
    const r = await run(args());
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^CA: created/m);
    expect(r.out).to.match(/^Secret lbguard-system\/lbguard-tls: created$/m);
    expect(r.out).to.match(/^MutatingWebhookConfiguration lbguard: caBundle patched in 1 of 1 webhooks$/m);
    expect(r.out).to.match(
      new RegExp(`^ValidatingWebhookConfiguration lbguard: caBundle patched in ${validating} of ${validating} webhooks$`, "m"),
    );
    expect(secret().type).to.equal("kubernetes.io/tls");
    const ca = decoded("ca.crt");
    expect(verifies(ca, decoded("tls.crt"), "lbguard.lbguard-system.svc")).to.equal(true);
    const want = Buffer.from(ca).toString("base64");
    expect([...bundles("MutatingWebhookConfiguration"), ...bundles("ValidatingWebhookConfiguration")]).to.deep.equal(
      Array(validating + mutating).fill(want),
    );
  });

  it("is idempotent: a second run changes nothing", async () => {
    const rv = secret().metadata.resourceVersion;
    const v = fake.get("ValidatingWebhookConfiguration", undefined, "lbguard")!.metadata.resourceVersion;
    const r = await run(args());
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^CA: reused/m);
    expect(r.out).to.match(/^serving certificate: reused/m);
    expect(r.out).to.match(/Secret lbguard-system\/lbguard-tls: unchanged/);
    expect(r.out).to.match(/ValidatingWebhookConfiguration lbguard: caBundle current/);
    expect(secret().metadata.resourceVersion).to.equal(rv);
    expect(fake.get("ValidatingWebhookConfiguration", undefined, "lbguard")!.metadata.resourceVersion).to.equal(v);
  });

  it("renews a serving certificate with less than a third of its life left, keeping the CA", async () => {
    const ca = { cert: decoded("ca.crt"), key: decoded("ca.key") };
    const old = issueServing(ca, NAMES, [], 90, new Date(Date.now() - 70 * DAY));
    const s = secret();
    fake.apply({ ...s, data: { ...s.data, "tls.crt": Buffer.from(old.cert).toString("base64"), "tls.key": Buffer.from(old.key).toString("base64") } });
    const r = await run(args());
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^serving certificate: issued .*less than a third of its life left/m);
    expect(r.out).to.match(/Secret lbguard-system\/lbguard-tls: updated/);
    expect(decoded("ca.crt")).to.equal(ca.cert);
    expect(decoded("tls.crt")).to.not.equal(old.cert);
    expect(r.out).to.match(/caBundle current/);
  });

  it("re-patches a caBundle that drifted", async () => {
    const v = fake.get("ValidatingWebhookConfiguration", undefined, "lbguard")!;
    v.webhooks[2].clientConfig.caBundle = Buffer.from("something else").toString("base64");
    fake.apply(v);
    const r = await run(args());
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(
      new RegExp(`^ValidatingWebhookConfiguration lbguard: caBundle patched in 1 of ${validating} webhooks$`, "m"),
    );
    expect(new Set(bundles("ValidatingWebhookConfiguration")).size).to.equal(1);
  });

  it("fails (so the Job retries) when the webhook configurations do not exist yet", async () => {
    const r = await run([...args().slice(0, -1), "missing"]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/no MutatingWebhookConfiguration or ValidatingWebhookConfiguration named missing/);
  });
});

describe("lbguard certs --out DIR", function () {
  this.timeout(30_000);
  it("writes a chain that verifies for lbguard.lbguard-system.svc, serves TLS, and is reused on a second run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-out-"));
    const a = await run(["--namespace", "lbguard-system", "--service", "lbguard", "--out", dir]);
    expect(a.code, a.err).to.equal(0);
    const ca = readFileSync(join(dir, "ca.crt"), "utf8");
    const before = readFileSync(join(dir, "tls.crt"), "utf8");
    const b = await run(["--namespace", "lbguard-system", "--service", "lbguard", "--out", dir]);
    expect(b.out).to.match(new RegExp(`${dir.replace(/[/.]/g, "\\$&")}: unchanged`));
    expect(readFileSync(join(dir, "tls.crt"), "utf8")).to.equal(before);
    // a real TLS handshake, verified as kube-apiserver does
    const server = https.createServer({ cert: before, key: readFileSync(join(dir, "tls.key")) }, (_q, s) => s.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const body = await new Promise<string>((resolve, reject) =>
      https.get({ host: "127.0.0.1", port, ca, servername: "lbguard.lbguard-system.svc" }, (res) => {
        let t = "";
        res.on("data", (c) => (t += c));
        res.on("end", () => resolve(t));
      }).on("error", reject),
    );
    server.close();
    expect(body).to.equal("ok");
  });
});
