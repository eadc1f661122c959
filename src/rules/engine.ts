/**
 * The decision engine: dispatches an admission request to the rule modules
 * of its kind, applies the policy's enforcement (deny | warn | off) per rule
 * family and its failureMode while cluster state is not synced. The HTTPS
 * server and `lbguard check` both call `mutate` and `validate`.
 */
import type { ClusterView } from "../cluster/view.js";
import type { Policy, RuleFamily } from "../policy/policy.js";
import { foreignWrites } from "./foreign-writes.js";
import { validateKubeVipConfigMap } from "./kubevip-configmap.js";
import { validatePool } from "./pool.js";
import { validateWorkload } from "./workload.js";
import { defaultClass, validateService } from "./service.js";
import { AdmissionInput, Finding, Mutation, RuleContext, Verdict } from "./types.js";

export type Webhook = "mutate" | "validate";

/** A rule module for one admitted kind. */
export interface KindRules {
  /** kind as in AdmissionRequest.kind */
  group: string;
  kind: string;
  /** families the module reports under; a family set to `off` is never run */
  families: RuleFamily[];
  mutate?(ctx: RuleContext): Mutation | undefined;
  validate?(ctx: RuleContext): Finding[];
}

const services: KindRules = {
  group: "",
  kind: "Service",
  families: ["services", "foreignWrites"],
  mutate: (ctx) => (ctx.req.subResource ? undefined : defaultClass(ctx)),
  validate: (ctx) => {
    const { policy, req } = ctx;
    const out: Finding[] = [];
    if (policy.enforcementOf("foreignWrites") !== "off") out.push(...foreignWrites(ctx));
    if (!req.subResource && policy.enforcementOf("services") !== "off") out.push(...validateService(ctx));
    return out;
  },
};

const registry = new Map<string, Map<string, KindRules>>();

export function registerKind(r: KindRules): void {
  let byKind = registry.get(r.group);
  if (!byKind) registry.set(r.group, (byKind = new Map()));
  byKind.set(r.kind, r);
}

registerKind(services);
registerKind({ group: "metallb.io", kind: "IPAddressPool", families: ["pools"], validate: validatePool });
registerKind({ group: "", kind: "ConfigMap", families: ["pools"], validate: validateKubeVipConfigMap });
registerKind({ group: "", kind: "Pod", families: ["kubeVip", "mirrorPods"], validate: validateWorkload });
for (const kind of ["DaemonSet", "Deployment", "StatefulSet"])
  registerKind({ group: "apps", kind, families: ["kubeVip"], validate: validateWorkload });

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

function context(req: AdmissionInput, view: ClusterView, policy: Policy, needs: string[]): RuleContext {
  return new Context(req, view, policy, needs);
}

function stateFinding(view: ClusterView, policy: Policy, needs: string[], family: RuleFamily): Finding {
  const pending = view.pending();
  const detail = pending.length ? ` (waiting for ${pending.slice(0, 3).join(", ")})` : "";
  return policy.failureMode === "closed"
    ? {
        rule: "cluster-state",
        family,
        severity: "deny",
        rank: 99, // concrete problems found without state come first
        message: `lbguard is starting and has not synced cluster state yet${detail}; retry in a few seconds`,
      }
    : {
        rule: "cluster-state",
        family,
        severity: "warn",
        rank: 99,
        message: `lbguard has not synced cluster state yet${detail}: ${needs.slice(0, 2).join(", ")} not verified`,
      };
}

const NOTHING: Verdict = Object.freeze({
  denials: Object.freeze([]) as unknown as Finding[],
  warnings: Object.freeze([]) as unknown as Finding[],
});

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
  const byRank = (a: Finding, b: Finding) => a.rank - b.rank;
  denials.sort(byRank);
  warnings.sort(byRank);
  return { denials, warnings };
}

function rulesFor(req: AdmissionInput): KindRules | undefined {
  return registry.get(req.kind?.group ?? "")?.get(req.kind?.kind ?? "");
}

/** The mutating webhook's decision: defaulting only, never a denial of its own beyond failureMode. */
export function mutate(req: AdmissionInput, view: ClusterView, policy: Policy): Verdict {
  const r = rulesFor(req);
  if (!r?.mutate || req.operation === "DELETE") return NOTHING;
  if (r.families.every((f) => policy.enforcementOf(f) === "off")) return NOTHING;
  if (r.kind === "Service" && policy.enforcementOf("services") === "off") return NOTHING;
  const needs: string[] = [];
  const mutation = r.mutate(context(req, view, policy, needs));
  if (!mutation && !needs.length) return NOTHING;
  const v: Verdict = { denials: [], warnings: [], mutation };
  if (needs.length) {
    const f = stateFinding(view, policy, needs, r.families[0]);
    (f.severity === "deny" ? v.denials : v.warnings).push(f);
  }
  return v;
}

/** The validating webhook's decision. */
export function validate(req: AdmissionInput, view: ClusterView, policy: Policy): Verdict {
  const r = rulesFor(req);
  if (!r?.validate || req.operation === "DELETE" || req.operation === "CONNECT") return NOTHING;
  if (r.families.every((f) => policy.enforcementOf(f) === "off")) return NOTHING;
  const needs: string[] = [];
  const findings = r.validate(context(req, view, policy, needs));
  if (needs.length) findings.push(stateFinding(view, policy, needs, r.families[0]));
  return sort(findings, policy);
}
