/**
 * What a table case expects lbguard to answer, word for word: the rule ids
 * (denials, then warnings), the exact denial message and the exact warnings.
 * The HTTPS runs in test/protocol match a case's `message` and `warning`
 * patterns; `withPatterns` derives them from the exact texts, so those runs
 * check the same words.
 */
import { expect } from "chai";
import type { Judgement } from "../helpers/judge.js";

export interface Expected {
  /** the rule ids `judge` reports: denials, then warnings */
  rules: string[];
  /** the exact denial message (absent when allowed) */
  denial?: string;
  /** the exact warnings, in order (absent: none) */
  warnings?: string[];
}

/** The exact text as a pattern matching nothing else. */
export function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
}

/** Add `message` and `warning` (the exact texts as patterns) to each case. */
export function withPatterns<C extends Expected>(cases: C[]): (C & { message?: RegExp; warning?: RegExp })[] {
  return cases.map((c) => ({
    ...c,
    ...(c.denial !== undefined ? { message: exactly(c.denial) } : {}),
    ...(c.warnings?.length ? { warning: exactly(c.warnings.join("\n")) } : {}),
  }));
}

/** Assert a judgement is exactly the expected one: allowed or not, rule ids, denial message, warnings. */
export function expectJudgement(j: Judgement, c: Expected & { allowed: boolean }): void {
  expect(j.allowed, j.message).to.equal(c.allowed);
  if (!c.allowed) expect(c.denial, "a denied case states its exact message").to.be.a("string");
  expect(j.rules, "rule ids").to.deep.equal(c.rules);
  expect(j.message, "denial message").to.equal(c.denial);
  expect(j.warnings, "warnings").to.deep.equal(c.warnings ?? []);
}
