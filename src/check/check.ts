/**
 * `lbguard check`: manifests evaluated offline by the same engine the server
 * runs. Each object is a CREATE, in order, against the state plus the earlier
 * manifests that were admitted: mutate, apply the patch, validate, as the API
 * server would.
 */
import { textOf } from "../addr/quote.js";
import { buildPatch, composeMessage } from "../admission/codec.js";
import { validatingWebhookFor, WEBHOOKS } from "../admission/webhooks.js";
import type { KubeObject } from "../cluster/records.js";
import type { MemoryView } from "../cluster/view.js";
import type { ManifestObject } from "../k8s/manifests.js";
import type { Policy } from "../policy/policy.js";
import { mutate, validate } from "../rules/engine.js";
import { applyMutation, AdmissionInput } from "../rules/types.js";

export interface CheckFinding {
  file: string;
  index: number;
  kind: string;
  namespace?: string;
  name: string;
  decision: "deny" | "warn" | "mutate";
  rule: string;
  message: string;
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

function group(apiVersion: unknown): string {
  const a = typeof apiVersion === "string" ? apiVersion : "";
  const i = a.indexOf("/");
  return i < 0 ? "" : a.slice(0, i);
}

function version(apiVersion: unknown): string {
  const a = typeof apiVersion === "string" ? apiVersion : "";
  return a.slice(a.indexOf("/") + 1);
}

export function resourceName(o: KubeObject): string {
  const g = group(o.apiVersion);
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
      kind: { group: group(object.apiVersion), version: version(object.apiVersion), kind },
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

    const mv = mutate(req, view, policy);
    for (const w of mv.warnings)
      (report.warnings.push(w.message), findings.push({ ...at, decision: "warn", rule: w.rule, message: w.message }));
    if (mv.denials.length) {
      report.denied = true;
      report.webhook = WEBHOOKS.defaultClass;
      report.denial = composeMessage(mv.denials.map((f) => f.message));
      for (const f of mv.denials) findings.push({ ...at, decision: "deny", rule: f.rule, message: f.message });
      reports.push(report);
      continue;
    }
    if (mv.mutation && buildPatch(object, mv.mutation.changes).length) {
      object = applyMutation(object, mv.mutation);
      report.mutations.push(mv.mutation.description);
      findings.push({
        ...at,
        decision: "mutate",
        rule: "service.default-class",
        message: `would ${mv.mutation.description}`,
      });
    }
    const vv = validate({ ...req, object }, view, policy);
    for (const w of vv.warnings)
      (report.warnings.push(w.message), findings.push({ ...at, decision: "warn", rule: w.rule, message: w.message }));
    for (const f of vv.denials) findings.push({ ...at, decision: "deny", rule: f.rule, message: f.message });
    if (vv.denials.length) {
      report.denied = true;
      report.webhook = validatingWebhookFor(kind);
      report.denial = composeMessage(vv.denials.map((f) => f.message));
    } else {
      // admitted: later manifests see it (a denied one is not added)
      view.apply(object, defaultNamespace);
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
