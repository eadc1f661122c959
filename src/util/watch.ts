/**
 * Watches files or directories for changes that matter: edits in place,
 * atomic renames, and the symlink swap a mounted ConfigMap or Secret gets
 * (`..data` → new timestamped directory). fs.watch on the parent directory
 * reacts quickly; a poll of a stat signature catches what fs.watch misses.
 */
import { FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { dirname, join } from "node:path";

/**
 * How long a changed policy or state file must read the same before it is
 * used (policy/source.ts, cluster/sources/snapshot.ts): 500 ms. A writer
 * that finishes within it is never seen half-way; a mounted ConfigMap (an
 * atomic symlink swap) is used 0.5 s later than it could be, where the
 * kubelet takes up to a minute to deliver it anyway.
 */
export const SETTLE_MS = 500;

export interface Watch {
  close(): void;
}

function signatureOf(path: string, depth = 0): string {
  try {
    const st = statSync(path); // follows symlinks
    if (st.isDirectory()) {
      if (depth > 8) return "";
      const names = readdirSync(path).sort();
      return names.map((n) => `${n}=${signatureOf(join(path, n), depth + 1)}`).join("|");
    }
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return "-";
  }
}

export function signature(paths: string[]): string {
  return paths.map((p) => signatureOf(p)).join("\n");
}

export function watchPaths(paths: string[], onChange: () => void, pollMs = 2000, debounceMs = 150): Watch {
  let last = signature(paths);
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    const now = signature(paths);
    if (now !== last) {
      last = now;
      onChange();
    }
  };
  const soon = () => {
    if (!timer) timer = setTimeout(check, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  const dirs = new Set<string>();
  for (const p of paths) {
    dirs.add(dirname(p));
    try {
      if (statSync(p).isDirectory()) dirs.add(p);
    } catch {
      /* not there yet: the poll will see it appear */
    }
  }
  for (const d of dirs) {
    try {
      const w = watch(d, { persistent: false }, soon);
      w.on("error", () => undefined);
      watchers.push(w);
    } catch {
      /* the poll covers it */
    }
  }
  const poll = setInterval(check, pollMs);
  poll.unref();
  return {
    close() {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
