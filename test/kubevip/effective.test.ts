import { expect } from "chai";
import {
  cloudProviderConfig,
  effectiveConfig,
  goParseBool,
  KubeVipConfig,
  ContainerSpec,
} from "../../src/kubevip/effective.js";
import { imageVersion, kubeVipImageKind, parseImage } from "../../src/kubevip/image.js";

type Env = Record<string, string | { valueFrom: unknown } | null>;

function kv(
  env: Env = {},
  opts: { image?: string; args?: string[]; command?: string[]; envFrom?: unknown[]; ns?: string; token?: boolean } = {},
): KubeVipConfig {
  const c: ContainerSpec = {
    name: "kube-vip",
    image: opts.image ?? "ghcr.io/kube-vip/kube-vip:v1.2.3",
    args: opts.args ?? ["manager"],
    command: opts.command,
    envFrom: opts.envFrom,
    env: Object.entries(env).map(([name, v]) =>
      v === null ? { name } : typeof v === "string" ? { name, value: v } : { name, valueFrom: v.valueFrom },
    ),
  };
  return effectiveConfig(c, { namespace: opts.ns ?? "kube-system", tokenMounted: opts.token ?? true });
}

function claims(c: KubeVipConfig): string {
  if (c.claims.all) return "ALL";
  return [...c.claims.classes]
    .map((x) => (x === null ? "null" : x))
    .sort()
    .join(",");
}

const C = "kube-vip.io/kube-vip-class";

describe("kubevip/image: which images are kube-vip and which version", () => {
  const cases: [string, string | undefined][] = [
    ["ghcr.io/kube-vip/kube-vip:v1.2.3", "kube-vip"],
    ["plndr/kube-vip:v0.8.7", "kube-vip"],
    ["ghcr.io/kube-vip/kube-vip-iptables:v0.9.2", "kube-vip"],
    ["rancher/mirrored-kube-vip-kube-vip-iptables:v0.8.7", "kube-vip"],
    ["registry.local:5000/mirror/kube-vip@sha256:abc", "kube-vip"],
    ["ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12", "cloud-provider"],
    ["kubevip/kube-vip-cloud-provider", "cloud-provider"],
    ["nginx:1", undefined],
    ["example.com/not-kube-vip:1", undefined],
  ];
  for (const [image, want] of cases) it(`${image} → ${want}`, () => expect(kubeVipImageKind(image)).to.equal(want));
  it("untagged, latest, digest-only and branch tags count as the newest", () => {
    for (const i of [
      "ghcr.io/kube-vip/kube-vip",
      "ghcr.io/kube-vip/kube-vip:latest",
      "ghcr.io/kube-vip/kube-vip@sha256:00",
      "ghcr.io/kube-vip/kube-vip:main",
    ])
      expect(imageVersion(parseImage(i))).to.equal(undefined);
    expect(imageVersion(parseImage("registry:5000/kube-vip:v0.8.1"))).to.deep.equal([0, 8, 1]);
  });
});

describe("kubevip/effective: reading a container as kube-vip does", () => {
  it("Go ParseBool: exactly 1 t T TRUE true True / 0 f F FALSE false False", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(goParseBool(t)).to.equal(true);
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(goParseBool(f)).to.equal(false);
    for (const bad of ["yes", "on", " true", "true ", "tRUE", "", "2"]) expect(goParseBool(bad)).to.equal(undefined);
  });

  it("the default v1.2.3 manifest with svc_enable claims class-less Services and its own class", () => {
    const c = kv({ svc_enable: "true", vip_arp: "true" });
    expect(c.services).to.deep.include({ value: true, from: "env" });
    expect(claims(c)).to.equal(`${C},null`);
    expect(c.coordination).to.deep.equal({
      kind: "lease",
      namespace: "kube-system",
      name: "plndr-svcs-lock",
      backend: "kubernetes",
    });
  });

  it("env names are exact: SVC_ENABLE is ignored", () => {
    expect(kv({ SVC_ENABLE: "true" }).services.value).to.equal(false);
  });

  it("flags: --services alone switches services on", () => {
    const c = kv({}, { args: ["manager", "--services", "--arp"] });
    expect(c.services).to.deep.include({ value: true, from: "flag" });
    expect(c.mode).to.equal("arp");
  });

  it('env beats flags: svc_enable "false" wins over --services', () => {
    expect(kv({ svc_enable: "false" }, { args: ["manager", "--services"] }).services.value).to.equal(false);
  });

  it("an empty env value is unset, so the flag applies", () => {
    expect(kv({ svc_enable: "" }, { args: ["manager", "--services"] }).services).to.deep.include({
      value: true,
      from: "flag",
    });
    expect(kv({ svc_enable: null }).services.value).to.equal(false);
  });

  it("flags in command as well as args (command: [/kube-vip, manager, --services])", () => {
    expect(
      kv({}, { command: ["/kube-vip", "manager", "--services", "--lbClassOnly", "--arp"], args: [] }).claims,
    ).to.deep.equal({ all: false, classes: new Set([C]) });
  });

  it("the six class options are read from env only when the svc_enable env var is set", () => {
    const flagOnly = kv(
      { lb_class_only: "true", svc_leasename: "other" },
      { args: ["manager", "--services", "--arp"] },
    );
    expect(claims(flagOnly)).to.equal(`${C},null`);
    expect(flagOnly.ignoredEnv).to.include.members(["lb_class_only", "svc_leasename"]);
    expect(flagOnly.coordination).to.deep.include({ name: "plndr-svcs-lock" });
    const withEnv = kv({ svc_enable: "true", vip_arp: "true", lb_class_only: "true", svc_leasename: "other" });
    expect(claims(withEnv)).to.equal(C);
    expect(withEnv.coordination).to.deep.include({ name: "other" });
    // their flags still apply without the env gate
    expect(
      claims(kv({}, { args: ["manager", "--services", "--arp", "--lbClassOnly", "--lbClassName=example.com/lb"] })),
    ).to.equal("example.com/lb");
  });

  it("invalid booleans are found in env and flags (they crash-loop kube-vip)", () => {
    expect(kv({ svc_enable: "yes" }).invalidBools).to.deep.equal([{ key: "svc_enable", from: "env", raw: "yes" }]);
    expect(kv({ vip_arp: "on" }).invalidBools.map((b) => b.key)).to.deep.equal(["vip_arp"]);
    expect(kv({ svc_enable: "true", lb_class_only: " true" }).invalidBools.map((b) => b.key)).to.deep.equal([
      "lb_class_only",
    ]);
    expect(kv({}, { args: ["manager", "--services=yes"] }).invalidBools).to.deep.equal([
      { key: "--services", from: "flag", raw: "yes" },
    ]);
    expect(kv({ EGRESS_CLEAN: "yes" }).invalidBools.map((b) => b.key)).to.deep.equal(["egress_clean"]);
    expect(kv({ vip_leaseduration: "5", port: "6443" }).invalidBools).to.deep.equal([]);
  });

  it("images older than v0.5.0 claim every LoadBalancer Service", () => {
    expect(
      claims(
        kv(
          { svc_enable: "true", vip_arp: "true", lb_class_only: "true" },
          { image: "ghcr.io/kube-vip/kube-vip:v0.4.4" },
        ),
      ),
    ).to.equal("ALL");
    expect(claims(kv({ svc_enable: "false" }, { image: "ghcr.io/kube-vip/kube-vip:v0.4.0" }))).to.equal("");
  });

  it("version gates: lb_class_only from v0.5.5, lb_class_name from v0.6.0, the legacy switch from v0.8.1", () => {
    const env = {
      svc_enable: "true",
      vip_arp: "true",
      lb_class_only: "true",
      lb_class_name: "example.com/lb",
      lb_class_legacy_handling: "false",
    };
    expect(claims(kv(env, { image: "plndr/kube-vip:v0.5.4" }))).to.equal(`${C},null`); // hard-coded class, no lb_class_only
    expect(claims(kv(env, { image: "plndr/kube-vip:v0.5.5" }))).to.equal(C); // lb_class_only, class still fixed
    expect(claims(kv(env, { image: "plndr/kube-vip:v0.6.0" }))).to.equal("example.com/lb");
    expect(claims(kv({ ...env, lb_class_only: "false" }, { image: "plndr/kube-vip:v0.8.0" }))).to.equal(
      "example.com/lb,null",
    ); // no legacy switch yet
    expect(claims(kv({ ...env, lb_class_only: "false" }, { image: "plndr/kube-vip:v0.8.1" }))).to.equal(
      "example.com/lb",
    );
  });

  it('lb_class_legacy_handling "false" with an empty lb_class_name claims only class-less Services (the e2e template)', () => {
    const c = kv({ svc_enable: "true", vip_arp: "true", lb_class_legacy_handling: "false", lb_class_name: null });
    expect(claims(c)).to.equal("null");
  });

  it("lb_class_name present but empty (v0.8.1+, LookupEnv) sets the class to empty", () => {
    expect(claims(kv({ svc_enable: "true", vip_arp: "true", lb_class_name: "" }))).to.equal("null");
    expect(claims(kv({ svc_enable: "true", vip_arp: "true", lb_class_name: "", lb_class_only: "true" }))).to.equal("");
    expect(
      claims(kv({ svc_enable: "true", vip_arp: "true", lb_class_name: "" }, { image: "x/kube-vip:v0.8.0" })),
    ).to.equal(`${C},null`);
  });

  it("a later env entry with the same name wins (Kubernetes)", () => {
    const c = effectiveConfig(
      {
        image: "ghcr.io/kube-vip/kube-vip:v1.2.3",
        env: [
          { name: "svc_enable", value: "false" },
          { name: "svc_enable", value: "true" },
        ],
      },
      { namespace: "kube-system", tokenMounted: true },
    );
    expect(c.services.value).to.equal(true);
  });

  it("coordination: svc_election is per-Service; BGP without it has no lease; table mode needs vip_leaderelection", () => {
    expect(kv({ svc_enable: "true", svc_election: "true", vip_arp: "true" }).coordination.kind).to.equal("per-service");
    expect(kv({ svc_enable: "true", bgp_enable: "true" }).coordination.kind).to.equal("none");
    expect(kv({ svc_enable: "true", vip_routingtable: "true" }).coordination.kind).to.equal("none");
    expect(kv({ svc_enable: "true", vip_routingtable: "true", vip_leaderelection: "true" }).coordination.kind).to.equal(
      "lease",
    );
    // v1.2.2+: several modes exit; before, the worker package (v1.1.0+) takes ARP first
    expect(
      kv({ svc_enable: "true", vip_arp: "true", bgp_enable: "true" }, { image: "x/kube-vip:v1.2.1" }).mode,
    ).to.equal("arp");
  });

  it("the lease namespace is the pod's with a token, else cp_namespace; ns/name names it", () => {
    expect(kv({ svc_enable: "true", vip_arp: "true" }, { ns: "tenant", token: true }).coordination).to.deep.include({
      namespace: "tenant",
    });
    expect(
      kv({ svc_enable: "true", vip_arp: "true", cp_namespace: "infra" }, { ns: "tenant", token: false }).coordination,
    ).to.deep.include({ namespace: "infra" });
    expect(kv({ svc_enable: "true", vip_arp: "true" }, { ns: "tenant", token: false }).coordination).to.deep.include({
      namespace: "kube-system",
    });
    expect(kv({ svc_enable: "true", vip_arp: "true", svc_leasename: "other/lock" }).coordination).to.deep.equal({
      kind: "lease",
      namespace: "other",
      name: "lock",
      backend: "kubernetes",
    });
  });

  it("control-plane VIPs: address before vip_address, then --address/--vip, only with the control plane on", () => {
    expect(
      kv({ cp_enable: "true", address: "10.0.0.1", vip_address: "10.0.0.2" }).controlPlaneVIPs.map((v) => v.value),
    ).to.deep.equal(["10.0.0.1"]);
    expect(
      kv({ cp_enable: "true", vip_address: "10.0.0.2" }).controlPlaneVIPs.map((v) => [v.value, v.key]),
    ).to.deep.equal([["10.0.0.2", "vip_address"]]);
    expect(
      kv({}, { args: ["manager", "--controlplane", "--address", "10.0.0.3,10.0.0.4"] }).controlPlaneVIPs.map(
        (v) => v.value,
      ),
    ).to.deep.equal(["10.0.0.3", "10.0.0.4"]);
    expect(kv({ cp_enable: "false", address: "10.0.0.1" }).controlPlaneVIPs).to.deep.equal([]);
  });

  it("what lbguard cannot see: valueFrom on relevant settings, envFrom, --config-file; not vip_nodename", () => {
    expect(
      kv({ vip_nodename: { valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } } }).unverifiable,
    ).to.deep.equal([]);
    expect(kv({ svc_enable: { valueFrom: { configMapKeyRef: { name: "x", key: "y" } } } }).unverifiable).to.deep.equal([
      "svc_enable (valueFrom)",
    ]);
    expect(kv({}, { envFrom: [{ configMapRef: { name: "kv" } }] }).unverifiable).to.deep.equal(["envFrom"]);
    expect(kv({}, { args: ["manager", "--config-file", "/etc/kv.yaml"] }).unverifiable).to.deep.equal([
      "--config-file",
    ]);
  });

  it("svc_namespace limits the namespaces an instance watches", () => {
    expect(kv({ svc_enable: "true", svc_namespace: "finance" }).svcNamespace).to.equal("finance");
  });
});

describe("kubevip/effective: kube-vip-cloud-provider", () => {
  const cp = (env: Record<string, string>) =>
    cloudProviderConfig({
      image: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12",
      env: Object.entries(env).map(([name, value]) => ({ name, value })),
    });
  it("serves class-less Services by default", () => expect([...(cp({}).claims as any).classes]).to.deep.equal([null]));
  it("with KUBEVIP_ENABLE_LOADBALANCERCLASS only its class (ParseBool)", () => {
    expect([...(cp({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "1" }).claims as any).classes]).to.deep.equal([C]);
    expect([
      ...(
        cp({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "true", KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME: "x.io/y" }).claims as any
      ).classes,
    ]).to.deep.equal(["x.io/y"]);
    expect(cp({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "yes" }).invalidBools.map((b) => b.key)).to.deep.equal([
      "KUBEVIP_ENABLE_LOADBALANCERCLASS",
    ]);
  });
});
