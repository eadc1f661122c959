/** AdmissionReviews as the API server sends them. */
import { randomUUID } from "node:crypto";
import jsonpatch from "fast-json-patch";
import type { KubeObject } from "../../src/cluster/records.js";
import type { AdmissionInput, Operation } from "../../src/rules/types.js";

const KINDS: Record<string, { group: string; version: string; resource: string }> = {
  Service: { group: "", version: "v1", resource: "services" },
  ConfigMap: { group: "", version: "v1", resource: "configmaps" },
  Pod: { group: "", version: "v1", resource: "pods" },
  IPAddressPool: { group: "metallb.io", version: "v1beta1", resource: "ipaddresspools" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
};

export interface ReqOpts {
  operation?: Operation;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  user?: string;
  subResource?: string;
  namespace?: string;
  kind?: string;
}

export function request(o: ReqOpts): AdmissionInput {
  const obj = o.object ?? o.oldObject ?? undefined;
  const kind = o.kind ?? (obj?.kind as string) ?? "Service";
  const k = KINDS[kind] ?? { group: "example.com", version: "v1", resource: kind.toLowerCase() + "s" };
  const ns = o.namespace ?? (obj?.metadata?.namespace as string | undefined);
  return {
    uid: randomUUID(),
    kind: { group: k.group, version: k.version, kind },
    resource: { group: k.group, version: k.version, resource: k.resource },
    subResource: o.subResource,
    name: (obj?.metadata?.name as string) ?? "",
    namespace: ns,
    operation: o.operation ?? "CREATE",
    userInfo: { username: o.user ?? "alice", groups: ["system:authenticated"] },
    object: o.object === undefined ? null : o.object,
    oldObject: o.oldObject ?? null,
  };
}

export function reviewBody(o: ReqOpts | AdmissionInput): string {
  const req = "uid" in o ? o : request(o);
  return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: req });
}

export interface SvcOpts {
  ns?: string;
  name?: string;
  cls?: string | null;
  type?: string;
  ip?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  status?: string[];
}

export function svc(o: SvcOpts = {}): KubeObject {
  const spec: Record<string, unknown> = {
    type: o.type ?? "LoadBalancer",
    ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
    selector: { app: "web" },
  };
  if (o.cls !== undefined && o.cls !== null) spec.loadBalancerClass = o.cls;
  if (o.ip !== undefined) spec.loadBalancerIP = o.ip;
  const metadata: Record<string, unknown> = { name: o.name ?? "web", namespace: o.ns ?? "shop" };
  if (o.annotations) metadata.annotations = o.annotations;
  if (o.labels) metadata.labels = o.labels;
  const s: KubeObject = { apiVersion: "v1", kind: "Service", metadata, spec };
  if (o.status) s.status = { loadBalancer: { ingress: o.status.map((ip) => ({ ip })) } };
  return s;
}

/** Apply a base64 JSONPatch from a response to an object, as the API server does. */
export function applyReviewPatch(obj: KubeObject, patchB64: string | undefined): KubeObject {
  if (!patchB64) return obj;
  const ops = JSON.parse(Buffer.from(patchB64, "base64").toString("utf8"));
  const errors = jsonpatch.validate(ops, obj);
  if (errors) throw errors;
  return jsonpatch.applyPatch(structuredClone(obj), ops, true, false).newDocument as KubeObject;
}
