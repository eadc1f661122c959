import { expect } from "chai";
import { KubeConfig } from "@kubernetes/client-node";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LiveSource, startLiveSource } from "../../src/cluster/sources/live.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import type { Policy } from "../../src/policy/policy.js";
import { CLUSTER, objects } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { request as rawRequest } from "../helpers/server.js";
import { serve } from "../../src/cli/serve.js";
import { svc } from "../helpers/review.js";
import { FakeApiServer } from "../fake/apiserver.js";
import { pool } from "../rules/pool-cases.js";
import { ds } from "../rules/workload-cases.js";
import { testCertDir } from "../helpers/server.js";
import { readFileSync } from "node:fs";

const log = createLogger("silent");

async function until(cond: () => boolean, ms = 3000, what = "condition"): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

function kcOf(fake: FakeApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig());
  return kc;
}

async function live(
  fake: FakeApiServer,
  p: () => Policy = () => policy(KUBEVIP_NULL),
  metrics?: Metrics,
): Promise<LiveSource> {
  return startLiveSource({
    kc: kcOf(fake),
    policy: p,
    log,
    metrics,
    backoff: { initialMs: 50, maxMs: 400 },
    poolRelistMs: 1000,
  });
}

describe("cluster/live: informers against a list/watch API server", function () {
  this.timeout(30_000);
  let fake: FakeApiServer;
  let src: LiveSource | undefined;
  const kv = policy(KUBEVIP_NULL);

  beforeEach(async () => {
    fake = new FakeApiServer();
    fake.bookmarkMs = 200;
    for (const o of objects(CLUSTER)) fake.apply(o);
    await fake.start();
  });
  afterEach(async () => {
    src?.close();
    src = undefined;
    await fake.stop();
  });

  const newPool = () => judge(kv, src!.view(), { object: pool("new", ["10.0.8.0/24"]) });

  it("lists every resource once, becomes synced, keeps only what rules need", async () => {
    const m = new Metrics(false);
    src = await live(fake, () => kv, m);
    expect(src.view().synced).to.equal(false);
    await until(() => src!.view().synced, 5000, "sync");
    expect(src.view().counts()).to.deep.include({ namespaces: 4, pools: 3, configMaps: 1, services: 3 });
    const synced = (await m.cacheSynced.get()).values.map((v) => [v.labels.resource, v.value]);
    expect(synced).to.deep.include.members([
      ["services", 1],
      ["ipaddresspools", 1],
      ["configmap", 1],
      ["pods/kube-system", 1],
    ]);
    // lists are paginated consistent reads; watches ask for bookmarks from the list's resourceVersion
    const lists = fake.requests.filter((r) => r.path === "/api/v1/services" && !r.query.watch);
    expect(lists[0].query).to.deep.include({ limit: "500" });
    expect(lists[0].query.resourceVersion).to.equal(undefined);
    await until(
      () => fake.requests.some((r) => r.path === "/api/v1/services" && !!r.query.watch),
      2000,
      "the services watch",
    );
    const w = fake.requests.find((r) => r.path === "/api/v1/services" && r.query.watch);
    expect(w!.query).to.deep.include({ allowWatchBookmarks: "true" });
    expect(Number(w!.query.resourceVersion)).to.be.greaterThan(100);
    // the ConfigMap is watched by name only
    expect(
      fake.requests.find((r) => r.path === "/api/v1/namespaces/kube-system/configmaps")!.query.fieldSelector,
    ).to.equal("metadata.name=kubevip");
  });

  it("objects added, changed and deleted over watch change decisions within a second", async () => {
    src = await live(fake);
    await until(() => src!.view().synced, 5000, "sync");
    expect(newPool().allowed).to.equal(true);
    // added: a kube-vip Service takes an address inside the new pool's range
    fake.apply(svc({ ns: "kube-system", name: "kv", status: ["10.0.8.9"] }));
    const t1 = await until(() => !newPool().allowed, 1000, "ADDED");
    expect(newPool().message).to.match(/10\.0\.8\.9, in use by kube-vip Service kube-system\/kv/);
    // changed: the Service moves out of the range
    fake.apply(svc({ ns: "kube-system", name: "kv", status: ["10.0.10.9"] }));
    const t2 = await until(() => newPool().allowed, 1000, "MODIFIED");
    // added: another pool; deleted: it goes again
    const other = pool("other", ["10.0.8.128/25"]);
    fake.apply(other);
    const t3 = await until(() => !newPool().allowed, 1000, "pool ADDED");
    fake.delete(other);
    const t4 = await until(() => newPool().allowed, 1000, "pool DELETED");
    expect(Math.max(t1, t2, t3, t4)).to.be.below(1000);
  });

  it("a dropped watch connection recovers without a restart", async () => {
    src = await live(fake);
    await until(() => src!.view().synced, 5000, "sync");
    await until(() => fake.openWatches >= 8, 2000, "watches");
    expect(fake.dropWatches()).to.be.greaterThan(0);
    fake.apply(pool("after-drop", ["10.0.8.0/26"]));
    await until(() => !!src!.view().pool("metallb-system", "after-drop"), 3000, "event after the drop");
    await until(() => fake.openWatches >= 8, 3000, "watches again");
  });

  it("a 410 Gone relists, and objects deleted meanwhile disappear", async () => {
    src = await live(fake);
    await until(() => src!.view().synced, 5000, "sync");
    const lists = () => fake.requests.filter((r) => r.path.endsWith("/ipaddresspools") && !r.query.watch).length;
    const before = lists();
    // cut the watches, change things while nobody watches, then forget the history
    await fake.stop();
    fake.delete(pool("shop-pool", []));
    fake.apply(pool("during-gap", ["10.0.11.0/24"]));
    fake.compact();
    await fake.start(fake.port);
    await until(
      () => !!src!.view().pool("metallb-system", "during-gap") && !src!.view().pool("metallb-system", "shop-pool"),
      5000,
      "relist",
    );
    expect(lists()).to.be.greaterThan(before);
    // and the watch goes on from the fresh list
    fake.apply(pool("later", ["10.0.12.0/24"]));
    await until(() => !!src!.view().pool("metallb-system", "later"), 2000, "later");
  });

  it("survives an API server restart", async () => {
    src = await live(fake);
    await until(() => src!.view().synced, 5000, "sync");
    await fake.restart(500);
    fake.apply(svc({ ns: "kube-system", name: "after-restart", status: ["10.0.8.7"] }));
    await until(() => !!src!.view().service("kube-system", "after-restart"), 5000, "event after restart");
    expect(src.view().synced).to.equal(true);
  });

  it("reports a missing MetalLB CRD and recovers when it appears", async () => {
    fake.crds.delete("ipaddresspools.metallb.io");
    src = await live(fake);
    await until(
      () =>
        src!
          .view()
          .pending()
          .some((p) => /CRD/.test(p)),
      3000,
      "CRD reason",
    );
    expect(src.view().synced).to.equal(false);
    expect(src.view().pending()).to.deep.equal([
      "MetalLB is not installed: CRD ipaddresspools.metallb.io not found; retrying",
    ]);
    fake.crds.add("ipaddresspools.metallb.io");
    await until(() => src!.view().synced, 5000, "sync after the CRD appears");
    expect(src.view().counts().pools).to.equal(3);
  });

  it("before the sync: failureMode closed denies, open warns; stateless rules work", async () => {
    fake.listDelayMs.services = 1500;
    src = await live(fake);
    await until(() => src!.view().pending().length === 1, 3000, "everything but services");
    expect(src.view().pending()).to.deep.equal(["services not listed yet"]);
    const closed = judge(kv, src.view(), { object: pool("new", ["10.0.8.0/24"]) });
    expect(closed.allowed).to.equal(false);
    expect(closed.message).to.match(
      /^lbguard is starting and has not synced cluster state yet \(waiting for services not listed yet\); retry in a few seconds$/,
    );
    const open = judge(
      policy(KUBEVIP_NULL, (d) => (d.spec.failureMode = "open")),
      src.view(),
      { object: pool("new", ["10.0.8.0/24"]) },
    );
    expect(open.allowed).to.equal(true);
    expect(open.warnings.join()).to.match(/has not synced cluster state yet/);
    // defaulting and kube-vip env parsing need no state
    expect((judge(kv, src.view(), { object: svc({ ns: "shop" }) }).object!.spec as any).loadBalancerClass).to.equal(
      "metallb",
    );
    expect(judge(kv, src.view(), { object: ds("kv", { svc_enable: "yes" }) }).message).to.match(
      /svc_enable is "yes", which kube-vip cannot parse/,
    );
    await until(() => src!.view().synced, 5000, "sync");
  });

  it("re-lists pools with a consistent read before a pool decision", async () => {
    src = await live(fake);
    await until(() => src!.view().synced, 5000, "sync");
    // a pool the watch has not delivered yet (written without an event)
    fake.load([
      {
        apiVersion: "metallb.io/v1beta1",
        kind: "IPAddressPool",
        metadata: { name: "racing", namespace: "metallb-system" },
        spec: { addresses: ["10.0.8.0/24"] },
      },
    ]);
    expect(src.view().pool("metallb-system", "racing")).to.equal(undefined);
    const n = fake.requests.length;
    const req = {
      uid: "u",
      kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
      operation: "CREATE" as const,
      object: pool("new", ["10.0.8.0/25"]),
    };
    const fresh = await src.prepare(req, Date.now() + 5000);
    expect(fresh).to.not.equal(undefined);
    const relist = fake.requests
      .slice(n)
      .find((r) => r.path === "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools" && !r.query.watch);
    expect(relist!.query.resourceVersion).to.equal(undefined); // not resourceVersion=0: etcd, not the cache
    expect(judge(kv, fresh!, { object: pool("new", ["10.0.8.0/25"]) }).message).to.match(
      /overlaps 10\.0\.8\.0\/24 of IPAddressPool metallb-system\/racing/,
    );
    // no re-list for other kinds
    expect(src.prepare({ ...req, kind: { group: "", version: "v1", kind: "Service" } }, Date.now() + 5000)).to.equal(
      undefined,
    );
  });

  it("falls back to the cache when the re-list would pass the deadline", async () => {
    src = await live(fake);
    await until(() => src!.view().synced, 5000, "sync");
    fake.listDelayMs.ipaddresspools = 3000;
    const req = {
      uid: "u",
      kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
      operation: "CREATE" as const,
      object: pool("new", ["10.0.8.0/25"]),
    };
    const t0 = Date.now();
    expect(await src.prepare(req, Date.now() + 600)).to.equal(undefined);
    expect(Date.now() - t0).to.be.below(1500);
    expect(src.prepare(req, Date.now() + 20)).to.equal(undefined); // no time at all: straight to the cache
  });

  it("follows a policy change: pools are watched in the new MetalLB namespace", async () => {
    let p = kv;
    src = await live(fake, () => p);
    await until(() => src!.view().synced, 5000, "sync");
    fake.apply({ ...pool("elsewhere", ["10.0.13.0/24"]), metadata: { name: "elsewhere", namespace: "lb" } });
    p = policy(KUBEVIP_NULL, (d) => (d.spec.providers.metallb.namespace = "lb"));
    src.reconcile();
    await until(
      () => !!src!.view().pool("lb", "elsewhere") && !src!.view().pool("metallb-system", "default"),
      3000,
      "pools of lb",
    );
  });
});

describe("serve --kubeconfig: readiness follows the informers", function () {
  this.timeout(30_000);
  it("/readyz is 503 with the reason until every informer synced, then 200", async () => {
    const fake = new FakeApiServer();
    for (const o of objects(CLUSTER)) fake.apply(o);
    fake.crds.delete("ipaddresspools.metallb.io");
    await fake.start();
    const dir = mkdtempSync(join(tmpdir(), "lbguard-live-"));
    writeFileSync(join(dir, "policy.yaml"), KUBEVIP_NULL);
    writeFileSync(join(dir, "kubeconfig"), fake.kubeconfig());
    const certDir = testCertDir();
    const ca = readFileSync(join(certDir, "ca.crt"), "utf8");
    const s = await serve(
      {
        policy: join(dir, "policy.yaml"),
        state: [],
        kubeconfig: join(dir, "kubeconfig"),
        port: 0,
        certDir,
        metricsPort: 0,
        logLevel: "silent",
        host: "127.0.0.1",
      },
      log,
    );
    try {
      let r1 = await rawRequest(s.port, ca, "GET", "/readyz");
      for (let i = 0; i < 50 && !/CRD/.test(r1.text); i++) {
        await new Promise((r) => setTimeout(r, 100));
        r1 = await rawRequest(s.port, ca, "GET", "/readyz");
      }
      expect(r1.status).to.equal(503);
      expect(r1.text).to.match(/MetalLB is not installed: CRD ipaddresspools\.metallb\.io not found/);
      fake.crds.add("ipaddresspools.metallb.io");
      let status = 0;
      const t0 = Date.now();
      while (status !== 200 && Date.now() - t0 < 8000) {
        status = (await rawRequest(s.port, ca, "GET", "/readyz")).status;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).to.equal(200);
    } finally {
      await s.stop();
      await fake.stop();
    }
  });
});
