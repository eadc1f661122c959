/**
 * The policy in force, reloaded when its file changes (including the
 * symlink swap of a mounted ConfigMap). An invalid reload is logged, counted
 * and ignored: the previous policy stays in force.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { watchPaths, Watch } from "../util/watch.js";
import { parsePolicy } from "./load.js";
import { Policy, PolicyError } from "./policy.js";

export class PolicySource {
  private watch?: Watch;
  private text: string;
  private readonly listeners: (() => void)[] = [];

  /** Called after each successful reload. */
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  private constructor(
    readonly file: string,
    public current: Policy,
    text: string,
  ) {
    this.text = text;
  }

  /** Load the policy or throw PolicyError: at start an invalid policy is fatal. */
  static start(file: string, log: Logger, metrics?: Metrics, pollMs = 2000): PolicySource {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new PolicyError([`${file}: cannot read: ${(e as Error).message}`]);
    }
    const policy = parsePolicy(text, file);
    metrics?.policyReloads.labels("success").inc();
    log.info({ policy: file, summary: policy.summary() }, "policy loaded");
    const src = new PolicySource(file, policy, text);
    src.watch = watchPaths([file], () => src.reload(log, metrics), pollMs);
    return src;
  }

  reload(log: Logger, metrics?: Metrics): boolean {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      metrics?.policyReloads.labels("error").inc();
      log.error(
        { policy: this.file, err: (e as Error).message },
        "policy file unreadable; keeping the previous policy",
      );
      return false;
    }
    if (text === this.text) return false;
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
      log.error({ policy: this.file, problems }, "invalid policy on reload; keeping the previous policy");
      return false;
    }
  }

  close(): void {
    this.watch?.close();
  }
}
