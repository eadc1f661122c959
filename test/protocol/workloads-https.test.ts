import { expect } from "chai";
import YAML from "yaml";
import { CLUSTER } from "../helpers/cluster.js";
import { judgeHttps } from "../helpers/judge.js";
import { KUBEVIP_NULL, METALLB_NULL } from "../helpers/policies.js";
import { startTestServer, TestServer } from "../helpers/server.js";
import { INSTANCES, WCase, WORKLOAD_CASES } from "../rules/workload-cases.js";

const POLICIES: Record<WCase["policy"], string> = {
  mlb: METALLB_NULL,
  mlbx: (() => {
    const d = YAML.parse(METALLB_NULL);
    d.spec.exemptions = [{ namespace: "harvester-system", name: "kube-vip" }];
    return YAML.stringify(d);
  })(),
  kv: KUBEVIP_NULL,
};

describe("protocol: kube-vip workload cases over HTTPS", () => {
  const servers = new Map<string, TestServer>();
  const serverFor = async (c: WCase) => {
    const key = `${c.policy}/${!!c.instances}`;
    if (!servers.has(key))
      servers.set(key, await startTestServer(POLICIES[c.policy], c.instances ? [CLUSTER, INSTANCES] : CLUSTER));
    return servers.get(key)!;
  };
  after(async () => {
    for (const s of servers.values()) await s.stop();
  });
  for (const c of WORKLOAD_CASES) {
    it(`${c.allowed ? "allows" : "denies"} ${c.what}`, async () => {
      const s = await serverFor(c);
      const j = await judgeHttps(s.post, c.req);
      expect(j.allowed, j.message).to.equal(c.allowed);
      if (c.message) expect(j.message).to.match(c.message);
      if (c.warning) expect(j.warnings.join("\n")).to.match(c.warning);
    });
  }
});
