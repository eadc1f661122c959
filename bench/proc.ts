/** Child processes of the benchmarks: wait for a line, then read /proc. */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Resolve with the first match of `re` in the child's stdout; from then on the
 * output is only drained (a server's log must not fill memory or block it).
 * Rejects when the child exits first.
 */
export function waitForLine(child: ChildProcess, re: RegExp, what = "child"): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (c: Buffer) => {
      out += c;
      const m = re.exec(out);
      if (m) {
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        resolve(m);
      }
    };
    child.stdout!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${what} exited ${code}: ${out.slice(-2000)}`)));
  });
}

/** resident set size of a process, MB */
export function rssMB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/** user+system CPU seconds of a process */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100/s)
}
