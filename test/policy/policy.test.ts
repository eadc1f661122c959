import { expect } from "chai";
import { mkdtempSync, renameSync, symlinkSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import YAML from "yaml";
import { parsePolicy } from "../../src/policy/load.js";
import { PolicyError } from "../../src/policy/policy.js";
import { PolicySource } from "../../src/policy/source.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { ROOT, deployFile } from "../helpers/paths.js";

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyError) return e.problems;
    throw e;
  }
  throw new Error("expected a PolicyError");
}

describe("policy: loading and validation", () => {
  it("accepts the example policy and both null-owner layouts", () => {
    const ex = parsePolicy(readFileSync(join(ROOT, "examples/policy.yaml"), "utf8"));
    expect(ex.ownerOfClass(null)?.name).to.equal("kube-vip");
    expect(ex.ownerOfClass("metallb")?.name).to.equal("metallb");
    const m = policy(METALLB_NULL);
    expect(m.ownerOfClass(null)?.name).to.equal("metallb");
    expect(m.ownerOfClass("kube-vip.io/kube-vip-class")?.name).to.equal("kube-vip");
    expect(m.ownerOfClass("io.cilium/l2")).to.equal(undefined);
    expect(m.enforcementOf("mirrorPods")).to.equal("warn");
    expect(m.failureMode).to.equal("closed");
  });

  const bad: [string, (d: any) => void, RegExp][] = [
    [
      "an unknown field",
      (d) => (d.spec.providers.metallb.lbClass = "x"),
      /spec\.providers\.metallb: unknown field "lbClass"/,
    ],
    ["a top-level typo", (d) => (d.spec.enforcment = {}), /spec: unknown field "enforcment"/],
    [
      "a missing loadBalancerClass",
      (d) => delete d.spec.providers["kube-vip"].loadBalancerClass,
      /spec\.providers\.kube-vip\.loadBalancerClass: required; write null explicitly/,
    ],
    ["two null owners", (d) => (d.spec.providers.metallb.loadBalancerClass = null), /null is already owned by metallb/],
    [
      "a shared class",
      (d) => (d.spec.providers["kube-vip"].loadBalancerClass = "metallb"),
      /"metallb" is already the class of metallb/,
    ],
    [
      "an unknown provider name in a rule",
      (d) => (d.spec.namespaces[0].provider = "cilium"),
      /spec\.namespaces\[0\]\.provider: must be "metallb" or "kube-vip"/,
    ],
    [
      "an undeclared provider in a rule",
      (d) => delete d.spec.providers["kube-vip"],
      /spec\.namespaces\[0\]\.provider: provider "kube-vip" is not declared/,
    ],
    [
      "allowedProviders without the provider",
      (d) => (d.spec.namespaces[1].allowedProviders = ["metallb"]),
      /allowedProviders: must include the provider "kube-vip"/,
    ],
    [
      "a rule with neither names nor selector",
      (d) => (d.spec.namespaces[0] = { provider: "metallb" }),
      /spec\.namespaces\[0\]: give names, selector or both/,
    ],
    [
      "an identity of two providers",
      (d) => d.spec.providers.metallb.identities.push("kubernetes-admin"),
      /"kubernetes-admin" already belongs to/,
    ],
    [
      "a bad reserved address",
      (d) => d.spec.reservedAddresses.push("10.0.0.0/33"),
      /spec\.reservedAddresses\[2\]: invalid CIDR/,
    ],
    [
      "a bad control-plane VIP",
      (d) => (d.spec.providers["kube-vip"].controlPlaneVIPs = ["vip.example.com"]),
      /controlPlaneVIPs\[0\]: "vip\.example\.com" is not an IP/,
    ],
    [
      "a bad configMap reference",
      (d) => (d.spec.providers["kube-vip"].configMap = "kubevip"),
      /configMap: "kubevip" must be namespace\/name/,
    ],
    [
      "a bad enforcement value",
      (d) => (d.spec.enforcement = { pools: "block" }),
      /spec\.enforcement\.pools: must be "deny" or "warn" or "audit" or "off"/,
    ],
    [
      "a class Kubernetes would refuse",
      (d) => (d.spec.providers.metallb.loadBalancerClass = "bad class!"),
      /is not a valid class/,
    ],
    [
      "a bad selector operator",
      (d) => (d.spec.namespaces[1].selector = { matchExpressions: [{ key: "a", operator: "Has" }] }),
      /matchExpressions\[0\]\.operator/,
    ],
    ["a wrong kind", (d) => (d.kind = "Policy"), /kind: must be "OwnershipPolicy"/],
    ["a typo of namespaceAdmins", (d) => (d.spec.namespaceAdmin = ["bob"]), /spec: unknown field "namespaceAdmin"/],
    [
      "a namespaceAdmins entry that is not a list",
      (d) => (d.spec.namespaceAdmins = "group:system:masters"),
      /spec\.namespaceAdmins: /,
    ],
    ["an empty namespaceAdmins entry", (d) => (d.spec.namespaceAdmins = [""]), /spec\.namespaceAdmins\[0\]/],
    [
      "a group: entry without a group",
      (d) => (d.spec.namespaceAdmins = ["bob", "group:"]),
      /spec\.namespaceAdmins\[1\]: "group:" names no group; write group:NAME/,
    ],
    [
      "a bad namespaces enforcement value",
      (d) => (d.spec.enforcement = { namespaces: "block" }),
      /spec\.enforcement\.namespaces: must be "deny" or "warn" or "audit" or "off"/,
    ],
    [
      "an unknown enforcement family",
      (d) => (d.spec.enforcement = { namespace: "warn" }),
      /spec\.enforcement: unknown field "namespace"/,
    ],
  ];
  for (const [what, edit, re] of bad) {
    it(`rejects ${what} and points at the field`, () => {
      const ps = problems(() => policy(KUBEVIP_NULL, edit));
      expect(ps.join("\n")).to.match(re);
    });
  }

  it("rejects duplicate YAML keys and several documents", () => {
    expect(problems(() => parsePolicy("apiVersion: a\napiVersion: b\n")).join()).to.match(/unique|duplicate/i);
    expect(problems(() => parsePolicy(KUBEVIP_NULL + "\n---\n" + KUBEVIP_NULL)).join()).to.match(
      /exactly one YAML document/,
    );
  });

  it("resolves namespaces: names first, then selectors, then the default", () => {
    const p = policy();
    expect(p.resolveNamespace("kube-system", {})).to.deep.include({ provider: "kube-vip", rule: 0 });
    expect(p.resolveNamespace("edge", { "lbguard.dev/provider": "kube-vip" })).to.deep.include({
      provider: "kube-vip",
      rule: 1,
      allowed: ["kube-vip", "metallb"],
    });
    expect(p.resolveNamespace("shop", { team: "x" })).to.deep.include({
      provider: "metallb",
      rule: -1,
      allowed: ["metallb"],
    });
    // labels unknown before the sync: a selector rule cannot be decided
    expect(p.resolveNamespace("shop", undefined)).to.equal(undefined);
    expect(p.resolveNamespace("kube-system", undefined)?.provider).to.equal("kube-vip");
  });
});

describe("policy: namespaceAdmins and the namespaces family (§7.6)", () => {
  it("defaults to group:system:masters and namespaces: deny", () => {
    const p = policy();
    expect(p.enforcementOf("namespaces")).to.equal("deny");
    expect(policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { pools: "warn" })).enforcementOf("namespaces")).to.equal(
      "deny",
    );
    expect(p.isNamespaceAdmin({ username: "kubernetes-admin", groups: ["system:masters"] })).to.equal(true);
    expect(p.isNamespaceAdmin({ username: "system:masters", groups: ["system:authenticated"] })).to.equal(false);
    expect(p.isNamespaceAdmin({ username: "alice" })).to.equal(false);
    expect(p.isNamespaceAdmin(undefined)).to.equal(false);
  });

  it("matches usernames and group:NAME entries", () => {
    const p = policy(KUBEVIP_NULL, (d) => {
      d.spec.namespaceAdmins = ["system:serviceaccount:flux-system:kustomize-controller", "group:platform"];
      d.spec.enforcement = { namespaces: "warn" };
    });
    expect(p.enforcementOf("namespaces")).to.equal("warn");
    expect(p.isNamespaceAdmin({ username: "system:serviceaccount:flux-system:kustomize-controller" })).to.equal(true);
    expect(p.isNamespaceAdmin({ username: "carol", groups: ["platform"] })).to.equal(true);
    expect(p.isNamespaceAdmin({ username: "platform" })).to.equal(false);
    expect(p.isNamespaceAdmin({ username: "root", groups: ["system:masters"] })).to.equal(false);
  });

  it("knows whether labels can decide a namespace: only with a selector rule", () => {
    expect(policy().labelsDecide).to.equal(true);
    expect(policy(METALLB_NULL).labelsDecide).to.equal(false);
    expect(policy().namespaceSelector(1)).to.deep.equal({ matchLabels: { "lbguard.dev/provider": "kube-vip" } });
    expect(policy().namespaceSelector(0)).to.equal(undefined);
  });

  it("accepts the example policies, which leave namespaceAdmins at its default", () => {
    for (const f of ["examples/policy.yaml", relative(ROOT, deployFile("policy.yaml"))]) {
      const text = readFileSync(join(ROOT, f), "utf8");
      const doc = f.startsWith("deploy/") ? (YAML.parse(text).data["policy.yaml"] as string) : text;
      const p = parsePolicy(doc, f);
      expect(p.isNamespaceAdmin({ groups: ["system:masters"] }), f).to.equal(true);
      expect(p.enforcementOf("namespaces"), f).to.equal("deny");
    }
  });
});

describe("policy: reload", () => {
  const log = createLogger("silent");

  async function counter(m: Metrics, result: string): Promise<number> {
    const v = (await m.policyReloads.get()).values.find((x) => x.labels.result === result);
    return v?.value ?? 0;
  }

  it("reloads a valid edit and keeps the previous policy on an invalid one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-pol-"));
    const file = join(dir, "policy.yaml");
    writeFileSync(file, KUBEVIP_NULL);
    const m = new Metrics(false);
    const src = PolicySource.start(file, log, m, 60_000);
    try {
      expect(src.current.ownerOfClass(null)?.name).to.equal("kube-vip");
      writeFileSync(file, METALLB_NULL);
      expect(src.reload(log, m)).to.equal(true);
      expect(src.current.ownerOfClass(null)?.name).to.equal("metallb");
      writeFileSync(
        file,
        METALLB_NULL.replace("loadBalancerClass: kube-vip.io/kube-vip-class", "loadBalancerClass: null"),
      );
      expect(src.reload(log, m)).to.equal(false);
      expect(src.current.ownerOfClass(null)?.name).to.equal("metallb");
      expect(await counter(m, "error")).to.equal(1);
      expect(await counter(m, "success")).to.equal(2);
    } finally {
      src.close();
    }
  });

  it("follows a ConfigMap-style symlink swap without being asked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-cm-"));
    // kubelet layout: policy.yaml -> ..data/policy.yaml, ..data -> ..2026_01
    mkdirSync(join(dir, "..v1"));
    writeFileSync(join(dir, "..v1", "policy.yaml"), KUBEVIP_NULL);
    symlinkSync("..v1", join(dir, "..data"));
    symlinkSync("..data/policy.yaml", join(dir, "policy.yaml"));
    const m = new Metrics(false);
    const src = PolicySource.start(join(dir, "policy.yaml"), log, m, 100);
    try {
      mkdirSync(join(dir, "..v2"));
      writeFileSync(join(dir, "..v2", "policy.yaml"), METALLB_NULL);
      symlinkSync("..v2", join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
      const until = Date.now() + 5000;
      while (src.current.ownerOfClass(null)?.name !== "metallb" && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(src.current.ownerOfClass(null)?.name).to.equal("metallb");
    } finally {
      src.close();
    }
  });

  it("refuses to start on an invalid policy", () => {
    const dir = mkdtempSync(join(tmpdir(), "lbguard-pol-"));
    writeFileSync(join(dir, "p.yaml"), "apiVersion: lbguard.dev/v1alpha1\nkind: OwnershipPolicy\nspec: {}\n");
    expect(() => PolicySource.start(join(dir, "p.yaml"), log)).to.throw(PolicyError, /spec\.providers: required/);
  });
});
