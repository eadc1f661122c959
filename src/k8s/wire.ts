/**
 * The key order in which kube-apiserver writes an AdmissionReview (docs/architecture.md,
 * "Reviews as the API server writes them"). The order matters to V8: `JSON.parse` gives objects
 * whose keys arrive in a different order different hidden classes, and code compiled for one
 * order de-optimises on the other. lbguard's warm-up (src/admission/warmup.ts) and the
 * benchmark's review mix use this module so that they look like what a cluster sends.
 *
 * - Typed objects (the review itself, built-in kinds such as Service and DaemonSet) are encoded
 *   from Go structs: fields in declaration order (k8s.io/api, k8s.io/apimachinery).
 * - Go maps (labels, annotations, selectors, ConfigMap data) are encoded with sorted keys.
 * - Custom resources (IPAddressPool, …) travel as unstructured maps: sorted keys at every level.
 *
 * Only the types lbguard admits are listed; a field a struct here does not list keeps its
 * value and goes after the listed ones, in sorted order.
 */

/** a struct: its fields in Go declaration order, each with the type of its value */
type Struct = readonly (readonly [field: string, type?: string])[];

const MAP = "map"; // a Go map: sorted keys, values kept as they are
const UNSTRUCTURED = "unstructured"; // sorted keys at every level

const STRUCTS: Record<string, Struct> = {
  AdmissionReview: [["kind"], ["apiVersion"], ["request", "AdmissionRequest"], ["response"]],
  AdmissionRequest: [
    ["uid"],
    ["kind", "GroupVersionKind"],
    ["resource", "GroupVersionResource"],
    ["subResource"],
    ["requestKind", "GroupVersionKind"],
    ["requestResource", "GroupVersionResource"],
    ["requestSubResource"],
    ["name"],
    ["namespace"],
    ["operation"],
    ["userInfo", "UserInfo"],
    ["object", "Object"],
    ["oldObject", "Object"],
    ["dryRun"],
    ["options", "Object"],
  ],
  GroupVersionKind: [["group"], ["version"], ["kind"]],
  GroupVersionResource: [["group"], ["version"], ["resource"]],
  UserInfo: [["username"], ["uid"], ["groups"], ["extra", MAP]],
  ObjectMeta: [
    ["name"],
    ["generateName"],
    ["namespace"],
    ["selfLink"],
    ["uid"],
    ["resourceVersion"],
    ["generation"],
    ["creationTimestamp"],
    ["deletionTimestamp"],
    ["deletionGracePeriodSeconds"],
    ["labels", MAP],
    ["annotations", MAP],
    ["ownerReferences", "OwnerReference"],
    ["finalizers"],
    ["managedFields", "ManagedFieldsEntry"],
  ],
  OwnerReference: [["apiVersion"], ["kind"], ["name"], ["uid"], ["controller"], ["blockOwnerDeletion"]],
  ManagedFieldsEntry: [
    ["manager"],
    ["operation"],
    ["apiVersion"],
    ["time"],
    ["fieldsType"],
    ["fieldsV1", UNSTRUCTURED],
    ["subresource"],
  ],
  Service: [["kind"], ["apiVersion"], ["metadata", "ObjectMeta"], ["spec", "ServiceSpec"], ["status", "ServiceStatus"]],
  ServiceSpec: [
    ["ports", "ServicePort"],
    ["selector", MAP],
    ["clusterIP"],
    ["clusterIPs"],
    ["type"],
    ["externalIPs"],
    ["sessionAffinity"],
    ["loadBalancerIP"],
    ["loadBalancerSourceRanges"],
    ["externalName"],
    ["externalTrafficPolicy"],
    ["healthCheckNodePort"],
    ["publishNotReadyAddresses"],
    ["sessionAffinityConfig"],
    ["ipFamilies"],
    ["ipFamilyPolicy"],
    ["allocateLoadBalancerNodePorts"],
    ["loadBalancerClass"],
    ["internalTrafficPolicy"],
    ["trafficDistribution"],
  ],
  ServicePort: [["name"], ["protocol"], ["appProtocol"], ["port"], ["targetPort"], ["nodePort"]],
  ServiceStatus: [["loadBalancer", "LoadBalancerStatus"], ["conditions"]],
  LoadBalancerStatus: [["ingress", "LoadBalancerIngress"]],
  LoadBalancerIngress: [["ip"], ["hostname"], ["ipMode"], ["ports"]],
  ConfigMap: [["kind"], ["apiVersion"], ["metadata", "ObjectMeta"], ["immutable"], ["data", MAP], ["binaryData", MAP]],
  DaemonSet: [
    ["kind"],
    ["apiVersion"],
    ["metadata", "ObjectMeta"],
    ["spec", "DaemonSetSpec"],
    ["status", UNSTRUCTURED],
  ],
  DaemonSetSpec: [
    ["selector", "LabelSelector"],
    ["template", "PodTemplateSpec"],
    ["updateStrategy", "DaemonSetUpdateStrategy"],
    ["minReadySeconds"],
    ["revisionHistoryLimit"],
  ],
  DaemonSetUpdateStrategy: [["type"], ["rollingUpdate", "RollingUpdateDaemonSet"]],
  RollingUpdateDaemonSet: [["maxUnavailable"], ["maxSurge"]],
  Deployment: [
    ["kind"],
    ["apiVersion"],
    ["metadata", "ObjectMeta"],
    ["spec", "DeploymentSpec"],
    ["status", UNSTRUCTURED],
  ],
  DeploymentSpec: [
    ["replicas"],
    ["selector", "LabelSelector"],
    ["template", "PodTemplateSpec"],
    ["strategy", UNSTRUCTURED],
    ["minReadySeconds"],
    ["revisionHistoryLimit"],
    ["paused"],
    ["progressDeadlineSeconds"],
  ],
  LabelSelector: [["matchLabels", MAP], ["matchExpressions"]],
  PodTemplateSpec: [
    ["metadata", "ObjectMeta"],
    ["spec", "PodSpec"],
  ],
  PodSpec: [
    ["volumes"],
    ["initContainers", "Container"],
    ["containers", "Container"],
    ["ephemeralContainers"],
    ["restartPolicy"],
    ["terminationGracePeriodSeconds"],
    ["activeDeadlineSeconds"],
    ["dnsPolicy"],
    ["nodeSelector", MAP],
    ["serviceAccountName"],
    ["serviceAccount"],
    ["automountServiceAccountToken"],
    ["nodeName"],
    ["hostNetwork"],
    ["hostPID"],
    ["hostIPC"],
    ["shareProcessNamespace"],
    ["securityContext"],
    ["imagePullSecrets"],
    ["hostname"],
    ["subdomain"],
    ["affinity"],
    ["schedulerName"],
    ["tolerations", "Toleration"],
    ["hostAliases"],
    ["priorityClassName"],
    ["priority"],
    ["dnsConfig"],
    ["readinessGates"],
    ["runtimeClassName"],
    ["enableServiceLinks"],
    ["preemptionPolicy"],
    ["overhead", MAP],
    ["topologySpreadConstraints"],
    ["setHostnameAsFQDN"],
    ["os"],
    ["hostUsers"],
  ],
  Toleration: [["key"], ["operator"], ["value"], ["effect"], ["tolerationSeconds"]],
  Container: [
    ["name"],
    ["image"],
    ["command"],
    ["args"],
    ["workingDir"],
    ["ports", "ContainerPort"],
    ["envFrom"],
    ["env", "EnvVar"],
    ["resources", "ResourceRequirements"],
    ["resizePolicy"],
    ["restartPolicy"],
    ["volumeMounts"],
    ["volumeDevices"],
    ["livenessProbe"],
    ["readinessProbe"],
    ["startupProbe"],
    ["lifecycle"],
    ["terminationMessagePath"],
    ["terminationMessagePolicy"],
    ["imagePullPolicy"],
    ["securityContext", "SecurityContext"],
    ["stdin"],
    ["stdinOnce"],
    ["tty"],
  ],
  ContainerPort: [["name"], ["hostPort"], ["containerPort"], ["protocol"], ["hostIP"]],
  EnvVar: [["name"], ["value"], ["valueFrom", "EnvVarSource"]],
  EnvVarSource: [["fieldRef", "ObjectFieldSelector"], ["resourceFieldRef"], ["configMapKeyRef"], ["secretKeyRef"]],
  ObjectFieldSelector: [["apiVersion"], ["fieldPath"]],
  ResourceRequirements: [["limits", MAP], ["requests", MAP], ["claims"]],
  SecurityContext: [
    ["capabilities", "Capabilities"],
    ["privileged"],
    ["seLinuxOptions"],
    ["windowsOptions"],
    ["runAsUser"],
    ["runAsGroup"],
    ["runAsNonRoot"],
    ["readOnlyRootFilesystem"],
    ["allowPrivilegeEscalation"],
    ["procMount"],
    ["seccompProfile"],
    ["appArmorProfile"],
  ],
  Capabilities: [["add"], ["drop"]],
};

/** the built-in kinds by `apiVersion kind`; every other object is a custom resource */
const BUILT_IN: Record<string, string> = {
  "v1 Service": "Service",
  "v1 ConfigMap": "ConfigMap",
  "apps/v1 DaemonSet": "DaemonSet",
  "apps/v1 Deployment": "Deployment",
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `out[k] = v`, also for a key named "__proto__" (JSON.parse makes it an own key; keep it one) */
function put(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__")
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

function sortedKeys(o: Record<string, unknown>, deep: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) put(out, k, deep ? encode(o[k], UNSTRUCTURED) : o[k]);
  return out;
}

function encode(v: unknown, type: string | undefined): unknown {
  if (Array.isArray(v)) return v.map((x) => encode(x, type));
  if (type === undefined || !isRecord(v)) return v;
  if (type === MAP) return sortedKeys(v, false);
  if (type === UNSTRUCTURED) return sortedKeys(v, true);
  if (type === "Object") return encode(v, BUILT_IN[`${String(v.apiVersion)} ${String(v.kind)}`] ?? UNSTRUCTURED);
  const struct = STRUCTS[type];
  if (!struct) return v;
  const out: Record<string, unknown> = {};
  for (const [field, t] of struct) if (Object.hasOwn(v, field)) put(out, field, encode(v[field], t));
  for (const k of Object.keys(v).sort()) if (!Object.hasOwn(out, k)) put(out, k, v[k]);
  return out;
}

/** A copy of `review` (an AdmissionReview) with its keys in the order kube-apiserver writes them. */
export function apiServerOrder<T>(review: T): T {
  return encode(review, "AdmissionReview") as T;
}

/** `JSON.stringify` of an AdmissionReview as kube-apiserver would send it (key order only). */
export function apiServerJSON(review: unknown): string {
  return JSON.stringify(apiServerOrder(review));
}

/**
 * The head of the HTTP request in which kube-apiserver sends a review (its webhook client is Go's
 * net/http): the path with `?timeout=`, then Host, User-Agent and Content-Length, the request's
 * own headers sorted, and the Accept-Encoding the transport adds. Node's HTTP parser builds
 * `req.headers` in this order, so it is part of the shapes the warm-up teaches.
 */
export function apiServerRequestHead(path: string, contentLength: number, host: string, timeoutS = 10): string {
  return (
    `POST ${path}?timeout=${timeoutS}s HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: kube-apiserver-admission\r\n` +
    `Content-Length: ${contentLength}\r\nAccept: application/json, */*\r\nContent-Type: application/json\r\n` +
    `Accept-Encoding: gzip\r\n\r\n`
  );
}
