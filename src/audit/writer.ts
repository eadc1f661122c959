/**
 * The background audit's reports (SPEC §12): one PolicyReport (or Report)
 * named `lbguard` per namespace with findings, one ClusterPolicyReport (or
 * ClusterReport) for cluster-scoped ones, written by the lease holder only.
 *
 * - Discovery decides whether the API serves the kinds; lbguard never
 *   installs CRDs. When it does not, nothing is written and the log says why
 *   once (and once more when that changes).
 * - A report is sent only when its content changes: the writer keeps, per
 *   report, the resourceVersion and a hash of the content it last read or
 *   wrote (labels, source, summary, results; server-set metadata ignored). A
 *   result keeps the timestamp of when its finding was first seen, so an
 *   unchanged finding leaves its report unchanged.
 * - Every update carries the resourceVersion it is based on and every delete
 *   a resourceVersion precondition: a second writer (a holder that has not
 *   yet noticed it lost the Lease) gets 409 instead of overwriting; on 409
 *   the writer reads the report again and writes only if it still differs.
 * - A report of a namespace without findings is deleted. On taking the
 *   Lease, the writer reads the existing `lbguard` reports once (a list by
 *   name, what RBAC's resourceNames allows), so it also deletes those a
 *   previous holder left.
 * - `canWrite()` is asked before every request: a holder that loses the
 *   Lease stops between two requests.
 */
import { createHash } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { listAll } from "../cluster/sources/kube.js";
import { ApiError, apiRequest } from "../k8s/api.js";
import type { KubeObject } from "../k8s/object.js";
import type { Logger } from "../observability/logger.js";
import { refKey, type AuditFinding } from "./finding.js";
import {
  byNamespace,
  policyReport,
  REPORT_KINDS,
  REPORT_NAME,
  timestampOf,
  type ReportFormat,
  type Timestamp,
} from "./reports.js";

type Obj = Record<string, any>;

export interface WriterOptions {
  kc: KubeConfig;
  format: ReportFormat;
  /** what `--reports` said: `auto` words the log line differently */
  requested: "auto" | ReportFormat;
  maxResults: number;
  log: Logger;
  /** asked before every request: only the Lease holder writes */
  canWrite(): boolean;
  now?: () => Date;
}

export interface SyncResult {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  failed: number;
  /** the Lease was lost (or reports became unavailable) part way */
  stopped: boolean;
}

/** The key of a finding: its rule and objects (subject first). Results and Events are matched by it. */
export function findingKey(f: AuditFinding): string {
  return `${f.rule}|${[f.subject, ...f.related].map(refKey).join(",")}`;
}

/**
 * The key as a 52-bit number (two FNV-1a hashes): what the writer and the
 * Events remember per finding, 45,000 of them a few MB less than strings.
 */
export function keyHash(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x811c9dc5) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

export function findingHash(f: AuditFinding): number {
  return keyHash(findingKey(f));
}

function resultHash(r: Obj): number {
  const res = Array.isArray(r.resources) ? r.resources : [];
  return keyHash(`${r.rule}|${res.map((x: Obj) => `${x.kind}/${x.namespace ?? ""}/${x.name}`).join(",")}`);
}

/** JSON with sorted keys: the same content gives the same text whatever the key order. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = v as Obj;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(",")}}`;
}

const LABEL = "app.kubernetes.io/managed-by";

/** The part of a report lbguard writes (server-set metadata, and labels others add, ignored). */
export function contentHash(r: Obj): string {
  const labels = r.metadata?.labels ?? {};
  const s = r.summary ?? {};
  const content = {
    kind: r.kind,
    labels: { [LABEL]: labels[LABEL] },
    source: r.source,
    summary: ["pass", "fail", "warn", "error", "skip"].map((k) => s[k] ?? 0),
    results: r.results ?? [],
  };
  return createHash("sha256").update(canonical(content)).digest("base64");
}

/** The Lease was lost between two requests of one sync. */
class Stopped extends Error {}

interface Known {
  rv: string;
  hash: string;
}

export class ReportWriter {
  private readonly kinds;
  private readonly now: () => Date;
  /** discovery's answer: undefined until asked */
  private available?: boolean;
  private told = "";
  /** the reports as last read or written, by namespace ("" for the cluster-scoped one) */
  private known = new Map<string, Known>();
  /** whether `known` was read since this replica took the Lease */
  private read = false;
  /** when each current finding was first seen */
  private readonly firstSeen = new Map<number, Timestamp>();
  /** finding keys (findingHash) of the results found in the reports when they were read */
  private readKeys: number[] = [];

  constructor(private readonly o: WriterOptions) {
    this.kinds = REPORT_KINDS[o.format];
    this.now = o.now ?? (() => new Date());
  }

  /** whether reports can be written, as far as discovery has said */
  get usable(): boolean {
    return this.available !== false;
  }

  get apiVersion(): string {
    return `${this.kinds.group}/${this.kinds.version}`;
  }

  /** Finding keys of the results in the reports read on taking the Lease (already reported: no Event). */
  get reportedKeys(): readonly number[] {
    return this.readKeys;
  }

  /** Every run, on every replica: remember when each finding was first seen. */
  observe(findings: AuditFinding[]): void {
    const now = timestampOf(this.now());
    const current = new Set<number>();
    for (const f of findings) {
      const k = findingHash(f);
      current.add(k);
      if (!this.firstSeen.has(k)) this.firstSeen.set(k, now);
    }
    for (const k of this.firstSeen.keys()) if (!current.has(k)) this.firstSeen.delete(k);
  }

  /** A new term as Lease holder: read the reports again before writing. */
  invalidate(): void {
    this.read = false;
  }

  private say(state: string, level: "info" | "warn", msg: string, extra: Obj = {}): void {
    if (this.told === state) return;
    this.told = state;
    this.o.log[level]({ reports: this.apiVersion, ...extra }, msg);
  }

  private unavailable(why: string): void {
    this.available = false;
    this.known.clear();
    this.read = false;
    const how =
      this.o.requested === "auto"
        ? `--reports auto: ${this.apiVersion} is not served (${why}): no reports are written`
        : `--reports ${this.o.requested}: ${this.apiVersion} is not served (${why}): no reports are written`;
    this.say(
      "absent",
      "warn",
      `${how}; lbguard never installs CRDs: install the ${this.kinds.kind} and ${this.kinds.clusterKind} CRDs (Kyverno or Policy Reporter bring them), or set --reports none`,
    );
  }

  /** Discovery: whether the API serves both report kinds. */
  async discover(): Promise<boolean> {
    try {
      const d = await apiRequest(this.o.kc, `/apis/${this.kinds.group}/${this.kinds.version}`, { timeoutMs: 10_000 });
      const names = new Set(((d.resources ?? []) as Obj[]).map((r) => r.name));
      const missing = [this.kinds.resource, this.kinds.clusterResource].filter((r) => !names.has(r));
      if (missing.length) {
        this.unavailable(`no ${missing.join(", ")} in ${this.apiVersion}`);
        return false;
      }
      if (!this.available)
        this.say("served", "info", `writing ${this.kinds.kind}s and the ${this.kinds.clusterKind} named lbguard`);
      this.available = true;
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404) {
        this.unavailable(`the ${this.kinds.group} CRDs are not installed`);
        return false;
      }
      this.say(`error:${(e as Error).message}`, "warn", "report discovery failed; retrying at the next audit", {
        err: (e as Error).message,
      });
      return false;
    }
  }

  private collection(ns: string): string {
    const base = `/apis/${this.kinds.group}/${this.kinds.version}`;
    return ns ? `${base}/namespaces/${ns}/${this.kinds.resource}` : `${base}/${this.kinds.clusterResource}`;
  }

  private path(ns: string): string {
    return `${this.collection(ns)}/${REPORT_NAME}`;
  }

  /** Read the `lbguard` reports that exist: their resourceVersions, content, and the timestamps of their results. */
  private async readAll(): Promise<void> {
    const known = new Map<string, Known>();
    const keys: number[] = [];
    const take = (r: Obj) => {
      const ns = r.metadata?.namespace ?? "";
      known.set(ns, { rv: r.metadata.resourceVersion, hash: contentHash({ ...r, kind: r.kind ?? this.kindOf(ns) }) });
      for (const res of (r.results ?? []) as Obj[]) {
        const k = resultHash(res);
        keys.push(k);
        const t = res.timestamp;
        if (t && typeof t.seconds === "number") this.firstSeen.set(k, { seconds: t.seconds, nanos: t.nanos ?? 0 });
      }
    };
    const base = `/apis/${this.kinds.group}/${this.kinds.version}/${this.kinds.resource}`;
    await listAll(this.o.kc, base, (o: KubeObject) => take(o as Obj), {
      fieldSelector: `metadata.name=${REPORT_NAME}`,
    });
    try {
      take(await apiRequest(this.o.kc, this.path(""), { timeoutMs: 10_000 }));
    } catch (e) {
      if (!(e instanceof ApiError && e.statusCode === 404)) throw e;
    }
    this.known = known;
    this.readKeys = keys;
    this.read = true;
  }

  private kindOf(ns: string): string {
    return ns ? this.kinds.kind : this.kinds.clusterKind;
  }

  /** Make the reports match the findings (Lease holder only). */
  async sync(findings: AuditFinding[]): Promise<SyncResult> {
    const r: SyncResult = { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0, stopped: false };
    if (!this.o.canWrite()) return { ...r, stopped: true };
    if (!this.available && !(await this.discover())) return { ...r, stopped: true };
    if (!this.read) {
      try {
        await this.readAll();
      } catch (e) {
        if (this.gone(e)) return { ...r, stopped: true };
        this.o.log.warn(
          { reports: this.apiVersion, err: (e as Error).message },
          "could not read the reports; retrying",
        );
        return { ...r, failed: 1 };
      }
    }
    const byNs = byNamespace(findings);
    const opts = {
      now: this.now(),
      maxResults: this.o.maxResults,
      format: this.o.format,
      timestampOf: (f: AuditFinding) => this.firstSeen.get(findingHash(f)),
    };
    const errors: string[] = [];
    const scopes = [...new Set([...byNs.keys(), ...this.known.keys()])].sort();
    for (const ns of scopes) {
      if (!this.o.canWrite()) return { ...r, stopped: true };
      const fs = byNs.get(ns);
      try {
        if (fs) await this.put(ns, policyReport(fs, ns, opts), r);
        else await this.remove(ns, r);
      } catch (e) {
        if (e instanceof Stopped || this.gone(e)) return { ...r, stopped: true };
        r.failed++;
        if (errors.length < 3)
          errors.push(`${this.kindOf(ns)} ${ns ? `${ns}/` : ""}${REPORT_NAME}: ${(e as Error).message}`);
      }
    }
    if (errors.length)
      this.o.log.warn(
        { reports: this.apiVersion, failed: r.failed, errors },
        "some reports could not be written; retrying at the next audit",
      );
    return r;
  }

  /** A 404 for the whole resource: the CRD went away. */
  private gone(e: unknown): boolean {
    if (e instanceof ApiError && e.statusCode === 404 && /could not find the requested resource/.test(e.message)) {
      this.unavailable("its CRDs were removed");
      return true;
    }
    return false;
  }

  private async put(ns: string, desired: KubeObject, r: SyncResult): Promise<void> {
    const hash = contentHash(desired);
    const k = this.known.get(ns);
    if (k?.hash === hash) {
      r.unchanged++;
      return;
    }
    if (!k) {
      try {
        const made = await apiRequest(this.o.kc, this.collection(ns), { method: "POST", body: desired });
        this.known.set(ns, { rv: made.metadata.resourceVersion, hash });
        r.created++;
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.statusCode === 409)) throw e;
        // it exists after all (another writer created it): compare with what is there
        return this.reconcile(ns, desired, hash, r);
      }
    }
    try {
      const stored = await this.update(ns, desired, k.rv);
      this.known.set(ns, { rv: stored.metadata.resourceVersion, hash });
      r.updated++;
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404) {
        this.known.delete(ns);
        return this.put(ns, desired, r);
      }
      if (!(e instanceof ApiError && e.statusCode === 409)) throw e;
      return this.reconcile(ns, desired, hash, r);
    }
  }

  private update(ns: string, desired: KubeObject, rv: string): Promise<any> {
    if (!this.o.canWrite()) throw new Stopped("the audit Lease was lost");
    return apiRequest(this.o.kc, this.path(ns), {
      method: "PUT",
      body: { ...desired, metadata: { ...(desired.metadata as Obj), resourceVersion: rv } },
    });
  }

  /** After a 409: read the report, and write it only if it still differs (once; a second conflict waits for the next audit). */
  private async reconcile(ns: string, desired: KubeObject, hash: string, r: SyncResult): Promise<void> {
    this.known.delete(ns);
    if (!this.o.canWrite()) throw new Stopped("the audit Lease was lost");
    const cur = await apiRequest(this.o.kc, this.path(ns), { timeoutMs: 10_000 });
    const rv = cur.metadata.resourceVersion;
    if (contentHash(cur) === hash) {
      this.known.set(ns, { rv, hash });
      r.unchanged++;
      return;
    }
    const stored = await this.update(ns, desired, rv);
    this.known.set(ns, { rv: stored.metadata.resourceVersion, hash });
    r.updated++;
  }

  private async remove(ns: string, r: SyncResult): Promise<void> {
    const k = this.known.get(ns);
    if (!k) return;
    const del = (rv: string) =>
      apiRequest(this.o.kc, this.path(ns), {
        method: "DELETE",
        body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { resourceVersion: rv } },
      });
    try {
      await del(k.rv);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.statusCode === 404) {
        this.known.delete(ns);
        return;
      }
      if (e.statusCode !== 409) throw e;
      // changed since it was read: the namespace is clean now all the same
      this.known.delete(ns);
      if (!this.o.canWrite()) throw new Stopped("the audit Lease was lost");
      const cur = await apiRequest(this.o.kc, this.path(ns), { timeoutMs: 10_000 }).catch((x) => {
        if (x instanceof ApiError && x.statusCode === 404) return undefined;
        throw x;
      });
      if (!cur) return;
      if (!this.o.canWrite()) throw new Stopped("the audit Lease was lost");
      await del(cur.metadata.resourceVersion);
    }
    this.known.delete(ns);
    r.deleted++;
  }
}
