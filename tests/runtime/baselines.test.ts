/**
 * runtime/baselines: Storchastic's moving-average baseline b ← d·b + (1 - d)·mean(cost) from 0,
 * and Bengio et al. 2013's per-unit minimum-variance ratio of moving averages
 * E[(h - p)² L] / E[(h - p)²], against values worked out by hand; bad input is an
 * EstcRuntimeError with a stable code.
 */
import { describe, expect, it } from "vitest";
import { EstcRuntimeError, minVarianceBaseline, movingAverageBaseline } from "estc/runtime";

describe("movingAverageBaseline", () => {
  it("starts at 0 and moves 5% towards each step's mean cost (decay 0.95)", () => {
    const b = movingAverageBaseline();
    expect(b.value).toBe(0);
    expect(b.decay).toBe(0.95);
    expect(b.update(2)).toBeCloseTo(0.1, 15); // 0.95·0 + 0.05·2
    expect(b.update([1, 3, 8])).toBeCloseTo(0.95 * 0.1 + 0.05 * 4, 15); // mean 4 → 0.295
    expect(b.value).toBeCloseTo(0.295, 15);
  });
  it("another decay; decay 0 follows the last cost, decay 1 never moves", () => {
    const half = movingAverageBaseline(0.5);
    half.update(4);
    expect(half.update(-2)).toBeCloseTo(0, 15); // 0.5·2 + 0.5·(-2)
    const last = movingAverageBaseline(0);
    last.update(3);
    expect(last.update(7)).toBe(7);
    const frozen = movingAverageBaseline(1);
    frozen.update(100);
    expect(frozen.value).toBe(0);
  });
  it("rejects a decay outside [0, 1], a non-finite or empty cost", () => {
    for (const d of [-0.1, 1.5, NaN]) expect(() => movingAverageBaseline(d)).toThrow(/E6013.*decay/);
    const b = movingAverageBaseline();
    expect(() => b.update(NaN)).toThrow(EstcRuntimeError);
    expect(() => b.update([1, Infinity])).toThrow(/E6013.*non-finite/);
    expect(() => b.update([])).toThrow(/E6001.*empty/);
    expect(b.value).toBe(0);
  });
});

describe("minVarianceBaseline", () => {
  it("per-unit ratio of moving averages of (h - p)² L and (h - p)² over the rows", () => {
    const b = minVarianceBaseline(2, 0.5, 0);
    expect(Array.from(b.value)).toEqual([0, 0]);
    // Rows (h, p): unit 0: (1, 0.5), (0, 0.25); unit 1: (0, 0.5), (1, 0.75). Costs per row 2 and 4.
    b.update([1, 0, 0, 1], [0.5, 0.5, 0.25, 0.75], [2, 4]);
    // unit 0: w = 0.25, 0.0625 → num = 0.5·(0.25·2 + 0.0625·4)/2 = 0.1875, den = 0.5·0.3125/2 = 0.078125 → 2.4
    // unit 1: w = 0.25, 0.0625 → the same ratio 2.4.
    expect(b.value[0]).toBeCloseTo(2.4, 6);
    expect(b.value[1]).toBeCloseTo(2.4, 6);
    // A second step with one scalar cost 10 for both rows, h = p = 0.5 in unit 1 gives it no weight.
    b.update([0, 0.5, 1, 0.5], [0.5, 0.5, 0.5, 0.5], 10);
    // unit 0: w = 0.25, 0.25 → num = 0.5·0.1875 + 0.5·2.5 = 1.34375, den = 0.5·0.078125 + 0.5·0.25 = 0.1640625
    expect(b.value[0]).toBeCloseTo(1.34375 / 0.1640625, 5);
    // unit 1: num = 0.09375, den = 0.0390625 → 2.4 again.
    expect(b.value[1]).toBeCloseTo(2.4, 6);
  });
  it("the ratio is unaffected by the zero start (numerator and denominator share it)", () => {
    const b = minVarianceBaseline(1, 0.9, 0);
    b.update([1], [0.5], 3);
    expect(b.value[0]).toBeCloseTo(3, 6);
  });
  it("eps keeps a unit with no weight at 0", () => {
    const b = minVarianceBaseline(1);
    b.update([0.5], [0.5], 7);
    expect(b.value[0]).toBe(0);
  });
  it("rejects bad units, lengths, costs", () => {
    expect(() => minVarianceBaseline(0)).toThrow(/E6002.*units/);
    expect(() => minVarianceBaseline(2, 2)).toThrow(/E6013.*decay/);
    const b = minVarianceBaseline(2);
    expect(() => b.update([1, 0, 1], [0.5, 0.5, 0.5], 1)).toThrow(/E6001.*B × 2/);
    expect(() => b.update([1, 0], [0.5], 1)).toThrow(/E6001/);
    expect(() => b.update([1, 0], [0.5, 0.5], [1, 2])).toThrow(/E6001.*one per row \(1\)/);
    expect(() => b.update([1, NaN], [0.5, 0.5], 1)).toThrow(/E6013.*h/);
  });
});
