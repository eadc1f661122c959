import { expect } from "chai";
import fc from "fast-check";
import { createReviewHandler } from "../../src/admission/handler.js";
import { createLogger } from "../../src/observability/logger.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";
import { kubevipCM, pool } from "../rules/pool-cases.js";
import { ds, staticPod, cloudProvider } from "../rules/workload-cases.js";

const handler = createReviewHandler(
  { policy: () => policy(KUBEVIP_NULL), view: () => viewOf(CLUSTER) },
  undefined,
  createLogger("silent"),
);
const view = viewOf(CLUSTER);
const p = policy(KUBEVIP_NULL);
const fast = createReviewHandler({ policy: () => p, view: () => view }, undefined, createLogger("silent"));
void handler;

type Reply = { status: number; body: string };
const call = (webhook: "mutate" | "validate", body: string, ct = "application/json") =>
  fast(webhook, body, ct, Date.now() + 5000) as Reply;

/** Real reviews of every admitted kind, as the API server sends them. */
const SEEDS: string[] = [
  reviewBody({ object: svc({ ns: "shop" }) }),
  reviewBody({
    object: svc({
      ns: "traefik",
      cls: "metallb",
      ip: "10.0.4.247",
      annotations: { "metallb.io/address-pool": "default" },
    }),
  }),
  reviewBody({
    operation: "UPDATE",
    subResource: "status",
    user: "system:serviceaccount:metallb-system:controller",
    oldObject: svc({ ns: "kube-system", status: ["10.0.4.210"] }),
    object: svc({ ns: "kube-system" }),
  }),
  reviewBody({
    object: pool("p", ["10.0.8.0/24", "fd00::/120"], {
      serviceAllocation: { namespaces: ["kube-system"], namespaceSelectors: [{ matchLabels: { a: "b" } }] },
    }),
  }),
  reviewBody({ object: kubevipCM({ "range-global": "10.0.5.1-10.0.5.9", "cidr-x": "10.0.9.0/29" }) }),
  reviewBody({ object: ds("kv", { svc_enable: "true", cp_enable: "true", address: "10.0.5.10" }) }),
  reviewBody({ object: staticPod({ svc_enable: "true" }, { mirror: true }), user: "system:node:cp1" }),
  reviewBody({ object: cloudProvider({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "maybe" }) }),
];

/** Replace the value at a random path of a JSON document with an arbitrary JSON value. */
function mutate(doc: unknown, path: number[], value: unknown, del: boolean): unknown {
  if (!path.length || doc === null || typeof doc !== "object") return value;
  const keys = Object.keys(doc as object);
  if (!keys.length) return value;
  const k = keys[path[0] % keys.length];
  const copy: any = Array.isArray(doc) ? [...doc] : { ...(doc as object) };
  if (path.length === 1 && del) delete copy[k];
  else copy[k] = mutate(copy[k], path.slice(1), value, del);
  return copy;
}

function check(r: Reply, uid?: unknown): void {
  expect([200, 400]).to.include(r.status);
  if (r.status !== 200) return;
  const out = JSON.parse(r.body);
  expect(out.apiVersion).to.equal("admission.k8s.io/v1");
  expect(out.kind).to.equal("AdmissionReview");
  if (uid !== undefined) expect(out.response.uid).to.equal(uid);
  // a rule never throws on hostile input: no internal errors
  expect(out.response.status?.code, out.response.status?.message).to.not.equal(500);
  if (out.response.patch !== undefined) expect(out.response.patchType).to.equal("JSONPatch");
}

describe("property: the AdmissionReview codec and rules under random and mutated reviews", () => {
  it("random bodies: always a 200 review or a 400, never a crash", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.constantFrom("mutate", "validate"),
        fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", ""),
        (body, w, ct) => {
          check(call(w as "mutate" | "validate", body, ct));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("mutated real reviews: a 200 that echoes the uid, or a 400 when there is no uid to echo", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SEEDS),
        fc.array(fc.nat(50), { minLength: 1, maxLength: 7 }),
        fc.jsonValue(),
        fc.boolean(),
        fc.constantFrom("mutate", "validate"),
        (seed, path, value, del, w) => {
          const doc = mutate(JSON.parse(seed), path, value, del) as any;
          const r = call(w as "mutate" | "validate", JSON.stringify(doc));
          const uid = doc?.request?.uid;
          check(r, typeof uid === "string" && uid ? uid : undefined);
          if (
            typeof uid === "string" &&
            uid &&
            doc.apiVersion === "admission.k8s.io/v1" &&
            doc.kind === "AdmissionReview" &&
            doc.request &&
            typeof doc.request === "object" &&
            !Array.isArray(doc.request)
          )
            expect(r.status).to.equal(200);
        },
      ),
      // LBGUARD_FUZZ_RUNS=100000 for a long fuzz
      { numRuns: Number(process.env.LBGUARD_FUZZ_RUNS) || 3000 },
    );
  });

  it("hostile strings anywhere in a Service: decided, one line, never a crash", () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: "grapheme", maxLength: 100 }),
      fc.constantFrom(
        "::ffff:10.0.4.247",
        "10.0.4.247\n",
        "0.0.0.0",
        "::",
        "1.1.1.1,2.2.2.2,3.3.3.3",
        "x".repeat(5000),
      ),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            "metallb.io/loadBalancerIPs",
            "metallb.io/address-pool",
            "kube-vip.io/loadbalancerIPs",
            "metallb.universe.tf/loadBalancerIPs",
            "other",
          ),
          hostile,
        ),
        hostile,
        fc.option(hostile),
        (annotations, ip, cls) => {
          const r = call(
            "validate",
            reviewBody({ object: svc({ ns: "traefik", ip, cls: cls ?? undefined, annotations }) }),
          );
          check(r);
          const msg = JSON.parse(r.body).response.status?.message;
          if (msg) expect(msg).to.not.match(/[\r\n]/);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
