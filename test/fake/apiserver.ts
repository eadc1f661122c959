/**
 * A small kube-apiserver stand-in that speaks the real list/watch protocol
 * over HTTP, for testing the live source without a cluster:
 * - one global, increasing resourceVersion (like etcd's revision);
 * - lists with limit/continue over a consistent snapshot, fieldSelector on
 *   metadata.name/namespace, items without kind/apiVersion for built-in types;
 * - watches from a resourceVersion: replay of later events, then live
 *   ADDED/MODIFIED/DELETED lines, BOOKMARKs when asked for, and a 410 Gone
 *   (an ERROR event with a Status, then the end of the stream) for a
 *   resourceVersion older than the last compaction;
 * - faults on demand: dropped connections, a restart, a missing CRD, slow lists.
 * What a real API server adds is listed in the README ("Testing").
 */
import jsonpatch from "fast-json-patch";
import { randomUUID } from "node:crypto";
import http, { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

type Obj = Record<string, any>;

interface Resource {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  crd?: string;
}

export const RESOURCES: Resource[] = [
  { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false },
  { group: "", version: "v1", resource: "services", kind: "Service", namespaced: true },
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true },
  { group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true },
  { group: "apps", version: "v1", resource: "daemonsets", kind: "DaemonSet", namespaced: true },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment", namespaced: true },
  { group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", namespaced: true },
  {
    group: "metallb.io",
    version: "v1beta1",
    resource: "ipaddresspools",
    kind: "IPAddressPool",
    namespaced: true,
    crd: "ipaddresspools.metallb.io",
  },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true },
  {
    group: "admissionregistration.k8s.io",
    version: "v1",
    resource: "mutatingwebhookconfigurations",
    kind: "MutatingWebhookConfiguration",
    namespaced: false,
  },
  {
    group: "admissionregistration.k8s.io",
    version: "v1",
    resource: "validatingwebhookconfigurations",
    kind: "ValidatingWebhookConfiguration",
    namespaced: false,
  },
];

interface Event {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  res: Resource;
  object: Obj;
}

interface Watcher {
  res: Resource;
  ns?: string;
  name?: string;
  res_: ServerResponse;
  bookmark?: NodeJS.Timeout;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
}

function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

export class FakeApiServer {
  private rv = 100;
  private compactedRV = 0;
  private readonly store = new Map<string, Map<string, Obj>>(); // resource → ns/name → object
  private events: Event[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly snapshots = new Map<string, Obj[]>();
  private server?: http.Server;
  readonly crds = new Set<string>(["ipaddresspools.metallb.io"]);
  readonly requests: RequestRecord[] = [];
  listDelayMs: Record<string, number> = {};
  private readonly held = new Map<string, (() => void)[]>(); // resource → lists waiting for release
  /** how often BOOKMARKs go out to watches that asked for them */
  bookmarkMs = 500;
  port = 0;

  constructor(private readonly recordRequests = true) {
    for (const r of RESOURCES) this.store.set(r.resource, new Map());
  }

  // ---- lifecycle ---------------------------------------------------------------

  async start(port = 0): Promise<number> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Stop listening and cut every connection (an API server going away). */
  async stop(): Promise<void> {
    for (const w of this.watchers) clearInterval(w.bookmark);
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  /** An API server restart: down for `downMs`, then back on the same port with the same data. */
  async restart(downMs = 300): Promise<void> {
    const port = this.port;
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start(port);
  }

  /** Reset every open watch connection (what a load balancer or network blip does). */
  dropWatches(): number {
    let n = 0;
    for (const w of [...this.watchers]) {
      clearInterval(w.bookmark);
      this.watchers.delete(w);
      w.res_.socket?.destroy();
      n++;
    }
    return n;
  }

  /**
   * Lists of `resource` (e.g. "services") get no answer until the returned
   * function is called: a slow API server whose slowness does not depend on
   * the clock, so a test sees the state "not listed yet" for as long as it
   * needs. Releasing answers the waiting lists from the data as it is then.
   */
  holdLists(resource: string): () => void {
    if (!RESOURCES.some((r) => r.resource === resource)) throw new Error(`fake apiserver does not serve ${resource}`);
    if (!this.held.has(resource)) this.held.set(resource, []);
    return () => {
      const waiting = this.held.get(resource) ?? [];
      this.held.delete(resource);
      for (const answer of waiting) answer();
    };
  }

  /** How many lists of `resource` wait on a hold now. */
  heldLists(resource: string): number {
    return this.held.get(resource)?.length ?? 0;
  }

  /** Forget the event history: watches from an older resourceVersion now get 410 Gone. */
  compact(): void {
    this.compactedRV = this.rv;
    this.events = [];
  }

  kubeconfig(): string {
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: fake\n  cluster:\n    server: http://127.0.0.1:${this.port}\n    insecure-skip-tls-verify: true`,
      "users:",
      "- name: lbguard\n  user:\n    token: fake-token",
      "contexts:",
      "- name: fake\n  context:\n    cluster: fake\n    user: lbguard",
      "current-context: fake",
      "",
    ].join("\n");
  }

  // ---- data --------------------------------------------------------------------

  private resourceOf(kind: string): Resource {
    const r = RESOURCES.find((x) => x.kind === kind);
    if (!r) throw new Error(`fake apiserver does not serve kind ${kind}`);
    return r;
  }

  private key(o: Obj): string {
    return `${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
  }

  /** Create or replace an object (ADDED or MODIFIED). */
  apply(o: Obj): Obj {
    const res = this.resourceOf(o.kind);
    const m = this.store.get(res.resource)!;
    const k = this.key(o);
    const prev = m.get(k);
    const obj = structuredClone(o);
    obj.apiVersion = apiVersionOf(res);
    obj.metadata = { ...obj.metadata, uid: prev?.metadata.uid ?? randomUUID(), resourceVersion: String(++this.rv) };
    if (!res.namespaced) delete obj.metadata.namespace;
    m.set(k, obj);
    this.emit({ rv: this.rv, type: prev ? "MODIFIED" : "ADDED", res, object: obj });
    return obj;
  }

  /** Load many objects quickly (benchmarks): no events, one resourceVersion each. */
  load(objects: Iterable<Obj>): void {
    for (const o of objects) {
      const res = this.resourceOf(o.kind);
      const obj = {
        ...o,
        apiVersion: apiVersionOf(res),
        metadata: { ...o.metadata, uid: randomUUID(), resourceVersion: String(++this.rv) },
      };
      this.store.get(res.resource)!.set(this.key(obj), obj);
    }
    this.compactedRV = this.rv;
  }

  delete(o: Obj): boolean {
    const res = this.resourceOf(o.kind);
    const m = this.store.get(res.resource)!;
    const k = this.key(o);
    const prev = m.get(k);
    if (!prev) return false;
    m.delete(k);
    const obj = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(++this.rv) } };
    this.emit({ rv: this.rv, type: "DELETED", res, object: obj });
    return true;
  }

  private emit(e: Event): void {
    this.events.push(e);
    for (const w of this.watchers)
      if (this.matches(w, e.res, e.object)) this.send(w.res_, { type: e.type, object: e.object });
  }

  private matches(w: { res: Resource; ns?: string; name?: string }, res: Resource, o: Obj): boolean {
    return w.res === res && (!w.ns || o.metadata?.namespace === w.ns) && (!w.name || o.metadata?.name === w.name);
  }

  private send(res: ServerResponse, ev: Obj): void {
    if (!res.writableEnded) res.write(JSON.stringify(ev) + "\n");
  }

  // ---- HTTP ----------------------------------------------------------------------

  private json(res: ServerResponse, code: number, body: Obj): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }

  private route(path: string): { res: Resource; ns?: string; name?: string } | undefined {
    let m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const res = RESOURCES.find((r) => r.group === "" && r.resource === m![2]);
      return res && (!m[1] || res.namespaced) ? { res, ns: m[1], name: m[3] } : undefined;
    }
    m = /^\/apis\/([^/]+)\/([^/]+)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const res = RESOURCES.find((r) => r.group === m![1] && r.version === m![2] && r.resource === m![4]);
      return res && (!m[3] || res.namespaced) ? { res, ns: m[3], name: m[5] } : undefined;
    }
    return undefined;
  }

  /** GET, PUT and PATCH of one object; POST to a collection. */
  private write(
    req: IncomingMessage,
    res: ServerResponse,
    r: { res: Resource; ns?: string; name?: string },
    body: string,
  ): void {
    const m = this.store.get(r.res.resource)!;
    const key = `${r.ns ?? ""}/${r.name ?? ""}`;
    const cur = m.get(key);
    const notFound = () => this.json(res, 404, status(404, "NotFound", `${r.res.resource} "${r.name}" not found`));
    let obj: Obj;
    try {
      obj = body ? JSON.parse(body) : {};
    } catch {
      return this.json(res, 400, status(400, "BadRequest", "invalid JSON"));
    }
    switch (req.method) {
      case "GET":
        return cur ? this.json(res, 200, cur) : notFound();
      case "POST": {
        const k = `${r.ns ?? ""}/${obj.metadata?.name}`;
        if (m.has(k))
          return this.json(
            res,
            409,
            status(409, "AlreadyExists", `${r.res.resource} "${obj.metadata?.name}" already exists`),
          );
        return this.json(
          res,
          201,
          this.apply({ ...obj, kind: r.res.kind, metadata: { ...obj.metadata, namespace: r.ns } }),
        );
      }
      case "PUT":
        if (!cur) return notFound();
        if (obj.metadata?.resourceVersion !== cur.metadata.resourceVersion)
          return this.json(
            res,
            409,
            status(
              409,
              "Conflict",
              "the object has been modified; please apply your changes to the latest version and try again",
            ),
          );
        return this.json(res, 200, this.apply({ ...obj, kind: r.res.kind }));
      case "PATCH": {
        if (!cur) return notFound();
        if (!String(req.headers["content-type"]).startsWith("application/json-patch+json"))
          return this.json(res, 415, status(415, "UnsupportedMediaType", "only JSON patches are served"));
        try {
          const next = jsonpatch.applyPatch(
            structuredClone(cur),
            obj as jsonpatch.Operation[],
            true,
            false,
          ).newDocument;
          return this.json(res, 200, this.apply(next));
        } catch (e) {
          return this.json(res, 422, status(422, "Invalid", `the patch did not apply: ${(e as Error).message}`));
        }
      }
      default:
        return this.json(res, 405, status(405, "MethodNotAllowed", `${req.method} is not served`));
    }
  }

  /** An object as stored now (tests). */
  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.store.get(this.resourceOf(kind).resource)!.get(`${namespace ?? ""}/${name}`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const query = Object.fromEntries(url.searchParams);
    if (this.recordRequests) this.requests.push({ method: req.method ?? "", path: url.pathname, query });
    const r = this.route(url.pathname);
    if (!r || (r.res.crd && !this.crds.has(r.res.crd)))
      return this.json(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    if (r.name || req.method !== "GET") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.write(req, res, r, Buffer.concat(chunks).toString("utf8")));
      return;
    }
    let name: string | undefined;
    let ns = r.ns;
    for (const term of (query.fieldSelector ?? "").split(",").filter(Boolean)) {
      const [f, v] = term.split("=");
      if (f === "metadata.name") name = v;
      else if (f === "metadata.namespace") ns = v;
      else return this.json(res, 400, status(400, "BadRequest", `field label not supported: ${f}`));
    }
    if (query.watch === "true" || query.watch === "1") return this.watch(res, r.res, ns, name, query);
    const answer = () => this.list(res, r.res, ns, name, query);
    const held = this.held.get(r.res.resource);
    if (held) return void held.push(answer);
    const delay = this.listDelayMs[r.res.resource] ?? 0;
    if (delay) setTimeout(answer, delay);
    else answer();
  }

  private list(
    res: ServerResponse,
    r: Resource,
    ns: string | undefined,
    name: string | undefined,
    q: Record<string, string>,
  ): void {
    if (res.destroyed) return;
    const limit = Number(q.limit ?? 0);
    let items: Obj[];
    let offset = 0;
    let snapRV = String(this.rv);
    if (q.continue) {
      const tok = JSON.parse(Buffer.from(q.continue, "base64").toString()) as {
        id: string;
        offset: number;
        rv: string;
      };
      const snap = this.snapshots.get(tok.id);
      if (!snap) return this.json(res, 410, status(410, "Expired", "the provided continue parameter is too old"));
      items = snap;
      offset = tok.offset;
      snapRV = tok.rv;
    } else {
      items = [...this.store.get(r.resource)!.values()]
        .filter((o) => this.matches({ res: r, ns, name }, r, o))
        .sort((a, b) => this.key(a).localeCompare(this.key(b)));
    }
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const meta: Obj = { resourceVersion: snapRV };
    if (limit > 0 && offset + limit < items.length) {
      const id = randomUUID();
      this.snapshots.set(id, items);
      setTimeout(() => this.snapshots.delete(id), 60_000).unref();
      meta.continue = Buffer.from(JSON.stringify({ id, offset: offset + limit, rv: snapRV })).toString("base64");
      meta.remainingItemCount = items.length - offset - limit;
    }
    // built-in list items carry no kind/apiVersion; custom resources do
    const out = r.group === "" || r.group === "apps" ? page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest) : page;
    this.json(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: meta, items: out });
  }

  private watch(
    res: ServerResponse,
    r: Resource,
    ns: string | undefined,
    name: string | undefined,
    q: Record<string, string>,
  ): void {
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    const from = q.resourceVersion ?? "";
    if (from !== "" && from !== "0" && Number(from) < this.compactedRV) {
      this.send(res, {
        type: "ERROR",
        object: status(410, "Expired", `too old resource version: ${from} (${this.compactedRV})`),
      });
      res.end();
      return;
    }
    const w: Watcher = { res: r, ns, name, res_: res };
    if (from === "" || from === "0") {
      for (const o of this.store.get(r.resource)!.values())
        if (this.matches(w, r, o)) this.send(res, { type: "ADDED", object: o });
    } else {
      for (const e of this.events)
        if (e.rv > Number(from) && this.matches(w, e.res, e.object)) this.send(res, { type: e.type, object: e.object });
    }
    if (q.allowWatchBookmarks === "true")
      w.bookmark = setInterval(
        () =>
          this.send(res, {
            type: "BOOKMARK",
            object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.rv) } },
          }),
        this.bookmarkMs,
      );
    this.watchers.add(w);
    const timeout = Number(q.timeoutSeconds ?? 0);
    const end = () => {
      clearInterval(w.bookmark);
      this.watchers.delete(w);
    };
    if (timeout > 0) setTimeout(() => (end(), res.end()), timeout * 1000).unref();
    res.on("close", end);
  }

  /** How many watches are open now. */
  get openWatches(): number {
    return this.watchers.size;
  }
}
