/**
 * What MetalLB itself refuses or cannot satisfy in a Service it owns: its
 * controller's request parsing (getDesiredLbIPs) and pool admission — an
 * explicit address outside every pool admitting the Service stays pending
 * (docs/controllers.md M1, M6).
 */
import { pointInterval } from "../addr/interval.js";
import { goTrimSpace, parseIP } from "../addr/ip.js";
import { clip } from "../k8s/text.js";
import { MLB, RequestedIP, ServiceLike, metallbAnnotation, stringMap } from "../k8s/service.js";
import { Finding, ObjectRef, RuleContext, finding } from "../rules/types.js";
import { poolAdmits, poolEntryServes, poolSummary, poolsForNamespace } from "./metallb-pools.js";
import type { ServicePlace } from "./provider.js";

/** What MetalLB's getDesiredLbIPs refuses. */
export function requestErrors(subject: ObjectRef, svc: ServiceLike): Finding[] {
  const ann = stringMap(svc.metadata?.annotations);
  const a = metallbAnnotation(ann, MLB.ips, MLB.ipsOld);
  const lbip = typeof svc.spec?.loadBalancerIP === "string" ? svc.spec.loadBalancerIP : "";
  const out: Finding[] = [];
  if (a && a.value !== "" && lbip !== "")
    out.push(
      finding(
        "service.metallb-request",
        subject,
        `MetalLB refuses both spec.loadBalancerIP and ${a.key}`,
        `keep only ${a.key}`,
        { field: "spec.loadBalancerIP" },
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
          subject,
          `${a.key} may list at most one IPv4 and one IPv6 address`,
          `MetalLB refuses ${clip(JSON.stringify(a.value), 80)}`,
          { field: `metadata.annotations[${a.key}]` },
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

/** The pool named by the Service, or the pools its addresses fall in, must admit it. */
export function poolAdmission(
  ctx: RuleContext,
  subject: ObjectRef,
  svc: ServiceLike,
  place: ServicePlace,
  reqs: RequestedIP[],
): Finding[] {
  const { view, policy } = ctx;
  const mns = policy.providers.metallb!.namespace;
  const { namespace: ns, nsLabels, svcLabels } = place;
  const ann = stringMap(svc.metadata?.annotations);
  const out: Finding[] = [];
  const poolReq = metallbAnnotation(ann, MLB.pool, MLB.poolOld);
  const wanted = metallbReads(reqs).filter((r) => r.ip);
  const forNs = () => poolsForNamespace(view, policy, place, `no MetalLB pool in ${mns} admits namespace ${ns}`);
  const say = (problem: string, fix: string, field: string, related: ObjectRef[] = []) =>
    out.push(finding("service.metallb-pool", subject, problem, fix, { field, related }));
  if (poolReq && poolReq.value !== "") {
    const field = `metadata.annotations[${poolReq.key}]`;
    const pool = view.pool(mns, poolReq.value);
    if (!pool) {
      say(`${poolReq.key} names "${clip(poolReq.value, 60)}", which is no IPAddressPool in ${mns}`, forNs(), field);
      return out;
    }
    const ref = { kind: "IPAddressPool", namespace: mns, name: pool.name };
    if (!poolAdmits(pool, ns, nsLabels, svcLabels)) {
      say(`IPAddressPool ${mns}/${pool.name} does not admit this Service (its serviceAllocation)`, forNs(), field, [
        ref,
      ]);
      return out;
    }
    for (const r of wanted) {
      const iv = pointInterval(r.ip!);
      if (!pool.entries.some((e) => poolEntryServes(pool, e, iv)))
        say(
          `${r.text} is not in IPAddressPool ${mns}/${poolSummary(pool, 2)} named by ${poolReq.key}`,
          "request an address from it",
          r.source,
          [ref],
        );
    }
    return out;
  }
  for (const r of wanted) {
    const iv = pointInterval(r.ip!);
    if (r.dhcp) {
      say(
        `${r.text} is kube-vip's DHCP request, not an address MetalLB can assign`,
        "remove it or request a pool address",
        r.source,
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
    say(`${r.text} ${why}, so MetalLB would leave it pending`, forNs(), r.source);
  }
  return out;
}

/**
 * MetalLB's checks of a Service it owns. Without synced state only the
 * request's own errors can be judged; a pool request then waits for state.
 */
export function metallbServiceChecks(
  ctx: RuleContext,
  subject: ObjectRef,
  svc: ServiceLike,
  place: ServicePlace | undefined,
  reqs: RequestedIP[],
): Finding[] {
  const out = requestErrors(subject, svc);
  if (!place) {
    if (metallbAnnotation(stringMap(svc.metadata?.annotations), MLB.pool, MLB.poolOld)?.value)
      ctx.needState("address ownership");
    return out;
  }
  return out.concat(poolAdmission(ctx, subject, svc, place, reqs));
}
