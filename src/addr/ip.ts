/**
 * IP addresses as Go's `net` package sees them (net.ParseIP / net.ParseCIDR,
 * Go >= 1.17): no leading zeros in IPv4 fields, no zones, upper- or lower-case
 * hex, embedded IPv4 only in the last 32 bits. IPv4-mapped IPv6 text
 * (`::ffff:10.0.0.1`) is IPv4 (Go's `To4()` succeeds for it).
 *
 * Values are bigints. An IPv4 address is 0..2^32-1 in family 4; an IPv6
 * address is 0..2^128-1 in family 6. `to16()` gives Go's 16-byte ordering
 * (IPv4 as ::ffff:a.b.c.d), used where Go compares 16-byte slices.
 */

export type Family = 4 | 6;

export interface IP {
  fam: Family;
  v: bigint;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;
export const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };
export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV4Fields(s: string): bigint | null {
  // Exactly four decimal fields 0-255, no leading zeros, no signs.
  let v = 0;
  let field = 0;
  let digits = 0;
  let fields = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; /* '.' sentinel */
    if (c >= 48 && c <= 57) {
      if (digits > 0 && field === 0) return null; // leading zero
      field = field * 10 + (c - 48);
      digits++;
      if (digits > 3 || field > 255) return null;
    } else if (c === 46) {
      if (digits === 0) return null;
      v = v * 256 + field;
      fields++;
      field = 0;
      digits = 0;
      if (fields > 4) return null;
    } else {
      return null;
    }
  }
  return fields === 4 ? BigInt(v) : null;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseV6(s: string): bigint | null {
  // groups before and after "::"; each group 1-4 hex digits; an embedded
  // IPv4 may stand in for the last two groups.
  if (s.length < 2 || s.length > 64) return null;
  const groups: number[] = [];
  let ellipsis = -1;
  let i = 0;
  if (s.startsWith("::")) {
    ellipsis = 0;
    i = 2;
    if (i === s.length) return 0n;
  } else if (s[0] === ":") {
    return null;
  }
  while (i < s.length) {
    // read a group
    let j = i;
    let val = 0;
    while (j < s.length && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      val = val * 16 + h;
      j++;
    }
    if (j - i > 4) return null;
    if (j < s.length && s[j] === ".") {
      // embedded IPv4 must be the last element and leave room for two groups
      if (ellipsis < 0 && groups.length !== 6) return null;
      if (groups.length > 6) return null;
      const v4 = parseV4Fields(s.slice(i));
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      break; // the embedded IPv4 ended the text
    }
    if (j === i) return null; // empty group
    groups.push(val);
    if (groups.length > 8) return null;
    i = j;
    if (i === s.length) break;
    if (s[i] !== ":") return null;
    i++;
    if (s[i] === ":") {
      if (ellipsis >= 0) return null; // second "::"
      ellipsis = groups.length;
      i++;
      if (i === s.length) break;
    } else if (i === s.length) {
      return null; // trailing single ':'
    }
  }
  if (ellipsis >= 0) {
    if (groups.length > 7) return null; // "::" must stand for at least one group
    const fill = 8 - groups.length;
    groups.splice(ellipsis, 0, ...new Array<number>(fill).fill(0));
  } else if (groups.length !== 8) {
    return null;
  }
  // four 32-bit words, one BigInt assembly (per-group BigInt shifts are slow)
  const w0 = groups[0] * 65536 + groups[1];
  const w1 = groups[2] * 65536 + groups[3];
  const w2 = groups[4] * 65536 + groups[5];
  const w3 = groups[6] * 65536 + groups[7];
  // (each word < 2^32 is exact in a double; two together would not be)
  return (BigInt(w0) << 96n) | (BigInt(w1) << 64n) | (BigInt(w2) << 32n) | BigInt(w3);
}

/** Go net.ParseIP: null when Go returns nil. IPv4-mapped IPv6 becomes family 4. */
export function parseIP(s: string): IP | null {
  if (typeof s !== "string" || s.length === 0 || s.length > 64) return null;
  if (s.indexOf(":") < 0) {
    const v = parseV4Fields(s);
    return v === null ? null : { fam: 4, v };
  }
  const v = parseV6(s);
  if (v === null) return null;
  if (v >> 32n === 0xffffn) return { fam: 4, v: v & 0xffffffffn };
  return { fam: 6, v };
}

/** The address in Go's 16-byte form, for comparisons Go makes on 16-byte slices. */
export function to16(ip: IP): bigint {
  return ip.fam === 4 ? V4_MAPPED_PREFIX | ip.v : ip.v;
}

export function formatIP(fam: Family, v: bigint): string {
  if (fam === 4) {
    const n = Number(v);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // longest run of >= 2 zero groups, first one on ties (RFC 5952, as Go does)
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(":");
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(":");
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(":");
  return `${head}::${tail}`;
}

export function ipString(ip: IP): string {
  return formatIP(ip.fam, ip.v);
}

// Go's strings.TrimSpace (unicode.IsSpace), which differs from String.prototype.trim
// (Go trims U+0085, JS does not; JS trims U+FEFF, Go does not).
function isGoSpace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) ||
    c === 32 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

export function goTrimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isGoSpace(s.charCodeAt(a))) a++;
  while (b > a && isGoSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
