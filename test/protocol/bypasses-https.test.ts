import { expect } from "chai";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { judge, judgeHttps } from "../helpers/judge.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { startTestServer, TestServer } from "../helpers/server.js";
import { BYPASS_CASES } from "./bypass-cases.js";

describe("rules: tenant bypasses are refused (kube-vip owns null, MetalLB class metallb)", () => {
  const p = policy(KUBEVIP_NULL);
  const view = viewOf(CLUSTER);
  for (const c of BYPASS_CASES)
    it(`${c.allowed ? "warns about" : "refuses"} ${c.what}`, () => {
      const j = judge(p, view, c.req);
      expect(j.allowed, j.message).to.equal(c.allowed);
      expect(j.rules).to.deep.equal(c.rules);
      expect(c.allowed ? j.warnings.join("\n") : j.message).to.equal(c.text);
    });
});

describe("protocol: tenant bypasses over HTTPS", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(KUBEVIP_NULL, [CLUSTER]);
  });
  after(async () => s.stop());
  for (const c of BYPASS_CASES)
    it(`${c.allowed ? "warns about" : "refuses"} ${c.what}`, async () => {
      const j = await judgeHttps(s.post, c.req);
      expect(j.allowed, j.message).to.equal(c.allowed);
      expect(c.allowed ? j.warnings.join("\n") : j.message).to.equal(c.text);
    });
});
