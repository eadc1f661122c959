/**
 * Warm-up before serving (BENCHMARKS.md "Tail latency"): a fresh process runs
 * its decision code in V8's interpreter until the JIT has seen enough of it,
 * and at 5,000 reviews/s that first second built a backlog of hundreds of
 * milliseconds. Deciding a few thousand synthetic reviews of the common kinds
 * in process, with the real view and policy, before the server listens makes
 * that code hot. The answers are thrown away; the handler it is given must
 * have no metrics (the reviews are not real) and must not re-list pools
 * (give it a view without `freshPools`).
 */
import type { Policy } from "../policy/policy.js";
import type { ReviewHandler } from "./handler.js";

const NS = "lbguard-warm-up";

function review(uid: string, req: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid, ...req } });
}

function service(i: number, cls: string | null | undefined, ip?: string): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    type: "LoadBalancer",
    ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 8443 }],
    selector: { app: `warm-${i}` },
    clusterIP: "10.96.0.10",
    ipFamilies: ["IPv4"],
  };
  if (cls !== undefined) spec.loadBalancerClass = cls;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `warm-${i}`, namespace: NS, labels: { app: `warm-${i}` }, uid: `w-${i}`, resourceVersion: "1" },
    spec,
    ...(ip ? { status: { loadBalancer: { ingress: [{ ip }] } } } : {}),
  };
}

/** The synthetic reviews: [webhook, body] pairs of the kinds a cluster sends most. */
export function warmUpReviews(policy: Policy, pools = true, variants = 8): ["mutate" | "validate", string][] {
  const out: ["mutate" | "validate", string][] = [];
  const providers = Object.values(policy.providers).filter((p) => p !== undefined);
  const svcKind = { group: "", version: "v1", kind: "Service" };
  const svcRes = { group: "", version: "v1", resource: "services" };
  const user = { username: "system:serviceaccount:lbguard-warm-up:warm-up" };
  for (let i = 0; i < variants; i++) {
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
        userInfo: { username: writer ?? user.username },
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
            metadata: { name: `warm-${i}`, namespace: metallb.namespace },
            spec: { addresses: [`198.51.100.${i * 16}/28`, `2001:db8:${i}::/120`] },
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
          metadata: { name: `kube-vip-${i}`, namespace: NS },
          spec: {
            selector: { matchLabels: { app: `kube-vip-${i}` } },
            template: {
              metadata: { labels: { app: `kube-vip-${i}` } },
              spec: {
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
                    ],
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
 * Decide the synthetic reviews in rounds until `rounds` are done or `budgetMs`
 * has passed. Returns the number of reviews decided. Never throws: a warm-up
 * that fails only leaves the process cold. `pools: false` leaves pool CREATEs
 * out (a live view re-lists pools for each one).
 */
export async function warmUp(
  handler: ReviewHandler,
  policy: Policy,
  o: { pools?: boolean; rounds?: number; budgetMs?: number } = {},
): Promise<number> {
  const rounds = o.rounds ?? 300;
  const budgetMs = o.budgetMs ?? 1500;
  let n = 0;
  try {
    const reviews = warmUpReviews(policy, o.pools ?? true);
    const t0 = performance.now();
    for (let r = 0; r < rounds && performance.now() - t0 < budgetMs; r++) {
      for (const [webhook, body] of reviews) {
        await handler(webhook, body, "application/json", Date.now() + 10_000);
        n++;
      }
      // let real work in between rounds (a live source warms up while it already serves)
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch {
    // the warm-up is an optimisation only
  }
  return n;
}
