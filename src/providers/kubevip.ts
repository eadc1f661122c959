/**
 * kube-vip as a provider: its address space is the cloud-provider
 * ConfigMap's ranges, the control-plane VIPs and the addresses of the
 * Services it owns; its controller writes `kube-vip.io/vipHost` and friends
 * (docs/controllers.md K7, K10).
 */
import { Interval, overlaps } from "../addr/interval.js";
import type { WorkloadRec } from "../cluster/records.js";
import type { ClusterView } from "../cluster/view.js";
import { KV } from "../k8s/service.js";
import { DEFAULT_CLASS, claimsClass } from "../kubevip/effective.js";
import type { Policy } from "../policy/policy.js";
import type { AddressOwner, Exclude, ProviderModule } from "./provider.js";

/** `DaemonSet kube-system/kube-vip-ds`, or `static pod kube-system/kube-vip` for mirror pods. */
export function workloadTitle(w: WorkloadRec): string {
  if (w.mirror) return `static pod ${w.namespace}/${w.mirror.manifest}`;
  return `${w.kind} ${w.namespace}/${w.name}`;
}

/** Control-plane VIPs (policy and kube-vip workloads) overlapping iv, appended to `out` up to `limit`. */
export function controlPlaneVIPs(
  view: ClusterView,
  policy: Policy,
  iv: Interval,
  ex: Exclude,
  out: AddressOwner[],
  limit: number,
): void {
  const kv = policy.providers["kube-vip"];
  if (!kv) return;
  const seen: bigint[] = [];
  for (const v of kv.controlPlaneVIPs) {
    if (out.length >= limit) return;
    if (overlaps(v.iv, iv)) {
      out.push({ provider: "kube-vip", kind: "cp-vip", what: "the kube-vip control-plane VIP", entry: v.text });
      seen.push(v.iv.lo);
    }
  }
  view.forEachControlPlaneVIP(iv, (w, vip) => {
    if (ex.instance && w.instance === ex.instance) return false;
    if (seen.includes(vip.ip!.v)) return false;
    seen.push(vip.ip!.v);
    out.push({
      provider: "kube-vip",
      kind: "cp-vip",
      what: `the kube-vip control-plane VIP (${workloadTitle(w)})`,
      entry: vip.value,
      ref: { kind: w.kind, namespace: w.namespace, name: w.name },
    });
    return out.length >= limit;
  });
}

export const kubeVip: ProviderModule = {
  name: "kube-vip",
  title: "kube-vip",
  ruleSuffix: "kube-vip",
  spacePhrase: "kube-vip's addresses",
  requestAnnotations: [KV.ips],
  bookkeeping: {
    annotations: [KV.vipHost, KV.hwaddr, KV.requestedIP],
    labels: [[KV.implementationLabel, "kube-vip"]],
  },

  addressOwners(view: ClusterView, policy: Policy, iv: Interval, ex: Exclude, limit: number): AddressOwner[] {
    const out: AddressOwner[] = [];
    const kv = policy.providers["kube-vip"];
    if (!kv) return out;
    controlPlaneVIPs(view, policy, iv, ex, out, limit);
    if (out.length >= limit) return out;
    const cm = kv.configMap;
    if (cm) {
      view.forEachConfigMapOverlap(cm.namespace, cm.name, iv, (e) => {
        out.push({
          provider: "kube-vip",
          kind: "configmap",
          what: `ConfigMap ${cm.namespace}/${cm.name} key ${e.key}`,
          entry: e.text,
          ref: { kind: "ConfigMap", namespace: cm.namespace, name: cm.name },
        });
        return out.length >= limit;
      });
      if (out.length >= limit) return out;
    }
    view.forEachServiceAddr(kv.loadBalancerClass, iv, (svc, addr) => {
      if (ex.service && svc.namespace === ex.service.namespace && svc.name === ex.service.name) return false;
      out.push({
        provider: "kube-vip",
        kind: "service",
        what: `Service ${svc.namespace}/${svc.name}`,
        entry: addr.text,
        ref: { kind: "Service", namespace: svc.namespace, name: svc.name },
      });
      return out.length >= limit;
    });
    return out;
  },

  servesUndeclaredClass(view, policy, cls) {
    const kv = policy.providers["kube-vip"];
    if (!kv) return false;
    // legacy class handling: kube-vip owning class-less Services also serves its default class
    if (kv.loadBalancerClass === null && cls === DEFAULT_CLASS) return true;
    for (const w of view.workloads()) {
      for (const c of w.kubeVip) if (c.services.value && claimsClass(c.claims, cls)) return true;
      for (const c of w.cloudProviders) if (claimsClass(c.claims, cls)) return true;
    }
    return false;
  },

  addressFix(_view, _policy, _place, other) {
    return `request an address outside ${other.spacePhrase}`;
  },

  foreignAnnotationFix(key: string) {
    if (key.endsWith("/loadBalancerIPs")) return `use ${KV.ips} instead`;
    return "remove it (kube-vip does not read it)";
  },

  stopWritingFix(self, cls, user) {
    if (cls === null) {
      // kube-vip-cloud-provider runs as its own identity (kube-vip-cloud-controller).
      if (user.includes("cloud")) return `set KUBEVIP_ENABLE_LOADBALANCERCLASS "true" on kube-vip-cloud-provider`;
      return `set lb_class_only "true" on kube-vip (or svc_enable "false")`;
    }
    return `set kube-vip's lb_class_name to ${self.loadBalancerClass === null ? "its own class" : `"${self.loadBalancerClass}"`}`;
  },
};
