/**
 * `lbguard audit` and `lbguard init` against a cluster (the fake API server
 * of test/fake, through --kubeconfig): the same findings and the same policy
 * as from the snapshot of that cluster, read with paginated consistent lists
 * and nothing but GETs.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parsePolicy } from "../../src/policy/load.js";
import { FakeApiServer, RESOURCES } from "../fake/apiserver.js";
import { items, lbguardAll, lbguardAsync, story, tmp } from "./helpers.js";

// The fake serves what its RESOURCES table lists; the audit also reads Leases and Nodes.
for (const r of [
  { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true },
  { group: "", version: "v1", resource: "nodes", kind: "Node", namespaced: false },
])
  if (!RESOURCES.some((x) => x.resource === r.resource)) RESOURCES.push(r);

describe("audit: against a cluster through --kubeconfig", function () {
  this.timeout(120_000);
  const dir = tmp("lbguard-audit-live-");

  for (const name of ["harvester-before-fix", "kubeadm-static-pod", "k3s-status-bounce"]) {
    it(`${name}: the same findings and policy as from its snapshot, read-only and paginated`, async () => {
      const fake = new FakeApiServer();
      for (const o of items(name)) fake.apply(o);
      await fake.start();
      try {
        const kubeconfig = join(dir, `${name}.kubeconfig`);
        writeFileSync(kubeconfig, fake.kubeconfig());
        const [live, snap, liveInit, snapInit] = await lbguardAll([
          ["audit", "-o", "json", "--kubeconfig", kubeconfig],
          ["audit", "-o", "json", "--state", story(name)],
          ["init", "--kubeconfig", kubeconfig],
          ["init", "--state", story(name)],
        ]);
        expect(live.code, live.err).to.equal(1);
        const l = JSON.parse(live.out);
        const s = JSON.parse(snap.out);
        expect(l.findings).to.deep.equal(s.findings);
        expect(l.findings.length).to.be.greaterThan(2);
        expect(liveInit.code, liveInit.err).to.equal(0);
        expect(liveInit.out).to.include(`from the cluster http://127.0.0.1:${fake.port}`);
        expect(parsePolicy(liveInit.out, "live").doc).to.deep.equal(parsePolicy(snapInit.out, "snapshot").doc);

        const reqs = fake.requests;
        expect(
          reqs.every((r) => r.method === "GET"),
          "read-only",
        ).to.equal(true);
        expect(reqs.every((r) => r.query.watch === undefined && r.query.resourceVersion === undefined)).to.equal(true);
        const paths = new Set(reqs.map((r) => r.path));
        for (const p of [
          "/api/v1/services",
          "/api/v1/nodes",
          "/apis/coordination.k8s.io/v1/leases",
          "/apis/apps/v1/deployments",
          "/apis/apps/v1/daemonsets",
          "/apis/metallb.io/v1beta1/ipaddresspools",
          "/api/v1/pods",
        ])
          expect(paths, p).to.include(p);
        expect(reqs.find((r) => r.path === "/api/v1/services")!.query.limit).to.equal("500");
        // Secrets and the rest of the cluster's ConfigMaps are never read
        expect([...paths].filter((p) => p.includes("secrets"))).to.deep.equal([]);
        expect(reqs.filter((r) => r.path.endsWith("/configmaps")).every((r) => !!r.query.fieldSelector)).to.equal(true);
      } finally {
        await fake.stop();
      }
    });
  }

  it("a cluster without MetalLB's CRD is audited (nothing of MetalLB runs); an unreachable one exits 2", async () => {
    const fake = new FakeApiServer();
    fake.crds.clear();
    for (const o of items("clean")) if (o.kind !== "IPAddressPool") fake.apply(o);
    await fake.start();
    const kubeconfig = join(dir, "no-crd.kubeconfig");
    writeFileSync(kubeconfig, fake.kubeconfig());
    try {
      const r = await lbguardAsync(["audit", "--kubeconfig", kubeconfig]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^lbguard audit: 0 findings/m);
    } finally {
      await fake.stop();
    }
    const down = await lbguardAsync(["audit", "--kubeconfig", kubeconfig]);
    expect(down.code).to.equal(2);
    expect(down.err).to.match(new RegExp(`^lbguard audit: cannot read the cluster at http://127.0.0.1:${fake.port}: `));
  });
});
