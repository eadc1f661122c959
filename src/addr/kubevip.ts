/**
 * kube-vip-cloud-provider's ConfigMap grammar (SEMANTICS §2.4): keys
 * `cidr-<ns>`, `range-<ns>`, `cidr-global`, `range-global`; a value that
 * contains `/` anywhere is a CIDR list, otherwise a range list;
 * comma-separated, no trimming; CIDRs masked; `0.0.0.0/32` means DHCP.
 */
import { parseIP } from "./ip.js";
import { Interval, parseGoCIDR } from "./interval.js";

export interface KubeVipEntry {
  /** ConfigMap key the entry comes from */
  key: string;
  /** the user's text of this entry */
  text: string;
  iv?: Interval;
  dhcp?: boolean;
  /** why kube-vip would mis-parse or reject it */
  error?: string;
}

export interface KubeVipKey {
  key: string;
  kind: "cidr" | "range";
  /** namespace the key serves, or "global" */
  scope: string;
  entries: KubeVipEntry[];
  /** problems with the value as a whole */
  problems: string[];
}

const ADDRESS_KEY = /^(cidr|range)-(.+)$/;

export function isAddressKey(key: string): boolean {
  return ADDRESS_KEY.test(key);
}

export function parseKubeVipKey(key: string, value: string): KubeVipKey | undefined {
  const m = ADDRESS_KEY.exec(key);
  if (!m) return undefined;
  const keyKind = m[1] as "cidr" | "range";
  const out: KubeVipKey = { key, kind: keyKind, scope: m[2], entries: [], problems: [] };
  if (typeof value !== "string") {
    out.problems.push(`value must be a string`);
    return out;
  }
  const asCidr = value.includes("/");
  const parts = value.split(",");
  if (asCidr && parts.some((p) => !p.includes("/") && p.includes("-")))
    out.problems.push(`mixes CIDRs and ranges; kube-vip reads the whole value as CIDRs`);
  if (parts.some((p) => p !== p.trim()))
    out.problems.push(`has spaces around an entry; kube-vip does not trim them`);
  for (const text of parts) {
    if (text === "") {
      out.entries.push({ key, text, error: "empty entry" });
      continue;
    }
    if (asCidr) {
      const c = parseGoCIDR(text);
      if (!c) out.entries.push({ key, text, error: `"${text}" is not a CIDR` });
      else if (c.iv.fam === 4 && c.iv.lo === 0n && c.iv.hi === 0n) out.entries.push({ key, text, dhcp: true });
      else out.entries.push({ key, text, iv: c.iv });
    } else {
      const dash = text.indexOf("-");
      if (dash < 0) {
        out.entries.push({ key, text, error: `"${text}" is not a range (start-end)` });
        continue;
      }
      const a = parseIP(text.slice(0, dash));
      const b = parseIP(text.slice(dash + 1));
      if (!a || !b) out.entries.push({ key, text, error: `"${text}" is not a range of two IP addresses` });
      else if (a.fam !== b.fam) out.entries.push({ key, text, error: `"${text}" mixes IPv4 and IPv6` });
      else if (a.v > b.v) out.entries.push({ key, text, error: `"${text}" starts after it ends` });
      else out.entries.push({ key, text, iv: { fam: a.fam, lo: a.v, hi: b.v } });
    }
  }
  if (keyKind === "cidr" && !asCidr && value !== "") out.problems.push(`is a cidr- key but holds no CIDR`);
  if (keyKind === "range" && asCidr) out.problems.push(`is a range- key but holds CIDRs`);
  return out;
}

export function parseKubeVipData(data: Record<string, unknown> | undefined): KubeVipKey[] {
  const out: KubeVipKey[] = [];
  for (const [k, v] of Object.entries(data ?? {})) {
    const p = parseKubeVipKey(k, typeof v === "string" ? v : (v as string));
    if (p) out.push(p);
  }
  return out;
}
