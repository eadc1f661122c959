/**
 * A realistic mix of admission reviews against the generated cluster
 * (bench/generate.ts): Service CREATE that gets defaulted (mutating), Service
 * UPDATE, IPAddressPool CREATE, kube-vip DaemonSet CREATE, and a status
 * UPDATE by MetalLB's controller. All allowed, as nearly all real reviews are.
 */
import type { Sizes } from "./generate.js";
import { apiServerJSON } from "../src/k8s/wire.js";
import { poolBase } from "./generate.js";

export type ReviewType = "service-create" | "service-update" | "pool-create" | "daemonset-create" | "status-update";
export const TYPES: ReviewType[] = [
  "service-create",
  "service-update",
  "pool-create",
  "daemonset-create",
  "status-update",
];

export interface MixedReview {
  type: ReviewType;
  path: "/mutate" | "/validate";
  body: string;
}

const ip4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

// in the key order kube-apiserver writes (src/k8s/wire.ts): object shapes decide what V8 compiles
function review(uid: string, req: Record<string, unknown>): string {
  return apiServerJSON({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid, ...req } });
}

function metallbService(i: number, s: Sizes, extra: Record<string, unknown> = {}) {
  let n = 1 + (i % (s.namespaces - 2));
  if (n % 10 === 0) n++; // every 10th namespace belongs to kube-vip
  const ns = `ns-${n}`;
  const ip = ip4(poolBase(i % s.pools) + 1 + (i % 14));
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: `bench-${i}`,
      namespace: ns,
      labels: { app: `app-${i}` } as Record<string, string>,
      uid: `u-${i}`,
      resourceVersion: "1",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: "metallb",
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 8443, nodePort: 30443 }],
      selector: { app: `app-${i}` },
      clusterIP: "10.96.0.10",
      clusterIPs: ["10.96.0.10"],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      sessionAffinity: "None",
      externalTrafficPolicy: "Cluster",
      allocateLoadBalancerNodePorts: true,
      internalTrafficPolicy: "Cluster",
      ...extra,
    },
    status: { loadBalancer: { ingress: [{ ip, ipMode: "VIP" }] } },
  };
}

export function mix(s: Sizes, variants = 40): MixedReview[] {
  const out: MixedReview[] = [];
  const user = {
    username: "system:serviceaccount:argocd:argocd-application-controller",
    groups: ["system:serviceaccounts", "system:authenticated"],
  };
  for (let i = 0; i < variants; i++) {
    const svcKind = { group: "", version: "v1", kind: "Service" };
    const svcRes = { group: "", version: "v1", resource: "services" };
    // 1. a new Service without a class: defaulted by the mutating webhook
    const created = metallbService(i, s);
    delete (created.spec as Record<string, unknown>).loadBalancerClass;
    created.status = { loadBalancer: {} } as never; // a new Service's status, as the API server writes it
    out.push({
      type: "service-create",
      path: "/mutate",
      body: review(`c-${i}`, {
        kind: svcKind,
        resource: svcRes,
        namespace: created.metadata.namespace,
        name: created.metadata.name,
        operation: "CREATE",
        userInfo: user,
        object: created,
        oldObject: null,
      }),
    });
    // 2. an update that relabels a Service (relevant: labels decide serviceSelectors)
    const old = metallbService(i, s);
    const now = metallbService(i, s);
    now.metadata.labels = { ...now.metadata.labels, version: `v${i}` };
    out.push({
      type: "service-update",
      path: "/validate",
      body: review(`u-${i}`, {
        kind: svcKind,
        resource: svcRes,
        namespace: now.metadata.namespace,
        name: now.metadata.name,
        operation: "UPDATE",
        userInfo: user,
        object: now,
        oldObject: old,
      }),
    });
    // 3. a new pool clear of everything
    const pool = {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: `new-${i}`, namespace: "metallb-system" },
      spec: {
        addresses: [`100.${64 + (i % 64)}.${i % 256}.0/24`, `fd00:99:${i.toString(16)}::/120`],
        autoAssign: true,
      },
    };
    out.push({
      type: "pool-create",
      path: "/validate",
      body: review(`p-${i}`, {
        kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
        resource: { group: "metallb.io", version: "v1beta1", resource: "ipaddresspools" },
        namespace: "metallb-system",
        name: pool.metadata.name,
        operation: "CREATE",
        userInfo: user,
        object: pool,
        oldObject: null,
      }),
    });
    // 4. a kube-vip DaemonSet with class isolation and a lease of its own
    const ds = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: `kube-vip-${i}`, namespace: "kube-system" },
      spec: {
        selector: { matchLabels: { app: `kube-vip-${i}` } },
        template: {
          metadata: { labels: { app: `kube-vip-${i}` } },
          spec: {
            serviceAccountName: "kube-vip",
            hostNetwork: true,
            containers: [
              {
                name: "kube-vip",
                image: "ghcr.io/kube-vip/kube-vip:v1.2.3",
                args: ["manager"],
                env: [
                  { name: "vip_arp", value: "true" },
                  { name: "vip_interface", value: "eth0" },
                  { name: "svc_enable", value: "true" },
                  { name: "lb_class_only", value: "true" },
                  { name: "lb_class_name", value: `example.com/kv-${i}` },
                  { name: "svc_leasename", value: `kv-${i}` },
                  { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                  { name: "prometheus_server", value: ":2112" },
                ],
                securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    };
    out.push({
      type: "daemonset-create",
      path: "/validate",
      body: review(`d-${i}`, {
        kind: { group: "apps", version: "v1", kind: "DaemonSet" },
        resource: { group: "apps", version: "v1", resource: "daemonsets" },
        namespace: "kube-system",
        name: ds.metadata.name,
        operation: "CREATE",
        userInfo: user,
        object: ds,
        oldObject: null,
      }),
    });
    // 5. MetalLB's controller writing status on its own Service
    const st0 = metallbService(i + 1000, s);
    const st1 = metallbService(i + 1000, s);
    st0.status = { loadBalancer: {} } as never; // an empty ingress list is omitted (omitempty)
    out.push({
      type: "status-update",
      path: "/validate",
      body: review(`s-${i}`, {
        kind: svcKind,
        resource: svcRes,
        subResource: "status",
        namespace: st1.metadata.namespace,
        name: st1.metadata.name,
        operation: "UPDATE",
        userInfo: {
          username: "system:serviceaccount:metallb-system:controller",
          uid: "6f1b3c2e-0d4a-4c55-9b61-2f4e8a7d9c10",
          groups: ["system:serviceaccounts", "system:serviceaccounts:metallb-system", "system:authenticated"],
          extra: {
            "authentication.kubernetes.io/credential-id": ["JTI=7c0e4f1a-3b2d-4e8f-a6c9-1d2b3c4d5e6f"],
            "authentication.kubernetes.io/node-name": ["node-1"],
            "authentication.kubernetes.io/pod-name": ["controller-5d8f9c7b6-q4wzt"],
          },
        },
        object: st1,
        oldObject: st0,
      }),
    });
  }
  return out;
}
