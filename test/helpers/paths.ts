import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** repository root (tests run compiled from dist/test/…) */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** ../shared beside the repository (CI puts it there) */
export const SHARED = process.env.LBGUARD_SHARED ?? resolve(ROOT, "../shared");
export const FIXTURES = join(SHARED, "fixtures");
export const CLI = join(ROOT, "dist/src/cli/main.js");

/** A file of the deploy base (deploy/base/, or deploy/ before the layout moved). */
export function deployFile(name: string): string {
  const base = join(ROOT, "deploy/base", name);
  return existsSync(base) ? base : join(ROOT, "deploy", name);
}
