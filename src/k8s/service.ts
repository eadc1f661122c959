/**
 * How MetalLB and kube-vip read a Service's requests (docs/controllers.md M6, K7).
 * Pure helpers over the raw object, shared by the cluster view and the rules.
 */
import { IP, goTrimSpace, parseIP } from "../addr/ip.js";

export type Annotations = Record<string, string>;

export const MLB = {
  pool: "metallb.io/address-pool",
  poolOld: "metallb.universe.tf/address-pool",
  ips: "metallb.io/loadBalancerIPs",
  ipsOld: "metallb.universe.tf/loadBalancerIPs",
  share: "metallb.io/allow-shared-ip",
  shareOld: "metallb.universe.tf/allow-shared-ip",
  allocated: "metallb.io/ip-allocated-from-pool",
  allocatedOld: "metallb.universe.tf/ip-allocated-from-pool",
} as const;

export const KV = {
  ips: "kube-vip.io/loadbalancerIPs",
  vipHost: "kube-vip.io/vipHost",
  hwaddr: "kube-vip.io/hwaddr",
  requestedIP: "kube-vip.io/requestedIP",
  ignore: "kube-vip.io/ignore",
  implementationLabel: "implementation",
} as const;

/** MetalLB request annotations (a kube-vip-owned Service must not carry them). */
export const METALLB_REQUEST_ANNOTATIONS = [MLB.pool, MLB.ips, MLB.share, MLB.poolOld, MLB.ipsOld, MLB.shareOld];
/** kube-vip request annotations (a MetalLB-owned Service must not carry them). */
export const KUBEVIP_REQUEST_ANNOTATIONS = [KV.ips];

export interface ServiceLike {
  metadata?: { name?: string; generateName?: string; namespace?: string; annotations?: unknown; labels?: unknown };
  spec?: { type?: unknown; loadBalancerClass?: unknown; loadBalancerIP?: unknown };
  status?: { loadBalancer?: { ingress?: unknown } };
}

export function stringMap(v: unknown): Record<string, string> {
  if (!v || typeof v !== "object" || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x === "string") out[k] = x;
  return out;
}

export function isLoadBalancer(svc: ServiceLike | undefined | null): boolean {
  return !!svc && svc.spec?.type === "LoadBalancer";
}

export function serviceClass(svc: ServiceLike | undefined | null): string | null {
  const c = svc?.spec?.loadBalancerClass;
  return typeof c === "string" && c !== "" ? c : null;
}

/** MetalLB's valueForAnnotation: the metallb.io key wins whenever present, even empty. */
export function metallbAnnotation(
  ann: Annotations,
  stable: string,
  deprecated: string,
): { key: string; value: string } | undefined {
  if (Object.prototype.hasOwnProperty.call(ann, stable)) return { key: stable, value: ann[stable] };
  if (Object.prototype.hasOwnProperty.call(ann, deprecated)) return { key: deprecated, value: ann[deprecated] };
  return undefined;
}

export type RequestSource = "spec.loadBalancerIP" | string;

export interface RequestedIP {
  /** the field or annotation key */
  source: RequestSource;
  /** the user's text for this one address */
  text: string;
  ip: IP | null;
  /** kube-vip DHCP request (0.0.0.0 or ::) */
  dhcp: boolean;
  /** a DNS name in kube-vip.io/loadbalancerIPs: kube-vip resolves it; no address to compare */
  dns?: boolean;
  /**
   * Set on the one entry that stands for the addresses of `source` beyond
   * MAX_REQUESTED_IPS, which are neither parsed nor judged: how many there
   * are. Its `ip` is null, so a rule that refuses what it cannot read refuses it.
   */
  beyond?: number;
}

/**
 * Addresses read from one list (an annotation's comma list): 64. MetalLB
 * reads at most two (one per family, docs/controllers.md M6); kube-vip binds
 * every one, and no Service needs more than a handful. The API server lets
 * annotations reach 256 KiB (about 22,800 addresses), and judging each one
 * cost 0.3 s of CPU per review (BENCHMARKS.md "Faults"); past this many, the
 * rest of the list is one entry with `beyond` set.
 */
export const MAX_REQUESTED_IPS = 64;

/** RFC 1123 host names, as kube-vip would hand them to the resolver. */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;

function isDhcp(ip: IP | null): boolean {
  return !!ip && ip.v === 0n;
}

/**
 * Every address a Service asks for, from the fields either provider reads:
 * spec.loadBalancerIP, MetalLB's loadBalancerIPs (resolved as MetalLB does),
 * kube-vip's loadbalancerIPs. Comma lists are split and trimmed; of each list
 * at most `max` addresses are read, the rest is one entry with `beyond` set.
 */
export function requestedIPs(svc: ServiceLike, max = MAX_REQUESTED_IPS): RequestedIP[] {
  const out: RequestedIP[] = [];
  const ann = stringMap(svc.metadata?.annotations);
  const lbip = svc.spec?.loadBalancerIP;
  if (typeof lbip === "string" && lbip !== "") {
    const ip = parseIP(lbip);
    out.push({ source: "spec.loadBalancerIP", text: lbip, ip, dhcp: isDhcp(ip) });
  }
  const m = metallbAnnotation(ann, MLB.ips, MLB.ipsOld);
  if (m && m.value !== "") {
    eachListed(m.value, m.key, max, out, (part) => {
      const t = goTrimSpace(part);
      const ip = parseIP(t);
      out.push({ source: m.key, text: t, ip, dhcp: isDhcp(ip) });
    });
  }
  const kv = ann[KV.ips];
  if (typeof kv === "string" && kv !== "") {
    eachListed(kv, KV.ips, max, out, (part) => {
      const t = part.trim();
      const ip = parseIP(t);
      // kube-vip resolves a value that is not an IP (FetchServiceAddresses; docs/controllers.md K7)
      if (!ip && HOSTNAME.test(t) && !/^[0-9.]+$/.test(t))
        out.push({ source: KV.ips, text: t, ip, dhcp: false, dns: true });
      else out.push({ source: KV.ips, text: t, ip, dhcp: isDhcp(ip) });
    });
  }
  return out;
}

/** The first `max` parts of a comma list to `each`; the rest, uncounted part by part, as one `beyond` entry. */
function eachListed(list: string, source: string, max: number, out: RequestedIP[], each: (part: string) => void): void {
  let start = 0;
  for (let n = 0; n < max; n++) {
    const comma = list.indexOf(",", start);
    if (comma < 0) {
      each(list.slice(start));
      return;
    }
    each(list.slice(start, comma));
    start = comma + 1;
  }
  let beyond = 1;
  for (let i = list.indexOf(",", start); i >= 0; i = list.indexOf(",", i + 1)) beyond++;
  out.push({
    source,
    text: `(+${beyond} more addresses: at most ${max} are judged)`,
    ip: null,
    dhcp: false,
    beyond,
  });
}

/** IPs in status.loadBalancer.ingress. */
export function assignedIPs(svc: ServiceLike): { text: string; ip: IP }[] {
  const ing = svc.status?.loadBalancer?.ingress;
  const out: { text: string; ip: IP }[] = [];
  if (!Array.isArray(ing)) return out;
  for (const e of ing) {
    const t = e && typeof e === "object" ? (e as { ip?: unknown }).ip : undefined;
    if (typeof t !== "string") continue;
    const ip = parseIP(t);
    if (ip && ip.v !== 0n) out.push({ text: t, ip });
  }
  return out;
}
