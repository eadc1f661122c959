/**
 * What a container really sees: `$(VAR)` references in env values, `command`
 * and `args` expanded as the kubelet does (docs/controllers.md S3;
 * kubernetes third_party/forked/golang/expansion/expand.go): `$$` is a literal
 * `$`, a reference to an undefined name stays as written, an env value sees
 * only the entries before it, `command`/`args` see the whole env.
 *
 * A value lbguard cannot see (`valueFrom`, `envFrom`) is unknown, and so is
 * whatever references it.
 */
import { textOf } from "../k8s/text.js";

export interface EnvVar {
  name?: unknown;
  value?: unknown;
  valueFrom?: unknown;
}

/** What a name maps to: a known value, an unknown one, or nothing (undefined). */
export type Lookup = (name: string) => string | typeof UNKNOWN | undefined;

export const UNKNOWN: unique symbol = Symbol("unknown");

export interface Expanded {
  text: string;
  /** names referenced whose values lbguard cannot see */
  unknown: string[];
}

/** kubelet's Expand: `$(NAME)` → value, `$$` → `$`, anything else copied. */
export function expand(input: string, lookup: Lookup): Expanded {
  if (!input.includes("$")) return { text: input, unknown: [] };
  let out = "";
  const unknown: string[] = [];
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== "$" || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === "$") out += "$";
    else if (next === "(") {
      const close = input.indexOf(")", cursor + 2);
      if (close < 0) out += "$(";
      else {
        const name = input.slice(cursor + 2, close);
        const v = lookup(name);
        if (v === UNKNOWN) {
          unknown.push(name);
          out += `$(${name})`;
        } else out += v === undefined ? `$(${name})` : v;
        advance = close - cursor;
      }
    } else out += `$${next}`;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return { text: out + input.slice(checkpoint), unknown };
}

/** A container's env after expansion: the last entry of a name wins. */
export interface ResolvedEnv {
  /** the value of a plain env var ("" when present but empty); undefined when absent or unknown */
  value(name: string): string | undefined;
  has(name: string): boolean;
  /** set from valueFrom, or expanded from something lbguard cannot see */
  unknown(name: string): boolean;
  entries(): Iterable<[string, string]>;
  /** for command and args: every name, as the kubelet maps it */
  lookup: Lookup;
}

export function resolveEnv(env: unknown, hasEnvFrom: boolean): ResolvedEnv {
  const vals = new Map<string, string>();
  const unknown = new Set<string>();
  const lookup: Lookup = (n) =>
    unknown.has(n) ? UNKNOWN : vals.has(n) ? vals.get(n) : hasEnvFrom ? UNKNOWN : undefined;
  for (const e of Array.isArray(env) ? (env as EnvVar[]) : []) {
    if (!e || typeof e.name !== "string") continue;
    if (e.valueFrom !== undefined && e.valueFrom !== null) {
      vals.delete(e.name);
      unknown.add(e.name);
      continue;
    }
    const raw = typeof e.value === "string" ? e.value : e.value == null ? "" : textOf(e.value);
    const x = expand(raw, lookup);
    if (x.unknown.length) {
      vals.delete(e.name);
      unknown.add(e.name);
    } else {
      unknown.delete(e.name);
      vals.set(e.name, x.text);
    }
  }
  return {
    value: (n) => vals.get(n),
    has: (n) => vals.has(n),
    unknown: (n) => unknown.has(n),
    entries: () => vals.entries(),
    lookup,
  };
}
