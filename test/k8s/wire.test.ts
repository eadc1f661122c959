import { expect } from "chai";
import fc from "fast-check";
import { apiServerJSON, apiServerOrder, apiServerRequestHead } from "../../src/k8s/wire.js";

describe("k8s/wire: reviews in the key order kube-apiserver writes", () => {
  it("orders the review, the request and a Service by their Go structs, and a Go map (labels, selector) by key", () => {
    const review = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        operation: "CREATE",
        uid: "u1",
        object: {
          spec: {
            type: "LoadBalancer",
            selector: { zone: "a", app: "web" },
            ports: [{ port: 80, name: "http", protocol: "TCP" }],
            loadBalancerClass: "metallb",
          },
          metadata: { labels: { b: "2", a: "1" }, namespace: "shop", name: "web" },
          kind: "Service",
          apiVersion: "v1",
        },
        userInfo: { groups: ["system:authenticated"], username: "alice" },
        kind: { kind: "Service", version: "v1", group: "" },
      },
    };
    expect(apiServerJSON(review)).to.equal(
      '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1",' +
        '"kind":{"group":"","version":"v1","kind":"Service"},"operation":"CREATE",' +
        '"userInfo":{"username":"alice","groups":["system:authenticated"]},' +
        '"object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","namespace":"shop","labels":{"a":"1","b":"2"}},' +
        '"spec":{"ports":[{"name":"http","protocol":"TCP","port":80}],"selector":{"app":"web","zone":"a"},' +
        '"type":"LoadBalancer","loadBalancerClass":"metallb"}}}}',
    );
  });

  it("sorts a custom resource's keys at every level, and puts fields a struct does not list after the listed ones", () => {
    const out = apiServerOrder({
      kind: "AdmissionReview",
      request: {
        zeta: 1,
        alpha: 2,
        uid: "u",
        object: {
          spec: { autoAssign: true, addresses: ["10.0.0.0/24"], serviceAllocation: { priority: 1, namespaces: ["a"] } },
          metadata: { namespace: "metallb-system", name: "p" },
          kind: "IPAddressPool",
          apiVersion: "metallb.io/v1beta1",
        },
      },
    });
    expect(Object.keys(out.request)).to.deep.equal(["uid", "object", "alpha", "zeta"]);
    expect(JSON.stringify(out.request.object)).to.equal(
      '{"apiVersion":"metallb.io/v1beta1","kind":"IPAddressPool","metadata":{"name":"p","namespace":"metallb-system"},' +
        '"spec":{"addresses":["10.0.0.0/24"],"autoAssign":true,"serviceAllocation":{"namespaces":["a"],"priority":1}}}',
    );
  });

  it("orders a DaemonSet down to its containers' env and securityContext", () => {
    const out = apiServerOrder({
      request: {
        object: {
          metadata: { name: "kube-vip" },
          apiVersion: "apps/v1",
          kind: "DaemonSet",
          spec: {
            template: {
              spec: {
                hostNetwork: true,
                containers: [
                  {
                    securityContext: { drop: ["ALL"], capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } },
                    env: [{ valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } }, name: "vip_nodename" }],
                    image: "ghcr.io/kube-vip/kube-vip:v1.0.0",
                    name: "kube-vip",
                  },
                ],
                serviceAccountName: "kube-vip",
              },
              metadata: { labels: { name: "kube-vip" } },
            },
            selector: { matchLabels: { name: "kube-vip" } },
          },
        },
      },
    });
    const ds = out.request.object;
    expect(Object.keys(ds)).to.deep.equal(["kind", "apiVersion", "metadata", "spec"]);
    expect(Object.keys(ds.spec)).to.deep.equal(["selector", "template"]);
    expect(Object.keys(ds.spec.template)).to.deep.equal(["metadata", "spec"]);
    expect(Object.keys(ds.spec.template.spec)).to.deep.equal(["containers", "serviceAccountName", "hostNetwork"]);
    const c = ds.spec.template.spec.containers[0];
    expect(Object.keys(c)).to.deep.equal(["name", "image", "env", "securityContext"]);
    expect(Object.keys(c.env[0])).to.deep.equal(["name", "valueFrom"]);
    // SecurityContext has no field "drop": it goes after the listed ones
    expect(Object.keys(c.securityContext)).to.deep.equal(["capabilities", "drop"]);
    expect(Object.keys(c.securityContext.capabilities)).to.deep.equal(["add", "drop"]);
  });

  it("writes the request head as Go's net/http does for kube-apiserver: ?timeout=, then Host, User-Agent, Content-Length", () => {
    expect(apiServerRequestHead("/validate", 123, "lbguard.lbguard-system.svc:443")).to.equal(
      "POST /validate?timeout=10s HTTP/1.1\r\nHost: lbguard.lbguard-system.svc:443\r\n" +
        "User-Agent: kube-apiserver-admission\r\nContent-Length: 123\r\nAccept: application/json, */*\r\n" +
        "Content-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n",
    );
  });

  it("keeps a key named __proto__ an own key, as JSON.parse made it", () => {
    const object = JSON.parse('{"kind":"Thing","__proto__":{"x":1},"spec":{"__proto__":2}}');
    const out = apiServerOrder({ request: { object } });
    expect(JSON.stringify(out.request.object)).to.equal('{"__proto__":{"x":1},"kind":"Thing","spec":{"__proto__":2}}');
  });

  it("changes the order of keys only, never a value (any JSON review)", () => {
    const json = fc.jsonValue({ maxDepth: 5 });
    fc.assert(
      fc.property(json, json, (object, rest) => {
        const review = { kind: "AdmissionReview", request: { object, oldObject: rest, uid: "u" } };
        expect(apiServerOrder(review)).to.deep.equal(review);
      }),
      { numRuns: 300 },
    );
  });
});
