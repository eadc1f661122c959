/**
 * The README shows users what lbguard says. Every example line of it is
 * reproduced here from the example policy and cluster (or the policy the README
 * names), through the real CLI where the README shows a command, so the README
 * cannot drift from the product.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jsonpatch from "fast-json-patch";
import { decide } from "../../src/admission/handler.js";
import { RULE_IDS, catalogueMarkdown } from "../../src/rules/catalogue.js";
import { loadSnapshot } from "../../src/cluster/sources/snapshot.js";
import { CLI, FIXTURES, ROOT } from "../helpers/paths.js";
import { METALLB_NULL, policy } from "../helpers/policies.js";
import { objects } from "../helpers/cluster.js";
import { request } from "../helpers/review.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const LINES = README.split("\n");
/** README lines that show a message lbguard prints */
const EXAMPLES = LINES.filter((l) => /denied the request: |^Warning: /.test(l));
const reproduced = new Set<string>();

/** `line` is in the README verbatim; remember it as reproduced */
function inReadme(line: string): void {
  expect(LINES, `README line:\n${line}`).to.include(line);
  reproduced.add(line);
}

function lbguard(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A working directory with the README's file names, the examples linked in */
function workdir(): string {
  const d = mkdtempSync(join(tmpdir(), "lbguard-readme-"));
  cpSync(join(ROOT, "examples"), join(d, "examples"), { recursive: true });
  return d;
}

const yaml = {
  traefik:
    "apiVersion: v1\nkind: Service\nmetadata: {name: traefik, namespace: traefik}\nspec: {type: LoadBalancer, loadBalancerIP: 10.0.4.247, ports: [{port: 443}]}\n",
  dns: "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\n  namespace: kube-system\n  annotations: {metallb.io/loadBalancerIPs: 10.0.4.215}\nspec: {type: LoadBalancer, ports: [{port: 53, protocol: UDP}]}\n",
  pool: "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: new, namespace: metallb-system}\nspec: {addresses: [10.0.4.240/29]}\n",
  kubevipCM:
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubevip, namespace: kube-system}\ndata: {range-global: 10.0.5.200-10.0.5.210}\n",
};

describe("docs: every message in README.md is what lbguard prints", function () {
  this.timeout(60_000);

  it("shows Service refusals as kubectl prints them (lbguard check with the example policy and cluster)", () => {
    const d = workdir();
    writeFileSync(join(d, "traefik-svc.yaml"), yaml.traefik);
    writeFileSync(join(d, "metallb-annotated.yaml"), yaml.dns);
    for (const f of ["traefik-svc.yaml", "metallb-annotated.yaml"]) {
      const r = lbguard(d, ["check", "--policy", "examples/policy.yaml", "--state", "examples/cluster", f]);
      expect(r.code, r.err).to.equal(1);
      inReadme(r.out.split("\n")[0]!);
    }
  });

  it("shows the same text as a Warning: under enforcement warn", () => {
    const d = workdir();
    const text = readFileSync(join(d, "examples/policy.yaml"), "utf8").replace("services: deny", "services: warn");
    writeFileSync(join(d, "warn.yaml"), text);
    writeFileSync(join(d, "traefik-svc.yaml"), yaml.traefik);
    const r = lbguard(d, ["check", "--policy", "warn.yaml", "--state", "examples/cluster", "traefik-svc.yaml"]);
    expect(r.code).to.equal(0);
    const [warning, created] = r.out.split("\n");
    inReadme(warning!);
    expect(created).to.match(/^service\/traefik created/);
  });

  it("shows the refusal that ends a status bounce", () => {
    const p = policy(readFileSync(join(ROOT, "examples/policy.yaml"), "utf8"));
    const view = loadSnapshot([join(ROOT, "examples/cluster")]).view;
    expect(view.service("kube-system", "ingress-expose"), "examples/cluster has kube-system/ingress-expose").to.exist;
    const svc = objects(readFileSync(join(ROOT, "examples/cluster/services.yaml"), "utf8")).find(
      (o) => o.metadata?.name === "ingress-expose",
    )!;
    const moved = jsonpatch.deepClone(svc);
    moved.status = { loadBalancer: { ingress: [{ ip: "10.0.5.3" }] } };
    const r = decide(
      "validate",
      request({
        operation: "UPDATE",
        subResource: "status",
        object: moved,
        oldObject: svc,
        user: "system:serviceaccount:metallb-system:controller",
      }),
      p,
      view,
    );
    expect(r.response.allowed).to.equal(false);
    const block = README.split("this line ends the status bounce):\n\n```text\n")[1]!.split("\n")[0];
    expect(block).to.equal(r.response.status!.message);
  });

  it("answers the review.json of 'Try it' with the JSON shown, and patches the class in shop", () => {
    const p = policy(readFileSync(join(ROOT, "examples/policy.yaml"), "utf8"));
    const view = loadSnapshot([join(ROOT, "examples/cluster")]).view;
    const blocks = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
    const review = blocks.find((b) => b.request)!;
    const answer = blocks.find((b) => b.response)!;
    const r = decide("validate", review.request, p, view);
    expect({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: r.response }).to.deep.equal(answer);

    const shop = jsonpatch.deepClone(review.request);
    shop.namespace = shop.object.metadata.namespace = "shop";
    delete shop.object.spec.loadBalancerClass;
    delete shop.object.spec.loadBalancerIP;
    const m = decide("mutate", shop, p, view);
    expect(m.response.allowed).to.equal(true);
    expect(m.response.patchType).to.equal("JSONPatch");
    const ops = Buffer.from(m.response.patch!, "base64").toString();
    expect(README).to.include("`" + ops + "`");
  });

  it("lists every problem of an invalid policy by field path and refuses to start", () => {
    const d = workdir();
    const text = readFileSync(join(d, "examples/policy.yaml"), "utf8").replace(
      "      loadBalancerClass: null               # kube-vip keeps",
      "      loadBalancerClas: null                # kube-vip keeps",
    );
    writeFileSync(join(d, "typo.yaml"), text);
    const r = lbguard(d, [
      "serve",
      "--policy",
      "typo.yaml",
      "--state",
      "examples/cluster",
      "--cert-dir",
      "certs",
      "--port",
      "0",
      "--metrics-port",
      "0",
    ]);
    expect(r.code).to.not.equal(0);
    const shown = README.split("$ lbguard serve --policy typo.yaml\n")[1]!.split("```")[0]!;
    expect(r.err).to.include(shown);
    expect(shown.split("\n").filter(Boolean)).to.have.length(3);
  });

  it("shows pool, ConfigMap and kube-vip workload refusals", () => {
    const d = workdir();
    writeFileSync(join(d, "pool.yaml"), yaml.pool);
    writeFileSync(join(d, "kubevip-cm.yaml"), yaml.kubevipCM);
    for (const f of ["pool.yaml", "kubevip-cm.yaml"]) {
      const r = lbguard(d, ["check", "--policy", "examples/policy.yaml", "--state", "examples/cluster", f]);
      expect(r.code, r.err).to.equal(1);
      inReadme(r.out.split("\n")[0]!);
    }
    // the DaemonSet example is the README's "where MetalLB owns class-less Services" case
    writeFileSync(join(d, "metallb-null.yaml"), METALLB_NULL);
    copyFileSync(
      join(FIXTURES, "kubevip/daemonset-arp-cp-svc_DERIVED-manifest-daemonset-incluster-taint-v1.2.3.yaml"),
      join(d, "kube-vip-ds.yaml"),
    );
    const r = lbguard(d, ["check", "--policy", "metallb-null.yaml", "kube-vip-ds.yaml"]);
    expect(r.code, r.err).to.equal(1);
    inReadme(r.out.split("\n")[0]!);
  });

  it("shows lbguard check's output and exit code exactly", () => {
    const d = workdir();
    mkdirSync(join(d, "manifests"));
    copyFileSync(
      join(FIXTURES, "kubevip/daemonset-arp-cp-svc_DERIVED-manifest-daemonset-incluster-taint-v1.2.3.yaml"),
      join(d, "manifests/kube-vip-ds.yaml"),
    );
    writeFileSync(
      join(d, "manifests/pools.yaml"),
      "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab-a, namespace: metallb-system}\nspec: {addresses: [10.0.9.0/24]}\n---\n" +
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab-b, namespace: metallb-system}\nspec: {addresses: [10.0.9.128-10.0.9.200]}\n",
    );
    writeFileSync(
      join(d, "manifests/services.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata: {name: checkout, namespace: shop}\nspec: {type: LoadBalancer, ports: [{port: 443}]}\n",
    );
    const cmd = "lbguard check --policy examples/policy.yaml --state examples/cluster ./manifests";
    const r = lbguard(d, cmd.split(" ").slice(1));
    const shown = README.split(`$ ${cmd}\n`)[1]!.split("$ echo $?\n")[0]!;
    expect(r.out).to.equal(shown);
    expect(String(r.code)).to.equal(README.split(`$ ${cmd}\n`)[1]!.split("$ echo $?\n")[1]!.split("\n")[0]);
    for (const l of shown.split("\n")) if (/denied the request: /.test(l)) inReadme(l);
  });

  it("shows the rule catalogue as it is in src/rules/catalogue.ts", () => {
    expect(README).to.include(catalogueMarkdown() + "\n");
    for (const id of RULE_IDS) expect(README).to.include(`| \`${id}\` |`);
  });

  it("has no example message that the tests above did not reproduce", () => {
    expect(EXAMPLES.length).to.be.at.least(8);
    expect(EXAMPLES.filter((l) => !reproduced.has(l))).to.deep.equal([]);
  });
});
