import { expect } from "chai";
import { createReviewHandler } from "../../src/admission/handler.js";
import { warmUpReviews } from "../../src/admission/warmup.js";
import { MemoryView } from "../../src/cluster/view.js";
import { createLogger } from "../../src/observability/logger.js";
import { parsePolicy } from "../../src/policy/load.js";
import { BENCH_POLICY } from "../../bench/generate.js";

/** every object's keys, at every depth, as [path, keys] */
function keysAt(v: unknown, path = "", out: [string, string[]][] = []): [string, string[]][] {
  if (Array.isArray(v)) v.forEach((x, i) => keysAt(x, `${path}[${i}]`, out));
  else if (typeof v === "object" && v !== null) {
    out.push([path, Object.keys(v)]);
    for (const [k, x] of Object.entries(v)) keysAt(x, `${path}.${k}`, out);
  }
  return out;
}

describe("admission/warmup: synthetic reviews before serving", () => {
  const policy = parsePolicy(BENCH_POLICY);

  it("are reviews lbguard decodes and answers (200, its own uid), of every common kind", async () => {
    const view = new MemoryView();
    const handler = createReviewHandler({ policy: () => policy, view: () => view }, undefined, createLogger("silent"));
    const reviews = warmUpReviews(policy, true, 2);
    const kinds = new Set<string>();
    for (const [webhook, body] of reviews) {
      const req = JSON.parse(body).request;
      kinds.add(`${req.kind.kind}${req.subResource ? `/${req.subResource}` : ""} ${req.operation}`);
      const out = await handler(webhook, body, "application/json", Date.now() + 10_000);
      expect(out.status).to.equal(200);
      expect(JSON.parse(out.body).response.uid).to.equal(req.uid);
    }
    expect([...kinds].sort()).to.deep.equal([
      "DaemonSet CREATE",
      "IPAddressPool CREATE",
      "Service CREATE",
      "Service UPDATE",
      "Service/status UPDATE",
    ]);
  });

  it("leaves pool CREATEs out when asked (a live view would re-list pools for each)", () => {
    expect(warmUpReviews(policy, false).some(([, b]) => b.includes('"IPAddressPool"'))).to.equal(false);
  });

  it("are written in the API server's key order: Go struct order for built-in kinds, sorted keys for a custom resource", () => {
    const bodies = warmUpReviews(policy, true, 2).map(([, b]) => JSON.parse(b));
    for (const r of bodies) {
      expect(Object.keys(r)).to.deep.equal(["kind", "apiVersion", "request"]);
      const order = [
        "uid",
        "kind",
        "resource",
        "subResource",
        "name",
        "namespace",
        "operation",
        "userInfo",
        "object",
        "oldObject",
      ];
      expect(Object.keys(r.request)).to.deep.equal(order.filter((k) => k in r.request));
    }
    const svc = bodies.find((r) => r.request.kind.kind === "Service" && r.request.operation === "UPDATE").request
      .object;
    expect(Object.keys(svc)).to.deep.equal(["kind", "apiVersion", "metadata", "spec", "status"]);
    expect(Object.keys(svc.spec).slice(0, 5)).to.deep.equal(["ports", "selector", "clusterIP", "clusterIPs", "type"]);
    expect(Object.keys(svc.spec.ports[0])).to.deep.equal(["name", "protocol", "port", "targetPort", "nodePort"]);
    const pool = bodies.find((r) => r.request.kind.kind === "IPAddressPool").request.object;
    for (const [path, keys] of keysAt(pool)) expect(keys, path).to.deep.equal([...keys].sort());
  });

  it("come in more than one shape of each kind (annotations or none, uid or none), as a cluster's do", () => {
    const shapes = new Map<string, Set<string>>();
    for (const [, b] of warmUpReviews(policy, true, 4)) {
      const req = JSON.parse(b).request;
      const kind = `${req.kind.kind} ${req.operation}${req.subResource ?? ""}`;
      const shape = keysAt(req.object)
        .map(([p, k]) => `${p.replace(/\[\d+\]/g, "[]")}:${k.join(",")}`)
        .sort()
        .join(" ");
      (shapes.get(kind) ?? shapes.set(kind, new Set()).get(kind)!).add(shape);
    }
    for (const [kind, s] of shapes) expect(s.size, kind).to.be.greaterThan(1);
  });
});
