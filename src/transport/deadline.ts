/** The review's deadline, from the `?timeout=` the API server puts on every webhook call. */
import { DEADLINE_MARGIN_MS, DEFAULT_REVIEW_TIMEOUT_MS, MAX_REVIEW_TIMEOUT_MS } from "./limits.js";

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go duration as the API server writes it (`10s`, `1m0s`, `500ms`), in ms. */
export function parseGoDuration(s: string): number | undefined {
  if (!GO_DURATION.test(s)) return undefined;
  let total = 0;
  // matchAll works on a copy of the regex, so the shared /g regex keeps no state between calls
  for (const m of s.matchAll(GO_DURATION_PART)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

/**
 * Deadline (epoch ms) for a review from its `?timeout=`: DEADLINE_MARGIN_MS
 * ahead of it (half the timeout when that is shorter than the margin).
 * Without a usable `?timeout=`, DEFAULT_REVIEW_TIMEOUT_MS; never more than
 * MAX_REVIEW_TIMEOUT_MS.
 */
export function deadlineFor(url: string, now: number): number {
  const q = url.indexOf("?");
  let ms = DEFAULT_REVIEW_TIMEOUT_MS;
  if (q >= 0) {
    const t = new URLSearchParams(url.slice(q + 1)).get("timeout");
    const d = t ? parseGoDuration(t) : undefined;
    if (d !== undefined && d > 0) ms = Math.min(d, MAX_REVIEW_TIMEOUT_MS);
  }
  return now + Math.max(ms - DEADLINE_MARGIN_MS, ms / 2);
}
