/**
 * Unbiasedness of std/stochastic's estimators against closed-form gradients of an expectation:
 * the mean over many independent estimates must lie within 3 standard errors of the exact value,
 * and the spread must be real (a constant estimate would pass trivially). All on the f64
 * reference evaluator. Pathwise estimators (ReparamNormal, MVD, the relaxations) are vectorised
 * over a leading sample axis: each row draws independently and its gradient involves only its
 * own draw. Score-function estimators read the fn's one scalar cost, which mixes every row's
 * cost into every row's gradient, so they loop over seeds instead (cheap on the f64 evaluator).
 *
 * The Bernoulli problem: θ ∈ R^N, z_j ~ Bernoulli(σ(θ_j)), f(z, θ) = Σ_j (z_j - u_j)², u = t + θ/2,
 * so θ enters the cost directly (a pathwise part) as well as through the draw:
 *   E f = Σ_j p_j (1 - u_j)² + (1 - p_j) u_j²,   dE f/dθ_j = σ'(θ_j)(1 - 2u_j) + u_j - p_j.
 */
import { describe, expect, it } from "vitest";
import { minVarianceBaseline, movingAverageBaseline } from "estc/runtime";
import { compileFn } from "../helpers/compile.js";
import { evalValueAndGrad, evalVjp } from "../helpers/gradcheck.js";

const IMPORT = `import { ReinforceBernoulli, ReinforceNormal, ReinforceCategorical, categorical_onehot, ReinforceUnitBaseline, bernoulli_baselined, ReparamNormal, bernoulli_logp, reinforce_surrogate, reinforce_loo, reinforce_minvar_bernoulli, enum_bernoulli, mvd_bernoulli, relaxed_bernoulli_st, sts, gumbel_st, noisy_rectifier } from "std/stochastic"\n`;
const SRC =
  IMPORT +
  `
fn bern(theta: f32[N], t: f32[N], base: f32 = 0.0) -> f32 {
  let z = bernoulli(sigmoid(theta)) backward ReinforceBernoulli(b = base)
  return sum((z - t - 0.5 * theta) ^ 2)
}
fn bern_unit(theta: f32[B, N], base: f32[N], t: f32[B, N]) -> f32 {
  let z = bernoulli_baselined(sigmoid(theta), base) backward ReinforceUnitBaseline
  return sum((z - t - 0.5 * theta) ^ 2)
}
fn bern_draw(theta: f32[N]) -> f32[N] { return bernoulli(sigmoid(theta)) }
fn rows_f(z: f32[S, N], theta: f32[S, N], t: f32[S, N]) -> f32[S] { return sum((z - t - 0.5 * theta) ^ 2, axis = 1) }
fn surr(theta: f32[S, N], t: f32[S, N], b: f32 = 0.0) -> f32 {
  let z = bernoulli(sigmoid(theta))
  return reinforce_surrogate(rows_f(z, theta, t), bernoulli_logp(z, theta), b = b)
}
fn loo(theta: f32[S, N], t: f32[S, N]) -> f32 {
  let z = bernoulli(sigmoid(theta))
  return reinforce_loo(rows_f(z, theta, t), bernoulli_logp(z, theta))
}
fn minvar(theta: f32[S, N], t: f32[S, N]) -> f32 {
  let z = bernoulli(sigmoid(theta))
  return reinforce_minvar_bernoulli(rows_f(z, theta, t), z, theta)
}
fn enumerated(theta: f32[S, N], t: f32[S, N]) -> f32 {
  let u = t + 0.5 * theta
  return sum(enum_bernoulli(sigmoid(theta), (1 - u) ^ 2, u ^ 2))
}
fn mvd(theta: f32[S, N], t: f32[S, N]) -> f32 {
  let u = t + 0.5 * theta
  return sum(mvd_bernoulli(sigmoid(theta), (1 - u) ^ 2, u ^ 2))
}
fn relaxed_st(theta: f32[S, N], t: f32[S, N], tau: f32 = 1.0) -> f32 {
  return sum((relaxed_bernoulli_st(theta, tau = tau) - t - 0.5 * theta) ^ 2)
}
fn gauss_sf(mu: f32[N], sigma: f32[N], t: f32[N]) -> f32 {
  let z = normal(mu, sigma) backward ReinforceNormal
  return sum((z - t) ^ 2 + mu * z)
}
fn gauss_rp(mu: f32[S, N], sigma: f32[S, N], t: f32[S, N]) -> f32 {
  let z = normal(mu, sigma) backward ReparamNormal
  return sum((z - t) ^ 2 + mu * z)
}
fn cat(logits: f32[B, K], w: f32[B, K]) -> f32 {
  let y = categorical_onehot(logits) backward ReinforceCategorical
  return sum(y * w + 0.5 * y * logits)
}
fn draws(a: f32[S, N], l: f32[S, K]) -> (f32[S, N], f32[S, N], f32[S, N], f32[S, K], f32[S, K]) {
  return (sts(a), noisy_rectifier(a), relaxed_bernoulli_st(a), gumbel_st(l), categorical_onehot(l))
}
fn sts_f(a: f32[S, N], t: f32[S, N]) -> f32 { return sum((sts(a) - t) ^ 2) }
`;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const theta = [-1, 0, 0.7, 2];
const t = [0.3, 0.8, -0.5, 1.2];
const N = theta.length;
const u = theta.map((th, j) => t[j]! + 0.5 * th);
const exactTheta = theta.map((th, j) => sigmoid(th) * (1 - sigmoid(th)) * (1 - 2 * u[j]!) + u[j]! - sigmoid(th));
const expectedF = theta.reduce((a, th, j) => a + sigmoid(th) * (1 - u[j]!) ** 2 + (1 - sigmoid(th)) * u[j]! ** 2, 0);

/** Per-coordinate mean and standard error of the mean over rows of samples. */
function stats(samples: number[][]): { mean: number[]; se: number[] } {
  const n = samples.length;
  const mean = samples[0]!.map((_, j) => samples.reduce((a, s) => a + s[j]!, 0) / n);
  const se = mean.map((m, j) => Math.sqrt(samples.reduce((a, s) => a + (s[j]! - m) ** 2, 0) / (n - 1) / n));
  return { mean, se };
}

function expectUnbiased(samples: number[][], exact: number[], what: string): { mean: number[]; se: number[] } {
  const s = stats(samples);
  s.mean.forEach((m, j) => {
    expect(s.se[j]!, `${what}[${j}]: the estimate must vary`).toBeGreaterThan(1e-4);
    expect(Math.abs(m - exact[j]!), `${what}[${j}]: mean ${m} ± ${s.se[j]} vs exact ${exact[j]}`).toBeLessThan(3 * s.se[j]!);
  });
  return s;
}

/** Rows [S, N] of `theta`-like data repeated S times. */
const repeat = (v: number[], S: number) => Array.from({ length: S }, () => v).flat();
/** Sums a flat [S, N] gradient over its rows: the gradient of the shared parameter. */
const sumRows = (g: number[], S: number, n: number) => Array.from({ length: n }, (_, j) => Array.from({ length: S }, (_, i) => g[i * n + j]!).reduce((a, v) => a + v, 0));
/** Splits a flat [S, N] gradient into S per-row samples. */
const rows = (g: number[], n: number) => Array.from({ length: g.length / n }, (_, i) => g.slice(i * n, i * n + n));

const SEEDS = 3000;

describe("REINFORCE for bernoulli with each baseline is unbiased (score + pathwise part)", () => {
  const fn = compileFn(SRC, "bern");
  const loopEstimates = (base: (seed: number) => number, after?: (value: number) => void) => {
    const out: number[][] = [];
    for (let seed = 0; seed < SEEDS; seed++) {
      const r = evalValueAndGrad(fn, { theta, t }, { seed, scalars: { base: base(seed) } });
      out.push(r.grads["theta"]!);
      after?.(r.value);
    }
    return out;
  };
  it("none, a constant b = E f, and a moving average updated after every step (decay 0.95)", () => {
    const none = expectUnbiased(loopEstimates(() => 0), exactTheta, "b = 0");
    const constant = expectUnbiased(loopEstimates(() => expectedF), exactTheta, "b = E f");
    const ma = movingAverageBaseline();
    const moving = expectUnbiased(loopEstimates(() => ma.value, (v) => ma.update(v)), exactTheta, "moving average");
    expect(Math.abs(ma.value - expectedF)).toBeLessThan(0.5);
    // The baselines remove variance: their standard errors are smaller.
    none.se.forEach((s, j) => {
      expect(constant.se[j]!).toBeLessThan(s);
      expect(moving.se[j]!).toBeLessThan(s);
    });
  });

  it("a per-unit minimum-variance baseline kept by minVarianceBaseline (Bengio et al. 2013)", () => {
    const unit = compileFn(SRC, "bern_unit");
    const draw = compileFn(SRC, "bern_draw");
    const tracker = minVarianceBaseline(N, 0.995);
    const p = theta.map(sigmoid);
    const out: number[][] = [];
    for (let seed = 0; seed < SEEDS; seed++) {
      const r = evalValueAndGrad(unit, { theta, base: Array.from(tracker.value), t }, { seed, dims: { B: 1, N } });
      out.push(r.grads["theta"]!);
      const z = evalVjp(draw, { theta }, undefined, { seed }).outputs[0]!;
      tracker.update(z, p, r.value);
    }
    expectUnbiased(out, exactTheta, "min-variance");
    // The tracked ratio converges to E[(z - p)² f]/E[(z - p)²] per unit (computed exactly here).
    const ratio = theta.map((_, j) => {
      const pj = p[j]!;
      const others = theta.reduce((a, th, k) => (k === j ? a : a + sigmoid(th) * (1 - u[k]!) ** 2 + (1 - sigmoid(th)) * u[k]! ** 2), 0);
      const w1 = (1 - pj) ** 2 * pj;
      const w0 = pj * pj * (1 - pj);
      return (w1 * ((1 - u[j]!) ** 2 + others) + w0 * (u[j]! ** 2 + others)) / (w1 + w0);
    });
    Array.from(tracker.value).forEach((v, j) => expect(Math.abs(v - ratio[j]!), `unit ${j}: ${v} vs ${ratio[j]}`).toBeLessThan(0.3));
  });
});

describe("REINFORCE surrogates over S = 4 samples are unbiased: constant b, leave-one-out, min-variance LOO", () => {
  const S = 4;
  const inputs = { theta: repeat(theta, S), t: repeat(t, S) };
  const estimates = (name: string, scalars?: Record<string, number>) => {
    const fn = compileFn(SRC, name);
    const out: number[][] = [];
    for (let seed = 0; seed < 2000; seed++) out.push(sumRows(evalValueAndGrad(fn, inputs, { seed, dims: { S, N }, scalars }).grads["theta"]!, S, N));
    return out;
  };
  it("reinforce_surrogate with b = 0 and b = 1.5, reinforce_loo, reinforce_minvar_bernoulli", () => {
    const plain = expectUnbiased(estimates("surr"), exactTheta, "surrogate b = 0");
    expectUnbiased(estimates("surr", { b: 1.5 }), exactTheta, "surrogate b = 1.5");
    const loo = expectUnbiased(estimates("loo"), exactTheta, "leave-one-out");
    const mv = expectUnbiased(estimates("minvar"), exactTheta, "min-variance LOO");
    plain.se.forEach((s, j) => {
      expect(loo.se[j]!).toBeLessThan(s);
      expect(mv.se[j]!).toBeLessThan(s);
    });
  });

  it("the value of each surrogate is mean(f), an unbiased estimate of E f", () => {
    const fn = compileFn(SRC, "loo");
    const values: number[][] = [];
    for (let seed = 0; seed < 500; seed++) values.push([evalValueAndGrad(fn, inputs, { seed, dims: { S, N } }).value]);
    expectUnbiased(values, [expectedF], "mean(f)");
  });
});

describe("ENUM is exact and MVD unbiased (vectorised over rows)", () => {
  it("enum_bernoulli: the value is E f and the gradient the exact dE f/dθ", () => {
    const r = evalValueAndGrad(compileFn(SRC, "enumerated"), { theta, t }, { dims: { S: 1, N } });
    expect(r.value).toBeCloseTo(expectedF, 12);
    r.grads["theta"]!.forEach((g, j) => expect(g).toBeCloseTo(exactTheta[j]!, 12));
  });

  it("mvd_bernoulli: per-row gradients average to dE f/dθ", () => {
    const S = 4000;
    const fn = compileFn(SRC, "mvd");
    const r = evalValueAndGrad(fn, { theta: repeat(theta, S), t: repeat(t, S) }, { seed: 1, dims: { S, N } });
    expectUnbiased(rows(r.grads["theta"]!, N), exactTheta, "MVD");
  });
});

describe("REPARAM and REINFORCE for normal, REINFORCE for a categorical", () => {
  // f = Σ (z - t)² + μ z, z ~ N(μ, σ²): E f = Σ (μ - t)² + σ² + μ², dE/dμ = 2(μ - t) + 2μ, dE/dσ = 2σ.
  const mu = [0, 1, -0.5];
  const sigma = [1, 0.5, 2];
  const tn = [0.5, -1, 0];
  const exactMu = mu.map((m, j) => 2 * (m - tn[j]!) + 2 * m);
  const exactSigma = sigma.map((s) => 2 * s);
  it("ReparamNormal, 4000 rows in one call", () => {
    const S = 4000;
    const r = evalValueAndGrad(compileFn(SRC, "gauss_rp"), { mu: repeat(mu, S), sigma: repeat(sigma, S), t: repeat(tn, S) }, { seed: 3, dims: { S, N: 3 } });
    expectUnbiased(rows(r.grads["mu"]!, 3), exactMu, "dμ");
    expectUnbiased(rows(r.grads["sigma"]!, 3), exactSigma, "dσ");
  });
  it("ReinforceNormal over seeds", () => {
    const fn = compileFn(SRC, "gauss_sf");
    const gm: number[][] = [];
    const gs: number[][] = [];
    for (let seed = 0; seed < 6000; seed++) {
      const r = evalValueAndGrad(fn, { mu, sigma, t: tn }, { seed });
      gm.push(r.grads["mu"]!);
      gs.push(r.grads["sigma"]!);
    }
    expectUnbiased(gm, exactMu, "dμ");
    expectUnbiased(gs, exactSigma, "dσ");
  });
  it("ReinforceCategorical over seeds: f = Σ y ⊙ (w + l/2), dE/dl = p ⊙ (c - p·c) + p/2, c = w + l/2", () => {
    const logits = [0.5, -1, 0, 1];
    const w = [1, -2, 0.5, 3];
    const m = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - m));
    const p = e.map((v) => v / e.reduce((a, x) => a + x, 0));
    const c = w.map((v, k) => v + 0.5 * logits[k]!);
    const ec = p.reduce((a, v, k) => a + v * c[k]!, 0);
    const exact = p.map((v, k) => v * (c[k]! - ec) + 0.5 * v);
    const fn = compileFn(SRC, "cat");
    const out: number[][] = [];
    for (let seed = 0; seed < SEEDS; seed++) out.push(evalValueAndGrad(fn, { logits, w }, { seed, dims: { B: 1, K: 4 } }).grads["logits"]!);
    expectUnbiased(out, exact, "dlogits");
  });
});

describe("biased estimators: the bias is measurable", () => {
  const S = 4000;
  const far = (samples: number[][], exact: number[], what: string) => {
    const s = stats(samples);
    const z = s.mean.map((m, j) => Math.abs(m - exact[j]!) / s.se[j]!);
    expect(Math.max(...z), `${what}: |mean - exact| / SE per coordinate: ${z.map((v) => v.toFixed(1)).join(", ")}`).toBeGreaterThan(8);
  };
  it("straight-through relaxed Bernoulli (τ = 1) misses dE f/dθ", () => {
    const r = evalValueAndGrad(compileFn(SRC, "relaxed_st"), { theta: repeat(theta, S), t: repeat(t, S) }, { seed: 2, dims: { S, N } });
    far(rows(r.grads["theta"]!, N), exactTheta, "relaxed ST");
  });
  it("stochastic-times-smooth misses d/da E (h - t)², h = b √σ(a), b ~ Bernoulli(√σ(a))", () => {
    // E (h - t)² = √p (√p - t)² + (1 - √p) t² = p√p - 2pt + t², p = σ(a).
    const a = [-1, 0, 1, 2];
    const ta = [0.2, 0.5, 0.9, 0.1];
    const exact = a.map((v, j) => {
      const p = sigmoid(v);
      return (1.5 * Math.sqrt(p) - 2 * ta[j]!) * p * (1 - p);
    });
    const r = evalValueAndGrad(compileFn(SRC, "sts_f"), { a: repeat(a, S), t: repeat(ta, S) }, { seed: 5, dims: { S, N } });
    far(rows(r.grads["a"]!, N), exact, "STS");
  });
});

describe("the draws have the documented distributions (4000 rows in one call)", () => {
  it("STS: E h = σ(a); noisy rectifier: P(h > 0) = σ(a), E h = softplus(a); ST draws: frequencies σ(a) and softmax(l)", () => {
    const S = 4000;
    const a = [-1, 0, 1, 2];
    const l = [0.5, -1, 0, 1];
    const e = l.map((v) => Math.exp(v));
    const soft = e.map((v) => v / e.reduce((x, y) => x + y, 0));
    const r = evalVjp(compileFn(SRC, "draws"), { a: repeat(a, S), l: repeat(l, S) }, undefined, { seed: 9, dims: { S, N, K: 4 } });
    const col = (out: number, map: (v: number) => number) => rows(r.outputs[out]!, 4).map((row) => row.map(map));
    expectUnbiased(col(0, (v) => v), a.map(sigmoid), "STS E h");
    expectUnbiased(col(1, (v) => (v > 0 ? 1 : 0)), a.map(sigmoid), "noisy rectifier P(h > 0)");
    expectUnbiased(col(1, (v) => v), a.map((v) => Math.log1p(Math.exp(v))), "noisy rectifier E h");
    expectUnbiased(col(2, (v) => v), a.map(sigmoid), "relaxed Bernoulli ST frequency");
    expectUnbiased(col(3, (v) => v), soft, "Gumbel ST frequency");
    expectUnbiased(col(4, (v) => v), soft, "categorical_onehot frequency");
  });
});
