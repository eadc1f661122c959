/** The serving key pair: loaded from a directory, checked, and watched for rotation. */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ServingPair {
  cert: string;
  key: string;
  notAfter: Date;
  subjectAltName: string;
}

export const CERT_FILE = "tls.crt";
export const KEY_FILE = "tls.key";
export const CA_FILE = "ca.crt";

/** Read tls.crt/tls.key and check that they belong together; throws with a clear reason otherwise. */
export function loadServingPair(dir: string): ServingPair {
  const cert = readFileSync(join(dir, CERT_FILE), "utf8");
  const key = readFileSync(join(dir, KEY_FILE), "utf8");
  const x = new X509Certificate(cert);
  const k = createPrivateKey(key);
  if (!x.checkPrivateKey(k)) throw new Error(`${join(dir, KEY_FILE)} does not match ${join(dir, CERT_FILE)}`);
  return { cert, key, notAfter: new Date(x.validTo), subjectAltName: x.subjectAltName ?? "" };
}
