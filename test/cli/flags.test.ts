/**
 * Numeric flags and start-up paths of the real CLI: a bad value is a usage
 * error (exit 2) that names the flag, the value and the range, whether it
 * came from the command line or from an LBGUARD_* variable; `serve --state`
 * with a path that does not exist refuses to start.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ROOT } from "../helpers/paths.js";

function lbguard(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const POLICY = join(ROOT, "examples/policy.yaml");
// serve flags that never bind a fixed port, should a case start by mistake
const SERVE = ["serve", "--policy", POLICY, "--state", join(ROOT, "examples/cluster"), "--metrics-port", "0"];

describe("cli: numeric flags are validated, with a clear message, exit 2", function () {
  this.timeout(60_000);

  for (const [flag, value, expected] of [
    ["--port", "abc", "Expected a port number from 0 to 65535."],
    ["--port", "70000", "Expected a port number from 0 to 65535."],
    ["--port", "-1", "Expected a port number from 0 to 65535."],
    ["--port", "0x10", "Expected a port number from 0 to 65535."],
    ["--metrics-port", "", "Expected a port number from 0 to 65535."],
    ["--shutdown-delay", "abc", "Expected a number of seconds (5, 0.5) from 0 to 3600."],
    ["--shutdown-delay", "1e3", "Expected a number of seconds (5, 0.5) from 0 to 3600."],
    [
      "--audit-interval",
      "1 minute",
      "Expected an audit interval: a duration such as 60s, 500ms or 2m, from 0 to 86400s.",
    ],
    ["--audit-interval", "-5s", "Expected an audit interval: a duration such as 60s, 500ms or 2m, from 0 to 86400s."],
    ["--audit-interval", "2d", "Expected an audit interval: a duration such as 60s, 500ms or 2m, from 0 to 86400s."],
    ["--warm-up", "some", "Expected a number of reviews (or off) from 0 to 1000000."],
    ["--warm-up", "-1", "Expected a number of reviews (or off) from 0 to 1000000."],
    ["--audit-max-results", "0", "Expected a number of results from 1 to 1000."],
    ["--audit-max-results", "5000", "Expected a number of results from 1 to 1000."],
  ])
    it(`serve ${flag} ${JSON.stringify(value)}`, () => {
      const r = lbguard([...SERVE.filter((_, i, a) => a[i] !== flag && a[i - 1] !== flag), flag, value]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include(`error: option '${flag} <`);
      expect(r.err).to.include(`argument '${value}' is invalid. ${expected}`);
      expect(r.out).to.equal("");
    });

  it("LBGUARD_PORT=abc is refused the same way, naming the variable", () => {
    const r = lbguard(SERVE, { LBGUARD_PORT: "abc" });
    expect(r.code).to.equal(2);
    expect(r.err).to.include(
      "error: option '--port <n>' value 'abc' from env 'LBGUARD_PORT' is invalid. Expected a port number from 0 to 65535.",
    );
  });

  it("a good value passes the parser (the run then stops on what comes next)", () => {
    // --shutdown-delay 0.5 is accepted: the error is the missing policy, not the flag
    const r = lbguard([
      "serve",
      "--policy",
      join(ROOT, "missing-policy.yaml"),
      "--shutdown-delay",
      "0.5",
      "--port",
      "0",
      "--metrics-port",
      "0",
    ]);
    expect(r.code).to.equal(2);
    expect(r.err).to.not.include("is invalid");
    expect(r.err).to.match(/invalid policy/);
  });

  for (const [flag, good] of [
    ...["off", "0", "500"].map((v) => ["--warm-up", v]),
    ...["60s", "500ms", "2m", "1h", "90", "0", "1.5s"].map((v) => ["--audit-interval", v]),
  ])
    it(`serve ${flag} ${good} passes the parser`, () => {
      const r = lbguard([
        "serve",
        "--policy",
        join(ROOT, "missing-policy.yaml"),
        flag,
        good,
        "--port",
        "0",
        "--metrics-port",
        "0",
      ]);
      expect(r.code).to.equal(2);
      expect(r.err).to.not.include("is invalid");
      expect(r.err).to.match(/invalid policy/);
    });

  it("serve --reports takes auto, wgpolicyk8s, openreports, none", () => {
    const r = lbguard([...SERVE, "--reports", "kyverno"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.include(
      "error: option '--reports <format>' argument 'kyverno' is invalid. Allowed choices are auto, wgpolicyk8s, openreports, none.",
    );
  });

  for (const [args, message] of [
    [
      ["--cert-days", "abc"],
      "option '--cert-days <n>' argument 'abc' is invalid. Expected a whole number of days from 1 to 36500.",
    ],
    [
      ["--cert-days", "-1"],
      "option '--cert-days <n>' argument '-1' is invalid. Expected a whole number of days from 1 to 36500.",
    ],
    [
      ["--cert-days", "0"],
      "option '--cert-days <n>' argument '0' is invalid. Expected a whole number of days from 1 to 36500.",
    ],
    [
      ["--ca-days", "1.5"],
      "option '--ca-days <n>' argument '1.5' is invalid. Expected a whole number of days from 1 to 36500.",
    ],
    [
      ["--cert-days", "4000"],
      "lbguard certs: --cert-days 4000 exceeds --ca-days 3650: the serving certificate would outlive its CA",
    ],
  ] as const)
    it(`certs ${args.join(" ")}: no certificate is written`, () => {
      const out = join(mkdtempSync(join(tmpdir(), "lbguard-certs-flags-")), "tls");
      const r = lbguard(["certs", "--namespace", "lbguard-system", "--service", "lbguard", "--out", out, ...args]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include(message);
      expect(existsSync(join(out, "tls.crt"))).to.equal(false);
    });

  it("certs --cert-days 30 writes a certificate valid for 30 days (and an hour of back-dating)", () => {
    const out = join(mkdtempSync(join(tmpdir(), "lbguard-certs-flags-")), "tls");
    const r = lbguard([
      "certs",
      "--namespace",
      "lbguard-system",
      "--service",
      "lbguard",
      "--out",
      out,
      "--cert-days",
      "30",
    ]);
    expect(r.code, r.err).to.equal(0);
    const x = new X509Certificate(readFileSync(join(out, "tls.crt")));
    const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
    expect(days).to.be.within(30, 30.1);
  });
});

describe("cli: serve --state with a path that does not exist refuses to start", function () {
  this.timeout(60_000);
  it("exits 2 naming the path, before listening", () => {
    const r = lbguard([
      "serve",
      "--policy",
      POLICY,
      "--state",
      join(ROOT, "examples/cluster"),
      "--state",
      "/typo/path",
      "--port",
      "0",
      "--metrics-port",
      "0",
    ]);
    expect(r.code).to.equal(2);
    expect(r.err).to.equal("lbguard serve: --state /typo/path: cannot read: no such file or directory (ENOENT)\n");
    expect(r.out).to.equal("");
  });
  it("the same from LBGUARD_STATE", () => {
    const r = lbguard(["serve", "--policy", POLICY, "--port", "0", "--metrics-port", "0"], {
      LBGUARD_STATE: "examples/cluster,/typo/path",
    });
    expect(r.code).to.equal(2);
    expect(r.err).to.include("--state /typo/path: cannot read: no such file or directory (ENOENT)");
  });
});

describe("cli: serve --state whose first load has errors refuses to start, as check --state does", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "lbguard-badstate-"));
  const serveArgs = (state: string) => [
    "serve",
    "--policy",
    POLICY,
    "--state",
    join(ROOT, "examples/cluster"),
    "--state",
    state,
    "--cert-dir",
    join(dir, "certs"),
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--host",
    "127.0.0.1",
  ];
  const cases: [what: string, file: string, text: string, problems: string[]][] = [
    [
      "a YAML syntax error (file:line:column)",
      "broken.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: x\n",
      ["4:1: Flow map in block collection must be sufficiently indented and end with a }"],
    ],
    [
      "a JSON syntax error (file:line:column)",
      "broken.json",
      '{\n  "apiVersion": "v1",\n  "kind": }\n',
      ["3:11: invalid JSON: Unexpected token '}'"],
    ],
    [
      "YAML documents that are not Kubernetes objects (file:line:column)",
      "objects.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Service\nspec: {type: LoadBalancer}\n---\nreplicas: 3\n",
      ["5:1: Service without metadata.name", "9:1: not a Kubernetes object: no kind"],
    ],
    [
      "List items that are not Kubernetes objects (JSON: the item's index)",
      "services.json",
      JSON.stringify({
        apiVersion: "v1",
        kind: "ServiceList",
        items: [{ metadata: { name: "a", namespace: "x" } }, { metadata: { namespace: "x" } }, "web"],
      }),
      ["items[1]: Service without metadata.name", "items[2]: not a Kubernetes object but a string"],
    ],
  ];
  for (const [what, name, text, problems] of cases)
    it(`${what}: exit 2, one line per problem naming the file, before listening`, () => {
      const f = join(dir, name);
      writeFileSync(f, text);
      const sep = (p: string) => (/^\d/.test(p) ? ":" : ": ");
      const r = lbguard(serveArgs(f));
      expect(r.code, r.err).to.equal(2);
      expect(r.err).to.equal(problems.map((p) => `lbguard serve: --state ${f}${sep(p)}${p}\n`).join(""));
      expect(r.out).to.not.include("serving on");
      // check --state says the same of the same file, and exits 2 too
      const c = lbguard(["check", "--policy", POLICY, "--state", f, join(ROOT, "examples/cluster")]);
      expect(c.code).to.equal(2);
      for (const p of problems)
        expect(c.err).to.include(/^\d/.test(p) ? `error: ${f}:${p}\n` : `error: --state: ${f}: ${p}\n`);
    });
});
