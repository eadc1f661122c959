/** Development certificates in --cert-dir when none are there (README: Command line). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CA_FILE, CERT_FILE, KEY_FILE } from "../transport/tls.js";
import { KeyPairPem, createCA, devNames, issueServing } from "./forge.js";

export const CA_KEY_FILE = "ca.key";

/**
 * Create a development CA and a serving certificate in `dir` unless
 * tls.crt and tls.key are already there. Returns true when it generated.
 */
export function ensureDevCertificates(dir: string): boolean {
  if (existsSync(join(dir, CERT_FILE)) && existsSync(join(dir, KEY_FILE))) return false;
  mkdirSync(dir, { recursive: true });
  let ca: KeyPairPem;
  if (existsSync(join(dir, CA_FILE)) && existsSync(join(dir, CA_KEY_FILE))) {
    ca = { cert: readFileSync(join(dir, CA_FILE), "utf8"), key: readFileSync(join(dir, CA_KEY_FILE), "utf8") };
  } else {
    ca = createCA("lbguard development CA");
    writeFileSync(join(dir, CA_KEY_FILE), ca.key, { mode: 0o600 });
    writeFileSync(join(dir, CA_FILE), ca.cert);
  }
  const names = devNames();
  const leaf = issueServing(ca, names.dns, names.ips);
  writeFileSync(join(dir, KEY_FILE), leaf.key, { mode: 0o600 });
  writeFileSync(join(dir, CERT_FILE), leaf.cert);
  return true;
}
