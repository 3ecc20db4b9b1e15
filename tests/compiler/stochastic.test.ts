/**
 * The score-function and pathwise estimators of std/stochastic (ReinforceBernoulli,
 * ReinforceNormal, ReinforceCategorical, ReinforceUnitBaseline, ReparamNormal) and its log-prob
 * helpers, one seed at a time on every evaluator (f64 reference, generated CPU module, WebGPU):
 * the draw is read from a twin fn whose only sampling site is the same first site (so it sees the
 * same Philox numbers), and the gradient must equal the papers' formula evaluated by hand on that
 * draw and the returned cost — including p = 0 and p = 1, where the written-out score
 * (z - p)/(p(1 - p)) would be 0/0.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const SRC = `
import { ReinforceBernoulli, ReinforceNormal, ReinforceCategorical, categorical_onehot, ReinforceUnitBaseline, bernoulli_baselined, ReparamNormal, bernoulli_logp, categorical_logp, normal_logp } from "std/stochastic"

fn bern(theta: f32[N], t: f32[N], base: f32 = 0.0) -> f32 {
  let z = bernoulli(sigmoid(theta)) backward ReinforceBernoulli(b = base)
  return sum((z - t) ^ 2)
}
fn bern_draw(theta: f32[N]) -> f32[N] { return bernoulli(sigmoid(theta)) }

fn bern_p(p: f32[N], t: f32[N]) -> f32 {
  let z = bernoulli(p) backward ReinforceBernoulli
  return sum((z - t) ^ 2)
}
fn bern_p_draw(p: f32[N]) -> f32[N] { return bernoulli(p) }

fn gauss(mu: f32[N], sigma: f32[N], base: f32 = 0.0) -> f32 {
  let z = normal(mu, sigma) backward ReinforceNormal(base)
  return sum(z * z * 0.5 + z)
}
fn gauss_shared(mu: f32[N], sigma: f32) -> f32 {
  let z = normal(mu, sigma) backward ReinforceNormal
  return sum(z * z * 0.5 + z)
}
fn gauss_draw(mu: f32[N], sigma: f32[N]) -> f32[N] { return normal(mu, sigma) }
fn gauss_shared_draw(mu: f32[N], sigma: f32) -> f32[N] { return normal(mu, sigma) }

fn cat(logits: f32[B, K], w: f32[B, K], base: f32 = 0.0) -> f32 {
  let y = categorical_onehot(logits) backward ReinforceCategorical(b = base)
  return sum(y * w)
}
fn cat_draw(logits: f32[B, K]) -> f32[B, K] { return categorical_onehot(logits) }

fn unit(theta: f32[B, N], base: f32[N], t: f32[B, N]) -> f32 {
  let z = bernoulli_baselined(sigmoid(theta), base) backward ReinforceUnitBaseline
  return sum((z - t) ^ 2)
}
fn unit_draw(theta: f32[B, N]) -> f32[B, N] { return bernoulli(sigmoid(theta)) }

fn reparam(mu: f32[N], sigma: f32[N]) -> f32[N] { return normal(mu, sigma) backward ReparamNormal }

fn logps(z: f32[S, N], logits: f32[S, N], y: f32[S, K], cl: f32[S, K], x: f32[S, N], mu: f32[S, N], sigma: f32[S, N]) -> f32[S] {
  return bernoulli_logp(z, logits) + 2 * categorical_logp(y, cl) + 3 * normal_logp(x, mu, sigma)
}
`;

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const close = (b: Backend, got: ArrayLike<number> | undefined, want: number[], what: string) => expectClose(got, want, tolerance(b), `${b}: ${what}`);
const vg = (b: Backend, name: string, inputs: Parameters<typeof run>[3], seed: number, scalars?: Record<string, number>) =>
  run(b, SRC, name, inputs, { valueAndGrad: true, seed, scalars });
const vec = (data: number[]) => ({ data, shape: [data.length] });

describe("ReinforceBernoulli: dp = (cost - b)(z - p)/(p(1 - p)), i.e. dθ = (cost - b)(z - σ(θ)) through a sigmoid", () => {
  const theta = [-2, -0.5, 0, 1.5, 30];
  const t = [0.25, 0.5, -1, 2, 0.75];
  for (const b of BACKENDS) {
    it(`${b}: three seeds, baseline 0 and 1.5`, async () => {
      const seen = new Set<number>();
      for (const seed of [3, 4, 5]) {
        const z = (await run(b, SRC, "bern_draw", { theta: vec(theta) }, { seed })).outputs[0]!;
        z.forEach((v, j) => (seen.add(v * 10 + j), expect(v === 0 || v === 1).toBe(true)));
        for (const base of [0, 1.5]) {
          const r = await vg(b, "bern", { theta: vec(theta), t: vec(t) }, seed, { base });
          const cost = z.reduce((a, v, j) => a + (v - t[j]!) ** 2, 0);
          close(b, r.outputs[0], [cost], "cost");
          // θ = 30: σ(θ) is 1 in f32 (and 1 - 1e-13 in f64): the draw is 1 and the gradient ~0, not NaN.
          close(b, r.grads["theta"], theta.map((th, j) => (cost - base) * (z[j]! - sigmoid(th))), `dθ, seed ${seed}, b = ${base}`);
          close(b, r.grads["t"], t.map((tv, j) => -2 * (z[j]! - tv)), `pathwise dt, seed ${seed}`);
        }
      }
      // Some unit with 0 < p < 1 drew both outcomes, so both branches of the score were checked.
      expect([0, 1, 2, 3].some((j) => seen.has(j) && seen.has(10 + j))).toBe(true);
    });
  }

  for (const b of BACKENDS) {
    it(`${b}: p = 0 and p = 1 give the finite limits -(cost - b) and (cost - b)`, async () => {
      const p = [0, 1, 0.5, 0.25];
      const t = [0.5, 0.5, 0, 1];
      const z = (await run(b, SRC, "bern_p_draw", { p: vec(p) }, { seed: 11 })).outputs[0]!;
      expect([z[0], z[1]]).toEqual([0, 1]);
      const r = await vg(b, "bern_p", { p: vec(p), t: vec(t) }, 11);
      const cost = z.reduce((a, v, j) => a + (v - t[j]!) ** 2, 0);
      close(b, r.grads["p"], p.map((pv, j) => cost * (z[j] === 1 ? 1 / pv : -1 / (1 - pv))), "dp");
    });
  }
});

describe("ReinforceNormal: dμ = (cost - b)(z - μ)/σ², dσ = (cost - b)((z - μ)² - σ²)/σ³", () => {
  const mu = [0, -1, 0.5, 2];
  const sigma = [1, 0.5, 2, 0.25];
  for (const b of BACKENDS) {
    it(`${b}: per-element σ, baseline 0 and -2; a shared scalar σ gets the summed cotangent`, async () => {
      const z = (await run(b, SRC, "gauss_draw", { mu: vec(mu), sigma: vec(sigma) }, { seed: 9 })).outputs[0]!;
      const cost = z.reduce((a, v) => a + 0.5 * v * v + v, 0);
      for (const base of [0, -2]) {
        const r = await vg(b, "gauss", { mu: vec(mu), sigma: vec(sigma) }, 9, { base });
        close(b, r.outputs[0], [cost], "cost");
        close(b, r.grads["mu"], mu.map((m, j) => ((cost - base) * (z[j]! - m)) / sigma[j]! ** 2), `dμ, b = ${base}`);
        close(b, r.grads["sigma"], sigma.map((s, j) => ((cost - base) * ((z[j]! - mu[j]!) ** 2 - s * s)) / s ** 3), `dσ, b = ${base}`);
      }
      const zs = (await run(b, SRC, "gauss_shared_draw", { mu: vec(mu), sigma: { data: [0.75], shape: [] } }, { seed: 2 })).outputs[0]!;
      const cs = zs.reduce((a, v) => a + 0.5 * v * v + v, 0);
      const rs = await vg(b, "gauss_shared", { mu: vec(mu), sigma: { data: [0.75], shape: [] } }, 2);
      const want = zs.reduce((a, v, j) => a + (cs * ((v - mu[j]!) ** 2 - 0.5625)) / 0.421875, 0);
      close(b, rs.grads["sigma"], [want], "dσ for a scalar σ: the sum over the elements");
    });
  }
});

describe("ReinforceCategorical on categorical_onehot: dlogits = (cost - b)(one_hot(z) - softmax(logits))", () => {
  const logits = [0, 1, -1, 0.5, 2, -3, 0, 0, 0, 1, -2, 0.25];
  const w = [1, -2, 0.5, 3, 0.25, -1, 2, 1, -0.5, 0, 4, 1.5];
  const softmaxRows = (l: number[], k: number) =>
    l.map((_, i) => {
      const row = l.slice(i - (i % k), i - (i % k) + k);
      const m = Math.max(...row);
      return Math.exp(l[i]! - m) / row.reduce((a, v) => a + Math.exp(v - m), 0);
    });
  for (const b of BACKENDS) {
    it(`${b}: 3 rows of 4 classes, baseline 0 and 0.7`, async () => {
      const input = { logits: { data: logits, shape: [3, 4] }, w: { data: w, shape: [3, 4] } };
      const y = (await run(b, SRC, "cat_draw", { logits: input.logits }, { seed: 21 })).outputs[0]!;
      for (let r = 0; r < 3; r++) expect(y.slice(4 * r, 4 * r + 4).sort()).toEqual([0, 0, 0, 1]);
      const cost = y.reduce((a, v, i) => a + v * w[i]!, 0);
      const p = softmaxRows(logits, 4);
      for (const base of [0, 0.7]) {
        const r = await vg(b, "cat", input, 21, { base });
        close(b, r.outputs[0], [cost], "cost");
        close(b, r.grads["logits"], p.map((pv, i) => (cost - base) * (y[i]! - pv)), `dlogits, b = ${base}`);
        close(b, r.grads["w"], y, "pathwise dw = the one-hot draw");
      }
    });
  }
});

describe("ReinforceUnitBaseline on bernoulli_baselined: dθ_bj = (cost - base_j)(z_bj - σ(θ_bj)); base gets 0", () => {
  const theta = [-1, 0, 1, 0.5, -0.5, 2];
  const base = [0.5, -1, 2];
  const t = [0, 1, 0.5, 1, 0, 0.25];
  for (const b of BACKENDS) {
    it(`${b}: a [2, 3] layer with one baseline per unit`, async () => {
      const z = (await run(b, SRC, "unit_draw", { theta: { data: theta, shape: [2, 3] } }, { seed: 5 })).outputs[0]!;
      const r = await vg(b, "unit", { theta: { data: theta, shape: [2, 3] }, base: vec(base), t: { data: t, shape: [2, 3] } }, 5);
      const cost = z.reduce((a, v, i) => a + (v - t[i]!) ** 2, 0);
      close(b, r.outputs[0], [cost], "cost");
      close(b, r.grads["theta"], theta.map((th, i) => (cost - base[i % 3]!) * (z[i]! - sigmoid(th))), "dθ");
      close(b, r.grads["base"], [0, 0, 0], "dbase");
    });
  }
});

describe("ReparamNormal: dμ = g, dσ = g (z - μ)/σ, and 0 at σ = 0", () => {
  const mu = [0, 1, -2, 0.5];
  const sigma = [1, 0.5, 3, 0];
  const ct = [1, -2, 0.5, 4];
  for (const b of BACKENDS) {
    it(`${b}: cotangent (1, -2, 0.5, 4)`, async () => {
      const z = (await run(b, SRC, "gauss_draw", { mu: vec(mu), sigma: vec(sigma) }, { seed: 13 })).outputs[0]!;
      expect(z[3]).toBe(0.5); // σ = 0: the draw is μ
      const r = await run(b, SRC, "reparam", { mu: vec(mu), sigma: vec(sigma) }, { ct: [ct], seed: 13 });
      close(b, r.outputs[0], z, "forward = the draw");
      close(b, r.grads["mu"], ct, "dμ");
      close(b, r.grads["sigma"], sigma.map((s, j) => (s === 0 ? 0 : (ct[j]! * (z[j]! - mu[j]!)) / s)), "dσ");
    });
  }
});

describe("log-probabilities: bernoulli_logp, categorical_logp, normal_logp (the draw held constant)", () => {
  const z = [1, 0, 0, 1];
  const logits = [0.5, -1, 2, 0];
  const y = [0, 1, 0, 1, 0, 0];
  const cl = [1, 0, -1, 0.5, 0.5, 2];
  const x = [0.5, -1, 2, 0];
  const mu = [0, 0, 1, -1];
  const sigma = [1, 2, 0.5, 1];
  const sp = (v: number) => Math.log1p(Math.exp(v));
  const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
  const inputs = {
    z: { data: z, shape: [2, 2] },
    logits: { data: logits, shape: [2, 2] },
    y: { data: y, shape: [2, 3] },
    cl: { data: cl, shape: [2, 3] },
    x: { data: x, shape: [2, 2] },
    mu: { data: mu, shape: [2, 2] },
    sigma: { data: sigma, shape: [2, 2] },
  };
  const bern = [0, 1].map((s) => [0, 1].reduce((a, j) => a + z[2 * s + j]! * logits[2 * s + j]! - sp(logits[2 * s + j]!), 0));
  const catl = [0, 1].map((s) => { const r = cl.slice(3 * s, 3 * s + 3); return r.reduce((a, v, k) => a + y[3 * s + k]! * (v - lse(r)), 0); });
  const norm = [0, 1].map((s) => [0, 1].reduce((a, j) => { const i = 2 * s + j; const e = (x[i]! - mu[i]!) / sigma[i]!; return a - 0.5 * e * e - Math.log(sigma[i]!) - 0.5 * Math.log(2 * Math.PI); }, 0));
  for (const b of BACKENDS) {
    it(`${b}: values and scores with cotangent (1, -1)`, async () => {
      const r = await run(b, SRC, "logps", inputs, { ct: [[1, -1]] });
      close(b, r.outputs[0], [0, 1].map((s) => bern[s]! + 2 * catl[s]! + 3 * norm[s]!), "value");
      const c = (i: number, per: number) => (Math.floor(i / per) === 0 ? 1 : -1);
      close(b, r.grads["logits"], logits.map((l, i) => c(i, 2) * (z[i]! - sigmoid(l))), "dlogits = z - σ");
      close(b, r.grads["cl"], cl.map((_, i) => { const s = Math.floor(i / 3); const row = cl.slice(3 * s, 3 * s + 3); return 2 * c(i, 3) * (y[i]! - Math.exp(cl[i]! - lse(row))); }), "dcl = y - softmax");
      close(b, r.grads["mu"], mu.map((m, i) => (3 * c(i, 2) * (x[i]! - m)) / sigma[i]! ** 2), "dμ = (x - μ)/σ²");
      close(b, r.grads["sigma"], sigma.map((s, i) => (3 * c(i, 2) * (((x[i]! - mu[i]!) / s) ** 2 - 1)) / s), "dσ = (e² - 1)/σ");
      for (const held of ["z", "y", "x"]) close(b, r.grads[held], r.grads[held]!.map(() => 0), `the draw ${held} gets no gradient`);
    });
  }
});
