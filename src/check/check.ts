/**
 * `lbguard check`: manifests evaluated offline by the same engine the server
 * runs. Each object is a CREATE, in order, against the state plus the earlier
 * manifests that were admitted: mutate, apply the patch, validate, as the API
 * server would.
 */
import { admit } from "../admission/handler.js";
import { validatingWebhookFor, WEBHOOKS } from "../admission/webhooks.js";
import type { MemoryView } from "../cluster/view.js";
import type { Finding } from "../findings/finding.js";
import { denialMessage, message } from "../findings/format.js";
import type { ManifestObject } from "../k8s/manifests.js";
import { apiGroup, type KubeObject } from "../k8s/object.js";
import type { AdmissionInput } from "../k8s/review.js";
import { textOf } from "../k8s/text.js";
import type { Policy } from "../policy/policy.js";

export interface CheckFinding {
  file: string;
  index: number;
  kind: string;
  namespace?: string;
  name: string;
  decision: "deny" | "warn" | "mutate";
  rule: string;
  /** `deny` or `warn` as the rule reports it (a deny-severity finding under `warn` enforcement is decision `warn`) */
  severity: "deny" | "warn";
  message: string;
  fix: string;
  field?: string;
}

export interface ObjectReport {
  file: string;
  index: number;
  kind: string;
  namespace?: string;
  name: string;
  /** kubectl's resource/name, e.g. `ipaddresspool.metallb.io/new` */
  resource: string;
  denied: boolean;
  /** the composed denial as the API server would return it */
  denial?: string;
  webhook?: string;
  warnings: string[];
  mutations: string[];
}

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "IngressClass",
  "APIService",
]);

function version(apiVersion: unknown): string {
  const a = typeof apiVersion === "string" ? apiVersion : "";
  return a.slice(a.indexOf("/") + 1);
}

export function resourceName(o: KubeObject): string {
  const g = apiGroup(o.apiVersion);
  const kind = textOf(o.kind ?? "object").toLowerCase();
  return `${kind}${g ? `.${g}` : ""}/${textOf(o.metadata?.name ?? o.metadata?.generateName ?? "")}`;
}

export function isKubeObject(o: KubeObject): boolean {
  return (
    typeof o.apiVersion === "string" && typeof o.kind === "string" && !!o.metadata && typeof o.metadata === "object"
  );
}

export interface CheckRun {
  reports: ObjectReport[];
  findings: CheckFinding[];
  skipped: number;
}

export function checkObjects(
  objects: ManifestObject[],
  policy: Policy,
  view: MemoryView,
  defaultNamespace = "default",
): CheckRun {
  const reports: ObjectReport[] = [];
  const findings: CheckFinding[] = [];
  let skipped = 0;
  for (const m of objects) {
    if (!isKubeObject(m.object)) {
      skipped++;
      continue;
    }
    let object: KubeObject = m.object;
    const kind = textOf(object.kind);
    const namespaced = !CLUSTER_SCOPED.has(kind);
    if (namespaced && !object.metadata?.namespace)
      object = { ...object, metadata: { ...object.metadata, namespace: defaultNamespace } };
    const namespace = namespaced ? (object.metadata!.namespace as string) : undefined;
    const name = textOf(object.metadata?.name ?? object.metadata?.generateName ?? "");
    const req: AdmissionInput = {
      uid: `check-${reports.length}`,
      kind: { group: apiGroup(object.apiVersion), version: version(object.apiVersion), kind },
      name,
      namespace,
      operation: "CREATE",
      userInfo: { username: "lbguard-check" },
      object,
      oldObject: null,
    };
    const report: ObjectReport = {
      file: m.file,
      index: m.index,
      kind,
      namespace,
      name,
      resource: resourceName(object),
      denied: false,
      warnings: [],
      mutations: [],
    };
    const at = { file: m.file, index: m.index, kind, namespace, name };
    const add = (decision: "deny" | "warn", f: Finding) =>
      findings.push({
        ...at,
        decision,
        rule: f.rule,
        severity: f.severity,
        message: message(f),
        fix: f.fix,
        ...(f.field ? { field: f.field } : {}),
      });

    const a = admit(req, view, policy);
    const verdicts = [a.mutated, a.validated].map((d) => d?.verdict);
    for (const v of verdicts) for (const w of v?.warnings ?? []) add("warn", w);
    report.warnings = verdicts.flatMap((v) => v?.warnings ?? []).map(message);
    if (a.mutation) {
      report.mutations.push(a.mutation);
      findings.push({
        ...at,
        decision: "mutate",
        rule: "service.default-class",
        severity: "warn",
        message: `would ${a.mutation}`,
        fix: "",
      });
    }
    const denying = !a.mutated.response.allowed
      ? a.mutated
      : a.validated?.response.allowed === false
        ? a.validated
        : undefined;
    if (denying) {
      report.denied = true;
      report.webhook = denying === a.mutated ? WEBHOOKS.defaultClass : validatingWebhookFor(kind, namespace);
      const denials = denying.verdict?.denials ?? [];
      report.denial = denials.length ? denialMessage(denials) : (denying.response.status?.message ?? "denied");
      for (const f of denials) add("deny", f);
    } else {
      // admitted: later manifests see it (a denied one is not added)
      view.apply(a.object ?? object, defaultNamespace);
    }
    reports.push(report);
  }
  return { reports, findings, skipped };
}

/** kubectl's words for one object. */
export function kubectlLines(r: ObjectReport): string[] {
  const lines = r.warnings.map((w) => `Warning: ${w}`);
  if (r.denied)
    lines.push(
      `Error from server (Forbidden): error when creating "${r.file}": admission webhook "${r.webhook}" denied the request: ${r.denial}`,
    );
  else
    lines.push(
      `${r.resource} created (dry run)${r.mutations.length ? `: lbguard ${r.mutations.map((x) => `would ${x}`).join(", ")}` : ""}`,
    );
  return lines;
}
