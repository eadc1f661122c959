/**
 * The platform's limit (BENCHMARKS.md): a plain node:https server with the same
 * certificate that reads the body, JSON.parses the review and answers
 * "allowed" for its uid, deciding nothing.
 *   node dist/bench/baseline.js --cert-dir DIR   → prints `baseline listening on <port>`
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

const dir = process.argv[process.argv.indexOf("--cert-dir") + 1];
const server = https.createServer(
  { cert: readFileSync(join(dir, "tls.crt")), key: readFileSync(join(dir, "tls.key")), minVersion: "TLSv1.2" },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const body = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: review.request.uid, allowed: true },
      });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    });
  },
);
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`baseline listening on ${(server.address() as AddressInfo).port}\n`),
);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
