import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { CLUSTER } from "../helpers/cluster.js";
import { judgeHttps } from "../helpers/judge.js";
import { FIXTURES } from "../helpers/paths.js";
import { KUBEVIP_NULL } from "../helpers/policies.js";
import { startTestServer, TestServer } from "../helpers/server.js";
import { CM_CASES, Case, EXTRA, POOL_CASES, pool } from "../rules/pool-cases.js";
import { STRICTER_THAN_METALLB } from "../rules/pool.test.js";

function runOverHttps(title: string, cases: Case[]) {
  describe(title, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(KUBEVIP_NULL, [CLUSTER, EXTRA]);
    });
    after(async () => s.stop());
    for (const c of cases) {
      it(`${c.allowed ? "allows" : "denies"} ${c.what}`, async () => {
        const j = await judgeHttps(s.post, c.req);
        expect(j.allowed, j.message).to.equal(c.allowed);
        if (c.message) expect(j.message).to.match(c.message);
        if (c.warning) expect(j.warnings.join("\n")).to.match(c.warning);
      });
    }
  });
}

runOverHttps("protocol: IPAddressPool cases over HTTPS", POOL_CASES);
runOverHttps("protocol: kube-vip ConfigMap cases over HTTPS", CM_CASES);

describe("protocol: MetalLB's overlap scenarios over HTTPS (earlier pools as cluster state)", () => {
  const metallbOnly = (() => {
    const d = YAML.parse(KUBEVIP_NULL);
    delete d.spec.providers["kube-vip"];
    d.spec.namespaces = [];
    d.spec.reservedAddresses = [];
    return YAML.stringify(d);
  })();
  const file = JSON.parse(readFileSync(join(FIXTURES, "metallb/parse-and-overlap-vectors.json"), "utf8")) as {
    overlapScenarios: { pools: { name: string; addresses: string[] }[]; error: string }[];
  };
  file.overlapScenarios.forEach((sc, i) => {
    it(`#${i + 1}: the last pool is ${sc.error ? "refused" : "accepted"}`, async () => {
      const earlier = sc.pools.slice(0, -1).map((p) => YAML.stringify(pool(p.name, p.addresses)));
      const s = await startTestServer(
        metallbOnly,
        earlier.length ? earlier.join("---\n") : "apiVersion: v1\nkind: List\nitems: []\n",
      );
      try {
        const last = sc.pools[sc.pools.length - 1];
        const j = await judgeHttps(s.post, { object: pool(last.name, last.addresses) });
        const stricter = STRICTER_THAN_METALLB[i + 1];
        expect(j.allowed, j.message).to.equal(!sc.error && !stricter);
        if (stricter) expect(j.message).to.equal(stricter[1]);
      } finally {
        await s.stop();
      }
    });
  });
});
