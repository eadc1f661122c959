/**
 * The snapshot source: cluster state from YAML/JSON files (`--state PATH`,
 * repeatable), reloaded when they change. A reload builds a new view and
 * swaps it in whole, so a decision never sees half a snapshot.
 */
import { manifestFiles, readManifests } from "../../k8s/manifests.js";
import type { Logger } from "../../observability/logger.js";
import { watchPaths, Watch } from "../../util/watch.js";
import type { ViewSource } from "../source.js";
import { ClusterView, MemoryView, ViewHolder } from "../view.js";
import { collectGarbage } from "../../util/gc.js";

export interface SnapshotLoad {
  view: MemoryView;
  objects: number;
  kept: number;
  errors: string[];
}

export function loadSnapshot(paths: string[]): SnapshotLoad {
  const view = new MemoryView();
  let kept = 0;
  let count = 0;
  const errors: string[] = [];
  // one file at a time: the parsed objects of a file are dropped before the next is read,
  // so the peak is the largest file, not the whole snapshot
  const { files, errors: missing } = manifestFiles(paths);
  for (const e of missing) errors.push(`${e.file}: ${e.message}`);
  for (const file of files) {
    const r = readManifests([file]);
    for (const e of r.errors) errors.push(`${e.file}: ${e.message}`);
    count += r.objects.length;
    for (const { object } of r.objects) if (view.apply(object, "default")) kept++;
  }
  // parsing a large snapshot leaves its text and whole objects behind: collect them once
  if (count > 10_000) collectGarbage();
  return { view, objects: count, kept, errors };
}

export class SnapshotSource implements ViewSource {
  private watch?: Watch;
  constructor(
    private readonly paths: string[],
    readonly holder: ViewHolder,
    private readonly log: Logger,
  ) {}

  static start(paths: string[], log: Logger, onReload?: () => void): SnapshotSource {
    const first = loadSnapshot(paths);
    for (const e of first.errors) log.warn({ source: "snapshot" }, e);
    log.info(
      { source: "snapshot", paths, objects: first.objects, kept: first.kept, ...first.view.counts() },
      "cluster snapshot loaded",
    );
    const src = new SnapshotSource(paths, new ViewHolder(first.view), log);
    src.watch = watchPaths(paths, () => {
      const next = loadSnapshot(paths);
      for (const e of next.errors) log.warn({ source: "snapshot" }, e);
      if (next.errors.length && next.kept === 0) {
        log.error({ source: "snapshot" }, "snapshot reload read nothing usable; keeping the previous state");
        return;
      }
      src.holder.current = next.view;
      log.info(
        { source: "snapshot", objects: next.objects, kept: next.kept, ...next.view.counts() },
        "cluster snapshot reloaded",
      );
      onReload?.();
    });
    return src;
  }

  view(): ClusterView {
    return this.holder.current;
  }

  close(): void {
    this.watch?.close();
  }
}
