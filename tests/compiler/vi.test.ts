/**
 * std/vi: elbo and iwelbo as formulas on every evaluator, then a complete Gaussian model with a
 * closed form, the docs' example (docs/stdlib/vi.md):
 *   prior z ~ N(μ, 1), likelihood x | z ~ N(z, 1), guide q(z) = N(m, s²);
 *   ELBO = -½ log 2π - ½(m - μ)² - ½(x - m)² - s² + ½ + log s,
 *   dELBO/dm = (μ - m) + (x - m), dELBO/ds = 1/s - 2s, dELBO/dμ = m - μ;
 *   log p(x) = log N(x; μ, 2) = -½ log 4π - (x - μ)²/4.
 * The REPARAM gradient of the ELBO (vectorised: every entry of [B, K] is an independent draw) and
 * the REINFORCE one (over seeds) must be unbiased within 3 standard errors; the ELBO estimate must
 * match the closed form, and the IWELBO with K = 8 must lie above the ELBO and below log p(x).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { compileFn } from "../helpers/compile.js";
import { evalValueAndGrad, evalVjp } from "../helpers/gradcheck.js";
import { expectClose } from "../helpers/expect.js";

const FORMULAS = `
import { elbo, iwelbo, normal_logpdf, bernoulli_logpmf } from "std/vi"
fn objectives(logp: f32[B, K], logq: f32[B, K]) -> (f32, f32) { return (elbo(logp, logq), iwelbo(logp, logq)) }
fn densities(x: f32[B, K], mu: f32[B, K], sigma: f32[B, K], z: f32[B, K], logits: f32[B, K]) -> (f32[B, K], f32[B, K]) {
  return (normal_logpdf(x, mu, sigma), bernoulli_logpmf(z, logits))
}
`;

const MODEL = `
import { ReparamNormal, ReinforceNormal } from "std/stochastic"
import { elbo, iwelbo, normal_logpdf } from "std/vi"

fn log_weights(z: f32[B, K], x: f32[B, K], m: f32[B, K], s: f32[B, K], mu: f32[B, K]) -> f32[B, K] {
  let one = 1 + 0 * sg(m)
  return normal_logpdf(z, mu, one) + normal_logpdf(x, z, one) - normal_logpdf(z, m, s)
}
fn elbo_reparam(x: f32[B, K], m: f32[B, K], s: f32[B, K], mu: f32[B, K]) -> f32 {
  let z = normal(m, s) backward ReparamNormal
  let one = 1 + 0 * sg(m)
  return elbo(normal_logpdf(z, mu, one) + normal_logpdf(x, z, one), normal_logpdf(z, m, s))
}
fn elbo_reinforce(x: f32[B, K], m: f32[B, K], s: f32[B, K], mu: f32[B, K]) -> f32 {
  let z = normal(m, s) backward ReinforceNormal
  let one = 1 + 0 * sg(m)
  return elbo(normal_logpdf(z, mu, one) + normal_logpdf(x, z, one), normal_logpdf(z, m, s))
}
fn iwelbo_reparam(x: f32[B, K], m: f32[B, K], s: f32[B, K], mu: f32[B, K]) -> f32 {
  let z = normal(m, s) backward ReparamNormal
  let one = 1 + 0 * sg(m)
  return iwelbo(normal_logpdf(z, mu, one) + normal_logpdf(x, z, one), normal_logpdf(z, m, s))
}
fn logw_draw(x: f32[B, K], m: f32[B, K], s: f32[B, K], mu: f32[B, K]) -> f32[B, K] {
  return log_weights(normal(m, s), x, m, s, mu)
}
`;

const lse = (r: number[]) => {
  const mx = Math.max(...r);
  return mx + Math.log(r.reduce((a, v) => a + Math.exp(v - mx), 0));
};

describe("elbo = mean(log p - log q), iwelbo = mean_b(logsumexp_k(log p - log q) - log K)", () => {
  const logp = [-1, -2.5, 0.5, -3, 1000, 998, 1001, 999.5];
  const logq = [-0.5, -1, -2, 0, 0, 1, -1, 0.5];
  const w = logp.map((v, i) => v - logq[i]!);
  const rowsW = [w.slice(0, 4), w.slice(4)];
  const iw = rowsW.map((r) => lse(r) - Math.log(4));
  for (const b of BACKENDS) {
    it(`${b}: values (large log-weights do not overflow) and gradients`, async () => {
      const r = await run(b, FORMULAS, "objectives", { logp: { data: logp, shape: [2, 4] }, logq: { data: logq, shape: [2, 4] } }, { ct: [[1], [1]] });
      expectClose(r.outputs[0], [w.reduce((a, v) => a + v, 0) / 8], tolerance(b), `${b}: elbo`);
      expectClose(r.outputs[1], [(iw[0]! + iw[1]!) / 2], tolerance(b), `${b}: iwelbo`);
      // d/dlogp = 1/8 (elbo) + softmax_k(w_b)/2 (iwelbo: the normalised importance weights over B = 2).
      const soft = rowsW.flatMap((r) => r.map((v) => Math.exp(v - lse(r))));
      expectClose(r.grads["logp"], soft.map((s) => 1 / 8 + s / 2), tolerance(b), `${b}: dlogp`);
      expectClose(r.grads["logq"], soft.map((s) => -1 / 8 - s / 2), tolerance(b), `${b}: dlogq`);
    });
  }
  for (const b of BACKENDS) {
    it(`${b}: normal_logpdf and bernoulli_logpmf elementwise`, async () => {
      const x = [0.5, -1, 2, 0];
      const mu = [0, 0, 1, -1];
      const sigma = [1, 2, 0.5, 1];
      const z = [1, 0, 0, 1];
      const lg = [0.5, -1, 30, -30];
      const m = (d: number[]) => ({ data: d, shape: [2, 2] });
      const r = await run(b, FORMULAS, "densities", { x: m(x), mu: m(mu), sigma: m(sigma), z: m(z), logits: m(lg) }, { ct: [[1, 1, 1, 1], [1, 1, 1, 1]] });
      expectClose(r.outputs[0], x.map((v, i) => -0.5 * ((v - mu[i]!) / sigma[i]!) ** 2 - Math.log(sigma[i]!) - 0.5 * Math.log(2 * Math.PI)), tolerance(b), `${b}: normal`);
      expectClose(r.outputs[1], z.map((v, i) => v * lg[i]! - Math.log1p(Math.exp(lg[i]!))), tolerance(b), `${b}: bernoulli`);
      expectClose(r.grads["x"], x.map((v, i) => -(v - mu[i]!) / sigma[i]! ** 2), tolerance(b), `${b}: dx`);
      expectClose(r.grads["logits"], z.map((v, i) => v - 1 / (1 + Math.exp(-lg[i]!))), tolerance(b), `${b}: dlogits`);
    });
  }
});

describe("a Gaussian model: z ~ N(μ, 1), x | z ~ N(z, 1), guide N(m, s²)", () => {
  const [x, mu, m, s] = [1.5, 0.5, 0.2, 0.8];
  const closedElbo = -0.5 * Math.log(2 * Math.PI) - 0.5 * (m - mu) ** 2 - 0.5 * (x - m) ** 2 - s * s + 0.5 + Math.log(s);
  const logEvidence = -0.5 * Math.log(4 * Math.PI) - (x - mu) ** 2 / 4;
  const exact = { m: mu - m + (x - m), s: 1 / s - 2 * s, mu: m - mu };
  const filled = (B: number, K: number) => {
    const f = (v: number) => new Array<number>(B * K).fill(v);
    return { x: f(x), m: f(m), s: f(s), mu: f(mu) };
  };
  const meanSe = (v: number[]) => {
    const mean = v.reduce((a, u) => a + u, 0) / v.length;
    return { mean, se: Math.sqrt(v.reduce((a, u) => a + (u - mean) ** 2, 0) / (v.length - 1) / v.length) };
  };
  const within3 = (v: number[], want: number, what: string) => {
    const { mean, se } = meanSe(v);
    expect(se, `${what} varies`).toBeGreaterThan(1e-4);
    expect(Math.abs(mean - want), `${what}: ${mean} ± ${se} vs ${want}`).toBeLessThan(3 * se);
  };

  it("the ELBO estimate matches the closed form; its REPARAM gradient is unbiased (4000 draws in one call)", () => {
    const [B, K] = [1, 4000];
    const env = { seed: 1, dims: { B, K } };
    const logw = evalVjp(compileFn(MODEL, "logw_draw"), filled(B, K), undefined, env).outputs[0]!;
    within3(logw, closedElbo, "log-weights");
    const r = evalValueAndGrad(compileFn(MODEL, "elbo_reparam"), filled(B, K), env);
    expect(r.value).toBeCloseTo(logw.reduce((a, v) => a + v, 0) / K, 10); // the same draws
    // elbo is a mean over B·K entries: B·K times an entry's gradient is that draw's own estimate.
    for (const p of ["m", "s", "mu"] as const) within3(r.grads[p]!.map((g) => g * B * K), exact[p], `d/d${p}`);
  });

  it("the REINFORCE gradient of the same ELBO (the estimator chosen at the site) is unbiased too", () => {
    const [B, K] = [1, 4];
    const fn = compileFn(MODEL, "elbo_reinforce");
    const est: Record<string, number[]> = { m: [], s: [], mu: [] };
    for (let seed = 0; seed < 3000; seed++) {
      const r = evalValueAndGrad(fn, filled(B, K), { seed, dims: { B, K } });
      for (const p of ["m", "s", "mu"] as const) est[p]!.push(r.grads[p]!.reduce((a, v) => a + v, 0));
    }
    for (const p of ["m", "s", "mu"] as const) within3(est[p]!, exact[p], `d/d${p}`);
  });

  it("IWELBO (K = 8) lies above the ELBO and below log p(x) on average; K = 1 is the ELBO", () => {
    const [B, K] = [500, 8];
    const env = { seed: 4, dims: { B, K } };
    const logw = evalVjp(compileFn(MODEL, "logw_draw"), filled(B, K), undefined, env).outputs[0]!;
    const perRow = Array.from({ length: B }, (_, b) => lse(logw.slice(b * K, b * K + K)) - Math.log(K));
    const iw = evalValueAndGrad(compileFn(MODEL, "iwelbo_reparam"), filled(B, K), env);
    expect(iw.value).toBeCloseTo(perRow.reduce((a, v) => a + v, 0) / B, 10);
    const { mean, se } = meanSe(perRow);
    expect(mean - closedElbo, `IWELBO ${mean} ± ${se} vs ELBO ${closedElbo}`).toBeGreaterThan(3 * se);
    expect(mean - logEvidence, `IWELBO ${mean} ± ${se} vs log p(x) ${logEvidence}`).toBeLessThan(3 * se);
    const one = { seed: 4, dims: { B: 6, K: 1 } };
    const a = evalValueAndGrad(compileFn(MODEL, "iwelbo_reparam"), filled(6, 1), one);
    const e = evalValueAndGrad(compileFn(MODEL, "elbo_reparam"), filled(6, 1), one);
    expect(a.value).toBeCloseTo(e.value, 12);
    a.grads["m"]!.forEach((g, i) => expect(g).toBeCloseTo(e.grads["m"]![i]!, 12));
  });
});
