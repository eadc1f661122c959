/**
 * Running `lbguard audit` and `lbguard init` as a user would (a real process),
 * on the cluster stories in test/fixtures/clusters, and applying the fixes it
 * prints to a copy of the snapshot: its kubectl commands are carried out on
 * the objects (what the API server would store), the rest (a static pod's
 * manifest, a pool edited by hand) by the caller.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jsonpatch from "fast-json-patch";
import YAML from "yaml";
import { auditExitCode, runAudit } from "../../src/audit/audit.js";
import { collectSnapshot } from "../../src/audit/collect.js";
import { auditFindingJson } from "../../src/audit/finding.js";
import { inferPolicy } from "../../src/audit/infer.js";
import { renderPolicy } from "../../src/audit/render.js";
import { parsePolicy } from "../../src/policy/load.js";
import { CLI, ROOT } from "../helpers/paths.js";

export const CLUSTERS = join(ROOT, "test/fixtures/clusters");
export const CRDS = join(ROOT, "test/fixtures/crds");
export const STORIES = ["harvester-before-fix", "kubeadm-static-pod", "k3s-status-bounce", "shared-lease", "clean"];

export type Obj = Record<string, any>;

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

export function lbguard(args: string[], o: { env?: Record<string, string>; input?: string } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    input: o.input,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "", ...(o.env ?? {}) },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same, without blocking the event loop (a fake API server in this process must keep answering). */
export function lbguardAsync(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

// the same command over the same unchanged fixtures gives the same answer: the test files share one run of it
const runs = new Map<string, Promise<Run>>();

/**
 * Run commands as processes, a few at a time. A command over the committed
 * fixtures alone (no temporary files) runs once for all test files.
 */
export async function lbguardAll(cmds: string[][], parallel = 3): Promise<Run[]> {
  const out: Run[] = new Array(cmds.length);
  let next = 0;
  const shareable = (c: string[]) => c.every((a) => !a.startsWith("/") || a.startsWith(CLUSTERS));
  const worker = async () => {
    while (next < cmds.length) {
      const i = next++;
      const key = JSON.stringify(cmds[i]);
      if (!shareable(cmds[i])) out[i] = await lbguardAsync(cmds[i]);
      else {
        if (!runs.has(key)) runs.set(key, lbguardAsync(cmds[i]));
        out[i] = await runs.get(key)!;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, cmds.length) }, worker));
  return out;
}

/** The audit in this process, as the CLI runs it (for the many runs of a fix-and-recheck loop). */
export function auditInProcess(
  files: string[],
  policyText?: string,
): { findings: Obj[]; exit: number; policy: string } {
  const c = collectSnapshot(files);
  if (c.errors.length) throw new Error(c.errors.join("; "));
  const inf = policyText === undefined ? inferPolicy(c.view, c.facts) : undefined;
  const policy = inf ? inf.policy : parsePolicy(policyText!, "policy");
  const run = runAudit(c.view, c.facts, policy);
  const text = inf ? renderPolicy(inf, c.source, run.findings) : policyText!;
  return { findings: run.findings.map(auditFindingJson), exit: auditExitCode(run.findings, "high"), policy: text };
}

export function story(name: string): string {
  return join(CLUSTERS, `${name}.yaml`);
}

/** The items of a story's `kind: List`. */
export function items(name: string): Obj[] {
  return YAML.parse(readFileSync(story(name), "utf8")).items;
}

export function tmp(prefix = "lbguard-audit-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write objects as `kubectl get -o yaml` does (one List). */
export function writeList(dir: string, name: string, objs: Obj[]): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    YAML.stringify({ apiVersion: "v1", kind: "List", items: objs, metadata: { resourceVersion: "" } }),
  );
  return file;
}

export interface AuditJson {
  findings: Obj[];
  summary: Obj;
  policy: Obj;
}

export function auditJson(args: string[]): { code: number | null; doc: AuditJson; err: string } {
  const r = lbguard(["audit", "-o", "json", ...args]);
  let doc: AuditJson;
  try {
    doc = JSON.parse(r.out);
  } catch {
    throw new Error(`lbguard audit ${args.join(" ")} printed no JSON (exit ${r.code}): ${r.out}${r.err}`);
  }
  return { code: r.code, doc, err: r.err };
}

/** What a test asserts of a finding. */
export function brief(f: Obj): Obj {
  return { rule: f.rule, severity: f.severity, subject: f.subject, related: f.related, fix: f.fix };
}

export function find(objs: Obj[], kind: string, namespace: string | undefined, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === namespace);
  if (!o) throw new Error(`no ${kind} ${namespace}/${name} in the snapshot`);
  return o;
}

function podSpec(o: Obj): Obj {
  return o.kind === "Pod" ? o.spec : o.spec.template.spec;
}

export function setEnv(o: Obj, vars: Record<string, string>, container?: string): void {
  for (const c of podSpec(o).containers) {
    if (container && c.name !== container) continue;
    c.env ??= [];
    for (const [k, v] of Object.entries(vars)) {
      const e = c.env.find((x: Obj) => x.name === k);
      if (e) {
        e.value = v;
        delete e.valueFrom;
      } else c.env.push({ name: k, value: v });
    }
  }
}

const KIND: Record<string, string> = {
  daemonset: "DaemonSet",
  deployment: "Deployment",
  statefulset: "StatefulSet",
  service: "Service",
  lease: "Lease",
  ipaddresspool: "IPAddressPool",
};

/** Split a printed fix into its steps. */
export function steps(fix: string): string[] {
  return fix
    .split(/ && |; then |; and |; (?=kubectl |on |add |check |start )/)
    .map((s) => s.replace(/^[^:]*?: (?=kubectl )/, "").trim());
}

/**
 * Carry out the steps of a fix that `kubectl` (and the kubelet, for a static
 * pod's manifest) would; return the steps left to the caller.
 */
export function applyFix(objs: Obj[], fix: string): { objs: Obj[]; left: string[] } {
  const left: string[] = [];
  for (const step of steps(fix)) {
    let m: RegExpExecArray | null;
    if ((m = /^kubectl -n (\S+) set env (\w+)\/(\S+)((?: -c \S+)?) (.+)$/.exec(step))) {
      const vars = Object.fromEntries(m[5].split(" ").map((kv) => kv.split("=") as [string, string]));
      setEnv(find(objs, KIND[m[2]], m[1], m[3]), vars, m[4] ? m[4].slice(4) : undefined);
    } else if ((m = /^kubectl -n (\S+) patch (\w+) (\S+) --type=json -p '(.+)'$/.exec(step))) {
      const o = find(objs, KIND[m[2]], m[1], m[3]);
      const patched = jsonpatch.applyPatch(structuredClone(o), JSON.parse(m[4]), true, false).newDocument;
      objs = objs.map((x) => (x === o ? patched : x));
    } else if ((m = /^kubectl -n (\S+) patch service (\S+) -p '(.+)'$/.exec(step))) {
      const o = find(objs, "Service", m[1], m[2]);
      const patch = JSON.parse(m[3]);
      const wasLB = o.spec.type === "LoadBalancer";
      for (const [k, v] of Object.entries(patch.spec as Obj)) {
        if (v === null) delete o.spec[k];
        else o.spec[k] = v;
      }
      // the API server drops what only a LoadBalancer has when the type leaves it (docs/controllers.md S1)
      if (wasLB && o.spec.type !== "LoadBalancer") {
        delete o.spec.loadBalancerClass;
        for (const p of o.spec.ports ?? []) delete p.nodePort;
        delete o.spec.allocateLoadBalancerNodePorts;
      }
    } else if ((m = /^kubectl -n (\S+) annotate service (\S+) (\S+)-$/.exec(step))) {
      delete find(objs, "Service", m[1], m[2]).metadata.annotations[m[3]];
    } else if ((m = /^kubectl -n (\S+) delete (\w+) (\S+)$/.exec(step))) {
      const o = find(objs, KIND[m[2]], m[1], m[3]);
      objs = objs.filter((x) => x !== o);
    } else if (
      (m = /^add env (.+) to the (\S+) container in \/etc\/kubernetes\/manifests\/(\S+)\.yaml on (.+)$/.exec(step))
    ) {
      // the kubelet re-creates each node's mirror pod from the edited manifest
      const vars = Object.fromEntries(
        m[1].split(", ").map((kv) => {
          const [k, v] = kv.split(": ");
          return [k, JSON.parse(v)];
        }),
      );
      for (const node of m[4].split(", ")) setEnv(find(objs, "Pod", "kube-system", `${m[3]}-${node}`), vars, m[2]);
    } else left.push(step);
  }
  return { objs, left };
}
