/**
 * The snapshot source: cluster state from YAML/JSON files (`--state PATH`,
 * repeatable), reloaded when they change. A reload builds a new view and
 * swaps it in whole, so a decision never sees half a snapshot.
 */
import { readManifests } from "../../k8s/manifests.js";
import type { Logger } from "../../observability/logger.js";
import { watchPaths, Watch } from "../../util/watch.js";
import { MemoryView, ViewHolder } from "../view.js";
import { collectGarbage } from "../../util/gc.js";

export interface SnapshotLoad {
  view: MemoryView;
  objects: number;
  kept: number;
  errors: string[];
}

export function loadSnapshot(paths: string[]): SnapshotLoad {
  const { objects, errors } = readManifests(paths);
  const view = new MemoryView();
  let kept = 0;
  for (const { object } of objects) if (view.apply(object, "default")) kept++;
  const result = { view, objects: objects.length, kept, errors: errors.map((e) => `${e.file}: ${e.message}`) };
  // parsing a large snapshot leaves its text and whole objects behind: collect them once
  if (objects.length > 10_000) collectGarbage();
  return result;
}

export class SnapshotSource {
  private watch?: Watch;
  constructor(
    private readonly paths: string[],
    readonly holder: ViewHolder,
    private readonly log: Logger,
  ) {}

  static start(paths: string[], log: Logger, onReload?: () => void): SnapshotSource {
    const first = loadSnapshot(paths);
    for (const e of first.errors) log.warn({ source: "snapshot" }, e);
    log.info({ source: "snapshot", paths, objects: first.objects, kept: first.kept, ...first.view.counts() }, "cluster snapshot loaded");
    const src = new SnapshotSource(paths, new ViewHolder(first.view), log);
    src.watch = watchPaths(paths, () => {
      const next = loadSnapshot(paths);
      for (const e of next.errors) log.warn({ source: "snapshot" }, e);
      if (next.errors.length && next.kept === 0) {
        log.error({ source: "snapshot" }, "snapshot reload read nothing usable; keeping the previous state");
        return;
      }
      src.holder.current = next.view;
      log.info({ source: "snapshot", objects: next.objects, kept: next.kept, ...next.view.counts() }, "cluster snapshot reloaded");
      onReload?.();
    });
    return src;
  }

  close(): void {
    this.watch?.close();
  }
}
