/**
 * SPEC §7.1: loadBalancerClass defaulting (mutating) and the Service
 * ownership rules (validating).
 */
import { pointInterval } from "../addr/interval.js";
import { goTrimSpace, parseIP } from "../addr/ip.js";
import { clip } from "../addr/quote.js";
import type { KubeObject } from "../cluster/records.js";
import {
  KUBEVIP_REQUEST_ANNOTATIONS,
  KV,
  METALLB_REQUEST_ANNOTATIONS,
  MLB,
  RequestedIP,
  ServiceLike,
  isLoadBalancer,
  metallbAnnotation,
  requestedIPs,
  serviceClass,
  stringMap,
} from "../k8s/service.js";
import type { Provider } from "../policy/policy.js";
import { allowedList, classPhrase, listSome } from "./messages.js";
import {
  admittingPools,
  kubeVipOwners,
  metallbOwners,
  poolAdmits,
  poolEntryServes,
  poolSummary,
  reservedOwner,
} from "./ownership.js";
import { Finding, Mutation, RuleContext, objectName, objectNamespace } from "./types.js";

/** Finding ranks: the order SPEC §7.1 reports violations in. */
const RANK = { invalid: 0, reserved: 1, allowedClass: 2, ownership: 3, foreignAnnotation: 4, pool: 5 } as const;

function ipKey(ip: { fam: number; v: bigint }): string {
  return `${ip.fam}:${ip.v}`;
}

function finding(rule: string, rank: number, message: string): Finding {
  return { rule, family: "services", message, severity: "deny", rank };
}

function asService(o: KubeObject | null | undefined): ServiceLike | undefined {
  return o && typeof o === "object" ? (o as ServiceLike) : undefined;
}

// ---- defaulting -------------------------------------------------------------

/**
 * Set spec.loadBalancerClass from the namespace's provider, only where
 * Kubernetes allows it: CREATE, or an UPDATE that makes the Service a
 * LoadBalancer. A provider owning `null` leaves the field unset.
 */
export function defaultClass(ctx: RuleContext): Mutation | undefined {
  const { req, view, policy } = ctx;
  const svc = asService(req.object);
  if (!svc || !isLoadBalancer(svc)) return undefined;
  const cls = svc.spec?.loadBalancerClass;
  if (cls !== undefined && cls !== null) return undefined;
  if (req.operation === "UPDATE") {
    if (isLoadBalancer(asService(req.oldObject))) return undefined;
  } else if (req.operation !== "CREATE") return undefined;
  const ns = objectNamespace(req, req.object);
  const d = policy.resolveNamespace(ns, view.namespaceLabels(ns));
  if (!d) {
    ctx.needState(`the labels of namespace ${ns}`);
    return undefined;
  }
  const provider = policy.providers[d.provider]!;
  if (provider.loadBalancerClass === null) return undefined;
  return {
    description: `set loadBalancerClass to ${provider.loadBalancerClass}`,
    changes: [{ path: ["spec", "loadBalancerClass"], value: provider.loadBalancerClass }],
  };
}

// ---- validation -------------------------------------------------------------

/** Annotations whose change re-opens a Service to the rules on UPDATE. */
function isRelevantAnnotation(k: string): boolean {
  return (
    (k.startsWith("metallb.io/") || k.startsWith("metallb.universe.tf/") || k === KV.ips) &&
    k !== MLB.allocated &&
    k !== MLB.allocatedOld
  );
}

function sameMap(a: unknown, b: unknown, only?: (k: string) => boolean): boolean {
  const x = (a && typeof a === "object" ? a : {}) as Record<string, unknown>;
  const y = (b && typeof b === "object" ? b : {}) as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (only && !only(k)) continue;
    if (x[k] !== y[k]) return false;
    n++;
  }
  for (const k in y) if (!only || only(k)) n--;
  return n === 0;
}

/**
 * SPEC §7.1 "Updates re-check only when a relevant field changed": class,
 * type, spec.loadBalancerIP, labels, and the request annotations.
 */
export function serviceChangedRelevantly(oldObj: ServiceLike | undefined, newObj: ServiceLike | undefined): boolean {
  if (!oldObj || !newObj) return true;
  const o = oldObj.spec ?? {};
  const n = newObj.spec ?? {};
  return (
    o.type !== n.type ||
    o.loadBalancerClass !== n.loadBalancerClass ||
    o.loadBalancerIP !== n.loadBalancerIP ||
    !sameMap(oldObj.metadata?.labels, newObj.metadata?.labels) ||
    !sameMap(oldObj.metadata?.annotations, newObj.metadata?.annotations, isRelevantAnnotation)
  );
}

function foreignAnnotationFix(owner: Provider, key: string): string {
  if (owner.name === "kube-vip") {
    if (key.endsWith("/loadBalancerIPs")) return `use ${KV.ips} instead`;
    return "remove it (kube-vip does not read it)";
  }
  return `use ${MLB.ips} instead`;
}

export function validateService(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  const svc = asService(req.object);
  if (!svc || !isLoadBalancer(svc)) return [];
  if (req.operation !== "CREATE" && req.operation !== "UPDATE") return [];
  const old = asService(req.oldObject);
  if (req.operation === "UPDATE" && old && !serviceChangedRelevantly(old, svc)) return [];

  const ns = objectNamespace(req, req.object);
  const name = objectName(req, req.object);
  const who = `Service ${ns}/${name}`;
  const cls = serviceClass(svc) ?? (req.operation === "UPDATE" ? serviceClass(old) : null);
  const owner = policy.ownerOfClass(cls);
  const ann = stringMap(svc.metadata?.annotations);
  const out: Finding[] = [];
  const reqs = requestedIPs(svc);

  // Requests nobody could honour: unparseable addresses.
  for (const r of reqs) {
    if (!r.ip) {
      out.push(
        finding(
          "service.invalid-address",
          RANK.invalid,
          `${who}: ${clip(JSON.stringify(r.text), 60)} in ${r.source} is not an IP address; write one IPv4 or IPv6 address`,
        ),
      );
    }
  }

  // Reserved addresses: nobody's, whatever the class.
  const seen = new Set<string>();
  for (const r of reqs) {
    if (!r.ip || r.dhcp) continue;
    const iv = pointInterval(r.ip);
    const res = reservedOwner(policy, iv);
    const key = ipKey(r.ip);
    if (res && !seen.has(key)) {
      seen.add(key);
      out.push(
        finding(
          "service.reserved-address",
          RANK.reserved,
          `${who}: ${r.text} is reserved (reservedAddresses ${res.entry}); no Service may request it, choose another address`,
        ),
      );
    }
  }
  if (!owner) return out; // a class nobody declares: only reservedAddresses apply

  // MetalLB's own refusals (getDesiredLbIPs).
  if (owner.name === "metallb") out.push(...metallbRequestErrors(who, svc));

  // Allowed class for the namespace.
  const nsLabels = view.namespaceLabels(ns);
  const d = policy.resolveNamespace(ns, nsLabels);
  if (!d) ctx.needState(`the labels of namespace ${ns}`);
  else if (!d.allowed.includes(owner.name)) {
    out.push(
      finding(
        "service.allowed-class",
        RANK.allowedClass,
        `${who}: ${classPhrase(cls)} (${owner.name}) is not allowed in namespace ${ns}; allowed: ${allowedList(policy, d.allowed)}`,
      ),
    );
  }

  if (!ctx.stateReady) {
    // Only requests of addresses or pools need the cluster state.
    const needs =
      reqs.some((r) => r.ip && !r.dhcp) ||
      (owner.name === "metallb" && metallbAnnotation(ann, MLB.pool, MLB.poolOld)?.value);
    if (needs) ctx.needState("address ownership");
    return out.concat(foreignAnnotations(who, owner, ann));
  }

  // Another provider's address space.
  const foreign = new Set<string>();
  const labels = nsLabels ?? {};
  const svcLabels = stringMap(svc.metadata?.labels);
  for (const r of reqs) {
    if (!r.ip || r.dhcp) continue;
    const key = ipKey(r.ip);
    if (foreign.has(key) || seen.has(key)) continue;
    const iv = pointInterval(r.ip);
    const self = { service: { namespace: ns, name } };
    const other =
      owner.name === "metallb" ? kubeVipOwners(view, policy, iv, self)[0] : metallbOwners(view, policy, iv, self)[0];
    if (!other) continue;
    foreign.add(key);
    let fix: string;
    if (owner.name === "metallb") {
      const pools = admittingPools(view, policy, ns, labels, svcLabels);
      fix = pools.length
        ? `MetalLB pools for this namespace: ${listSome(pools.map((p) => poolSummary(p, 1)))}`
        : "request an address from a MetalLB pool";
    } else fix = "request an address outside MetalLB's pools";
    const title = other.provider === "kube-vip" ? "kube-vip" : "MetalLB";
    const what =
      other.kind === "cp-vip"
        ? other.what.replace(/^the kube-vip /, "")
        : other.kind === "service"
          ? `in use by ${other.what}`
          : `${other.what}: ${other.entry}`;
    out.push(
      finding("service.foreign-address", RANK.ownership, `${who}: ${r.text} is owned by ${title} (${what}); ${fix}`),
    );
  }

  out.push(...foreignAnnotations(who, owner, ann));

  // An address already refused as another provider's is not reported again as "in no pool".
  if (owner.name === "metallb") {
    const rest = reqs.filter((r) => !r.ip || !foreign.has(ipKey(r.ip)));
    out.push(...poolAdmission(ctx, who, ns, svc, labels, svcLabels, rest));
  }
  return out;
}

function foreignAnnotations(who: string, owner: Provider, ann: Record<string, string>): Finding[] {
  const foreign = owner.name === "kube-vip" ? METALLB_REQUEST_ANNOTATIONS : KUBEVIP_REQUEST_ANNOTATIONS;
  const other = owner.name === "kube-vip" ? "MetalLB" : "kube-vip";
  const out: Finding[] = [];
  for (const k of foreign) {
    if (!Object.prototype.hasOwnProperty.call(ann, k)) continue;
    out.push(
      finding(
        "service.foreign-annotation",
        RANK.foreignAnnotation,
        `${who} is served by ${owner.name === "kube-vip" ? "kube-vip" : "MetalLB"} but carries the ${other} annotation ${k}; ${foreignAnnotationFix(owner, k)}`,
      ),
    );
  }
  return out;
}

/** What MetalLB's getDesiredLbIPs refuses. */
function metallbRequestErrors(who: string, svc: ServiceLike): Finding[] {
  const ann = stringMap(svc.metadata?.annotations);
  const a = metallbAnnotation(ann, MLB.ips, MLB.ipsOld);
  const lbip = typeof svc.spec?.loadBalancerIP === "string" ? svc.spec.loadBalancerIP : "";
  const out: Finding[] = [];
  if (a && a.value !== "" && lbip !== "")
    out.push(
      finding(
        "service.metallb-request",
        RANK.invalid,
        `${who}: MetalLB refuses both spec.loadBalancerIP and ${a.key}; keep only ${a.key}`,
      ),
    );
  if (a && a.value !== "") {
    const ips = a.value.split(",").map((s) => parseIP(goTrimSpace(s)));
    const v4 = ips.filter((ip) => ip?.fam === 4).length;
    const v6 = ips.filter((ip) => ip?.fam === 6).length;
    if (ips.length > 2 || v4 > 1 || v6 > 1)
      out.push(
        finding(
          "service.metallb-request",
          RANK.invalid,
          `${who}: ${a.key} may list at most one IPv4 and one IPv6 address; MetalLB refuses ${clip(JSON.stringify(a.value), 80)}`,
        ),
      );
  }
  return out;
}

/** Which addresses MetalLB itself reads: its annotation when non-empty, else spec.loadBalancerIP. */
function metallbReads(reqs: RequestedIP[]): RequestedIP[] {
  const ann = reqs.filter((r) => r.source === MLB.ips || r.source === MLB.ipsOld);
  return ann.length ? ann : reqs.filter((r) => r.source === "spec.loadBalancerIP");
}

function poolAdmission(
  ctx: RuleContext,
  who: string,
  ns: string,
  svc: ServiceLike,
  nsLabels: Record<string, string>,
  svcLabels: Record<string, string>,
  reqs: RequestedIP[],
): Finding[] {
  const { view, policy } = ctx;
  const mns = policy.metallb!.namespace;
  const ann = stringMap(svc.metadata?.annotations);
  const out: Finding[] = [];
  const poolReq = metallbAnnotation(ann, MLB.pool, MLB.poolOld);
  const wanted = metallbReads(reqs).filter((r) => r.ip);
  const forNs = () => {
    const pools = admittingPools(view, policy, ns, nsLabels, svcLabels);
    return pools.length
      ? `MetalLB pools for this namespace: ${listSome(pools.map((p) => poolSummary(p, 1)))}`
      : `no MetalLB pool in ${mns} admits namespace ${ns}`;
  };
  if (poolReq && poolReq.value !== "") {
    const pool = view.pool(mns, poolReq.value);
    if (!pool) {
      out.push(
        finding(
          "service.metallb-pool",
          RANK.pool,
          `${who}: ${poolReq.key} names "${clip(poolReq.value, 60)}", which is no IPAddressPool in ${mns}; ${forNs()}`,
        ),
      );
      return out;
    }
    if (!poolAdmits(pool, ns, nsLabels, svcLabels)) {
      out.push(
        finding(
          "service.metallb-pool",
          RANK.pool,
          `${who}: IPAddressPool ${mns}/${pool.name} does not admit this Service (its serviceAllocation); ${forNs()}`,
        ),
      );
      return out;
    }
    for (const r of wanted) {
      const iv = pointInterval(r.ip!);
      if (!pool.entries.some((e) => poolEntryServes(pool, e, iv)))
        out.push(
          finding(
            "service.metallb-pool",
            RANK.pool,
            `${who}: ${r.text} is not in IPAddressPool ${mns}/${poolSummary(pool, 2)} named by ${poolReq.key}; request an address from it`,
          ),
        );
    }
    return out;
  }
  for (const r of wanted) {
    const iv = pointInterval(r.ip!);
    if (r.dhcp) {
      out.push(
        finding(
          "service.metallb-pool",
          RANK.pool,
          `${who}: ${r.text} is kube-vip's DHCP request, not an address MetalLB can assign; remove it or request a pool address`,
        ),
      );
      continue;
    }
    let inPool = false;
    let admitted = false;
    view.forEachPoolOverlap(mns, iv, (pool, entry) => {
      if (!poolEntryServes(pool, entry, iv)) return false;
      inPool = true;
      if (poolAdmits(pool, ns, nsLabels, svcLabels)) admitted = true;
      return admitted;
    });
    if (admitted) continue;
    const why = inPool ? "is in no MetalLB pool that admits this Service" : "is in no MetalLB pool";
    out.push(
      finding(
        "service.metallb-pool",
        RANK.pool,
        `${who}: ${r.text} ${why}, so MetalLB would leave it pending; ${forNs()}`,
      ),
    );
  }
  return out;
}
