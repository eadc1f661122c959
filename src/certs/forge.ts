/**
 * Certificates with node-forge: a CA and serving certificates for the
 * webhook Service name. Used by `serve` (development certificates) and
 * `certs` (cluster bootstrap and rotation).
 */
import forge from "node-forge";
import { randomBytes } from "node:crypto";

export interface KeyPairPem {
  cert: string;
  key: string;
}

/** notBefore is back-dated so nodes with a slightly slow clock accept a fresh certificate. */
export const CLOCK_SKEW_MS = 60 * 60 * 1000;

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  return b.toString("hex");
}

function keys(): forge.pki.rsa.KeyPair {
  // forge uses Node's native generateKeyPairSync here
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

/** A fresh key pair and an unsigned certificate valid from (now - skew) for `days`. */
function draft(days: number, now: Date): { k: forge.pki.rsa.KeyPair; cert: forge.pki.Certificate } {
  const k = keys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * 86400_000);
  return { k, cert };
}

export function createCA(commonName = "lbguard-ca", days = 3650, now = new Date()): KeyPairPem {
  const { k, cert } = draft(days, now);
  const attrs = [{ name: "commonName", value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(k.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(k.privateKey) };
}

export function issueServing(ca: KeyPairPem, dnsNames: string[], ips: string[], days = 365, now = new Date()): KeyPairPem {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const { k, cert } = draft(days, now);
  cert.setSubject([{ name: "commonName", value: dnsNames[0] ?? "lbguard" }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    {
      name: "subjectAltName",
      altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(k.privateKey) };
}

/** SANs of the development certificate (README: Command line). */
export function devNames(service = "lbguard", namespace = "lbguard-system"): { dns: string[]; ips: string[] } {
  return {
    dns: ["localhost", `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`],
    ips: ["127.0.0.1"],
  };
}
