/**
 * The fns of std/stochastic on every evaluator (f64 reference, generated CPU module, WebGPU),
 * against the papers' formulas evaluated by hand: the REINFORCE surrogates (value mean(f), the
 * gradient with no baseline, a scalar baseline, the leave-one-out baseline and Bengio's
 * minimum-variance ratio in leave-one-out form), ENUM, MVD, Gumbel-softmax and its
 * straight-through form, the relaxed Bernoulli, the noisy rectifiers and stochastic-times-smooth.
 * Where a fn draws, the noise is read from a twin fn that draws at the same first site(s).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const SRC = `
import { reinforce_surrogate, reinforce_loo, reinforce_loo_rows, reinforce_minvar_bernoulli, enum_bernoulli, enum_categorical, mvd_bernoulli, gumbel_softmax, gumbel_st, relaxed_bernoulli, relaxed_bernoulli_st, noisy_rectifier, noisy_rectifier_normal, sts } from "std/stochastic"

fn surr(f: f32[S], logp: f32[S], b: f32 = 0.0) -> f32 { return reinforce_surrogate(f, logp, b = b) }
fn loo(f: f32[S], logp: f32[S]) -> f32 { return reinforce_loo(f, logp) }
fn loo_rows(f: f32[B, S], logp: f32[B, S]) -> f32 { return reinforce_loo_rows(f, logp) }
fn minvar(f: f32[S], z: f32[S, N], logits: f32[S, N]) -> f32 { return reinforce_minvar_bernoulli(f, z, logits) }
fn enums(p: f32[B, N], f1: f32[B, N], f0: f32[B, N], logits: f32[B, K], f: f32[B, K]) -> (f32[B, N], f32[B]) {
  return (enum_bernoulli(p, f1, f0), enum_categorical(logits, f))
}
fn mvd(p: f32[B, N], f1: f32[B, N], f0: f32[B, N]) -> f32[B, N] { return mvd_bernoulli(p, f1, f0) }
fn gs(logits: f32[B, K], tau: f32 = 1.0) -> (f32[B, K], f32[B, K]) { return (gumbel_softmax(logits, tau = tau), gumbel_st(logits, tau = tau)) }
fn gnoise(logits: f32[B, K]) -> (f32[B, K], f32[B, K]) { return (gumbel([B, K]), gumbel([B, K])) }
fn rb(logits: f32[B, N], tau: f32 = 1.0) -> f32[B, N] { return relaxed_bernoulli(logits, tau = tau) }
fn rbst(logits: f32[B, N], tau: f32 = 1.0) -> f32[B, N] { return relaxed_bernoulli_st(logits, tau = tau) }
fn lnoise(logits: f32[B, N]) -> f32[B, N] { return gumbel([B, N]) - gumbel([B, N]) }
fn nr(a: f32[B, N], s: f32 = 1.0) -> f32[B, N] { return noisy_rectifier(a, s = s) }
fn nrn(a: f32[B, N], sigma: f32 = 1.0) -> f32[B, N] { return noisy_rectifier_normal(a, sigma = sigma) }
fn nnoise(a: f32[B, N]) -> f32[B, N] { return normal(0 * a, 1.0) }
fn st(a: f32[B, N]) -> f32[B, N] { return sts(a) }
`;

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const close = (b: Backend, got: ArrayLike<number> | undefined, want: number[], what: string) => expectClose(got, want, tolerance(b), `${b}: ${what}`);
const vec = (data: number[]) => ({ data, shape: [data.length] });
const mat = (data: number[], rows: number) => ({ data, shape: [rows, data.length / rows] });
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe("REINFORCE surrogates over S samples: value mean(f), d/df_i = 1/S, d/dlogp_i = (f_i - b_i)/S", () => {
  const f = [1, 4, -2, 0.5];
  const logp = [-0.5, -1.25, -3, -0.125];
  const S = f.length;
  for (const b of BACKENDS) {
    it(`${b}: no baseline, b = 1.5, leave-one-out b_i = (Σf - f_i)/(S - 1)`, async () => {
      for (const base of [0, 1.5]) {
        const r = await run(b, SRC, "surr", { f: vec(f), logp: vec(logp) }, { valueAndGrad: true, scalars: { b: base } });
        close(b, r.outputs[0], [mean(f)], "value");
        close(b, r.grads["f"], f.map(() => 1 / S), "pathwise df");
        close(b, r.grads["logp"], f.map((v) => (v - base) / S), `dlogp, b = ${base}`);
      }
      const total = f.reduce((a, v) => a + v, 0);
      const r = await run(b, SRC, "loo", { f: vec(f), logp: vec(logp) }, { valueAndGrad: true });
      close(b, r.outputs[0], [mean(f)], "loo value");
      close(b, r.grads["f"], f.map(() => 1 / S), "loo pathwise df: the baseline is held constant");
      close(b, r.grads["logp"], f.map((v) => (v - (total - v) / (S - 1)) / S), "loo dlogp");
      // Rows of examples: each sample's baseline is the mean of its own row's other samples.
      const rr = await run(b, SRC, "loo_rows", { f: mat([...f, 2, 0, 1, -1], 2), logp: mat([...logp, 0, 0, 0, 0], 2) }, { valueAndGrad: true });
      const row2 = [2, 0, 1, -1];
      close(b, rr.grads["logp"], [...f.map((v) => (v - (total - v) / 3) / 8), ...row2.map((v) => (v - (2 - v) / 3) / 8)], "loo_rows dlogp");
      close(b, rr.grads["f"], new Array(8).fill(1 / 8), "loo_rows df");
      // One sample: no other sample to lean on, b = 0, plain REINFORCE.
      const one = await run(b, SRC, "loo", { f: vec([3]), logp: vec([-1]) }, { valueAndGrad: true });
      close(b, one.grads["logp"], [3], "S = 1");
    });
  }

  // Bengio et al. 2013's ratio b_ij = Σ_{k≠i} w_kj f_k / Σ_{k≠i} w_kj, w = (z - σ(logits))².
  const z = [1, 0, 0, 1, 1, 1, 0, 0, 1];
  const logits = [0.5, -1, 2, 0.5, -1, 2, 0.5, -1, 2];
  const fm = [2, -1, 0.5];
  for (const b of BACKENDS) {
    it(`${b}: minimum-variance baseline in leave-one-out form, 3 samples × 3 units`, async () => {
      const r = await run(b, SRC, "minvar", { f: vec(fm), z: mat(z, 3), logits: mat(logits, 3) }, { valueAndGrad: true });
      close(b, r.outputs[0], [mean(fm)], "value");
      close(b, r.grads["f"], fm.map(() => 1 / 3), "df");
      const w = z.map((v, i) => (v - sigmoid(logits[i]!)) ** 2);
      const want = z.map((v, i) => {
        const [s, j] = [Math.floor(i / 3), i % 3];
        let num = 0;
        let den = 0;
        for (let k = 0; k < 3; k++) if (k !== s) (num += w[3 * k + j]! * fm[k]!), (den += w[3 * k + j]!);
        return ((fm[s]! - num / (den + 1e-12)) * (v - sigmoid(logits[i]!))) / 3;
      });
      close(b, r.grads["logits"], want, "dlogits");
      close(b, r.grads["z"], z.map(() => 0), "dz");
    });
  }
});

describe("ENUM: enum_bernoulli = p f1 + (1 - p) f0, enum_categorical = Σ softmax(l)_k f_k, exact gradients", () => {
  const p = [0, 0.25, 1, 0.5];
  const f1 = [2, -1, 3, 0.5];
  const f0 = [1, 4, -2, 0.5];
  const l = [0, 1, -1, 2, 0.5, 0.5];
  const f = [1, 2, 3, -1, 0, 4];
  const sm = (row: number[]) => row.map((v) => Math.exp(v) / row.reduce((a, u) => a + Math.exp(u), 0));
  const soft = [...sm(l.slice(0, 3)), ...sm(l.slice(3))];
  for (const b of BACKENDS) {
    it(`${b}: values and vjp with cotangents (1, -1, 2, 0.5) and (1, -2)`, async () => {
      const inputs = { p: mat(p, 2), f1: mat(f1, 2), f0: mat(f0, 2), logits: mat(l, 2), f: mat(f, 2) };
      const cb = [1, -1, 2, 0.5];
      const cc = [1, -2];
      const r = await run(b, SRC, "enums", inputs, { ct: [cb, cc] });
      close(b, r.outputs[0], p.map((pv, i) => pv * f1[i]! + (1 - pv) * f0[i]!), "enum_bernoulli");
      const ev = [0, 1].map((row) => [0, 1, 2].reduce((a, k) => a + soft[3 * row + k]! * f[3 * row + k]!, 0));
      close(b, r.outputs[1], ev, "enum_categorical");
      close(b, r.grads["p"], p.map((_, i) => cb[i]! * (f1[i]! - f0[i]!)), "dp = f1 - f0");
      close(b, r.grads["f1"], p.map((pv, i) => cb[i]! * pv), "df1 = p");
      close(b, r.grads["f0"], p.map((pv, i) => cb[i]! * (1 - pv)), "df0 = 1 - p");
      close(b, r.grads["logits"], soft.map((s, i) => cc[Math.floor(i / 3)]! * s * (f[i]! - ev[Math.floor(i / 3)]!)), "dlogits = p ⊙ (f - E f)");
      close(b, r.grads["f"], soft.map((s, i) => cc[Math.floor(i / 3)]! * s), "df = softmax");
    });
  }
});

describe("MVD: mvd_bernoulli's value is f at a draw, dp = f1 - f0, df1 = z, df0 = 1 - z", () => {
  const p = [0, 1, 0.5, 0.3, 0.7, 0.5];
  const f1 = [2, -1, 3, 0.5, 1, -2];
  const f0 = [1, 4, -2, 1.5, -1, 2];
  const ct = [1, 2, -1, 0.5, 1, 3];
  for (const b of BACKENDS) {
    it(`${b}: two seeds, p = 0 and p = 1 included`, async () => {
      for (const seed of [1, 2]) {
        const r = await run(b, SRC, "mvd", { p: mat(p, 2), f1: mat(f1, 2), f0: mat(f0, 2) }, { ct: [ct], seed });
        const v = r.outputs[0]!;
        const z = v.map((x, i) => (x - f0[i]!) / (f1[i]! - f0[i]!)); // f1 ≠ f0 everywhere
        z.forEach((zv) => expect(Math.abs(zv * (1 - zv))).toBeLessThan(1e-5));
        expect(Math.round(z[0]!)).toBe(0);
        expect(Math.round(z[1]!)).toBe(1);
        const zr = z.map(Math.round);
        close(b, r.grads["p"], ct.map((c, i) => c * (f1[i]! - f0[i]!)), "dp");
        close(b, r.grads["f1"], ct.map((c, i) => c * zr[i]!), "df1");
        close(b, r.grads["f0"], ct.map((c, i) => c * (1 - zr[i]!)), "df0");
      }
    });
  }
});

describe("Gumbel-softmax softmax((l + G)/τ) and straight-through one_hot(argmax) + (y - sg(y))", () => {
  const l = [0, 1, -1, 0.5, 2, -3, 0.25, 0];
  const ct = [1, -2, 0.5, 3, -1, 0, 2, 1];
  for (const b of BACKENDS) {
    it(`${b}: τ = 1 and τ = 0.5, 2 rows of 4 classes`, async () => {
      const g = (await run(b, SRC, "gnoise", { logits: mat(l, 2) }, { seed: 8 })).outputs;
      for (const tau of [1, 0.5]) {
        const r = await run(b, SRC, "gs", { logits: mat(l, 2) }, { ct: [ct, ct.map((c) => -c)], seed: 8, scalars: { tau } });
        // Each fn draws its own noise; gumbel_st's is the second site, as gnoise's second output.
        for (const [out, noise] of [[0, g[0]!], [1, g[1]!]] as const) {
          const y = l.map((_, i) => {
            const row = [0, 1, 2, 3].map((k) => (l[4 * Math.floor(i / 4) + k]! + noise[4 * Math.floor(i / 4) + k]!) / tau);
            const m = Math.max(...row);
            return Math.exp(row[i % 4]! - m) / row.reduce((a, v) => a + Math.exp(v - m), 0);
          });
          if (out === 0) close(b, r.outputs[0], y, `soft sample, τ = ${tau}`);
          else {
            const hard = y.map((v, i) => (v === Math.max(...y.slice(i - (i % 4), i - (i % 4) + 4)) ? 1 : 0));
            expect(r.outputs[1], `${b}: straight-through forward is exactly one-hot`).toEqual(hard);
          }
          if (out === 0) {
            // Cotangent of the first output is ct, of the second -ct; softmax's vjp is y ⊙ (c - Σ c y) / τ.
            const y2 = l.map((_, i) => {
              const row = [0, 1, 2, 3].map((k) => (l[4 * Math.floor(i / 4) + k]! + g[1]![4 * Math.floor(i / 4) + k]!) / tau);
              const m = Math.max(...row);
              return Math.exp(row[i % 4]! - m) / row.reduce((a, v) => a + Math.exp(v - m), 0);
            });
            const vjp = (yy: number[], c: number[]) => yy.map((v, i) => { const r0 = i - (i % 4); const dot = [0, 1, 2, 3].reduce((a, k) => a + c[r0 + k]! * yy[r0 + k]!, 0); return (v * (c[i]! - dot)) / tau; });
            const a = vjp(y, ct);
            const c2 = vjp(y2, ct.map((c) => -c));
            close(b, r.grads["logits"], a.map((v, i) => v + c2[i]!), `dlogits, τ = ${tau}`);
          }
        }
      }
    });
  }
});

describe("relaxed Bernoulli σ((l + L)/τ) and its straight-through form step(l + L) + (y - sg(y)); L logistic", () => {
  const l = [0, 1, -1, 2, -0.5, 0.25];
  const ct = [1, -2, 0.5, 3, -1, 2];
  for (const b of BACKENDS) {
    it(`${b}: τ = 0.5`, async () => {
      const L = (await run(b, SRC, "lnoise", { logits: mat(l, 2) }, { seed: 4 })).outputs[0]!;
      const y = l.map((v, i) => sigmoid((v + L[i]!) / 0.5));
      const dl = y.map((v, i) => (ct[i]! * v * (1 - v)) / 0.5);
      const r = await run(b, SRC, "rb", { logits: mat(l, 2) }, { ct: [ct], seed: 4, scalars: { tau: 0.5 } });
      close(b, r.outputs[0], y, "relaxed sample");
      close(b, r.grads["logits"], dl, "dlogits = c y(1 - y)/τ");
      const s = await run(b, SRC, "rbst", { logits: mat(l, 2) }, { ct: [ct], seed: 4, scalars: { tau: 0.5 } });
      expect(s.outputs[0]).toEqual(l.map((v, i) => (v + L[i]! > 0 ? 1 : 0)));
      close(b, s.grads["logits"], dl, "straight-through dlogits");
    });
  }
});

describe("Bengio et al. 2013: noisy rectifier max(0, a + z) and stochastic-times-smooth b·√σ(a)", () => {
  const a = [-1, 0, 0.5, 2, -3, 1];
  const ct = [1, -2, 0.5, 3, -1, 2];
  for (const b of BACKENDS) {
    it(`${b}: logistic noise (s = 2) and normal noise (σ = 0.5): dh/da = 1[a + z > 0]`, async () => {
      const L = (await run(b, SRC, "lnoise", { logits: mat(a, 2) }, { seed: 6 })).outputs[0]!;
      const r = await run(b, SRC, "nr", { a: mat(a, 2) }, { ct: [ct], seed: 6, scalars: { s: 2 } });
      close(b, r.outputs[0], a.map((v, i) => Math.max(0, v + 2 * L[i]!)), "logistic h");
      close(b, r.grads["a"], a.map((v, i) => (v + 2 * L[i]! > 0 ? ct[i]! : 0)), "logistic dh/da");
      const n = (await run(b, SRC, "nnoise", { a: mat(a, 2) }, { seed: 6 })).outputs[0]!;
      const q = await run(b, SRC, "nrn", { a: mat(a, 2) }, { ct: [ct], seed: 6, scalars: { sigma: 0.5 } });
      close(b, q.outputs[0], a.map((v, i) => Math.max(0, v + 0.5 * n[i]!)), "normal h");
      close(b, q.grads["a"], a.map((v, i) => (v + 0.5 * n[i]! > 0 ? ct[i]! : 0)), "normal dh/da");
    });
  }
  const ax = [-1, 0, 0.5, 2, -200, 200];
  for (const b of BACKENDS) {
    it(`${b}: STS: h = b √p, dh/da = b · ½√p(1 - p); finite at a = ±200`, async () => {
      const r = await run(b, SRC, "st", { a: mat(ax, 2) }, { ct: [ct], seed: 3 });
      const sq = ax.map((v) => Math.sqrt(sigmoid(v)));
      const bits = r.outputs[0]!.map((h) => (h > 0 ? 1 : 0));
      expect(bits[5]).toBe(1); // √p = 1: always on
      expect(bits.slice(0, 4).some((v) => v === 1)).toBe(true);
      close(b, r.outputs[0], sq.map((s, i) => bits[i]! * s), "h");
      close(b, r.grads["a"], sq.map((s, i) => ct[i]! * bits[i]! * 0.5 * s * (1 - sigmoid(ax[i]!))), "dh/da");
      r.grads["a"]!.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    });
  }
});
