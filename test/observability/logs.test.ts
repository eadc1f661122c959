/**
 * Logs for people and for machines: JSON by default when not on a terminal
 * (a pod), one readable line per event with `text` (or `auto` on a TTY), and
 * the logger's `name` never taken by an object's name.
 */
import { expect } from "chai";
import { Writable } from "node:stream";
import { createReviewHandler } from "../../src/admission/handler.js";
import { createLogger, wantsText } from "../../src/observability/logger.js";
import { textLine } from "../../src/observability/text-log.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import { KUBEVIP_NULL, policy } from "../helpers/policies.js";
import { reviewBody, svc } from "../helpers/review.js";

function sink(isTTY?: boolean): { stream: Writable; out: () => string } {
  let out = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  if (isTTY !== undefined) (stream as unknown as { isTTY: boolean }).isTTY = isTTY;
  return { stream, out: () => out };
}

const denial = async (format: "json" | "text") => {
  const s = sink();
  const p = policy(KUBEVIP_NULL);
  const view = viewOf(CLUSTER);
  const handle = createReviewHandler(
    { policy: () => p, view: () => view },
    undefined,
    createLogger("info", s.stream, format),
  );
  const body = reviewBody({ object: svc({ ns: "traefik", name: "traefik", cls: "metallb", ip: "10.0.4.247" }) });
  await handle("validate", body, "application/json", Date.now() + 10_000);
  return s.out();
};

describe("observability: logs", () => {
  it("auto is JSON unless the destination is a terminal", () => {
    expect(wantsText("auto", sink().stream)).to.equal(false);
    expect(wantsText("auto", sink(false).stream)).to.equal(false);
    expect(wantsText("auto", sink(true).stream)).to.equal(true);
    expect(wantsText("json", sink(true).stream)).to.equal(false);
    expect(wantsText("text", sink(false).stream)).to.equal(true);
  });

  it("a denial in JSON: the object's name as `object`, `name` is the logger's", async () => {
    const lines = (await denial("json")).trim().split("\n");
    expect(lines).to.have.length(1);
    const l = JSON.parse(lines[0]);
    expect(l).to.deep.include({
      level: 30,
      name: "lbguard",
      app: "lbguard",
      decision: "deny",
      kind: "Service",
      namespace: "traefik",
      object: "traefik",
      operation: "CREATE",
      user: "alice",
    });
    expect(l.rule).to.be.a("string");
    expect(l.msg).to.match(/^Service traefik\/traefik: 10\.0\.4\.247 is owned by kube-vip/);
  });

  it("a denial in text: one readable line, level and message first, then the fields", async () => {
    const out = await denial("text");
    expect(out.endsWith("\n")).to.equal(true);
    const lines = out.trimEnd().split("\n");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}Service traefik\/traefik: 10\.0\.4\.247 is owned by kube-vip .* uid=\S+ webhook=validate kind=Service namespace=traefik object=traefik operation=CREATE user=alice decision=deny rule=\S+/,
    );
    expect(lines[0]).to.not.include("\x1b["); // not a terminal: no colour
    expect(lines[0]).to.not.match(/ (name|app|pid|hostname|time|level|msg)=/);
  });

  it("text: quotes only what needs it, objects as JSON, errors by message, never a second line", () => {
    const json = JSON.stringify({
      level: 50,
      time: "2026-05-04T10:00:00.000Z",
      pid: 1,
      hostname: "h",
      name: "lbguard",
      msg: "rule evaluation\nfailed",
      uid: "u-1",
      user: "system:serviceaccount:metallb-system:controller",
      note: "has space",
      empty: "",
      rules: ["a", "b"],
      more: 2,
      err: { type: "TypeError", message: "x is not\na function", stack: "TypeError: x\n    at y" },
    });
    expect(textLine(json)).to.equal(
      '2026-05-04T10:00:00.000Z ERROR rule evaluation failed uid=u-1 user=system:serviceaccount:metallb-system:controller note="has space" empty="" rules=["a","b"] more=2 err="TypeError: x is not\\na function"\n',
    );
    expect(textLine(json, true).split(" ").slice(1, 3).join(" ")).to.equal("\x1b[31mERROR\x1b[0m rule");
    expect(textLine("not json")).to.equal("not json\n");
  });
});
