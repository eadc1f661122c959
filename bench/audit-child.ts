/**
 * `lbguard audit` exactly as the CLI runs it, reporting its own CPU time and
 * peak RSS on exit (a busy machine inflates wall time; these do not depend on
 * it). Used by bench/audit.ts: node dist/bench/audit-child.js audit …
 */
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

process.on("exit", () => {
  const u = process.resourceUsage();
  process.stderr.write(
    `lbguard-bench-usage ${JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRSSMB: u.maxRSS / 1024 })}\n`,
  );
});
process.argv = [process.argv[0], CLI, ...process.argv.slice(2)];
await import("../src/cli/main.js");
