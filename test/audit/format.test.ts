/**
 * The audit's outputs are written as they are formatted (a large audit is
 * never one string); the pieces make exactly the documents JSON.stringify and
 * YAML.parse agree on.
 */
import { expect } from "chai";
import YAML from "yaml";
import { runAudit } from "../../src/audit/audit.js";
import { collectSnapshot } from "../../src/audit/collect.js";
import { auditDocument, jsonChunks, textLines, textReport, yamlChunks } from "../../src/audit/format.js";
import { inferPolicy } from "../../src/audit/infer.js";
import { AUDIT_RULES, auditRulesMarkdown } from "../../src/audit/rules.js";
import { story, STORIES } from "./helpers.js";

describe("audit: output formats", () => {
  for (const s of STORIES)
    it(`${s}: streamed JSON and YAML are the documents`, () => {
      const c = collectSnapshot([story(s)]);
      const run = runAudit(c.view, c.facts, inferPolicy(c.view, c.facts).policy);
      const meta = { inferred: true };
      const doc = auditDocument(run.findings, c.objects, meta);
      expect([...jsonChunks(run.findings, c.objects, meta)].join("")).to.equal(JSON.stringify(doc, null, 2) + "\n");
      expect(YAML.parse([...yamlChunks(run.findings, c.objects, meta)].join(""))).to.deep.equal(
        JSON.parse(JSON.stringify(doc)),
      );
      expect([...textLines(run.findings, c.objects, { colour: false })].join("\n") + "\n").to.equal(
        textReport(run.findings, c.objects, { colour: false }),
      );
    });

  it("colours the severity headings only when asked (a terminal)", () => {
    const c = collectSnapshot([story("shared-lease")]);
    const run = runAudit(c.view, c.facts, inferPolicy(c.view, c.facts).policy);
    const text = textReport(run.findings, c.objects, { colour: true });
    expect(text).to.include("\x1b[1;31mcritical (1)\x1b[0m\n");
    expect(text).to.include("\x1b[33mmedium (1)\x1b[0m\n");
    expect(text.split("\n").filter((l) => l.includes("\x1b["))).to.have.length(3);
  });

  it("AUDIT_RULES lists every audit.* rule the stories report, as a README table", () => {
    const ids = AUDIT_RULES.map((r) => r.id);
    expect(ids).to.deep.equal([
      "audit.contested-service",
      "audit.status-bounce",
      "audit.vip-on-control-plane",
      "audit.unserved-class",
      "audit.third-controller",
      "audit.stale-vip",
    ]);
    expect(auditRulesMarkdown().split("\n")).to.have.length(ids.length + 2);
    const seen = new Set<string>();
    for (const s of STORIES) {
      const c = collectSnapshot([story(s)]);
      for (const f of runAudit(c.view, c.facts, inferPolicy(c.view, c.facts).policy).findings)
        if (f.rule.startsWith("audit.")) seen.add(f.rule);
    }
    expect([...seen].sort()).to.deep.equal([...ids].sort());
  });
});
