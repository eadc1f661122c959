/**
 * The admission request as lbguard reads it (admission.k8s.io/v1
 * AdmissionRequest, the fields the rules use), and the two webhook paths.
 * A leaf module: the codec decodes into it, rules read it, the CLI builds it.
 */
import type { KubeObject } from "./object.js";

/** The two admission endpoints: /mutate and /validate. */
export type Webhook = "mutate" | "validate";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** The fields of an admission.k8s.io/v1 AdmissionRequest that rules read. */
export interface AdmissionInput {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string; groups?: string[] };
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  dryRun?: boolean;
}
