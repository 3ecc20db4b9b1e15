/**
 * f32 → i32 conversion (issue 17, item 8). The language has no explicit cast, and an f32 value
 * is never assignable to an i32 (E3004, E3005); the one place an f32 becomes an i32 is an
 * estimator's i32 parameter given an f32 argument (`backward E(k = s / d)`), which lowering
 * converts (Op.Cast). The conversion truncates toward zero and saturates, NaN giving 0 — on the
 * CPU (`Math.max(-2^31, Math.min(2^31 - 1, trunc(x))) | 0`) and on WebGPU (the generated
 * `f2i_`: WGSL's own `i32(x)` leaves NaN, ±Inf and out-of-range values to the implementation).
 * Each back end is checked against that rule applied here by hand, at NaN, ±Inf, ±3e9, the
 * largest f32 below 2^31 (2147483520), ±2^31 and fractions of either sign.
 */
import { describe, expect, it } from "vitest";
import { run } from "../helpers/backends.js";

// The gradient is g · k: k, the f32 argument converted to i32, then back to f32 for the product.
const SRC = `
estimator Scaled(k: i32 = 1) for sign(x) {
  grad x = g * k
}
fn f(x: f32[N], s: f32 = 1.0, d: f32 = 1.0) -> f32[N] {
  return sign(x) backward Scaled(k = s / d)
}
`;

/** The documented rule (docs/language.md §10, Numerics: i32). */
function toI32(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x >= 2 ** 31) return 2 ** 31 - 1;
  if (x <= -(2 ** 31)) return -(2 ** 31);
  return Math.trunc(x) | 0;
}

/** Each value as a runtime scalar pair s / d (runtime scalars are finite, so NaN and ±Inf come from a division by 0). */
const values: [string, number, number][] = [
  ["NaN", 0, 0],
  ["+Inf", 1, 0],
  ["-Inf", -1, 0],
  ["3e9", 3e9, 1],
  ["-3e9", -3e9, 1],
  ["2147483520", 2147483520, 1],
  ["-2147483520", -2147483520, 1],
  ["2^31", 2 ** 31, 1],
  ["-2^31", -(2 ** 31), 1],
  ["2.75", 2.75, 1],
  ["-2.75", -2.75, 1],
  ["-0.5", -0.5, 1],
];

describe("f32 → i32: truncation that saturates, NaN → 0, the same on both back ends", () => {
  it("the rule at the edges, by hand", () => {
    expect(values.map(([, s, d]) => toI32(s / d))).toEqual([0, 2147483647, -2147483648, 2147483647, -2147483648, 2147483520, -2147483520, 2147483647, -2147483648, 2, -2, 0]);
  });

  for (const device of ["cpu", "webgpu"] as const) {
    it(`${device}: an estimator's i32 parameter given f32 values`, async () => {
      for (const [name, s, d] of values) {
        const r = await run(device, SRC, "f", { x: { data: [0.5], shape: [1] } }, { ct: [[1]], scalars: { s, d } });
        // The converted i32 comes back as an f32 in g · k (2^31 - 1 rounds to 2^31).
        expect(r.grads["x"], name).toEqual([Math.fround(toI32(Math.fround(s) / Math.fround(d)))]);
      }
    });
  }
});
