/**
 * REINFORCE (Williams 1992; Bengio, Léonard & Courville 2013 §2.3) written as an ordinary estimator
 * for bernoulli: grad p = cost · (z - p) / (p (1 - p)), the score function times the (constant)
 * value of the differentiated function. Over many Philox seeds its mean must match the exact
 * gradient of the expected cost; plain autodiff through bernoulli gives zero.
 *
 * The estimator does not multiply by g: g is dcost/dz, and the score-function estimator of
 * dE[cost]/dp is cost · dlog P(z; p)/dp alone (a `g *` factor would make it biased).
 */
import { describe, expect, it } from "vitest";
import { compileFn } from "../helpers/compile.js";
import { evalValueAndGrad, evalVjp } from "../helpers/gradcheck.js";

const SRC = `
estimator REINFORCE for bernoulli(p) {
  grad p = cost * (out - p) / (p * (1 - p))
}

estimator REINFORCEBaseline(b: f32 = 0.0) for bernoulli(p) {
  grad p = (cost - b) * (out - p) / (p * (1 - p))
}

fn obj(theta: f32[N]) -> f32 {
  let z = bernoulli(sigmoid(theta)) backward REINFORCE
  return sum((z - 0.3) ^ 2)
}

fn objBaseline(theta: f32[N], base: f32 = 0.0) -> f32 {
  let z = bernoulli(sigmoid(theta)) backward REINFORCEBaseline(b = base)
  return sum((z - 0.3) ^ 2)
}

fn plain(theta: f32[N]) -> f32 {
  let z = bernoulli(sigmoid(theta))
  return sum((z - 0.3) ^ 2)
}

fn draw(theta: f32[N]) -> f32[N] {
  return bernoulli(sigmoid(theta))
}
`;

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const theta = [-1, 0, 0.7, 2];
/** d/dθ E[(z - 0.3)^2] = d/dθ [0.09 + 0.4 σ(θ)] = 0.4 σ(θ)(1 - σ(θ)); the other elements do not depend on θ_i. */
const exact = theta.map((t) => 0.4 * sigmoid(t) * (1 - sigmoid(t)));

/** Per-element sample mean and standard error of the mean. */
function meanAndSe(samples: number[][]): { mean: number[]; se: number[] } {
  const n = samples.length;
  const k = samples[0]!.length;
  const mean = Array.from({ length: k }, (_, j) => samples.reduce((a, s) => a + s[j]!, 0) / n);
  const se = mean.map((m, j) => Math.sqrt(samples.reduce((a, s) => a + (s[j]! - m) ** 2, 0) / (n - 1) / n));
  return { mean, se };
}

const SEEDS = 8000;

describe("REINFORCE as an estimator for bernoulli", () => {
  it(`its mean over ${SEEDS} seeds matches 0.4 σ(θ)(1 - σ(θ)) within 3 standard errors`, () => {
    const fn = compileFn(SRC, "obj");
    const samples: number[][] = [];
    for (let seed = 0; seed < SEEDS; seed++) samples.push(evalValueAndGrad(fn, { theta }, { seed }).grads["theta"]!);
    const { mean, se } = meanAndSe(samples);
    mean.forEach((m, j) => {
      expect(se[j]!, `element ${j}: the estimate must vary from seed to seed`).toBeGreaterThan(1e-3);
      expect(Math.abs(m - exact[j]!), `θ = ${theta[j]}: mean ${m} ± ${se[j]} vs exact ${exact[j]}`).toBeLessThan(3 * se[j]!);
    });
  });

  it("each seed's gradient is cost · (z - σ(θ)), with z the very draw of the forward", () => {
    const fn = compileFn(SRC, "obj");
    const draw = compileFn(SRC, "draw");
    let ones = 0;
    for (let seed = 0; seed < 64; seed++) {
      const z = evalVjp(draw, { theta }, undefined, { seed }).outputs[0]!;
      const { value, grads } = evalValueAndGrad(fn, { theta }, { seed });
      expect(value).toBeCloseTo(z.reduce((a, v) => a + (v - 0.3) ** 2, 0), 12);
      grads["theta"]!.forEach((gv, j) => expect(gv).toBeCloseTo(value * (z[j]! - sigmoid(theta[j]!)), 12));
      ones += z.reduce((a, v) => a + v, 0);
    }
    // Both outcomes occur (so the check above saw z = 0 and z = 1).
    expect(ones).toBeGreaterThan(0);
    expect(ones).toBeLessThan(64 * theta.length);
  });

  it("stays unbiased with a constant baseline, and the baseline lowers the variance", () => {
    const fn = compileFn(SRC, "objBaseline");
    const n = 2000;
    const run = (base: number) => {
      const samples: number[][] = [];
      for (let seed = 0; seed < n; seed++) samples.push(evalValueAndGrad(fn, { theta }, { seed, scalars: { base } }).grads["theta"]!);
      return meanAndSe(samples);
    };
    const none = run(0);
    // E[cost] = Σ 0.09 + 0.4 σ(θ_i) ≈ 1.37: subtracting about that much shrinks the spread.
    const withBase = run(1.37);
    withBase.mean.forEach((m, j) => {
      expect(Math.abs(m - exact[j]!), `θ = ${theta[j]}: mean ${m} ± ${withBase.se[j]} vs exact ${exact[j]}`).toBeLessThan(3 * withBase.se[j]!);
      expect(withBase.se[j]!).toBeLessThan(none.se[j]!);
    });
  });

  it("the draws are Bernoulli(σ(θ)): their frequencies match σ(θ) within 3 standard errors", () => {
    const draw = compileFn(SRC, "draw");
    const samples: number[][] = [];
    for (let seed = 0; seed < SEEDS; seed++) samples.push(evalVjp(draw, { theta }, undefined, { seed }).outputs[0]!);
    const { mean } = meanAndSe(samples);
    mean.forEach((m, j) => {
      const p = sigmoid(theta[j]!);
      expect(Math.abs(m - p)).toBeLessThan(3 * Math.sqrt((p * (1 - p)) / SEEDS));
    });
  });

  it("plain autodiff through bernoulli gives a zero gradient: the estimator is what makes it work", () => {
    const fn = compileFn(SRC, "plain");
    for (let seed = 0; seed < 20; seed++) {
      const { value, grads } = evalValueAndGrad(fn, { theta }, { seed });
      expect(value).toBeGreaterThan(0);
      expect(grads["theta"]).toEqual([0, 0, 0, 0]);
    }
  });

  it("reading cost in a fn without a scalar result is a compile-time error (E4030)", () => {
    const src = `estimator REINFORCE for bernoulli(p) { grad p = cost * (out - p) / (p * (1 - p)) }
      fn vec(theta: f32[N]) -> f32[N] { return bernoulli(sigmoid(theta)) backward REINFORCE }`;
    expect(() => compileFn(src, "vec")).toThrow(/E4030/);
  });
});
