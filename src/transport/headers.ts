/**
 * One request header, read from `req.rawHeaders`. Touching `req.headers`
 * makes node build a header object on every request; the review path needs
 * only Content-Length (body.ts) and Content-Type (review.ts).
 */

/**
 * The value of header `lowerName` (lower case), the last one when repeated,
 * undefined when absent. Only names of the same length are lower-cased.
 */
export function rawHeader(raw: string[], lowerName: string): string | undefined {
  let value: string | undefined;
  const n = lowerName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    if (k.length === n && k.toLowerCase() === lowerName) value = raw[i + 1];
  }
  return value;
}
