/**
 * The live cluster for the audit: one pass of paginated consistent lists
 * (src/cluster/sources/kube.ts `listAll`: no resourceVersion=0, so the API
 * server reads etcd; 500 objects a page, each slimmed into the facts as it
 * arrives, so no list sits in memory whole: docs/controllers.md L3). Read-only.
 *
 * What it lists: what the informers keep (resourcesFor in
 * src/cluster/sources/live.ts: namespaces, Services, DaemonSets, Deployments,
 * StatefulSets, pods in kube-vip's namespaces, IPAddressPools, the kube-vip
 * ConfigMap), plus what the audit's signals need: Nodes (roles), Leases
 * (kube-vip's global and per-Service ones; kube-node-lease's heartbeats are
 * dropped as they arrive), Services' managedFields (in the same list), and
 * MetalLB's controller Deployment (in the Deployments list). Pools are listed
 * in every namespace, so a pool MetalLB ignores is reported.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { ApiError, listAll } from "../cluster/sources/kube.js";
import type { KubeObject } from "../k8s/object.js";
import type { Policy } from "../policy/policy.js";
import type { Collected } from "./collect.js";
import { collectGarbage } from "../util/gc.js";
import { FactsBuilder } from "./facts.js";

export function kubeConfigFor(file?: string): KubeConfig {
  const kc = new KubeConfig();
  // like kubectl: the file given, else $KUBECONFIG, ~/.kube/config, in-cluster
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

interface ListSpec {
  path: string;
  kind: string;
  apiVersion: string;
  fieldSelector?: string;
  /** a resource whose API may be missing (a CRD not installed): 404 is no error */
  optional?: boolean;
}

export async function collectLive(kc: KubeConfig, policy?: Policy, pageSize = 500): Promise<Collected> {
  const b = new FactsBuilder();
  const errors: string[] = [];
  const list = async (s: ListSpec) => {
    try {
      await listAll(
        kc,
        s.path,
        (o: KubeObject) => {
          // built-in list items carry no kind/apiVersion
          if (o.kind === undefined) o.kind = s.kind;
          if (o.apiVersion === undefined) o.apiVersion = s.apiVersion;
          b.add(o, "");
          return 0;
        },
        { pageSize, fieldSelector: s.fieldSelector },
      );
    } catch (e) {
      if (!(s.optional && e instanceof ApiError && e.statusCode === 404)) throw e;
    }
  };
  await list({ path: "/api/v1/namespaces", kind: "Namespace", apiVersion: "v1" });
  await list({ path: "/api/v1/nodes", kind: "Node", apiVersion: "v1" });
  for (const [res, kind] of [
    ["deployments", "Deployment"],
    ["daemonsets", "DaemonSet"],
    ["statefulsets", "StatefulSet"],
  ])
    await list({ path: `/apis/apps/v1/${res}`, kind, apiVersion: "apps/v1" });
  // kube-vip Pods can run in any namespace and under any owner, as the live source sees them
  await list({ path: "/api/v1/pods", kind: "Pod", apiVersion: "v1" });
  // the kube-vip-cloud-provider ConfigMaps: the policy's, the ones cloud providers read, the default
  const maps = new Set<string>(["kube-system/kubevip"]);
  const cm = policy?.kubeVip?.configMap;
  if (cm) maps.add(`${cm.namespace}/${cm.name}`);
  for (const w of b.view.workloads())
    for (const cp of w.cloudProviders) maps.add(`${cp.configMap.namespace}/${cp.configMap.name}`);
  for (const m of [...maps].sort()) {
    const [ns, name] = m.split("/");
    await list({
      path: `/api/v1/namespaces/${ns}/configmaps`,
      kind: "ConfigMap",
      apiVersion: "v1",
      fieldSelector: `metadata.name=${name}`,
    });
  }
  await list({
    path: "/apis/metallb.io/v1beta1/ipaddresspools",
    kind: "IPAddressPool",
    apiVersion: "metallb.io/v1beta1",
    optional: true,
  });
  await list({ path: "/apis/coordination.k8s.io/v1/leases", kind: "Lease", apiVersion: "coordination.k8s.io/v1" });
  await list({ path: "/api/v1/services", kind: "Service", apiVersion: "v1" });
  // the pages' parsed objects are garbage now: collect them once
  if (b.objects > 10_000) collectGarbage();
  return {
    view: b.view,
    facts: b.facts,
    objects: b.objects,
    errors,
    source: `cluster ${kc.getCurrentCluster()?.server ?? "(in-cluster)"}`,
  };
}
