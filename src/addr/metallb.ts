/**
 * MetalLB's address grammar (internal/config/config.go ParseCIDR) reproduced
 * exactly; see docs/controllers.md M2 and the upstream vectors the tests run.
 */
import { goTrimSpace, ipString, parseIP, to16 } from "./ip.js";
import { Interval, parseGoCIDR, summarize } from "./interval.js";
import { goQuote, textOf } from "../k8s/text.js";

export interface MetalLBEntry {
  /** the user's own text */
  text: string;
  /** the addresses it covers (empty for an accepted mixed-family range) */
  intervals: Interval[];
  /** MetalLB's own error text when it refuses the entry */
  error?: string;
}

export function parseMetalLBEntry(text: string): MetalLBEntry {
  if (typeof text !== "string")
    return { text: textOf(text), intervals: [], error: `invalid CIDR ${goQuote(textOf(text))}` };
  if (text.indexOf("-") < 0) {
    const c = parseGoCIDR(text);
    if (!c) return { text, intervals: [], error: `invalid CIDR ${goQuote(text)}` };
    return { text, intervals: [c.iv] };
  }
  const dash = text.indexOf("-");
  const a = text.slice(0, dash);
  const b = text.slice(dash + 1);
  const start = parseIP(goTrimSpace(a));
  if (!start)
    return { text, intervals: [], error: `invalid IP range ${goQuote(text)}: invalid start IP ${goQuote(a)}` };
  const end = parseIP(goTrimSpace(b));
  if (!end) return { text, intervals: [], error: `invalid IP range ${goQuote(text)}: invalid end IP ${goQuote(b)}` };
  if (to16(start) > to16(end)) {
    return {
      text,
      intervals: [],
      error: `invalid IP range ${goQuote(text)}: start IP ${goQuote(ipString(start))} is after the end IP ${goQuote(ipString(end))}`,
    };
  }
  // ipaddr.Summarize yields nothing when the two halves are of different families.
  if (start.fam !== end.fam) return { text, intervals: [] };
  return { text, intervals: [{ fam: start.fam, lo: start.v, hi: end.v }] };
}

/** The CIDRs MetalLB derives from an entry, in its own notation. */
export function metallbCIDRs(entry: MetalLBEntry): string[] {
  return entry.intervals.flatMap((iv) => summarize(iv));
}
