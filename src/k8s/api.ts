/**
 * Raw JSON requests to the API server with the kubeconfig's own transport
 * (@kubernetes/client-node's KubeConfig: CA, client certificates, token
 * files, proxies). Used where typed clients would cost more than they give:
 * paginated lists of 100k objects, and the few writes of `lbguard certs`.
 */
import { KubeConfig } from "@kubernetes/client-node";
import http from "node:http";
import https from "node:https";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromCluster();
  return kc;
}

export interface ApiRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/** One request; resolves with the parsed JSON body, rejects with ApiError on a non-2xx answer. */
export async function apiRequest(kc: KubeConfig, path: string, r: ApiRequest = {}): Promise<any> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(cluster.server.replace(/\/$/, "") + path);
  const method = r.method ?? "GET";
  const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
  const headers: Record<string, string> = { Accept: "application/json" };
  if (payload !== undefined) {
    headers["Content-Type"] = r.contentType ?? "application/json";
    headers["Content-Length"] = String(Buffer.byteLength(payload));
  }
  const opts: https.RequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(opts);
  const mod = url.protocol === "http:" ? http : https;
  const timeoutMs = r.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ...opts, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 299) {
          let msg = `${code} ${res.statusMessage ?? ""}`.trim();
          try {
            msg = JSON.parse(body).message ?? msg;
          } catch {
            /* not a Status */
          }
          reject(new ApiError(`${method} ${url.pathname}: ${msg}`, code));
          return;
        }
        try {
          resolve(body ? JSON.parse(body) : {});
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

export function getJSON(kc: KubeConfig, path: string, timeoutMs: number): Promise<any> {
  return apiRequest(kc, path, { timeoutMs });
}
