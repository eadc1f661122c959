/**
 * One full garbage collection on demand. The first list of a large cluster
 * parses hundreds of pages and leaves a burst of garbage that V8, without
 * later pressure, keeps around for a long time; collecting it once after the
 * sync makes the resident size the live data (what a memory limit must fit).
 */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | undefined | null;

export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      if (typeof (globalThis as { gc?: () => void }).gc === "function") gc = (globalThis as { gc: () => void }).gc;
      else {
        v8.setFlagsFromString("--expose-gc");
        gc = vm.runInNewContext("gc") as () => void;
      }
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  return true;
}
