import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLUSTER } from "../helpers/cluster.js";
import { CLI, FIXTURES, ROOT } from "../helpers/paths.js";
import { KUBEVIP_NULL, METALLB_NULL } from "../helpers/policies.js";

function lbguard(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, input, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("cli: lbguard check as a real process", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "lbguard-check-"));
  const policies = { kv: join(dir, "kv.yaml"), mlb: join(dir, "mlb.yaml"), bad: join(dir, "bad.yaml") };
  writeFileSync(policies.kv, KUBEVIP_NULL);
  writeFileSync(policies.mlb, METALLB_NULL);
  writeFileSync(policies.bad, KUBEVIP_NULL.replace("defaultProvider: metallb", "defaultProvider: metallb\n  typo: 1"));
  const state = join(dir, "state.yaml");
  writeFileSync(state, CLUSTER);

  it("exits 0 on clean manifests and reports mutations", () => {
    const svc =
      "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: shop}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n";
    writeFileSync(join(dir, "svc.yaml"), svc);
    const r = lbguard(["check", "--policy", policies.kv, "--state", state, join(dir, "svc.yaml")]);
    expect(r.code).to.equal(0);
    expect(r.out).to.include("service/a created (dry run): lbguard would set loadBalancerClass to metallb");
    expect(r.out).to.match(/1 object in 1 file: 0 denied, 0 with warnings, 1 mutated/);
  });

  it("catches two new pools in one directory that overlap each other (exit 1, kubectl's words)", () => {
    const d = join(dir, "pools");
    mkdirSync(d);
    writeFileSync(
      join(d, "a.yaml"),
      "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab-a, namespace: metallb-system}\nspec: {addresses: [10.0.9.0/24]}\n",
    );
    mkdirSync(join(d, "nested"));
    writeFileSync(
      join(d, "nested", "b.yml"),
      "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab-b, namespace: metallb-system}\nspec: {addresses: [10.0.9.128-10.0.9.200]}\n",
    );
    const r = lbguard(["check", "--policy", policies.kv, "--state", state, d]);
    expect(r.code).to.equal(1);
    expect(r.out).to.include(
      `Error from server (Forbidden): error when creating "${join(d, "nested", "b.yml")}": admission webhook "pools.lbguard.dev" denied the request: IPAddressPool metallb-system/lab-b: 10.0.9.128-10.0.9.200 overlaps 10.0.9.0/24 of IPAddressPool metallb-system/lab-a; pools must not overlap`,
    );
  });

  it("prints one JSON document with -o json", () => {
    const r = lbguard([
      "check",
      "--policy",
      policies.mlb,
      "-o",
      "json",
      join(FIXTURES, "kubevip/daemonset-arp-cp-svc_DERIVED-manifest-daemonset-incluster-taint-v1.2.3.yaml"),
    ]);
    expect(r.code).to.equal(1);
    const doc = JSON.parse(r.out);
    expect(doc.findings).to.deep.equal([
      {
        file: join(FIXTURES, "kubevip/daemonset-arp-cp-svc_DERIVED-manifest-daemonset-incluster-taint-v1.2.3.yaml"),
        index: 0,
        kind: "DaemonSet",
        namespace: "kube-system",
        name: "kube-vip-ds",
        decision: "deny",
        rule: "kube-vip.claims",
        severity: "deny",
        field: "env svc_enable",
        message:
          'DaemonSet kube-system/kube-vip-ds: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"',
        fix: 'set svc_enable "false", or lb_class_only "true"',
      },
    ]);
    expect(doc.summary).to.deep.include({ objects: 1, denied: 1, exitCode: 1 });
  });

  it("reads stdin with -, and -n sets the namespace of objects without one", () => {
    const helm =
      "---\n# Source: chart/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {type: LoadBalancer, loadBalancerClass: metallb, loadBalancerIP: 10.0.4.247}\n";
    const r = lbguard(["check", "--policy", policies.kv, "--state", state, "-n", "traefik", "-"], helm);
    expect(r.code).to.equal(1);
    expect(r.out).to.include('error when creating "-"');
    expect(r.out).to.include("Service traefik/b: 10.0.4.247 is owned by kube-vip (control-plane VIP)");
  });

  it("warnings pass unless --strict", () => {
    const k3s = join(FIXTURES, "kubevip/daemonset-k3s-cp-only-svc_enable-false-v0.5.11_website-k3s-script.yaml");
    const r = lbguard(["check", "--policy", policies.kv, k3s]);
    expect(r.code).to.equal(0);
    expect(r.out).to.match(
      /^Warning: DaemonSet kube-system\/kube-vip-ds: control-plane VIP "\$vipAddress" \(vip_address\) is not an IP address/m,
    );
    expect(lbguard(["check", "--strict", "--policy", policies.kv, k3s]).code).to.equal(1);
  });

  it("a static pod manifest is judged under kubeVip (deny), not mirrorPods (warn)", () => {
    const r = lbguard([
      "check",
      "--policy",
      policies.mlb,
      join(FIXTURES, "kubevip/static-pod-arp-cp-svc_DERIVED-manifest-pod-v1.2.3.yaml"),
    ]);
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/denied the request: Pod kube-system\/kube-vip: svc_enable is "true"/);
  });

  it("exits 2 on a malformed file, and still reports the rest", () => {
    const d = join(dir, "mixed");
    mkdirSync(d);
    writeFileSync(join(d, "broken.yaml"), "kind: Service\nmetadata: [unclosed\n");
    cpSync(
      join(FIXTURES, "kubevip/cloud-provider-configmap_readme-interface-per-namespace-DUPLICATE-KEY.yaml"),
      join(d, "dup.yaml"),
    );
    writeFileSync(join(d, "ok.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: fine}\n");
    const r = lbguard(["check", "--policy", policies.kv, d]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/error: .*broken\.yaml: line \d+/);
    expect(r.err).to.match(/error: .*dup\.yaml: .*unique/i);
    expect(r.out).to.match(/1 object in 1 file: 0 denied.*2 unreadable/);
  });

  it("exits 2 on usage errors and an invalid policy", () => {
    expect(lbguard(["check", join(dir, "svc.yaml")]).code).to.equal(2); // no --policy
    expect(lbguard(["check", "--policy", policies.kv]).code).to.equal(2); // no path
    expect(lbguard(["check", "--policy", policies.kv, "-o", "yaml", join(dir, "svc.yaml")]).code).to.equal(2);
    const bad = lbguard(["check", "--policy", policies.bad, join(dir, "svc.yaml")]);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(/spec: unknown field "typo"/);
    expect(lbguard(["check", "--policy", policies.kv, join(dir, "missing.yaml")]).code).to.equal(2);
  });

  it("--help works on every command", () => {
    for (const c of [["--help"], ["serve", "--help"], ["check", "--help"], ["version", "--help"]]) {
      const r = lbguard(c);
      expect(r.code, c.join(" ")).to.equal(0);
      expect(r.out).to.match(/Usage: lbguard/);
    }
  });
});
