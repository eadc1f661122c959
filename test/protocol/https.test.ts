import { expect } from "chai";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { CLUSTER } from "../helpers/cluster.js";
import { KUBEVIP_NULL, METALLB_NULL } from "../helpers/policies.js";
import { applyReviewPatch, request as mkRequest, reviewBody, svc } from "../helpers/review.js";
import { SERVICE_DNS, startTestServer, TestServer } from "../helpers/server.js";

function decode(r: { json(): any }) {
  return r.json().response;
}

describe("protocol: AdmissionReview over HTTPS (kube-vip owns class-less Services)", function () {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(KUBEVIP_NULL, CLUSTER);
  });
  after(async () => {
    await s.stop();
  });

  it("presents a certificate that verifies for lbguard.lbguard-system.svc against ca.crt", async () => {
    const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const sock = tls.connect({ host: "127.0.0.1", port: s.port, ca: s.ca, servername: SERVICE_DNS }, () => {
        resolve(sock.getPeerCertificate());
        sock.end();
      });
      sock.on("error", reject);
    });
    expect(cert.subjectaltname).to.include("DNS:lbguard.lbguard-system.svc");
    expect(cert.subjectaltname).to.include("DNS:lbguard.lbguard-system.svc.cluster.local");
  });

  it("fails verification for another name, and refuses TLS 1.1", async () => {
    const wrongName = new Promise<Error>((resolve) => {
      const sock = tls.connect({ host: "127.0.0.1", port: s.port, ca: s.ca, servername: "lbguard.other.svc" }, () =>
        resolve(new Error("connected")),
      );
      sock.on("error", resolve);
    });
    expect((await wrongName).message).to.match(/altnames|Hostname/i);
    const old = new Promise<Error>((resolve) => {
      const sock = tls.connect(
        {
          host: "127.0.0.1",
          port: s.port,
          ca: s.ca,
          servername: SERVICE_DNS,
          maxVersion: "TLSv1.1",
          minVersion: "TLSv1",
        },
        () => resolve(new Error("connected")),
      );
      sock.on("error", resolve);
    });
    expect((await old).message).to.not.equal("connected");
  });

  it("defaults the class by namespace; the returned patch applies and yields the expected object", async () => {
    const object = svc({ ns: "shop", name: "checkout" });
    const req = mkRequest({ object });
    const r = await s.post("/mutate?timeout=10s", reviewBody(req));
    expect(r.status).to.equal(200);
    expect(r.headers["content-type"]).to.match(/application\/json/);
    const body = r.json();
    expect(body.apiVersion).to.equal("admission.k8s.io/v1");
    expect(body.kind).to.equal("AdmissionReview");
    expect(body.response.uid).to.equal(req.uid);
    expect(body.response.allowed).to.equal(true);
    expect(body.response.patchType).to.equal("JSONPatch");
    const patched = applyReviewPatch(object, body.response.patch);
    expect((patched.spec as any).loadBalancerClass).to.equal("metallb");
    expect((patched.spec as any).ports).to.deep.equal((object.spec as any).ports);
    // the validating webhook then accepts the patched object, without a patch of its own
    const v = decode(await s.post("/validate", reviewBody({ ...req, object: patched })));
    expect(v.allowed).to.equal(true);
    expect(v.patch).to.equal(undefined);
  });

  it("never patches an UPDATE of an existing LoadBalancer Service", async () => {
    const old = svc({ ns: "shop", name: "legacy" });
    const r = decode(
      await s.post(
        "/mutate",
        reviewBody({
          operation: "UPDATE",
          oldObject: old,
          object: svc({ ns: "shop", name: "legacy", labels: { a: "b" } }),
        }),
      ),
    );
    expect(r.allowed).to.equal(true);
    expect(r.patch).to.equal(undefined);
  });

  it("the validating endpoint never returns a patch, even for an object it would default", async () => {
    const r = decode(await s.post("/validate", reviewBody({ object: svc({ ns: "kube-system", name: "x" }) })));
    expect(r.allowed).to.equal(true);
    expect(r.patch).to.equal(undefined);
    expect(r.patchType).to.equal(undefined);
  });

  const cases: [string, Parameters<typeof reviewBody>[0], boolean, RegExp?][] = [
    [
      "the control-plane VIP requested by a MetalLB Service",
      { object: svc({ ns: "traefik", name: "traefik", cls: "metallb", ip: "10.0.4.247" }) },
      false,
      /^Service traefik\/traefik: 10\.0\.4\.247 is owned by kube-vip \(control-plane VIP\); MetalLB pools for this namespace: .*traefik-vip-pool \(10\.0\.4\.248\/32\)/,
    ],
    [
      "a class the namespace may not use",
      { object: svc({ ns: "kube-system", name: "x", cls: "metallb" }) },
      false,
      /is not allowed in namespace kube-system/,
    ],
    [
      "a MetalLB annotation on a kube-vip Service",
      { object: svc({ ns: "kube-system", name: "x", annotations: { "metallb.io/address-pool": "default" } }) },
      false,
      /carries the MetalLB annotation/,
    ],
    [
      "a pool address on a MetalLB Service",
      { object: svc({ ns: "traefik", cls: "metallb", annotations: { "metallb.io/loadBalancerIPs": "10.0.5.30" } }) },
      true,
    ],
    [
      "MetalLB's status write on a kube-vip Service",
      {
        operation: "UPDATE",
        subResource: "status",
        user: "system:serviceaccount:metallb-system:controller",
        oldObject: svc({ ns: "kube-system", name: "ingress-expose", status: ["10.0.4.210"] }),
        object: {
          ...svc({ ns: "kube-system", name: "ingress-expose" }),
          status: { loadBalancer: { ingress: [{ ip: "10.0.4.210", ports: [{ port: 443, protocol: "TCP" }] }] } },
        },
      },
      false,
      /status writes from system:serviceaccount:metallb-system:controller \(metallb\) are refused/,
    ],
    ["a DELETE", { operation: "DELETE", oldObject: svc({ ns: "kube-system", name: "x", cls: "metallb" }) }, true],
  ];
  for (const [what, req, allowed, re] of cases) {
    it(`${allowed ? "allows" : "denies"} ${what}`, async () => {
      const r = await s.post("/validate?timeout=3s", reviewBody(req));
      expect(r.status).to.equal(200);
      const resp = decode(r);
      expect(resp.allowed).to.equal(allowed);
      if (!allowed) {
        expect(resp.status.code).to.equal(403);
        expect(resp.status.reason).to.equal("Forbidden");
        expect(resp.status.message).to.match(re!);
      }
    });
  }

  describe("bad input: never a crash, always the right status", () => {
    it("malformed JSON → 400", async () => {
      const r = await s.post("/validate", '{"apiVersion":');
      expect(r.status).to.equal(400);
      expect(r.text).to.match(/not valid JSON/);
    });
    it("empty body → 400", async () => {
      expect((await s.post("/validate", "")).status).to.equal(400);
    });
    it("wrong content type → 400", async () => {
      const r = await s.post("/validate", reviewBody({ object: svc() }), { "Content-Type": "text/plain" });
      expect(r.status).to.equal(400);
      expect(r.text).to.match(/application\/json/);
    });
    it("a review without request → 400", async () => {
      expect(
        (await s.post("/validate", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" })))
          .status,
      ).to.equal(400);
    });
    it("a request without uid → 400", async () => {
      const r = await s.post(
        "/validate",
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          request: { kind: { kind: "Service" } },
        }),
      );
      expect(r.status).to.equal(400);
    });
    it("a body that is not an AdmissionReview → 400", async () => {
      expect((await s.post("/validate", JSON.stringify([1, 2]))).status).to.equal(400);
      expect((await s.post("/validate", JSON.stringify({ kind: "Service" }))).status).to.equal(400);
    });
    it("admission.k8s.io/v1beta1 → 400", async () => {
      const body = JSON.parse(reviewBody({ object: svc() }));
      body.apiVersion = "admission.k8s.io/v1beta1";
      const r = await s.post("/validate", JSON.stringify(body));
      expect(r.status).to.equal(400);
      expect(r.text).to.match(/admission\.k8s\.io\/v1/);
    });
    it("a decodable review with a malformed request → 200 with the uid and status 400", async () => {
      const r = await s.post(
        "/validate",
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          request: { uid: "u-1", operation: "EXPLODE" },
        }),
      );
      expect(r.status).to.equal(200);
      const resp = decode(r);
      expect(resp.uid).to.equal("u-1");
      expect(resp.allowed).to.equal(false);
      expect(resp.status.code).to.equal(400);
    });
    it("an object of an unknown kind → allowed", async () => {
      const req = mkRequest({
        kind: "Widget",
        object: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } } as any,
      });
      const resp = decode(await s.post("/validate", reviewBody(req)));
      expect(resp.allowed).to.equal(true);
      expect(resp.uid).to.equal(req.uid);
    });
    it("hostile annotation values: 10k characters, invalid IPs, ::ffff: forms", async () => {
      const hostile: Record<string, string>[] = [
        { "metallb.io/loadBalancerIPs": "1".repeat(10_000) },
        { "kube-vip.io/loadbalancerIPs": "not-an-ip,also bad" },
        { "metallb.io/address-pool": "\u0000\u202e".repeat(5000) },
        { "metallb.io/loadBalancerIPs": "::ffff:10.0.4.247" },
        { "metallb.io/loadBalancerIPs": "::ffff:999.0.0.1" },
      ];
      for (const annotations of hostile) {
        const r = await s.post(
          "/validate",
          reviewBody({ object: svc({ ns: "traefik", cls: "metallb", annotations }) }),
        );
        expect(r.status).to.equal(200);
        const resp = decode(r);
        expect(resp.allowed).to.equal(false);
        expect(resp.status.message.length).to.be.at.most(320);
        expect(resp.status.message).to.not.match(/[\r\n]/);
      }
    });
    it("a body over 7 MiB → 413", async () => {
      const big = Buffer.alloc(7 * 1024 * 1024 + 10, 0x20);
      const r = await s.post("/validate", big);
      expect(r.status).to.equal(413);
    });
    it("other methods → 405, unknown paths → 404", async () => {
      const get = await s.get("/validate");
      expect(get.status).to.equal(405);
      expect(get.headers.allow).to.equal("POST");
      expect((await s.get("/nope")).status).to.equal(404);
      expect((await s.post("/healthz", "x")).status).to.equal(405);
    });
  });

  it("serves probes and Prometheus metrics", async () => {
    expect((await s.get("/healthz")).status).to.equal(200);
    const ready = await s.get("/readyz");
    expect(ready.status).to.equal(200);
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: s.metricsPort, path: "/metrics" }, (res) => {
          let b = "";
          res.on("data", (c) => (b += c));
          res.on("end", () => resolve(b));
        })
        .on("error", reject);
    });
    expect(text).to.match(
      /lbguard_admission_requests_total\{webhook="validate",kind="Service",operation="CREATE",decision="denied",rule="service\.[a-z-]+"\} \d+/,
    );
    expect(text).to.match(/lbguard_admission_duration_seconds_bucket\{le="0.0005",webhook="mutate",kind="Service"\}/);
    expect(text).to.match(/lbguard_policy_reloads_total\{result="success"\} 1/);
    expect(text).to.match(/lbguard_certificate_expiry_timestamp_seconds \d+/);
    expect(text).to.match(/lbguard_cache_synced\{resource="snapshot"\} 1/);
    expect(text).to.match(/process_resident_memory_bytes/);
    // hostile kinds do not create new series
    expect(text).to.not.match(/kind="Widget"/);
  });

  it("keeps a connection alive across reviews", async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = https.request(
          {
            host: "127.0.0.1",
            port: s.port,
            method: "POST",
            path: "/validate",
            ca: s.ca,
            servername: SERVICE_DNS,
            agent,
            headers: { "Content-Type": "application/json" },
          },
          (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on("end", resolve);
          },
        );
        req.on("error", reject);
        req.end(reviewBody({ object: svc({ ns: "kube-system", name: `k${i}` }) }));
      });
    }
    agent.destroy();
    expect(sockets.size).to.equal(1);
  });
});

describe("protocol: AdmissionReview over HTTPS (MetalLB owns class-less Services)", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(METALLB_NULL, CLUSTER);
  });
  after(async () => {
    await s.stop();
  });

  it("leaves the class unset in a MetalLB namespace and sets kube-vip's in kube-system", async () => {
    const a = svc({ ns: "shop", name: "a" });
    const ra = decode(await s.post("/mutate", reviewBody({ object: a })));
    expect(ra.allowed).to.equal(true);
    expect(ra.patch).to.equal(undefined);
    const b = svc({ ns: "kube-system", name: "b" });
    const rb = decode(await s.post("/mutate", reviewBody({ object: b })));
    expect((applyReviewPatch(b, rb.patch).spec as any).loadBalancerClass).to.equal("kube-vip.io/kube-vip-class");
  });

  it("refuses kube-vip's status write on a class-less (MetalLB) Service", async () => {
    const old = svc({ ns: "shop", name: "a", status: ["10.0.5.4"] });
    const obj = {
      ...old,
      status: { loadBalancer: { ingress: [{ ip: "10.0.5.4", ports: [{ port: 80, protocol: "TCP" }] }] } },
    };
    const r = decode(
      await s.post(
        "/validate",
        reviewBody({
          operation: "UPDATE",
          subResource: "status",
          user: "kubernetes-admin",
          oldObject: old,
          object: obj,
        }),
      ),
    );
    expect(r.allowed).to.equal(false);
    expect(r.status.message).to.match(
      /^Service shop\/a is owned by metallb \(no loadBalancerClass\); status writes from kubernetes-admin \(kube-vip\) are refused; set lb_class_only "true" on kube-vip/,
    );
  });

  it("refuses kube-vip's class in a MetalLB namespace", async () => {
    const r = decode(
      await s.post("/validate", reviewBody({ object: svc({ ns: "shop", cls: "kube-vip.io/kube-vip-class" }) })),
    );
    expect(r.allowed).to.equal(false);
    expect(r.status.message).to.equal(
      'Service shop/web: loadBalancerClass "kube-vip.io/kube-vip-class" (kube-vip) is not allowed in namespace shop; allowed: metallb (no class)',
    );
  });
});
