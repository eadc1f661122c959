/**
 * Wait for a condition instead of sleeping: tests synchronise on what they
 * can observe (a view that synced, a log line, a status), never on how long
 * something usually takes. The timeout is only a safety net, generous enough
 * for a loaded machine and below mocha's 20 s per test; a test never asserts
 * on elapsed time.
 */

export interface WaitOptions {
  /** overall bound; 15 s unless told */
  timeoutMs?: number;
  /** how often the condition is evaluated; 10 ms unless told */
  intervalMs?: number;
  /** what is awaited, for the error message */
  what?: string;
  /** the state that matters, added to the error message on timeout */
  state?: () => unknown;
}

export const WAIT_TIMEOUT_MS = 15_000;

function show(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * Resolves with the condition's first truthy value. A condition that throws
 * (a refused connection while a server restarts) counts as not yet; its last
 * error goes into the timeout message.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? WAIT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? 10;
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= until) {
      const parts = [`timed out after ${timeoutMs} ms waiting for ${opts.what ?? "a condition"}`];
      if (opts.state) parts.push(`state: ${show(opts.state())}`);
      if (lastError !== undefined) parts.push(`last error: ${(lastError as Error)?.message ?? show(lastError)}`);
      throw new Error(parts.join("; "));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
