/**
 * The OwnershipPolicy that matches what runs (SPEC §11, `lbguard init`; the
 * audit without `--policy` judges against the same one). Every field is
 * derived from an object in the view or the facts, and says which: MetalLB's
 * namespace and class from its controller's args, kube-vip's claims from its
 * instances' effective configuration, identities from the controllers'
 * ServiceAccounts, namespace rules from where each provider's Services live.
 */
import type { MemoryView } from "../cluster/view.js";
import { objectKey } from "../cluster/view.js";
import type { WorkloadRec } from "../cluster/records.js";
import type { ObjectRef } from "../findings/finding.js";
import { KV, METALLB_REQUEST_ANNOTATIONS } from "../k8s/service.js";
import { isQualifiedName } from "../k8s/selector.js";
import { DEFAULT_CLASS } from "../kubevip/effective.js";
import { Policy, PolicyError, PROVIDER_TITLE, type ProviderName } from "../policy/policy.js";
import { policySchema, POLICY_API_VERSION } from "../policy/schema.js";
import { workloadTitle } from "../providers/index.js";
import { Controller, kubeVipLeaveFix, metallbClassFix, runningControllers } from "./controllers.js";
import { allocatedPool, perServiceLease, type AuditFacts, type MetalLBFact, type ServiceFact } from "./facts.js";

export type Path = (string | number)[];

export interface FieldComment {
  path: Path;
  text: string;
}

export interface Inferred {
  /** the OwnershipPolicy document, as written (it passes the schema) */
  doc: Record<string, any>;
  /** compiled */
  policy: Policy;
  /** where each inferred field came from */
  comments: FieldComment[];
  /** controller changes that make the cluster match the policy */
  changes: Change[];
  nullOwner?: ProviderName;
  /** why the null owner owns null, in words */
  nullReason?: string;
}

export interface Change {
  /** the object to change, in words */
  who: string;
  fix: string;
  /** the objects the change is made to */
  refs: ObjectRef[];
}

export class InferError extends Error {}

type Tally = Record<ProviderName, number>;

function mostCommon<T>(items: T[]): T | undefined {
  const n = new Map<T, number>();
  for (const i of items) n.set(i, (n.get(i) ?? 0) + 1);
  let best: T | undefined;
  let max = 0;
  for (const [k, v] of n)
    if (v > max) {
      best = k;
      max = v;
    }
  return best;
}

function some(items: string[], max = 3): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A MetalLB request annotation (pool, addresses, sharing), not its bookkeeping. */
function metallbRequest(s: ServiceFact): boolean {
  return !!s.annotations && METALLB_REQUEST_ANNOTATIONS.some((k) => k in s.annotations!);
}

function kubeVipRequest(s: ServiceFact): boolean {
  return !!s.annotations && KV.ips in s.annotations;
}

function servedByMetalLB(s: ServiceFact): boolean {
  return allocatedPool(s) !== undefined;
}

function servedByKubeVip(facts: AuditFacts, s: ServiceFact): boolean {
  return (!!s.annotations && KV.vipHost in s.annotations) || perServiceLease(facts, s) !== undefined;
}

function serviceAccount(facts: AuditFacts, w: WorkloadRec): string {
  const o = facts.judged.get(objectKey(w.kind, w.namespace, w.name)) as Record<string, any> | undefined;
  const ps = w.kind === "Pod" ? o?.spec : o?.spec?.template?.spec;
  return (typeof ps?.serviceAccountName === "string" && ps.serviceAccountName) || "default";
}

export interface InferOptions {
  /** who keeps class-less Services when both providers take them (`--null-owner`) */
  nullOwner?: ProviderName;
}

/** The policy that matches what runs; throws InferError when `--null-owner` names a provider that does not run. */
export function inferPolicy(view: MemoryView, facts: AuditFacts, o: InferOptions = {}): Inferred {
  const comments: FieldComment[] = [];
  const say = (path: Path, text: string) => comments.push({ path, text });
  const controllers = runningControllers(view, facts);
  const mlbCtl: MetalLBFact[] = facts.metallb
    .filter((m) => m.role === "controller")
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const pools = view.pools();
  const kvWorkloads = [...view.workloads()]
    .filter((w) => w.kubeVip.length || w.cloudProviders.length)
    .sort((a, b) => objectKey(a.kind, a.namespace, a.name).localeCompare(objectKey(b.kind, b.namespace, b.name)));
  const kvControllers = controllers.filter((c) => c.provider === "kube-vip");
  const hasMetalLB = mlbCtl.length > 0 || pools.length > 0;
  const hasKubeVip = kvWorkloads.length > 0;
  if (o.nullOwner && !(o.nullOwner === "metallb" ? hasMetalLB : hasKubeVip))
    throw new InferError(`--null-owner ${o.nullOwner}: no ${PROVIDER_TITLE[o.nullOwner]} runs in the cluster`);
  if (!hasMetalLB && !hasKubeVip)
    throw new InferError(
      "neither MetalLB (a controller Deployment with image metallb/controller, or IPAddressPools) nor kube-vip runs in the cluster",
    );

  const m = mlbCtl[0];
  const mTitle = m ? `${m.kind} ${m.namespace}/${m.name}` : "";
  const runningClass: string | null = m ? m.lbClass : null;

  // ---- who takes Services without a class ---------------------------------------------------
  const kvClasses: (string | null)[] = [];
  for (const c of kvControllers) {
    if (c.claims.all) kvClasses.push(null, DEFAULT_CLASS);
    else kvClasses.push(...c.claims.classes);
  }
  const mNull = hasMetalLB && runningClass === null;
  const kNull = kvClasses.includes(null);
  const classless = [...facts.services.values()].filter((s) => s.cls === null);
  let nullOwner: ProviderName | undefined;
  let nullReason: string | undefined;
  if (o.nullOwner) {
    nullOwner = o.nullOwner;
    nullReason = `${mNull && kNull ? "MetalLB and kube-vip both take Services without a class; " : ""}--null-owner ${o.nullOwner} gives them to ${PROVIDER_TITLE[o.nullOwner]}`;
  } else if (mNull && kNull) {
    const served: Tally = { metallb: 0, "kube-vip": 0 };
    const asked: Tally = { metallb: 0, "kube-vip": 0 };
    for (const s of classless) {
      if (servedByMetalLB(s)) served.metallb++;
      if (servedByKubeVip(facts, s)) served["kube-vip"]++;
      if (metallbRequest(s)) asked.metallb++;
      if (kubeVipRequest(s)) asked["kube-vip"]++;
    }
    const pick = (t: Tally): ProviderName | undefined =>
      t.metallb > t["kube-vip"] ? "metallb" : t["kube-vip"] > t.metallb ? "kube-vip" : undefined;
    const bySer = pick(served);
    const byAsk = pick(asked);
    nullOwner = bySer ?? byAsk ?? "metallb";
    const other: ProviderName = nullOwner === "metallb" ? "kube-vip" : "metallb";
    const tie = bySer
      ? ""
      : byAsk
        ? ` (a tie: ${asked[nullOwner]} of them ${asked[nullOwner] === 1 ? "requests" : "request"} a ${PROVIDER_TITLE[nullOwner]} address)`
        : " (a tie, which MetalLB wins)";
    nullReason =
      `MetalLB and kube-vip both take Services without a class; ${PROVIDER_TITLE[nullOwner]} keeps them: ` +
      `of the ${plural(classless.length, "class-less LoadBalancer Service")}, ${PROVIDER_TITLE[nullOwner]} serves ${served[nullOwner]} today and ${PROVIDER_TITLE[other]} ${served[other]}${tie}; ` +
      `lbguard init --null-owner ${other} writes the other split`;
  } else if (mNull) {
    nullOwner = "metallb";
    nullReason = "only MetalLB takes Services without a class";
  } else if (kNull) {
    nullOwner = "kube-vip";
    nullReason = "only kube-vip takes Services without a class";
  }

  // ---- classes ---------------------------------------------------------------------------------
  let metallbClass: string | null = nullOwner === "metallb" ? null : (runningClass ?? "metallb");
  const kvNamed = mostCommon(kvClasses.filter((c): c is string => c !== null && isQualifiedName(c)));
  let kubeVipClass: string | null = nullOwner === "kube-vip" ? null : (kvNamed ?? DEFAULT_CLASS);
  if (kubeVipClass !== null && kubeVipClass === metallbClass) {
    if (nullOwner === "metallb" || runningClass !== null)
      kubeVipClass = kubeVipClass === DEFAULT_CLASS ? "kube-vip" : DEFAULT_CLASS;
    else metallbClass = "metallb";
  }

  // ---- where each provider's Services live -------------------------------------------------------
  const kvClaimSet = new Set(kvClasses);
  const intended = (s: ServiceFact): ProviderName | undefined => {
    if (s.cls !== null) {
      if (hasMetalLB && s.cls === metallbClass) return "metallb";
      if (hasKubeVip && (s.cls === kubeVipClass || kvClaimSet.has(s.cls))) return "kube-vip";
      return undefined;
    }
    const kvAsk = kubeVipRequest(s) && hasKubeVip;
    const mAsk = metallbRequest(s) && hasMetalLB;
    if (kvAsk !== mAsk) return kvAsk ? "kube-vip" : "metallb";
    const kvSeen = servedByKubeVip(facts, s) && hasKubeVip;
    const mSeen = servedByMetalLB(s) && hasMetalLB;
    if (kvSeen !== mSeen) return kvSeen ? "kube-vip" : "metallb";
    return nullOwner;
  };
  const perNs = new Map<string, { tally: Tally; services: string[] }>();
  for (const s of facts.services.values()) {
    const p = intended(s);
    if (!p) continue;
    let e = perNs.get(s.namespace);
    if (!e) perNs.set(s.namespace, (e = { tally: { metallb: 0, "kube-vip": 0 }, services: [] }));
    e.tally[p]++;
    e.services.push(`${s.namespace}/${s.name}`);
  }
  const system = new Set<string>([
    "kube-system",
    ...kvWorkloads.map((w) => w.namespace),
    ...facts.metallb.map((x) => x.namespace),
  ]);
  const declared: ProviderName[] = [
    ...(hasMetalLB ? (["metallb"] as const) : []),
    ...(hasKubeVip ? (["kube-vip"] as const) : []),
  ];
  const nsProvider = new Map<string, { provider: ProviderName; allowed: ProviderName[] }>();
  for (const [ns, e] of perNs) {
    const present = declared.filter((p) => e.tally[p] > 0);
    const t = e.tally;
    const provider: ProviderName =
      t.metallb > t["kube-vip"]
        ? "metallb"
        : t["kube-vip"] > t.metallb
          ? "kube-vip"
          : nullOwner && present.includes(nullOwner)
            ? nullOwner
            : present[0];
    nsProvider.set(ns, { provider, allowed: [provider, ...present.filter((p) => p !== provider)] });
  }
  const nsCount: Tally = { metallb: 0, "kube-vip": 0 };
  for (const [ns, d] of nsProvider) if (!system.has(ns)) nsCount[d.provider]++;
  let defaultProvider: ProviderName;
  if (declared.length === 1) defaultProvider = declared[0];
  else defaultProvider = nsCount["kube-vip"] > nsCount.metallb ? "kube-vip" : "metallb";

  // ---- the document -------------------------------------------------------------------------------
  const providers: Record<string, any> = {};
  if (hasMetalLB) {
    const at = ["spec", "providers", "metallb"];
    const ns = m ? m.poolNamespace : (mostCommon(pools.map((p) => p.namespace)) ?? "metallb-system");
    const identities = [...new Set(mlbCtl.map((x) => `system:serviceaccount:${x.namespace}:${x.serviceAccount}`))];
    providers.metallb = { loadBalancerClass: metallbClass, namespace: ns, identities };
    if (!m)
      say(
        [...at, "loadBalancerClass"],
        `no MetalLB controller found (a Deployment with image metallb/controller), only its pools: ${metallbClass === null ? "assumed to run without --lb-class" : `give it --lb-class=${metallbClass}`}`,
      );
    else if (runningClass === metallbClass)
      say(
        [...at, "loadBalancerClass"],
        runningClass === null
          ? `${mTitle} runs without --lb-class: it takes Services without a class${nullReason && nullOwner === "metallb" && kNull ? `; ${nullReason}` : ""}`
          : `${mTitle} runs with --lb-class=${runningClass}`,
      );
    else
      say(
        [...at, "loadBalancerClass"],
        runningClass === null
          ? `${mTitle} runs without --lb-class today, but kube-vip keeps Services without a class (see its loadBalancerClass); MetalLB gets a class of its own (change at the end)`
          : `${mTitle} runs with --lb-class=${runningClass}, but ${nullReason}; MetalLB takes Services without a class (change at the end)`,
      );
    say(
      [...at, "namespace"],
      m ? `where ${mTitle} reads its pools (${m.poolNamespaceFrom})` : "where the IPAddressPools are",
    );
    identities.forEach((id, i) => {
      const from = mlbCtl.filter((x) => `system:serviceaccount:${x.namespace}:${x.serviceAccount}` === id);
      say([...at, "identities", i], `ServiceAccount of ${some(from.map((x) => `${x.kind} ${x.namespace}/${x.name}`))}`);
    });
  }
  if (hasKubeVip) {
    const at = ["spec", "providers", "kube-vip"];
    const mirror = kvWorkloads.find((w) => w.mirror);
    const firstKv = kvWorkloads.find((w) => w.kubeVip.length) ?? kvWorkloads[0];
    const ns = mirror?.namespace ?? firstKv.namespace;
    const cp = kvWorkloads.find((w) => w.cloudProviders.length);
    const cm = cp ? cp.cloudProviders[0].configMap : { namespace: "kube-system", name: "kubevip" };
    const identities: string[] = [];
    const idFrom: string[] = [];
    const mlbIds = new Set<string>(providers.metallb?.identities ?? []);
    for (const w of kvWorkloads) {
      const id = w.mirror ? "kubernetes-admin" : `system:serviceaccount:${w.namespace}:${serviceAccount(facts, w)}`;
      if (identities.includes(id) || mlbIds.has(id)) continue;
      identities.push(id);
      idFrom.push(
        w.mirror
          ? `${workloadTitle(w)} authenticates with /etc/kubernetes/admin.conf`
          : `ServiceAccount of ${workloadTitle(w)}`,
      );
    }
    const vips: string[] = [];
    const vipFrom: string[] = [];
    for (const w of kvWorkloads)
      for (const cfg of w.kubeVip)
        for (const v of cfg.controlPlaneVIPs)
          if (v.ip && !vips.includes(v.value)) {
            vips.push(v.value);
            vipFrom.push(`${v.from === "env" ? "env" : "flag"} ${v.key} of ${workloadTitle(w)}`);
          }
    providers["kube-vip"] = {
      loadBalancerClass: kubeVipClass,
      namespace: ns,
      configMap: `${cm.namespace}/${cm.name}`,
      identities,
      controlPlaneVIPs: vips,
    };
    const kvTitles = some([...new Set(kvControllers.filter((c) => c.role === "kube-vip").map((c) => c.title))]);
    const claimsNull = kvControllers.filter((c) => c.claims.all || c.claims.classes.has(null));
    if (kubeVipClass === null)
      say(
        [...at, "loadBalancerClass"],
        `${some([...new Set(claimsNull.map((c) => `${c.title} (${c.how})`))])} take${claimsNull.length === 1 ? "s" : ""} Services without a class${nullReason && mNull ? `; ${nullReason}` : ""}`,
      );
    else if (claimsNull.length)
      say(
        [...at, "loadBalancerClass"],
        `${some([...new Set(claimsNull.map((c) => c.title))])} also take${claimsNull.length === 1 ? "s" : ""} Services without a class today, but MetalLB keeps them (see its loadBalancerClass); kube-vip keeps only ${kubeVipClass} (change at the end)`,
      );
    else if (kvNamed)
      say(
        [...at, "loadBalancerClass"],
        `the class ${kvTitles} take${kvControllers.length === 1 ? "s" : ""} (lb_class_name)`,
      );
    else
      say(
        [...at, "loadBalancerClass"],
        "no kube-vip instance takes Services (svc_enable off): kube-vip's default class, so class-less Services stay free",
      );
    say(
      [...at, "namespace"],
      mirror
        ? `where ${workloadTitle(mirror)} runs (its cp_namespace and lease namespace)`
        : `where ${workloadTitle(firstKv)} runs`,
    );
    say(
      [...at, "configMap"],
      cp
        ? `the ConfigMap kube-vip-cloud-provider ${cp.kind} ${cp.namespace}/${cp.name} reads (KUBEVIP_NAMESPACE/KUBEVIP_CONFIG_MAP or their defaults)`
        : "kube-vip-cloud-provider's default (no kube-vip-cloud-provider runs)",
    );
    identities.forEach((_, i) => say([...at, "identities", i], idFrom[i]));
    vips.forEach((_, i) => say([...at, "controlPlaneVIPs", i], vipFrom[i]));
  }
  const rules = new Map<
    string,
    { provider: ProviderName; allowed: ProviderName[]; names: string[]; services: string[] }
  >();
  for (const ns of [...nsProvider.keys()].sort()) {
    const d = nsProvider.get(ns)!;
    if (d.provider === defaultProvider && d.allowed.length === 1) continue;
    const key = `${d.provider}|${d.allowed.join(",")}`;
    let r = rules.get(key);
    if (!r) rules.set(key, (r = { ...d, names: [], services: [] }));
    r.names.push(ns);
    r.services.push(...perNs.get(ns)!.services);
  }
  const namespaces = [...rules.values()].map((r) => ({
    names: r.names,
    provider: r.provider,
    ...(r.allowed.length > 1 ? { allowedProviders: r.allowed } : {}),
  }));
  [...rules.values()].forEach((r, i) =>
    say(
      ["spec", "namespaces", i],
      `LoadBalancer Services here today: ${some(r.services.sort())}${r.allowed.length > 1 ? ` (served by ${r.allowed.map((p) => PROVIDER_TITLE[p]).join(" and ")})` : ""}`,
    ),
  );
  say(
    ["spec", "defaultProvider"],
    declared.length === 1
      ? `the only provider that runs`
      : `MetalLB serves Services in ${plural(nsCount.metallb, "namespace")}, kube-vip in ${nsCount["kube-vip"]} (not counting kube-system and the controllers' own namespaces)${nsCount.metallb === nsCount["kube-vip"] ? "; a tie, which MetalLB wins" : ""}`,
  );
  const doc: Record<string, any> = {
    apiVersion: POLICY_API_VERSION,
    kind: "OwnershipPolicy",
    metadata: { name: "default" },
    spec: { providers, defaultProvider, namespaces },
  };
  let policy: Policy;
  try {
    policy = new Policy(policySchema.parse(doc));
  } catch (e) {
    const problems = e instanceof PolicyError ? e.problems.join("; ") : (e as Error).message;
    throw new InferError(`the inferred policy is invalid (a bug): ${problems}`);
  }

  // ---- what must change in the controllers ------------------------------------------------------
  const changes: Change[] = [];
  if (m && metallbClass !== runningClass)
    changes.push({
      who: "MetalLB",
      fix:
        metallbClass === null
          ? `remove --lb-class from ${mTitle} and its speaker`
          : metallbClassFix(facts, metallbClass),
      refs: facts.metallb.map((x) => ({ kind: x.kind, namespace: x.namespace, name: x.name })),
    });
  const mlbOwns = (c: Controller) =>
    c.claims.all ? true : [...c.claims.classes].some((x) => hasMetalLB && x === metallbClass);
  for (const c of kvControllers)
    if (mlbOwns(c)) changes.push({ who: c.title, fix: kubeVipLeaveFix(c, policy), refs: c.refs });
  return { doc, policy, comments, changes, nullOwner, nullReason };
}
