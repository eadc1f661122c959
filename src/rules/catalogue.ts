/**
 * The rule catalogue: every rule id lbguard reports, with its enforcement
 * family, its rank (the order findings of one request are reported in:
 * lower first) and one line saying what it checks. The README's rule table,
 * `check -o json`, the metrics' `rule` label and the audit all read this
 * table; a finding whose id is not here is a bug (a test checks it).
 */
import type { RuleFamily } from "../policy/schema.js";

export interface RuleInfo {
  id: string;
  family: RuleFamily;
  rank: number;
  /** what the rule refuses or warns about, one line */
  description: string;
}

const table: [string, RuleFamily, number, string][] = [
  // Services (order of reporting: reserved, allowed class, ownership, foreign annotation, pool admission)
  ["service.default-class", "services", 0, "sets spec.loadBalancerClass from the namespace's provider (mutating)"],
  ["service.invalid-address", "services", 0, "a requested address that is not an IP address"],
  [
    "service.metallb-request",
    "services",
    0,
    "a request MetalLB itself refuses (both spec.loadBalancerIP and the annotation, two IPs of one family)",
  ],
  ["service.reserved-address", "services", 1, "a requested address in reservedAddresses"],
  [
    "service.control-plane-vip",
    "services",
    1,
    "a requested control-plane VIP (kube-proxy would send API-server traffic to the Service)",
  ],
  ["service.allowed-class", "services", 2, "a class whose provider the namespace may not use"],
  ["service.foreign-address", "services", 3, "a requested address in another provider's address space"],
  [
    "service.address-in-use",
    "services",
    3,
    "an address another Service requests or holds, unless its provider shares it",
  ],
  ["service.external-ip", "services", 3, "an externalIP in a provider's address space or reserved (CVE-2020-8554)"],
  [
    "service.status-address",
    "services",
    0,
    "status.loadBalancer.ingress written with another owner's or a reserved address",
  ],
  ["service.foreign-annotation", "services", 4, "a request annotation of the provider that does not serve the Service"],
  ["service.metallb-pool", "services", 5, "a MetalLB request no pool admitting the Service can satisfy"],
  // Writes by another provider's identity
  ["foreign-write", "foreignWrites", 0, "status or bookkeeping written by a provider that does not own the Service"],
  // MetalLB pools
  ["pool.namespace", "pools", 0, "a pool outside MetalLB's namespace (MetalLB ignores it)"],
  ["pool.parse", "pools", 0, "an address MetalLB's parser refuses"],
  ["pool.empty", "pools", 0, "a pool without addresses"],
  [
    "pool.service-allocation",
    "pools",
    0,
    "a serviceAllocation MetalLB's parser refuses (repeated or invalid selectors)",
  ],
  ["pool.reserved", "pools", 1, "a pool overlapping reservedAddresses"],
  ["pool.kube-vip", "pools", 2, "a pool overlapping kube-vip's address space"],
  ["pool.overlap", "pools", 3, "a pool overlapping another pool"],
  ["pool.self-overlap", "pools", 4, "entries of one pool overlapping each other"],
  ["pool.foreign-namespace", "pools", 5, "serviceAllocation admitting a namespace MetalLB may not serve (warning)"],
  // kube-vip-cloud-provider ConfigMap
  ["kube-vip-configmap.parse", "pools", 0, "a range or CIDR kube-vip would mis-parse"],
  ["kube-vip-configmap.reserved", "pools", 1, "a range overlapping reservedAddresses"],
  ["kube-vip-configmap.cp-vip", "pools", 2, "a range containing a control-plane VIP"],
  ["kube-vip-configmap.pool", "pools", 3, "a range overlapping a MetalLB pool"],
  // kube-vip workloads
  [
    "kube-vip.boolean",
    "kubeVip",
    0,
    "a configuration kube-vip exits on: a bad boolean, several modes or none, an unknown flag (the pod crash-loops)",
  ],
  ["kube-vip.claims", "kubeVip", 1, "an instance that takes Services of a class another provider owns"],
  ["kube-vip.cloud-provider", "kubeVip", 1, "a kube-vip-cloud-provider allocating for Services another provider owns"],
  ["kube-vip.vip-in-pool", "kubeVip", 2, "a control-plane VIP inside a MetalLB pool"],
  [
    "kube-vip.lease-clash",
    "kubeVip",
    3,
    "two kube-vip instances that would both serve, or never serve, the same Services",
  ],
  ["kube-vip.unverifiable", "kubeVip", 4, "configuration lbguard cannot read that could change a decision (warning)"],
  // Namespaces
  [
    "namespace.relabel",
    "namespaces",
    0,
    "labels that change a namespace's provider or allowedProviders, set by someone not in namespaceAdmins",
  ],
  // the view
  ["cluster-state", "services", 99, "a decision that needs cluster state lbguard has not synced yet (failureMode)"],
];

export const CATALOGUE: ReadonlyMap<string, RuleInfo> = new Map(
  table.map(([id, family, rank, description]) => [id, { id, family, rank, description }]),
);

export function ruleInfo(id: string): RuleInfo {
  const r = CATALOGUE.get(id);
  if (!r) throw new Error(`rule ${id} is not in the catalogue`);
  return r;
}

/** Every rule id, for bounded metric labels. */
export const RULE_IDS: readonly string[] = [...CATALOGUE.keys()];

/** The catalogue as the README's Markdown table (the docs test checks the README holds exactly this). */
export function catalogueMarkdown(): string {
  // cluster-state reports under the family of the check that needed the state
  const family = (r: RuleInfo) => (r.id === "cluster-state" ? "the check's" : `\`${r.family}\``);
  const rows = [...CATALOGUE.values()].map((r) => `| \`${r.id}\` | ${family(r)} | ${r.description} |`);
  return ["| rule | family | what it reports |", "|---|---|---|", ...rows].join("\n");
}
