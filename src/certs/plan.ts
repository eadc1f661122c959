/**
 * Deciding what `lbguard certs` must do with the material it found: reuse a
 * CA and serving certificate that are valid, belong together, name the
 * Service and have more than a third of their life left; otherwise renew.
 * A renewed CA keeps the previous one in the bundle while it is still valid,
 * so pods still serving the old certificate verify until they reload. Pure:
 * the caller reads and writes the Secret or directory.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { createCA, issueServing } from "./forge.js";

export interface Material {
  caCert?: string;
  caKey?: string;
  /** the CA before the last CA renewal, while still valid */
  caPrevious?: string;
  cert?: string;
  key?: string;
}

export interface PlanOptions {
  dnsNames: string[];
  now?: Date;
  caDays?: number;
  certDays?: number;
}

export interface Plan {
  material: Material;
  changed: boolean;
  /** what was done, in words */
  actions: string[];
  /** PEM bundle for the webhook configurations' caBundle */
  caBundle: string;
  notAfter: Date;
}

function parse(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function fresh(x: X509Certificate, now: Date): boolean {
  const from = new Date(x.validFrom).getTime();
  const to = new Date(x.validTo).getTime();
  const t = now.getTime();
  return t >= from && to - t > (to - from) / 3;
}

function valid(x: X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return t >= new Date(x.validFrom).getTime() && t < new Date(x.validTo).getTime();
}

function keyMatches(x: X509Certificate, keyPem: string | undefined): boolean {
  if (!keyPem) return false;
  try {
    return x.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** Why the CA cannot be reused, or undefined when it can. */
export function caProblem(m: Material, now: Date): string | undefined {
  const ca = parse(m.caCert);
  if (!ca) return m.caCert ? "unreadable" : "absent";
  if (!ca.ca) return "not a CA";
  if (!keyMatches(ca, m.caKey)) return "key does not match";
  if (!valid(ca, now)) return "expired";
  if (!fresh(ca, now)) return `less than a third of its life left (expires ${ca.validTo})`;
  return undefined;
}

/** Why the serving certificate cannot be reused, or undefined when it can. */
export function servingProblem(m: Material, dnsNames: string[], now: Date): string | undefined {
  const x = parse(m.cert);
  if (!x) return m.cert ? "unreadable" : "absent";
  if (!keyMatches(x, m.key)) return "key does not match";
  const ca = parse(m.caCert);
  if (!ca || !x.verify(createPublicKey(ca.publicKey.export({ type: "spki", format: "pem" })))) return "not signed by the current CA";
  for (const n of dnsNames) if (!x.checkHost(n)) return `does not name ${n}`;
  if (!valid(x, now)) return "expired";
  if (!fresh(x, now)) return `less than a third of its life left (expires ${x.validTo})`;
  return undefined;
}

export function plan(existing: Material, o: PlanOptions): Plan {
  const now = o.now ?? new Date();
  const actions: string[] = [];
  let m: Material = { ...existing };
  let changed = false;
  const caWhy = caProblem(m, now);
  if (caWhy) {
    const old = parse(m.caCert);
    const ca = createCA("lbguard CA", o.caDays ?? 3650, now);
    m = { caCert: ca.cert, caKey: ca.key, caPrevious: old && valid(old, now) && old.ca ? m.caCert : undefined };
    actions.push(`CA: created (previous: ${caWhy})`);
    changed = true;
  } else {
    actions.push(`CA: reused (expires ${parse(m.caCert)!.validTo})`);
    const prev = parse(m.caPrevious);
    if (m.caPrevious && !(prev && valid(prev, now))) {
      m.caPrevious = undefined;
      actions.push("previous CA: dropped from the bundle (expired)");
      changed = true;
    }
  }
  const servingWhy = servingProblem(m, o.dnsNames, now);
  if (servingWhy) {
    const leaf = issueServing({ cert: m.caCert!, key: m.caKey! }, o.dnsNames, [], o.certDays ?? 365, now);
    m.cert = leaf.cert;
    m.key = leaf.key;
    actions.push(`serving certificate: issued for ${o.dnsNames[0]} (previous: ${servingWhy})`);
    changed = true;
  } else actions.push(`serving certificate: reused (expires ${parse(m.cert)!.validTo})`);
  const caBundle = m.caCert! + (m.caPrevious ? m.caPrevious : "");
  return { material: m, changed, actions, caBundle, notAfter: new Date(parse(m.cert)!.validTo) };
}

/** The names a webhook Service answers to. */
export function serviceNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}
