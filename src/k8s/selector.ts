/** Kubernetes LabelSelector semantics (metav1.LabelSelectorAsSelector). */

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Record<string, string>;

/** An empty selector matches everything, as in Kubernetes. */
export function selectorMatches(sel: LabelSelector | null | undefined, labels: Labels | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  if (sel.matchLabels) {
    for (const k of Object.keys(sel.matchLabels)) {
      if (!Object.prototype.hasOwnProperty.call(l, k) || l[k] !== sel.matchLabels[k]) return false;
    }
  }
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case "In":
        if (!has || !(r.values ?? []).includes(l[r.key])) return false;
        break;
      case "NotIn":
        if (has && (r.values ?? []).includes(l[r.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false; // an operator Kubernetes would reject never matches
    }
  }
  return true;
}

/** Validation error text for a selector, or null; `at` is the field path. */
export function selectorError(sel: LabelSelector, at: string): string | null {
  for (const [i, r] of (sel.matchExpressions ?? []).entries()) {
    const p = `${at}.matchExpressions[${i}]`;
    if (!["In", "NotIn", "Exists", "DoesNotExist"].includes(r.operator))
      return `${p}.operator: must be In, NotIn, Exists or DoesNotExist, not "${r.operator}"`;
    if ((r.operator === "In" || r.operator === "NotIn") && !(r.values && r.values.length))
      return `${p}.values: must be non-empty for ${r.operator}`;
    if ((r.operator === "Exists" || r.operator === "DoesNotExist") && r.values && r.values.length)
      return `${p}.values: must be empty for ${r.operator}`;
  }
  return null;
}

/** The label Kubernetes sets on every namespace (tenants cannot change it). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes' IsQualifiedName, which spec.loadBalancerClass must satisfy. */
export function isQualifiedName(s: string): boolean {
  const parts = s.split("/");
  if (parts.length === 1) return QUALIFIED_NAME.test(s);
  if (parts.length !== 2) return false;
  const [prefix, name] = parts;
  return prefix.length > 0 && prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && QUALIFIED_NAME.test(name);
}
