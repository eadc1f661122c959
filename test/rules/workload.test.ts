import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { checkObjects } from "../../src/check/check.js";
import type { KubeObject } from "../../src/cluster/records.js";
import { MemoryView } from "../../src/cluster/view.js";
import { parseManifestText } from "../../src/k8s/manifests.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { judge } from "../helpers/judge.js";
import { FIXTURES, ROOT } from "../helpers/paths.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { expectJudgement } from "./expected.js";
import { INSTANCES, WORKLOAD_CASES, container } from "./workload-cases.js";

const policies = {
  mlb: policy(METALLB_NULL),
  mlbx: policy(METALLB_NULL, (d) => (d.spec.exemptions = [{ namespace: "harvester-system", name: "kube-vip" }])),
  kv: policy(KUBEVIP_NULL),
};
const plain = viewOf(CLUSTER);
const view = viewOf(CLUSTER, INSTANCES);

describe("rules/workload: kube-vip workloads (§7.5)", () => {
  for (const c of WORKLOAD_CASES) {
    it(`${c.allowed ? "allows" : "denies"} ${c.what} [${c.policy === "kv" ? "kube-vip owns null" : "MetalLB owns null"}]`, () => {
      const j = judge(policies[c.policy], c.instances ? view : plain, c.req);
      expectJudgement(j, c);
      if (j.message) expect(j.message.length).to.be.at.most(320);
    });
  }

  it("kubeVip: off skips workloads; mirrorPods: deny denies mirror pods", () => {
    const off = policy(METALLB_NULL, (d) => (d.spec.enforcement = { kubeVip: "off" }));
    const bad = WORKLOAD_CASES[0].req;
    expect(judge(off, view, bad)).to.deep.include({ allowed: true, warnings: [], rules: [] });
    const strictMirror = policy(METALLB_NULL, (d) => (d.spec.enforcement = { mirrorPods: "deny" }));
    const mirror = WORKLOAD_CASES.find((c) => c.what.startsWith("a mirror pod"))!;
    const j = judge(strictMirror, view, mirror.req);
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal(["kube-vip.claims", "kube-vip.lease-clash"]);
    expect(j.message).to.equal(
      'static pod kube-system/kv: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"; fix its manifest on node cp3 (usually in /etc/kubernetes/manifests) (+1 more)',
    );
  });

  it("before the sync, claims and booleans are judged; clashes and pools wait (failureMode)", () => {
    const unsynced = new MemoryView({ workloads: "daemonsets" });
    const claim = judge(policies.mlb, unsynced, WORKLOAD_CASES[0].req);
    expect(claim.allowed).to.equal(false);
    expect(claim.rules).to.deep.equal(["kube-vip.claims", "cluster-state"]);
    expect(claim.message).to.equal(
      'DaemonSet kube-system/kube-vip-ds: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"; also: lbguard is starting and has not synced cluster state yet (waiting for daemonsets); retry in a few seconds',
    );
    const ok = judge(policies.kv, unsynced, { object: WORKLOAD_CASES[2].req.object });
    expect(ok.allowed).to.equal(false);
    expect(ok.rules).to.deep.equal(["cluster-state"]);
    expect(ok.message).to.equal(
      "lbguard is starting and has not synced cluster state yet (waiting for daemonsets); retry in a few seconds",
    );
  });

  it("re-checks an UPDATE only when the kube-vip containers change", () => {
    const before = WORKLOAD_CASES[0].req.object!;
    const scaled = { ...before, metadata: { ...before.metadata, labels: { x: "y" } } };
    expect(judge(policies.mlb, view, { operation: "UPDATE", oldObject: before, object: scaled }).allowed).to.equal(
      true,
    );
  });
});

// ---- every kube-vip fixture, under both policies ---------------------------------------

/** Render a kube-vip Helm chart values file the way charts/kube-vip/templates/daemonset.yaml does. */
function renderKubeVipChart(values: any, name: string, namespace: string): KubeObject {
  const env: Record<string, string> = {};
  if (String(values.env?.cp_enable) === "true") env.vip_address = values.config?.address ?? "";
  for (const [k, v] of Object.entries(values.env ?? {})) env[k] = String(v);
  const image = `${values.image.repository}${values.image.tag ? `:${values.image.tag}` : ""}`;
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace },
    spec: { template: { spec: { serviceAccountName: name, containers: [container(env, image)] } } },
  };
}

/** Render the kube-vip-cloud-provider chart's Deployment (its env block). */
function renderCloudProviderChart(values: any): KubeObject {
  const env = [
    { name: "KUBEVIP_NAMESPACE", value: "kube-system" },
    { name: "KUBEVIP_CONFIG_MAP", value: values.configMapName || "kube-vip-cloud-provider" },
    { name: "KUBEVIP_ENABLE_LOADBALANCERCLASS", value: String(values.enableloadbalancerClass) },
  ];
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "kube-vip-cloud-provider", namespace: "kube-system" },
    spec: {
      template: { spec: { containers: [{ name: "kube-vip-cloud-provider", image: values.image.repository, env }] } },
    },
  };
}

function objectsOf(file: string): KubeObject[] {
  const text = readFileSync(join(FIXTURES, "kubevip", file), "utf8");
  if (file.startsWith("helm-values-kube-vip-chart"))
    return [renderKubeVipChart(YAML.parse(text), "kube-vip", "kube-system")];
  if (file.startsWith("harvester-chart-values"))
    return [renderKubeVipChart(YAML.parse(text)["kube-vip"], "kube-vip", "harvester-system")];
  if (file.startsWith("helm-values-kube-vip-cloud-provider")) return [renderCloudProviderChart(YAML.parse(text))];
  const r = parseManifestText(text, file);
  if (r.error) throw new Error(r.error);
  return r.objects;
}

/** deny | allow | allow, warn | patch, allow (several objects: the strictest) */
function verdict(p: keyof typeof policies, file: string): string {
  const run = checkObjects(
    objectsOf(file).map((object, index) => ({ file, index, object })),
    policies[p],
    viewOf(CLUSTER),
    "default",
  );
  if (run.reports.some((r) => r.denied)) return "deny";
  const warn = run.reports.some((r) => r.warnings.length);
  const patch = run.reports.some((r) => r.mutations.length);
  return `${patch ? "patch, " : ""}allow${warn ? ", warn" : ""}`;
}

/** Expected verdicts: [file, MetalLB owns null, kube-vip owns null]. Kept in the README too. */
export const FIXTURE_VERDICTS: [string, string, string][] = [
  ["cloud-provider-configmap-allow-share-UNQUOTED-BOOLS_cloud-provider-repo-example-0.1.yaml", "deny", "deny"],
  ["cloud-provider-configmap_docs-cidr-range-per-namespace.yaml", "allow", "allow"],
  ["cloud-provider-configmap_readme-allow-share-UNQUOTED-BOOL.yaml", "deny", "deny"],
  ["cloud-provider-configmap_readme-interface-per-namespace-DUPLICATE-KEY.yaml", "allow", "allow"],
  ["cloud-provider-configmap_readme-namespace-pools-ipv6.yaml", "allow", "allow"],
  ["cloud-provider-configmap_readme-skip-end-ips-UNQUOTED-BOOL.yaml", "deny", "deny"],
  ["cloud-provider-deployment-rbac-v0.0.12_cloud-provider-repo-manifest.yaml", "deny", "allow"],
  ["daemonset-arp-cp-svc-leaderelection-incluster-taint_docs-v0.4.0.yaml", "deny", "deny"],
  ["daemonset-arp-cp-svc_DERIVED-manifest-daemonset-incluster-taint-v1.2.3.yaml", "deny", "allow"],
  ["daemonset-arp-svc-only-plndr-image-v0.8.7_kube-vip-repo-testing-kind-egress.yaml", "deny", "allow"],
  ["daemonset-arp-svc-only-svc_election-svc_leasename_kube-vip-repo-testing-kind.yaml", "deny", "allow"],
  ["daemonset-bgp-cp-svc-incluster-taint_docs-v0.4.0.yaml", "deny", "deny"],
  ["daemonset-bgp-svc-only-svc_election_kube-vip-repo-testing-kind.yaml", "deny", "allow"],
  ["daemonset-k3s-cp-only-svc_enable-false-v0.5.11_website-k3s-script.yaml", "allow, warn", "allow, warn"],
  ["harvester-chart-values-kube-vip-subchart_EXCERPT.yaml", "deny", "allow"],
  ["harvester-ingress-expose-service_DERIVED-from-go-code.yaml", "patch, allow", "allow"],
  ["helm-values-kube-vip-chart-0.9.9-svc_enable-true-default.yaml", "deny", "allow"],
  ["helm-values-kube-vip-cloud-provider-chart-0.2.10.yaml", "deny", "allow, warn"],
  ["rbac-clusterrole-kube-vip_website-manifests.yaml", "allow", "allow"],
  ["rbac-namespaced-multitenancy-finance_docs.yaml", "allow", "allow"],
  ["service-dhcp-loadbalancerIP-0.0.0.0-hostname_docs.yaml", "deny", "deny"],
  ["service-etp-local_docs.yaml", "allow", "patch, allow"],
  ["service-plain-loadbalancer_kube-vip-repo-example.yaml", "allow", "patch, allow"],
  ["service-serviceInterface-annotation_kube-vip-repo-example.yaml", "allow", "patch, allow"],
  ["static-pod-arp-cp-svc-leaderelection_docs-v0.4.0.yaml", "deny", "deny"],
  ["static-pod-arp-cp-svc_DERIVED-manifest-pod-v1.2.3.yaml", "deny", "allow"],
  ["static-pod-bgp-cp-svc_docs-v0.3.9.yaml", "allow", "allow"],
];

describe("rules/workload: every kube-vip fixture under both ownership policies", () => {
  it("covers every fixture file but the Go templates", () => {
    const files = readdirSync(join(FIXTURES, "kubevip")).filter((f) => f.endsWith(".yaml"));
    expect(FIXTURE_VERDICTS.map((r) => r[0]).sort()).to.deep.equal(files.sort());
  });
  for (const [file, mlb, kv] of FIXTURE_VERDICTS) {
    it(`${file}: MetalLB owns null → ${mlb}; kube-vip owns null → ${kv}`, () => {
      expect(verdict("mlb", file), "MetalLB owns null").to.equal(mlb);
      expect(verdict("kv", file), "kube-vip owns null").to.equal(kv);
    });
  }
  it("the README shows the same table", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const [file, mlb, kv] of FIXTURE_VERDICTS) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${file}\``));
      expect(row, `README row for ${file}`).to.not.equal(undefined);
      const cells = row!.split("|").map((c) => c.trim());
      expect(cells[2], file).to.equal(mlb);
      expect(cells[3], file).to.equal(kv);
    }
  });
});
