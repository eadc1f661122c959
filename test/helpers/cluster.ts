/** Cluster views and objects for tests. */
import type { KubeObject } from "../../src/cluster/records.js";
import { MemoryView } from "../../src/cluster/view.js";
import { parseManifestText } from "../../src/k8s/manifests.js";

export function objects(yaml: string): KubeObject[] {
  const r = parseManifestText(yaml, "inline.yaml");
  if (r.error) throw new Error(r.error);
  return r.objects;
}

export function viewOf(...docs: (string | KubeObject)[]): MemoryView {
  const v = new MemoryView();
  for (const d of docs) for (const o of typeof d === "string" ? objects(d) : [d]) v.apply(o, "default");
  return v;
}

/** The example cluster of the README, as a YAML string usable in views. */
export const CLUSTER = `
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, tier: gold}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: traefik, labels: {kubernetes.io/metadata.name: traefik}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: edge, labels: {kubernetes.io/metadata.name: edge, lbguard.dev/provider: kube-vip}}}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: default, namespace: metallb-system}
  spec: {addresses: [10.0.5.0/24, "fd00:10:5::/120"]}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: shop-pool, namespace: metallb-system}
  spec:
    addresses: [10.0.6.0/25]
    autoAssign: false
    avoidBuggyIPs: true
    serviceAllocation: {namespaces: [shop], serviceSelectors: [{matchLabels: {app: web}}]}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: traefik-vip-pool, namespace: metallb-system}
  spec: {addresses: [10.0.4.248/32], serviceAllocation: {namespaces: [traefik]}}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: stray, namespace: default}
  spec: {addresses: [10.9.9.0/24]}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: kubevip, namespace: kube-system}
  data: {range-global: 10.0.4.200-10.0.4.230, cidr-kube-system: 10.0.4.232/30}
- apiVersion: v1
  kind: Service
  metadata: {name: ingress-expose, namespace: kube-system, annotations: {kube-vip.io/loadbalancerIPs: 10.0.4.210}}
  spec: {type: LoadBalancer}
  status: {loadBalancer: {ingress: [{ip: 10.0.4.210}]}}
- apiVersion: v1
  kind: Service
  metadata: {name: legacy, namespace: kube-system}
  spec: {type: LoadBalancer}
  status: {loadBalancer: {ingress: [{ip: 10.0.7.7}]}}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
  spec: {type: LoadBalancer, loadBalancerClass: metallb}
  status: {loadBalancer: {ingress: [{ip: 10.0.6.10}]}}
`;
