/**
 * A large synthetic cluster for benchmarks: namespaces, MetalLB pools,
 * LoadBalancer Services (kube-vip's class-less ones and MetalLB's), a
 * kube-vip ConfigMap with many ranges and a few kube-vip workloads.
 * Deterministic: the same sizes always give the same objects.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "../src/cluster/records.js";

export interface Sizes {
  namespaces: number;
  pools: number;
  /** LoadBalancer Services in all */
  services: number;
  /** share of Services owned by kube-vip (class-less under the Harvester policy) */
  kubeVipShare: number;
  kubeVipRanges: number;
}

export const FULL: Sizes = {
  namespaces: 10_000,
  pools: 10_000,
  services: 100_000,
  kubeVipShare: 0.5,
  kubeVipRanges: 50,
};
export const QUICK: Sizes = { namespaces: 1_000, pools: 1_000, services: 10_000, kubeVipShare: 0.5, kubeVipRanges: 50 };

const ip4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
/** pools live in 10.64.0.0/10: pool i is a /28 */
export const poolBase = (i: number) => ((10 << 24) | (64 << 16)) + i * 16;
/** kube-vip Service addresses live in 172.16.0.0/12 */
const kvBase = (172 << 24) | (16 << 16);
/** kube-vip cloud-provider ranges live in 192.168.0.0/16: range r is a /24 */
const rangeBase = (r: number) => ((192 << 24) | (168 << 16)) + r * 256;

export function* generate(s: Sizes): Generator<KubeObject> {
  for (let i = 0; i < s.namespaces; i++) {
    const labels: Record<string, string> = { "kubernetes.io/metadata.name": `ns-${i}`, team: `t${i % 50}` };
    if (i % 10 === 0) labels["lbguard.dev/provider"] = "kube-vip";
    yield { apiVersion: "v1", kind: "Namespace", metadata: { name: `ns-${i}`, labels } };
  }
  for (let i = 0; i < s.pools; i++) {
    const spec: Record<string, unknown> = { addresses: [`${ip4(poolBase(i))}/28`] };
    if (i % 4 === 0) spec.addresses = [`${ip4(poolBase(i))}/28`, `fd00:64::${i.toString(16)}:0/124`];
    if (i % 3 === 0) spec.serviceAllocation = { namespaces: [`ns-${i % s.namespaces}`] };
    yield {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: `pool-${i}`, namespace: "metallb-system" },
      spec,
    };
  }
  const kv = Math.round(s.services * s.kubeVipShare);
  for (let i = 0; i < s.services; i++) {
    const ns = `ns-${i % s.namespaces}`;
    const kubeVip = i < kv;
    const ip = kubeVip ? ip4(kvBase + i) : ip4(poolBase((i - kv) % s.pools) + 1 + ((i - kv) % 14));
    const spec: Record<string, unknown> = { type: "LoadBalancer", ports: [{ port: 443, protocol: "TCP" }] };
    if (!kubeVip) spec.loadBalancerClass = "metallb";
    yield {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: `svc-${i}`,
        namespace: ns,
        ...(kubeVip ? { annotations: { "kube-vip.io/loadbalancerIPs": ip } } : {}),
      },
      spec,
      status: { loadBalancer: { ingress: [{ ip }] } },
    };
  }
  const data: Record<string, string> = {};
  for (let r = 0; r < s.kubeVipRanges; r++)
    data[r === 0 ? "range-global" : `range-ns-${r}`] = `${ip4(rangeBase(r) + 10)}-${ip4(rangeBase(r) + 200)}`;
  yield { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kubevip", namespace: "kube-system" }, data };
  for (let n = 0; n < 3; n++)
    yield {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `kube-vip-cp${n}`,
        namespace: "kube-system",
        annotations: { "kubernetes.io/config.mirror": "x" },
      },
      spec: {
        nodeName: `cp${n}`,
        containers: [
          {
            name: "kube-vip",
            image: "ghcr.io/kube-vip/kube-vip:v1.2.3",
            args: ["manager"],
            env: [
              { name: "cp_enable", value: "true" },
              { name: "vip_arp", value: "true" },
              { name: "address", value: "10.0.4.247" },
            ],
          },
        ],
      },
    };
}

/** The Harvester-layout policy the benchmarks run under. */
export const BENCH_POLICY = `apiVersion: lbguard.dev/v1alpha1
kind: OwnershipPolicy
metadata: {name: bench}
spec:
  providers:
    metallb:
      loadBalancerClass: metallb
      namespace: metallb-system
      identities: [system:serviceaccount:metallb-system:controller]
    kube-vip:
      loadBalancerClass: null
      namespace: kube-system
      configMap: kube-system/kubevip
      identities: [system:serviceaccount:kube-system:kube-vip, kubernetes-admin]
      controlPlaneVIPs: [10.0.4.247]
  defaultProvider: metallb
  namespaces:
    - names: [kube-system]
      provider: kube-vip
    - selector: {matchLabels: {lbguard.dev/provider: kube-vip}}
      provider: kube-vip
      allowedProviders: [kube-vip, metallb]
  reservedAddresses: [10.0.4.1/32]
`;

/**
 * Write a generated cluster the way `kubectl get <resource> -o json` would:
 * one List per resource, Services in chunks of 10,000.
 */
export function writeState(dir: string, s: Sizes): void {
  const byKind = new Map<string, KubeObject[]>();
  for (const o of generate(s)) {
    const k = String(o.kind);
    if (!byKind.has(k)) byKind.set(k, []);
    byKind.get(k)!.push(o);
  }
  mkdirSync(dir, { recursive: true });
  for (const [kind, items] of byKind)
    for (let i = 0; i < items.length; i += 10_000)
      writeFileSync(
        join(dir, `${kind.toLowerCase()}s-${String(i / 10_000).padStart(2, "0")}.json`),
        JSON.stringify({ apiVersion: "v1", kind: "List", items: items.slice(i, i + 10_000) }),
      );
}
