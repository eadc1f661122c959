/**
 * Finding (b) of SPEC §11: conflicts only the whole view shows, from the
 * signals of docs/controllers.md L1. Which controllers take a Service comes
 * from what runs (controllers.ts); the evidence (bookkeeping annotations,
 * Leases, managedFields, status) makes the message concrete and decides
 * between a claim and a bounce. The fix names the change for the provider
 * the policy does not give the Service to.
 */
import { parseIP } from "../addr/ip.js";
import { pointInterval } from "../addr/interval.js";
import type { ClusterView } from "../cluster/view.js";
import type { ObjectRef } from "../findings/finding.js";
import { KV, requestedIPs } from "../k8s/service.js";
import type { Policy } from "../policy/policy.js";
import { classPhrase } from "../rules/messages.js";
import {
  Controller,
  containerEnv,
  kubeVipLeaveFix,
  metallbClassFix,
  runningControllers,
  setEnvFix,
  takes,
} from "./controllers.js";
import { allocatedPool, perServiceLease, serviceObject, type AuditFacts, type ServiceFact } from "./facts.js";
import { flat, type AuditFinding } from "./finding.js";
import { auditRule } from "./rules.js";

const PROVIDER_TITLE: Record<string, string> = { metallb: "MetalLB", "kube-vip": "kube-vip" };

function svcRef(s: { namespace: string; name: string }): ObjectRef {
  return { kind: "Service", namespace: s.namespace, name: s.name };
}

function nodeRef(name: string): ObjectRef {
  return { kind: "Node", name };
}

function leaseRef(ns: string, name: string): ObjectRef {
  return { kind: "Lease", namespace: ns, name };
}

function uniqueRefs(refs: ObjectRef[]): ObjectRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.kind}/${r.namespace ?? ""}/${r.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function find(rule: string, subject: ObjectRef, problem: string, fix: string, o: Partial<AuditFinding>): AuditFinding {
  return {
    rule,
    family: "audit",
    severity: auditRule(rule).severity,
    subject,
    related: [],
    problem: flat(problem),
    fix: flat(fix),
    owner: "none",
    contender: "none",
    ...o,
  };
}

/** `MetalLB (Deployment metallb-system/controller, no --lb-class)` */
function who(c: Controller): string {
  return `${PROVIDER_TITLE[c.provider]} (${c.title}, ${c.how})`;
}

/** The holder of the Lease a kube-vip instance serves this Service under, when it coordinates by one. */
function leaseHolder(
  facts: AuditFacts,
  s: ServiceFact,
  kv: Controller[],
): { node: string; lease: ObjectRef } | undefined {
  const per = perServiceLease(facts, s);
  if (per?.holder) return { node: per.holder, lease: leaseRef(per.namespace, per.name) };
  for (const c of kv) {
    const co = c.cfg?.coordination;
    if (co?.kind !== "lease") continue;
    const l = facts.leases.get(`${co.namespace}/${co.name}`);
    if (l?.holder) return { node: l.holder, lease: leaseRef(l.namespace, l.name) };
  }
  return undefined;
}

/** Two or more managers of status.loadBalancer, named as users know them. */
function managerPhrase(managers: string[]): string {
  return managers.map((m) => (m === "controller" ? "controller (MetalLB)" : m)).join(" and ");
}

export interface ConflictContext {
  view: ClusterView;
  facts: AuditFacts;
  policy: Policy;
  controllers: Controller[];
}

/** The fix that leaves the Service to the provider the policy gives it to. */
function leaveFix(ctx: ConflictContext, s: ServiceFact, claimants: Controller[]): string {
  const owner = ctx.policy.ownerOfClass(s.cls)?.name;
  const mlbClass = ctx.policy.metallb?.loadBalancerClass;
  if (owner === "kube-vip") return metallbClassFix(ctx.facts, mlbClass ?? "metallb");
  const kv = claimants.filter((c) => c.provider === "kube-vip");
  return kv.map((c) => kubeVipLeaveFix(c, ctx.policy)).join("; and ");
}

function contested(ctx: ConflictContext, s: ServiceFact, claimants: Controller[]): AuditFinding[] {
  const out: AuditFinding[] = [];
  const mlb = claimants.filter((c) => c.provider === "metallb");
  const kv = claimants.filter((c) => c.provider === "kube-vip");
  if (!mlb.length || !kv.length) return out;
  const seen: string[] = [];
  const related: ObjectRef[] = claimants.flatMap((c) => c.refs);
  const pool = allocatedPool(s);
  if (pool) seen.push(`${pool.key}=${pool.pool}`);
  const host = s.annotations?.[KV.vipHost];
  if (host) seen.push(`kube-vip.io/vipHost=${host}`);
  const per = perServiceLease(ctx.facts, s);
  if (per) {
    seen.push(`Lease ${per.namespace}/${per.name}${per.holder ? ` held by ${per.holder}` : ""}`);
    related.push(leaseRef(per.namespace, per.name));
  }
  const managers = s.statusManagers ?? [];
  if (managers.length > 1) seen.push(`status.loadBalancer managed by ${managerPhrase(managers)}`);
  const owner = ctx.policy.ownerOfClass(s.cls)?.name ?? "none";
  const contender = owner === "kube-vip" ? "metallb" : "kube-vip";
  const both = [...mlb, ...kv].map(who).join(" and ");
  const problem = `is taken by ${both}, both for Services with ${classPhrase(s.cls)}${seen.length ? `; seen: ${seen.join(", ")}` : ""}`;
  const fix = leaveFix(ctx, s, claimants);
  out.push(
    find("audit.contested-service", svcRef(s), problem, fix, {
      related: uniqueRefs(related),
      join: " ",
      field: "spec.loadBalancerClass",
      owner,
      contender,
    }),
  );

  // the bounce: both write status (two managers, or kube-vip's ports on an address MetalLB writes IP-only)
  const writers = kv.filter(
    (c) => c.role === "kube-vip" && containerEnv(ctx.facts, c, "disable_service_updates") !== "true",
  );
  const bounce = managers.length > 1 || !!s.ingressPorts;
  if (writers.length && bounce) {
    const ev: string[] = [];
    if (managers.length > 1) ev.push(`managedFields show ${managerPhrase(managers)} both writing status.loadBalancer`);
    if (s.ingressPorts) ev.push("status.loadBalancer.ingress carries ports, which kube-vip writes and MetalLB drops");
    let bfix: string;
    if (owner === "kube-vip") bfix = leaveFix(ctx, s, claimants);
    else {
      const stop = writers.map((c) => setEnvFix(c, [["disable_service_updates", "true"]])).join("; and ");
      bfix = `stop kube-vip's status writes now: ${stop}; then ${leaveFix(ctx, s, claimants)}`;
    }
    out.push(
      find("audit.status-bounce", svcRef(s), `bounces between MetalLB and kube-vip: ${ev.join("; ")}`, bfix, {
        related: uniqueRefs(claimants.map((c) => c.ref)),
        join: " ",
        field: "status.loadBalancer",
        owner,
        contender,
      }),
    );
  }
  return out;
}

/** Addresses of a Service: status first, then requests. */
function addressesOf(s: ServiceFact): string[] {
  const out: string[] = [...(s.ingress ?? [])];
  for (const r of requestedIPs(serviceObject(s) as never))
    if (r.ip && !r.dhcp && !out.includes(r.text)) out.push(r.text);
  return out;
}

function vipOnControlPlane(ctx: ConflictContext, s: ServiceFact, claimants: Controller[]): AuditFinding[] {
  const m = ctx.policy.metallb;
  if (!m || !ctx.facts.controlPlaneNodes.size) return [];
  const kv = claimants.filter((c) => c.role === "kube-vip");
  let node = s.annotations?.[KV.vipHost];
  let via = node ? `kube-vip.io/vipHost=${node}` : "";
  let lease: ObjectRef | undefined;
  if (!node) {
    const h = leaseHolder(ctx.facts, s, kv);
    if (!h) return [];
    node = h.node;
    lease = h.lease;
    via = `Lease ${h.lease.namespace}/${h.lease.name} held by ${node}`;
  }
  if (!ctx.facts.controlPlaneNodes.has(node)) return [];
  for (const text of addressesOf(s)) {
    const ip = parseIP(text);
    if (!ip) continue;
    let pool: { namespace: string; name: string; entry: string } | undefined;
    ctx.view.forEachPoolOverlap(m.namespace, pointInterval(ip), (p, e) => {
      pool = { namespace: p.namespace, name: p.name, entry: e.text };
      return true;
    });
    if (!pool) continue;
    const owner = ctx.policy.ownerOfClass(s.cls)?.name ?? "none";
    const problem = `has ${text} from IPAddressPool ${pool.namespace}/${pool.name} (${pool.entry}) bound by kube-vip on control-plane node ${node} (${via})`;
    let fix: string;
    if (owner === "kube-vip")
      fix = `keep ${text} out of MetalLB's pools: kubectl -n ${pool.namespace} edit ipaddresspool ${pool.name}`;
    else {
      const steps: string[] = [];
      if (kv.length) steps.push(kv.map((c) => kubeVipLeaveFix(c, ctx.policy)).join("; and "));
      const iface = (kv.length && containerEnv(ctx.facts, kv[0], "vip_interface")) || "<interface>";
      steps.push(`on ${node}: ip addr del ${text}/${ip.fam === 4 ? 32 : 128} dev ${iface}`);
      if (s.annotations?.[KV.vipHost])
        steps.push(`kubectl -n ${s.namespace} annotate service ${s.name} ${KV.vipHost}-`);
      fix = steps.join("; then ");
    }
    const related = [
      nodeRef(node),
      { kind: "IPAddressPool", namespace: pool.namespace, name: pool.name },
      // the instance's object on that node (a static pod's mirror pod there), else the instance
      ...kv.map((c) => c.refs.find((r) => r.kind === "Pod" && r.name.endsWith(`-${node}`)) ?? c.ref),
      ...(lease ? [lease] : []),
    ];
    return [
      find("audit.vip-on-control-plane", svcRef(s), problem, fix, {
        related: uniqueRefs(related),
        join: " ",
        owner,
        contender: owner === "kube-vip" ? "metallb" : "kube-vip",
      }),
    ];
  }
  return [];
}

function unserved(ctx: ConflictContext, s: ServiceFact, servers: number): AuditFinding[] {
  if (servers > 0 || s.ingress?.length) return [];
  const { policy, view } = ctx;
  const d = policy.resolveNamespace(s.namespace, view.namespaceLabels(s.namespace));
  const p = d ? policy.providers[d.provider] : undefined;
  let fix: string;
  if (p && p.loadBalancerClass !== s.cls) {
    const to = p.loadBalancerClass === null ? "" : `,"loadBalancerClass":"${p.loadBalancerClass}"`;
    fix =
      `give it ${p.title}'s ${p.loadBalancerClass === null ? "(no) class" : `class ${p.loadBalancerClass}`} (the class is immutable; leaving type LoadBalancer clears it): ` +
      `kubectl -n ${s.namespace} patch service ${s.name} -p '{"spec":{"type":"ClusterIP"}}' && ` +
      `kubectl -n ${s.namespace} patch service ${s.name} -p '{"spec":{"type":"LoadBalancer"${to}}}'`;
  } else if (p)
    fix =
      p.name === "metallb"
        ? `run MetalLB for it: ${metallbClassFix(ctx.facts, s.cls ?? "metallb")}`
        : `run a kube-vip with svc_enable "true"${s.cls === null ? "" : `, lb_class_only "true" and lb_class_name "${s.cls}"`}`;
  else fix = "give it the class of a controller that runs";
  return [
    find(
      "audit.unserved-class",
      svcRef(s),
      `has ${classPhrase(s.cls)}, which no running controller serves, and no address (status.loadBalancer.ingress is empty)`,
      fix,
      { join: " ", field: "spec.loadBalancerClass", owner: policy.ownerOfClass(s.cls)?.name ?? "none" },
    ),
  ];
}

function staleVIPs(ctx: ConflictContext): AuditFinding[] {
  const { facts } = ctx;
  const out: AuditFinding[] = [];
  const seen = new Set<string>();
  const report = (ns: string, name: string, host: string | undefined) => {
    const key = `${ns}/${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    const s = facts.leftovers.get(key) ?? { namespace: ns, name, type: "ClusterIP", cls: null };
    const lease = perServiceLease(facts, s as ServiceFact);
    const holder = host ?? lease?.holder;
    const left: string[] = [];
    const steps: string[] = [];
    const related: ObjectRef[] = [];
    if (host) {
      left.push(`kube-vip.io/vipHost=${host}`);
      steps.push(`kubectl -n ${ns} annotate service ${name} ${KV.vipHost}-`);
    }
    if (lease) {
      left.push(`Lease ${lease.namespace}/${lease.name}${lease.holder ? ` held by ${lease.holder}` : ""}`);
      steps.push(`kubectl -n ${lease.namespace} delete lease ${lease.name}`);
      related.push(leaseRef(lease.namespace, lease.name));
    }
    if (holder) {
      related.push(nodeRef(holder));
      steps.push(`check that ${holder} no longer holds the address (kube-vip before #1700 leaves it bound)`);
    }
    out.push(
      find(
        "audit.stale-vip",
        svcRef(s),
        `is type ${s.type} but kube-vip left ${left.join(" and ")}${holder ? `: the VIP may still be bound on ${holder}` : ""}`,
        steps.join("; "),
        { related, join: " ", owner: "none", contender: "kube-vip" },
      ),
    );
  };
  for (const s of facts.leftovers.values()) report(s.namespace, s.name, s.annotations?.[KV.vipHost]);
  for (const l of facts.leases.values()) {
    if (!l.name.startsWith("kubevip-")) continue;
    const name = l.name.slice("kubevip-".length);
    if (facts.otherServices.has(`${l.namespace}/${name}`)) report(l.namespace, name, undefined);
  }
  return out;
}

function thirdController(ctx: ConflictContext): AuditFinding[] {
  const out: AuditFinding[] = [];
  const nullOwner = ctx.policy.ownerOfClass(null);
  const beside = nullOwner ? ` next to ${nullOwner.title}, which the policy gives them` : "";
  for (const d of [...ctx.facts.svclb].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  )) {
    out.push(
      find(
        "audit.third-controller",
        svcRef(d.service),
        `is served by k3s ServiceLB (DaemonSet ${d.namespace}/${d.name}), a third controller that takes Services without a class${beside}`,
        "start the k3s servers with --disable=servicelb (or disable: [servicelb] in /etc/rancher/k3s/config.yaml) and restart them",
        {
          related: [{ kind: "DaemonSet", namespace: d.namespace, name: d.name }],
          join: " ",
          owner: nullOwner?.name ?? "none",
          contender: "servicelb",
        },
      ),
    );
  }
  return out;
}

/** Every whole-view conflict, Service by Service, then the leftovers and other controllers. */
export function conflicts(view: ClusterView, facts: AuditFacts, policy: Policy): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const _ of conflictSteps(view, facts, policy, out));
  return out;
}

/** conflicts() one Service at a time (see judgeSteps): the findings accumulate in `out`. */
export function* conflictSteps(
  view: ClusterView,
  facts: AuditFacts,
  policy: Policy,
  out: AuditFinding[],
): Generator<void> {
  const ctx: ConflictContext = { view, facts, policy, controllers: runningControllers(view, facts) };
  const svclb = new Set(facts.svclb.map((d) => `${d.service.namespace}/${d.service.name}`));
  for (const s of facts.services.values()) {
    yield;
    const claimants = ctx.controllers.filter((c) => takes(c, s));
    out.push(...contested(ctx, s, claimants));
    out.push(...vipOnControlPlane(ctx, s, claimants));
    const servers =
      claimants.filter((c) => c.role !== "cloud-provider").length + (svclb.has(`${s.namespace}/${s.name}`) ? 1 : 0);
    out.push(...unserved(ctx, s, servers));
  }
  out.push(...staleVIPs(ctx), ...thirdController(ctx));
}
