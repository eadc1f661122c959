import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as admission from "kubernetes-models/admissionregistration.k8s.io/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as batch from "kubernetes-models/batch/v1";
import * as policyV1 from "kubernetes-models/policy/v1";
import * as rbac from "kubernetes-models/rbac.authorization.k8s.io/v1";
import * as core from "kubernetes-models/v1";
import * as certManager from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import { WEBHOOKS } from "../../src/admission/webhooks.js";
import { resourcesFor } from "../../src/cluster/sources/live.js";
import { parsePolicy } from "../../src/policy/load.js";
import { ROOT } from "../helpers/paths.js";
import { build, containersOf, Obj, podSpecOf } from "./kustomize.js";

const MODELS: Record<string, Record<string, any>> = {
  v1: core,
  "apps/v1": apps,
  "batch/v1": batch,
  "policy/v1": policyV1,
  "rbac.authorization.k8s.io/v1": rbac,
  "admissionregistration.k8s.io/v1": admission,
  "cert-manager.io/v1": certManager,
};

const base = build(join(ROOT, "deploy"));
const overlay = build(join(ROOT, "deploy/overlays/cert-manager"));
const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name)!;
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]);

for (const [title, objs] of [
  ["deploy/ (base)", base],
  ["deploy/overlays/cert-manager", overlay],
] as const) {
  describe(`deploy: ${title} validates against the Kubernetes schemas`, () => {
    for (const o of objs) {
      it(`${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`, () => {
        const Model = MODELS[o.apiVersion]?.[o.kind];
        expect(Model, `a schema for ${o.apiVersion} ${o.kind}`).to.not.equal(undefined);
        new Model(o).validate();
        if (!CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, "namespaced objects name their namespace").to.be.a("string");
        expect(o.metadata.labels?.["app.kubernetes.io/part-of"]).to.equal("lbguard");
      });
    }
  });
}

describe("deploy: the webhook configurations", () => {
  const m = find(base, "MutatingWebhookConfiguration", "lbguard");
  const v = find(base, "ValidatingWebhookConfiguration", "lbguard");
  const all = [...m.webhooks, ...v.webhooks];
  const entry = (name: string) => all.find((w: Obj) => w.name === name)!;

  it("has one entry per webhook name lbguard uses in its messages", () => {
    expect(all.map((w: Obj) => w.name).sort()).to.deep.equal(Object.values(WEBHOOKS).sort());
  });
  it("every entry: v1 only, no side effects, at most 3 s, an explicit failurePolicy, lbguard's Service", () => {
    for (const w of all) {
      expect(w.admissionReviewVersions, w.name).to.deep.equal(["v1"]);
      expect(w.sideEffects, w.name).to.equal("None");
      expect(w.timeoutSeconds, w.name).to.be.within(1, 3);
      expect(w.failurePolicy, w.name).to.be.oneOf(["Fail", "Ignore"]);
      expect(w.clientConfig.service).to.deep.include({ name: "lbguard", namespace: "lbguard-system", port: 443 });
      expect(w.clientConfig.service.path).to.equal(m.webhooks.includes(w) ? "/mutate" : "/validate");
      for (const r of w.rules) expect(r.operations, w.name).to.not.include("DELETE");
    }
  });
  it("never calls itself for its own namespace (kubernetes.io/metadata.name, not a tenant label)", () => {
    for (const w of all) {
      const exprs = w.namespaceSelector?.matchExpressions ?? [];
      expect(w.namespaceSelector?.matchLabels, w.name).to.equal(undefined);
      const sel = exprs.find((e: Obj) => e.key === "kubernetes.io/metadata.name");
      expect(sel, w.name).to.not.equal(undefined);
      const ok = (sel.operator === "NotIn" && sel.values.includes("lbguard-system")) || (sel.operator === "In" && !sel.values.includes("lbguard-system"));
      expect(ok, w.name).to.equal(true);
    }
  });
  it("lists services/status explicitly next to services", () => {
    expect(entry(WEBHOOKS.services).rules[0].resources).to.deep.equal(["services", "services/status"]);
  });
  it("pools fail closed; defaulting, Services and kube-system's kube-vip never block the cluster", () => {
    expect(entry(WEBHOOKS.pools).failurePolicy).to.equal("Fail");
    expect(entry(WEBHOOKS.kubeVipConfig).failurePolicy).to.equal("Fail");
    expect(entry(WEBHOOKS.kubeVipWorkloads).failurePolicy).to.equal("Fail");
    expect(entry(WEBHOOKS.defaultClass).failurePolicy).to.equal("Ignore");
    expect(entry(WEBHOOKS.services).failurePolicy).to.equal("Ignore");
    expect(entry(WEBHOOKS.kubeVipSystemWorkloads).failurePolicy).to.equal("Ignore");
  });
  it("narrows kube-vip workloads, system namespaces in their own entry, by matchConditions on the image", () => {
    const sys = entry(WEBHOOKS.kubeVipSystemWorkloads);
    const other = entry(WEBHOOKS.kubeVipWorkloads);
    expect(sys.namespaceSelector.matchExpressions[0]).to.deep.equal({ key: "kubernetes.io/metadata.name", operator: "In", values: ["kube-system"] });
    expect(other.namespaceSelector.matchExpressions[0].values).to.include.members(["kube-system", "lbguard-system"]);
    for (const w of [sys, other]) {
      expect(w.matchConditions.map((c: Obj) => c.expression).join()).to.include("kube-vip");
      expect(w.rules.flatMap((r: Obj) => r.resources).sort()).to.deep.equal(["daemonsets", "deployments", "pods", "statefulsets"]);
    }
    expect(entry(WEBHOOKS.kubeVipConfig).matchConditions[0].expression).to.equal("object.metadata.name == 'kubevip'");
  });
  it("has no caBundle in the base (the Job writes it) and cert-manager's injector in the overlay", () => {
    for (const w of all) expect(w.clientConfig.caBundle).to.equal(undefined);
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"])
      expect(find(overlay, kind, "lbguard").metadata.annotations).to.deep.equal({ "cert-manager.io/inject-ca-from": "lbguard-system/lbguard-serving" });
  });
});

describe("deploy: the Deployment and its neighbours", () => {
  const d = find(base, "Deployment", "lbguard");
  const pod = podSpecOf(d)!;
  const c = pod.containers[0];

  it("runs 2 replicas spread over nodes and zones, system-cluster-critical", () => {
    expect(d.spec.replicas).to.equal(2);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).to.equal(0);
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).to.equal("kubernetes.io/hostname");
    expect(pod.topologySpreadConstraints[0].topologyKey).to.equal("topology.kubernetes.io/zone");
    expect(pod.priorityClassName).to.equal("system-cluster-critical");
  });
  it("is non-root, read-only, without capabilities, seccomp RuntimeDefault", () => {
    expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.securityContext.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
    expect(c.securityContext).to.deep.include({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(c.securityContext.capabilities).to.deep.equal({ drop: ["ALL"] });
  });
  it("has requests and a memory limit above the measured footprint, and probes on /healthz and /readyz", () => {
    expect(c.resources.requests).to.have.keys("cpu", "memory");
    expect(c.resources.limits.memory).to.equal("384Mi");
    expect(c.livenessProbe.httpGet).to.deep.include({ path: "/healthz", scheme: "HTTPS" });
    expect(c.readinessProbe.httpGet).to.deep.include({ path: "/readyz", scheme: "HTTPS" });
  });
  it("mounts the policy as a directory (updates arrive) and only the serving pair of the Secret", () => {
    expect(c.args).to.include.members(["--policy=/etc/lbguard/policy/policy.yaml", "--cert-dir=/etc/lbguard/tls", "--shutdown-delay=5"]);
    for (const vm of c.volumeMounts) expect(vm.subPath, vm.name).to.equal(undefined);
    const tls = pod.volumes.find((v: Obj) => v.name === "tls");
    expect(tls.secret.items.map((i: Obj) => i.key)).to.deep.equal(["tls.crt", "tls.key"]);
  });
  it("has a PodDisruptionBudget of maxUnavailable 1 on the same pods, and a Service to them", () => {
    const pdb = find(base, "PodDisruptionBudget", "lbguard");
    expect(pdb.spec.maxUnavailable).to.equal(1);
    expect(pdb.spec.minAvailable).to.equal(undefined);
    expect(pdb.spec.selector.matchLabels).to.deep.equal(d.spec.selector.matchLabels);
    const svc = find(base, "Service", "lbguard");
    expect(svc.spec.selector).to.deep.equal(d.spec.selector.matchLabels);
    expect(svc.spec.ports.find((p: Obj) => p.port === 443).targetPort).to.equal("webhook");
  });
  it("ships the example policy, which lbguard accepts", () => {
    const cm = find(base, "ConfigMap", "lbguard-policy");
    expect(cm.data["policy.yaml"].trim()).to.equal(readFileSync(join(ROOT, "examples/policy.yaml"), "utf8").trim());
    expect(() => parsePolicy(cm.data["policy.yaml"])).to.not.throw();
  });
  it("runs the same image everywhere, non-root, with read-only root filesystems", () => {
    const images = new Set<string>();
    for (const o of base) for (const k of containersOf(o)) {
      images.add(k.image);
      expect(k.securityContext?.readOnlyRootFilesystem, `${o.kind} ${o.metadata.name}`).to.equal(true);
      expect(podSpecOf(o)!.securityContext?.runAsNonRoot, `${o.kind} ${o.metadata.name}`).to.equal(true);
    }
    expect([...images]).to.deep.equal(["ghcr.io/lbguard/lbguard:v0.1.0"]);
  });
  it("bootstraps certificates with a Job and renews them with a CronJob in the base, with cert-manager in the overlay", () => {
    for (const o of [find(base, "Job", "lbguard-certs"), find(base, "CronJob", "lbguard-certs-renew")])
      expect(containersOf(o)[0].args).to.deep.equal(["--namespace=lbguard-system", "--service=lbguard", "--secret=lbguard-tls", "--webhook-config=lbguard"]);
    for (const k of ["Job", "CronJob", "ServiceAccount", "ClusterRole", "Role"]) expect(overlay.some((o) => o.kind === k && o.metadata.name.startsWith("lbguard-certs")), k).to.equal(false);
    const cert = find(overlay, "Certificate", "lbguard-serving");
    expect(cert.spec.secretName).to.equal("lbguard-tls");
    expect(cert.spec.dnsNames).to.include("lbguard.lbguard-system.svc");
  });
});

describe("deploy: least-privilege RBAC", () => {
  const roles = base.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");
  const rulesOf = (kind: string, name: string) => find(base, kind, name).rules as Obj[];

  it("no wildcards anywhere", () => {
    for (const r of roles) for (const rule of r.rules) for (const f of ["apiGroups", "resources", "verbs", "resourceNames"]) expect(rule[f] ?? [], `${r.metadata.name}.${f}`).to.not.include("*");
  });
  it("the server may only get/list/watch, and covers every resource the live source watches", () => {
    const serverRoles = base
      .filter((o) => (o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding") && o.subjects.some((s: Obj) => s.name === "lbguard"))
      .map((b) => ({ role: find(base, b.roleRef.kind, b.roleRef.name), ns: b.kind === "RoleBinding" ? b.metadata.namespace : undefined }));
    for (const { role } of serverRoles) for (const rule of role.rules) expect(rule.verbs).to.deep.equal(["get", "list", "watch"]);
    const policy = parsePolicy(find(base, "ConfigMap", "lbguard-policy").data["policy.yaml"]);
    for (const spec of resourcesFor(policy)) {
      const m = /^\/apis?\/(?:([^/]+)\/)?v[^/]*\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(spec.path.replace("/api/v1", "/api/core/v1"))!;
      const group = m[1] === "core" ? "" : m[1];
      const [ns, resource] = [m[2], m[3]];
      const allowed = serverRoles.some(({ role, ns: rns }) => (!rns || rns === ns) && role.rules.some((r: Obj) => r.apiGroups.includes(group) && r.resources.includes(resource) && ["list", "watch"].every((v) => r.verbs.includes(v))));
      expect(allowed, `${spec.key} (${spec.path})`).to.equal(true);
    }
  });
  it("Secrets only through a Role in lbguard's own namespace; webhook configurations only lbguard's, only get/patch", () => {
    for (const r of roles) for (const rule of r.rules) if (rule.resources.includes("secrets")) {
      expect(r.kind).to.equal("Role");
      expect(r.metadata.namespace).to.equal("lbguard-system");
    }
    const hooks = rulesOf("ClusterRole", "lbguard-certs");
    expect(hooks).to.deep.equal([{ apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"], resourceNames: ["lbguard"], verbs: ["get", "patch"] }]);
    expect(rulesOf("Role", "lbguard-kubevip-configmap")[0]).to.deep.include({ resourceNames: ["kubevip"] });
  });
});

describe("deploy: the image", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
  it("is multi-stage, production dependencies only, a numeric non-root user, no shell, lbguard serve", () => {
    expect(dockerfile.match(/^FROM /gm)).to.have.length(2);
    expect(dockerfile).to.match(/npm prune --omit=dev/);
    expect(dockerfile).to.match(/FROM gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot/);
    expect(dockerfile).to.match(/^USER 65532:65532$/m);
    expect(dockerfile).to.match(/^ENTRYPOINT \["\/nodejs\/bin\/node", "--max-semi-space-size=8", "\/app\/dist\/src\/cli\/main\.js", "serve"\]$/m);
    expect(ignore).to.include.members(["node_modules", "test", "certs", ".git"]);
  });
  it("the Job runs the image's own node and entry point", () => {
    expect(containersOf(find(base, "Job", "lbguard-certs"))[0].command).to.deep.equal(["/nodejs/bin/node", "/app/dist/src/cli/main.js", "certs"]);
  });
});
