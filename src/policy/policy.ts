/**
 * A validated OwnershipPolicy compiled into the lookups the rules use. The
 * compiled object is immutable; a reload builds a new one.
 */
import { Interval, parseAddressSpec } from "../addr/interval.js";
import { IntervalIndex } from "../addr/index.js";
import { parseIP } from "../addr/ip.js";
import { LabelSelector, Labels, isQualifiedName, selectorError, selectorMatches } from "../k8s/selector.js";
import { Enforcement, PROVIDERS, PolicyDocument, ProviderName, RuleFamily } from "./schema.js";

export type { ProviderName, RuleFamily, Enforcement } from "./schema.js";

export interface AddressEntry {
  text: string;
  iv: Interval;
}

export interface Provider {
  name: ProviderName;
  /** human name in messages */
  title: string;
  loadBalancerClass: string | null;
  namespace: string;
  identities: string[];
  /** kube-vip only */
  configMap?: { namespace: string; name: string };
  controlPlaneVIPs: AddressEntry[];
}

export interface NamespaceDecision {
  provider: ProviderName;
  allowed: ProviderName[];
  /** which policy entry decided: an index into spec.namespaces, or -1 for defaultProvider */
  rule: number;
}

interface NamespaceRule {
  names?: Set<string>;
  selector?: LabelSelector;
  provider: ProviderName;
  allowed: ProviderName[];
}

/** How spec.namespaceAdmins names a group rather than a user. */
const GROUP_PREFIX = "group:";

export class PolicyError extends Error {
  constructor(public readonly problems: string[]) {
    super(problems.join("; "));
  }
}

/** The requester as the API server names it (AdmissionRequest.userInfo). */
export interface Requester {
  username?: string;
  groups?: string[];
}

export const PROVIDER_TITLE: Record<ProviderName, string> = { metallb: "MetalLB", "kube-vip": "kube-vip" };

export class Policy {
  readonly providers: Partial<Record<ProviderName, Provider>> = {};
  readonly reserved: AddressEntry[] = [];
  readonly reservedIndex = new IntervalIndex<AddressEntry>();
  readonly enforcement: Record<RuleFamily, Enforcement>;
  readonly failureMode: "closed" | "open";
  readonly exemptions: { namespace: string; name: string; kind?: string }[];
  readonly defaultProvider: ProviderName;
  /** spec.namespaceAdmins split into usernames and the NAMEs of `group:NAME` entries */
  readonly namespaceAdmins: { users: ReadonlySet<string>; groups: ReadonlySet<string> };
  /** whether some spec.namespaces rule has a selector, i.e. labels can decide a namespace's provider */
  readonly labelsDecide: boolean;
  private readonly rules: NamespaceRule[] = [];
  private readonly classOwner = new Map<string | null, ProviderName>();
  private readonly identityOwner = new Map<string, ProviderName>();

  constructor(readonly doc: PolicyDocument) {
    const s = doc.spec;
    const problems: string[] = [];
    for (const name of PROVIDERS) {
      const p = s.providers[name];
      if (!p) continue;
      const at = `spec.providers.${name}`;
      const cls = p.loadBalancerClass;
      if (cls !== null && !isQualifiedName(cls))
        problems.push(
          `${at}.loadBalancerClass: "${cls}" is not a valid class (a qualified name such as "example.com/lb" or "metallb")`,
        );
      const other = this.classOwner.get(cls);
      if (other !== undefined) {
        problems.push(
          cls === null
            ? `${at}.loadBalancerClass: null is already owned by ${other}; at most one provider may own class-less Services`
            : `${at}.loadBalancerClass: "${cls}" is already the class of ${other}; providers may not share a class`,
        );
      } else {
        this.classOwner.set(cls, name);
      }
      for (const [i, id] of p.identities.entries()) {
        const o = this.identityOwner.get(id);
        if (o !== undefined && o !== name)
          problems.push(
            `${at}.identities[${i}]: "${id}" already belongs to ${o}; an identity may belong to one provider only`,
          );
        else this.identityOwner.set(id, name);
      }
      const vips: AddressEntry[] = [];
      let configMap: Provider["configMap"];
      if (name === "kube-vip") {
        const kv = s.providers["kube-vip"]!;
        const parts = kv.configMap.split("/");
        if (parts.length !== 2 || !parts[0] || !parts[1])
          problems.push(`${at}.configMap: "${kv.configMap}" must be namespace/name`);
        else configMap = { namespace: parts[0], name: parts[1] };
        for (const [i, v] of kv.controlPlaneVIPs.entries()) {
          const ip = parseIP(v.trim());
          if (!ip) problems.push(`${at}.controlPlaneVIPs[${i}]: "${v}" is not an IP address`);
          else vips.push({ text: v.trim(), iv: { fam: ip.fam, lo: ip.v, hi: ip.v } });
        }
      }
      this.providers[name] = {
        name,
        title: PROVIDER_TITLE[name],
        loadBalancerClass: cls,
        namespace: p.namespace,
        identities: p.identities,
        configMap,
        controlPlaneVIPs: vips,
      };
    }
    if (!Object.keys(this.providers).length) problems.push("spec.providers: declare at least one of metallb, kube-vip");
    const declared = (n: ProviderName, at: string) => {
      if (!this.providers[n]) problems.push(`${at}: provider "${n}" is not declared under spec.providers`);
    };
    declared(s.defaultProvider, "spec.defaultProvider");
    this.defaultProvider = s.defaultProvider;
    for (const [i, r] of s.namespaces.entries()) {
      const at = `spec.namespaces[${i}]`;
      if (!r.names && !r.selector) problems.push(`${at}: give names, selector or both`);
      if (r.names && !r.names.length) problems.push(`${at}.names: must not be empty`);
      declared(r.provider, `${at}.provider`);
      const allowed = r.allowedProviders ?? [r.provider];
      for (const [j, a] of allowed.entries()) declared(a, `${at}.allowedProviders[${j}]`);
      if (!allowed.includes(r.provider))
        problems.push(`${at}.allowedProviders: must include the provider "${r.provider}"`);
      if (r.selector) {
        const e = selectorError(r.selector as LabelSelector, `${at}.selector`);
        if (e) problems.push(e);
      }
      this.rules.push({
        names: r.names ? new Set(r.names) : undefined,
        selector: r.selector as LabelSelector | undefined,
        provider: r.provider,
        allowed: [...new Set(allowed)],
      });
    }
    this.labelsDecide = this.rules.some((r) => r.selector !== undefined);
    const users = new Set<string>();
    const groups = new Set<string>();
    for (const [i, a] of s.namespaceAdmins.entries()) {
      if (a.startsWith(GROUP_PREFIX)) {
        const g = a.slice(GROUP_PREFIX.length);
        if (!g) problems.push(`spec.namespaceAdmins[${i}]: "${a}" names no group; write group:NAME`);
        else groups.add(g);
      } else users.add(a);
    }
    this.namespaceAdmins = { users, groups };
    for (const [i, text] of s.reservedAddresses.entries()) {
      const iv = parseAddressSpec(text);
      if (typeof iv === "string") problems.push(`spec.reservedAddresses[${i}]: ${iv}`);
      else {
        const e = { text, iv };
        this.reserved.push(e);
        this.reservedIndex.insert(iv, e);
      }
    }
    this.exemptions = s.exemptions;
    this.enforcement = s.enforcement;
    this.failureMode = s.failureMode;
    if (problems.length) throw new PolicyError(problems);
  }

  get metallb(): Provider | undefined {
    return this.providers.metallb;
  }

  get kubeVip(): Provider | undefined {
    return this.providers["kube-vip"];
  }

  /** The provider that owns a loadBalancerClass (null = class-less), if any. */
  ownerOfClass(cls: string | null | undefined): Provider | undefined {
    const n = this.classOwner.get(cls ?? null);
    return n ? this.providers[n] : undefined;
  }

  providerOfIdentity(username: string | undefined): Provider | undefined {
    if (!username) return undefined;
    const n = this.identityOwner.get(username);
    return n ? this.providers[n] : undefined;
  }

  /**
   * Which provider serves a namespace, and which ones a Service there may use.
   * `labels` undefined means "not known yet" (cluster state not synced): a
   * rule that needs them yields undefined.
   */
  resolveNamespace(name: string, labels: Labels | undefined): NamespaceDecision | undefined {
    // the view hands out the same labels object until the namespace changes: remember the answer
    if (labels) {
      const hit = this.nsCache.get(name);
      if (hit && hit.labels === labels) return hit.decision;
    }
    const d = this.decideNamespace(name, labels);
    if (labels && d) {
      if (this.nsCache.size > 50_000) this.nsCache.clear();
      this.nsCache.set(name, { labels, decision: d });
    }
    return d;
  }

  private readonly nsCache = new Map<string, { labels: Labels; decision: NamespaceDecision }>();

  private decideNamespace(name: string, labels: Labels | undefined): NamespaceDecision | undefined {
    for (let i = 0; i < this.rules.length; i++) {
      const r = this.rules[i];
      if (r.names && !r.names.has(name)) continue;
      if (r.selector) {
        if (!labels) return undefined;
        if (!selectorMatches(r.selector, labels)) continue;
      }
      return { provider: r.provider, allowed: r.allowed, rule: i };
    }
    return { provider: this.defaultProvider, allowed: [this.defaultProvider], rule: -1 };
  }

  /** The selector of spec.namespaces[i], if that rule has one. */
  namespaceSelector(i: number): LabelSelector | undefined {
    return this.rules[i]?.selector;
  }

  /** Whether the requester is in spec.namespaceAdmins, by username or by a `group:NAME` entry. */
  isNamespaceAdmin(who: Requester | undefined): boolean {
    if (!who) return false;
    if (who.username !== undefined && this.namespaceAdmins.users.has(who.username)) return true;
    return (who.groups ?? []).some((g) => this.namespaceAdmins.groups.has(g));
  }

  enforcementOf(f: RuleFamily): Enforcement {
    return this.enforcement[f];
  }

  reservedHit(iv: Interval): AddressEntry | undefined {
    return this.reservedIndex.any(iv)?.value;
  }

  summary(): string {
    const ps = Object.values(this.providers)
      .map((p) => `${p!.name}=${p!.loadBalancerClass === null ? "null" : p!.loadBalancerClass}`)
      .join(",");
    return `providers ${ps}; default ${this.defaultProvider}; ${this.rules.length} namespace rules; ${this.reserved.length} reserved`;
  }
}
