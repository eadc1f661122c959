/** kube-vip workload cases, run through the rules and through HTTPS. */
import YAML from "yaml";
import type { KubeObject } from "../../src/cluster/records.js";
import type { ReqOpts } from "../helpers/review.js";
import { Expected, withPatterns } from "./expected.js";

type EnvIn = Record<string, string | null | { valueFrom: unknown }>;

export function container(
  env: EnvIn = {},
  image = "ghcr.io/kube-vip/kube-vip:v1.2.3",
  args: string[] = ["manager"],
  name = "kube-vip",
) {
  return {
    name,
    image,
    args,
    env: Object.entries(env).map(([n, v]) =>
      v === null ? { name: n } : typeof v === "string" ? { name: n, value: v } : { name: n, valueFrom: v.valueFrom },
    ),
  };
}

export function ds(
  name: string,
  env: EnvIn,
  o: { ns?: string; image?: string; args?: string[]; kind?: string; extraContainers?: unknown[] } = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: o.kind ?? "DaemonSet",
    metadata: { name, namespace: o.ns ?? "kube-system" },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName: "kube-vip",
          hostNetwork: true,
          containers: [container(env, o.image, o.args), ...(o.extraContainers ?? [])],
        },
      },
    },
  };
}

export function staticPod(
  env: EnvIn,
  o: { name?: string; node?: string; mirror?: boolean; image?: string } = {},
): KubeObject {
  const node = o.node ?? "cp1";
  const name = o.mirror ? `${o.name ?? "kube-vip"}-${node}` : (o.name ?? "kube-vip");
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "kube-system",
      ...(o.mirror ? { annotations: { "kubernetes.io/config.mirror": "abc" } } : {}),
    },
    spec: {
      ...(o.mirror ? { nodeName: node } : {}),
      hostNetwork: true,
      containers: [container(env, o.image)],
      volumes: [{ name: "kubeconfig", hostPath: { path: "/etc/kubernetes/admin.conf" } }],
    },
  };
}

export function cloudProvider(env: Record<string, string> = {}, name = "kube-vip-cloud-provider"): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "kube-system" },
    spec: {
      template: {
        spec: {
          serviceAccountName: "kube-vip-cloud-controller",
          containers: [
            {
              name: "kube-vip-cloud-provider",
              image: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12",
              env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
            },
          ],
        },
      },
    },
  };
}

export interface WCase extends Expected {
  what: string;
  /** which policy: "mlb" (MetalLB owns null), "mlbx" (the same with Harvester's kube-vip exempted) or "kv" (kube-vip owns null) */
  policy: "mlb" | "mlbx" | "kv";
  /** judge against the cluster with other kube-vip instances (INSTANCES) */
  instances?: boolean;
  req: ReqOpts;
  allowed: boolean;
  /** `denial` as an exact pattern (filled in by withPatterns) */
  message?: RegExp;
  /** `warnings` joined by newlines, as an exact pattern (filled in by withPatterns) */
  warning?: RegExp;
}

const ARP = { vip_arp: "true", svc_enable: "true", lb_class_only: "true" };

/** Instances already in the cluster for the clash cases (view = CLUSTER + INSTANCES), as a state file. */
export const INSTANCES = YAML.stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    ds("kv-arp", { ...ARP, lb_class_name: "example.com/arp" }),
    ds("kv-election", { ...ARP, svc_election: "true", lb_class_name: "example.com/elect" }),
    ds("kv-bgp", { bgp_enable: "true", svc_enable: "true", lb_class_only: "true", lb_class_name: "example.com/bgp" }),
    staticPod(
      {
        vip_arp: "true",
        cp_enable: "true",
        address: "10.0.4.247",
        svc_enable: "true",
        svc_leasename: "cp-svcs",
        lb_class_only: "true",
        lb_class_name: "example.com/static",
      },
      { mirror: true },
    ),
    ds(
      "kube-vip",
      { ...ARP, lb_class_name: "example.com/harvester" },
      { ns: "harvester-system", image: "rancher/mirrored-kube-vip-kube-vip-iptables:v0.8.7" },
    ),
  ],
});

export const WORKLOAD_CASES: WCase[] = withPatterns<WCase>([
  // claims
  {
    what: "the SPEC case: svc_enable without class isolation while MetalLB owns null",
    policy: "mlb",
    req: { object: ds("kube-vip-ds", { vip_arp: "true", svc_enable: "true" }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"',
  },
  {
    what: "the same DaemonSet when kube-vip owns null",
    policy: "kv",
    req: { object: ds("kube-vip-ds", { vip_arp: "true", svc_enable: "true" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "lb_class_only with kube-vip's class",
    policy: "mlb",
    req: { object: ds("kube-vip-ds", { ...ARP, svc_leasename: "own" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "control plane only, services off",
    policy: "mlb",
    req: {
      object: ds("kube-vip-ds", { vip_arp: "true", cp_enable: "true", address: "10.0.4.247", svc_enable: "false" }),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "services by --services flag: env class options are ignored",
    policy: "mlb",
    req: { object: ds("kube-vip-ds", { lb_class_only: "true" }, { args: ["manager", "--services", "--arp"] }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      "DaemonSet kube-system/kube-vip-ds: --services is set and kube-vip will also take Services without a class, which MetalLB owns; remove --services, or add --lbClassOnly (lb_class_only ignored: kube-vip reads it only when the svc_enable env var is set)",
  },
  {
    what: "an image older than v0.5.0 takes MetalLB's classed Services too",
    policy: "kv",
    req: { object: ds("kube-vip-ds", { vip_arp: "true", svc_enable: "true" }, { image: "plndr/kube-vip:v0.4.1" }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: image plndr/kube-vip:v0.4.1 (kube-vip v0.4.1, older than v0.5.0) takes every LoadBalancer Service, including MetalLB\'s; upgrade to v0.5.5 or later with lb_class_only "true", or set svc_enable "false"',
  },
  {
    what: "v0.5.2 cannot isolate classes",
    policy: "mlb",
    req: { object: ds("kube-vip-ds", ARP, { image: "plndr/kube-vip:v0.5.2" }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; upgrade kube-vip to v0.5.5 or later and set lb_class_only "true", or set svc_enable "false"',
  },
  {
    what: "lb_class_legacy_handling false with an empty lb_class_name",
    policy: "mlb",
    req: {
      object: ds("kube-vip-ds", {
        vip_arp: "true",
        svc_enable: "true",
        lb_class_legacy_handling: "false",
        lb_class_name: null,
      }),
    },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: lb_class_legacy_handling is "false" with an empty lb_class_name, so kube-vip takes only Services without a class, which MetalLB owns; set lb_class_name "kube-vip.io/kube-vip-class"',
  },
  {
    what: "lb_class_name set to MetalLB's class",
    policy: "kv",
    req: { object: ds("kube-vip-ds", { ...ARP, lb_class_name: "metallb", svc_leasename: "own" }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: lb_class_name is "metallb", the class of MetalLB; set lb_class_name "kube-vip.io/kube-vip-class"',
  },
  {
    what: "svc_namespace limited to a namespace where MetalLB may serve too",
    policy: "mlb",
    req: {
      object: ds("kv-tenant", {
        vip_arp: "true",
        svc_enable: "true",
        svc_namespace: "kube-system",
        svc_leasename: "own",
      }),
    },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kv-tenant: svc_enable is "true" and kube-vip will also take Services without a class in namespace kube-system, which MetalLB owns; set svc_enable "false", or lb_class_only "true"',
  },
  {
    what: "a Deployment and a StatefulSet are judged like a DaemonSet",
    policy: "mlb",
    req: { object: ds("kv-deploy", { vip_arp: "true", svc_enable: "1" }, { kind: "Deployment" }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'Deployment kube-system/kv-deploy: svc_enable is "1" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"',
  },
  {
    what: "a StatefulSet",
    policy: "mlb",
    req: { object: ds("kv-sts", { vip_arp: "true", svc_enable: "True" }, { kind: "StatefulSet" }) },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'StatefulSet kube-system/kv-sts: svc_enable is "True" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"',
  },
  {
    what: "init containers count too (SPEC §7.5: a plain init container running manager)",
    policy: "mlb",
    req: {
      object: {
        ...ds("kv-init", {}),
        spec: {
          template: {
            spec: {
              initContainers: [container({ vip_arp: "true", svc_enable: "true" })],
              containers: [{ name: "app", image: "nginx:1" }],
            },
          },
        },
      } as never,
    },
    allowed: false,
    rules: ["kube-vip.claims"],
    denial:
      'DaemonSet kube-system/kv-init (init container kube-vip): svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"',
  },
  {
    what: "a workload without kube-vip",
    policy: "mlb",
    req: { object: ds("web", {}, { image: "nginx:1" }) },
    allowed: true,
    rules: [],
  },
  // booleans
  {
    what: 'svc_enable "yes"',
    policy: "kv",
    req: { object: ds("kube-vip-ds", { svc_enable: "yes" }) },
    allowed: false,
    rules: ["kube-vip.boolean"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: svc_enable is "yes", which kube-vip cannot parse as a boolean: it exits at start and the pod crash-loops; use "true" or "false"',
  },
  {
    what: "--services=on",
    policy: "kv",
    req: { object: ds("kube-vip-ds", {}, { args: ["manager", "--services=on"] }) },
    allowed: false,
    rules: ["kube-vip.boolean"],
    denial:
      'DaemonSet kube-system/kube-vip-ds: --services=on, which kube-vip cannot parse as a boolean: it exits at start and the pod crash-loops; use "true" or "false"',
  },
  {
    what: 'an exempted workload still may not crash-loop (vip_arp "enabled")',
    policy: "kv",
    req: { object: ds("kube-vip", { vip_arp: "enabled" }, { ns: "harvester-system" }) },
    allowed: false,
    rules: ["kube-vip.boolean"],
    denial:
      'DaemonSet harvester-system/kube-vip: vip_arp is "enabled", which kube-vip cannot parse as a boolean: it exits at start and the pod crash-loops; use "true" or "false"',
  },
  // control-plane VIPs
  {
    what: "a control-plane VIP inside a MetalLB pool",
    policy: "kv",
    req: { object: ds("kube-vip-ds", { vip_arp: "true", cp_enable: "true", address: "10.0.5.10" }) },
    allowed: false,
    rules: ["kube-vip.vip-in-pool"],
    denial:
      "DaemonSet kube-system/kube-vip-ds: control-plane VIP 10.0.5.10 (address) is inside IPAddressPool metallb-system/default (10.0.5.0/24); MetalLB could give it to a Service; move the VIP or the pool",
  },
  {
    what: "a control-plane VIP in a MetalLB pool, even when exempted",
    policy: "kv",
    req: {
      object: ds(
        "kube-vip",
        { vip_arp: "true", cp_enable: "true", vip_address: "fd00:10:5::1" },
        { ns: "harvester-system" },
      ),
    },
    allowed: false,
    rules: ["kube-vip.vip-in-pool"],
    denial:
      "DaemonSet harvester-system/kube-vip: control-plane VIP fd00:10:5::1 (vip_address) is inside IPAddressPool metallb-system/default (fd00:10:5::/120); MetalLB could give it to a Service; move the VIP or the pool",
  },
  {
    what: "a control-plane VIP that is a DNS name, with a warning",
    policy: "kv",
    req: { object: ds("kube-vip-ds", { vip_arp: "true", cp_enable: "true", address: "vip.example.com" }) },
    allowed: true,
    rules: ["kube-vip.unverifiable"],
    warnings: [
      'DaemonSet kube-system/kube-vip-ds: control-plane VIP "vip.example.com" (address) is not an IP address; lbguard cannot check it against MetalLB\'s pools',
    ],
  },
  // what lbguard cannot see
  {
    what: "svc_enable from a ConfigMap, with a warning",
    policy: "mlb",
    req: {
      object: ds("kube-vip-ds", {
        vip_arp: "true",
        svc_enable: { valueFrom: { configMapKeyRef: { name: "kv", key: "svc" } } },
      }),
    },
    allowed: true,
    rules: ["kube-vip.unverifiable"],
    warnings: [
      "DaemonSet kube-system/kube-vip-ds: svc_enable (valueFrom) cannot be read by lbguard; which Services this kube-vip takes is not verified",
    ],
  },
  {
    what: "vip_nodename from fieldRef, silently",
    policy: "mlb",
    req: {
      object: ds("kube-vip-ds", {
        vip_arp: "true",
        vip_nodename: { valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        cp_enable: "true",
        address: "10.0.4.247",
      }),
    },
    allowed: true,
    rules: [],
  },
  // exemptions
  {
    what: "the exempted Harvester DaemonSet claiming class-less Services under MetalLB-null",
    policy: "mlbx",
    req: {
      object: ds(
        "kube-vip",
        { vip_arp: "true", svc_enable: "true" },
        { ns: "harvester-system", image: "ghcr.io/kube-vip/kube-vip-iptables:v0.9.2" },
      ),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "a pod the exempted DaemonSet creates",
    policy: "mlbx",
    req: {
      object: {
        ...staticPod({ vip_arp: "true", svc_enable: "true" }),
        metadata: {
          name: "kube-vip-x7k2p",
          namespace: "harvester-system",
          ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "kube-vip", controller: true, uid: "u" }],
        },
      } as never,
    },
    allowed: true,
    rules: [],
  },
  // clashes (view: CLUSTER + INSTANCES)
  {
    what: "disjoint claims on one global lease",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/other" }) },
    allowed: false,
    rules: ["kube-vip.lease-clash"],
    denial:
      "DaemonSet kube-system/kv-new shares the services lease kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-arp but takes other Services: only the lease holder serves, so one of them never does; set svc_leasename to a lease of its own",
  },
  {
    what: "intersecting claims on different leases",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/arp", svc_leasename: "mine" }) },
    allowed: false,
    rules: ["kube-vip.lease-clash"],
    denial:
      'DaemonSet kube-system/kv-new and DaemonSet kube-system/kv-arp both take Services of class "example.com/arp" via lease kube-system/mine vs lease kube-system/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
  {
    what: "intersecting claims, same lease (one active at a time)",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/arp" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "intersecting claims, global lease vs per-Service election",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/elect", svc_leasename: "mine" }) },
    allowed: false,
    rules: ["kube-vip.lease-clash"],
    denial:
      'DaemonSet kube-system/kv-new and DaemonSet kube-system/kv-election both take Services of class "example.com/elect" via lease kube-system/mine vs per-Service leases, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
  {
    what: "intersecting claims, both per-Service election",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, svc_election: "true", lb_class_name: "example.com/elect" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "intersecting claims with a BGP instance without election",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/bgp", svc_leasename: "mine" }) },
    allowed: false,
    rules: ["kube-vip.lease-clash"],
    denial:
      'DaemonSet kube-system/kv-new and DaemonSet kube-system/kv-bgp both take Services of class "example.com/bgp" via lease kube-system/mine vs no lease, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
  {
    what: "disjoint claims on different leases",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/other", svc_leasename: "mine" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "a static pod (no token: cp_namespace lease) sharing the lease of a kube-system DaemonSet",
    policy: "kv",
    instances: true,
    req: { object: staticPod({ ...ARP, lb_class_name: "example.com/new" }) },
    allowed: false,
    rules: ["kube-vip.lease-clash"],
    denial:
      "Pod kube-system/kube-vip shares the services lease kube-system/plndr-svcs-lock with DaemonSet kube-system/kv-arp but takes other Services: only the lease holder serves, so one of them never does; set svc_leasename to a lease of its own",
  },
  {
    what: "a DaemonSet in another namespace with the default lease name (a different lease)",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-tenant", { ...ARP, lb_class_name: "example.com/other" }, { ns: "tenant" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "an update of an instance never clashes with itself",
    policy: "kv",
    instances: true,
    req: {
      operation: "UPDATE",
      oldObject: ds("kv-arp", { ...ARP, lb_class_name: "example.com/arp" }),
      object: ds("kv-arp", { ...ARP, lb_class_name: "example.com/arp", vip_leaderelection: "true" }),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "a pod of an existing DaemonSet is the same instance",
    policy: "kv",
    instances: true,
    req: {
      object: {
        ...staticPod({ ...ARP, lb_class_name: "example.com/zzz" }),
        metadata: {
          name: "kv-arp-abcde",
          namespace: "kube-system",
          ownerReferences: [{ kind: "DaemonSet", name: "kv-arp", controller: true }],
        },
        spec: { serviceAccountName: "kube-vip", containers: [container({ ...ARP, lb_class_name: "example.com/arp" })] },
      } as never,
    },
    allowed: true,
    rules: [],
  },
  {
    what: "another mirror pod of the same static manifest (one instance)",
    policy: "kv",
    instances: true,
    req: {
      object: staticPod(
        {
          vip_arp: "true",
          cp_enable: "true",
          address: "10.0.4.247",
          svc_enable: "true",
          svc_leasename: "cp-svcs",
          lb_class_only: "true",
          lb_class_name: "example.com/static",
        },
        { mirror: true, node: "cp2" },
      ),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "exempted workloads still count as instances for others",
    policy: "kv",
    instances: true,
    req: { object: ds("kv-new", { ...ARP, lb_class_name: "example.com/harvester", svc_leasename: "mine" }) },
    allowed: false,
    rules: ["kube-vip.lease-clash"],
    denial:
      'DaemonSet kube-system/kv-new and DaemonSet harvester-system/kube-vip both take Services of class "example.com/harvester" via lease kube-system/mine vs lease harvester-system/plndr-svcs-lock, so both announce the same VIPs; use one svc_leasename or separate classes',
  },
  // mirror pods: mirrorPods enforcement (warn) and the kubelet's directory
  {
    what: "a mirror pod claiming MetalLB's Services (mirrorPods: warn)",
    policy: "mlb",
    req: {
      object: staticPod({ vip_arp: "true", svc_enable: "true" }, { mirror: true, node: "cp3", name: "kv" }),
      user: "system:node:cp3",
    },
    allowed: true,
    rules: ["kube-vip.claims"],
    warnings: [
      'static pod kube-system/kv: svc_enable is "true" and kube-vip will also take Services without a class, which MetalLB owns; set svc_enable "false", or lb_class_only "true"; fix its manifest on node cp3 (usually in /etc/kubernetes/manifests)',
    ],
  },
  // kube-vip-cloud-provider
  {
    what: "the default cloud provider while MetalLB owns null",
    policy: "mlb",
    req: { object: cloudProvider() },
    allowed: false,
    rules: ["kube-vip.cloud-provider"],
    denial:
      'Deployment kube-system/kube-vip-cloud-provider: kube-vip-cloud-provider allocates addresses for Services without a class, which MetalLB owns; set env KUBEVIP_ENABLE_LOADBALANCERCLASS "true"',
  },
  {
    what: "the cloud provider with its class",
    policy: "mlb",
    req: { object: cloudProvider({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "true" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "the default cloud provider when kube-vip owns null",
    policy: "kv",
    req: { object: cloudProvider() },
    allowed: true,
    rules: [],
  },
  {
    what: "the cloud provider with an unparseable switch",
    policy: "kv",
    req: { object: cloudProvider({ KUBEVIP_ENABLE_LOADBALANCERCLASS: "enabled" }) },
    allowed: false,
    rules: ["kube-vip.boolean"],
    denial:
      'Deployment kube-system/kube-vip-cloud-provider: KUBEVIP_ENABLE_LOADBALANCERCLASS is "enabled", which kube-vip-cloud-provider cannot parse as a boolean: it exits at start; use "true" or "false"',
  },
  {
    what: "the cloud provider allocating for MetalLB's class",
    policy: "kv",
    req: {
      object: cloudProvider({
        KUBEVIP_ENABLE_LOADBALANCERCLASS: "true",
        KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME: "metallb",
      }),
    },
    allowed: false,
    rules: ["kube-vip.cloud-provider"],
    denial:
      'Deployment kube-system/kube-vip-cloud-provider: KUBEVIP_CUSTOM_LOADBALANCERCLASS_NAME is "metallb", the class of MetalLB; set it to "kube-vip.io/kube-vip-class"',
  },
]);
