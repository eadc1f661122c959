/** The decode limits of the AdmissionReview codec: nesting depth (SPEC §6, bounded work per request). */
import { expect } from "chai";
import { MAX_JSON_DEPTH, decodeReview, nestedDeeperThan } from "../../src/admission/codec.js";
import { reviewBody, svc } from "../helpers/review.js";

describe("admission/codec: nesting depth", () => {
  it("measures the nesting of arrays and objects, not of brackets in strings", () => {
    const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(nestedDeeperThan(nest(3), 3)).to.equal(false);
    expect(nestedDeeperThan(nest(4), 3)).to.equal(true);
    expect(nestedDeeperThan(`{"a":{"b":[{}]}}`, 3)).to.equal(true);
    expect(nestedDeeperThan(`[[1],[2],[3],[4]]`, 2)).to.equal(false); // siblings are not depth
    expect(nestedDeeperThan(JSON.stringify({ s: "[[[[[[[[" + "{".repeat(50) }), 3)).to.equal(false);
    expect(nestedDeeperThan(JSON.stringify({ s: 'a\\"[[[[[[' + '"[' }), 3)).to.equal(false); // escaped quotes
    expect(nestedDeeperThan(JSON.stringify({ s: "x\\" }) + nest(5), 4)).to.equal(true); // a string ending in a backslash
  });

  it("a review nested deeper than the limit decodes with its uid and a problem; within it, as usual", () => {
    const deep = "[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1);
    const body = reviewBody({ object: svc() }).replace('"spec":{', `"spec":{"x":${deep},`);
    const d = decodeReview(body, "application/json");
    expect(d.ok && d.problem).to.equal(`nested more than ${MAX_JSON_DEPTH} levels deep`);
    const fine = reviewBody({ object: svc() }).replace('"spec":{', `"spec":{"x":${"[".repeat(100)}${"]".repeat(100)},`);
    const f = decodeReview(fine, "application/json");
    expect(f.ok && f.problem).to.equal(undefined);
  });
});
