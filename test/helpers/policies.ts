/** Policies for tests: the two ways to hand out class-less Services, and edits of them. */
import YAML from "yaml";
import { parsePolicy } from "../../src/policy/load.js";
import type { Policy } from "../../src/policy/policy.js";

/** Harvester layout: kube-vip owns class-less Services, MetalLB runs with --lb-class=metallb. */
export const KUBEVIP_NULL = `
apiVersion: lbguard.dev/v1alpha1
kind: OwnershipPolicy
metadata: {name: kubevip-null}
spec:
  providers:
    metallb:
      loadBalancerClass: metallb
      namespace: metallb-system
      identities: [system:serviceaccount:metallb-system:controller]
    kube-vip:
      loadBalancerClass: null
      namespace: kube-system
      configMap: kube-system/kubevip
      identities:
        - system:serviceaccount:kube-system:kube-vip
        - system:serviceaccount:kube-system:kube-vip-cloud-controller
        - kubernetes-admin
      controlPlaneVIPs: [10.0.4.247]
  defaultProvider: metallb
  namespaces:
    - names: [kube-system, harvester-system]
      provider: kube-vip
    - selector: {matchLabels: {lbguard.dev/provider: kube-vip}}
      provider: kube-vip
      allowedProviders: [kube-vip, metallb]
  reservedAddresses: [10.0.4.1/32, "fd00:10::1"]
  exemptions:
    - {namespace: harvester-system, name: kube-vip}
`;

/** MetalLB without --lb-class owns class-less Services; kube-vip must use its class. */
export const METALLB_NULL = `
apiVersion: lbguard.dev/v1alpha1
kind: OwnershipPolicy
metadata: {name: metallb-null}
spec:
  providers:
    metallb:
      loadBalancerClass: null
      namespace: metallb-system
      identities: [system:serviceaccount:metallb-system:controller]
    kube-vip:
      loadBalancerClass: kube-vip.io/kube-vip-class
      namespace: kube-system
      identities:
        - system:serviceaccount:kube-system:kube-vip
        - system:serviceaccount:kube-system:kube-vip-cloud-controller
        - kubernetes-admin
      controlPlaneVIPs: [10.0.4.247]
  defaultProvider: metallb
  namespaces:
    - names: [kube-system]
      provider: kube-vip
      allowedProviders: [kube-vip, metallb]
  reservedAddresses: [10.0.4.1/32]
`;

/** Parse a policy text, applying `edit` to the parsed document first. */
export function policy(text = KUBEVIP_NULL, edit?: (doc: any) => void): Policy {
  if (!edit) return parsePolicy(text, "test-policy");
  const doc = YAML.parse(text);
  edit(doc);
  return parsePolicy(YAML.stringify(doc), "test-policy");
}
