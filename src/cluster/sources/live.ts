/**
 * The live source: one informer (client-node ListWatch) per resource the view
 * needs, feeding one MemoryView incrementally. Objects are slimmed before the
 * informer caches them. A watch that fails stops its informer (client-node
 * 1.x): it is restarted here with capped exponential backoff; a 410 Gone makes
 * the informer relist by itself. Readiness waits until every informer has
 * listed once; a missing MetalLB CRD is reported and retried until it appears.
 */
import { KubeConfig, KubernetesObject, ListWatch } from "@kubernetes/client-node";
import type { ViewSource } from "../source.js";
import type { Logger } from "../../observability/logger.js";
import type { Metrics } from "../../observability/metrics.js";
import type { Policy } from "../../policy/policy.js";
import type { KubeObject } from "../records.js";
import { slimConfigMap, slimNamespace, slimPod, slimPool, slimService, slimWorkload } from "../slim.js";
import { ClusterView, MemoryView } from "../view.js";
import { ApiError, listAll, loadKubeConfig, SlimWatch } from "./kube.js";
import { PoolOverlayView } from "./overlay.js";
import { collectGarbage } from "../../util/gc.js";

export interface LiveOptions {
  kubeconfig?: string;
  /** a ready KubeConfig (tests) */
  kc?: KubeConfig;
  policy(): Policy;
  /** subscribe to policy reloads (resources depend on the policy) */
  onPolicyChange?(cb: () => void): void;
  log: Logger;
  metrics?: Metrics;
  backoff?: { initialMs: number; maxMs: number };
  /** upper bound for the pool re-list before a pool decision */
  poolRelistMs?: number;
  /** called when a resource has listed for the first time */
  onSynced?(): void;
  /** sees every object whole before it is slimmed, and every deletion (the background audit's facts) */
  observer?: ObjectObserver;
}

/**
 * Sees the objects the informers receive, whole, as the view takes them:
 * `add` with the object as listed or watched and its slim form (which
 * carries kind and apiVersion: built-in list items have none), `kept`
 * whether the view holds a record of it; `remove` when the informer drops it
 * (a DELETED event, a relist that no longer has it, a resource no longer
 * watched). The background audit derives its facts here instead of listing
 * (docs/architecture.md "The background audit").
 */
export interface ObjectObserver {
  add(raw: KubeObject, slim: KubeObject, kept: boolean): void;
  remove(o: KubeObject): void;
}

export interface ResourceSpec {
  /** metric label and readiness key */
  key: string;
  path: string;
  fieldSelector?: string;
  slim(o: KubeObject): KubeObject;
  /**
   * Whether the view has a use for a slimmed object. Without it every object
   * is held (as a stub) by the informer; with it, the others are not held at
   * all: they are left out of lists, and a watch event for one becomes a
   * BOOKMARK (its resourceVersion still counts), or a DELETED when the
   * informer held the object before (it no longer qualifies).
   */
  keeps?(slim: KubeObject): boolean;
  /** a custom resource whose CRD may be missing */
  crd?: string;
}

/** The resources a policy needs watched. */
export function resourcesFor(policy: Policy): ResourceSpec[] {
  const out: ResourceSpec[] = [
    { key: "namespaces", path: "/api/v1/namespaces", slim: slimNamespace },
    { key: "services", path: "/api/v1/services", slim: slimService },
    { key: "daemonsets", path: "/apis/apps/v1/daemonsets", slim: slimWorkload("DaemonSet") },
    { key: "deployments", path: "/apis/apps/v1/deployments", slim: slimWorkload("Deployment") },
    { key: "statefulsets", path: "/apis/apps/v1/statefulsets", slim: slimWorkload("StatefulSet") },
  ];
  const m = policy.metallb;
  if (m)
    out.push({
      key: "ipaddresspools",
      path: `/apis/metallb.io/v1beta1/namespaces/${m.namespace}/ipaddresspools`,
      slim: slimPool,
      crd: "ipaddresspools.metallb.io",
    });
  const cm = policy.kubeVip?.configMap;
  if (cm)
    out.push({
      key: "configmap",
      path: `/api/v1/namespaces/${cm.namespace}/configmaps`,
      fieldSelector: `metadata.name=${cm.name}`,
      slim: slimConfigMap,
    });
  // kube-vip can run as a Pod in any namespace and under any owner (a tenant's Pod, a Job, a
  // ReplicaSet): every Pod is watched. No label or field selector singles out kube-vip images, so
  // the slim function keeps nothing of a Pod without a kube-vip container (it has no spec), and
  // the informer does not hold such a Pod at all (BENCHMARKS.md "Memory of the live source").
  out.push({ key: "pods", path: "/api/v1/pods", slim: slimPod, keeps: (o) => o.spec !== undefined });
  return out;
}

/**
 * What the informer caches per object: only what ListWatch itself reads
 * (name, namespace, resourceVersion: relist diffs and change detection), so
 * 100k objects are not held twice. `full` carries the slim object to the view
 * once and is then dropped.
 */
interface Stub extends KubernetesObject {
  full?: KubeObject;
  /** the object as received, for the observer (dropped with `full`) */
  raw?: KubeObject;
}

function stub(o: KubeObject, carry = true): Stub {
  const m = o.metadata as { name?: string; namespace?: string; resourceVersion?: string };
  return {
    apiVersion: o.apiVersion as string,
    kind: o.kind as string,
    metadata:
      m.namespace === undefined
        ? { name: m.name, resourceVersion: m.resourceVersion }
        : { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion },
    full: carry ? o : undefined,
  };
}

/**
 * Objects listed since the last forced collection. Before the first sync,
 * one full collection every GC_EVERY listed objects: each page leaves its
 * text and parsed objects behind, and V8 lets that garbage grow the heap to
 * about twice the live data before collecting it (BENCHMARKS.md "Memory of
 * the live source"). After the sync a relist is left to V8: a forced
 * collection would pause the reviews being answered.
 */
let listedSinceGC = 0;
const GC_EVERY = 25_000;

function specId(s: ResourceSpec): string {
  return `${s.path}?${s.fieldSelector ?? ""}`;
}

class Reflector {
  private informer: ListWatch<KubernetesObject>;
  private timer?: NodeJS.Timeout;
  private attempts = 0;
  private stopped = false;
  synced = false;

  constructor(
    readonly spec: ResourceSpec,
    private readonly kc: KubeConfig,
    private readonly view: MemoryView,
    private readonly o: LiveOptions,
  ) {
    // Watch events reach the view through the informer's callbacks (a DELETED
    // event must not be applied); list pages go into the view as they arrive,
    // so a 100k-object list never sits in memory whole, and the informer gets
    // stubs only (it still computes the deletions of a relist from them).
    const observer = o.observer;
    const watch = new SlimWatch(
      kc,
      (o) => {
        const s = stub(spec.slim(o));
        if (observer) s.raw = o;
        return s;
      },
      () => this.listed(),
      spec.keeps ? (phase, s) => this.route(phase, s) : undefined,
    );
    const list = () =>
      listAll(
        kc,
        spec.path,
        (o) => {
          // applied even when the view has no use for it: a relist drops what no longer qualifies
          const full = spec.slim(o);
          const rec = this.view.apply(full);
          observer?.add(o, full, rec !== undefined);
          if (++listedSinceGC >= GC_EVERY && !this.view.synced) {
            listedSinceGC = 0;
            collectGarbage();
          }
          return spec.keeps && !spec.keeps(full) ? undefined : stub(full, false);
        },
        { fieldSelector: spec.fieldSelector },
      );
    this.informer = new ListWatch<KubernetesObject>(
      spec.path,
      watch as never,
      list as never,
      false,
      undefined,
      spec.fieldSelector,
    );
    this.informer.on("add", (obj) => this.keep(obj));
    this.informer.on("update", (obj) => this.keep(obj));
    this.informer.on("delete", (obj) => this.drop(obj as KubeObject));
    this.informer.on("error", (err) => this.failed(err));
    this.view.setPending(spec.key, `${spec.key} not listed yet`);
    o.metrics?.cacheSynced.labels(spec.key).set(0);
  }

  /**
   * A watch event for an object the view has no use for: the informer does
   * not hold it. It becomes a BOOKMARK (the informer resumes from its
   * resourceVersion), or a DELETED when the informer held it (it qualified
   * before: the view drops it). What the informer does with each:
   * docs/controllers.md N1.
   */
  private route(phase: string, s: Stub): [string, unknown] {
    if (phase === "DELETED" || !s.full || this.spec.keeps!(s.full)) return [phase, s];
    const m = s.metadata!;
    if (this.informer.get(m.name!, m.namespace)) return ["DELETED", s];
    return ["BOOKMARK", { metadata: { resourceVersion: m.resourceVersion } }];
  }

  /** The view takes the full slim object once; the informer's cache keeps only the stub. */
  private keep(obj: KubernetesObject): void {
    const s = obj as Stub;
    if (s.full) {
      const rec = this.view.apply(s.full);
      if (s.raw) this.o.observer?.add(s.raw, s.full, rec !== undefined);
      s.full = undefined;
      s.raw = undefined;
    }
  }

  get held(): number {
    return this.informer.list().length;
  }

  private drop(o: KubeObject): void {
    this.view.remove(o);
    this.o.observer?.remove(o);
  }

  start(): void {
    this.stopped = false;
    this.informer.start().catch((e) => this.failed(e));
  }

  /** ListWatch opens a watch only after a successful list: the state is complete. */
  private listed(): void {
    this.attempts = 0;
    if (!this.synced) {
      this.synced = true;
      this.view.setPending(this.spec.key, undefined);
      this.o.metrics?.cacheSynced.labels(this.spec.key).set(1);
      this.o.log.info({ resource: this.spec.key }, "cluster state synced");
      this.o.onSynced?.();
    }
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const status = err instanceof ApiError ? err.statusCode : ((err as { statusCode?: number })?.statusCode ?? 0);
    const msg = (err as Error)?.message ?? String(err);
    if (status === 404 && this.spec.crd) {
      const why = `MetalLB is not installed: CRD ${this.spec.crd} not found; retrying`;
      if (!this.synced) this.view.setPending(this.spec.key, why);
      this.o.log.warn({ resource: this.spec.key }, why);
    } else {
      if (!this.synced) this.view.setPending(this.spec.key, `${this.spec.key}: ${msg}; retrying`);
      (this.attempts ? this.o.log.debug : this.o.log.warn).call(
        this.o.log,
        { resource: this.spec.key, err: msg, status },
        "watch failed; restarting",
      );
    }
    const b = this.o.backoff ?? { initialMs: 250, maxMs: 5000 };
    const delay = Math.min(b.maxMs, b.initialMs * 2 ** this.attempts) * (0.8 + Math.random() * 0.4);
    this.attempts = Math.min(this.attempts + 1, 16);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), delay);
    this.timer.unref();
  }

  stop(removeFromView: boolean): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.informer.stop().catch(() => undefined);
    if (removeFromView) {
      for (const o of this.informer.list()) this.drop(o as KubeObject);
      this.view.setPending(this.spec.key, undefined);
      this.o.metrics?.cacheSynced.remove(this.spec.key);
    }
  }
}

export class LiveSource implements ViewSource {
  readonly memory = new MemoryView();
  private readonly reflectors = new Map<string, Reflector>();

  constructor(
    readonly kc: KubeConfig,
    private readonly o: LiveOptions,
  ) {
    // the view's capability: a consistent re-list of the pools before a pool decision
    this.memory.freshPools = (deadline, uid) => this.relistPools(deadline, uid);
  }

  /** Start or stop informers so they match what the policy needs. */
  reconcile(): void {
    const want = new Map(resourcesFor(this.o.policy()).map((s) => [specId(s), s]));
    for (const [id, r] of this.reflectors) {
      if (!want.has(id)) {
        r.stop(true);
        this.reflectors.delete(id);
        this.o.log.info({ resource: r.spec.key }, "no longer watched (policy changed)");
      }
    }
    for (const [id, s] of want) {
      if (this.reflectors.has(id)) continue;
      const r = new Reflector(s, this.kc, this.memory, this.o);
      this.reflectors.set(id, r);
      r.start();
    }
  }

  view(): ClusterView {
    return this.memory;
  }

  /** How many objects the informer of a resource holds (tests, benchmarks). */
  held(key: string): number {
    for (const r of this.reflectors.values()) if (r.spec.key === key) return r.held;
    return 0;
  }

  /**
   * Before a pool CREATE/UPDATE: re-list the pools from the API server with a
   * consistent read (as MetalLB's webhook does) to narrow the race between two
   * concurrent creates. Abandoned for the cache when it would run past the
   * review's deadline.
   */
  relistPools = (deadline: number, uid?: string): Promise<ClusterView | undefined> | undefined => {
    const m = this.o.policy().metallb;
    if (!m || !this.memory.synced) return undefined;
    const budget = Math.min(this.o.poolRelistMs ?? 2000, deadline - Date.now() - 50);
    if (budget < 50) {
      this.o.log.warn({ uid }, "no time left to re-list pools; deciding from the cache");
      return undefined;
    }
    const until = Date.now() + budget;
    const relist = listAll(this.kc, `/apis/metallb.io/v1beta1/namespaces/${m.namespace}/ipaddresspools`, slimPool, {
      timeoutMs: budget,
      abandon: () => Date.now() > until,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pool re-list took over ${budget} ms`)), budget);
    });
    return Promise.race([relist, timeout]).then(
      (list) => {
        clearTimeout(timer);
        const fresh = new MemoryView();
        for (const p of list.items) fresh.apply(p);
        return new PoolOverlayView(this.memory, fresh);
      },
      (e) => {
        clearTimeout(timer);
        this.o.log.warn({ uid, err: (e as Error).message }, "pool re-list failed; deciding from the cache");
        return undefined;
      },
    );
  };

  close(): void {
    for (const r of this.reflectors.values()) r.stop(false);
    this.reflectors.clear();
  }
}

export async function startLiveSource(o: LiveOptions): Promise<LiveSource> {
  const kc = o.kc ?? loadKubeConfig(o.kubeconfig);
  const opts: LiveOptions = {
    ...o,
    onSynced: () => {
      o.onSynced?.();
      if (!src.memory.synced) return;
      src.memory.settle();
      // the first full list leaves a burst of garbage: collect it once everything is in
      if (collectGarbage()) o.log.debug("collected the garbage of the initial lists");
    },
  };
  const src = new LiveSource(kc, opts);
  src.reconcile();
  o.onPolicyChange?.(() => src.reconcile());
  o.log.info(
    { server: kc.getCurrentCluster()?.server, resources: resourcesFor(o.policy()).map((r) => r.key) },
    "watching the cluster",
  );
  return src;
}
