#!/usr/bin/env node
// The one-file release manifests (MetalLB's metallb-native.yaml convention),
// rendered by real kustomize from the kustomizations they name:
//   deploy/install.yaml               kubectl kustomize deploy/base
//   deploy/install-cert-manager.yaml  kubectl kustomize deploy/overlays/cert-manager
// `npm run install-yaml` writes them; `npm run install-yaml -- --check` exits 1
// when one differs from what its kustomization renders (test/deploy checks it too).
// KUBECTL names another kubectl binary.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MANIFESTS = [
  { file: "deploy/install.yaml", from: "deploy/base" },
  { file: "deploy/install-cert-manager.yaml", from: "deploy/overlays/cert-manager" },
];

function kustomize(dir) {
  const kubectl = process.env.KUBECTL || "kubectl";
  try {
    return execFileSync(kubectl, ["kustomize", join(ROOT, dir)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    if (e.code === "ENOENT")
      throw new Error(`${kubectl} not found: install kubectl (it embeds kustomize v5)`, { cause: e });
    throw new Error(`${kubectl} kustomize ${dir} failed:\n${e.stderr || e.message}`, { cause: e });
  }
}

function header(m) {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  return [
    `# lbguard v${version}: kubectl apply -f ${m.file}`,
    `# Generated from ${m.from} by \`npm run install-yaml\` (kubectl kustomize ${m.from}): do not edit by hand.`,
    "",
  ].join("\n");
}

const docs = (text) =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d != null);

const check = process.argv.includes("--check");
let stale = 0;
for (const m of MANIFESTS) {
  let rendered;
  try {
    rendered = header(m) + kustomize(m.from);
  } catch (e) {
    process.stderr.write(`install-yaml: ${e.message}\n`);
    process.exit(2);
  }
  const path = join(ROOT, m.file);
  if (!check) {
    writeFileSync(path, rendered);
    process.stdout.write(`${m.file}: written from ${m.from}\n`);
    continue;
  }
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {
    // missing: stale
  }
  // compared as objects, so another kustomize release's formatting is no difference
  if (JSON.stringify(docs(current)) !== JSON.stringify(docs(rendered))) {
    stale++;
    process.stderr.write(`${m.file} differs from kubectl kustomize ${m.from}: run npm run install-yaml\n`);
  } else process.stdout.write(`${m.file}: up to date with ${m.from}\n`);
}
process.exitCode = stale ? 1 : 0;
