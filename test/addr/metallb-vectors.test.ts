import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { metallbCIDRs, parseMetalLBEntry } from "../../src/addr/metallb.js";
import { FIXTURES } from "../helpers/paths.js";

interface Vector {
  input: string;
  cidrs: string[];
  parseCIDRError: string;
}

const vectors: { vectors: Vector[] } = JSON.parse(
  readFileSync(join(FIXTURES, "metallb/parse-and-overlap-vectors.json"), "utf8"),
);

describe("addr/metallb: MetalLB's ParseCIDR, all 30 vectors", () => {
  it("has 30 vectors", () => expect(vectors.vectors).to.have.length(30));
  for (const v of vectors.vectors) {
    it(`${JSON.stringify(v.input)} → ${v.parseCIDRError ? "error" : JSON.stringify(v.cidrs)}`, () => {
      const e = parseMetalLBEntry(v.input);
      expect(e.error ?? "").to.equal(v.parseCIDRError);
      expect(metallbCIDRs(e)).to.deep.equal(v.cidrs);
    });
  }
});
