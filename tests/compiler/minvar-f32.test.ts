/**
 * Regression: reinforce_minvar_bernoulli's leave-one-out baseline once subtracted a row's own
 * weight from the column total, which in f32 lost the other rows when that weight dominated
 * (logits ±10): the CPU gradient had the opposite sign of the f64 one. The f32 back ends must
 * now agree with the f64 evaluator there.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run } from "../helpers/backends.js";

const SRC = `import { reinforce_minvar_bernoulli } from "std/stochastic"
fn f(c: f32[S], z: f32[S, N], logits: f32[S, N]) -> f32 { return reinforce_minvar_bernoulli(c, z, logits) }`;

describe("reinforce_minvar_bernoulli in f32 at saturated logits", () => {
  for (const l of [-10, 10]) {
    it(`logits ${l}: every back end matches the f64 evaluator`, async () => {
      const inputs = { c: { data: [1, 2], shape: [2] }, z: { data: [1, 0], shape: [2, 1] }, logits: { data: [l, l], shape: [2, 1] } };
      const ref = await run("f64", SRC, "f", inputs, { valueAndGrad: true });
      for (const b of BACKENDS.filter((x) => x !== "f64")) {
        const r = await run(b, SRC, "f", inputs, { valueAndGrad: true });
        r.grads["logits"]!.forEach((g, i) => {
          const want = ref.grads["logits"]![i]!;
          expect(Math.abs(g - want), `${b} element ${i}: ${g} vs f64 ${want}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
        });
      }
    });
  }
});
