/**
 * The decision engine: finds the kind module of a request, runs the checks
 * that apply (operation, subresource, relevant fields on UPDATE, enforcement
 * not `off`), and sorts findings by enforcement (deny | warn | audit | off)
 * and rank; findings that need state the view has not synced follow
 * failureMode. A family under `audit` never denies, warns or patches: its
 * findings (and the defaulting it would have done) go to `audited`. The
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
import { Finding, Mutation, RuleContext, Verdict, finding, objectName, objectNamespace } from "./types.js";
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

const NONE = Object.freeze([]) as unknown as Finding[];
const NOTHING: Verdict = Object.freeze({ denials: NONE, warnings: NONE, audited: NONE });

const byRank = (a: Finding, b: Finding) => a.rank - b.rank;

/** Split findings by enforcement into denials, warnings and audited findings. */
function sort(findings: Finding[], policy: Policy): Verdict {
  if (findings.length === 0) return NOTHING;
  const denials: Finding[] = [];
  const warnings: Finding[] = [];
  let audited = NONE;
  for (const f of findings) {
    const e = policy.enforcementOf(f.family);
    if (e === "off") continue;
    if (e === "audit") (audited === NONE ? (audited = []) : audited).push(f);
    else if (f.severity === "deny" && e === "deny") denials.push(f);
    else warnings.push(f);
  }
  denials.sort(byRank);
  warnings.sort(byRank);
  if (audited.length > 1) audited.sort(byRank);
  return { denials, warnings, audited };
}

/** The defaulting a family under `audit` would have done, as a finding of its rule. */
function wouldMutate(req: AdmissionInput, family: RuleFamily, rule: string, m: Mutation): Finding {
  const subject = {
    kind: req.kind?.kind || "object",
    namespace: objectNamespace(req, req.object),
    name: objectName(req, req.object),
  };
  return finding(rule, subject, `would ${m.description}`, `not applied: ${family} enforcement is audit`, {
    family,
    severity: "warn",
  });
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
  let audited: Finding[] | undefined;
  for (const c of checks) {
    const before = needs.length;
    const mu = c.mutate!(ctx);
    const fam = c.familyOf?.(req) ?? c.family;
    if (mu && policy.enforcementOf(fam) === "audit") (audited ??= []).push(wouldMutate(req, fam, c.rules[0], mu));
    else mutation = mu ?? mutation;
    if (needs.length > before) family ??= fam;
  }
  if (!mutation && !needs.length && !audited) return NOTHING;
  const v: Verdict = { denials: [], warnings: [], audited: audited ?? NONE, mutation };
  if (needs.length) {
    const f = stateFinding(req, view, policy, needs, family!);
    if (policy.enforcementOf(family!) === "audit") v.audited = [...v.audited, f];
    else (f.severity === "deny" ? v.denials : v.warnings).push(f);
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
