/**
 * What the live source keeps of each object: exactly the fields the view's
 * records read, plus name, namespace and resourceVersion. Objects the view
 * has no use for (non-LoadBalancer Services, pods without kube-vip) shrink to
 * a stub the informer still needs for its bookkeeping.
 */
import { isAddressKey } from "../addr/kubevip.js";
import { kubeVipImageKind } from "../kubevip/image.js";
import type { KubeObject } from "./records.js";
import { MIRROR_ANNOTATION } from "./records.js";

type Obj = Record<string, any>;

function meta(o: Obj, extra: Obj = {}): Obj {
  const m = o.metadata ?? {};
  const out: Obj = { name: m.name, resourceVersion: m.resourceVersion };
  if (m.namespace) out.namespace = m.namespace;
  return Object.assign(out, extra);
}

function pick(src: Obj | undefined, keep: (k: string) => boolean): Obj | undefined {
  if (!src || typeof src !== "object") return undefined;
  let out: Obj | undefined;
  for (const k of Object.keys(src)) if (keep(k)) (out ??= {})[k] = src[k];
  return out;
}

const SERVICE_ANNOTATION = (k: string) =>
  k.startsWith("metallb.io/") || k.startsWith("metallb.universe.tf/") || k.startsWith("kube-vip.io/");

export function slimService(o: Obj): KubeObject {
  const spec = o.spec ?? {};
  if (spec.type !== "LoadBalancer")
    return { apiVersion: "v1", kind: "Service", metadata: meta(o), spec: { type: spec.type } };
  const annotations = pick(o.metadata?.annotations, SERVICE_ANNOTATION);
  const s: Obj = { type: "LoadBalancer" };
  if (spec.loadBalancerClass) s.loadBalancerClass = spec.loadBalancerClass;
  if (spec.loadBalancerIP) s.loadBalancerIP = spec.loadBalancerIP;
  const ingress = Array.isArray(o.status?.loadBalancer?.ingress)
    ? o.status.loadBalancer.ingress.filter((i: Obj) => i && i.ip).map((i: Obj) => ({ ip: i.ip }))
    : undefined;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(o, annotations ? { annotations } : {}),
    spec: s,
    ...(ingress?.length ? { status: { loadBalancer: { ingress } } } : {}),
  };
}

export function slimNamespace(o: Obj): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: meta(o, { labels: o.metadata?.labels ?? {} }) };
}

export function slimPool(o: Obj): KubeObject {
  const spec = o.spec ?? {};
  return {
    apiVersion: "metallb.io/v1beta1",
    kind: "IPAddressPool",
    metadata: meta(o),
    spec: {
      addresses: spec.addresses,
      autoAssign: spec.autoAssign,
      avoidBuggyIPs: spec.avoidBuggyIPs,
      serviceAllocation: spec.serviceAllocation,
    },
  };
}

export function slimConfigMap(o: Obj): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(o), data: pick(o.data, isAddressKey) ?? {} };
}

/** The kube-vip containers of a list, with only what src/kubevip reads. */
function slimContainers(list: unknown): Obj[] {
  return (Array.isArray(list) ? list : [])
    .filter((c: Obj) => kubeVipImageKind(c?.image))
    .map((c: Obj) => ({
      name: c.name,
      image: c.image,
      command: c.command,
      args: c.args,
      env: c.env,
      envFrom: c.envFrom,
    }));
}

function slimPodSpec(ps: Obj | undefined): Obj | undefined {
  if (!ps) return undefined;
  // every container that runs counts (docs/controllers.md S3)
  const containers = slimContainers(ps.containers);
  const initContainers = slimContainers(ps.initContainers);
  const ephemeralContainers = slimContainers(ps.ephemeralContainers);
  if (!containers.length && !initContainers.length && !ephemeralContainers.length) return undefined;
  const volumes = Array.isArray(ps.volumes)
    ? ps.volumes
        .filter((v: Obj) => v?.hostPath)
        .map((v: Obj) => ({ name: v.name, hostPath: { path: v.hostPath.path } }))
    : undefined;
  return {
    containers,
    ...(initContainers.length ? { initContainers } : {}),
    ...(ephemeralContainers.length ? { ephemeralContainers } : {}),
    nodeName: ps.nodeName,
    automountServiceAccountToken: ps.automountServiceAccountToken,
    serviceAccountName: ps.serviceAccountName,
    ...(volumes?.length ? { volumes } : {}),
  };
}

export function slimPod(o: Obj): KubeObject {
  const spec = slimPodSpec(o.spec);
  const m = o.metadata ?? {};
  const extra: Obj = {};
  if (spec) {
    const mirror = pick(m.annotations, (k) => k === MIRROR_ANNOTATION);
    if (mirror) extra.annotations = mirror;
    const owner = Array.isArray(m.ownerReferences) ? m.ownerReferences.find((r: Obj) => r?.controller) : undefined;
    if (owner) extra.ownerReferences = [{ kind: owner.kind, name: owner.name, controller: true }];
    const hash = m.labels?.["pod-template-hash"];
    if (hash) extra.labels = { "pod-template-hash": hash };
  }
  return { apiVersion: "v1", kind: "Pod", metadata: meta(o, extra), ...(spec ? { spec } : {}) };
}

export function slimWorkload(kind: "DaemonSet" | "Deployment" | "StatefulSet") {
  return (o: Obj): KubeObject => {
    const spec = slimPodSpec(o.spec?.template?.spec);
    return { apiVersion: "apps/v1", kind, metadata: meta(o), ...(spec ? { spec: { template: { spec } } } : {}) };
  };
}
