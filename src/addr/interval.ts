/**
 * Address intervals (inclusive bigint bounds, one family each) and Go's CIDR
 * grammar. Every rule works on these; nothing else in lbguard does address
 * arithmetic.
 */
import { BITS, Family, IP, MAX, formatIP, parseIP } from "./ip.js";

export interface Interval {
  fam: Family;
  lo: bigint;
  hi: bigint;
}

export function pointInterval(ip: IP): Interval {
  return { fam: ip.fam, lo: ip.v, hi: ip.v };
}

export function prefixInterval(fam: Family, v: bigint, prefix: number): Interval {
  const hostBits = BigInt(BITS[fam] - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const lo = v & ~hostMask & MAX[fam];
  return { fam, lo, hi: lo | hostMask };
}

export function overlaps(a: Interval, b: Interval): boolean {
  return a.fam === b.fam && a.lo <= b.hi && b.lo <= a.hi;
}

export function contains(outer: Interval, inner: Interval): boolean {
  return outer.fam === inner.fam && outer.lo <= inner.lo && inner.hi <= outer.hi;
}

export function intersection(a: Interval, b: Interval): Interval | null {
  if (!overlaps(a, b)) return null;
  return { fam: a.fam, lo: a.lo > b.lo ? a.lo : b.lo, hi: a.hi < b.hi ? a.hi : b.hi };
}

export function size(iv: Interval): bigint {
  return iv.hi - iv.lo + 1n;
}

/** Go's dtoi as used by net.ParseCIDR: decimal digits only, at least one. */
function goDtoi(s: string): number | null {
  if (s.length === 0 || s.length > 6) return null;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    n = n * 10 + (c - 48);
  }
  return n;
}

export interface ParsedCIDR {
  /** The network as lbguard models it (IPv4-mapped prefixes of /96 and longer are IPv4). */
  iv: Interval;
  /** prefix length within iv's family */
  prefix: number;
}

/**
 * Go net.ParseCIDR: no trimming, bare IPs rejected, host bits masked, prefix
 * length 0..32 for IPv4 text and 0..128 for IPv6 text. An IPv6-text prefix
 * inside ::ffff:0:0/96 of /96 or longer is IPv4, as MetalLB classifies it
 * (ipfamily.ForCIDR: To4 succeeds on the masked network) and as Go's
 * IPNet.Contains matches it: /96 is all of IPv4, /120 a /24. Shorter
 * prefixes mask the ffff away and stay IPv6 (docs/controllers.md M3).
 */
export function parseGoCIDR(s: string): ParsedCIDR | null {
  if (typeof s !== "string") return null;
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const n = goDtoi(s.slice(slash + 1));
  if (n === null) return null;
  const ip = parseIP(addr);
  if (!ip) return null;
  const v6text = addr.indexOf(":") >= 0;
  if (!v6text) {
    if (n > 32) return null;
    return { iv: prefixInterval(4, ip.v, n), prefix: n };
  }
  if (n > 128) return null;
  if (ip.fam === 4) {
    // IPv4-mapped IPv6 text
    if (n >= 96) return { iv: prefixInterval(4, ip.v, n - 96), prefix: n - 96 };
    const v16 = (0xffffn << 32n) | ip.v;
    return { iv: prefixInterval(6, v16, n), prefix: n };
  }
  return { iv: prefixInterval(6, ip.v, n), prefix: n };
}

/** The exact prefix length when iv is one CIDR block, else -1. */
export function exactPrefix(iv: Interval): number {
  const span = iv.hi - iv.lo + 1n;
  if ((span & (span - 1n)) !== 0n) return -1;
  if ((iv.lo & (span - 1n)) !== 0n) return -1;
  let hostBits = 0;
  let s = span;
  while (s > 1n) {
    s >>= 1n;
    hostBits++;
  }
  return BITS[iv.fam] - hostBits;
}

/** Smallest list of CIDRs covering exactly [lo, hi] (ipaddr.Summarize). */
export function summarize(iv: Interval): string[] {
  const out: string[] = [];
  let lo = iv.lo;
  const bits = BITS[iv.fam];
  while (lo <= iv.hi) {
    let hostBits = 0;
    while (hostBits < bits) {
      const next = hostBits + 1;
      const blk = 1n << BigInt(next);
      if ((lo & (blk - 1n)) !== 0n || lo + blk - 1n > iv.hi) break;
      hostBits = next;
    }
    out.push(`${formatIP(iv.fam, lo)}/${bits - hostBits}`);
    lo += 1n << BigInt(hostBits);
    if (hostBits === bits) break;
  }
  return out;
}

/** Human notation: a single IP, a CIDR when exact, else `start-end`. */
export function formatInterval(iv: Interval): string {
  if (iv.lo === iv.hi) return formatIP(iv.fam, iv.lo);
  const p = exactPrefix(iv);
  if (p >= 0) return `${formatIP(iv.fam, iv.lo)}/${p}`;
  return `${formatIP(iv.fam, iv.lo)}-${formatIP(iv.fam, iv.hi)}`;
}

/**
 * An IP, a CIDR or a `start-end` range, as written in lbguard's own policy
 * (reservedAddresses, controlPlaneVIPs). Range halves are trimmed; a CIDR is
 * masked; a range must be one family and not inverted.
 */
export function parseAddressSpec(s: string): Interval | string {
  if (typeof s !== "string" || s.length === 0) return "empty address";
  if (s.indexOf("/") >= 0) {
    const c = parseGoCIDR(s.trim());
    return c ? c.iv : `invalid CIDR "${s}"`;
  }
  const dash = s.indexOf("-");
  if (dash < 0) {
    const ip = parseIP(s.trim());
    return ip ? { fam: ip.fam, lo: ip.v, hi: ip.v } : `invalid IP "${s}"`;
  }
  const a = parseIP(s.slice(0, dash).trim());
  const b = parseIP(s.slice(dash + 1).trim());
  if (!a || !b) return `invalid range "${s}"`;
  if (a.fam !== b.fam) return `range "${s}" mixes IPv4 and IPv6`;
  if (a.v > b.v) return `range "${s}" starts after it ends`;
  return { fam: a.fam, lo: a.v, hi: b.v };
}
