import { describe, expect, it } from "vitest";
import { compileFn } from "../helpers/compile.js";
import { gradcheck } from "../helpers/gradcheck.js";

function expectClose(r: { analytic: number; numeric: number }, tol = 1e-6) {
  expect(Math.abs(r.analytic - r.numeric)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(r.numeric)));
}

describe("autodiff against central differences", () => {
  it("2-layer MLP with softmax cross-entropy", () => {
    const fn = compileFn(
      `fn loss(x: f32[B, I], w1: f32[I, H], b1: f32[H], w2: f32[H, K], labels: i32[B]) -> f32 {
        let h = tanh(x @ w1 + b1)
        let logits = h @ w2
        return -mean(sum(one_hot(labels, K) * log_softmax(logits, axis = 1), axis = 1))
      }`,
      "loss",
    );
    expectClose(gradcheck(fn, { dims: { B: 4, I: 3, H: 5, K: 3 } }));
  });
});
