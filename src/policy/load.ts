/** Reading a policy file: YAML (duplicate keys are errors), then the schema, then the semantic checks. */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { z } from "zod";
import { Policy, PolicyError } from "./policy.js";
import { policySchema } from "./schema.js";

function pathOf(path: PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(document)";
}

function describeIssue(i: z.core.$ZodIssue): string {
  const at = pathOf(i.path);
  switch (i.code) {
    case "unrecognized_keys":
      return `${at === "(document)" ? "" : at + ": "}unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_type":
      if (i.input === undefined) {
        if (at.endsWith("loadBalancerClass"))
          return `${at}: required; write null explicitly when this provider handles Services without a class`;
        return `${at}: required`;
      }
      return `${at}: expected ${i.expected}`;
    case "invalid_value":
      return `${at}: must be ${i.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    default:
      return `${at}: ${i.message}`;
  }
}

/** Parse and compile policy text; throws PolicyError listing every problem found. */
export function parsePolicy(text: string, source = "policy"): Policy {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const real = list.filter((d) => d.contents !== null || d.errors.length);
  if (real.length !== 1) throw new PolicyError([`${source}: expected exactly one YAML document, found ${real.length}`]);
  const doc = real[0];
  if (doc.errors.length) throw new PolicyError(doc.errors.map((e) => `${source}: ${e.message.split("\n")[0]}`));
  const data = doc.toJS({ maxAliasCount: 50 });
  const r = policySchema.safeParse(data);
  if (!r.success) throw new PolicyError(r.error.issues.map((i) => `${source}: ${describeIssue(i)}`));
  try {
    return new Policy(r.data);
  } catch (e) {
    if (e instanceof PolicyError) throw new PolicyError(e.problems.map((p) => `${source}: ${p}`));
    throw e;
  }
}

export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PolicyError([`${file}: cannot read: ${(e as Error).message}`]);
  }
  return parsePolicy(text, file);
}
