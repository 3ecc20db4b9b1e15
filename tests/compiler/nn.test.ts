/**
 * std/nn at chosen points against its formulas written out here in plain f64 JavaScript —
 * linear (x Wᵀ + b), batch normalisation in training mode (biased variance for y, the momentum
 * update with the unbiased variance for the running statistics, the batch-norm backward
 * dx = γ/√(σ²+ε) (g − mean g − x̂ mean(g x̂))) and inference mode, cross-entropy from logits
 * ((softmax − one_hot)/B), and the XNOR-Net / ReSTE scaled binary weights (α sign W with the
 * gradient through α) — on every back end (the f64 evaluator to 1e-12, CPU and WebGPU in f32 to
 * 1e-5); then random-direction gradchecks (f64 central differences) of the smooth fns.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { compileFn } from "../helpers/compile.js";
import { expectClose } from "../helpers/expect.js";
import { gradcheck } from "../helpers/gradcheck.js";

const IMPORT = `import { ReSTE } from "std/binary"\nimport { linear, conv3x3, channel_bias, batch_norm, batch_norm_eval, batch_norm2d, batch_norm2d_eval, cross_entropy, weight_scale, weight_scale4, xnor_weight, xnor_weight4, reste_weight, reste_weight4 } from "std/nn"\n`;

type In = Record<string, { data: number[]; shape: number[]; dtype?: "f32" | "i32" }>;

/** Runs `fn f` of `src` on every back end and compares outputs and vjps with the expectations. */
async function check(src: string, inputs: In, ct: number[][], outs: number[][], grads: Record<string, number[]>, scalars?: Record<string, number>) {
  for (const v of Object.values(inputs).flatMap((i) => i.data)) expect(Math.fround(v), `test point ${v} is not f32-exact`).toBe(v);
  for (const b of BACKENDS) {
    const r = await run(b, IMPORT + src, "f", inputs, { ct, scalars });
    outs.forEach((want, i) => expectClose(r.outputs[i], want, tolerance(b), `${b} output ${i}`));
    for (const [name, want] of Object.entries(grads)) expectClose(r.grads[name], want, tolerance(b), `${b} vjp of ${name}`);
  }
}

const ct = (n: number, k = 0) => Array.from({ length: n }, (_, i) => [2, -1, 0.5, -3, 0.25, 4, 1.5, -2, 1, 3][(i + k) % 10]!);
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

describe("linear: x Wᵀ + b, W laid out [O, I]", () => {
  it("forward and the vjps dx = g W, dW = gᵀ x, db = Σ_b g", async () => {
    const [B, I, O] = [2, 3, 2];
    const x = [1, 2, -1, 0.5, -2, 3];
    const w = [0.5, -1, 2, 1.5, 0.25, -0.5];
    const b = [0.25, -1];
    const y = [];
    for (let r = 0; r < B; r++) for (let o = 0; o < O; o++) y.push(sum([0, 1, 2].map((i) => x[r * I + i]! * w[o * I + i]!)) + b[o]!);
    // By hand: row 0: 0.5 − 2 − 2 + 0.25 = −3.25 and 1.5 + 0.5 + 0.5 − 1 = 1.5.
    expect(y.slice(0, 2)).toEqual([-3.25, 1.5]);
    const g = ct(B * O);
    const dx = [];
    for (let r = 0; r < B; r++) for (let i = 0; i < I; i++) dx.push(sum([0, 1].map((o) => g[r * O + o]! * w[o * I + i]!)));
    const dw = [];
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) dw.push(sum([0, 1].map((r) => g[r * O + o]! * x[r * I + i]!)));
    const db = [0, 1].map((o) => g[o]! + g[O + o]!);
    await check(
      "fn f(x: f32[B, I], w: f32[O, I], b: f32[O]) -> f32[B, O] { return linear(x, w, b) }",
      { x: { data: x, shape: [B, I] }, w: { data: w, shape: [O, I] }, b: { data: b, shape: [O] } },
      [g],
      [y],
      { x: dx, w: dw, b: db },
    );
  });
});

describe("linear at rank 3 (a rank-generic x)", () => {
  it("applies the same W to every leading position", async () => {
    // x [2, 2, 2] (N, T, I), W [1, 2], b [1]: y[n, t] = x[n, t, :] · W[0, :] + b.
    const x = [1, 2, -1, 0.5, 3, -2, 0.25, 4];
    const w = [2, -1];
    const b = [0.5];
    const y = [0, 1, 2, 3].map((r) => x[2 * r]! * 2 - x[2 * r + 1]! + 0.5);
    expect(y).toEqual([0.5, -2, 8.5, -3]); // 2 − 2 + 0.5, −2 − 0.5 + 0.5, 6 + 2 + 0.5, 0.5 − 4 + 0.5
    const g = [1, -2, 0.5, 3];
    await check(
      "fn f(x: f32[N, T, I], w: f32[O, I], b: f32[O]) -> f32[N, T, O] { return linear(x, w, b) }",
      { x: { data: x, shape: [2, 2, 2] }, w: { data: w, shape: [1, 2] }, b: { data: b, shape: [1] } },
      [g],
      [y],
      { x: g.flatMap((gv) => [2 * gv, -gv]), w: [sum(g.map((gv, r) => gv * x[2 * r]!)), sum(g.map((gv, r) => gv * x[2 * r + 1]!))], b: [sum(g)] },
    );
  });
});

describe("conv3x3 and channel_bias (NCHW, PyTorch's cross-correlation)", () => {
  it("conv3x3: stride 1, zero padding 1, bias per output channel; dx, dW, db by the loops", async () => {
    const [B, C, H, W, O] = [1, 2, 3, 3, 2];
    const x = Array.from({ length: B * C * H * W }, (_, i) => [1, -2, 0.5, 3, -1, 2, 0.25, -0.5, 4][i % 9]! * (i < 9 ? 1 : -0.5));
    const w = Array.from({ length: O * C * 9 }, (_, i) => [0.5, -1, 0.25, 2, 1, -0.5, 0, 1.5, -2][(i * 7) % 9]! * (i < 18 ? 1 : 0.5));
    const bias = [0.5, -1];
    const g = ct(B * O * H * W);
    const X = (b: number, c: number, p: number, q: number) => (p < 0 || q < 0 || p >= H || q >= W ? 0 : x[((b * C + c) * H + p) * W + q]!);
    const y = new Array<number>(B * O * H * W).fill(0);
    const dx = new Array<number>(x.length).fill(0);
    const dw = new Array<number>(w.length).fill(0);
    for (let b = 0; b < B; b++)
      for (let o = 0; o < O; o++)
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++) {
            const at = ((b * O + o) * H + i) * W + j;
            let acc = bias[o]!;
            for (let c = 0; c < C; c++)
              for (let kh = 0; kh < 3; kh++)
                for (let kw = 0; kw < 3; kw++) {
                  const wi = ((o * C + c) * 3 + kh) * 3 + kw;
                  const p = i + kh - 1;
                  const q = j + kw - 1;
                  acc += X(b, c, p, q) * w[wi]!;
                  dw[wi]! += g[at]! * X(b, c, p, q);
                  if (p >= 0 && q >= 0 && p < H && q < W) dx[((b * C + c) * H + p) * W + q]! += g[at]! * w[wi]!;
                }
            y[at] = acc;
          }
    const db = [0, 1].map((o) => sum(g.slice(o * H * W, (o + 1) * H * W)));
    await check(
      "fn f(x: f32[B, C, H, W], w: f32[O, C, 3, 3], b: f32[O]) -> f32[B, O, H, W] { return conv3x3(x, w, b) }",
      { x: { data: x, shape: [B, C, H, W] }, w: { data: w, shape: [O, C, 3, 3] }, b: { data: bias, shape: [O] } },
      [g],
      [y],
      { x: dx, w: dw, b: db },
    );
  });

  it("channel_bias after a strided conv2d: y[b, o, h, w] + bias[o]", async () => {
    // x [1, 1, 4, 4] = 0 … 15, W [2, 1, 2, 2] = (1, 0, 0, 1) and (0, 1, 1, 0), stride 2: each 2x2 window's
    // diagonal and anti-diagonal sums; bias (10, −10).
    const x = Array.from({ length: 16 }, (_, i) => i);
    const w = [1, 0, 0, 1, 0, 1, 1, 0];
    const at = (p: number, q: number) => x[p * 4 + q]!;
    const y: number[] = [];
    for (const [o, off] of [[0, 10], [1, -10]] as const)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) y.push((o === 0 ? at(2 * i, 2 * j) + at(2 * i + 1, 2 * j + 1) : at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j)) + off);
    expect(y.slice(0, 4)).toEqual([15, 19, 31, 35]); // 0 + 5 + 10, 2 + 7 + 10, 8 + 13 + 10, 10 + 15 + 10
    const g = ct(8);
    await check(
      "fn f(x: f32[1, 1, 4, 4], w: f32[2, 1, 2, 2], bias: f32[2]) -> f32[1, 2, 2, 2] { return channel_bias(conv2d(x, w, stride = [2, 2]), bias) }",
      { x: { data: x, shape: [1, 1, 4, 4] }, w: { data: w, shape: [2, 1, 2, 2] }, bias: { data: [10, -10], shape: [2] } },
      [g],
      [y],
      { bias: [sum(g.slice(0, 4)), sum(g.slice(4))] },
    );
  });
});

/** Batch norm over groups: `groups[c]` lists the flat indices of channel c's n values. */
function batchNormRef(x: number[], groups: number[][], gamma: number[], beta: number[], rm: number[], rv: number[], g: number[], momentum = 0.1, eps = 1e-5) {
  const y = new Array<number>(x.length).fill(0);
  const dx = new Array<number>(x.length).fill(0);
  const dgamma: number[] = [];
  const dbeta: number[] = [];
  const newMean: number[] = [];
  const newVar: number[] = [];
  groups.forEach((idx, c) => {
    const n = idx.length;
    const mu = sum(idx.map((i) => x[i]!)) / n;
    const v = sum(idx.map((i) => (x[i]! - mu) ** 2)) / n; // biased, for normalising
    const inv = 1 / Math.sqrt(v + eps);
    const xhat = idx.map((i) => (x[i]! - mu) * inv);
    idx.forEach((i, k) => (y[i] = xhat[k]! * gamma[c]! + beta[c]!));
    const gs = idx.map((i) => g[i]!);
    const meanG = sum(gs) / n;
    const meanGX = sum(gs.map((gv, k) => gv * xhat[k]!)) / n;
    idx.forEach((i, k) => (dx[i] = gamma[c]! * inv * (gs[k]! - meanG - xhat[k]! * meanGX)));
    dgamma.push(sum(gs.map((gv, k) => gv * xhat[k]!)));
    dbeta.push(sum(gs));
    newMean.push((1 - momentum) * rm[c]! + momentum * mu);
    newVar.push((1 - momentum) * rv[c]! + momentum * v * (n / (n - 1))); // unbiased
  });
  return { y, dx, dgamma, dbeta, newMean, newVar };
}

describe("batch_norm (training, [B, C])", () => {
  // Channel 0: 1, 2, 3, 6 (mean 3, biased variance 14/4 = 3.5, unbiased 14/3);
  // channel 1: 0, 0, 4, 4 (mean 2, biased variance 4, unbiased 16/3).
  const x = [1, 0, 2, 0, 3, 4, 6, 4];
  const gamma = [2, 0.5];
  const beta = [0.5, -1];
  const rm = [0.5, -1];
  const rv = [1, 2];
  const groups = [
    [0, 2, 4, 6],
    [1, 3, 5, 7],
  ];
  const inputs: In = { x: { data: x, shape: [4, 2] }, gamma: { data: gamma, shape: [2] }, beta: { data: beta, shape: [2] }, rm: { data: rm, shape: [2] }, rv: { data: rv, shape: [2] } };
  const src = "fn f(x: f32[B, C], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C], momentum: f32 = 0.1) -> (f32[B, C], f32[C], f32[C]) { return batch_norm(x, gamma, beta, rm, rv, momentum = momentum) }";

  it("normalises with the biased variance, updates the running statistics with the unbiased one", async () => {
    const g = ct(8);
    const ref = batchNormRef(x, groups, gamma, beta, rm, rv, g);
    // By hand: x = 6 in channel 0 gives 3 / sqrt(3.5 + 1e-5) · 2 + 0.5; the running mean
    // 0.9 · 0.5 + 0.1 · 3 = 0.75, the running variance 0.9 · 1 + 0.1 · 14/3.
    expect(ref.y[6]).toBeCloseTo((3 / Math.sqrt(3.5 + 1e-5)) * 2 + 0.5, 12);
    expect(ref.newMean[0]).toBeCloseTo(0.75, 12);
    expect(ref.newMean[1]).toBeCloseTo(-0.7, 12);
    expect(ref.newVar[0]).toBeCloseTo(0.9 + 1.4 / 3, 12);
    expect(ref.newVar[1]).toBeCloseTo(1.8 + 1.6 / 3, 12);
    // The running outputs' cotangents reach only rm and rv ((1 − momentum)·ct): μ and σ² are held by sg.
    const ctMean = [1.5, -2];
    const ctVar = [0.25, 3];
    await check(src, inputs, [g, ctMean, ctVar], [ref.y, ref.newMean, ref.newVar], {
      x: ref.dx,
      gamma: ref.dgamma,
      beta: ref.dbeta,
      rm: ctMean.map((v) => 0.9 * v),
      rv: ctVar.map((v) => 0.9 * v),
    });
  });

  it("momentum as a runtime scalar", async () => {
    const ref = batchNormRef(x, groups, gamma, beta, rm, rv, ct(8), 0.5);
    await check(src, inputs, [ct(8), [0, 0], [0, 0]], [ref.y, ref.newMean, ref.newVar], { x: ref.dx }, { momentum: 0.5 });
  });

  it("inference mode uses the running statistics", async () => {
    const eps = 1e-5;
    const y = x.map((v, i) => ((v - rm[i % 2]!) / Math.sqrt(rv[i % 2]! + eps)) * gamma[i % 2]! + beta[i % 2]!);
    const g = ct(8);
    const dx = g.map((v, i) => (v * gamma[i % 2]!) / Math.sqrt(rv[i % 2]! + eps));
    const dgamma = [0, 1].map((c) => sum(groups[c]!.map((i) => (g[i]! * (x[i]! - rm[c]!)) / Math.sqrt(rv[c]! + eps))));
    await check("fn f(x: f32[B, C], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> f32[B, C] { return batch_norm_eval(x, gamma, beta, rm, rv) }", inputs, [g], [y], { x: dx, gamma: dgamma });
  });
});

describe("batch_norm2d (training and inference, NCHW)", () => {
  // B = 2, C = 2, H = 1, W = 2: channel c of example b is x[b, c, 0, 0..1].
  const x = [1, 3, 0, 2, -1, 5, 4, -2];
  const groups = [
    [0, 1, 4, 5],
    [2, 3, 6, 7],
  ];
  const gamma = [1.5, -0.5];
  const beta = [0, 2];
  const rm = [0.25, 1];
  const rv = [0.5, 4];
  const inputs: In = { x: { data: x, shape: [2, 2, 1, 2] }, gamma: { data: gamma, shape: [2] }, beta: { data: beta, shape: [2] }, rm: { data: rm, shape: [2] }, rv: { data: rv, shape: [2] } };

  it("statistics per channel over B·H·W, the running variance with n/(n − 1)", async () => {
    const g = ct(8, 3);
    const ref = batchNormRef(x, groups, gamma, beta, rm, rv, g);
    // Channel 0: 1, 3, −1, 5: mean 2, biased variance (1 + 1 + 9 + 9)/4 = 5, unbiased 20/3.
    expect(ref.newVar[0]).toBeCloseTo(0.9 * 0.5 + (0.1 * 20) / 3, 12);
    await check(
      "fn f(x: f32[B, C, H, W], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> (f32[B, C, H, W], f32[C], f32[C]) { return batch_norm2d(x, gamma, beta, rm, rv) }",
      inputs,
      [g, [1, 1], [1, 1]],
      [ref.y, ref.newMean, ref.newVar],
      { x: ref.dx, gamma: ref.dgamma, beta: ref.dbeta, rm: [0.9, 0.9], rv: [0.9, 0.9] },
    );
  });

  it("inference mode", async () => {
    const c = (i: number) => (i >> 1) % 2;
    const y = x.map((v, i) => ((v - rm[c(i)]!) / Math.sqrt(rv[c(i)]! + 1e-5)) * gamma[c(i)]! + beta[c(i)]!);
    const g = ct(8);
    await check(
      "fn f(x: f32[B, C, H, W], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> f32[B, C, H, W] { return batch_norm2d_eval(x, gamma, beta, rm, rv) }",
      inputs,
      [g],
      [y],
      { x: g.map((v, i) => (v * gamma[c(i)]!) / Math.sqrt(rv[c(i)]! + 1e-5)), beta: [0, 1].map((k) => sum(groups[k]!.map((i) => g[i]!))) },
    );
  });
});

describe("cross_entropy: mean over the batch of −log_softmax(logits)[label]", () => {
  it("stays finite at logits of ±1000, gradient (softmax − one_hot)/B", async () => {
    const logits = [1, 2, 3, 1000, 0, -1000];
    const labels = [2, 1];
    // Row 0: log(e + e² + e³) − 3 = 0.40760596444438; row 1: logsumexp = 1000, so −(0 − 1000) = 1000.
    const row0 = Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 3;
    expect(row0).toBeCloseTo(0.40760596444438, 12);
    const loss = (row0 + 1000) / 2;
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    const grad = [Math.E / z / 2, Math.E ** 2 / z / 2, (Math.E ** 3 / z - 1) / 2, 0.5, -0.5, 0];
    await check(
      "fn f(logits: f32[B, K], labels: i32[B]) -> f32 { return cross_entropy(logits, labels) }",
      { logits: { data: logits, shape: [2, 3] }, labels: { data: labels, shape: [2], dtype: "i32" } },
      [[1]],
      [[loss]],
      { logits: grad },
    );
  });
});

describe("scaled binary weights α · sign(W), α = mean |W| per output channel, gradient through α", () => {
  // Row 0: mean |W| = (0.5 + 1.5 + 0.25 + 0.75)/4 = 0.75; row 1: (2 + 0.0625 + 0.5 + 1)/4 = 0.890625.
  const w = [0.5, -1.5, 0.25, -0.75, 2, 0.0625, -0.5, 1];
  const alpha = [0.75, 0.890625];
  const sgn = w.map((v) => (v >= 0 ? 1 : -1));
  const g = ct(8);
  /** dW_oi = α_o g_oi s(W_oi) + signum(W_oi)/I Σ_j g_oj sign(W_oj) (XNOR-Net's code's gradient). */
  const expected = (slope: (v: number) => number) =>
    w.map((v, i) => {
      const o = i >> 2;
      const row = [0, 1, 2, 3].map((j) => g[o * 4 + j]! * sgn[o * 4 + j]!);
      return alpha[o]! * g[i]! * slope(v) + (Math.sign(v) / 4) * sum(row);
    });
  // ReSTE's code: one α for the whole weight, (3 + 3.5625)/8 = 0.8203125, and its gradient over all 8.
  const alphaAll = 0.8203125;
  const expectedAll = (slope: (v: number) => number) => w.map((v, i) => alphaAll * g[i]! * slope(v) + (Math.sign(v) / 8) * sum(g.map((gv, j) => gv * sgn[j]!)));
  const out = w.map((_, i) => alpha[i >> 2]! * sgn[i]!);

  it("weight_scale and weight_scale4", async () => {
    const gs = [1.5, -2];
    await check("fn f(w: f32[O, I]) -> f32[O, 1] { return weight_scale(w) }", { w: { data: w, shape: [2, 4] } }, [gs], [alpha], { w: w.map((v, i) => (gs[i >> 2]! * Math.sign(v)) / 4) });
    await check("fn f(w: f32[O, C, KH, KW]) -> f32[O, 1, 1, 1] { return weight_scale4(w) }", { w: { data: w, shape: [2, 1, 2, 2] } }, [gs], [alpha], { w: w.map((v, i) => (gs[i >> 2]! * Math.sign(v)) / 4) });
  });

  it("xnor_weight: sign's backward is the clipped STE (|W| <= 1)", async () => {
    const dw = expected((v) => (Math.abs(v) <= 1 ? 1 : 0));
    await check("fn f(w: f32[O, I]) -> f32[O, I] { return xnor_weight(w) }", { w: { data: w, shape: [2, 4] } }, [g], [out], { w: dw });
    await check("fn f(w: f32[O, C, KH, KW]) -> f32[O, C, KH, KW] { return xnor_weight4(w) }", { w: { data: w, shape: [2, 1, 2, 2] } }, [g], [out], { w: dw });
  });

  it("reste_weight: one α for the whole weight, sign's backward ReSTE(o) (o = 2: slope |W|^(-1/2)/2 on 0.1 < |W| <= 1.5, 0.1^(-1/2) below, 0 above)", async () => {
    const slope = (v: number) => {
      const a = Math.abs(v);
      return a > 1.5 ? 0 : a <= 0.1 ? 0.1 ** -0.5 : 0.5 * a ** -0.5;
    };
    // By hand at W = 0.25: 0.5 / 0.5 = 1; at W = 2: 0 (outside t = 1.5); at 0.0625: 10^(1/2).
    expect([slope(0.25), slope(2)]).toEqual([1, 0]);
    expect(slope(0.0625)).toBeCloseTo(Math.sqrt(10), 14);
    const dw = expectedAll(slope);
    const outAll = sgn.map((s) => alphaAll * s);
    await check("fn f(w: f32[O, I], o: f32 = 3.0) -> f32[O, I] { return reste_weight(w, o = o) }", { w: { data: w, shape: [2, 4] } }, [g], [outAll], { w: dw }, { o: 2 });
    await check("fn f(w: f32[O, C, KH, KW], o: f32 = 3.0) -> f32[O, C, KH, KW] { return reste_weight4(w, o = o) }", { w: { data: w, shape: [2, 1, 2, 2] } }, [g], [outAll], { w: dw }, { o: 2 });
    // XNOR-Net's per-channel α with ReSTE, written as the docs say.
    await check("fn f(w: f32[O, I], o: f32 = 3.0) -> f32[O, I] { return weight_scale(w) * (sign(w) backward ReSTE(o = o)) }", { w: { data: w, shape: [2, 4] } }, [g], [out], { w: expected(slope) }, { o: 2 });
  });
});

describe("gradchecks (f64 central differences)", () => {
  const close = (r: { analytic: number; numeric: number }) => expect(Math.abs(r.analytic - r.numeric)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(r.numeric)));
  const cases: [string, string, Record<string, number>][] = [
    ["linear", "fn f(x: f32[B, I], w: f32[O, I], b: f32[O]) -> f32[B, O] { return linear(x, w, b) }", { B: 3, I: 4, O: 2 }],
    ["linear (rank 3)", "fn f(x: f32[N, T, I], w: f32[O, I], b: f32[O]) -> f32[N, T, O] { return linear(x, w, b) }", { N: 2, T: 3, I: 4, O: 2 }],
    ["conv3x3", "fn f(x: f32[B, C, H, W], w: f32[O, C, 3, 3], b: f32[O]) -> f32[B, O, H, W] { return conv3x3(x, w, b) }", { B: 2, C: 2, H: 4, W: 3, O: 2 }],
    ["channel_bias", "fn f(x: f32[B, O, H, W], b: f32[O]) -> f32[B, O, H, W] { return channel_bias(x, b) }", { B: 2, O: 3, H: 2, W: 2 }],
    ["batch_norm (y)", "fn f(x: f32[B, C], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> f32[B, C] { return batch_norm(x, gamma, beta, rm, rv)[0] }", { B: 5, C: 3 }],
    ["batch_norm_eval", "fn f(x: f32[B, C], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> f32[B, C] { return batch_norm_eval(x, gamma, beta, rm, abs(rv)) }", { B: 4, C: 3 }],
    ["batch_norm2d (y)", "fn f(x: f32[B, C, H, W], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> f32[B, C, H, W] { return batch_norm2d(x, gamma, beta, rm, rv)[0] }", { B: 2, C: 3, H: 2, W: 3 }],
    ["batch_norm2d_eval", "fn f(x: f32[B, C, H, W], gamma: f32[C], beta: f32[C], rm: f32[C], rv: f32[C]) -> f32[B, C, H, W] { return batch_norm2d_eval(x, gamma, beta, rm, abs(rv)) }", { B: 2, C: 2, H: 3, W: 2 }],
    ["cross_entropy", "fn f(logits: f32[B, K], labels: i32[B]) -> f32 { return cross_entropy(3 * logits, labels) }", { B: 4, K: 3 }],
    ["weight_scale4", "fn f(w: f32[O, C, KH, KW]) -> f32[O, 1, 1, 1] { return weight_scale4(w) }", { O: 2, C: 3, KH: 2, KW: 2 }],
  ];
  for (const [name, src, dims] of cases) {
    it(name, () => {
      const fn = compileFn(IMPORT + src, "f");
      for (const seed of [1, 2, 3]) close(gradcheck(fn, { dims, seed }));
    });
  }
});
