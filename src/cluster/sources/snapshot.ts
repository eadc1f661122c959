/**
 * The snapshot source: cluster state from YAML/JSON files (`--state PATH`,
 * repeatable), reloaded when they change. A reload builds a new view and
 * swaps it in whole, so a decision never sees half a snapshot.
 *
 * Reloads are atomic (SPEC §6): the files are used only once they read the
 * same twice in a row (a digest of every file's bytes, SETTLE_MS apart; the
 * second read is the one parsed, file by file, each checked against the
 * digest), and only if every file parses. A reload with any error (a file
 * that is not valid YAML or JSON, half a file, a path that cannot be read)
 * keeps the previous view in force: before, the view was replaced by what
 * the other files held (11,326 to 13,610 probes wrongly allowed per run,
 * BENCHMARKS.md "Faults"). Each reload is counted by result.
 *
 * Every document and List item of a state file must be a Kubernetes object
 * (apiVersion, kind, metadata.name): a snapshot is what the API server
 * returned, so anything else is a broken file, an error like a syntax error.
 * The first load has no previous state to keep: with any error it throws
 * SnapshotError, and `lbguard serve` refuses to start (README "Cluster
 * state"), as `lbguard check --state` exits 2.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { manifestErrorText, manifestFiles, parseManifestText, type ManifestError } from "../../k8s/manifests.js";
import type { Logger } from "../../observability/logger.js";
import { SETTLE_MS, watchPaths, Watch } from "../../util/watch.js";
import type { ViewSource } from "../source.js";
import { ClusterView, MemoryView, ViewHolder } from "../view.js";
import { collectGarbage } from "../../util/gc.js";

export interface SnapshotLoad {
  view: MemoryView;
  objects: number;
  kept: number;
  /** every problem as `FILE: line L, column C: what` or `FILE: what` */
  errors: string[];
  /** the same problems with their file and position apart */
  problems: ManifestError[];
}

/** A first snapshot load with errors: there is no previous state to keep. */
export class SnapshotError extends Error {
  constructor(readonly problems: ManifestError[]) {
    super(`invalid cluster state: ${problems.map(manifestErrorText).join("; ")}`);
  }
}

/** The files of a snapshot and a hash of each one's bytes, in reading order. */
export interface SnapshotDigest {
  /** every file and its hash, and every path that could not be listed: equal keys, equal snapshots */
  key: string;
  hashes: Map<string, string>;
}

const hashOf = (bytes: Buffer) => createHash("sha256").update(bytes).digest("base64");

/** Read every file of the snapshot once and hash it (nothing is parsed). */
export function snapshotDigest(paths: string[]): SnapshotDigest {
  const { files, errors } = manifestFiles(paths);
  const hashes = new Map<string, string>();
  for (const f of files) {
    try {
      hashes.set(f, hashOf(readFileSync(f)));
    } catch (e) {
      hashes.set(f, `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { key: keyOf(hashes, errors), hashes };
}

function keyOf(hashes: Map<string, string>, missing: { file: string; message: string }[]): string {
  let key = "";
  for (const [f, h] of hashes) key += `${f}\0${h}\n`;
  for (const e of missing) key += `${e.file}\0${e.message}\n`;
  return key;
}

/**
 * Load the snapshot. With `expect`, each file's bytes must hash as in
 * `expect` (else `changed` is set and the load stops: the files are still
 * being written).
 */
export function loadSnapshot(
  paths: string[],
  expect?: SnapshotDigest,
): SnapshotLoad & { digest: SnapshotDigest; changed?: boolean } {
  const view = new MemoryView();
  let kept = 0;
  let count = 0;
  const errors: string[] = [];
  const problems: ManifestError[] = [];
  const problem = (e: ManifestError) => {
    problems.push(e);
    errors.push(`${e.file}: ${e.message}`);
  };
  const hashes = new Map<string, string>();
  // one file at a time: the parsed objects of a file are dropped before the next is read,
  // so the peak is the largest file, not the whole snapshot
  const { files, errors: missing } = manifestFiles(paths);
  for (const e of missing) problem(e);
  const digest = () => ({ key: keyOf(hashes, missing), hashes });
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      const why = `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      hashes.set(file, why);
      if (expect && expect.hashes.get(file) !== why)
        return { view, objects: count, kept, errors, problems, digest: digest(), changed: true };
      problem({ file, message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    const h = hashOf(bytes);
    hashes.set(file, h);
    if (expect && expect.hashes.get(file) !== h)
      return { view, objects: count, kept, errors, problems, digest: digest(), changed: true };
    const r = parseManifestText(bytes.toString("utf8"), file, false, { objects: true });
    if (r.error) problem({ file, message: r.error, line: r.line, column: r.column, reason: r.reason });
    for (const i of r.invalid ?? [])
      problem(
        i.line !== undefined
          ? { file, message: `line ${i.line}, column ${i.column}: ${i.reason}`, ...i }
          : { file, message: i.reason },
      );
    count += r.objects.length;
    for (const object of r.objects) if (view.apply(object, "default")) kept++;
  }
  const d = digest();
  if (expect && d.key !== expect.key) return { view, objects: count, kept, errors, problems, digest: d, changed: true };
  view.settle();
  // parsing a large snapshot leaves its text and whole objects behind: collect them once
  if (count > 10_000) collectGarbage();
  return { view, objects: count, kept, errors, problems, digest: d };
}

/** What one look at the files found. */
export type SnapshotCheck = "unchanged" | "pending" | "reloaded" | "invalid";

/** A counter by result, as prom-client's Counter (`lbguard_snapshot_reloads_total{result}`). */
export interface ResultCounter {
  labels(result: string): { inc(by?: number): void };
}

export interface SnapshotOptions {
  /** the stat poll behind fs.watch; 0: no watching, `check()` is called by hand */
  pollMs?: number;
  settleMs?: number;
  /** counts the first load and every reload by result: success, error */
  reloads?: ResultCounter;
}

export class SnapshotSource implements ViewSource {
  private watch?: Watch;
  /** digest of the files in force, or last refused (not retried until they change) */
  private judged: string;
  /** files read once, waiting for a second read */
  private candidate?: SnapshotDigest;
  private candidateAt = 0;
  private settleTimer?: NodeJS.Timeout;
  /** reloads by result since start */
  readonly reloads = { success: 0, error: 0 };

  constructor(
    private readonly paths: string[],
    readonly holder: ViewHolder,
    private readonly log: Logger,
    judged = "",
    private readonly opts: SnapshotOptions = {},
    private readonly onReload?: () => void,
  ) {
    this.judged = judged;
  }

  /** Load the snapshot and watch its files; throws SnapshotError when the first load has any error. */
  static start(paths: string[], log: Logger, onReload?: () => void, opts: SnapshotOptions = {}): SnapshotSource {
    const first = loadSnapshot(paths);
    if (first.problems.length) throw new SnapshotError(first.problems);
    // both series from the start: an alert's increase() sees the first error only if the series existed before it
    opts.reloads?.labels("error").inc(0);
    opts.reloads?.labels("success").inc();
    log.info(
      { source: "snapshot", paths, objects: first.objects, kept: first.kept, ...first.view.counts() },
      "cluster snapshot loaded",
    );
    const src = new SnapshotSource(paths, new ViewHolder(first.view), log, first.digest.key, opts, onReload);
    const pollMs = opts.pollMs ?? 2000;
    if (pollMs > 0) src.watch = watchPaths(paths, () => src.check(), pollMs);
    return src;
  }

  /**
   * Look at the files (the watcher calls this on every change): files that
   * differ from those in force become the candidate and are read again
   * `settleMs` later; the same files read twice in a row are loaded and, if
   * every one parses, swapped in.
   */
  check(): SnapshotCheck {
    const settleMs = this.opts.settleMs ?? SETTLE_MS;
    if (!this.candidate || Date.now() - this.candidateAt < settleMs) {
      // a first read, or a change event before the candidate has had its settleMs: (re)read, keep waiting
      const now = snapshotDigest(this.paths);
      if (now.key === this.judged) {
        this.candidate = undefined;
        return "unchanged";
      }
      if (this.candidate && now.key === this.candidate.key) {
        // the settle timer confirms; one that fired early by Date.now() (libuv schedules from the time its
        // loop iteration began, before the work that armed it) looks again for the rest of the settle time
        if (this.watch && !this.settleTimer) this.armSettle(settleMs - (Date.now() - this.candidateAt));
        return "pending";
      }
      return this.wait(now);
    }
    const next = loadSnapshot(this.paths, this.candidate);
    if (next.changed) {
      const now = snapshotDigest(this.paths);
      if (now.key === this.judged) {
        this.candidate = undefined;
        return "unchanged";
      }
      return this.wait(now);
    }
    this.candidate = undefined;
    this.judged = next.digest.key;
    if (next.errors.length) {
      this.reloads.error++;
      this.opts.reloads?.labels("error").inc();
      this.log.error(
        {
          source: "snapshot",
          errors: next.errors.slice(0, 10),
          more: next.errors.length > 10 ? next.errors.length - 10 : undefined,
        },
        "cluster snapshot reload has errors; keeping the previous state",
      );
      return "invalid";
    }
    this.holder.current = next.view;
    this.reloads.success++;
    this.opts.reloads?.labels("success").inc();
    this.log.info(
      { source: "snapshot", objects: next.objects, kept: next.kept, ...next.view.counts() },
      "cluster snapshot reloaded",
    );
    this.onReload?.();
    return "reloaded";
  }

  private armSettle(ms: number): void {
    this.settleTimer = setTimeout(
      () => {
        this.settleTimer = undefined;
        this.check();
      },
      Math.max(1, Math.ceil(ms)),
    );
    this.settleTimer.unref();
  }

  private wait(d: SnapshotDigest): SnapshotCheck {
    this.candidate = d;
    this.candidateAt = Date.now();
    const settleMs = this.opts.settleMs ?? SETTLE_MS;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    // watching: look again a full settleMs later (without a watcher, the caller looks again)
    if (this.watch) this.armSettle(settleMs);
    this.log.info(
      { source: "snapshot", settleMs },
      "cluster snapshot files changed; used once they read the same again",
    );
    return "pending";
  }

  view(): ClusterView {
    return this.holder.current;
  }

  close(): void {
    this.watch?.close();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }
}
