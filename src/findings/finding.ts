/**
 * Findings are data: what a rule found, about which object, involving which
 * others, and how to fix it. Rules produce them; one formatter
 * (`format.ts`) turns them into the kubectl line, warnings, `check -o json`
 * entries and audit reports.
 */
import type { RuleFamily } from "../policy/schema.js";

/** An object a finding is about or points at. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  /**
   * How messages name it when `Kind namespace/name` is not what users know it
   * as (`static pod kube-system/kube-vip`, `control-plane VIP`, a container).
   */
  title?: string;
}

export type Severity = "deny" | "warn";

export interface Finding {
  /** catalogue id, e.g. `service.foreign-address` */
  rule: string;
  /** the enforcement family that decides deny | warn | audit | off */
  family: RuleFamily;
  /** `deny` follows the family's enforcement; `warn` is advice and never denies */
  severity: Severity;
  subject: ObjectRef;
  related: ObjectRef[];
  /** what is wrong, in the user's notation, without the subject */
  problem: string;
  /** what to change; empty when there is nothing to change */
  fix: string;
  /** the field of the subject the problem is in (`spec.loadBalancerIP`, `env svc_enable`) */
  field?: string;
  /** order inside one request: lower is reported first (from the catalogue) */
  rank: number;
  /**
   * How the problem joins the subject's name: `": "` (default) or `" "` for
   * sentences whose verb follows the subject (`Service a/b is owned by …`).
   */
  join?: ": " | " ";
}

/** `Service shop/web`, `IPAddressPool metallb-system/gold`, or the ref's own title. */
export function refTitle(r: ObjectRef): string {
  if (r.title) return r.title;
  return r.namespace ? `${r.kind} ${r.namespace}/${r.name}` : `${r.kind} ${r.name}`;
}
