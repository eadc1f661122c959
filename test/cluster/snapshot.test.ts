import { expect } from "chai";
import { mkdtempSync, mkdirSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSnapshot, SnapshotSource } from "../../src/cluster/sources/snapshot.js";
import { createLogger } from "../../src/observability/logger.js";
import { FIXTURES, ROOT } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";

describe("cluster/snapshot: state from files", () => {
  it("reads the example cluster: lists, multi-document files, every kind the view uses", () => {
    const s = loadSnapshot([join(ROOT, "examples/cluster")]);
    expect(s.errors).to.deep.equal([]);
    expect(s.view.counts()).to.deep.equal({ namespaces: 7, pools: 3, services: 3, configMaps: 1, workloads: 2 });
    expect(s.view.namespace("edge")?.labels["lbguard.dev/provider"]).to.equal("kube-vip");
    expect(s.view.configMap("kube-system", "kubevip")?.keys.map((k) => k.key)).to.deep.equal([
      "range-global",
      "cidr-harvester-system",
    ]);
    const mirror = s.view.workload("Pod", "kube-system", "kube-vip-node1");
    expect(mirror?.mirror).to.deep.equal({ node: "node1", manifest: "kube-vip" });
    expect(mirror?.kubeVip[0].controlPlaneVIPs.map((v) => v.value)).to.deep.equal(["10.0.4.247"]);
  });

  it("reads typed lists (kubectl get -o json of the API), JSON files, and ignores kinds it does not use", () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-snap-"));
    writeFileSync(
      join(dir, "svc.json"),
      JSON.stringify({
        apiVersion: "v1",
        kind: "ServiceList",
        items: [
          {
            metadata: { name: "a", namespace: "x" },
            spec: { type: "LoadBalancer" },
            status: { loadBalancer: { ingress: [{ ip: "10.1.1.1" }] } },
          },
          { metadata: { name: "b", namespace: "x" }, spec: { type: "ClusterIP" } },
        ],
      }),
    );
    writeFileSync(
      join(dir, "other.yml"),
      "apiVersion: v1\nkind: Endpoints\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: x}\ndata: {a: b}\n",
    );
    mkdirSync(join(dir, "nested"));
    cpSync(join(FIXTURES, "metallb/ipaddresspool-plus-l2advertisement-all-pools.yaml"), join(dir, "nested/pools.yaml"));
    writeFileSync(join(dir, "README.md"), "not a manifest");
    const s = loadSnapshot([dir]);
    expect(s.errors).to.deep.equal([]);
    expect(s.view.service("x", "a")?.addrs.map((a) => a.text)).to.deep.equal(["10.1.1.1"]);
    expect(s.view.service("x", "b")).to.equal(undefined);
    expect(s.view.configMap("x", "plain")).to.equal(undefined);
    expect(s.view.pool("metallb-system", "example")?.entries.map((e) => e.text)).to.deep.equal([
      "192.168.10.0/24",
      "192.168.9.1-192.168.9.5",
      "fc00:f853:0ccd:e799::/124",
    ]);
  });

  it("reports a broken file and keeps the rest", () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-snap-"));
    writeFileSync(join(dir, "bad.yaml"), "kind: Service\n  metadata: [\n");
    writeFileSync(join(dir, "good.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n");
    const s = loadSnapshot([dir]);
    expect(s.errors).to.have.length(1);
    expect(s.errors[0]).to.match(/bad\.yaml/);
    expect(s.view.namespace("ok")).to.not.equal(undefined);
  });

  it("reloads when a file changes and swaps the whole view", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-snap-"));
    writeFileSync(join(dir, "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: one}\n");
    let reloads = 0;
    const src = SnapshotSource.start([dir], createLogger("silent"), () => reloads++);
    try {
      const before = src.holder.current;
      expect(before.namespace("one")).to.not.equal(undefined);
      writeFileSync(join(dir, "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: two}\n");
      await waitFor(() => reloads > 0, { what: "the reload after the file changed" });
      expect(reloads).to.equal(1);
      expect(src.holder.current).to.not.equal(before);
      expect(src.holder.current.namespace("two")).to.not.equal(undefined);
      expect(src.holder.current.namespace("one")).to.equal(undefined);
      expect(before.namespace("one")).to.not.equal(undefined); // a decision in progress keeps its view
    } finally {
      src.close();
    }
  });
});
