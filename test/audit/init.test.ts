/**
 * `lbguard init`: the policy it writes is commented field by field, loads in
 * serve and check, and `audit --policy` with it reports exactly what `audit`
 * reports without one. `--null-owner` decides who keeps class-less Services.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML, { isMap, isScalar, isSeq } from "yaml";
import { parsePolicy } from "../../src/policy/load.js";
import { request, spawnServe, testCertDir } from "../helpers/server.js";
import { lbguardAll, Obj, story, STORIES, tmp, writeList } from "./helpers.js";

/** Every leaf of the policy's spec.providers, defaultProvider and namespace rule, with its comment. */
function comments(text: string): Map<string, string> {
  const doc = YAML.parseDocument(text);
  const out = new Map<string, string>();
  const walk = (node: unknown, path: string, before?: string) => {
    if (isMap(node)) {
      if (before !== undefined) out.set(path, before);
      node.items.forEach((p, i) => {
        const key = isScalar(p.key) ? String(p.key.value) : "?";
        // the parser gives a comment above a map's first key to the map
        const c = (isScalar(p.key) ? p.key.commentBefore : undefined) ?? (i === 0 ? node.commentBefore : undefined);
        walk(p.value, path ? `${path}.${key}` : key, c ?? undefined);
      });
    } else if (isSeq(node)) {
      if (before !== undefined) out.set(path, before);
      node.items.forEach((it, i) => {
        const c = isScalar(it) ? it.comment : isMap(it) ? it.commentBefore : undefined;
        walk(it, `${path}[${i}]`, c ?? undefined);
      });
    } else out.set(path, before ?? "");
  };
  walk(doc.contents, "");
  return out;
}

describe("audit: lbguard init", function () {
  this.timeout(120_000);
  const dir = tmp("lbguard-init-");
  const policies = new Map<string, string>();
  before(async () => {
    const runs = await lbguardAll(STORIES.map((s) => ["init", "--state", story(s)]));
    runs.forEach((r, i) => {
      expect(r.code, r.err).to.equal(0);
      policies.set(STORIES[i], r.out);
      writeFileSync(join(dir, `${STORIES[i]}.yaml`), r.out);
    });
  });

  it("-o FILE writes the policy there (and says so), stdout otherwise", async () => {
    const file = join(dir, "written.yaml");
    const [r] = await lbguardAll([["init", "--state", story("shared-lease"), "-o", file]]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal("");
    expect(r.err).to.equal(`lbguard init: wrote ${file}\n`);
    expect(readFileSync(file, "utf8")).to.equal(policies.get("shared-lease"));
  });

  it("every inferred field says where it came from", () => {
    for (const s of STORIES) {
      const c = comments(policies.get(s)!);
      const inferred = [...c.keys()].filter(
        (k) =>
          /^spec\.providers\.[^.]+\.(loadBalancerClass|namespace|configMap)$/.test(k) ||
          /^spec\.providers\.[^.]+\.(identities|controlPlaneVIPs)\[\d+\]$/.test(k) ||
          k === "spec.defaultProvider" ||
          /^spec\.namespaces\[\d+\]$/.test(k),
      );
      expect(inferred.length, s).to.be.greaterThan(4);
      for (const k of inferred) expect(c.get(k)?.trim(), `${s}: ${k}`).to.not.equal("");
    }
  });

  it("audit --policy with it reports the same findings as audit without one", async () => {
    const runs = await lbguardAll(
      STORIES.flatMap((s) => [
        ["audit", "-o", "json", "--state", story(s)],
        ["audit", "-o", "json", "--state", story(s), "--policy", join(dir, `${s}.yaml`)],
      ]),
    );
    STORIES.forEach((s, i) => {
      const without = JSON.parse(runs[2 * i].out);
      const withPolicy = JSON.parse(runs[2 * i + 1].out);
      expect(withPolicy.findings, s).to.deep.equal(without.findings);
      expect(runs[2 * i + 1].code, s).to.equal(runs[2 * i].code);
      expect(without.policy).to.deep.equal({ inferred: true });
      expect(withPolicy.policy).to.deep.equal({ inferred: false, file: join(dir, `${s}.yaml`) });
    });
  });

  it("ends with the changes that make the cluster match it", () => {
    const h = policies.get("harvester-before-fix")!;
    const tail = h.slice(h.indexOf("# Changes that would make the cluster match this policy"));
    expect(tail.split("\n").filter(Boolean)).to.deep.equal([
      "# Changes that would make the cluster match this policy (lbguard audit --policy FILE shows the evidence):",
      `#  1. MetalLB: kubectl -n metallb-system patch deployment controller --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--lb-class=metallb"}]' && kubectl -n metallb-system patch daemonset speaker --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--lb-class=metallb"}]'`,
      "#  2. Service kube-system/ingress-expose has 192.168.0.131 from IPAddressPool metallb-system/default (192.168.0.130-192.168.0.140) bound by kube-vip on control-plane node harvester-node-0 (kube-vip.io/vipHost=harvester-node-0); keep 192.168.0.131 out of MetalLB's pools: kubectl -n metallb-system edit ipaddresspool default",
      "#  3. Service kube-system/ingress-expose: 192.168.0.131 is owned by MetalLB (IPAddressPool metallb-system/default: 192.168.0.130-192.168.0.140); request an address outside MetalLB's pools",
      "#  4. IPAddressPool metallb-system/default: 192.168.0.130-192.168.0.140 overlaps 192.168.0.131, in use by kube-vip Service kube-system/ingress-expose; MetalLB would hand out addresses kube-vip uses",
    ]);
    expect(policies.get("clean")).to.include("# Changes that would make the cluster match this policy: none.");
    const kb = policies.get("kubeadm-static-pod")!;
    expect(kb).to.include(
      '#  1. static pod kube-system/kube-vip: add env lb_class_only: "true" to the kube-vip container in /etc/kubernetes/manifests/kube-vip.yaml on cp1, cp2, cp3\n',
    );
    expect(kb, "the static pods' own findings are that change").to.not.include("fix its manifest on node cp1");
  });

  it("says why a provider keeps class-less Services, and --null-owner picks the other split", async () => {
    // the comment as one line (the printer wraps it)
    const h = policies.get("harvester-before-fix")!.replace(/\n *#  +/g, " ");
    expect(h).to.match(/kube-vip keeps them: of the 1 class-less LoadBalancer Service, kube-vip serves 1 today and/);
    expect(h).to.match(/MetalLB 1 \(a tie: 1 of them requests a kube-vip address\); lbguard init --null-owner metallb/);
    const [m, k, none] = await lbguardAll([
      ["init", "--state", story("harvester-before-fix"), "--null-owner", "metallb"],
      ["init", "--state", story("kubeadm-static-pod"), "--null-owner", "kube-vip"],
      ["init", "--state", story("clean"), "--null-owner", "cilium"],
    ]);
    expect(m.code, m.err).to.equal(0);
    const mp = parsePolicy(m.out, "m").doc.spec.providers;
    expect([mp.metallb!.loadBalancerClass, mp["kube-vip"]!.loadBalancerClass]).to.deep.equal([
      null,
      "kube-vip.io/kube-vip-class",
    ]);
    expect(m.out.replace(/\n *#  +/g, " ")).to.include("--null-owner metallb gives them to MetalLB");
    expect(m.out).to.include(
      "#  1. DaemonSet harvester-system/kube-vip: kubectl -n harvester-system set env daemonset/kube-vip lb_class_only=true\n",
    );
    const kp = parsePolicy(k.out, "k").doc.spec.providers;
    expect([kp.metallb!.loadBalancerClass, kp["kube-vip"]!.loadBalancerClass]).to.deep.equal(["metallb", null]);
    expect(k.out).to.include(
      `#  1. MetalLB: helm upgrade metallb metallb/metallb -n metallb-system --reuse-values --set loadBalancerClass=metallb\n`,
    );
    expect(none.code).to.equal(2);
    expect(none.err).to.match(/argument 'cilium' is invalid/);
  });

  it("exits 2 when no provider runs, or --null-owner names one that does not", async () => {
    const empty = writeList(dir, "empty.yaml", [
      { apiVersion: "v1", kind: "Service", metadata: { name: "a", namespace: "default" }, spec: { type: "ClusterIP" } },
    ]);
    const onlyMetalLB = writeList(
      dir,
      "only-metallb.yaml",
      YAML.parse(readFileSync(story("harvester-before-fix"), "utf8")).items.filter(
        (o: Obj) => o.metadata.namespace !== "harvester-system",
      ),
    );
    const [a, b] = await lbguardAll([
      ["init", "--state", empty],
      ["init", "--state", onlyMetalLB, "--null-owner", "kube-vip"],
    ]);
    expect(a.code).to.equal(2);
    expect(a.err).to.match(/^lbguard init: neither MetalLB .* nor kube-vip runs in the cluster/);
    expect(b.code).to.equal(2);
    expect(b.err).to.equal("lbguard init: --null-owner kube-vip: no kube-vip runs in the cluster\n");
  });

  it("the policy loads in check", async () => {
    const svc = join(dir, "svc.yaml");
    writeFileSync(
      svc,
      "apiVersion: v1\nkind: Service\nmetadata: {name: shop, namespace: shop}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n",
    );
    const [r] = await lbguardAll([
      ["check", "--policy", join(dir, "harvester-before-fix.yaml"), "--state", story("harvester-before-fix"), svc],
    ]);
    expect(r.code, r.out + r.err).to.equal(0);
    expect(r.out).to.include("service/shop created (dry run): lbguard would set loadBalancerClass to metallb");
  });

  it("the policy loads in serve", async () => {
    const certDir = testCertDir();
    const { child, port } = await spawnServe([
      "--policy",
      join(dir, "kubeadm-static-pod.yaml"),
      "--state",
      story("kubeadm-static-pod"),
      "--cert-dir",
      certDir,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
    ]);
    try {
      const ready = await request(port, readFileSync(join(certDir, "ca.crt"), "utf8"), "GET", "/readyz");
      expect(ready.status).to.equal(200);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
