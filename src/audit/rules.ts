/**
 * The audit's own rules (SPEC §11): conflicts only a whole view shows
 * (docs/controllers.md L1), with their default severity. Admission rules keep
 * their catalogue ids (src/rules/catalogue.ts); their audit severity is
 * derived (`admissionSeverity`). To be merged into the catalogue and the
 * README's rule table by whoever owns them.
 */

/** Severities, most urgent first (wgpolicyk8s.io/v1alpha2's enum). */
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type AuditSeverity = (typeof SEVERITIES)[number];

export function severityRank(s: AuditSeverity): number {
  return SEVERITIES.indexOf(s);
}

/** Whether `s` is at or above `level` (critical ≥ high ≥ medium ≥ low ≥ info). */
export function atOrAbove(s: AuditSeverity, level: AuditSeverity): boolean {
  return severityRank(s) <= severityRank(level);
}

export interface AuditRuleInfo {
  id: string;
  severity: AuditSeverity;
  description: string;
}

export const AUDIT_RULES: readonly AuditRuleInfo[] = [
  {
    id: "audit.contested-service",
    severity: "critical",
    description: "a Service two load-balancer controllers (MetalLB and kube-vip) claim now",
  },
  {
    id: "audit.status-bounce",
    severity: "critical",
    description: "a contested Service whose status shows both controllers writing it (the event storm)",
  },
  {
    id: "audit.vip-on-control-plane",
    severity: "critical",
    description: "an address in a MetalLB pool bound by kube-vip on a control-plane node",
  },
  {
    id: "audit.unserved-class",
    severity: "high",
    description: "a LoadBalancer Service of a class no running controller serves, still without an address",
  },
  {
    id: "audit.third-controller",
    severity: "high",
    description: "k3s ServiceLB (svclb-* DaemonSets) taking Services without a class next to MetalLB or kube-vip",
  },
  {
    id: "audit.stale-vip",
    severity: "medium",
    description:
      "kube-vip's vipHost annotation or per-Service Lease left on a Service that is no longer a LoadBalancer",
  },
];

const byId = new Map(AUDIT_RULES.map((r) => [r.id, r]));

export function auditRule(id: string): AuditRuleInfo {
  const r = byId.get(id);
  if (!r) throw new Error(`audit rule ${id} is not in AUDIT_RULES`);
  return r;
}

/** The table as Markdown, in the README's rule-table form (for whoever merges it). */
export function auditRulesMarkdown(): string {
  const rows = AUDIT_RULES.map((r) => `| \`${r.id}\` | \`${r.severity}\` | ${r.description} |`);
  return ["| rule | default severity | what it reports |", "|---|---|---|", ...rows].join("\n");
}
