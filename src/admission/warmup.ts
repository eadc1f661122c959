/**
 * The reviews of the warm-up before serving (docs/architecture.md, "Warm-up"): a fresh
 * process runs its code in V8's interpreter until the JIT has seen enough of it, and at 5,000
 * reviews/s its first seconds built a backlog of hundreds of milliseconds. `serve` sends these
 * synthetic reviews of the common kinds through a second server of the same code
 * (src/transport/warmup.ts), with the real view and policy, before it reports ready. They are
 * written as the API server writes reviews (src/k8s/wire.ts), in the variants a cluster sends
 * (with and without annotations, uid, optional fields), because V8 compiles for the object
 * shapes it has seen. The answers are thrown away; the handler must record nothing real and
 * must not re-list pools (leave pool CREATEs out for a view with `freshPools`).
 */
import { apiServerJSON } from "../k8s/wire.js";
import type { Policy } from "../policy/policy.js";

const NS = "lbguard-warm-up";

// in the API server's key order (src/k8s/wire.ts): the shapes the JIT then compiles for are the real ones
function review(uid: string, req: Record<string, unknown>): string {
  return apiServerJSON({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid, ...req } });
}

/** a Service as the API server sends it: with the fields its defaulting and allocation fill in */
function service(i: number, cls: string | null | undefined, ip?: string): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    type: "LoadBalancer",
    ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 8443, nodePort: 30000 + i }],
    selector: { app: `warm-${i}` },
    clusterIP: "10.96.0.10",
    clusterIPs: ["10.96.0.10"],
    ipFamilies: ["IPv4"],
    ipFamilyPolicy: "SingleStack",
    sessionAffinity: "None",
    externalTrafficPolicy: "Cluster",
    allocateLoadBalancerNodePorts: true,
    internalTrafficPolicy: "Cluster",
  };
  if (cls !== undefined && cls !== null) spec.loadBalancerClass = cls; // a nil pointer is omitted
  // every other Service carries annotations too: both shapes of metadata are common
  const annotations = i % 2 ? { "lbguard.dev/warm-up": "true" } : undefined;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: `warm-${i}`,
      namespace: NS,
      labels: { app: `warm-${i}` },
      ...(annotations ? { annotations } : {}),
      uid: `w-${i}`,
      resourceVersion: "1",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec,
    status: { loadBalancer: ip ? { ingress: [{ ip, ipMode: "VIP" }] } : {} },
  };
}

/**
 * What a validating webhook sees of a new object's metadata besides its name: the API server
 * assigns uid, creationTimestamp and generation before validating admission (every other variant
 * leaves them out, as a mutating webhook sees it).
 */
function created(i: number): Record<string, unknown> {
  return i % 2 ? {} : { uid: `w-${i}`, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z" };
}

/** The synthetic reviews: [webhook, body] pairs of the kinds a cluster sends most. */
export function warmUpReviews(policy: Policy, pools = true, variants = 8): ["mutate" | "validate", string][] {
  const out: ["mutate" | "validate", string][] = [];
  const providers = Object.values(policy.providers).filter((p) => p !== undefined);
  const svcKind = { group: "", version: "v1", kind: "Service" };
  const svcRes = { group: "", version: "v1", resource: "services" };
  const sa = "system:serviceaccount:lbguard-warm-up:warm-up";
  const groups = ["system:serviceaccounts", `system:serviceaccounts:${NS}`, "system:authenticated"];
  // a service account's token (uid and extra, Kubernetes ≥ 1.30) and a user's
  const users = [
    {
      username: sa,
      uid: "00000000-0000-0000-0000-000000000001",
      groups,
      extra: { "authentication.kubernetes.io/credential-id": ["JTI=warm-up"] },
    },
    { username: "kubernetes-admin", groups: ["kubeadm:cluster-admins", "system:authenticated"] },
  ];
  for (let i = 0; i < variants; i++) {
    const user = users[i % users.length]!;
    // documentation addresses (RFC 5737): in nobody's pool in a real cluster
    const ip = `192.0.2.${1 + i}`;
    const p = providers[i % Math.max(1, providers.length)];
    const cls = p ? p.loadBalancerClass : null;
    const base = { kind: svcKind, resource: svcRes, namespace: NS, name: `warm-${i}`, userInfo: user };
    out.push([
      "mutate",
      review(`wc-${i}`, { ...base, operation: "CREATE", object: service(i, undefined), oldObject: null }),
    ]);
    out.push([
      "validate",
      review(`wv-${i}`, { ...base, operation: "CREATE", object: service(i, cls), oldObject: null }),
    ]);
    const now = service(i, cls, ip);
    (now.metadata as { labels: Record<string, string> }).labels.version = `v${i}`;
    out.push([
      "validate",
      review(`wu-${i}`, { ...base, operation: "UPDATE", object: now, oldObject: service(i, cls, ip) }),
    ]);
    const writer = p?.identities[0];
    out.push([
      "validate",
      review(`ws-${i}`, {
        ...base,
        subResource: "status",
        operation: "UPDATE",
        userInfo: { ...user, username: writer ?? user.username },
        object: service(i, cls, ip),
        oldObject: service(i, cls),
      }),
    ]);
    const metallb = policy.providers.metallb;
    if (metallb && pools)
      out.push([
        "validate",
        review(`wp-${i}`, {
          kind: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
          resource: { group: "metallb.io", version: "v1beta1", resource: "ipaddresspools" },
          namespace: metallb.namespace,
          name: `warm-${i}`,
          operation: "CREATE",
          userInfo: user,
          object: {
            apiVersion: "metallb.io/v1beta1",
            kind: "IPAddressPool",
            metadata: { name: `warm-${i}`, namespace: metallb.namespace, ...created(i) },
            spec: {
              addresses: [`198.51.100.${i * 16}/28`, `2001:db8:${i}::/120`],
              ...(i % 2 ? { autoAssign: true } : {}),
            },
          },
          oldObject: null,
        }),
      ]);
    out.push([
      "validate",
      review(`wd-${i}`, {
        kind: { group: "apps", version: "v1", kind: "DaemonSet" },
        resource: { group: "apps", version: "v1", resource: "daemonsets" },
        namespace: NS,
        name: `kube-vip-${i}`,
        operation: "CREATE",
        userInfo: user,
        object: {
          apiVersion: "apps/v1",
          kind: "DaemonSet",
          metadata: { name: `kube-vip-${i}`, namespace: NS, ...created(i) },
          spec: {
            selector: { matchLabels: { app: `kube-vip-${i}` } },
            ...(i % 2 ? { updateStrategy: { type: "RollingUpdate" } } : {}),
            template: {
              metadata: { labels: { app: `kube-vip-${i}` } },
              spec: {
                ...(i % 2 ? { serviceAccountName: "kube-vip" } : {}),
                hostNetwork: true,
                containers: [
                  {
                    name: "kube-vip",
                    image: "ghcr.io/kube-vip/kube-vip:v1.0.0",
                    args: ["manager"],
                    env: [
                      { name: "vip_arp", value: "true" },
                      { name: "svc_enable", value: "true" },
                      { name: "lb_class_only", value: "true" },
                      { name: "lb_class_name", value: `lbguard.dev/warm-up-${i}` },
                      ...(i % 2
                        ? [{ name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }]
                        : []),
                    ],
                    ...(i % 2 ? { securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } } } : {}),
                  },
                ],
              },
            },
          },
        },
        oldObject: null,
      }),
    ]);
  }
  return out;
}

/**
 * How much warm-up a server does before it reports ready (BENCHMARKS.md "A fresh server"): on
 * the benchmark machine, 20,000 reviews through the transport (3–6 s of one core) took a fresh
 * server's first 3 s at 5,000 reviews/s from a median p99 of 257 ms to 16.7 ms (the node:https
 * baseline, which has nothing to warm: 38.9 ms); in an earlier comparison 3 s of it left 63 ms
 * where 6 s left 46 ms. The time budget bounds it on a slow or busy node.
 */
export const WARM_UP_REVIEWS = 20_000;
export const WARM_UP_BUDGET_MS = 10_000;
