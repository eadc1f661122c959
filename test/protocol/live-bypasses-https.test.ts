/**
 * Tenant bypass 6 over real HTTPS: kube-vip the live view could not see. The
 * real CLI, `lbguard serve --kubeconfig`, runs as its own process against the
 * fake API server (test/fake) and is asked as kube-apiserver asks (its
 * certificate checked against the CA bundle for the Service DNS name, the
 * mutating webhook's patch applied before the validating webhook). Three
 * running kube-vip Pods, each binding a control-plane VIP and taking Services
 * of a class of its own: a bare Pod in a tenant namespace (listed at start),
 * a Pod owned by a Job and one owned by a ReplicaSet (both in kube-system,
 * delivered by the watch once lbguard is ready). For each, a MetalLB pool over
 * its VIP and a kube-vip DaemonSet clashing with it are refused, with the
 * exact message; the rule ids are read from the decision's log line.
 */
import { expect } from "chai";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import type { KubeObject } from "../../src/cluster/records.js";
import { FakeApiServer } from "../fake/apiserver.js";
import { CLUSTER, objects } from "../helpers/cluster.js";
import { judgeHttps, type Judgement } from "../helpers/judge.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import type { ReqOpts } from "../helpers/review.js";
import { liveServe, request, spawnServe } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";
import { pool } from "../rules/pool-cases.js";
import { container, ds } from "../rules/workload-cases.js";

/** kube-vip binding `vip` as the control-plane VIP and taking Services of class `cls` only */
const kubeVipEnv = (vip: string, cls: string) => ({
  vip_arp: "true",
  cp_enable: "true",
  address: vip,
  svc_enable: "true",
  lb_class_only: "true",
  lb_class_name: cls,
});

function kubeVipPod(ns: string, name: string, env: Record<string, string>, meta: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, ...meta },
    spec: { nodeName: "worker-1", hostNetwork: true, containers: [container(env)] },
  } as KubeObject;
}

const owner = (apiVersion: string, kind: string, name: string) => ({
  ownerReferences: [{ apiVersion, kind, name, controller: true, blockOwnerDeletion: true, uid: `uid-${name}` }],
});

interface PodCase {
  what: string;
  pod: KubeObject;
  vip: string;
  cls: string;
  /** listed at start, or delivered by the watch after lbguard is ready */
  delivered: "list" | "watch";
  poolDenial: string;
  clashDenial: string;
}

const CASES: PodCase[] = [
  {
    what: "a bare kube-vip Pod in a tenant namespace",
    pod: kubeVipPod("shop", "kv-tenant", kubeVipEnv("10.0.8.50", "example.com/tenant")),
    vip: "10.0.8.50",
    cls: "example.com/tenant",
    delivered: "list",
    poolDenial:
      "IPAddressPool metallb-system/over-tenant: 10.0.8.50/32 overlaps 10.0.8.50, the kube-vip control-plane VIP (Pod shop/kv-tenant); MetalLB would hand out addresses kube-vip uses",
    clashDenial:
      'DaemonSet kube-system/clash-tenant and Pod shop/kv-tenant both take Services of class "example.com/tenant" via lease kube-system/mine vs lease shop/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
  {
    what: "a kube-vip Pod owned by a Job",
    pod: kubeVipPod(
      "kube-system",
      "kv-job-7x2kq",
      kubeVipEnv("10.0.8.60", "example.com/job"),
      owner("batch/v1", "Job", "kv-job"),
    ),
    vip: "10.0.8.60",
    cls: "example.com/job",
    delivered: "watch",
    poolDenial:
      "IPAddressPool metallb-system/over-job: 10.0.8.60/32 overlaps 10.0.8.60, the kube-vip control-plane VIP (Pod kube-system/kv-job-7x2kq); MetalLB would hand out addresses kube-vip uses",
    clashDenial:
      'DaemonSet kube-system/clash-job and Pod kube-system/kv-job-7x2kq both take Services of class "example.com/job" via lease kube-system/mine vs lease kube-system/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
  {
    what: "a kube-vip Pod owned by a ReplicaSet",
    pod: kubeVipPod("kube-system", "kv-rs-5d8f9c7b6-q4wzt", kubeVipEnv("10.0.8.70", "example.com/rs"), {
      labels: { "pod-template-hash": "5d8f9c7b6" },
      ...owner("apps/v1", "ReplicaSet", "kv-rs-5d8f9c7b6"),
    }),
    vip: "10.0.8.70",
    cls: "example.com/rs",
    delivered: "watch",
    poolDenial:
      "IPAddressPool metallb-system/over-rs: 10.0.8.70/32 overlaps 10.0.8.70, the kube-vip control-plane VIP (Pod kube-system/kv-rs-5d8f9c7b6-q4wzt); MetalLB would hand out addresses kube-vip uses",
    clashDenial:
      'DaemonSet kube-system/clash-rs and Pod kube-system/kv-rs-5d8f9c7b6-q4wzt both take Services of class "example.com/rs" via lease kube-system/mine vs lease kube-system/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
];

describe("protocol: kube-vip Pods of any namespace and owner, through serve --kubeconfig over HTTPS", function () {
  this.timeout(60_000);
  let fake: FakeApiServer;
  let child: ChildProcessWithoutNullStreams;
  let output: () => string;
  let post: (path: string, body: string) => ReturnType<typeof request>;

  before(async () => {
    fake = new FakeApiServer();
    fake.bookmarkMs = 200;
    for (const o of objects(CLUSTER)) fake.apply(o);
    for (const c of CASES) if (c.delivered === "list") fake.apply(c.pod);
    await fake.start();
    const { args, ca } = liveServe(fake.kubeconfig(), KUBEVIP_NULL, "lbguard-live-https-");
    const s = await spawnServe(args);
    child = s.child;
    output = s.output;
    post = (path, body) => request(s.port, ca, "POST", path, body, { "Content-Type": "application/json" });
    let last: Awaited<ReturnType<typeof request>> | undefined;
    await waitFor(
      async () => {
        last = await request(s.port, ca, "GET", "/readyz");
        return last.status === 200;
      },
      { what: "/readyz 200 (every informer listed)", state: () => last && [last.status, last.text] },
    );
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await fake?.stop();
  });

  /** The rule ids of the validating webhook's decision on `name`, from lbguard's JSON log line. */
  function loggedRules(kind: string, name: string): string[] | undefined {
    for (const line of output().split("\n")) {
      if (!line.startsWith("{")) continue;
      const l = JSON.parse(line);
      if (l.webhook === "validate" && l.kind === kind && l.object === name) return l.rules;
    }
    return undefined;
  }

  async function judged(o: ReqOpts): Promise<Judgement & { logged?: string[] }> {
    const j = await judgeHttps(post, o);
    const obj = o.object!;
    if (j.allowed) return j;
    // the log line is written before the answer leaves, but reaches this process's pipe on its own time
    const logged = await waitFor(() => loggedRules(String(obj.kind), String(obj.metadata!.name)), {
      what: `the log line of the decision on ${obj.kind} ${obj.metadata!.name}`,
    });
    return { ...j, logged };
  }

  const short = (c: PodCase) => c.cls.slice("example.com/".length);
  const overVip = (c: PodCase, suffix = "") => ({ object: pool(`over-${short(c)}${suffix}`, [`${c.vip}/32`]) });
  const clashing = (c: PodCase, suffix = "") => ({
    object: ds(`clash-${short(c)}${suffix}`, {
      vip_arp: "true",
      svc_enable: "true",
      lb_class_only: "true",
      lb_class_name: c.cls,
      svc_leasename: "mine",
    }),
  });

  for (const c of CASES) {
    it(`${c.what} (${c.delivered === "list" ? "listed at start" : "added after the sync"}): a pool over its VIP and a clashing DaemonSet are refused`, async () => {
      if (c.delivered === "watch") {
        // not in the cluster yet: both are allowed, so the refusals below come from the Pod
        expect((await judged(overVip(c, "-before"))).allowed).to.equal(true);
        expect((await judged(clashing(c, "-before"))).allowed).to.equal(true);
        fake.apply(c.pod);
        await waitFor(async () => !(await judgeHttps(post, overVip(c, "-probe"))).allowed, {
          what: `the watch to deliver ${c.pod.metadata!.namespace}/${c.pod.metadata!.name}`,
        });
      }
      const p = await judged(overVip(c));
      expect(p.allowed, p.message).to.equal(false);
      expect(p.message).to.equal(c.poolDenial);
      expect(p.logged).to.deep.equal(["pool.kube-vip"]);

      const d = await judged(clashing(c));
      expect(d.allowed, d.message).to.equal(false);
      expect(d.message).to.equal(c.clashDenial);
      expect(d.logged).to.deep.equal(["kube-vip.lease-clash"]);
    });
  }
});
