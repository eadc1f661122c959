/**
 * kube-vip-cloud-provider's ConfigMap grammar (docs/controllers.md K10,
 * pkg/provider/loadBalancer.go and pkg/ipam): keys `cidr-<ns>`, `range-<ns>`,
 * `cidr-global`, `range-global` (all cidr keys are looked up before any range
 * key). A value containing `/` anywhere is a CIDR list, otherwise a range
 * list; entries are split on "," and never trimmed; CIDRs go through
 * netip.ParsePrefix (masked when used); ranges are `a-b` with
 * netip.ParseAddr halves. The whole value `0.0.0.0/32` means DHCP.
 *
 * What kube-vip does with a bad value: one unparseable entry fails the whole
 * value (the Service gets no IP); an inverted or mixed-family range is
 * silently ignored (no addresses). Both are reported as problems.
 */
import { parseIP } from "./ip.js";
import { Interval, parseGoCIDR } from "./interval.js";

export interface KubeVipEntry {
  /** ConfigMap key the entry comes from */
  key: string;
  /** the user's text of this entry */
  text: string;
  iv?: Interval;
  /** why kube-vip would mis-parse, reject or ignore it */
  error?: string;
}

export interface KubeVipKey {
  key: string;
  kind: "cidr" | "range";
  /** namespace the key serves, or "global" */
  scope: string;
  /** how kube-vip reads the value: by the presence of "/", not by the key */
  reads: "cidr" | "range" | "dhcp";
  entries: KubeVipEntry[];
  /** problems with the value as a whole */
  problems: string[];
}

const ADDRESS_KEY = /^(cidr|range)-(.+)$/;

export function isAddressKey(key: string): boolean {
  return ADDRESS_KEY.test(key);
}

/** netip.ParsePrefix: like net.ParseCIDR but no leading zeros in the bit count. */
function parseNetipPrefix(s: string): Interval | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const bits = s.slice(slash + 1);
  if (bits.length > 1 && bits[0] === "0") return undefined;
  return parseGoCIDR(s)?.iv;
}

export function parseKubeVipKey(key: string, value: unknown): KubeVipKey | undefined {
  const m = ADDRESS_KEY.exec(key);
  if (!m) return undefined;
  const out: KubeVipKey = {
    key,
    kind: m[1] as "cidr" | "range",
    scope: m[2],
    reads: "range",
    entries: [],
    problems: [],
  };
  if (typeof value !== "string") {
    out.problems.push(`is ${value === null ? "null" : typeof value}, not a string; quote it`);
    return out;
  }
  if (value === "0.0.0.0/32") {
    out.reads = "dhcp";
    return out;
  }
  const asCidr = value.includes("/");
  out.reads = asCidr ? "cidr" : "range";
  const parts = value.split(",");
  if (parts.some((p) => p !== p.trim()))
    out.problems.push(`has spaces around an entry; kube-vip does not trim them and fails on the whole value`);
  if (asCidr && parts.some((p) => !p.includes("/") && p.includes("-")))
    out.problems.push(
      `mixes CIDRs and ranges; kube-vip reads the whole value as CIDRs and fails, so Services get no address`,
    );
  for (const text of parts) {
    if (text === "") {
      out.entries.push({ key, text, error: "an empty entry (stray comma)" });
      continue;
    }
    if (asCidr) {
      const iv = parseNetipPrefix(text);
      if (!iv) out.entries.push({ key, text, error: `"${text}" is not a CIDR kube-vip can parse` });
      else if (text === "0.0.0.0/32")
        out.entries.push({ key, text, error: `0.0.0.0/32 means DHCP only as the whole value` });
      else out.entries.push({ key, text, iv });
      continue;
    }
    const halves = text.split("-");
    if (halves.length !== 2) {
      out.entries.push({ key, text, error: `"${text}" is not a range start-end` });
      continue;
    }
    const a = parseIP(halves[0]);
    const b = parseIP(halves[1]);
    if (!a || !b) out.entries.push({ key, text, error: `"${text}" is not a range of two IP addresses` });
    else if (a.fam !== b.fam)
      out.entries.push({ key, text, error: `"${text}" mixes IPv4 and IPv6; kube-vip silently ignores it` });
    else if (a.v > b.v)
      out.entries.push({ key, text, error: `"${text}" starts after it ends; kube-vip silently ignores it` });
    else out.entries.push({ key, text, iv: { fam: a.fam, lo: a.v, hi: b.v } });
  }
  return out;
}

export function parseKubeVipData(data: Record<string, unknown> | undefined): KubeVipKey[] {
  const out: KubeVipKey[] = [];
  for (const [k, v] of Object.entries(data ?? {})) {
    const p = parseKubeVipKey(k, v);
    if (p) out.push(p);
  }
  return out;
}
