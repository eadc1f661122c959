/**
 * The background audit's facts, derived from what the live source's
 * informers already receive (no list of its own: SEMANTICS §6): the live
 * source hands every object to this observer whole, before slimming, and
 * every deletion. What the informers do not watch, the background audit does
 * not know (docs/architecture.md "The background audit"): Nodes (so no
 * `audit.vip-on-control-plane`), Leases (no Lease evidence, no stale
 * per-Service Lease), pools outside MetalLB's namespace, and kube-vip
 * cloud-provider ConfigMaps other than the policy's. `lbguard audit` lists
 * those.
 */
import type { ObjectObserver } from "../cluster/sources/live.js";
import type { KubeObject } from "../k8s/object.js";
import { FactsStore, type AuditFacts } from "./facts.js";

type Obj = Record<string, any>;

export class LiveFacts implements ObjectObserver {
  private readonly store = new FactsStore({ otherServices: false });
  readonly facts: AuditFacts = this.store.facts;

  add(raw: KubeObject, slim: KubeObject, kept: boolean): void {
    // built-in list items carry no kind/apiVersion; the slim form does
    if (raw.kind === undefined) (raw as Obj).kind = slim.kind;
    if (raw.apiVersion === undefined) (raw as Obj).apiVersion = slim.apiVersion;
    this.store.observe(raw, "", kept);
  }

  remove(o: KubeObject): void {
    const m = (o.metadata ?? {}) as Obj;
    this.store.forget(String(o.kind ?? ""), typeof m.namespace === "string" ? m.namespace : "", String(m.name ?? ""));
  }
}
