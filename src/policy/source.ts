/**
 * The policy in force, reloaded when its file changes (including the
 * symlink swap of a mounted ConfigMap).
 *
 * Reloads are atomic (SPEC §6): a changed file is used only once it reads
 * the same twice in a row, SETTLE_MS apart, and parses. A file written in
 * place by a non-atomic writer (an editor without atomic save, `cp`, a copy
 * in chunks) is read while half-written; its first half is often a valid
 * policy, only a smaller one (one written up to its reservedAddresses line
 * reserves nothing: 1,662 to 3,814 probes wrongly allowed per run,
 * BENCHMARKS.md "Faults"). An invalid file is logged, counted
 * (`lbguard_policy_reloads_total{result="error"}`) and ignored: the previous
 * policy stays in force.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { SETTLE_MS, watchPaths, Watch } from "../util/watch.js";
import { parsePolicy } from "./load.js";
import { Policy, PolicyError } from "./policy.js";

export { SETTLE_MS } from "../util/watch.js";

/** What one look at the file found. */
export type CheckResult = "unchanged" | "pending" | "adopted" | "invalid" | "unreadable";

export class PolicySource {
  private watch?: Watch;
  /** the text last judged: in force, or refused (not retried until it changes) */
  private text: string;
  /** a new text read once, waiting for a second read */
  private candidate?: string;
  private candidateAt = 0;
  private settleTimer?: NodeJS.Timeout;
  private readonly listeners: (() => void)[] = [];

  /** Called after each successful reload. */
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  private constructor(
    readonly file: string,
    public current: Policy,
    text: string,
    private readonly settleMs: number,
  ) {
    this.text = text;
  }

  /**
   * Load the policy or throw PolicyError: at start an invalid policy is
   * fatal. Then watch the file (pollMs: the stat poll behind fs.watch; 0:
   * no watching, `check()` is called by hand).
   */
  static start(file: string, log: Logger, metrics?: Metrics, pollMs = 2000, settleMs = SETTLE_MS): PolicySource {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new PolicyError([`${file}: cannot read: ${(e as Error).message}`]);
    }
    const policy = parsePolicy(text, file);
    metrics?.policyReloads.labels("success").inc();
    log.info({ policy: file, summary: policy.summary() }, "policy loaded");
    const src = new PolicySource(file, policy, text, settleMs);
    if (pollMs > 0) src.watch = watchPaths([file], () => src.check(log, metrics), pollMs);
    return src;
  }

  /**
   * Look at the file (the watcher calls this on every change): a text that
   * differs from the one in force becomes the candidate, and is looked at
   * again `settleMs` later; the same candidate read twice in a row is parsed
   * and, when valid, used.
   */
  private armSettle(ms: number, log: Logger, metrics?: Metrics): void {
    this.settleTimer = setTimeout(
      () => {
        this.settleTimer = undefined;
        this.check(log, metrics);
      },
      Math.max(1, Math.ceil(ms)),
    );
    this.settleTimer.unref();
  }

  check(log: Logger, metrics?: Metrics): CheckResult {
    const text = this.read(log, metrics);
    if (text === undefined) return "unreadable";
    if (text === this.text) {
      this.candidate = undefined;
      return "unchanged";
    }
    if (text === this.candidate && Date.now() - this.candidateAt < this.settleMs) {
      // the timer confirms; one that fired early by Date.now() (libuv schedules from the time its loop
      // iteration began, before the work that armed it) looks again for the rest of the settle time
      if (this.watch && !this.settleTimer)
        this.armSettle(this.settleMs - (Date.now() - this.candidateAt), log, metrics);
      return "pending";
    }
    if (text !== this.candidate) {
      this.candidate = text;
      this.candidateAt = Date.now();
      // watching: the next look is a full settleMs from this one, whatever was pending
      // (without a watcher, the caller looks again)
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
      if (this.watch) this.armSettle(this.settleMs, log, metrics);
      log.info(
        { policy: this.file, settleMs: this.settleMs },
        "policy file changed; it is used once it reads the same again",
      );
      return "pending";
    }
    this.candidate = undefined;
    return this.adopt(text, log, metrics) ? "adopted" : "invalid";
  }

  /**
   * Read the file and use it now if it parses, without waiting for it to
   * settle: for an explicit reload (and tests). Returns whether it changed
   * the policy in force.
   */
  reload(log: Logger, metrics?: Metrics): boolean {
    const text = this.read(log, metrics);
    if (text === undefined || text === this.text) return false;
    this.candidate = undefined;
    return this.adopt(text, log, metrics);
  }

  private read(log: Logger, metrics?: Metrics): string | undefined {
    try {
      return readFileSync(this.file, "utf8");
    } catch (e) {
      metrics?.policyReloads.labels("error").inc();
      log.error(
        { policy: this.file, err: (e as Error).message },
        "policy file unreadable; keeping the previous policy",
      );
      return undefined;
    }
  }

  private adopt(text: string, log: Logger, metrics?: Metrics): boolean {
    try {
      const next = parsePolicy(text, this.file);
      this.current = next;
      this.text = text;
      metrics?.policyReloads.labels("success").inc();
      log.info({ policy: this.file, summary: next.summary() }, "policy reloaded");
      for (const cb of this.listeners) {
        try {
          cb();
        } catch (e) {
          log.error({ err: e }, "policy change listener failed");
        }
      }
      return true;
    } catch (e) {
      this.text = text; // do not retry the same broken text on every poll
      metrics?.policyReloads.labels("error").inc();
      const problems = e instanceof PolicyError ? e.problems : [(e as Error).message];
      log.error(
        {
          policy: this.file,
          problems: problems.slice(0, 20),
          more: problems.length > 20 ? problems.length - 20 : undefined,
        },
        "invalid policy on reload; keeping the previous policy",
      );
      return false;
    }
  }

  close(): void {
    this.watch?.close();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }
}
