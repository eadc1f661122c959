/** Everything but the two review paths, served by express: the probes, 404 and 405. */
import express from "express";
import type { Readiness } from "./types.js";

export function probeApp(readiness: Readiness, isDraining: () => boolean): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
  app.get("/readyz", (_req, res) => {
    const r = readiness();
    if (isDraining()) r.reasons.unshift("shutting down");
    if (r.ready && !isDraining()) res.type("text/plain").send("ok\n");
    else
      res
        .status(503)
        .type("text/plain")
        .send(`not ready: ${r.reasons.join("; ")}\n`);
  });
  for (const p of ["/healthz", "/readyz"]) {
    app.all(p, (_req, res) => {
      res.status(405).set("Allow", "GET, HEAD").type("text/plain").send("method not allowed\n");
    });
  }
  app.use((_req, res) => {
    res.status(404).type("text/plain").send("not found\n");
  });
  return app;
}
