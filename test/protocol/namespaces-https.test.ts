/** SPEC §7.6 through the real server: a tenant's relabel refused, an admin's passes, over HTTPS. */
import { expect } from "chai";
import type { KubeObject } from "../../src/cluster/records.js";
import type { AdmissionInput } from "../../src/rules/types.js";
import { CLUSTER } from "../helpers/cluster.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import { reviewBody } from "../helpers/review.js";
import { startTestServer, TestServer } from "../helpers/server.js";

function ns(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } },
  };
}

function relabel(uid: string, groups: string[]): AdmissionInput {
  return {
    uid,
    kind: { group: "", version: "v1", kind: "Namespace" },
    resource: { group: "", version: "v1", resource: "namespaces" },
    name: "lab",
    namespace: "lab",
    operation: "UPDATE",
    userInfo: { username: "alice", groups },
    object: ns("lab", { "lbguard.dev/provider": "kube-vip" }),
    oldObject: ns("lab"),
  };
}

describe("protocol: Namespace relabels over HTTPS (namespaces.lbguard.dev)", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(KUBEVIP_NULL, CLUSTER);
  });
  after(async () => s.stop());

  it("denies a tenant's relabel with 403 and the exact message", async () => {
    const r = await s.post("/validate?timeout=3s", reviewBody(relabel("ns-tenant", ["system:authenticated"])));
    expect(r.status).to.equal(200);
    const body = r.json();
    expect(body).to.deep.include({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    expect(body.response).to.deep.equal({
      uid: "ns-tenant",
      allowed: false,
      status: {
        code: 403,
        reason: "Forbidden",
        message:
          "Namespace lab: labels would move it from metallb to kube-vip (rule 2 of the policy); only namespaceAdmins may change lbguard.dev/provider",
      },
    });
  });

  it("allows the same relabel by a member of system:masters", async () => {
    const r = await s.post("/validate?timeout=3s", reviewBody(relabel("ns-admin", ["system:masters"])));
    expect(r.status).to.equal(200);
    expect(r.json().response).to.deep.equal({ uid: "ns-admin", allowed: true });
  });
});
