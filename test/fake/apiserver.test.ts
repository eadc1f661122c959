/**
 * The fake API server's write protocol, as the background audit uses it
 * (src/k8s/api.ts apiRequest, the client lbguard sends its writes with):
 * create, get, update, delete of Leases, Events and reports, with the status
 * codes, reasons and Status bodies kube-apiserver answers; discovery of the
 * report CRDs only while they are installed.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { ApiError, apiRequest } from "../../src/k8s/api.js";
import { FakeApiServer, REPORT_CRDS } from "./apiserver.js";

type Obj = Record<string, any>;

/** The answer as status code and body, whatever the code. */
async function call(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ code: number; body: Obj }> {
  const cluster = kc.getCurrentCluster()!;
  const r = await fetch(cluster.server + path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { code: r.status, body: (await r.json()) as Obj };
}

describe("fake API server: writes and discovery as kube-apiserver answers them", function () {
  let fake: FakeApiServer;
  let kc: KubeConfig;
  const LEASES = "/apis/coordination.k8s.io/v1/namespaces/lbguard-system/leases";
  const lease = (o: Obj = {}) => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "lbguard-audit", namespace: "lbguard-system", ...(o.metadata ?? {}) },
    spec: { holderIdentity: "a", leaseDurationSeconds: 15, ...(o.spec ?? {}) },
  });

  beforeEach(async () => {
    fake = new FakeApiServer();
    await fake.start();
    kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfig());
  });
  afterEach(() => fake.stop());

  it("create: 201 with server-set metadata; the same name again: 409 AlreadyExists with a Status", async () => {
    const created = await apiRequest(kc, LEASES, { method: "POST", body: lease() });
    expect(created.metadata).to.include({ name: "lbguard-audit", namespace: "lbguard-system" });
    expect(created.metadata.uid).to.be.a("string");
    expect(Number(created.metadata.resourceVersion)).to.be.greaterThan(100);
    expect(created.metadata.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const again = await call(kc, "POST", LEASES, lease());
    expect(again).to.deep.equal({
      code: 409,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'leases.coordination.k8s.io "lbguard-audit" already exists',
        reason: "AlreadyExists",
        details: { name: "lbguard-audit", group: "coordination.k8s.io", kind: "leases" },
        code: 409,
      },
    });
  });

  it("update: 200 and a new resourceVersion; a stale resourceVersion: 409 Conflict; a missing object: 404", async () => {
    const created = await apiRequest(kc, LEASES, { method: "POST", body: lease() });
    const rv1 = created.metadata.resourceVersion;
    const updated = await apiRequest(kc, `${LEASES}/lbguard-audit`, {
      method: "PUT",
      body: { ...created, spec: { ...created.spec, holderIdentity: "b" } },
    });
    expect(updated.spec.holderIdentity).to.equal("b");
    expect(updated.metadata.uid).to.equal(created.metadata.uid);
    expect(updated.metadata.creationTimestamp).to.equal(created.metadata.creationTimestamp);
    expect(Number(updated.metadata.resourceVersion)).to.be.greaterThan(Number(rv1));
    // the second writer still holds rv1
    const stale = await call(kc, "PUT", `${LEASES}/lbguard-audit`, { ...created, spec: { holderIdentity: "c" } });
    expect(stale.code).to.equal(409);
    expect(stale.body).to.deep.include({
      reason: "Conflict",
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "lbguard-audit": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: "lbguard-audit", group: "coordination.k8s.io", kind: "leases" },
    });
    expect(fake.get("Lease", "lbguard-system", "lbguard-audit")!.spec.holderIdentity).to.equal("b");
    // an update never creates
    const missing = await call(kc, "PUT", `${LEASES}/other`, lease({ metadata: { name: "other" } }));
    expect(missing.code).to.equal(404);
    expect(missing.body).to.deep.include({
      reason: "NotFound",
      message: 'leases.coordination.k8s.io "other" not found',
    });
    // the client sees the code on its error
    const err = await apiRequest(kc, `${LEASES}/other`).catch((e) => e);
    expect(err).to.be.instanceOf(ApiError);
    expect((err as ApiError).statusCode).to.equal(404);
  });

  it("custom resources: 404 while the CRD is absent (discovery too); updates need a resourceVersion", async () => {
    const path = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports";
    const report = { apiVersion: "wgpolicyk8s.io/v1alpha2", kind: "PolicyReport", metadata: { name: "lbguard" } };
    expect((await call(kc, "GET", "/apis/wgpolicyk8s.io/v1alpha2")).code).to.equal(404);
    expect((await call(kc, "POST", path, report)).body).to.include({
      code: 404,
      message: "the server could not find the requested resource",
    });
    const groups = (await call(kc, "GET", "/apis")).body.groups.map((g: Obj) => g.name);
    expect(groups).to.not.include("wgpolicyk8s.io");

    for (const c of REPORT_CRDS.wgpolicyk8s) fake.crds.add(c);
    const disc = (await call(kc, "GET", "/apis/wgpolicyk8s.io/v1alpha2")).body;
    expect(disc.groupVersion).to.equal("wgpolicyk8s.io/v1alpha2");
    expect(disc.resources.map((r: Obj) => [r.name, r.kind, r.namespaced])).to.deep.equal([
      ["policyreports", "PolicyReport", true],
      ["clusterpolicyreports", "ClusterPolicyReport", false],
    ]);
    expect((await call(kc, "GET", "/apis")).body.groups.map((g: Obj) => g.name)).to.include("wgpolicyk8s.io");
    expect((await call(kc, "GET", "/apis/openreports.io/v1alpha1")).code).to.equal(404);

    const created = await apiRequest(kc, path, { method: "POST", body: { ...report, summary: { fail: 1 } } });
    expect(created.metadata.generation).to.equal(1);
    const { resourceVersion: _rv, ...noRV } = created.metadata;
    const unconditional = await call(kc, "PUT", `${path}/lbguard`, { ...created, metadata: noRV });
    expect(unconditional.code).to.equal(422);
    expect(unconditional.body.reason).to.equal("Invalid");
    const next = await apiRequest(kc, `${path}/lbguard`, {
      method: "PUT",
      body: { ...created, summary: { fail: 2 } },
    });
    expect(next.metadata.generation).to.equal(2);
    // lists by name across namespaces (what RBAC's resourceNames allows)
    const list = await apiRequest(
      kc,
      "/apis/wgpolicyk8s.io/v1alpha2/policyreports?fieldSelector=metadata.name%3Dlbguard",
    );
    expect(list.items.map((i: Obj) => [i.kind, i.metadata.namespace, i.summary.fail])).to.deep.equal([
      ["PolicyReport", "shop", 2],
    ]);
  });

  it("delete: 200 with a Success Status; a stale precondition: 409; a missing object: 404", async () => {
    const created = await apiRequest(kc, LEASES, { method: "POST", body: lease() });
    await apiRequest(kc, `${LEASES}/lbguard-audit`, { method: "PUT", body: created });
    const stale = await call(kc, "DELETE", `${LEASES}/lbguard-audit`, {
      preconditions: { resourceVersion: created.metadata.resourceVersion },
    });
    expect(stale.code).to.equal(409);
    expect(stale.body.reason).to.equal("Conflict");
    expect(stale.body.message).to.match(
      /^Precondition failed: ResourceVersion in precondition: \d+, ResourceVersion in object meta: \d+$/,
    );
    const cur = fake.get("Lease", "lbguard-system", "lbguard-audit")!;
    const ok = await call(kc, "DELETE", `${LEASES}/lbguard-audit`, {
      preconditions: { resourceVersion: cur.metadata.resourceVersion },
    });
    expect(ok).to.deep.equal({
      code: 200,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name: "lbguard-audit", group: "coordination.k8s.io", kind: "leases", uid: cur.metadata.uid },
      },
    });
    expect(fake.get("Lease", "lbguard-system", "lbguard-audit")).to.equal(undefined);
    expect((await call(kc, "DELETE", `${LEASES}/lbguard-audit`)).code).to.equal(404);
  });

  it("events: created in the namespace of the object they are about, else 422", async () => {
    const ev = (ns: string) => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.1", namespace: ns },
      involvedObject: { kind: "Service", namespace: "shop", name: "web", apiVersion: "v1" },
      reason: "LoadBalancerOwnershipConflict",
      message: "m",
      type: "Warning",
    });
    expect((await call(kc, "POST", "/api/v1/namespaces/shop/events", ev("shop"))).code).to.equal(201);
    const wrong = await call(kc, "POST", "/api/v1/namespaces/default/events", ev("default"));
    expect(wrong.code).to.equal(422);
    expect(wrong.body.message).to.include("does not match event.namespace");
    const mismatch = await call(kc, "POST", "/api/v1/namespaces/default/events", ev("shop"));
    expect(mismatch.code).to.equal(400);
  });
});
