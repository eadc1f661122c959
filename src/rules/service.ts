/**
 * Services: loadBalancerClass defaulting (mutating) and the ownership rules
 * (validating): requested addresses against every other provider's space and
 * reservedAddresses, the namespace's allowed providers, other providers'
 * request annotations, and the owner's own refusals (MetalLB's pools).
 */
import { pointInterval } from "../addr/interval.js";
import { clip } from "../k8s/text.js";
import type { KubeObject } from "../k8s/object.js";
import { parseIP } from "../addr/ip.js";
import {
  KV,
  MAX_REQUESTED_IPS,
  MLB,
  ServiceLike,
  assignedIPs,
  isLoadBalancer,
  metallbAnnotation,
  requestedIPs,
  serviceClass,
  stringMap,
} from "../k8s/service.js";
import type { Provider } from "../policy/policy.js";
import type { IP } from "../addr/ip.js";
import type { ServiceRec } from "../cluster/records.js";
import {
  AddressOwner,
  PROVIDER_MODULES,
  controlPlaneVIPs,
  moduleOf,
  ownerOfClass,
  othersThan,
} from "../providers/index.js";
import type { FieldSpec } from "./fields.js";
import { foreignWrites } from "./foreign-writes.js";
import type { KindModule } from "./kind.js";
import { allowedList, classPhrase } from "./messages.js";
import { reservedOwner } from "./ownership.js";
import { Finding, Mutation, ObjectRef, RuleContext, finding, objectName, objectNamespace } from "./types.js";

function ipKey(ip: { fam: number; v: bigint }): string {
  return `${ip.fam}:${ip.v}`;
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

/** Annotations whose change re-opens a Service to the rules on UPDATE: requests, not bookkeeping. */
function isRelevantAnnotation(k: string): boolean {
  return (
    (k.startsWith("metallb.io/") || k.startsWith("metallb.universe.tf/") || k === KV.ips) &&
    k !== MLB.allocated &&
    k !== MLB.allocatedOld
  );
}

/**
 * Updates re-check only when a relevant field changed: class, type, the
 * requested addresses, labels (they decide MetalLB's serviceSelectors) and
 * the request annotations; unrelated edits of old objects keep working.
 */
export const SERVICE_FIELDS: readonly FieldSpec[] = [
  { path: ["spec", "type"] },
  { path: ["spec", "loadBalancerClass"] },
  { path: ["spec", "loadBalancerIP"] },
  { path: ["metadata", "labels"] },
  { path: ["metadata", "annotations"], keys: isRelevantAnnotation },
];

export function validateService(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  const svc = asService(req.object);
  if (!svc || !isLoadBalancer(svc)) return [];
  const old = asService(req.oldObject);

  const ns = objectNamespace(req, req.object);
  const name = objectName(req, req.object);
  const subject: ObjectRef = { kind: "Service", namespace: ns, name };
  const cls = serviceClass(svc) ?? (req.operation === "UPDATE" ? serviceClass(old) : null);
  const owner = ownerOfClass(policy, view, cls);
  const ann = stringMap(svc.metadata?.annotations);
  const out: Finding[] = [];
  const reqs = requestedIPs(svc);

  // Requests nobody could honour: unparseable addresses.
  for (const r of reqs) {
    if (r.beyond !== undefined) {
      // lbguard judges a bounded number of addresses per list; more is refused, never skipped
      out.push(
        finding(
          "service.invalid-address",
          subject,
          `${r.source} lists ${MAX_REQUESTED_IPS + r.beyond} addresses; lbguard judges at most ${MAX_REQUESTED_IPS}`,
          "request fewer addresses",
          { field: r.source },
        ),
      );
      continue;
    }
    if (!r.ip && !r.dns)
      out.push(
        finding(
          "service.invalid-address",
          subject,
          `${clip(JSON.stringify(r.text), 60)} in ${r.source} is not an IP address`,
          "write one IPv4 or IPv6 address",
          { field: r.source },
        ),
      );
  }

  // Reserved addresses: nobody's, whatever the class.
  const seen = new Set<string>();
  for (const r of reqs) {
    if (!r.ip || r.dhcp) continue;
    const res = reservedOwner(policy, pointInterval(r.ip));
    const key = ipKey(r.ip);
    if (res && !seen.has(key)) {
      seen.add(key);
      out.push(
        finding(
          "service.reserved-address",
          subject,
          `${r.text} is reserved (reservedAddresses ${res.entry})`,
          "no Service may request it, choose another address",
          { field: r.source },
        ),
      );
    }
  }
  if (!owner) return out; // a class nobody declares: only reservedAddresses apply
  const ownerModule = moduleOf(owner);

  // Allowed class for the namespace.
  const nsLabels = view.namespaceLabels(ns);
  const d = policy.resolveNamespace(ns, nsLabels);
  if (!d) ctx.needState(`the labels of namespace ${ns}`);
  else if (!d.allowed.includes(owner.name)) {
    out.push(
      finding(
        "service.allowed-class",
        subject,
        `${classPhrase(cls)} (${owner.name}) is not allowed in namespace ${ns}`,
        `allowed: ${allowedList(policy, d.allowed)}`,
        { field: "spec.loadBalancerClass" },
      ),
    );
  }

  if (!ctx.stateReady) {
    // Only requests of addresses (and the owner's own checks, such as pools) need the cluster state.
    if (reqs.some((r) => r.ip && !r.dhcp)) ctx.needState("address ownership");
    out.push(...(ownerModule.ownServiceChecks?.(ctx, subject, svc, undefined, reqs) ?? []));
    return out.concat(foreignAnnotations(subject, owner, ann));
  }

  // Another provider's address space.
  const foreign = new Set<string>();
  const place = { namespace: ns, nsLabels: nsLabels ?? {}, svcLabels: stringMap(svc.metadata?.labels) };
  const self = { service: { namespace: ns, name } };
  const others = othersThan(policy, owner.name);
  for (const r of reqs) {
    if (!r.ip || r.dhcp) continue;
    const key = ipKey(r.ip);
    if (foreign.has(key) || seen.has(key)) continue;
    const iv = pointInterval(r.ip);
    for (const { module: m } of others) {
      const other = m.addressOwners(view, policy, iv, self, 1)[0];
      if (!other) continue;
      foreign.add(key);
      const what =
        other.kind === "cp-vip"
          ? other.what.replace(/^the kube-vip /, "")
          : other.kind === "service"
            ? `in use by ${other.what}`
            : `${other.what}: ${other.entry}`;
      out.push(
        finding(
          "service.foreign-address",
          subject,
          `${r.text} is owned by ${m.title} (${what})`,
          ownerModule.addressFix(view, policy, place, m),
          { field: r.source, related: other.ref ? [other.ref] : [] },
        ),
      );
      break;
    }
  }

  // Addresses no Service may take, whoever owns it: a control-plane VIP, another Service's address.
  for (const r of reqs) {
    if (!r.ip || r.dhcp) continue;
    const key = ipKey(r.ip);
    if (foreign.has(key) || seen.has(key)) continue;
    const f = untakable(ctx, subject, owner, svc, r.ip, r.text, r.source);
    if (f) {
      if (f.severity === "deny") foreign.add(key);
      out.push(f);
    }
  }

  out.push(...foreignAnnotations(subject, owner, ann));

  // The owner's own checks; an address already refused (reserved, another provider's) is not reported again.
  if (ownerModule.ownServiceChecks) {
    const refused = (r: (typeof reqs)[number]) => !!r.ip && (foreign.has(ipKey(r.ip)) || seen.has(ipKey(r.ip)));
    const rest = foreign.size || seen.size ? reqs.filter((r) => !refused(r)) : reqs;
    out.push(...ownerModule.ownServiceChecks(ctx, subject, svc, place, rest));
  }
  return out;
}

/**
 * An address no Service may request, whoever owns it: a control-plane VIP
 * (kube-proxy would send API-server traffic to the Service's pods), or an
 * address another Service requests or holds, unless its provider shares it
 * (MetalLB: both carry the same allow-shared-ip key; kube-vip shares a VIP
 * between Services: a warning naming the other Service).
 */
function untakable(
  ctx: RuleContext,
  subject: ObjectRef,
  owner: Provider,
  svc: ServiceLike,
  ip: IP,
  text: string,
  field: string,
): Finding | undefined {
  const { view, policy } = ctx;
  const iv = pointInterval(ip);
  const vips: AddressOwner[] = [];
  controlPlaneVIPs(view, policy, iv, {}, vips, 1);
  if (vips.length)
    return finding(
      "service.control-plane-vip",
      subject,
      `${text} is ${vips[0].what}; kube-proxy would send the API server's traffic to this Service's pods`,
      "request another address",
      { field, related: vips[0].ref ? [vips[0].ref] : [] },
    );
  const share = metallbAnnotation(stringMap(svc.metadata?.annotations), MLB.share, MLB.shareOld)?.value;
  let hit: ServiceRec | undefined;
  view.forEachServiceAddrAnyClass(iv, (other) => {
    if (other.namespace === subject.namespace && other.name === subject.name) return false;
    hit = other;
    return true;
  });
  if (!hit) return undefined;
  const other = hit as ServiceRec;
  const otherOwner = ownerOfClass(policy, view, other.cls);
  const related = [{ kind: "Service", namespace: other.namespace, name: other.name }];
  if (otherOwner?.name === owner.name) {
    if (owner.name === "metallb" && share && other.share === share) return undefined;
    if (owner.name === "kube-vip")
      return finding(
        "service.address-in-use",
        subject,
        `${text} is also the address of Service ${other.namespace}/${other.name}; kube-vip will share the VIP between them`,
        "request another address unless both Services are meant to share it",
        { field, related, severity: "warn" },
      );
  }
  return finding(
    "service.address-in-use",
    subject,
    `${text} is in use by Service ${other.namespace}/${other.name}${otherOwner ? ` (${otherOwner.title})` : ""}`,
    owner.name === "metallb" && otherOwner?.name === "metallb"
      ? `request another address, or give both Services the same ${MLB.share} key`
      : "request another address",
    { field, related },
  );
}

/** `in MetalLB's address space (IPAddressPool metallb-system/gold: 10.0.5.0/24)` */
function spacePhrase(title: string, o: AddressOwner): string {
  if (o.kind === "reserved") return `reserved (reservedAddresses ${o.entry})`;
  if (o.kind === "cp-vip") return `${o.what}`;
  if (o.kind === "service") return `in use by ${title} ${o.what}`;
  return `in ${title}'s address space (${o.what}: ${o.entry})`;
}

/**
 * spec.externalIPs: kube-proxy accepts traffic for them on every node, so a
 * Service of any type can capture another owner's address this way
 * (CVE-2020-8554, docs/controllers.md S2). Each must lie outside every
 * provider's address space and reservedAddresses.
 */
export function validateExternalIPs(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  const svc = asService(req.object);
  const ips = (svc?.spec as { externalIPs?: unknown } | undefined)?.externalIPs;
  if (!Array.isArray(ips) || !ips.length) return [];
  const subject: ObjectRef = {
    kind: "Service",
    namespace: objectNamespace(req, req.object),
    name: objectName(req, req.object),
  };
  if (!ctx.stateReady) {
    ctx.needState("address ownership");
    return [];
  }
  const out: Finding[] = [];
  const self = { service: { namespace: subject.namespace!, name: subject.name } };
  for (const text of ips) {
    if (typeof text !== "string") continue;
    const ip = parseIP(text.trim());
    if (!ip) continue; // the API server refuses what is not an IP
    const iv = pointInterval(ip);
    let o: { title: string; owner: AddressOwner } | undefined;
    const res = reservedOwner(policy, iv);
    if (res) o = { title: "", owner: res };
    for (const m of Object.values(PROVIDER_MODULES)) {
      if (o) break;
      const hit = m.addressOwners(view, policy, iv, self, 1)[0];
      if (hit) o = { title: m.title, owner: hit };
    }
    if (!o) continue;
    out.push(
      finding(
        "service.external-ip",
        subject,
        `externalIP ${text} is ${spacePhrase(o.title, o.owner)}; kube-proxy would capture its traffic on every node (CVE-2020-8554)`,
        "remove it from spec.externalIPs",
        { field: "spec.externalIPs", related: o.owner.ref ? [o.owner.ref] : [] },
      ),
    );
    if (out.length >= 4) break;
  }
  return out;
}

/**
 * A services/status write, whoever makes it: kube-vip adopts the addresses
 * in status.loadBalancer.ingress (docs/controllers.md K7), so status may only
 * carry addresses of the Service's owner; reservedAddresses never. The
 * providers' own identities are also judged by the foreign-write rule.
 */
export function validateStatus(ctx: RuleContext): Finding[] {
  const { req, view, policy } = ctx;
  const svc = asService(req.object);
  if (!svc) return [];
  const old = asService(req.oldObject);
  const before = new Set(old ? assignedIPs(old).map((a) => ipKey(a.ip)) : []);
  const fresh = assignedIPs(svc).filter((a) => !before.has(ipKey(a.ip)));
  if (!fresh.length) return [];
  const subject: ObjectRef = {
    kind: "Service",
    namespace: objectNamespace(req, req.object),
    name: objectName(req, req.object),
  };
  const cls = serviceClass(svc) ?? serviceClass(old);
  const owner = ownerOfClass(policy, view, cls);
  // another provider's controller writing status is refused by foreign-write already, with its fix
  const writer = policy.providerOfIdentity(req.userInfo?.username);
  if (writer && owner && writer.name !== owner.name && policy.enforcementOf("foreignWrites") === "deny") return [];
  const out: Finding[] = [];
  const self = { service: { namespace: subject.namespace!, name: subject.name } };
  for (const a of fresh) {
    const iv = pointInterval(a.ip);
    const res = reservedOwner(policy, iv);
    let hit: { title: string; owner: AddressOwner } | undefined = res ? { title: "", owner: res } : undefined;
    if (!hit && owner) {
      if (!ctx.stateReady) {
        ctx.needState("address ownership");
        continue;
      }
      for (const { module: m } of othersThan(policy, owner.name)) {
        const o = m.addressOwners(view, policy, iv, self, 1)[0];
        if (o) {
          hit = { title: m.title, owner: o };
          break;
        }
      }
    }
    if (!hit) continue;
    out.push(
      finding(
        "service.status-address",
        subject,
        `status.loadBalancer.ingress ${a.text} is ${spacePhrase(hit.title, hit.owner)}${owner ? `, but ${owner.title} owns this Service` : ""}`,
        owner ? `write only ${owner.title}'s addresses to its status` : "write another address",
        { field: "status.loadBalancer.ingress", related: hit.owner.ref ? [hit.owner.ref] : [] },
      ),
    );
  }
  return out;
}

/** Request annotations of the providers that do not serve this Service. */
function foreignAnnotations(subject: ObjectRef, owner: Provider, ann: Record<string, string>): Finding[] {
  const out: Finding[] = [];
  const mine = moduleOf(owner);
  for (const m of Object.values(PROVIDER_MODULES)) {
    if (m.name === owner.name) continue;
    for (const k of m.requestAnnotations) {
      if (!Object.prototype.hasOwnProperty.call(ann, k)) continue;
      out.push(
        finding(
          "service.foreign-annotation",
          subject,
          `is served by ${mine.title} but carries the ${m.title} annotation ${k}`,
          mine.foreignAnnotationFix(k),
          { field: `metadata.annotations[${k}]`, join: " " },
        ),
      );
    }
  }
  return out;
}

export const serviceKind: KindModule = {
  group: "",
  kinds: ["Service"],
  checks: [
    {
      family: "services",
      operations: ["CREATE", "UPDATE"],
      rules: ["service.default-class"],
      mutate: defaultClass,
    },
    {
      family: "foreignWrites",
      operations: ["UPDATE"],
      subResources: ["", "status"],
      rules: ["foreign-write"],
      validate: foreignWrites,
    },
    {
      family: "services",
      operations: ["CREATE", "UPDATE"],
      fields: [{ path: ["spec", "externalIPs"] }],
      rules: ["service.external-ip"],
      validate: validateExternalIPs,
    },
    {
      family: "services",
      operations: ["UPDATE"],
      subResources: ["status"],
      fields: [{ path: ["status", "loadBalancer"] }],
      rules: ["service.status-address"],
      validate: validateStatus,
    },
    {
      family: "services",
      operations: ["CREATE", "UPDATE"],
      fields: SERVICE_FIELDS,
      rules: [
        "service.invalid-address",
        "service.metallb-request",
        "service.reserved-address",
        "service.allowed-class",
        "service.foreign-address",
        "service.control-plane-vip",
        "service.address-in-use",
        "service.foreign-annotation",
        "service.metallb-pool",
      ],
      validate: validateService,
    },
  ],
};
