/**
 * What the audit reads of a cluster, beyond the admission view (MemoryView):
 * the signals of docs/controllers.md L1 (Leases, Nodes' roles, managedFields
 * managers of status.loadBalancer, MetalLB's controller args, k3s svclb
 * DaemonSets, kube-vip's bookkeeping annotations) and a slim copy of every
 * object the admission rules re-judge. Built from one stream of objects (a
 * snapshot's files or the live lists) together with the view; nothing keeps
 * a whole object, so 100k Services stay in the tens of megabytes.
 */
import { apiGroup, type KubeObject } from "../k8s/object.js";
import { KV, MLB, stringMap } from "../k8s/service.js";
import { parseImage } from "../kubevip/image.js";
import { slimConfigMap, slimPod, slimPool, slimWorkload } from "../cluster/slim.js";
import { MemoryView, objectKey } from "../cluster/view.js";

/** A Service as the audit sees it (LoadBalancer ones, and others carrying kube-vip leftovers). */
export interface ServiceFact {
  namespace: string;
  name: string;
  /** spec.type */
  type: string;
  cls: string | null;
  loadBalancerIP?: string;
  labels?: Record<string, string>;
  /** metallb.io/*, metallb.universe.tf/* and kube-vip.io/* annotations only */
  annotations?: Record<string, string>;
  /** status.loadBalancer.ingress: IPs (or hostnames) */
  ingress?: string[];
  /** some ingress entry carries `ports` (kube-vip writes them, MetalLB never does) */
  ingressPorts?: true;
  /** managedFields managers owning f:status.f:loadBalancer */
  statusManagers?: string[];
}

export interface LeaseFact {
  namespace: string;
  name: string;
  holder?: string;
}

/** A MetalLB controller Deployment or speaker DaemonSet (docs/controllers.md M7, M9). */
export interface MetalLBFact {
  role: "controller" | "speaker";
  kind: "Deployment" | "DaemonSet";
  namespace: string;
  name: string;
  /** index of the MetalLB container in the pod template */
  container: number;
  /** `--lb-class`; null when unset */
  lbClass: string | null;
  /** where MetalLB reads its pools: `--namespace`, else env METALLB_NAMESPACE, else the pod's namespace */
  poolNamespace: string;
  poolNamespaceFrom: string;
  serviceAccount: string;
  /** the container has an args list (a JSON patch appends to it, else creates it) */
  hasArgs: boolean;
  helm?: { release: string; namespace: string };
}

/** A k3s ServiceLB DaemonSet (`svclb-*`, label svccontroller.k3s.cattle.io/svcname). */
export interface SvclbFact {
  namespace: string;
  name: string;
  service: { namespace: string; name: string };
}

export const SVCLB_NAME_LABEL = "svccontroller.k3s.cattle.io/svcname";
export const SVCLB_NAMESPACE_LABEL = "svccontroller.k3s.cattle.io/svcnamespace";
export const CONTROL_PLANE_LABELS = ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"];

/*
 * A Service's facts, packed into one string (the server keeps 100k of them
 * for as long as it runs: as objects, with their arrays and maps, they were
 * about 300 bytes a Service; packed, about 80). Fields are separated by FS,
 * list items by IS; label and annotation keys, classes and managers (a few
 * hundred distinct values in any cluster) by a two-character code from a
 * table; an ingress address equal to the requested one as REF. A Service
 * with a separator character in any of its texts is kept as an object.
 */
const FS = "\u001f";
const IS = "\u001e";
const REF = "\u001d";
const CODE = "\u001c";
// eslint-disable-next-line no-control-regex -- the separators are control characters on purpose
const SEPARATORS = /[\u001c-\u001f]/;
const CODES_MAX = 8000;
const codeOf = new Map<string, string>();
const codeText: string[] = [];

function encode(t: string): string {
  let c = codeOf.get(t);
  if (c === undefined) {
    if (codeText.length >= CODES_MAX) return t;
    c = CODE + String.fromCharCode(0x100 + codeText.length);
    codeOf.set(t, c);
    codeText.push(t);
  }
  return c;
}

function decode(t: string): string {
  return t.length === 2 && t.charCodeAt(0) === 0x1c ? codeText[t.charCodeAt(1) - 0x100] : t;
}

function texts(s: ServiceFact): string[] {
  const out: string[] = [s.name];
  if (s.cls) out.push(s.cls);
  if (s.loadBalancerIP) out.push(s.loadBalancerIP);
  for (const m of [s.labels, s.annotations]) if (m) for (const [k, v] of Object.entries(m)) out.push(k, v);
  for (const x of [...(s.ingress ?? []), ...(s.statusManagers ?? [])]) out.push(x);
  return out;
}

function packMap(m: Record<string, string> | undefined, values: string[]): string {
  if (!m) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    parts.push(encode(k), v);
    values.push(v);
  }
  return parts.join(IS);
}

function pack(s: ServiceFact): string | ServiceFact {
  if (s.type !== "LoadBalancer" || texts(s).some((t) => SEPARATORS.test(t))) return s;
  const values: string[] = [];
  const labels = packMap(s.labels, []);
  const annotations = packMap(s.annotations, values);
  const ingress = (s.ingress ?? [])
    .map((a) => {
      if (a === s.loadBalancerIP) return REF;
      const i = values.indexOf(a);
      return i >= 0 && i < 40 ? REF + String.fromCharCode(0x30 + i) : a;
    })
    .join(IS);
  return [
    s.cls === null ? "" : encode(s.cls),
    s.loadBalancerIP ?? "",
    labels,
    annotations,
    ingress,
    s.ingressPorts ? "p" : "",
    (s.statusManagers ?? []).map(encode).join(IS),
  ].join(FS);
}

function unpackMap(t: string, values?: string[]): Record<string, string> | undefined {
  if (!t) return undefined;
  const parts = t.split(IS);
  const m: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    m[decode(parts[i])] = parts[i + 1];
    values?.push(parts[i + 1]);
  }
  return m;
}

function unpack(namespace: string, name: string, p: string | ServiceFact): ServiceFact {
  if (typeof p !== "string") return p;
  const [cls, ip, labels, annotations, ingress, ports, managers] = p.split(FS);
  const s = new ServiceFactRow(namespace, name, "LoadBalancer", cls ? decode(cls) : null);
  if (ip) s.loadBalancerIP = ip;
  const l = unpackMap(labels);
  if (l) s.labels = l;
  const values: string[] = [];
  const a = unpackMap(annotations, values);
  if (a) s.annotations = a;
  if (ingress)
    s.ingress = ingress
      .split(IS)
      .map((x) => (x === REF ? ip : x.charCodeAt(0) === 0x1d ? values[x.charCodeAt(1) - 0x30] : x));
  if (ports) s.ingressPorts = true;
  if (managers) s.statusManagers = managers.split(IS).map(decode);
  return s;
}

/**
 * LoadBalancer Services' facts by namespace, then name (no `ns/name` key
 * string per Service), each packed into one string; `get("ns/name")` and
 * `values()` unpack them (a fresh ServiceFact each time: read, never kept).
 */
export class ServiceFacts {
  private readonly byNs = new Map<string, Map<string, string | ServiceFact>>();
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(key: string): ServiceFact | undefined {
    const i = key.indexOf("/");
    return this.getIn(key.slice(0, i), key.slice(i + 1));
  }

  getIn(namespace: string, name: string): ServiceFact | undefined {
    const p = this.byNs.get(namespace)?.get(name);
    return p === undefined ? undefined : unpack(namespace, name, p);
  }

  /** Add or replace the Service of `s.namespace`/`s.name`. */
  put(s: ServiceFact): void {
    let m = this.byNs.get(s.namespace);
    if (!m) this.byNs.set(s.namespace, (m = new Map()));
    const had = m.has(s.name);
    m.set(s.name, pack(s));
    if (!had) this.n++;
  }

  deleteIn(namespace: string, name: string): boolean {
    const m = this.byNs.get(namespace);
    if (!m?.delete(name)) return false;
    if (!m.size) this.byNs.delete(namespace);
    this.n--;
    return true;
  }

  *values(): IterableIterator<ServiceFact> {
    for (const [ns, m] of this.byNs) for (const [name, p] of m) yield unpack(ns, name, p);
  }
}

export interface AuditFacts {
  /** LoadBalancer Services, by namespace and name */
  services: ServiceFacts;
  /** other Services that carry kube-vip.io/vipHost */
  leftovers: Map<string, ServiceFact>;
  /** `ns/name` of every Service that is not a LoadBalancer (a per-Service Lease may outlive the type) */
  otherServices: Set<string>;
  /** Leases (kube-node-lease's heartbeats left out), by `ns/name` */
  leases: Map<string, LeaseFact>;
  nodes: Set<string>;
  controlPlaneNodes: Set<string>;
  metallb: MetalLBFact[];
  svclb: SvclbFact[];
  /** status.assignedIPv4 + assignedIPv6 of pools, by `ns/name` */
  poolAssigned: Map<string, number>;
  /** slim copies of the pools, ConfigMaps and kube-vip workloads the view keeps, by view key */
  judged: Map<string, KubeObject>;
}

export function newFacts(): AuditFacts {
  return {
    services: new ServiceFacts(),
    leftovers: new Map(),
    otherServices: new Set(),
    leases: new Map(),
    nodes: new Set(),
    controlPlaneNodes: new Set(),
    metallb: [],
    svclb: [],
    poolAssigned: new Map(),
    judged: new Map(),
  };
}

type Obj = Record<string, any>;

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * A Service's facts as an instance of a class (not an object literal): V8
 * gives class instances spare in-object slots for the properties added
 * later, where a literal would get a separate property array for them (40
 * bytes a Service more).
 */
class ServiceFactRow implements ServiceFact {
  declare loadBalancerIP?: string;
  declare labels?: Record<string, string>;
  declare annotations?: Record<string, string>;
  declare ingress?: string[];
  declare ingressPorts?: true;
  declare statusManagers?: string[];
  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly type: string,
    readonly cls: string | null,
  ) {}
}

/** One copy of each repeated string (namespaces, classes, label keys), so 100k Services share them. */
class Interner {
  private readonly m = new Map<string, string>();
  get(s: string): string {
    const hit = this.m.get(s);
    if (hit !== undefined) return hit;
    if (this.m.size < 200_000) this.m.set(s, s);
    return s;
  }
}

const PROVIDER_ANNOTATION = (k: string) =>
  k.startsWith("metallb.io/") || k.startsWith("metallb.universe.tf/") || k.startsWith("kube-vip.io/");

/** Annotations whose values repeat across Services (pool and node names): one copy of each value. */
const REPEATED_VALUES: ReadonlySet<string> = new Set([
  MLB.allocated,
  MLB.allocatedOld,
  MLB.pool,
  MLB.poolOld,
  MLB.share,
  MLB.shareOld,
  KV.vipHost,
]);

function managersOfStatusLB(managed: unknown): string[] | undefined {
  if (!Array.isArray(managed)) return undefined;
  let out: string[] | undefined;
  for (const m of managed as Obj[]) {
    const lb = m?.fieldsV1?.["f:status"]?.["f:loadBalancer"];
    if (lb === undefined || typeof m.manager !== "string") continue;
    if (!(out ??= []).includes(m.manager)) out.push(m.manager);
  }
  return out;
}

/** MetalLB's images: metallb/controller, quay.io/metallb/controller, Rancher's mirrors. */
export function metallbImageRole(image: unknown): "controller" | "speaker" | undefined {
  if (typeof image !== "string") return undefined;
  const ref = parseImage(image);
  const repo = ref.repository.toLowerCase();
  if (repo.endsWith("metallb/controller") || ref.name === "mirrored-metallb-controller") return "controller";
  if (repo.endsWith("metallb/speaker") || ref.name === "mirrored-metallb-speaker") return "speaker";
  return undefined;
}

/** A Go `flag` value: `--name=v`, `-name=v`, `--name v`. */
export function goFlag(args: string[], name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    for (const p of [`--${name}`, `-${name}`]) {
      if (a === p && i + 1 < args.length) out = args[i + 1];
      else if (a.startsWith(`${p}=`)) out = a.slice(p.length + 1);
    }
  }
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function metallbFact(o: Obj, kind: "Deployment" | "DaemonSet"): MetalLBFact | undefined {
  const ps = o.spec?.template?.spec;
  const containers: Obj[] = Array.isArray(ps?.containers) ? ps.containers : [];
  const idx = containers.findIndex((c) => metallbImageRole(c?.image) !== undefined);
  if (idx < 0) return undefined;
  const c = containers[idx];
  const role = metallbImageRole(c.image)!;
  const args = [...strings(c.command).slice(1), ...strings(c.args)];
  const cls = goFlag(args, "lb-class");
  const namespace = str(o.metadata?.namespace) || "default";
  let poolNamespace = namespace;
  let poolNamespaceFrom = "its own namespace: no --namespace, no METALLB_NAMESPACE";
  const nsFlag = goFlag(args, "namespace");
  const env = (Array.isArray(c.env) ? c.env : []) as Obj[];
  const nsEnv = env.find((e) => e?.name === "METALLB_NAMESPACE" && typeof e.value === "string" && e.value);
  if (nsFlag) {
    poolNamespace = nsFlag;
    poolNamespaceFrom = `--namespace=${nsFlag}`;
  } else if (nsEnv) {
    poolNamespace = nsEnv.value;
    poolNamespaceFrom = `env METALLB_NAMESPACE`;
  }
  const labels = stringMap(o.metadata?.labels);
  const ann = stringMap(o.metadata?.annotations);
  const release =
    ann["meta.helm.sh/release-name"] ||
    (labels["app.kubernetes.io/managed-by"] === "Helm" ? labels["app.kubernetes.io/instance"] : "");
  return {
    role,
    kind,
    namespace,
    name: str(o.metadata?.name),
    container: idx,
    lbClass: cls ? cls : null,
    poolNamespace,
    poolNamespaceFrom,
    serviceAccount: str(ps?.serviceAccountName) || str(ps?.serviceAccount) || "default",
    hasArgs: Array.isArray(c.args),
    ...(release ? { helm: { release, namespace: ann["meta.helm.sh/release-namespace"] || namespace } } : {}),
  };
}

export interface FactsOptions {
  /**
   * Keep the names of Services that are not LoadBalancers (`otherServices`:
   * a per-Service Lease may outlive the type). Only a source that reads
   * Leases needs them; the live informers do not watch Leases.
   */
  otherServices?: boolean;
}

/**
 * The audit's facts, fed object by object: `observe` takes an object (added
 * or changed), `forget` drops what an object contributed (deleted). Nothing
 * keeps a whole object. The live source feeds one through its informers
 * (live-facts.ts); FactsBuilder feeds one together with a view.
 */
export class FactsStore {
  readonly facts = newFacts();
  private readonly s = new Interner();
  private readonly others: boolean;

  constructor(o: FactsOptions = {}) {
    this.others = o.otherServices ?? true;
  }

  /** An object, whole as read; `kept`: the view took it (for the kinds the admission rules re-judge). */
  observe(o: KubeObject, defaultNs: string, kept: boolean): void {
    const kind = str(o.kind);
    const group = apiGroup(o.apiVersion);
    const ns = str(o.metadata?.namespace) || defaultNs;
    const name = str(o.metadata?.name);
    const f = this.facts;
    switch (kind) {
      case "Service":
        if (group === "") this.service(o as Obj, ns, name);
        return;
      case "Node":
        if (group !== "") return;
        f.nodes.add(name);
        if (CONTROL_PLANE_LABELS.some((l) => l in stringMap(o.metadata?.labels))) f.controlPlaneNodes.add(name);
        else f.controlPlaneNodes.delete(name);
        return;
      case "Lease":
        if (group !== "coordination.k8s.io" || ns === "kube-node-lease") return;
        f.leases.set(`${ns}/${name}`, {
          namespace: this.s.get(ns),
          name,
          ...(str((o.spec as Obj)?.holderIdentity) ? { holder: (o.spec as Obj).holderIdentity } : {}),
        });
        return;
      case "IPAddressPool": {
        const key = objectKey(kind, ns, name);
        if (!kept) {
          f.judged.delete(key);
          f.poolAssigned.delete(`${ns}/${name}`);
          return;
        }
        f.judged.set(key, { ...slimPool(o as Obj), metadata: { name, namespace: ns } });
        const st = (o.status ?? {}) as Obj;
        const n = (Number(st.assignedIPv4) || 0) + (Number(st.assignedIPv6) || 0);
        if (n > 0) f.poolAssigned.set(`${ns}/${name}`, n);
        else f.poolAssigned.delete(`${ns}/${name}`);
        return;
      }
      case "ConfigMap": {
        const key = objectKey(kind, ns, name);
        if (kept) f.judged.set(key, { ...slimConfigMap(o as Obj), metadata: { name, namespace: ns } });
        else f.judged.delete(key);
        return;
      }
      case "Pod":
      case "DaemonSet":
      case "Deployment":
      case "StatefulSet": {
        const key = objectKey(kind, ns, name);
        if (kept) {
          const slim = kind === "Pod" ? slimPod(o as Obj) : slimWorkload(kind)(o as Obj);
          f.judged.set(key, { ...slim, metadata: { ...(slim.metadata as Obj), namespace: ns } });
        } else f.judged.delete(key);
        if (group !== "apps" || kind === "StatefulSet" || kind === "Pod") return;
        const m = metallbFact(o as Obj, kind);
        if (m || f.metallb.length)
          f.metallb = f.metallb.filter((x) => !(x.kind === kind && x.namespace === ns && x.name === name));
        if (m) f.metallb.push(m);
        if (kind === "DaemonSet") {
          if (f.svclb.length) f.svclb = f.svclb.filter((d) => !(d.namespace === ns && d.name === name));
          const labels = stringMap(o.metadata?.labels);
          const svc = labels[SVCLB_NAME_LABEL];
          if (svc)
            f.svclb.push({
              namespace: ns,
              name,
              service: { namespace: labels[SVCLB_NAMESPACE_LABEL] || ns, name: svc },
            });
        }
        return;
      }
    }
  }

  /** What a deleted object contributed. */
  forget(kind: string, ns: string, name: string): void {
    const f = this.facts;
    const key = `${ns}/${name}`;
    switch (kind) {
      case "Service":
        f.services.deleteIn(ns, name);
        f.leftovers.delete(key);
        f.otherServices.delete(key);
        return;
      case "Node":
        f.nodes.delete(name);
        f.controlPlaneNodes.delete(name);
        return;
      case "Lease":
        f.leases.delete(key);
        return;
      case "IPAddressPool":
        f.judged.delete(objectKey(kind, ns, name));
        f.poolAssigned.delete(key);
        return;
      case "ConfigMap":
      case "Pod":
      case "StatefulSet":
        f.judged.delete(objectKey(kind, ns, name));
        return;
      case "DaemonSet":
      case "Deployment":
        f.judged.delete(objectKey(kind, ns, name));
        if (f.metallb.length)
          f.metallb = f.metallb.filter((m) => !(m.kind === kind && m.namespace === ns && m.name === name));
        if (kind === "DaemonSet" && f.svclb.length)
          f.svclb = f.svclb.filter((d) => !(d.namespace === ns && d.name === name));
        return;
    }
  }

  private service(o: Obj, namespace: string, name: string): void {
    const f = this.facts;
    const key = `${namespace}/${name}`;
    const spec = o.spec ?? {};
    const type = str(spec.type) || "ClusterIP";
    const all = stringMap(o.metadata?.annotations);
    let annotations: Record<string, string> | undefined;
    for (const k of Object.keys(all))
      if (PROVIDER_ANNOTATION(k))
        (annotations ??= {})[this.s.get(k)] = REPEATED_VALUES.has(k) ? this.s.get(all[k]) : all[k];
    f.services.deleteIn(namespace, name);
    if (f.leftovers.size) f.leftovers.delete(key);
    if (f.otherServices.size) f.otherServices.delete(key);
    if (type !== "LoadBalancer") {
      if (this.others) f.otherServices.add(key);
      if (annotations && KV.vipHost in annotations)
        f.leftovers.set(key, { namespace: this.s.get(namespace), name, type, cls: null, annotations });
      return;
    }
    const s: ServiceFact = new ServiceFactRow(
      this.s.get(namespace),
      name,
      "LoadBalancer",
      typeof spec.loadBalancerClass === "string" && spec.loadBalancerClass ? this.s.get(spec.loadBalancerClass) : null,
    );
    if (typeof spec.loadBalancerIP === "string" && spec.loadBalancerIP) s.loadBalancerIP = spec.loadBalancerIP;
    const labels = stringMap(o.metadata?.labels);
    const lk = Object.keys(labels);
    if (lk.length) {
      s.labels = {};
      for (const k of lk) s.labels[this.s.get(k)] = this.s.get(labels[k]);
    }
    if (annotations) s.annotations = annotations;
    const ing = o.status?.loadBalancer?.ingress;
    if (Array.isArray(ing)) {
      const addrs: string[] = [];
      for (const e of ing as Obj[]) {
        const a = str(e?.ip) || str(e?.hostname);
        // the address usually is the one requested: keep one copy of the text
        if (a) addrs.push(a === s.loadBalancerIP ? s.loadBalancerIP : sameText(a, annotations));
        if (Array.isArray(e?.ports) && e.ports.length) s.ingressPorts = true;
      }
      // an exact-size copy: an array grown by push keeps room for 17 (150 bytes)
      if (addrs.length) s.ingress = addrs.slice();
    }
    const managers = managersOfStatusLB(o.metadata?.managedFields);
    if (managers) s.statusManagers = managers.map((m) => this.s.get(m));
    f.services.put(s);
  }
}

/** `a`, or the annotation value equal to it (one string object instead of two). */
function sameText(a: string, annotations: Record<string, string> | undefined): string {
  if (annotations) for (const v of Object.values(annotations)) if (v === a) return v;
  return a;
}

/**
 * Feeds a view and the facts from one stream of objects (a snapshot's files,
 * the live lists of `lbguard audit`); `add` takes each object once, keeps
 * what the audit needs and drops the rest.
 */
export class FactsBuilder {
  readonly view = new MemoryView();
  private readonly store = new FactsStore();
  readonly facts = this.store.facts;
  objects = 0;

  add(o: KubeObject, defaultNs = "default"): void {
    if (!o || typeof o !== "object") return;
    this.objects++;
    const rec = this.view.apply(o, defaultNs);
    this.store.observe(o, defaultNs, rec !== undefined);
  }
}

/** The Service as admission would receive it on CREATE (what the rules read of it). */
export function serviceObject(s: ServiceFact): KubeObject {
  const spec: Obj = { type: s.type };
  if (s.cls !== null) spec.loadBalancerClass = s.cls;
  if (s.loadBalancerIP) spec.loadBalancerIP = s.loadBalancerIP;
  const metadata: Obj = { name: s.name, namespace: s.namespace };
  if (s.labels) metadata.labels = s.labels;
  if (s.annotations) metadata.annotations = s.annotations;
  return { apiVersion: "v1", kind: "Service", metadata, spec };
}

/** metallb.io/ip-allocated-from-pool (or its old key, which MetalLB before v0.14.9 writes): MetalLB allocated the address. */
export function allocatedPool(s: ServiceFact): { key: string; pool: string } | undefined {
  for (const key of [MLB.allocated, MLB.allocatedOld]) {
    const pool = s.annotations?.[key];
    if (pool !== undefined) return { key, pool };
  }
  return undefined;
}

/** The per-Service Lease kube-vip uses for it (`kubevip-<name>`, or kube-vip.io/leaseName). */
export function perServiceLease(facts: AuditFacts, s: ServiceFact): LeaseFact | undefined {
  const name = s.annotations?.["kube-vip.io/leaseName"] || `kubevip-${s.name}`;
  const slash = name.indexOf("/");
  const key = slash > 0 ? name : `${s.namespace}/${name}`;
  return facts.leases.get(key);
}
