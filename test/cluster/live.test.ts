import { expect } from "chai";
import { freshNeeded } from "../../src/rules/engine.js";
import { KubeConfig } from "@kubernetes/client-node";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LiveSource, resourcesFor, startLiveSource } from "../../src/cluster/sources/live.js";
import { createLogger, Logger } from "../../src/observability/logger.js";
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
import { ds, staticPod } from "../rules/workload-cases.js";
import { testCertDir } from "../helpers/server.js";
import { readFileSync } from "node:fs";
import { waitFor } from "../helpers/wait.js";

const log = createLogger("silent");

/** Waits for a condition on the live source (no fixed sleeps, no elapsed-time bounds). */
function until(cond: () => boolean, what: string, state?: () => unknown): Promise<true> {
  return waitFor(() => cond() || undefined, { what, state }) as Promise<true>;
}

/** A logger whose JSON lines the test can read. */
function captured(): { log: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const sink = { write: (s: string) => void lines.push(JSON.parse(s)) };
  return { log: createLogger("debug", sink as unknown as NodeJS.WritableStream), lines };
}

const NO_CRD = "MetalLB is not installed: CRD ipaddresspools.metallb.io not found; retrying";

function kcOf(fake: FakeApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig());
  return kc;
}

async function live(
  fake: FakeApiServer,
  p: () => Policy = () => policy(KUBEVIP_NULL),
  o: { metrics?: Metrics; log?: Logger; poolRelistMs?: number } = {},
): Promise<LiveSource> {
  return startLiveSource({
    kc: kcOf(fake),
    policy: p,
    log: o.log ?? log,
    metrics: o.metrics,
    backoff: { initialMs: 50, maxMs: 400 },
    poolRelistMs: o.poolRelistMs ?? 1000,
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
  const pending = () => src!.view().pending();
  const synced = () => until(() => src!.view().synced, "sync", pending);
  /** one informer, so one watch, per resource the policy needs */
  const informers = resourcesFor(kv).length;

  it("lists every resource once, becomes synced, keeps only what rules need", async () => {
    const m = new Metrics(false);
    src = await live(fake, () => kv, { metrics: m });
    expect(src.view().synced).to.equal(false);
    await synced();
    expect(src.view().counts()).to.deep.include({ namespaces: 4, pools: 3, configMaps: 1, services: 3 });
    const flags = (await m.cacheSynced.get()).values.map((v) => [v.labels.resource, v.value]);
    expect(flags).to.deep.include.members([
      ["services", 1],
      ["ipaddresspools", 1],
      ["configmap", 1],
      ["pods", 1],
    ]);
    // lists are paginated consistent reads; watches ask for bookmarks from the list's resourceVersion
    const lists = fake.requests.filter((r) => r.path === "/api/v1/services" && !r.query.watch);
    expect(lists[0].query).to.deep.include({ limit: "500" });
    expect(lists[0].query.resourceVersion).to.equal(undefined);
    await until(
      () => fake.requests.some((r) => r.path === "/api/v1/services" && !!r.query.watch),
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

  it("objects added, changed and deleted over watch change decisions", async () => {
    src = await live(fake);
    await synced();
    expect(newPool().allowed).to.equal(true);
    // added: a kube-vip Service takes an address inside the new pool's range
    fake.apply(svc({ ns: "kube-system", name: "kv", status: ["10.0.8.9"] }));
    await until(() => !newPool().allowed, "ADDED");
    expect(newPool().message).to.match(/10\.0\.8\.9, in use by kube-vip Service kube-system\/kv/);
    // changed: the Service moves out of the range
    fake.apply(svc({ ns: "kube-system", name: "kv", status: ["10.0.10.9"] }));
    await until(() => newPool().allowed, "MODIFIED");
    const moved = src.view().service("kube-system", "kv")!;
    expect(moved.addrs.map((a) => a.text)).to.deep.equal(["10.0.10.9"]);
    // added: another pool; deleted: it goes again
    const other = pool("other", ["10.0.8.128/25"]);
    fake.apply(other);
    await until(() => !newPool().allowed, "pool ADDED");
    expect(newPool().message).to.match(/overlaps 10\.0\.8\.128\/25 of IPAddressPool metallb-system\/other/);
    fake.delete(other);
    await until(() => newPool().allowed, "pool DELETED");
    expect(src.view().pool("metallb-system", "other")).to.equal(undefined);
  });

  it("sees a kube-vip Pod in a tenant namespace, owned by a Job, and a pool over its VIP is refused", async () => {
    src = await live(fake);
    await synced();
    expect(newPool().allowed).to.equal(true);
    const base = staticPod({ vip_arp: "true", cp_enable: "true", address: "10.0.8.50" }, { name: "sneaky" });
    const pod = {
      ...base,
      metadata: {
        name: "sneaky-7x2kq",
        namespace: "shop",
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "sneaky", controller: true, uid: "u1" }],
      },
    };
    fake.apply(pod);
    await until(() => !!src!.view().workload("Pod", "shop", "sneaky-7x2kq"), "the tenant's kube-vip Pod in the view");
    const j = newPool();
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal(["pool.kube-vip"]);
    expect(j.message).to.equal(
      "IPAddressPool metallb-system/new: 10.0.8.0/24 overlaps 10.0.8.50, the kube-vip control-plane VIP (Pod shop/sneaky-7x2kq); MetalLB would hand out addresses kube-vip uses",
    );
  });

  it("the informer holds no Pod without kube-vip; a Pod that gains or loses kube-vip enters or leaves the view", async () => {
    const plain = (name: string, image = "nginx:1.27") => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: "shop",
        ownerReferences: [{ kind: "ReplicaSet", name: "web-5d8f9", controller: true }],
      },
      spec: { containers: [{ name: "web", image }] },
    });
    const kubeVip = (name: string, vip: string) => {
      const p = staticPod({ vip_arp: "true", cp_enable: "true", address: vip }, { name });
      return { ...p, metadata: { ...(p.metadata as object), namespace: "shop" } };
    };
    for (let i = 0; i < 20; i++) fake.apply(plain(`web-${i}`));
    fake.apply(kubeVip("kv", "10.0.8.50"));
    src = await live(fake);
    await synced();
    const held = () => src!.held("pods");
    const inView = (name: string) => !!src!.view().workload("Pod", "shop", name);
    expect(held()).to.equal(1); // of 21 Pods listed
    expect(inView("kv")).to.equal(true);
    // watched: an ordinary Pod is not held; the kube-vip Pod after it shows that its event was handled
    fake.apply(plain("web-20"));
    fake.apply(kubeVip("kv-2", "10.0.8.60"));
    await until(() => inView("kv-2"), "kv-2 in the view");
    expect(held()).to.equal(2);
    // an ordinary Pod whose image becomes kube-vip's enters the view; a pool over its VIP is refused
    const web1 = kubeVip("web-1", "10.0.8.70");
    fake.apply({ ...web1, metadata: plain("web-1").metadata });
    await until(() => inView("web-1"), "web-1 in the view once it runs kube-vip");
    expect(held()).to.equal(3);
    expect(judge(kv, src.view(), { object: pool("over", ["10.0.8.70/32"]) }).rules).to.deep.equal(["pool.kube-vip"]);
    // and back: it leaves the view and the informer
    fake.apply(plain("web-1"));
    await until(() => !inView("web-1"), "web-1 out of the view");
    expect(held()).to.equal(2);
    expect(judge(kv, src.view(), { object: pool("over", ["10.0.8.70/32"]) }).allowed).to.equal(true);
    fake.delete(kubeVip("kv-2", "10.0.8.60"));
    await until(() => !inView("kv-2"), "kv-2 deleted");
    expect(held()).to.equal(1);
    // a relist (410 Gone) after kv stopped running kube-vip while nobody watched drops it too
    await fake.stop();
    fake.apply(plain("kv"));
    fake.compact();
    await fake.start(fake.port);
    await until(() => !inView("kv"), "kv out of the view after the relist");
    expect(held()).to.equal(0);
    expect(src.view().counts().workloads).to.equal(0);
  });

  it("a dropped watch connection recovers without a restart", async () => {
    src = await live(fake);
    await synced();
    const open = () => fake.openWatches;
    const watching = (what: string) => until(() => open() >= informers, what, open);
    await watching("watches");
    expect(fake.dropWatches()).to.be.at.least(informers);
    fake.apply(pool("after-drop", ["10.0.8.0/26"]));
    await until(() => !!src!.view().pool("metallb-system", "after-drop"), "event after the drop");
    await watching("watches again");
  });

  it("a 410 Gone relists, and objects deleted meanwhile disappear", async () => {
    src = await live(fake);
    await synced();
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
      "relist",
    );
    expect(lists()).to.be.greaterThan(before);
    // and the watch goes on from the fresh list
    fake.apply(pool("later", ["10.0.12.0/24"]));
    await until(() => !!src!.view().pool("metallb-system", "later"), "later");
  });

  it("survives an API server restart", async () => {
    src = await live(fake);
    await synced();
    await fake.restart(500);
    fake.apply(svc({ ns: "kube-system", name: "after-restart", status: ["10.0.8.7"] }));
    await until(() => !!src!.view().service("kube-system", "after-restart"), "event after restart");
    expect(src.view().synced).to.equal(true);
  });

  it("reports a missing MetalLB CRD and recovers when it appears", async () => {
    fake.crds.delete("ipaddresspools.metallb.io");
    const c = captured();
    src = await live(fake, undefined, { log: c.log });
    const poolLists = () => fake.requests.filter((r) => r.path.endsWith("/ipaddresspools") && !r.query.watch).length;
    // the other informers list at their own pace: wait until they all have and
    // only the missing CRD is left, and until the pools were tried again
    await until(
      () => pending().length === 1 && pending()[0] === NO_CRD && poolLists() >= 2,
      "only the MetalLB reason pending, after a retry",
      () => ({ pending: pending(), poolLists: poolLists() }),
    );
    expect(src.view().synced).to.equal(false);
    expect(pending()).to.deep.equal([NO_CRD]);
    expect(c.lines.filter((l) => l.msg === NO_CRD).map((l) => [l.level, l.resource])).to.deep.include([
      40,
      "ipaddresspools",
    ]);
    fake.crds.add("ipaddresspools.metallb.io");
    await until(() => src!.view().synced, "sync after the CRD appears", pending);
    expect(pending()).to.deep.equal([]);
    expect(src.view().counts().pools).to.equal(3);
  });

  it("before the sync: failureMode closed denies, open warns; stateless rules work", async () => {
    // the services list gets no answer until released: the view stays unsynced as long as the test needs
    const release = fake.holdLists("services");
    src = await live(fake);
    await until(
      () => pending().length === 1 && fake.heldLists("services") > 0,
      "everything but services listed, services asked for",
      pending,
    );
    expect(src.view().synced).to.equal(false);
    expect(pending()).to.deep.equal(["services not listed yet"]);
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
    release();
    await synced();
    expect(judge(kv, src.view(), { object: pool("new", ["10.0.8.0/24"]) }).allowed).to.equal(true);
  });

  it("re-lists pools with a consistent read before a pool decision", async () => {
    // a budget no loaded machine runs out of: this test is about the re-list, not its deadline
    const c = captured();
    src = await live(fake, undefined, { log: c.log, poolRelistMs: 15_000 });
    await synced();
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
    const fresh = await src.view().freshPools!(Date.now() + 20_000, req.uid);
    expect(c.lines.filter((l) => /deciding from the cache/.test(l.msg))).to.deep.equal([]);
    expect(fresh).to.not.equal(undefined);
    const relist = fake.requests
      .slice(n)
      .find((r) => r.path === "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools" && !r.query.watch);
    expect(relist!.query.resourceVersion).to.equal(undefined); // not resourceVersion=0: etcd, not the cache
    expect(judge(kv, fresh!, { object: pool("new", ["10.0.8.0/25"]) }).message).to.match(
      /overlaps 10\.0\.8\.0\/24 of IPAddressPool metallb-system\/racing/,
    );
    // no re-list for other kinds
    expect(freshNeeded({ ...req, kind: { group: "", version: "v1", kind: "Service" } }, kv)).to.equal(undefined);
    expect(freshNeeded(req, kv)).to.equal("pools");
  });

  it("falls back to the cache when the re-list would pass the deadline", async () => {
    const c = captured();
    src = await live(fake, undefined, { log: c.log });
    await synced();
    // the re-list gets no answer at all: only the deadline can end it
    const release = fake.holdLists("ipaddresspools");
    const lists = () => fake.requests.filter((r) => r.path.endsWith("/ipaddresspools") && !r.query.watch).length;
    const before = lists();
    const req = {
      uid: "u",
      kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
      operation: "CREATE" as const,
      object: pool("new", ["10.0.8.0/25"]),
    };
    const fallbacks = () => c.lines.filter((l) => l.uid === "u").map((l) => [l.level, l.msg]);
    // time for a re-list: it is sent, the deadline passes, the decision comes from the cache
    expect(await src.view().freshPools!(Date.now() + 600, req.uid)).to.equal(undefined);
    expect(lists()).to.equal(before + 1);
    expect(fake.heldLists("ipaddresspools")).to.equal(1); // it never answered
    expect(fallbacks()).to.deep.equal([[40, "pool re-list failed; deciding from the cache"]]);
    // no time at all: straight to the cache, without asking the API server
    expect(src.view().freshPools!(Date.now() + 20, req.uid)).to.equal(undefined);
    expect(lists()).to.equal(before + 1);
    expect(fallbacks()).to.deep.equal([
      [40, "pool re-list failed; deciding from the cache"],
      [40, "no time left to re-list pools; deciding from the cache"],
    ]);
    release();
  });

  it("follows a policy change: pools are watched in the new MetalLB namespace", async () => {
    let p = kv;
    src = await live(fake, () => p);
    await synced();
    fake.apply({ ...pool("elsewhere", ["10.0.13.0/24"]), metadata: { name: "elsewhere", namespace: "lb" } });
    p = policy(KUBEVIP_NULL, (d) => (d.spec.providers.metallb.namespace = "lb"));
    src.reconcile();
    await until(
      () => !!src!.view().pool("lb", "elsewhere") && !src!.view().pool("metallb-system", "default"),
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
      const readyz = () => rawRequest(s.port, ca, "GET", "/readyz");
      let last: Awaited<ReturnType<typeof readyz>> | undefined;
      // the other informers list at their own pace: wait until only the missing CRD holds readiness back
      const r1 = await waitFor(
        async () => {
          last = await readyz();
          return last.text === `not ready: cluster state not synced: ${NO_CRD}\n` ? last : undefined;
        },
        { what: "/readyz to name only the missing CRD", state: () => last && [last.status, last.text] },
      );
      expect(r1.status).to.equal(503);
      fake.crds.add("ipaddresspools.metallb.io");
      const r2 = await waitFor(
        async () => {
          last = await readyz();
          return last.status === 200 ? last : undefined;
        },
        { what: "/readyz 200 after the CRD appears", state: () => last && [last.status, last.text] },
      );
      expect(r2.text).to.equal("ok\n");
    } finally {
      await s.stop();
      await fake.stop();
    }
  });
});
