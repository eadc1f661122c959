/**
 * `lbguard audit` on the stories behind the project, as a user runs it: a
 * snapshot in, findings out (exact rule, severity, subject, related objects and
 * fix), the exit code, and then the printed fixes applied to the snapshot
 * until the audit exits 0.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { parsePolicy } from "../../src/policy/load.js";
import {
  applyFix,
  auditInProcess,
  brief,
  find,
  items,
  lbguardAll,
  Obj,
  Run,
  setEnv,
  story,
  tmp,
  writeList,
} from "./helpers.js";

const svc = (namespace: string, name: string) => ({ kind: "Service", namespace, name });
const ref = (kind: string, namespace: string | undefined, name: string) =>
  namespace === undefined ? { kind, name } : { kind, namespace, name };

const PATCH = (kind: string, name: string) =>
  `kubectl -n metallb-system patch ${kind} ${name} --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--lb-class=metallb"}]'`;
const STATIC_CLASS_ONLY =
  'add env lb_class_only: "true" to the kube-vip container in /etc/kubernetes/manifests/kube-vip.yaml on cp1, cp2, cp3';
const K3S_CLASS_ONLY = "kubectl -n kube-system set env daemonset/kube-vip-ds lb_class_only=true";

interface Story {
  name: string;
  title: string;
  exit: number;
  findings: Obj[];
  /** the summary line of the text output */
  summary: string;
  /** what the inferred policy must say */
  policy: (doc: Obj) => void;
  /** the steps of the fixes a test carries out by hand (a pool edited, a flag on k3s) */
  byHand?: (objs: Obj[], step: string) => Obj[] | undefined;
}

const STORIES: Story[] = [
  {
    name: "harvester-before-fix",
    title: "Harvester before the fix: MetalLB without a class takes kube-system/ingress-expose",
    exit: 1,
    findings: [
      {
        rule: "audit.contested-service",
        severity: "critical",
        subject: svc("kube-system", "ingress-expose"),
        related: [ref("Deployment", "metallb-system", "controller"), ref("DaemonSet", "harvester-system", "kube-vip")],
        fix: `${PATCH("deployment", "controller")} && ${PATCH("daemonset", "speaker")}`,
      },
      {
        rule: "audit.vip-on-control-plane",
        severity: "critical",
        subject: svc("kube-system", "ingress-expose"),
        related: [
          ref("Node", undefined, "harvester-node-0"),
          ref("IPAddressPool", "metallb-system", "default"),
          ref("DaemonSet", "harvester-system", "kube-vip"),
        ],
        fix: "keep 192.168.0.131 out of MetalLB's pools: kubectl -n metallb-system edit ipaddresspool default",
      },
      {
        rule: "service.foreign-address",
        severity: "high",
        subject: svc("kube-system", "ingress-expose"),
        related: [ref("IPAddressPool", "metallb-system", "default")],
        fix: "request an address outside MetalLB's pools",
      },
      {
        rule: "pool.kube-vip",
        severity: "high",
        subject: ref("IPAddressPool", "metallb-system", "default"),
        related: [svc("kube-system", "ingress-expose")],
        fix: "MetalLB would hand out addresses kube-vip uses",
      },
    ],
    summary: "lbguard audit: 4 findings (2 critical, 2 high, 0 medium, 0 low) in 12 objects",
    policy: (doc) => {
      expect(doc.spec.providers.metallb).to.deep.equal({
        loadBalancerClass: "metallb",
        namespace: "metallb-system",
        identities: ["system:serviceaccount:metallb-system:controller"],
      });
      expect(doc.spec.providers["kube-vip"]).to.deep.include({
        loadBalancerClass: null,
        namespace: "harvester-system",
        identities: ["system:serviceaccount:harvester-system:kube-vip"],
      });
      expect(doc.spec.defaultProvider).to.equal("metallb");
      expect(doc.spec.namespaces).to.deep.equal([{ names: ["kube-system"], provider: "kube-vip" }]);
    },
    byHand: (objs, step) => {
      // the pool stops overlapping Harvester's VIP: what the three address findings ask for
      const pool = [
        "kubectl -n metallb-system edit ipaddresspool default",
        "request an address outside MetalLB's pools",
        "MetalLB would hand out addresses kube-vip uses",
      ];
      if (!pool.includes(step)) return undefined;
      find(objs, "IPAddressPool", "metallb-system", "default").spec.addresses = ["192.168.0.132-192.168.0.140"];
      return objs;
    },
  },
  {
    name: "kubeadm-static-pod",
    title: "kubeadm: a kube-vip static pod with svc_enable next to MetalLB binds its VIPs on cp1",
    exit: 1,
    findings: [
      ...(["default/web/10.0.10.101", "monitoring/grafana/10.0.10.102"] as const).flatMap((s) => {
        const [ns, name, ip] = s.split("/");
        return [
          {
            rule: "audit.contested-service",
            severity: "critical",
            subject: svc(ns, name),
            related: [
              ref("Deployment", "metallb-system", "metallb-controller"),
              ref("Pod", "kube-system", "kube-vip-cp1"),
              ref("Pod", "kube-system", "kube-vip-cp2"),
              ref("Pod", "kube-system", "kube-vip-cp3"),
            ],
            fix: STATIC_CLASS_ONLY,
          },
          {
            rule: "audit.vip-on-control-plane",
            severity: "critical",
            subject: svc(ns, name),
            related: [
              ref("Node", undefined, "cp1"),
              ref("IPAddressPool", "metallb-system", "lan"),
              ref("Pod", "kube-system", "kube-vip-cp1"),
            ],
            fix: `${STATIC_CLASS_ONLY}; then on cp1: ip addr del ${ip}/32 dev ens192; then kubectl -n ${ns} annotate service ${name} kube-vip.io/vipHost-`,
          },
        ];
      }),
      ...["cp1", "cp2", "cp3"].map((n) => ({
        rule: "kube-vip.claims",
        severity: "high",
        subject: ref("Pod", "kube-system", `kube-vip-${n}`),
        related: [],
        fix: `set svc_enable "false", or lb_class_only "true"; fix its manifest on node ${n} (usually in /etc/kubernetes/manifests)`,
      })),
    ],
    summary: "lbguard audit: 7 findings (4 critical, 3 high, 0 medium, 0 low) in 16 objects",
    policy: (doc) => {
      expect(doc.spec.providers.metallb).to.deep.equal({
        loadBalancerClass: null,
        namespace: "metallb-system",
        identities: ["system:serviceaccount:metallb-system:metallb-controller"],
      });
      expect(doc.spec.providers["kube-vip"]).to.deep.equal({
        loadBalancerClass: "kube-vip.io/kube-vip-class",
        namespace: "kube-system",
        configMap: "kube-system/kubevip",
        identities: ["kubernetes-admin"],
        controlPlaneVIPs: ["10.0.10.10"],
      });
      expect(doc.spec.defaultProvider).to.equal("metallb");
      expect(doc.spec.namespaces).to.deep.equal([]);
    },
    byHand: (objs, step) => {
      if (step.startsWith("on cp1: ip addr del ")) return objs;
      // the admission rule's own words for the change the static pods' manifests already got
      const m = /^set svc_enable "false", or lb_class_only "true"; fix its manifest on node (\S+) /.exec(step);
      if (m) {
        const env = find(objs, "Pod", "kube-system", `kube-vip-${m[1]}`).spec.containers[0].env;
        expect(env).to.deep.include({ name: "lb_class_only", value: "true" });
        return objs;
      }
      return undefined;
    },
  },
  {
    name: "k3s-status-bounce",
    title: "k3s: MetalLB and kube-vip bounce the status of dns/unbound, k3s ServiceLB serves Traefik",
    exit: 1,
    findings: [
      {
        rule: "audit.contested-service",
        severity: "critical",
        subject: svc("dns", "unbound"),
        related: [ref("Deployment", "metallb-system", "controller"), ref("DaemonSet", "kube-system", "kube-vip-ds")],
        fix: K3S_CLASS_ONLY,
      },
      {
        rule: "audit.status-bounce",
        severity: "critical",
        subject: svc("dns", "unbound"),
        related: [ref("Deployment", "metallb-system", "controller"), ref("DaemonSet", "kube-system", "kube-vip-ds")],
        fix: `stop kube-vip's status writes now: kubectl -n kube-system set env daemonset/kube-vip-ds disable_service_updates=true; then ${K3S_CLASS_ONLY}`,
      },
      {
        rule: "audit.vip-on-control-plane",
        severity: "critical",
        subject: svc("dns", "unbound"),
        related: [
          ref("Node", undefined, "k3s-server-1"),
          ref("IPAddressPool", "metallb-system", "first-pool"),
          ref("DaemonSet", "kube-system", "kube-vip-ds"),
        ],
        fix: `${K3S_CLASS_ONLY}; then on k3s-server-1: ip addr del 10.9.70.1/32 dev eth0; then kubectl -n dns annotate service unbound kube-vip.io/vipHost-`,
      },
      {
        rule: "audit.contested-service",
        severity: "critical",
        subject: svc("kube-system", "traefik"),
        related: [ref("Deployment", "metallb-system", "controller"), ref("DaemonSet", "kube-system", "kube-vip-ds")],
        fix: K3S_CLASS_ONLY,
      },
      {
        rule: "kube-vip.claims",
        severity: "high",
        subject: ref("DaemonSet", "kube-system", "kube-vip-ds"),
        related: [],
        fix: 'set svc_enable "false", or lb_class_only "true"',
      },
      {
        rule: "audit.third-controller",
        severity: "high",
        subject: svc("kube-system", "traefik"),
        related: [ref("DaemonSet", "kube-system", "svclb-traefik-9f7c3d2a")],
        fix: "start the k3s servers with --disable=servicelb (or disable: [servicelb] in /etc/rancher/k3s/config.yaml) and restart them",
      },
    ],
    summary: "lbguard audit: 6 findings (4 critical, 2 high, 0 medium, 0 low) in 13 objects",
    policy: (doc) => {
      expect(doc.spec.providers.metallb.loadBalancerClass).to.equal(null);
      expect(doc.spec.providers["kube-vip"]).to.deep.equal({
        loadBalancerClass: "kube-vip.io/kube-vip-class",
        namespace: "kube-system",
        configMap: "kube-system/kubevip",
        identities: ["system:serviceaccount:kube-system:kube-vip"],
        controlPlaneVIPs: ["10.9.0.100"],
      });
    },
    byHand: (objs, step) => {
      if (step.startsWith("on k3s-server-1: ip addr del ")) return objs;
      if (step.startsWith("set svc_enable")) return objs; // the same change as the kubectl command above it
      // k3s with --disable=servicelb removes its svclb DaemonSets
      if (step.startsWith("start the k3s servers with --disable=servicelb"))
        return objs.filter((o) => !o.metadata.labels?.["svccontroller.k3s.cattle.io/svcname"]);
      return undefined;
    },
  },
  {
    name: "shared-lease",
    title: "several kube-vip instances share kube-system/plndr-svcs-lock; overlapping pools in use; leftovers",
    exit: 1,
    findings: [
      {
        rule: "pool.overlap",
        severity: "critical",
        subject: ref("IPAddressPool", "metallb-system", "lab"),
        related: [ref("IPAddressPool", "metallb-system", "shop")],
        fix: "pools must not overlap",
      },
      {
        rule: "kube-vip.lease-clash",
        severity: "high",
        subject: ref("DaemonSet", "kube-system", "kube-vip-ds"),
        related: [ref("DaemonSet", "kube-system", "kube-vip-internal")],
        fix: "set svc_leasename to a lease of its own",
      },
      {
        rule: "audit.unserved-class",
        severity: "high",
        subject: svc("lab", "cilium-lb"),
        related: [],
        fix: `give it MetalLB's class metallb (the class is immutable; leaving type LoadBalancer clears it): kubectl -n lab patch service cilium-lb -p '{"spec":{"type":"ClusterIP"}}' && kubectl -n lab patch service cilium-lb -p '{"spec":{"type":"LoadBalancer","loadBalancerClass":"metallb"}}'`,
      },
      {
        rule: "audit.stale-vip",
        severity: "medium",
        subject: svc("kube-system", "old-lb"),
        related: [ref("Lease", "kube-system", "kubevip-old-lb"), ref("Node", undefined, "worker-1")],
        fix: "kubectl -n kube-system annotate service old-lb kube-vip.io/vipHost-; kubectl -n kube-system delete lease kubevip-old-lb; check that worker-1 no longer holds the address (kube-vip before #1700 leaves it bound)",
      },
    ],
    summary: "lbguard audit: 4 findings (1 critical, 2 high, 1 medium, 0 low) in 18 objects",
    policy: (doc) => {
      expect(doc.spec.providers.metallb.loadBalancerClass).to.equal("metallb");
      expect(doc.spec.providers["kube-vip"]).to.deep.equal({
        loadBalancerClass: null,
        namespace: "kube-system",
        configMap: "kube-system/kubevip",
        identities: ["system:serviceaccount:kube-system:kube-vip", "kubernetes-admin"],
        controlPlaneVIPs: ["10.40.1.10"],
      });
      expect(doc.spec.namespaces).to.deep.equal([{ names: ["internal", "kube-system"], provider: "kube-vip" }]);
    },
    byHand: (objs, step) => {
      if (step === "pools must not overlap") {
        find(objs, "IPAddressPool", "metallb-system", "lab").spec.addresses = ["10.41.0.0/25"];
        return objs;
      }
      if (step === "set svc_leasename to a lease of its own") {
        setEnv(find(objs, "DaemonSet", "kube-system", "kube-vip-ds"), { svc_leasename: "plndr-svcs-lock-ds" });
        return objs;
      }
      if (step.startsWith("check that worker-1")) return objs;
      return undefined;
    },
  },
  {
    name: "clean",
    title: "a clean cluster (the Harvester layout after the fix, with kube-vip-cloud-provider)",
    exit: 0,
    findings: [],
    summary: "lbguard audit: 0 findings (0 critical, 0 high, 0 medium, 0 low) in 14 objects",
    policy: (doc) => {
      expect(doc.spec.providers.metallb.loadBalancerClass).to.equal("metallb");
      expect(doc.spec.providers["kube-vip"]).to.deep.equal({
        loadBalancerClass: null,
        namespace: "kube-system",
        configMap: "kube-system/kubevip",
        identities: [
          "system:serviceaccount:kube-system:kube-vip",
          "system:serviceaccount:kube-system:kube-vip-cloud-controller",
          "kubernetes-admin",
        ],
        controlPlaneVIPs: ["10.0.20.10"],
      });
      expect(doc.spec.namespaces).to.deep.equal([{ names: ["kube-system"], provider: "kube-vip" }]);
    },
  },
];

describe("audit: the stories, as a user runs them", function () {
  this.timeout(120_000);
  const dir = tmp();
  // every story's audit (JSON and text) and init, as processes, a few at a time
  const runs = new Map<string, { json: Run; text: Run; init: Run }>();
  before(async () => {
    const cmds = STORIES.flatMap((s) => [
      ["audit", "-o", "json", "--state", story(s.name)],
      ["audit", "--state", story(s.name)],
      ["init", "--state", story(s.name)],
    ]);
    const out = await lbguardAll(cmds);
    STORIES.forEach((s, i) => runs.set(s.name, { json: out[3 * i], text: out[3 * i + 1], init: out[3 * i + 2] }));
  });

  for (const s of STORIES) {
    describe(s.title, () => {
      it(`finds exactly what is wrong, and exits ${s.exit}`, () => {
        const r = runs.get(s.name)!.json;
        expect(r.code, r.err).to.equal(s.exit);
        const doc = JSON.parse(r.out);
        expect(doc.findings.map(brief)).to.deep.equal(s.findings);
        expect(doc.policy).to.deep.equal({ inferred: true });
        expect(doc.summary.findings).to.equal(s.findings.length);
      });

      it("prints them grouped by severity with their fixes, ending with the summary line", () => {
        const r = runs.get(s.name)!.text;
        expect(r.code).to.equal(s.exit);
        const lines = r.out.trimEnd().split("\n");
        expect(lines[0]).to.match(/^lbguard audit: no --policy given; judging against the policy lbguard init infers/);
        expect(lines[lines.length - 1]).to.equal(s.summary);
        const fixes = lines.filter((l) => l.startsWith("    fix: ")).map((l) => l.slice(9));
        expect(fixes).to.deep.equal(s.findings.filter((f) => f.fix).map((f) => f.fix));
        expect(r.out, "no colour when stdout is not a terminal").to.not.include("\x1b[");
      });

      it("lbguard init infers the policy that matches what runs", () => {
        const r = runs.get(s.name)!.init;
        expect(r.code, r.err).to.equal(0);
        const policy = parsePolicy(r.out, "init");
        s.policy(policy.doc as Obj);
      });

      if (s.exit !== 0)
        it("applying the printed fixes to the snapshot makes the audit exit 0", () => {
          let objs = items(s.name);
          const policy = runs.get(s.name)!.init.out;
          for (const f of s.findings) {
            const { objs: next, left } = applyFix(objs, f.fix);
            objs = next;
            for (const step of left) {
              const done = s.byHand?.(objs, step);
              expect(done, `a step the test cannot carry out: ${step}`).to.not.equal(undefined);
              objs = done!;
            }
          }
          const fixed = writeList(dir, `${s.name}-fixed.yaml`, objs);
          const again = auditInProcess([fixed]);
          expect(again.findings.map(brief), "after the fixes").to.deep.equal([]);
          expect(again.exit).to.equal(0);
          // the policy written before the fixes agrees
          const withPolicy = auditInProcess([fixed], policy);
          expect(withPolicy.findings.map(brief)).to.deep.equal([]);
        });
    });
  }

  it("--fail-level and --exit-zero decide the exit code", async () => {
    const lease = story("shared-lease"); // 1 critical, 2 high, 1 medium
    const fixedPools = items("shared-lease");
    find(fixedPools, "IPAddressPool", "metallb-system", "lab").spec.addresses = ["10.41.0.0/25"];
    const f = writeList(dir, "no-critical.yaml", fixedPools); // 2 high, 1 medium
    const onlyStale = items("shared-lease").filter(
      (o) => !(o.kind === "Service" && o.metadata.name === "cilium-lb") && o.metadata.name !== "lab",
    );
    setEnv(find(onlyStale, "DaemonSet", "kube-system", "kube-vip-ds"), { svc_leasename: "own" });
    const g = writeList(dir, "only-stale.yaml", onlyStale); // 1 medium
    expect(auditInProcess([g]).exit, "medium is below the default fail level").to.equal(0);
    // (the default level, high, is in every story's test above)
    const cases: [string[], number, string][] = [
      [["--state", lease, "--fail-level", "critical"], 1, "a critical finding"],
      [["--state", lease, "--exit-zero"], 0, "--exit-zero"],
      [["--state", f, "--fail-level", "critical"], 0, "high is below critical"],
      [["--state", g, "--fail-level", "medium"], 1, "medium at --fail-level medium"],
    ];
    const runs = await lbguardAll(cases.map(([a]) => ["audit", ...a]));
    cases.forEach(([, code, why], i) => expect(runs[i].code, why).to.equal(code));
  });

  it("-o yaml prints the same document as -o json", async () => {
    const [j, y] = await lbguardAll([
      ["audit", "-o", "json", "--state", story("k3s-status-bounce")],
      ["audit", "-o", "yaml", "--state", story("k3s-status-bounce")],
    ]);
    expect(y.code).to.equal(1);
    const doc = JSON.parse(j.out);
    expect(YAML.parse(y.out)).to.deep.equal(doc);
    expect(doc.findings[0]).to.have.keys([
      "rule",
      "family",
      "severity",
      "subject",
      "related",
      "field",
      "message",
      "fix",
      "owner",
      "contender",
    ]);
    expect(doc.findings[0].message).to.equal(
      'Service dns/unbound is taken by MetalLB (Deployment metallb-system/controller, no --lb-class) and kube-vip (DaemonSet kube-system/kube-vip-ds, svc_enable "true"), both for Services with no loadBalancerClass; seen: metallb.universe.tf/ip-allocated-from-pool=first-pool, kube-vip.io/vipHost=k3s-server-1, status.loadBalancer managed by controller (MetalLB) and kube-vip; kubectl -n kube-system set env daemonset/kube-vip-ds lb_class_only=true',
    );
  });

  it("exits 2 on usage, read and parse errors (also with --exit-zero)", async () => {
    const ok = writeList(dir, "ok.yaml", items("clean"));
    const bad = join(dir, "broken.yaml");
    writeFileSync(bad, "kind: List\nitems: [unclosed\n");
    const badPolicy = join(dir, "bad-policy.yaml");
    writeFileSync(badPolicy, "apiVersion: lbguard.dev/v1alpha1\nkind: OwnershipPolicy\nspec: {providers: {}}\n");
    const junk = join(dir, "junk.yaml");
    writeFileSync(junk, "foo: bar\n---\nkind: Service\n");
    const [xml, severe, missing, broken, policy, kubeconfig, notObjects] = await lbguardAll([
      ["audit", "--state", story("clean"), "-o", "xml"],
      ["audit", "--state", story("clean"), "--fail-level", "severe"],
      ["audit", "--state", join(dir, "missing.yaml"), "--exit-zero"],
      ["audit", "--state", ok, "--state", bad, "--exit-zero"],
      ["audit", "--state", story("clean"), "--policy", badPolicy],
      ["audit", "--kubeconfig", join(dir, "no-kubeconfig")],
      // as `serve --state` refuses it: documents that are not Kubernetes objects
      ["audit", "--state", ok, "--state", junk],
    ]);
    expect(notObjects.code).to.equal(2);
    expect(notObjects.err).to.equal(
      `error: ${junk}:1:1: not a Kubernetes object: no kind\nerror: ${junk}:3:1: Service without apiVersion\n`,
    );
    expect(notObjects.out, "the rest is still audited").to.match(/^lbguard audit: 0 findings .* in 14 objects$/m);
    expect(xml.code).to.equal(2);
    expect(xml.err).to.match(/argument 'xml' is invalid/);
    expect(severe.code).to.equal(2);
    expect(missing.code).to.equal(2);
    expect(missing.err).to.match(/missing\.yaml: cannot read/);
    expect(broken.code).to.equal(2);
    expect(broken.err).to.match(/broken\.yaml: line \d+/);
    expect(broken.out, "the rest is still audited").to.match(/^lbguard audit: 0 findings .* in 14 objects$/m);
    expect(policy.code).to.equal(2);
    expect(policy.err).to.match(/invalid policy/);
    expect(kubeconfig.code).to.equal(2);
    expect(kubeconfig.err).to.match(/^lbguard audit: cannot read the cluster/);
  });

  it("--help works on audit and init", async () => {
    const [a, i] = await lbguardAll([
      ["audit", "--help"],
      ["init", "--help"],
    ]);
    expect(a.code).to.equal(0);
    expect(a.out).to.match(/Usage: lbguard audit/);
    expect(a.out).to.include("--fail-level <severity>");
    expect(i.code).to.equal(0);
    expect(i.out).to.match(/Usage: lbguard init/);
    expect(i.out).to.include("--null-owner <provider>");
  });
});
