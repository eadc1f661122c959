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
    // file:line:column, as compilers print it
    expect(r.err).to.include(
      `error: ${join(d, "broken.yaml")}:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]\n`,
    );
    expect(r.err).to.match(/error: .*dup\.yaml:\d+:\d+: Map keys must be unique/);
    expect(r.out).to.match(/1 object in 1 file: 0 denied.*2 unreadable/);
  });

  it("names the line and column of a syntax error in a --state file too", () => {
    const bad = join(dir, "bad-state.yaml");
    writeFileSync(bad, "apiVersion: v1\nkind: Namespace\nmetadata: {name: x\n");
    const r = lbguard(["check", "--policy", policies.kv, "--state", bad, join(dir, "svc.yaml")]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: `, "m"));
  });

  it("names the line and column of a JSON syntax error, in text and in -o json", () => {
    const f = join(dir, "bad.json");
    writeFileSync(f, '{\n  "apiVersion": "v1",\n  "kind": }\n');
    const r = lbguard(["check", "--policy", policies.kv, f]);
    expect(r.code).to.equal(2);
    expect(r.err).to.include(`error: ${f}:3:11: invalid JSON: Unexpected token '}'`);
    const j = lbguard(["check", "--policy", policies.kv, "-o", "json", f]);
    expect(JSON.parse(j.out).errors).to.deep.equal([
      { file: f, line: 3, column: 11, message: "invalid JSON: Unexpected token '}'" },
    ]);
  });

  describe("a repository with an unrendered Helm template", () => {
    const repo = join(dir, "repo");
    mkdirSync(join(repo, "charts/web/templates"), { recursive: true });
    mkdirSync(join(repo, "apps"), { recursive: true });
    writeFileSync(
      join(repo, "charts/web/templates/svc.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Values.name }}\n{{- if .Values.lb }}\nspec: {type: LoadBalancer}\n{{- end }}\n",
    );
    writeFileSync(join(repo, "charts/web/values.yaml"), "name: web\nlb: true\n");
    writeFileSync(join(repo, "apps/a.tpl.yaml"), '{{ include "x" . }}: [\n');
    writeFileSync(
      join(repo, "apps/svc.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: traefik}\nspec: {type: LoadBalancer, loadBalancerClass: metallb, loadBalancerIP: 10.0.4.247}\n",
    );

    it("exits 2 and says where, and that it looks like a template", () => {
      const r = lbguard(["check", "--policy", policies.kv, "--state", state, repo]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include(
        `error: ${join(repo, "charts/web/templates/svc.yaml")}:5:1: Implicit keys need to be on a single line (template syntax {{ }}: render it first, e.g. with helm template)`,
      );
      expect(r.err).to.include("hint: skip unrendered templates with --exclude GLOB");
      // the rest is still judged
      expect(r.out).to.include("Service traefik/b: 10.0.4.247 is owned by kube-vip (control-plane VIP)");
    });

    for (const [what, globs] of [
      ["a directory name at any depth, and a file pattern", ["templates", "*.tpl.yaml"]],
      ["paths relative to the argument", ["charts/*/templates", "apps/*.tpl.yaml"]],
      ["paths as given, with **", [`${repo}/charts/**`, "**/a.tpl.yaml"]],
      ["one comma list", ["templates,*.tpl.yaml"]],
    ] as const)
      it(`--exclude (repeatable) skips them: ${what}`, () => {
        const r = lbguard([
          "check",
          "--policy",
          policies.kv,
          "--state",
          state,
          ...globs.flatMap((g) => ["--exclude", g]),
          repo,
        ]);
        expect(r.err).to.equal("");
        expect(r.code).to.equal(1); // the Service on the control-plane VIP, nothing unreadable
        // values.yaml is no Kubernetes object: skipped as before, unless its directory is excluded
        expect(r.out).to.match(
          /lbguard check: 1 object in 1 file: 1 denied, 0 with warnings, 0 mutated(, 1 non-Kubernetes documents skipped)?, 2 excluded\n$/,
        );
      });

    it("LBGUARD_EXCLUDE works too, and -o json counts what was excluded", () => {
      const r = spawnSync(
        process.execPath,
        [CLI, "check", "--policy", policies.kv, "--state", state, "-o", "json", repo],
        {
          cwd: ROOT,
          encoding: "utf8",
          env: { ...process.env, LBGUARD_EXCLUDE: "templates,*.tpl.yaml" },
        },
      );
      const doc = JSON.parse(r.stdout);
      expect(doc.errors).to.deep.equal([]);
      expect(doc.summary).to.deep.include({ objects: 1, denied: 1, excluded: 2, exitCode: 1 });
    });

    it("a glob that matches nothing excludes nothing", () => {
      const r = lbguard(["check", "--policy", policies.kv, "--state", state, "--exclude", "nothing-here", repo]);
      expect(r.code).to.equal(2);
      expect(r.out).to.not.include("excluded");
    });
  });

  it("names the line and column of a policy problem: syntax, unknown field, wrong value", () => {
    const syntax = join(dir, "syntax-policy.yaml");
    writeFileSync(syntax, "apiVersion: lbguard.dev/v1alpha1\nkind: OwnershipPolicy\nspec:\n  providers: [\n");
    const r = lbguard(["check", "--policy", syntax, join(dir, "svc.yaml")]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(
      new RegExp(`^lbguard check: invalid policy:\n  - ${syntax.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:5:1: `),
    );
    const bad = lbguard(["check", "--policy", policies.bad, join(dir, "svc.yaml")]);
    const typoLine =
      KUBEVIP_NULL.replace("defaultProvider: metallb", "defaultProvider: metallb\n  typo: 1")
        .split("\n")
        .findIndex((l) => l === "  typo: 1") + 1;
    expect(bad.err).to.include(`  - ${policies.bad}:${typoLine}:3: spec: unknown field "typo"\n`);
    const wrong = join(dir, "wrong-policy.yaml");
    const text = KUBEVIP_NULL.replace("defaultProvider: metallb", "defaultProvider: metallbb");
    writeFileSync(wrong, text);
    const w = lbguard(["check", "--policy", wrong, "-o", "json", join(dir, "svc.yaml")]);
    expect(w.code).to.equal(2);
    const line = text.split("\n").findIndex((l) => l.includes("defaultProvider: metallbb")) + 1;
    const [err] = JSON.parse(w.out).errors;
    expect(err).to.deep.include({ file: wrong, line, column: 3, policy: true });
    expect(err.message).to.match(/^spec\.defaultProvider: /);
  });

  it("exits 2 on usage errors and an invalid policy", () => {
    expect(lbguard(["check", join(dir, "svc.yaml")]).code).to.equal(2); // no --policy
    expect(lbguard(["check", "--policy", policies.kv]).code).to.equal(2); // no path
    expect(lbguard(["check", "--policy", policies.kv, "-o", "yaml", join(dir, "svc.yaml")]).code).to.equal(2);
    const bad = lbguard(["check", "--policy", policies.bad, join(dir, "svc.yaml")]);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(/:\d+:\d+: spec: unknown field "typo"/);
    expect(lbguard(["check", "--policy", policies.kv, join(dir, "missing.yaml")]).code).to.equal(2);
  });

  it("--help works on every command", () => {
    for (const c of [
      ["--help"],
      ["serve", "--help"],
      ["check", "--help"],
      ["certs", "--help"],
      ["version", "--help"],
    ]) {
      const r = lbguard(c);
      expect(r.code, c.join(" ")).to.equal(0);
      expect(r.out).to.match(/Usage: lbguard/);
    }
  });
});
