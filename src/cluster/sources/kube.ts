/**
 * Lists and watches for the informers: paginated raw-JSON lists (no typed
 * deserialisation of 100k objects) and a Watch whose events are slimmed
 * before the informer's cache keeps them.
 */
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { getJSON } from "../../k8s/api.js";
import type { KubeObject } from "../records.js";

export { ApiError, loadKubeConfig } from "../../k8s/api.js";

export interface ListOptions {
  fieldSelector?: string;
  pageSize?: number;
  timeoutMs?: number;
  /** stop paging once this returns true (a deadline passed) */
  abandon?: () => boolean;
}

/**
 * A consistent list (no resourceVersion=0, so the API server reads etcd),
 * page by page; each page's items are slimmed at once so a 100k-object list
 * never sits in memory whole. An item `slim` turns into undefined is left out.
 */
export async function listAll<T = KubeObject>(
  kc: KubeConfig,
  path: string,
  slim: (o: KubeObject) => T | undefined,
  o: ListOptions = {},
): Promise<{ metadata: { resourceVersion: string }; items: T[] }> {
  const items: T[] = [];
  let cont = "";
  let rv = "";
  do {
    if (o.abandon?.()) throw new Error(`list ${path} abandoned at its deadline`);
    const q = new URLSearchParams({ limit: String(o.pageSize ?? 500) });
    if (cont) q.set("continue", cont);
    if (o.fieldSelector) q.set("fieldSelector", o.fieldSelector);
    const page = await getJSON(kc, `${path}?${q}`, o.timeoutMs ?? 30_000);
    for (const it of page.items ?? []) {
      const s = slim(it);
      if (s !== undefined) items.push(s);
    }
    rv = page.metadata?.resourceVersion ?? rv;
    cont = page.metadata?.continue ?? "";
  } while (cont);
  return { metadata: { resourceVersion: rv }, items };
}

/** What the informer gets for one watch event: its phase and object, possibly rewritten. */
export type Route<T> = (phase: string, obj: T) => [phase: string, obj: unknown];

/**
 * A Watch for ListWatch that asks for bookmarks and slims every object
 * before the informer sees (and caches) it; `onWatch` tells the owner a watch
 * is about to start, which ListWatch only does after a successful list.
 * `route`, when given, may rewrite a slimmed ADDED/MODIFIED/DELETED event
 * before the informer sees it.
 */
export class SlimWatch<T = KubeObject> {
  private readonly inner: Watch;
  constructor(
    kc: KubeConfig,
    private readonly slim: (o: KubeObject) => T,
    private readonly onWatch: () => void,
    private readonly route?: Route<T>,
  ) {
    this.inner = new Watch(kc);
  }

  watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: (phase: string, obj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    this.onWatch();
    return this.inner.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, obj, w) => {
        if (phase === "ERROR" || phase === "BOOKMARK" || !obj) return callback(phase, obj, w);
        const slim = this.slim(obj);
        if (!this.route) return callback(phase, slim, w);
        const [p, o] = this.route(phase, slim);
        callback(p, o, w);
      },
      done,
    );
  }
}
