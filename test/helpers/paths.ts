import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** repository root (tests run compiled from dist/test/…) */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** ../shared beside the repository (CI puts it there) */
export const SHARED = process.env.LBGUARD_SHARED ?? resolve(ROOT, "../shared");
export const FIXTURES = join(SHARED, "fixtures");
export const CLI = join(ROOT, "dist/src/cli/main.js");
