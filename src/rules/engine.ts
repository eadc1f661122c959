/**
 * The decision engine: finds the kind module of a request, runs the checks
 * that apply (operation, subresource, relevant fields on UPDATE, enforcement
 * not `off`), and sorts findings by enforcement (deny | warn | off) and rank;
 * findings that need state the view has not synced follow failureMode. The
 * admission handler, `lbguard check` and the tests all call this.
 */
import type { ClusterView } from "../cluster/view.js";
import type { AdmissionInput } from "../k8s/review.js";
import type { Policy, RuleFamily } from "../policy/policy.js";
import { fieldsChanged } from "./fields.js";
import type { Check, KindModule } from "./kind.js";
import { configMapKind } from "./kubevip-configmap.js";
import { namespaceKind } from "./namespace.js";
import { poolKind } from "./pool.js";
import { serviceKind } from "./service.js";
import { Finding, Mutation, RuleContext, Verdict, finding } from "./types.js";
import { appsKind, podKind } from "./workload.js";

/** The table of admitted kinds. */
export const KIND_MODULES: readonly KindModule[] = [
  serviceKind,
  poolKind,
  configMapKind,
  podKind,
  appsKind,
  namespaceKind,
];

const byKind = new Map<string, KindModule>();
for (const m of KIND_MODULES) for (const k of m.kinds) byKind.set(`${m.group}/${k}`, m);

export function moduleFor(req: AdmissionInput): KindModule | undefined {
  return byKind.get(`${req.kind?.group ?? ""}/${req.kind?.kind ?? ""}`);
}

/** The checks of a module that apply to this request. */
function applicable(m: KindModule, req: AdmissionInput, policy: Policy, want: "mutate" | "validate"): Check[] {
  const sub = req.subResource ?? "";
  const out: Check[] = [];
  for (const c of m.checks) {
    if (!c[want]) continue;
    if (!c.operations.includes(req.operation)) continue;
    if (!(c.subResources ?? MAIN).includes(sub)) continue;
    if (policy.enforcementOf(c.familyOf?.(req) ?? c.family) === "off") continue;
    if (req.operation === "UPDATE" && c.fields && !fieldsChanged(req.oldObject, req.object, c.fields)) continue;
    out.push(c);
  }
  return out;
}

const MAIN = [""] as const;

class Context implements RuleContext {
  readonly stateReady: boolean;
  constructor(
    readonly req: AdmissionInput,
    readonly view: ClusterView,
    readonly policy: Policy,
    private readonly needs: string[],
  ) {
    this.stateReady = view.synced;
  }
  needState(what: string): void {
    if (!this.needs.includes(what)) this.needs.push(what);
  }
}

function stateFinding(
  req: AdmissionInput,
  view: ClusterView,
  policy: Policy,
  needs: string[],
  family: RuleFamily,
): Finding {
  const pending = view.pending();
  const detail = pending.length ? ` (waiting for ${pending.slice(0, 3).join(", ")})` : "";
  const subject = {
    kind: req.kind?.kind || "object",
    namespace: req.namespace,
    name: req.name ?? "",
    title: "lbguard",
  };
  return policy.failureMode === "closed"
    ? finding(
        "cluster-state",
        subject,
        `is starting and has not synced cluster state yet${detail}`,
        "retry in a few seconds",
        { family, join: " " },
      )
    : finding(
        "cluster-state",
        subject,
        `has not synced cluster state yet${detail}: ${needs.slice(0, 2).join(", ")} not verified`,
        "",
        { family, join: " ", severity: "warn" },
      );
}

const NOTHING: Verdict = Object.freeze({
  denials: Object.freeze([]) as unknown as Finding[],
  warnings: Object.freeze([]) as unknown as Finding[],
});

const byRank = (a: Finding, b: Finding) => a.rank - b.rank;

/** Split findings by enforcement into denials and warnings. */
function sort(findings: Finding[], policy: Policy): Verdict {
  if (findings.length === 0) return NOTHING;
  const denials: Finding[] = [];
  const warnings: Finding[] = [];
  for (const f of findings) {
    const e = policy.enforcementOf(f.family);
    if (e === "off") continue;
    if (f.severity === "deny" && e === "deny") denials.push(f);
    else warnings.push(f);
  }
  denials.sort(byRank);
  warnings.sort(byRank);
  return { denials, warnings };
}

/** The mutating webhook's decision: defaulting only, never a denial of its own beyond failureMode. */
export function mutate(req: AdmissionInput, view: ClusterView, policy: Policy): Verdict {
  const m = moduleFor(req);
  if (!m) return NOTHING;
  const checks = applicable(m, req, policy, "mutate");
  if (!checks.length) return NOTHING;
  const needs: string[] = [];
  const ctx = new Context(req, view, policy, needs);
  let mutation: Mutation | undefined;
  let family: RuleFamily | undefined;
  for (const c of checks) {
    const before = needs.length;
    mutation = c.mutate!(ctx) ?? mutation;
    if (needs.length > before) family ??= c.familyOf?.(req) ?? c.family;
  }
  if (!mutation && !needs.length) return NOTHING;
  const v: Verdict = { denials: [], warnings: [], mutation };
  if (needs.length) {
    const f = stateFinding(req, view, policy, needs, family!);
    (f.severity === "deny" ? v.denials : v.warnings).push(f);
  }
  return v;
}

/** The validating webhook's decision. */
export function validate(req: AdmissionInput, view: ClusterView, policy: Policy): Verdict {
  const m = moduleFor(req);
  if (!m) return NOTHING;
  const checks = applicable(m, req, policy, "validate");
  if (!checks.length) return NOTHING;
  const needs: string[] = [];
  const ctx = new Context(req, view, policy, needs);
  let findings: Finding[] = [];
  let family: RuleFamily | undefined;
  for (const c of checks) {
    const before = needs.length;
    const fs = c.validate!(ctx);
    findings = findings.length ? findings.concat(fs) : fs;
    if (needs.length > before) family ??= c.familyOf?.(req) ?? c.family;
  }
  if (needs.length) findings = [...findings, stateFinding(req, view, policy, needs, family!)];
  return sort(findings, policy);
}

/** Whether deciding this request wants a fresh read of some cluster state first (the pool re-list). */
export function freshNeeded(req: AdmissionInput, policy: Policy): "pools" | undefined {
  const m = moduleFor(req);
  if (!m?.fresh || !m.fresh.operations.includes(req.operation)) return undefined;
  return applicable(m, req, policy, "validate").length ? m.fresh.what : undefined;
}
