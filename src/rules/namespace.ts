/**
 * Namespaces (SPEC §7.6). Where the policy's `namespaces[]` rules select by
 * label, a namespace's labels decide its provider and allowedProviders, so
 * whoever may label a namespace could hand its Services to another provider.
 * A label change that changes the decision is for `spec.namespaceAdmins`
 * only; a change of labels no deciding selector reads passes, and a policy
 * whose rules match by name only never refuses anything here.
 */
import type { KubeObject } from "../k8s/object.js";
import { LabelSelector, Labels, NAMESPACE_NAME_LABEL } from "../k8s/selector.js";
import type { NamespaceDecision, Policy } from "../policy/policy.js";
import type { KindModule } from "./kind.js";
import { listSome } from "./messages.js";
import { Finding, RuleContext, finding, objectName } from "./types.js";

/**
 * The labels the namespace ends up with: the object's string labels, and
 * `kubernetes.io/metadata.name` set to the name whatever the request says (the
 * API server sets it on every namespace, so a bare namespace has it alone).
 */
function labelsOf(o: KubeObject | null | undefined, name: string): Labels {
  const raw = o?.metadata?.labels;
  const out: Labels = {};
  if (raw && typeof raw === "object" && !Array.isArray(raw))
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (typeof v === "string") out[k] = v;
  out[NAMESPACE_NAME_LABEL] = name;
  return out;
}

function sameDecision(a: NamespaceDecision, b: NamespaceDecision): boolean {
  return (
    a.provider === b.provider && a.allowed.length === b.allowed.length && a.allowed.every((p) => b.allowed.includes(p))
  );
}

function selectorKeys(sel: LabelSelector | undefined): string[] {
  if (!sel) return [];
  return [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((r) => r.key)];
}

/**
 * The label keys to name in the fix: those of the selectors of the rule that
 * decided before and the rule that decides now which the request changes (one
 * of the two rules changed its match, so one of its keys changed).
 */
function decidingKeys(policy: Policy, from: NamespaceDecision, to: NamespaceDecision, a: Labels, b: Labels): string[] {
  const keys = [
    ...new Set([from.rule, to.rule].filter((i) => i >= 0).flatMap((i) => selectorKeys(policy.namespaceSelector(i)))),
  ].filter((k) => k !== NAMESPACE_NAME_LABEL);
  const changed = keys.filter((k) => Object.hasOwn(a, k) !== Object.hasOwn(b, k) || a[k] !== b[k]);
  return changed.length ? changed : keys;
}

/** `labels would move it from metallb to kube-vip`, or what changes of allowedProviders. */
function changePhrase(from: NamespaceDecision, to: NamespaceDecision): string {
  if (from.provider !== to.provider) return `labels would move it from ${from.provider} to ${to.provider}`;
  const added = to.allowed.filter((p) => !from.allowed.includes(p));
  const removed = from.allowed.filter((p) => !to.allowed.includes(p));
  const parts: string[] = [];
  if (added.length) parts.push(`allow ${listSome(added)}`);
  if (removed.length) parts.push(`no longer allow ${listSome(removed)}`);
  return `labels would ${parts.join(" and ")} beside ${to.provider}`;
}

export function validateNamespace(ctx: RuleContext): Finding[] {
  const { req, policy } = ctx;
  if (!policy.labelsDecide || !req.object) return [];
  if (req.operation !== "CREATE" && req.operation !== "UPDATE") return [];
  if (policy.isNamespaceAdmin(req.userInfo)) return [];
  const name = objectName(req, req.object);
  // on CREATE the namespace would otherwise be a bare one: only the name label
  const before = labelsOf(req.operation === "UPDATE" ? req.oldObject : undefined, name);
  const after = labelsOf(req.object, name);
  const from = policy.resolveNamespace(name, before);
  const to = policy.resolveNamespace(name, after);
  if (!from || !to || sameDecision(from, to)) return [];
  const where =
    to.rule >= 0 ? `rule ${to.rule + 1} of the policy` : `rule ${from.rule + 1} of the policy would no longer match`;
  const keys = decidingKeys(policy, from, to, before, after);
  return [
    finding(
      "namespace.relabel",
      { kind: "Namespace", name },
      `${changePhrase(from, to)} (${where})`,
      `only namespaceAdmins may change ${listSome(keys)}`,
      { field: "metadata.labels" },
    ),
  ];
}

export const namespaceKind: KindModule = {
  group: "",
  kinds: ["Namespace"],
  checks: [
    {
      family: "namespaces",
      operations: ["CREATE", "UPDATE"],
      fields: [{ path: ["metadata", "labels"] }],
      rules: ["namespace.relabel"],
      validate: validateNamespace,
    },
  ],
};
