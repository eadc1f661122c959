/**
 * The real kustomize: `kubectl kustomize DIR` (kubectl embeds kustomize v5),
 * so the tests build deploy/ exactly as `kubectl apply -k` does. Where
 * kubectl is absent the tests that need it are skipped and say so; the
 * content tests then read deploy/install*.yaml, which are that same
 * rendering, checked equal to it wherever kubectl exists.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import YAML from "yaml";
import { ROOT } from "../helpers/paths.js";

export type Obj = Record<string, any>;

export const KUBECTL = process.env.KUBECTL || "kubectl";

let available: boolean | undefined;
/** Whether `kubectl kustomize` runs here. */
export function hasKubectl(): boolean {
  return (available ??= spawnSync(KUBECTL, ["version", "--client"], { encoding: "utf8" }).status === 0);
}
export const NO_KUBECTL = `${KUBECTL} not found: skipped (install kubectl, which embeds kustomize v5, to build deploy/ for real)`;

/** Parse a multi-document YAML text into its objects (empty documents dropped). */
export function parseDocs(text: string, source: string): Obj[] {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`${source}: ${d.errors[0].message}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o != null);
}

/** `kubectl kustomize dir`: the rendered text, or the error kustomize printed. */
export function kustomizeText(dir: string): { text: string } | { error: string } {
  try {
    return { text: execFileSync(KUBECTL, ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { error: (err.stderr || err.message).trim() };
  }
}

/** `kubectl kustomize dir` for many directories, a few at a time (each kubectl costs a process start). */
export async function kustomizeAll(dirs: string[], parallel = 4): Promise<({ text: string } | { error: string })[]> {
  const out: ({ text: string } | { error: string })[] = new Array(dirs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < dirs.length; i = next++)
      out[i] = await new Promise((resolve) =>
        execFile(KUBECTL, ["kustomize", dirs[i]], { encoding: "utf8", maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
          resolve(err ? { error: (stderr || err.message).trim() } : { text: stdout }),
        ),
      );
  };
  await Promise.all(Array.from({ length: Math.min(parallel, dirs.length) }, worker));
  return out;
}

/** `kubectl kustomize dir` parsed; throws with kustomize's own message when the build fails. */
export function kustomize(dir: string): Obj[] {
  const r = kustomizeText(dir);
  if ("error" in r) throw new Error(`kubectl kustomize ${relative(ROOT, dir) || "."}: ${r.error}`);
  return parseDocs(r.text, dir);
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** The kustomization file of a directory, if it has one. */
export function kustomizationFile(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
}

/** Every directory under `top` (itself included) holding a kustomization, sorted. */
export function kustomizationDirs(top: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (kustomizationFile(d)) out.push(d);
    for (const n of readdirSync(d).sort()) if (statSync(join(d, n)).isDirectory()) walk(join(d, n));
  };
  walk(top);
  return out;
}

export function podSpecOf(o: Obj): Obj | undefined {
  if (o.kind === "Pod") return o.spec;
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

export function containersOf(o: Obj): Obj[] {
  const ps = podSpecOf(o);
  return ps ? [...(ps.containers ?? []), ...(ps.initContainers ?? [])] : [];
}
