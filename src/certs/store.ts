/**
 * Where `lbguard certs` keeps its material: a Secret (type kubernetes.io/tls
 * plus ca.crt, ca.key, ca-previous.crt) or a directory; and patching the
 * caBundle of webhook configurations when it drifts.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError, apiRequest } from "../k8s/api.js";
import type { Material } from "./plan.js";

const FILES: [keyof Material, string, number][] = [
  ["caCert", "ca.crt", 0o644],
  ["caKey", "ca.key", 0o600],
  ["caPrevious", "ca-previous.crt", 0o644],
  ["cert", "tls.crt", 0o644],
  ["key", "tls.key", 0o600],
];

export function readDir(dir: string): Material {
  const m: Material = {};
  for (const [k, f] of FILES) if (existsSync(join(dir, f))) m[k] = readFileSync(join(dir, f), "utf8");
  return m;
}

export function writeDir(dir: string, m: Material): void {
  mkdirSync(dir, { recursive: true });
  for (const [k, f, mode] of FILES) if (m[k]) writeFileSync(join(dir, f), m[k]!, { mode });
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: unknown) => (typeof s === "string" ? Buffer.from(s, "base64").toString("utf8") : undefined);

export interface SecretRef {
  namespace: string;
  name: string;
}

export async function readSecret(kc: KubeConfig, ref: SecretRef): Promise<{ material: Material; resourceVersion?: string }> {
  try {
    const s = await apiRequest(kc, `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`);
    const m: Material = {};
    for (const [k, f] of FILES) m[k] = unb64(s.data?.[f]);
    return { material: m, resourceVersion: s.metadata?.resourceVersion };
  } catch (e) {
    if (e instanceof ApiError && e.statusCode === 404) return { material: {} };
    throw e;
  }
}

export async function writeSecret(kc: KubeConfig, ref: SecretRef, m: Material, resourceVersion?: string): Promise<"created" | "updated"> {
  const data: Record<string, string> = {};
  for (const [k, f] of FILES) if (m[k]) data[f] = b64(m[k]!);
  const body = {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name: ref.name, namespace: ref.namespace, labels: { "app.kubernetes.io/name": "lbguard", "app.kubernetes.io/component": "webhook-tls" }, ...(resourceVersion ? { resourceVersion } : {}) },
    data,
  };
  if (resourceVersion) {
    await apiRequest(kc, `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`, { method: "PUT", body });
    return "updated";
  }
  await apiRequest(kc, `/api/v1/namespaces/${ref.namespace}/secrets`, { method: "POST", body });
  return "created";
}

const KINDS = [
  ["MutatingWebhookConfiguration", "mutatingwebhookconfigurations"],
  ["ValidatingWebhookConfiguration", "validatingwebhookconfigurations"],
] as const;

/**
 * Put caBundle into every webhook of the named configurations (mutating and
 * validating, whichever exist) where it differs. Returns what it did; throws
 * when no configuration of that name exists (the Job then retries).
 */
export async function patchCABundle(kc: KubeConfig, name: string, caBundle: string): Promise<string[]> {
  const want = b64(caBundle);
  const out: string[] = [];
  let found = 0;
  for (const [kind, resource] of KINDS) {
    const path = `/apis/admissionregistration.k8s.io/v1/${resource}/${name}`;
    let cfg: any;
    try {
      cfg = await apiRequest(kc, path);
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404) continue;
      throw e;
    }
    found++;
    const ops: unknown[] = [{ op: "test", path: "/metadata/resourceVersion", value: cfg.metadata.resourceVersion }];
    (cfg.webhooks ?? []).forEach((w: any, i: number) => {
      if (w.clientConfig?.caBundle !== want)
        ops.push({ op: w.clientConfig?.caBundle === undefined ? "add" : "replace", path: `/webhooks/${i}/clientConfig/caBundle`, value: want });
    });
    if (ops.length === 1) {
      out.push(`${kind} ${name}: caBundle current`);
      continue;
    }
    await apiRequest(kc, path, { method: "PATCH", body: ops, contentType: "application/json-patch+json" });
    out.push(`${kind} ${name}: caBundle patched in ${ops.length - 1} of ${(cfg.webhooks ?? []).length} webhooks`);
  }
  if (!found) throw new Error(`no MutatingWebhookConfiguration or ValidatingWebhookConfiguration named ${name}`);
  return out;
}
