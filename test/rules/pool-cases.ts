/** Pool and kube-vip ConfigMap cases, run through the rules and through HTTPS. */
import type { KubeObject } from "../../src/cluster/records.js";
import type { ReqOpts } from "../helpers/review.js";
import { Expected, withPatterns } from "./expected.js";

export function pool(
  name: string,
  addresses: unknown,
  extra: Record<string, unknown> = {},
  ns = "metallb-system",
): KubeObject {
  return {
    apiVersion: "metallb.io/v1beta1",
    kind: "IPAddressPool",
    metadata: { name, namespace: ns },
    spec: { addresses, ...extra },
  };
}

export function kubevipCM(data: Record<string, unknown>, name = "kubevip", ns = "kube-system"): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data } as KubeObject;
}

export interface Case extends Expected {
  what: string;
  req: ReqOpts;
  allowed: boolean;
  /** `denial` as an exact pattern (filled in by withPatterns) */
  message?: RegExp;
  /** `warnings` joined by newlines, as an exact pattern (filled in by withPatterns) */
  warning?: RegExp;
}

/** Against CLUSTER (test/helpers/cluster.ts) under KUBEVIP_NULL plus EXTRA below. */
export const EXTRA = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: dns6, namespace: kube-system}
  spec: {type: LoadBalancer}
  status: {loadBalancer: {ingress: [{ip: "fd00:4::53"}]}}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: kube-vip-ds, namespace: kube-system}
  spec:
    template:
      spec:
        containers:
        - name: kube-vip
          image: ghcr.io/kube-vip/kube-vip:v1.2.3
          args: [manager]
          env:
          - {name: cp_enable, value: "true"}
          - {name: vip_arp, value: "true"}
          - {name: address, value: 10.0.4.250}
`;

export const POOL_CASES: Case[] = withPatterns<Case>([
  {
    what: "a pool clear of everything (IPv4 and IPv6)",
    req: { object: pool("new", ["10.0.8.0/24", "fd00:10:8::/120"]) },
    allowed: true,
    rules: [],
  },
  {
    what: "the SPEC example: a pool over the control-plane VIP",
    req: { object: pool("new", ["10.0.4.240/29"]) },
    allowed: false,
    rules: ["pool.kube-vip"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.4.240/29 overlaps 10.0.4.247, the kube-vip control-plane VIP; MetalLB would hand out addresses kube-vip uses",
  },
  {
    what: "a pool over a control-plane VIP read from a kube-vip DaemonSet",
    req: { object: pool("new", ["10.0.4.250-10.0.4.251"]) },
    allowed: false,
    rules: ["pool.kube-vip"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.4.250-10.0.4.251 overlaps 10.0.4.250, the kube-vip control-plane VIP (DaemonSet kube-system/kube-vip-ds); MetalLB would hand out addresses kube-vip uses",
  },
  {
    what: "a pool over the kube-vip cloud-provider range",
    req: { object: pool("new", ["10.0.4.192/27"]) },
    allowed: false,
    rules: ["pool.kube-vip", "pool.kube-vip"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.4.192/27 overlaps 10.0.4.200-10.0.4.230 in ConfigMap kube-system/kubevip key range-global; MetalLB would hand out addresses kube-vip uses (+1 more)",
  },
  {
    what: "a pool over an address a kube-vip Service uses",
    req: { object: pool("new", ["10.0.7.0/28"]) },
    allowed: false,
    rules: ["pool.kube-vip"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.7.0/28 overlaps 10.0.7.7, in use by kube-vip Service kube-system/legacy; MetalLB would hand out addresses kube-vip uses",
  },
  {
    what: "an IPv6 pool over a kube-vip Service's IPv6 address",
    req: { object: pool("new", ["fd00:4::/64"]) },
    allowed: false,
    rules: ["pool.kube-vip"],
    denial:
      "IPAddressPool metallb-system/new: fd00:4::/64 overlaps fd00:4::53, in use by kube-vip Service kube-system/dns6; MetalLB would hand out addresses kube-vip uses",
  },
  {
    what: "a pool over a reserved address",
    req: { object: pool("new", ["10.0.4.0/30"]) },
    allowed: false,
    rules: ["pool.reserved"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.4.0/30 overlaps 10.0.4.1/32 in reservedAddresses; keep reserved addresses out of pools",
  },
  {
    what: "a pool over another pool",
    req: { object: pool("new", ["10.0.5.128-10.0.5.140"]) },
    allowed: false,
    rules: ["pool.overlap"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.5.128-10.0.5.140 overlaps 10.0.5.0/24 of IPAddressPool metallb-system/default; pools must not overlap",
  },
  {
    what: "an IPv6 pool over another pool",
    req: { object: pool("new", ["fd00:10:5::80/121"]) },
    allowed: false,
    rules: ["pool.overlap"],
    denial:
      "IPAddressPool metallb-system/new: fd00:10:5::80/121 overlaps fd00:10:5::/120 of IPAddressPool metallb-system/default; pools must not overlap",
  },
  {
    what: "a pool overlapping itself",
    req: { object: pool("same", ["10.0.8.0/24", "10.0.8.5-10.0.8.10"]) },
    allowed: false,
    rules: ["pool.self-overlap"],
    denial:
      "IPAddressPool metallb-system/same: 10.0.8.5-10.0.8.10 overlaps 10.0.8.0/24 earlier in the same pool; MetalLB refuses overlapping entries",
  },
  {
    what: "findings in the order reserved, kube-vip, pools, self",
    req: { object: pool("many", ["10.0.5.0/30", "10.0.5.0/30", "10.0.4.0/24"]) },
    allowed: false,
    rules: [
      "pool.reserved",
      "pool.kube-vip",
      "pool.kube-vip",
      "pool.overlap",
      "pool.overlap",
      "pool.overlap",
      "pool.self-overlap",
    ],
    denial:
      "IPAddressPool metallb-system/many: 10.0.4.0/24 overlaps 10.0.4.1/32 in reservedAddresses; keep reserved addresses out of pools; also: 10.0.4.0/24 overlaps 10.0.4.247, the kube-vip control-plane VIP; MetalLB would hand out addresses kube-vip uses (+5 more)",
  },
  {
    what: "an UPDATE that keeps its own addresses",
    req: {
      operation: "UPDATE",
      oldObject: pool("default", ["10.0.5.0/24"]),
      object: pool("default", ["10.0.5.0/24", "fd00:10:5::/120", "10.0.8.0/24"]),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "an UPDATE growing into another pool",
    req: {
      operation: "UPDATE",
      oldObject: pool("default", ["10.0.5.0/24"]),
      object: pool("default", ["10.0.5.0/24", "10.0.6.0/24"]),
    },
    allowed: false,
    rules: ["pool.overlap"],
    denial:
      "IPAddressPool metallb-system/default: 10.0.6.0/24 overlaps 10.0.6.0/25 of IPAddressPool metallb-system/shop-pool; pools must not overlap",
  },
  {
    what: "a pool outside MetalLB's namespace",
    req: { object: pool("lost", ["10.0.8.0/24"], {}, "default") },
    allowed: false,
    rules: ["pool.namespace"],
    denial:
      "IPAddressPool default/lost: MetalLB only reads pools in metallb-system and would ignore this one; create it in metallb-system",
  },
  {
    what: "a bare IP",
    req: { object: pool("new", ["10.0.8.1"]) },
    allowed: false,
    rules: ["pool.parse"],
    denial:
      'IPAddressPool metallb-system/new: MetalLB cannot parse "10.0.8.1": invalid CIDR "10.0.8.1"; write 10.0.8.1/32 for a single address',
  },
  {
    what: "a CIDR with a space",
    req: { object: pool("new", [" 10.0.8.0/24"]) },
    allowed: false,
    rules: ["pool.parse"],
    denial:
      'IPAddressPool metallb-system/new: MetalLB cannot parse " 10.0.8.0/24": invalid CIDR " 10.0.8.0/24"; remove the spaces',
  },
  {
    what: "leading zeros",
    req: { object: pool("new", ["010.0.8.0/24"]) },
    allowed: false,
    rules: ["pool.parse"],
    denial:
      'IPAddressPool metallb-system/new: MetalLB cannot parse "010.0.8.0/24": invalid CIDR "010.0.8.0/24"; drop the leading zeros',
  },
  {
    what: "an inverted range",
    req: { object: pool("new", ["10.0.8.9-10.0.8.1"]) },
    allowed: false,
    rules: ["pool.parse"],
    denial:
      'IPAddressPool metallb-system/new: MetalLB cannot parse "10.0.8.9-10.0.8.1": invalid IP range "10.0.8.9-10.0.8.1": start IP "10.0.8.9" is after the end IP "10.0.8.1"; write 10.0.8.1-10.0.8.9 if that range was meant',
  },
  {
    what: "an empty address list",
    req: { object: pool("new", []) },
    allowed: false,
    rules: ["pool.empty"],
    denial:
      'IPAddressPool metallb-system/new: spec.addresses is empty; MetalLB refuses it ("pool has no prefixes defined"); add at least one CIDR or range',
  },
  {
    what: "addresses that are not a list",
    req: { object: pool("new", "10.0.8.0/24") },
    allowed: false,
    rules: ["pool.parse"],
    denial: "IPAddressPool metallb-system/new: spec.addresses must be a list of CIDRs or ranges",
  },
  {
    what: "a mixed-family range MetalLB accepts and reads as no addresses",
    req: { object: pool("new", ["10.0.4.247-2001:db8::1"]) },
    allowed: true,
    rules: [],
  },
  {
    what: "an IPv4-mapped prefix, which is IPv4",
    req: { object: pool("new", ["::ffff:10.0.4.240/125"]) },
    allowed: false,
    rules: ["pool.kube-vip"],
    denial:
      "IPAddressPool metallb-system/new: ::ffff:10.0.4.240/125 overlaps 10.0.4.247, the kube-vip control-plane VIP; MetalLB would hand out addresses kube-vip uses",
  },
  {
    what: "an IPv6 pool never overlaps IPv4 addresses",
    req: { object: pool("new", ["::/0"]) },
    allowed: false,
    rules: ["pool.reserved", "pool.kube-vip", "pool.overlap"],
    denial:
      "IPAddressPool metallb-system/new: ::/0 overlaps fd00:10::1 in reservedAddresses; keep reserved addresses out of pools; also: ::/0 overlaps fd00:4::53, in use by kube-vip Service kube-system/dns6; MetalLB would hand out addresses kube-vip uses (+1 more)",
  },
  {
    what: "avoidBuggyIPs does not change overlap",
    req: { object: pool("new", ["10.0.5.255/32"], { avoidBuggyIPs: true }) },
    allowed: false,
    rules: ["pool.overlap"],
    denial:
      "IPAddressPool metallb-system/new: 10.0.5.255/32 overlaps 10.0.5.0/24 of IPAddressPool metallb-system/default; pools must not overlap",
  },
  {
    what: "a pool admitting a kube-vip namespace, with a warning",
    req: { object: pool("new", ["10.0.8.0/24"], { serviceAllocation: { namespaces: ["kube-system", "shop"] } }) },
    allowed: true,
    rules: ["pool.foreign-namespace"],
    warnings: [
      "IPAddressPool metallb-system/new: serviceAllocation admits kube-system (kube-vip), where MetalLB may not serve Services under the policy",
    ],
  },
  {
    what: "a pool whose namespaceSelector selects a kube-vip namespace, with a warning",
    req: {
      object: pool("new", ["10.0.8.0/24"], {
        serviceAllocation: { namespaceSelectors: [{ matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }] },
      }),
    },
    allowed: true,
    rules: ["pool.foreign-namespace"],
    warnings: [
      "IPAddressPool metallb-system/new: serviceAllocation admits kube-system (kube-vip), where MetalLB may not serve Services under the policy",
    ],
  },
  {
    what: "a pool for a namespace that allows MetalLB too, without a warning",
    req: { object: pool("new", ["10.0.8.0/24"], { serviceAllocation: { namespaces: ["edge"] } }) },
    allowed: true,
    rules: [],
  },
]);

export const CM_CASES: Case[] = withPatterns<Case>([
  {
    what: "ranges clear of MetalLB",
    req: {
      object: kubevipCM({
        "range-global": "10.0.4.200-10.0.4.230",
        "cidr-kube-system": "10.0.4.232/30",
        "cidr-ipv6": "fd00:4::/64",
      }),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "DHCP as the whole value",
    req: { object: kubevipCM({ "cidr-global": "0.0.0.0/32" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "a range over a MetalLB pool",
    req: { object: kubevipCM({ "range-global": "10.0.5.200-10.0.5.210" }) },
    allowed: false,
    rules: ["kube-vip-configmap.pool"],
    denial:
      "ConfigMap kube-system/kubevip: range-global 10.0.5.200-10.0.5.210 overlaps 10.0.5.0/24 of IPAddressPool metallb-system/default; kube-vip-cloud-provider would hand out MetalLB's addresses (it never sees MetalLB's allocations)",
  },
  {
    what: "an IPv6 CIDR over a MetalLB pool",
    req: { object: kubevipCM({ "cidr-default": "fd00:10:5::/124" }) },
    allowed: false,
    rules: ["kube-vip-configmap.pool"],
    denial:
      "ConfigMap kube-system/kubevip: cidr-default fd00:10:5::/124 overlaps fd00:10:5::/120 of IPAddressPool metallb-system/default; kube-vip-cloud-provider would hand out MetalLB's addresses (it never sees MetalLB's allocations)",
  },
  {
    what: "a CIDR over a reserved address",
    req: { object: kubevipCM({ "cidr-global": "10.0.4.0/29" }) },
    allowed: false,
    rules: ["kube-vip-configmap.reserved"],
    denial:
      "ConfigMap kube-system/kubevip: cidr-global 10.0.4.0/29 overlaps 10.0.4.1/32 in reservedAddresses; keep reserved addresses out of kube-vip's ranges",
  },
  {
    what: "a CIDR over the control-plane VIP",
    req: { object: kubevipCM({ "cidr-global": "10.0.4.244/30" }) },
    allowed: false,
    rules: ["kube-vip-configmap.cp-vip"],
    denial:
      "ConfigMap kube-system/kubevip: cidr-global 10.0.4.244/30 overlaps 10.0.4.247 (the kube-vip control-plane VIP); kube-vip-cloud-provider would hand the control-plane VIP to a Service",
  },
  {
    what: "a CIDR list with a space after the comma",
    req: { object: kubevipCM({ "cidr-finance": "10.0.9.0/29, 10.0.9.8/29" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse", "kube-vip-configmap.parse"],
    denial:
      'ConfigMap kube-system/kubevip: cidr-finance has spaces around an entry; kube-vip does not trim them and fails on the whole value; also: cidr-finance: " 10.0.9.8/29" is not a CIDR kube-vip can parse',
  },
  {
    what: "a CIDR and a range in one value",
    req: { object: kubevipCM({ "cidr-finance": "10.0.9.0/29,10.0.9.20-10.0.9.30" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse", "kube-vip-configmap.parse"],
    denial:
      'ConfigMap kube-system/kubevip: cidr-finance mixes CIDRs and ranges; kube-vip reads the whole value as CIDRs and fails, so Services get no address; also: cidr-finance: "10.0.9.20-10.0.9.30" is not a CIDR kube-vip can parse',
  },
  {
    what: "an inverted range",
    req: { object: kubevipCM({ "range-dev": "10.0.9.30-10.0.9.20" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse"],
    denial:
      'ConfigMap kube-system/kubevip: range-dev: "10.0.9.30-10.0.9.20" starts after it ends; kube-vip silently ignores it',
  },
  {
    what: "a mixed-family range",
    req: { object: kubevipCM({ "range-dev": "10.0.9.1-fd00::1" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse"],
    denial:
      'ConfigMap kube-system/kubevip: range-dev: "10.0.9.1-fd00::1" mixes IPv4 and IPv6; kube-vip silently ignores it',
  },
  {
    what: "a bare IP in a range list",
    req: { object: kubevipCM({ "range-dev": "10.0.9.1" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse"],
    denial: 'ConfigMap kube-system/kubevip: range-dev: "10.0.9.1" is not a range start-end',
  },
  {
    what: "DHCP inside a list",
    req: { object: kubevipCM({ "cidr-dev": "10.0.9.0/29,0.0.0.0/32" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse"],
    denial: "ConfigMap kube-system/kubevip: cidr-dev: 0.0.0.0/32 means DHCP only as the whole value",
  },
  {
    what: "a prefix netip refuses (leading zero bits)",
    req: { object: kubevipCM({ "cidr-dev": "10.0.9.0/029" }) },
    allowed: false,
    rules: ["kube-vip-configmap.parse"],
    denial: 'ConfigMap kube-system/kubevip: cidr-dev: "10.0.9.0/029" is not a CIDR kube-vip can parse',
  },
  {
    what: "another ConfigMap, even with bad values",
    req: { object: kubevipCM({ "range-global": "10.0.5.1-10.0.5.9" }, "kubevip", "default") },
    allowed: true,
    rules: [],
  },
  {
    what: "a ConfigMap of another name",
    req: { object: kubevipCM({ "cidr-global": "10.0.5.0/24" }, "kube-vip-cloud-provider") },
    allowed: true,
    rules: [],
  },
  {
    what: "an UPDATE that leaves the ranges alone",
    req: {
      operation: "UPDATE",
      oldObject: kubevipCM({ "range-global": "10.0.5.1-10.0.5.9" }),
      object: kubevipCM({ "range-global": "10.0.5.1-10.0.5.9", "interface-global": "eth1" }),
    },
    allowed: true,
    rules: [],
  },
]);
