/**
 * The compiler builds its parser without Chevrotain's grammar validations (a cold-start cost);
 * this test builds it with them, so a grammar change that makes a rule ambiguous or
 * left-recursive still fails here.
 */
import { describe, expect, it } from "vitest";
import { EstParser } from "../../grammar/parser.js";

describe("the grammar", () => {
  it("passes Chevrotain's validations (no ambiguity, no left recursion)", () => {
    // performSelfAnalysis throws "Parser Definition Errors detected" listing them.
    expect(() => new EstParser(true)).not.toThrow();
  });
});
