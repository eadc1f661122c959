/**
 * Services: loadBalancerClass defaulting (mutating) and the ownership rules
 * (validating): requested addresses against every other provider's space and
 * reservedAddresses, the namespace's allowed providers, other providers'
 * request annotations, and the owner's own refusals (MetalLB's pools).
 */
import { pointInterval } from "../addr/interval.js";
import { clip } from "../k8s/text.js";
import type { KubeObject } from "../k8s/object.js";
import { KV, MLB, ServiceLike, isLoadBalancer, requestedIPs, serviceClass, stringMap } from "../k8s/service.js";
import type { Provider } from "../policy/policy.js";
import { PROVIDER_MODULES, moduleOf, othersThan } from "../providers/index.js";
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
  const owner = policy.ownerOfClass(cls);
  const ann = stringMap(svc.metadata?.annotations);
  const out: Finding[] = [];
  const reqs = requestedIPs(svc);

  // Requests nobody could honour: unparseable addresses.
  for (const r of reqs) {
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

  out.push(...foreignAnnotations(subject, owner, ann));

  // The owner's own checks; an address already refused (reserved, another provider's) is not reported again.
  if (ownerModule.ownServiceChecks) {
    const refused = (r: (typeof reqs)[number]) => !!r.ip && (foreign.has(ipKey(r.ip)) || seen.has(ipKey(r.ip)));
    const rest = foreign.size || seen.size ? reqs.filter((r) => !refused(r)) : reqs;
    out.push(...ownerModule.ownServiceChecks(ctx, subject, svc, place, rest));
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
      fields: SERVICE_FIELDS,
      rules: [
        "service.invalid-address",
        "service.metallb-request",
        "service.reserved-address",
        "service.allowed-class",
        "service.foreign-address",
        "service.foreign-annotation",
        "service.metallb-pool",
      ],
      validate: validateService,
    },
  ],
};
