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
 * - faults on demand: dropped connections, a restart, a missing CRD, slow lists;
 * - writes as the API server answers them (create, get, update, JSON patch,
 *   delete): 201/200 with the stored object, 409 AlreadyExists on a create
 *   of an existing name, 409 Conflict on an update or a delete precondition
 *   with a stale metadata.resourceVersion, 404 NotFound for a missing object
 *   (update never creates), 422 Invalid for what validation refuses (a
 *   custom resource updated without a resourceVersion, an Event whose
 *   involvedObject is in another namespace), each with a real Status body;
 * - discovery: /api, /api/v1, /apis and /apis/GROUP/VERSION list what is
 *   served, custom resources only while their CRD is "installed" (`crds`),
 *   404 otherwise.
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
  { group: "", version: "v1", resource: "nodes", kind: "Node", namespaced: false },
  { group: "", version: "v1", resource: "events", kind: "Event", namespaced: true },
  { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true },
  {
    group: "wgpolicyk8s.io",
    version: "v1alpha2",
    resource: "policyreports",
    kind: "PolicyReport",
    namespaced: true,
    crd: "policyreports.wgpolicyk8s.io",
  },
  {
    group: "wgpolicyk8s.io",
    version: "v1alpha2",
    resource: "clusterpolicyreports",
    kind: "ClusterPolicyReport",
    namespaced: false,
    crd: "clusterpolicyreports.wgpolicyk8s.io",
  },
  {
    group: "openreports.io",
    version: "v1alpha1",
    resource: "reports",
    kind: "Report",
    namespaced: true,
    crd: "reports.openreports.io",
  },
  {
    group: "openreports.io",
    version: "v1alpha1",
    resource: "clusterreports",
    kind: "ClusterReport",
    namespaced: false,
    crd: "clusterreports.openreports.io",
  },
];

/** The CRDs of each report format, for `crds.add(...)`. */
export const REPORT_CRDS = {
  wgpolicyk8s: ["policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"],
  openreports: ["reports.openreports.io", "clusterreports.openreports.io"],
} as const;

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
  /** the bearer token it came with */
  token: string;
}

function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** `leases.coordination.k8s.io`, `services` (how the API server names a resource in messages). */
function qualified(r: Resource): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function details(r: Resource, name: string): Obj {
  return { name, ...(r.group ? { group: r.group } : {}), kind: r.resource };
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
  /**
   * A fault on demand: a status code (500, 503, …) to answer a request with
   * instead of serving it, by method, path and bearer token (clients with
   * different tokens stand for different replicas).
   */
  fault?: (r: { method: string; path: string; token: string }) => number | undefined;
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

  /** A kubeconfig for this server; `token` tells clients apart (see `fault`). */
  kubeconfig(token = "fake-token"): string {
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: fake\n  cluster:\n    server: http://127.0.0.1:${this.port}\n    insecure-skip-tls-verify: true`,
      "users:",
      `- name: lbguard\n  user:\n    token: ${token}`,
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

  /** Store a client's write (create or update): server-set metadata as the API server sets it. */
  private store_(res: Resource, obj: Obj, prev: Obj | undefined): Obj {
    const m = this.store.get(res.resource)!;
    obj.apiVersion = apiVersionOf(res);
    obj.kind = res.kind;
    const meta = { ...obj.metadata };
    if (!res.namespaced) delete meta.namespace;
    meta.uid = prev?.metadata.uid ?? randomUUID();
    meta.creationTimestamp = prev?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, "Z");
    meta.resourceVersion = String(++this.rv);
    if (res.crd) {
      // custom resources: generation counts changes of everything but metadata and status
      const strip = (o: Obj | undefined) => (o ? JSON.stringify({ ...o, metadata: undefined, status: undefined }) : "");
      meta.generation = !prev
        ? 1
        : strip(prev) === strip(obj)
          ? prev.metadata.generation
          : prev.metadata.generation + 1;
    }
    obj.metadata = meta;
    m.set(`${meta.namespace ?? ""}/${meta.name}`, obj);
    this.emit({ rv: this.rv, type: prev ? "MODIFIED" : "ADDED", res, object: obj });
    return obj;
  }

  /** What validation refuses of a write, as a 422 message; undefined when it passes. */
  private invalid(r: Resource, obj: Obj, ns: string | undefined): string | undefined {
    if (r.kind === "Event") {
      const inv = obj.involvedObject ?? {};
      if ((inv.namespace ?? "") !== "" && inv.namespace !== ns)
        return `Event "${obj.metadata?.name}" is invalid: involvedObject.namespace: Invalid value: "${inv.namespace}": does not match event.namespace`;
      if (!obj.reason || !obj.message)
        return `Event "${obj.metadata?.name}" is invalid: reason and message are required`;
    }
    if (r.kind === "Lease" && obj.spec?.leaseDurationSeconds !== undefined && !(obj.spec.leaseDurationSeconds > 0))
      return `Lease.coordination.k8s.io "${obj.metadata?.name}" is invalid: spec.leaseDurationSeconds: Invalid value: ${obj.spec.leaseDurationSeconds}: must be greater than 0`;
    return undefined;
  }

  /** GET, PUT, PATCH and DELETE of one object; POST to a collection. */
  private write(
    req: IncomingMessage,
    res: ServerResponse,
    r: { res: Resource; ns?: string; name?: string },
    body: string,
  ): void {
    const m = this.store.get(r.res.resource)!;
    const key = `${r.ns ?? ""}/${r.name ?? ""}`;
    const cur = m.get(key);
    const q = qualified(r.res);
    const notFound = () =>
      this.json(res, 404, status(404, "NotFound", `${q} "${r.name}" not found`, details(r.res, r.name!)));
    const conflict = (name: string) =>
      this.json(
        res,
        409,
        status(
          409,
          "Conflict",
          `Operation cannot be fulfilled on ${q} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          details(r.res, name),
        ),
      );
    const invalid = (message: string, name: string) =>
      this.json(res, 422, status(422, "Invalid", message, details(r.res, name)));
    let obj: Obj;
    try {
      obj = body ? JSON.parse(body) : {};
    } catch {
      return this.json(res, 400, status(400, "BadRequest", "invalid JSON"));
    }
    if (r.res.namespaced && !r.ns && req.method !== "GET")
      return this.json(
        res,
        405,
        status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"),
      );
    switch (req.method) {
      case "GET":
        return cur ? this.json(res, 200, cur) : notFound();
      case "POST": {
        if (r.name)
          return this.json(
            res,
            405,
            status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"),
          );
        const meta = { ...(obj.metadata ?? {}) };
        if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
        if (!meta.name)
          return invalid(
            `${r.res.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
            "",
          );
        if (meta.namespace !== undefined && r.ns !== undefined && meta.namespace !== r.ns)
          return this.json(
            res,
            400,
            status(
              400,
              "BadRequest",
              "the namespace of the provided object does not match the namespace sent on the request",
            ),
          );
        if (r.ns) meta.namespace = r.ns;
        if (meta.resourceVersion)
          return this.json(
            res,
            500,
            status(500, "InternalError", "resourceVersion should not be set on objects to be created"),
          );
        const k = `${r.ns ?? ""}/${meta.name}`;
        if (m.has(k))
          return this.json(
            res,
            409,
            status(409, "AlreadyExists", `${q} "${meta.name}" already exists`, details(r.res, meta.name)),
          );
        const bad = this.invalid(r.res, { ...obj, metadata: meta }, r.ns);
        if (bad) return invalid(bad, meta.name);
        return this.json(res, 201, this.store_(r.res, { ...obj, metadata: meta }, undefined));
      }
      case "PUT": {
        if (!cur) return notFound();
        if (obj.metadata?.name !== r.name)
          return this.json(
            res,
            400,
            status(400, "BadRequest", "the name of the object does not match the name on the URL"),
          );
        const rv = obj.metadata?.resourceVersion;
        // built-in kinds allow an unconditional update (no resourceVersion); custom resources do not
        if (!rv && r.res.crd)
          return invalid(
            `${r.res.kind}.${r.res.group} "${r.name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
            r.name!,
          );
        if (rv && rv !== cur.metadata.resourceVersion) return conflict(r.name!);
        const bad = this.invalid(r.res, obj, r.ns);
        if (bad) return invalid(bad, r.name!);
        return this.json(res, 200, this.store_(r.res, { ...obj, metadata: { ...obj.metadata, namespace: r.ns } }, cur));
      }
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
          return this.json(res, 200, this.store_(r.res, next, cur));
        } catch (e) {
          return this.json(res, 422, status(422, "Invalid", `the patch did not apply: ${(e as Error).message}`));
        }
      }
      case "DELETE": {
        if (!cur) return notFound();
        const pre = obj.preconditions ?? {};
        if (pre.uid && pre.uid !== cur.metadata.uid)
          return this.json(
            res,
            409,
            status(
              409,
              "Conflict",
              `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
              details(r.res, r.name!),
            ),
          );
        if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
          return this.json(
            res,
            409,
            status(
              409,
              "Conflict",
              `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
              details(r.res, r.name!),
            ),
          );
        m.delete(key);
        const gone = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rv) } };
        this.emit({ rv: this.rv, type: "DELETED", res: r.res, object: gone });
        return this.json(res, 200, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: { ...details(r.res, r.name!), uid: cur.metadata.uid },
        });
      }
      default:
        return this.json(res, 405, status(405, "MethodNotAllowed", `${req.method} is not served`));
    }
  }

  /** Discovery documents: what is served, custom resources only while their CRD is installed. */
  private discovery(path: string): Obj | undefined {
    const served = RESOURCES.filter((r) => !r.crd || this.crds.has(r.crd));
    const resourceList = (group: string, version: string): Obj | undefined => {
      const rs = served.filter((r) => r.group === group && r.version === version);
      if (!rs.length) return undefined;
      return {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: group ? `${group}/${version}` : version,
        resources: rs.map((r) => ({
          name: r.resource,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
        })),
      };
    };
    if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
    if (path === "/api/v1") return resourceList("", "v1");
    if (path === "/apis") {
      const groups = new Map<string, Set<string>>();
      for (const r of served.filter((x) => x.group)) {
        if (!groups.has(r.group)) groups.set(r.group, new Set());
        groups.get(r.group)!.add(r.version);
      }
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [...groups].map(([name, vs]) => {
          const versions = [...vs].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
          return { name, versions, preferredVersion: versions[0] };
        }),
      };
    }
    const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    return m ? resourceList(m[1], m[2]) : undefined;
  }

  /** Every stored object of a kind, in a namespace or all (tests). */
  objects(kind: string, namespace?: string): Obj[] {
    return [...this.store.get(this.resourceOf(kind).resource)!.values()].filter(
      (o) => namespace === undefined || o.metadata?.namespace === namespace,
    );
  }

  /** An object as stored now (tests). */
  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.store.get(this.resourceOf(kind).resource)!.get(`${namespace ?? ""}/${name}`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const query = Object.fromEntries(url.searchParams);
    const token = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (this.recordRequests) this.requests.push({ method: req.method ?? "", path: url.pathname, query, token });
    const faulty = this.fault?.({ method: req.method ?? "", path: url.pathname, token });
    if (faulty) {
      req.resume();
      return this.json(res, faulty, status(faulty, "InternalError", "an injected fault"));
    }
    if (
      req.method === "GET" &&
      (url.pathname === "/api" || url.pathname.startsWith("/api/v1") || url.pathname.startsWith("/apis"))
    ) {
      const d = url.pathname.split("/").length <= 4 ? this.discovery(url.pathname) : undefined;
      if (d) return this.json(res, 200, d);
      if (/^\/apis\/[^/]+\/[^/]+$/.test(url.pathname))
        return this.json(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    }
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
    const out = !r.crd ? page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest) : page;
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
