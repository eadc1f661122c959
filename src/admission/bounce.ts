/**
 * The status-bounce detector (SPEC §12): the webhook remembers, for a
 * bounded number of Services, which providers' identities wrote their
 * status in the last few minutes. Two providers within the window is a
 * status bounce (MetalLB #2177: both controllers keep rewriting
 * status.loadBalancer): an `audit.status-bounce` finding in the background
 * audit and a count in `lbguard_status_bounce_services`.
 *
 * - Every `services/status` UPDATE that reaches /validate counts, admitted or
 *   denied (a refused write is evidence too), when its user is a provider's
 *   identity under the policy.
 * - O(1) per review: one Map lookup, and the Service moved to the back of a
 *   doubly linked recency list; at most `capacity` Services (10,000), the
 *   least recently written (the front) dropped first. (A Map's own order
 *   would not do: deleting from its front leaves holes that every later
 *   look at the front walks over.) An entry is a few strings and numbers:
 *   10,000 of them are about 2 MB.
 * - Reviews of anything else return at the first comparison.
 */
import type { AdmissionInput, Webhook } from "../k8s/review.js";
import type { Policy, ProviderName } from "../policy/policy.js";
import { PROVIDERS } from "../policy/schema.js";

export const BOUNCE_CAPACITY = 10_000;
/** "the last few minutes" */
export const BOUNCE_WINDOW_MS = 5 * 60_000;

interface Write {
  at: number;
  user: string;
  /** denied or admitted: both count */
  n: number;
}

/**
 * The clock of the default detector: Date.now() read once a second by a
 * timer, not on every review (a clock read costs a system call on some VMs,
 * hundreds of nanoseconds: more than the rest of the detector). The window
 * is minutes: a second's resolution is plenty.
 */
let coarse = 0;
let ticking: NodeJS.Timeout | undefined;
function coarseNow(): number {
  if (!ticking) {
    coarse = Date.now();
    ticking = setInterval(() => (coarse = Date.now()), 1000);
    ticking.unref();
  }
  return coarse;
}

const INDEX: Record<string, number> = Object.fromEntries(PROVIDERS.map((p, i) => [p, i]));

/** One Service: the last write of each provider that wrote its status, by PROVIDERS index (one shape for all). */
class Entry {
  cls: string | null = null;
  readonly writes: (Write | undefined)[] = PROVIDERS.map(() => undefined);
  /** the recency list: older, newer */
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  constructor(
    readonly key: string,
    readonly namespace: string,
    readonly name: string,
  ) {}
}

export interface Bounce {
  namespace: string;
  name: string;
  cls: string | null;
  /** the providers' writes within the window, oldest first */
  writers: { provider: ProviderName; user: string; at: number; writes: number }[];
}

function classOf(req: AdmissionInput): string | null {
  const spec = (req.object?.spec ?? req.oldObject?.spec) as { loadBalancerClass?: unknown } | undefined;
  const c = spec?.loadBalancerClass;
  return typeof c === "string" && c ? c : null;
}

export class BounceDetector {
  private readonly entries = new Map<string, Entry>();
  /** least and most recently written */
  private oldest?: Entry;
  private newest?: Entry;

  constructor(
    readonly capacity = BOUNCE_CAPACITY,
    readonly windowMs = BOUNCE_WINDOW_MS,
    private readonly now: () => number = coarseNow,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** One decoded review, before it is decided. */
  observe(webhook: Webhook, req: AdmissionInput, policy: Policy): void {
    if (req.subResource !== "status" || webhook !== "validate" || req.operation !== "UPDATE") return;
    if (req.kind?.kind !== "Service" || req.kind.group !== "") return;
    const p = policy.providerOfIdentity(req.userInfo?.username);
    if (!p) return;
    const namespace = req.namespace ?? "";
    const name = req.name || String(req.object?.metadata?.name ?? "");
    const key = `${namespace}/${name}`;
    let e = this.entries.get(key);
    if (e) {
      if (e !== this.newest) {
        this.unlink(e);
        this.append(e);
      }
    } else {
      if (this.entries.size >= this.capacity && this.oldest) {
        const drop = this.oldest;
        this.unlink(drop);
        this.entries.delete(drop.key);
      }
      e = new Entry(key, namespace, name);
      this.entries.set(key, e);
      this.append(e);
    }
    e.cls = classOf(req);
    const t = this.now();
    const i = INDEX[p.name];
    const w = e.writes[i];
    if (w && t - w.at < this.windowMs) {
      w.at = t;
      w.n++;
      w.user = req.userInfo!.username!;
    } else e.writes[i] = { at: t, user: req.userInfo!.username!, n: 1 };
  }

  private unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.oldest = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.newest = e.prev;
    e.prev = e.next = undefined;
  }

  private append(e: Entry): void {
    e.prev = this.newest;
    if (this.newest) this.newest.next = e;
    else this.oldest = e;
    this.newest = e;
  }

  /** The providers that wrote an entry's status within the window, oldest write first. */
  private writersOf(e: Entry, since: number): Bounce["writers"] {
    const out: Bounce["writers"] = [];
    PROVIDERS.forEach((provider, i) => {
      const w = e.writes[i];
      if (w && w.at > since) out.push({ provider, user: w.user, at: w.at, writes: w.n });
    });
    return out.length > 1 ? out.sort((a, b) => a.at - b.at) : out;
  }

  /** Services whose status two providers wrote within the window. */
  bouncing(): Bounce[] {
    const since = this.now() - this.windowMs;
    const out: Bounce[] = [];
    for (const e of this.entries.values()) {
      const writers = this.writersOf(e, since);
      if (writers.length > 1) out.push({ namespace: e.namespace, name: e.name, cls: e.cls, writers });
    }
    return out;
  }

  /** How many Services bounce now (the gauge, computed at scrape time). */
  count(): number {
    const since = this.now() - this.windowMs;
    let n = 0;
    for (const e of this.entries.values()) {
      let k = 0;
      for (const w of e.writes) if (w && w.at > since) k++;
      if (k > 1) n++;
    }
    return n;
  }
}
