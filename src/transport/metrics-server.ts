/** Plain-HTTP Prometheus endpoint on --metrics-port. */
import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export function startMetricsServer(
  registry: Registry,
  port: number,
  host?: string,
): Promise<{ port: number; server: Server }> {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", registry.contentType).send(await registry.metrics());
  });
  app.use((_req, res) => {
    res.status(404).type("text/plain").send("not found\n");
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? "0.0.0.0");
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      resolve({ port: (server.address() as AddressInfo).port, server });
    });
  });
}
