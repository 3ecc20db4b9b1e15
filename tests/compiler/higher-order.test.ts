/** An estimator whose surrogate itself carries an estimator: the inner rule differentiates it. */
import { describe, expect, it } from "vitest";
import { evaluate } from "../../compiler/interpret.js";
import { compileFn } from "../helpers/compile.js";

describe("higher-order estimator use", () => {
  it("a surrogate containing sign(x) backward ClippedSTE differentiates through the inner rule", () => {
    const fn = compileFn(
      `import { ClippedSTE } from "std/binary"
estimator Nested for sign(x) {
  surrogate 2 * (sign(x) backward ClippedSTE(t = 0.5))
}
fn f(x: f32[N]) -> f32[N] { return sign x backward Nested }`,
      "f",
    );
    const x = [-1, -0.5, -0.25, 0, 0.3, 0.5, 0.75];
    const ct = [1, 2, 3, 4, 5, 6, 7];
    const [g] = evaluate([fn.grads["x"]!], {
      inputs: { x: { data: x, shape: [7] }, $ct0: { data: ct, shape: [7] } },
      scalars: {},
      dims: { N: 7 },
      seed: 0,
    });
    // d/dx of 2·sign(x) under ClippedSTE(t = 0.5) is 2·1[|x| <= 0.5], times the cotangent.
    expect(Array.from(g!.data)).toEqual(x.map((v, i) => (Math.abs(v) <= 0.5 ? 2 * ct[i]! : 0)));
  });
});
