/**
 * The tenant bypasses found trying lbguard as an attacker would (a tenant who
 * may create Services and write status): each is refused, with a message that
 * names the owner and the fix. Run in process and over HTTPS.
 */
import { svc, type ReqOpts } from "../helpers/review.js";

export interface BypassCase {
  what: string;
  req: ReqOpts;
  allowed: boolean;
  rules: string[];
  /** the exact denial, or (allowed) the exact warnings joined by newlines */
  text: string;
}

const KV_CLASS = "kube-vip.io/kube-vip-class";
const ips = (v: string) => ({ "kube-vip.io/loadbalancerIPs": v });

export const BYPASS_CASES: BypassCase[] = [
  // 1. classes the running controllers claim (kube-vip in legacy handling serves its default class)
  {
    what: "kube-vip's class in a MetalLB namespace asking for a MetalLB pool address",
    req: { object: svc({ ns: "shop", name: "grab", cls: KV_CLASS, annotations: ips("10.0.5.10") }) },
    allowed: false,
    rules: ["service.allowed-class", "service.foreign-address"],
    text: 'Service shop/grab: loadBalancerClass "kube-vip.io/kube-vip-class" (kube-vip) is not allowed in namespace shop; allowed: metallb (class "metallb"); also: 10.0.5.10 is owned by MetalLB (IPAddressPool metallb-system/default: 10.0.5.0/24); request an address outside MetalLB\'s pools',
  },
  {
    what: "kube-vip's class asking for another Service's address",
    req: { object: svc({ ns: "shop", name: "grab", cls: KV_CLASS, annotations: ips("10.0.6.10") }) },
    allowed: false,
    rules: ["service.allowed-class", "service.foreign-address"],
    text: 'Service shop/grab: loadBalancerClass "kube-vip.io/kube-vip-class" (kube-vip) is not allowed in namespace shop; allowed: metallb (class "metallb"); also: 10.0.6.10 is owned by MetalLB (IPAddressPool metallb-system/shop-pool: 10.0.6.0/25); request an address outside MetalLB\'s pools',
  },
  {
    what: "kube-vip's class asking for the control-plane VIP",
    req: { object: svc({ ns: "shop", name: "grab", cls: KV_CLASS, annotations: ips("10.0.4.247") }) },
    allowed: false,
    rules: ["service.control-plane-vip", "service.allowed-class"],
    text: 'Service shop/grab: 10.0.4.247 is the kube-vip control-plane VIP; kube-proxy would send the API server\'s traffic to this Service\'s pods; request another address; also: loadBalancerClass "kube-vip.io/kube-vip-class" (kube-vip) is not allowed in namespace shop; allowed: metallb (class "metallb")',
  },
  {
    what: "an UPDATE from ClusterIP to LoadBalancer with kube-vip's class",
    req: {
      operation: "UPDATE",
      oldObject: svc({ ns: "shop", name: "grab", type: "ClusterIP", annotations: ips("10.0.5.10") }),
      object: svc({ ns: "shop", name: "grab", cls: KV_CLASS, annotations: ips("10.0.5.10") }),
    },
    allowed: false,
    rules: ["service.allowed-class", "service.foreign-address"],
    text: 'Service shop/grab: loadBalancerClass "kube-vip.io/kube-vip-class" (kube-vip) is not allowed in namespace shop; allowed: metallb (class "metallb"); also: 10.0.5.10 is owned by MetalLB (IPAddressPool metallb-system/default: 10.0.5.0/24); request an address outside MetalLB\'s pools',
  },
  // 2. addresses no Service may take
  {
    what: "a class-less kube-vip Service asking for the control-plane VIP",
    req: { object: svc({ ns: "kube-system", name: "grab", annotations: ips("10.0.4.247") }) },
    allowed: false,
    rules: ["service.control-plane-vip"],
    text: "Service kube-system/grab: 10.0.4.247 is the kube-vip control-plane VIP; kube-proxy would send the API server's traffic to this Service's pods; request another address",
  },
  {
    what: "a MetalLB Service asking for another MetalLB Service's address",
    req: { object: svc({ ns: "shop", name: "grab", cls: "metallb", ip: "10.0.6.10" }) },
    allowed: false,
    rules: ["service.address-in-use"],
    text: "Service shop/grab: 10.0.6.10 is in use by Service shop/web (MetalLB); request another address, or give both Services the same metallb.io/allow-shared-ip key",
  },
  {
    what: "a kube-vip Service asking for another kube-vip Service's address (kube-vip shares it: a warning)",
    req: { object: svc({ ns: "kube-system", name: "grab", annotations: ips("10.0.4.210") }) },
    allowed: true,
    rules: ["service.address-in-use"],
    text: "Service kube-system/grab: 10.0.4.210 is also the address of Service kube-system/ingress-expose; kube-vip will share the VIP between them; request another address unless both Services are meant to share it",
  },
  // 3. spec.externalIPs (CVE-2020-8554)
  {
    what: "a ClusterIP Service with the control-plane VIP in externalIPs",
    req: {
      object: {
        ...svc({ ns: "shop", name: "mitm", type: "ClusterIP" }),
        spec: { type: "ClusterIP", externalIPs: ["10.0.4.247"] },
      },
    },
    allowed: false,
    rules: ["service.external-ip"],
    text: "Service shop/mitm: externalIP 10.0.4.247 is the kube-vip control-plane VIP; kube-proxy would capture its traffic on every node (CVE-2020-8554); remove it from spec.externalIPs",
  },
  {
    what: "a Service with a MetalLB pool address in externalIPs",
    req: {
      object: {
        ...svc({ ns: "kube-system", name: "mitm", type: "ClusterIP" }),
        spec: { type: "ClusterIP", externalIPs: ["10.0.5.99"] },
      },
    },
    allowed: false,
    rules: ["service.external-ip"],
    text: "Service kube-system/mitm: externalIP 10.0.5.99 is in MetalLB's address space (IPAddressPool metallb-system/default: 10.0.5.0/24); kube-proxy would capture its traffic on every node (CVE-2020-8554); remove it from spec.externalIPs",
  },
  // 4. status by anyone
  {
    what: "a services/status UPDATE by an ordinary user putting a MetalLB address into a kube-vip Service",
    req: {
      operation: "UPDATE",
      subResource: "status",
      user: "alice",
      oldObject: svc({
        ns: "kube-system",
        name: "ingress-expose",
        annotations: ips("10.0.4.210"),
        status: ["10.0.4.210"],
      }),
      object: svc({ ns: "kube-system", name: "ingress-expose", annotations: ips("10.0.4.210"), status: ["10.0.5.10"] }),
    },
    allowed: false,
    rules: ["service.status-address"],
    text: "Service kube-system/ingress-expose: status.loadBalancer.ingress 10.0.5.10 is in MetalLB's address space (IPAddressPool metallb-system/default: 10.0.5.0/24), but kube-vip owns this Service; write only kube-vip's addresses to its status",
  },
];
