/**
 * Pods for the memory benchmark (bench/live-memory.ts --pods N): N Pods
 * across the generated namespaces, of which a few run kube-vip (in tenant
 * namespaces, owned by Jobs and ReplicaSets, each with a control-plane VIP of
 * its own) and the rest are ordinary application Pods of the size the API
 * server lists them at: Deployment Pods with labels, owner reference,
 * managedFields, two containers with probes, resources, env and mounts, a
 * projected service-account volume and a full status (about 6 KB of JSON
 * each). Deterministic. The nested parts that do not vary are shared between
 * Pods (the fake API server holds them once; lbguard parses each Pod from
 * its own JSON anyway).
 */
import type { KubeObject } from "../src/cluster/records.js";

export interface PodSizes {
  /** Pods in all */
  pods: number;
  /** of which run kube-vip */
  kubeVip: number;
  /** spread over ns-0 … ns-(namespaces-1) */
  namespaces: number;
}

const ip4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
/** the control-plane VIP of kube-vip Pod k: 10.250.0.(k+1), outside every generated pool and Service */
export const kubeVipPodVIP = (k: number) => ip4(((10 << 24) | (250 << 16)) + k + 1);

const hex = (n: number, len: number) => (n >>> 0).toString(16).padStart(len, "0").slice(-len);
const ts = "2025-01-15T10:20:30Z";

const APP_CONTAINER = {
  name: "app",
  image: "registry.example.com/team/shop-frontend:v2.14.3",
  imagePullPolicy: "IfNotPresent",
  ports: [
    { name: "http", containerPort: 8080, protocol: "TCP" },
    { name: "metrics", containerPort: 9090, protocol: "TCP" },
  ],
  env: [
    { name: "LOG_LEVEL", value: "info" },
    { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "shop-db", key: "url" } } },
    { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } } },
    { name: "FEATURE_FLAGS", value: "checkout-v2,search-ranking,recommendations" },
  ],
  resources: { limits: { cpu: "1", memory: "512Mi" }, requests: { cpu: "100m", memory: "256Mi" } },
  livenessProbe: {
    httpGet: { path: "/healthz", port: "http", scheme: "HTTP" },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
  },
  readinessProbe: {
    httpGet: { path: "/readyz", port: "http", scheme: "HTTP" },
    periodSeconds: 5,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
  },
  volumeMounts: [
    { name: "config", mountPath: "/etc/shop", readOnly: true },
    { name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
  ],
  terminationMessagePath: "/dev/termination-log",
  terminationMessagePolicy: "File",
};

const SIDECAR = {
  name: "envoy",
  image: "docker.io/envoyproxy/envoy:v1.31.2",
  imagePullPolicy: "IfNotPresent",
  args: ["-c", "/etc/envoy/envoy.yaml", "--service-cluster", "shop-frontend"],
  ports: [{ name: "proxy", containerPort: 15001, protocol: "TCP" }],
  resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "50m", memory: "64Mi" } },
  volumeMounts: [
    { name: "envoy-config", mountPath: "/etc/envoy", readOnly: true },
    { name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
  ],
  terminationMessagePath: "/dev/termination-log",
  terminationMessagePolicy: "File",
};

const SPEC_REST = {
  volumes: [
    { name: "config", configMap: { name: "shop-frontend", defaultMode: 420 } },
    { name: "envoy-config", configMap: { name: "envoy", defaultMode: 420 } },
    {
      name: "kube-api-access",
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
            },
          },
        ],
      },
    },
  ],
  containers: [APP_CONTAINER, SIDECAR],
  restartPolicy: "Always",
  terminationGracePeriodSeconds: 30,
  dnsPolicy: "ClusterFirst",
  serviceAccountName: "shop-frontend",
  serviceAccount: "shop-frontend",
  securityContext: { runAsNonRoot: true, fsGroup: 2000 },
  schedulerName: "default-scheduler",
  tolerations: [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  ],
  priority: 0,
  enableServiceLinks: true,
  preemptionPolicy: "PreemptLowerPriority",
};

const MANAGED_FIELDS = [
  {
    manager: "kube-controller-manager",
    operation: "Update",
    apiVersion: "v1",
    time: ts,
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:metadata": {
        "f:generateName": {},
        "f:labels": { ".": {}, "f:app": {}, "f:pod-template-hash": {}, "f:tier": {} },
        "f:ownerReferences": { ".": {}, 'k:{"uid":"4c1e4c59-0d7e-4a39-9c39-5c1b9f8f7a11"}': {} },
      },
      "f:spec": {
        "f:containers": { 'k:{"name":"app"}': { ".": {}, "f:env": {}, "f:image": {}, "f:livenessProbe": {} } },
        "f:volumes": { 'k:{"name":"config"}': { ".": {}, "f:configMap": {} } },
      },
    },
  },
  {
    manager: "kubelet",
    operation: "Update",
    apiVersion: "v1",
    time: ts,
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:status": {
        "f:conditions": { 'k:{"type":"Ready"}': { ".": {}, "f:lastProbeTime": {}, "f:status": {} } },
        "f:containerStatuses": {},
        "f:hostIP": {},
        "f:phase": {},
        "f:podIP": {},
        "f:podIPs": { ".": {}, 'k:{"ip":"10.42.0.0"}': { ".": {}, "f:ip": {} } },
        "f:startTime": {},
      },
    },
    subresource: "status",
  },
];

const CONDITIONS = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(
  (type) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: ts }),
);

type Obj = Record<string, unknown>;

function ordinaryPod(i: number, s: PodSizes): Obj {
  const ns = `ns-${i % s.namespaces}`;
  const app = `app-${Math.floor(i / s.namespaces) % 20}`;
  const hash = hex(i * 2654435761, 10);
  const rs = `${app}-${hash}`;
  const name = `${rs}-${hex(i * 40503 + 7, 5)}`;
  const podIP = ip4(((10 << 24) | (42 << 16)) + i);
  const node = `worker-${i % 200}`;
  const uid = `${hex(i, 8)}-0d7e-4a39-9c39-${hex(i * 31, 12)}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      generateName: `${rs}-`,
      namespace: ns,
      uid,
      creationTimestamp: ts,
      labels: { app, tier: "frontend", "pod-template-hash": hash },
      annotations: {
        "kubectl.kubernetes.io/restartedAt": ts,
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: rs,
          uid: "4c1e4c59-0d7e-4a39-9c39-5c1b9f8f7a11",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: MANAGED_FIELDS,
    },
    spec: { ...SPEC_REST, nodeName: node },
    status: {
      phase: "Running",
      conditions: CONDITIONS,
      hostIP: ip4(((10 << 24) | (0 << 16) | (1 << 8)) + (i % 200)),
      hostIPs: [{ ip: ip4(((10 << 24) | (0 << 16) | (1 << 8)) + (i % 200)) }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: ts,
      qosClass: "Burstable",
      containerStatuses: [APP_CONTAINER, SIDECAR].map((c) => ({
        name: c.name,
        state: { running: { startedAt: ts } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: c.image,
        imageID: `${c.image.split(":")[0]}@sha256:${hex(i, 8).repeat(8)}`,
        containerID: `containerd://${hex(i * 7, 16).repeat(4)}`,
        started: true,
      })),
    },
  };
}

/** kube-vip Pod k: in a tenant namespace, owned by a Job (even k) or a ReplicaSet (odd k), binding its own VIP. */
function kubeVipPod(k: number, s: PodSizes): Obj {
  const ns = `ns-${(k * 997 + 3) % s.namespaces}`;
  const owner = k % 2 === 0 ? { kind: "Job", name: `kv-job-${k}` } : { kind: "ReplicaSet", name: `kv-${k}-5d8f9c7b6` };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${owner.name}-${hex(k, 5)}`,
      namespace: ns,
      uid: `kv-${k}`,
      ...(owner.kind === "ReplicaSet" ? { labels: { "pod-template-hash": "5d8f9c7b6" } } : {}),
      ownerReferences: [
        { apiVersion: owner.kind === "Job" ? "batch/v1" : "apps/v1", ...owner, uid: `o-${k}`, controller: true },
      ],
    },
    spec: {
      nodeName: `worker-${k}`,
      hostNetwork: true,
      containers: [
        {
          name: "kube-vip",
          image: "ghcr.io/kube-vip/kube-vip:v1.0.4",
          args: ["manager"],
          env: [
            { name: "vip_arp", value: "true" },
            { name: "cp_enable", value: "true" },
            { name: "address", value: kubeVipPodVIP(k) },
          ],
        },
      ],
    },
  };
}

/** The Pods, kube-vip's spread evenly among the ordinary ones. */
export function* generatePods(s: PodSizes): Generator<KubeObject> {
  const every = s.kubeVip ? Math.floor(s.pods / s.kubeVip) : Infinity;
  let k = 0;
  for (let i = 0; i < s.pods; i++) {
    yield (k < s.kubeVip && i % every === 0 ? kubeVipPod(k++, s) : ordinaryPod(i, s)) as KubeObject;
  }
}
