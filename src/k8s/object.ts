/**
 * The shape of any Kubernetes object as it arrives in a review or a file:
 * every field unknown until checked. Shared by the view, the rules and the CLI.
 */
export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: {
    name?: unknown;
    generateName?: unknown;
    namespace?: unknown;
    labels?: unknown;
    annotations?: unknown;
    ownerReferences?: unknown;
  };
  spec?: unknown;
  status?: unknown;
  data?: unknown;
  [k: string]: unknown;
}

/** set by the kubelet on the API copy of a static pod */
export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** The workload kinds that can run kube-vip (the one list of them). */
export const WORKLOAD_KINDS = ["Pod", "DaemonSet", "Deployment", "StatefulSet"] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export function isWorkloadKind(kind: unknown): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly unknown[]).includes(kind);
}

export function apiGroup(apiVersion: unknown): string {
  const a = typeof apiVersion === "string" ? apiVersion : "";
  const i = a.indexOf("/");
  return i < 0 ? "" : a.slice(0, i);
}
