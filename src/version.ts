import { readFileSync } from "node:fs";
import { POLICY_API_VERSION } from "./policy/schema.js";

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export { POLICY_API_VERSION };
