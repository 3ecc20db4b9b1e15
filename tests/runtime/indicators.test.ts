/**
 * Training indicators (runtime/indicators.ts) against values computed by hand here: ReSTE's
 * estimating error with F_o(x) = sign(x)|x|^(1/o) at o = oEnd and sign(0) = +1, ReSTE's gradient
 * stability with the unbiased (n - 1) variance of torch.var's default, Larq's flip ratio with
 * sign(0) = +1, and SR-STE's SAD as a count of changed mask entries. Bad input throws errors that
 * name the layer and index.
 */
import { describe, expect, it } from "vitest";
import { estimatingError, flipRatio, gradientStability, sad } from "../../runtime/indicators.js";

describe("estimatingError", () => {
  it("is 0 where the latent weights are already ±1", () => {
    expect(estimatingError([[1, -1, 1], new Float32Array([-1])])).toBe(0);
  });

  it("sums per-layer L2 norms of F_oEnd(w) - sign(w)", () => {
    // oEnd = 3: F(8) = 2 (diff 1), F(-0.125) = -0.5 (diff 0.5): layer norm sqrt(1.25).
    // F(0) = 0 against sign(0) = +1 (diff 1), F(0.001) = 0.1 (diff 0.9): layer norm sqrt(1.81).
    const got = estimatingError([[8, -0.125], new Float32Array([0, 0.001])]);
    expect(got).toBeCloseTo(Math.sqrt(1.25) + Math.sqrt(1.81), 6);
    // A sum of norms, not the norm of the concatenation.
    expect(got).not.toBeCloseTo(Math.sqrt(1.25 + 1.81), 3);
  });

  it("uses the given oEnd (default 3)", () => {
    // oEnd = 1: F is the identity, diffs 0.5 - 1 = -0.5 and -2 + 1 = -1.
    expect(estimatingError([[0.5, -2]], 1)).toBeCloseTo(Math.sqrt(1.25), 14);
    // oEnd = 2: F(0.25) = 0.5 (diff 0.5); oEnd = 3 gives F(0.25) = 0.63 (diff 0.37).
    expect(estimatingError([[0.25]], 2)).toBeCloseTo(0.5, 14);
    expect(estimatingError([[0.25]])).toBeCloseTo(1 - 0.25 ** (1 / 3), 14);
  });

  it("rejects non-finite weights and bad oEnd", () => {
    expect(() => estimatingError([[1], [0.5, NaN]])).toThrow(/non-finite value NaN at layer 1, index 1/);
    expect(() => estimatingError([[1]], 0.5)).toThrow(/oEnd must be a finite number >= 1/);
  });
});

describe("gradientStability", () => {
  it("sums the unbiased variance of |g| over each layer's elements", () => {
    // |[1, -3]| = [1, 3]: mean 2, squared deviations 1 + 1 = 2, / (n - 1) = 2.
    // |[1, 2, 3, -4]|: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / 3.
    const got = gradientStability([[1, -3], new Float32Array([1, 2, 3, -4])]);
    expect(got).toBeCloseTo(2 + 5 / 3, 6);
    // The population variance (divide by n) would give 1 + 1.25.
    expect(got).not.toBeCloseTo(2.25, 3);
  });

  it("takes the absolute value first: a layer of ±c has zero variance", () => {
    expect(gradientStability([[0.5, -0.5, 0.5, -0.5]])).toBe(0);
  });

  it("rejects layers with fewer than 2 elements and non-finite gradients", () => {
    expect(() => gradientStability([[1, 2], [3]])).toThrow(/layer 1 has 1 element; the unbiased variance needs at least 2/);
    expect(() => gradientStability([[1, Infinity]])).toThrow(/non-finite value Infinity at layer 0, index 1/);
  });
});

describe("flipRatio", () => {
  it("is the fraction of entries whose sign changed, sign(0) = +1", () => {
    // 0.5 -> -0.1 flips; -0.2 -> -0.3 does not; 0 (+1) -> -1e-9 flips; -0 (+1) -> 0 does not; 3 -> 2 does not.
    expect(flipRatio([0.5, -0.2, 0, -0, 3], [-0.1, -0.3, -1e-9, 0, 2])).toBeCloseTo(2 / 5, 15);
    expect(flipRatio(new Float32Array([1, 1]), new Float32Array([1, 1]))).toBe(0);
    expect(flipRatio([1, -1], [-1, 1])).toBe(1);
  });

  it("pools per-layer arrays: changed entries over all entries", () => {
    expect(flipRatio([[1, -1], [1, 1, 1, 1]], [[-1, -1], [1, 1, 1, -1]])).toBeCloseTo(2 / 6, 15);
  });

  it("rejects mismatched shapes, empty input and NaN", () => {
    expect(() => flipRatio([1, 2], [1])).toThrow(/layer 0 has 2 entries before but 1 after/);
    expect(() => flipRatio([[1]], [[1], [2]])).toThrow(/1 layer before but 2 after/);
    expect(() => flipRatio([], [])).toThrow(/no weights given/);
    expect(() => flipRatio([1, NaN], [1, 1])).toThrow(/non-finite value NaN at layer 0, index 1/);
  });
});

describe("sad", () => {
  it("counts mask entries that changed, summed over layers", () => {
    expect(sad([1, 0, 1, 0], [0, 1, 1, 0])).toBe(2);
    expect(sad([[1, 0, 1, 0], new Float32Array([1, 1, 0, 0])], [[1, 0, 0, 1], new Float32Array([0, 1, 1, 0])])).toBe(4);
    expect(sad([1, 1, 0, 0], [1, 1, 0, 0])).toBe(0);
  });

  it("rejects entries other than 0 and 1, and mismatched masks", () => {
    expect(() => sad([1, 0.5], [1, 0])).toThrow(/mask entries must be 0 or 1, got 0.5 at layer 0, index 1/);
    expect(() => sad([1, 0], [1, 0, 0])).toThrow(/2 entries before but 3 after/);
  });
});
