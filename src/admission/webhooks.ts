/**
 * Names of the webhook entries in deploy/base/webhooks.yaml (what kubectl prints as
 * `admission webhook "<name>" denied the request`). One place, used by
 * `lbguard check` to print kubectl's words and checked against that file by tests.
 */
export const WEBHOOKS = {
  defaultClass: "default-class.lbguard.dev",
  services: "services.lbguard.dev",
  pools: "pools.lbguard.dev",
  kubeVipConfig: "kube-vip-config.lbguard.dev",
  kubeVipWorkloads: "kube-vip-workloads.lbguard.dev",
  kubeVipSystemWorkloads: "kube-vip-system-workloads.lbguard.dev",
  namespaces: "namespaces.lbguard.dev",
} as const;

/**
 * Namespaces whose kube-vip workloads have their own webhook entry, which
 * never blocks when lbguard is down (deploy/base/webhooks.yaml): kube-system
 * (the control-plane VIP) and harvester-system (Harvester's own kube-vip).
 */
export const SYSTEM_WORKLOAD_NAMESPACES: readonly string[] = ["kube-system", "harvester-system"];

/** The validating webhook entry that judges an object of this kind in this namespace, as deploy/ routes it. */
export function validatingWebhookFor(kind: string, namespace?: string): string {
  switch (kind) {
    case "Service":
      return WEBHOOKS.services;
    case "IPAddressPool":
      return WEBHOOKS.pools;
    case "ConfigMap":
      return WEBHOOKS.kubeVipConfig;
    case "Namespace":
      return WEBHOOKS.namespaces;
    default:
      return namespace !== undefined && SYSTEM_WORKLOAD_NAMESPACES.includes(namespace)
        ? WEBHOOKS.kubeVipSystemWorkloads
        : WEBHOOKS.kubeVipWorkloads;
  }
}
