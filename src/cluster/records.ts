/**
 * The slim records the cluster view keeps: only the fields rules read, so
 * 100k Services stay small. `toRecord` turns any Kubernetes object into one
 * (or undefined for kinds and objects the view does not use).
 */
import { Interval } from "../addr/interval.js";
import type { IP } from "../addr/ip.js";
import { KubeVipKey, isAddressKey, parseKubeVipData } from "../addr/kubevip.js";
import { MetalLBEntry, parseMetalLBEntry } from "../addr/metallb.js";
import { LabelSelector, Labels } from "../k8s/selector.js";
import { KubeObject, MIRROR_ANNOTATION, WorkloadKind, apiGroup, isWorkloadKind } from "../k8s/object.js";
export { MIRROR_ANNOTATION, apiGroup, isWorkloadKind, type WorkloadKind };
import {
  assignedIPs,
  isLoadBalancer,
  requestedIPs,
  serviceClass,
  stringMap,
  MLB,
  metallbAnnotation,
} from "../k8s/service.js";
import {
  CloudProviderConfig,
  ContainerSpec,
  KubeVipConfig,
  cloudProviderConfig,
  effectiveConfig,
} from "../kubevip/effective.js";
import { imageKindOf, parseImage } from "../kubevip/image.js";

export interface NamespaceRec {
  kind: "Namespace";
  name: string;
  labels: Labels;
}

export interface ServiceAllocation {
  priority?: number;
  namespaces: string[];
  namespaceSelectors: LabelSelector[];
  serviceSelectors: LabelSelector[];
}

export interface PoolRec {
  kind: "IPAddressPool";
  namespace: string;
  name: string;
  entries: MetalLBEntry[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  serviceAllocation?: ServiceAllocation;
}

/**
 * One address of a Service; it is its own (single-address) interval. The view
 * does not keep these objects (src/cluster/service-table.ts stores Services
 * as rows of typed arrays); it builds them for the callers that read one.
 */
export interface ServiceAddr extends Interval {
  text: string;
  /** the Service it belongs to */
  svc: ServiceRec;
}

export interface ServiceRec {
  kind: "Service";
  namespace: string;
  name: string;
  cls: string | null;
  addrs: ServiceAddr[];
  /** MetalLB's sharing key (allow-shared-ip), when set */
  share?: string;
}

export interface ConfigMapRec {
  kind: "ConfigMap";
  namespace: string;
  name: string;
  keys: KubeVipKey[];
}

export interface WorkloadRec {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** one per kube-vip instance: mirror pods of one manifest and pods of one controller share it */
  instance: string;
  mirror?: { node: string; manifest: string };
  /** controller that owns a Pod (DaemonSet, ReplicaSet, …) */
  owner?: { kind: string; name: string };
  kubeVip: KubeVipConfig[];
  cloudProviders: CloudProviderConfig[];
}

export type ViewRecord = NamespaceRec | PoolRec | ServiceRec | ConfigMapRec | WorkloadRec;

export type { KubeObject } from "../k8s/object.js";

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function selectors(v: unknown): LabelSelector[] {
  return Array.isArray(v) ? (v.filter((x) => x && typeof x === "object") as LabelSelector[]) : [];
}

export function poolRecord(o: KubeObject, defaultNs = ""): PoolRec {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const addrs = Array.isArray(spec.addresses) ? spec.addresses : [];
  const sa = spec.serviceAllocation as Record<string, unknown> | undefined | null;
  return {
    kind: "IPAddressPool",
    namespace: str(o.metadata?.namespace) || defaultNs,
    name: str(o.metadata?.name),
    entries: addrs.map((a) => parseMetalLBEntry(a as string)),
    autoAssign: spec.autoAssign !== false,
    avoidBuggyIPs: spec.avoidBuggyIPs === true,
    serviceAllocation:
      sa && typeof sa === "object"
        ? {
            priority: typeof sa.priority === "number" ? sa.priority : undefined,
            namespaces: Array.isArray(sa.namespaces)
              ? sa.namespaces.filter((x): x is string => typeof x === "string")
              : [],
            namespaceSelectors: selectors(sa.namespaceSelectors),
            serviceSelectors: selectors(sa.serviceSelectors),
          }
        : undefined,
  };
}

export function serviceRecord(o: KubeObject, defaultNs = ""): ServiceRec {
  const svc = o as Parameters<typeof requestedIPs>[0];
  const rec: ServiceRec = {
    kind: "Service",
    namespace: str(o.metadata?.namespace) || defaultNs,
    name: str(o.metadata?.name),
    cls: serviceClass(svc),
    addrs: [],
  };
  const addrs: ServiceAddr[] = [];
  const add = (text: string, ip: IP) => {
    if (!addrs.some((x) => x.fam === ip.fam && x.lo === ip.v))
      addrs.push({ fam: ip.fam, lo: ip.v, hi: ip.v, text, svc: rec });
  };
  for (const a of assignedIPs(svc)) add(a.text, a.ip);
  for (const r of requestedIPs(svc)) if (r.ip && !r.dhcp) add(r.text, r.ip);
  rec.addrs = addrs;
  const share = metallbAnnotation(stringMap(o.metadata?.annotations), MLB.share, MLB.shareOld)?.value;
  if (share) rec.share = share;
  return rec;
}

interface PodSpecLike {
  containers?: unknown;
  initContainers?: unknown;
  ephemeralContainers?: unknown;
  automountServiceAccountToken?: unknown;
  serviceAccountName?: unknown;
  serviceAccount?: unknown;
  volumes?: unknown;
  nodeName?: unknown;
}

/** The pod spec of a Pod, or the template of a workload. */
export function podSpecOf(o: KubeObject): PodSpecLike | undefined {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (!spec || typeof spec !== "object") return undefined;
  if (o.kind === "Pod") return spec as PodSpecLike;
  const t = spec.template as { spec?: unknown } | undefined;
  return t && typeof t.spec === "object" && t.spec ? (t.spec as PodSpecLike) : undefined;
}

/**
 * Whether a pod gets a ServiceAccount token (kube-vip then takes its lease
 * namespace from it). Static pods never do; we recognise them by the mirror
 * annotation or, in files, by the kubeconfig hostPath under /etc/kubernetes
 * and no ServiceAccount.
 */
function tokenMounted(o: KubeObject, ps: PodSpecLike, mirror: boolean): boolean {
  if (mirror) return false;
  if (ps.automountServiceAccountToken === false) return false;
  if (o.kind === "Pod" && !ps.serviceAccountName && !ps.serviceAccount && Array.isArray(ps.volumes)) {
    const staticLike = ps.volumes.some((v) => {
      const p = (v as { hostPath?: { path?: unknown } })?.hostPath?.path;
      return typeof p === "string" && p.startsWith("/etc/kubernetes/");
    });
    if (staticLike) return false;
  }
  return true;
}

/**
 * How kube-vip reads a container, once per distinct container: the Pods of one
 * DaemonSet and every review of one manifest carry the same container, and
 * this reading is the costliest step of a workload review (BENCHMARKS.md
 * "Throughput"). The key is what the reading reads (the container's name,
 * image, command, args, env and envFrom: kubevip/effective.ts ContainerSpec)
 * as JSON, and its context (container kind, namespace, token); the cache is bounded in
 * entries and key size. A KubeVipConfig is never changed once built, so one
 * is shared by every record that reads the same container.
 */
const CONFIG_CACHE_ENTRIES = 256;
const CONFIG_CACHE_KEY_BYTES = 16 * 1024;
const configCache = new Map<string, KubeVipConfig>();

function kubeVipConfig(
  c: ContainerSpec,
  ctx: { namespace: string; tokenMounted: boolean },
  ref: ReturnType<typeof parseImage>,
  containerKind: "container" | "initContainer" | "ephemeralContainer",
): KubeVipConfig {
  const key = `${containerKind}\0${ctx.tokenMounted ? 1 : 0}\0${ctx.namespace}\0${JSON.stringify([c.name, c.image, c.command, c.args, c.env, c.envFrom])}`;
  const hit = configCache.get(key);
  if (hit) return hit;
  const cfg = effectiveConfig(c, ctx, ref, { containerKind });
  if (key.length > CONFIG_CACHE_KEY_BYTES) return cfg;
  if (configCache.size >= CONFIG_CACHE_ENTRIES) configCache.delete(configCache.keys().next().value!);
  configCache.set(key, cfg);
  return cfg;
}

export function workloadRecord(o: KubeObject, defaultNs = ""): WorkloadRec | undefined {
  const kind = o.kind as WorkloadKind;
  const namespace = str(o.metadata?.namespace) || defaultNs;
  const name = str(o.metadata?.name) || str(o.metadata?.generateName);
  const ps = podSpecOf(o);
  if (!ps) return undefined;
  const kubeVip: KubeVipConfig[] = [];
  const cloudProviders: CloudProviderConfig[] = [];
  const ann = stringMap(o.metadata?.annotations);
  const isMirror = kind === "Pod" && Object.prototype.hasOwnProperty.call(ann, MIRROR_ANNOTATION);
  const ctx = { namespace, tokenMounted: tokenMounted(o, ps, isMirror) };
  // What runs (docs/controllers.md S3): containers, every init container (a
  // native sidecar, or a plain one whose manager never exits) and ephemeral
  // containers (added through pods/ephemeralcontainers).
  for (const [containerKind, list] of [
    ["container", ps.containers],
    ["initContainer", ps.initContainers],
    ["ephemeralContainer", ps.ephemeralContainers],
  ] as const) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!c || typeof c !== "object") continue;
      const image = (c as { image?: unknown }).image;
      if (typeof image !== "string" || !image.includes("kube-vip")) continue;
      const ref = parseImage(image);
      const k = imageKindOf(ref);
      if (k === "kube-vip") kubeVip.push(kubeVipConfig(c, ctx, ref, containerKind));
      else if (k === "cloud-provider") cloudProviders.push(cloudProviderConfig(c, containerKind));
    }
  }
  if (!kubeVip.length && !cloudProviders.length) return undefined;
  let mirror: WorkloadRec["mirror"];
  let instance = `${kind}/${namespace}/${name}`;
  let owner: WorkloadRec["owner"];
  if (kind === "Pod") {
    const node = str(ps.nodeName);
    if (isMirror) {
      const manifest = node && name.endsWith(`-${node}`) ? name.slice(0, -node.length - 1) : name;
      mirror = { node, manifest };
      instance = `static/${namespace}/${manifest}`;
    } else if (Array.isArray(o.metadata?.ownerReferences)) {
      const ref = (o.metadata!.ownerReferences as { kind?: unknown; name?: unknown; controller?: unknown }[]).find(
        (r) => r && r.controller === true,
      );
      if (ref && typeof ref.kind === "string" && typeof ref.name === "string") {
        owner = { kind: ref.kind, name: ref.name };
        // the Pods of a controller are that controller's instance; a ReplicaSet named
        // <deployment>-<pod-template-hash> belongs to its Deployment
        const hash = stringMap(o.metadata?.labels)["pod-template-hash"];
        instance =
          ref.kind === "ReplicaSet" && hash && ref.name.endsWith(`-${hash}`)
            ? `Deployment/${namespace}/${ref.name.slice(0, -hash.length - 1)}`
            : `${ref.kind}/${namespace}/${ref.name}`;
      }
    }
  }
  return { kind, namespace, name, instance, mirror, owner, kubeVip, cloudProviders };
}

/** The record an object contributes to the view, or undefined when the view has no use for it. */
export function toRecord(o: KubeObject, defaultNs = ""): ViewRecord | undefined {
  if (!o || typeof o !== "object") return undefined;
  const kind = o.kind;
  const group = apiGroup(o.apiVersion);
  switch (kind) {
    case "Namespace":
      return group === ""
        ? { kind: "Namespace", name: str(o.metadata?.name), labels: stringMap(o.metadata?.labels) }
        : undefined;
    case "IPAddressPool":
      return group === "metallb.io" ? poolRecord(o, defaultNs) : undefined;
    case "Service":
      return group === "" && isLoadBalancer(o as never) ? serviceRecord(o, defaultNs) : undefined;
    case "ConfigMap": {
      if (group !== "") return undefined;
      const data = stringMap(o.data);
      if (!Object.keys(data).some(isAddressKey)) return undefined;
      return {
        kind: "ConfigMap",
        namespace: str(o.metadata?.namespace) || defaultNs,
        name: str(o.metadata?.name),
        keys: parseKubeVipData(data),
      };
    }
    default:
      if (isWorkloadKind(kind) && (kind === "Pod" ? group === "" : group === "apps")) {
        // Pods a controller owns stay in the view too: a kube-vip Pod of a Job, a bare
        // ReplicaSet or a tenant's controller has no other record; a controller and its
        // Pods share one instance key, so they never clash with each other.
        return workloadRecord(o, defaultNs);
      }
      return undefined;
  }
}
