/**
 * std/quant (RoundSTE, quantize_k, DoReFa-Net activations and weights, LSQ, PACT) at chosen
 * points — the clip boundaries, v/s = ±Q, round-half ties — against values computed by hand from
 * the published formulas. The quantizers are piecewise constant, so a finite-difference gradcheck
 * says nothing; instead every case asserts the estimator's gradient formula exactly, for each
 * differentiable input (v and s, x and alpha). Every case runs on every back end
 * (tests/helpers/backends.ts): the f64 reference evaluator (to 1e-12), the generated module on
 * the CPU (f32, to 1e-6 relative to max(1, |expected|)) and the same module on WebGPU (f32 with
 * WGSL's transcendental error bounds, to 1e-5). The points are exactly representable in f32 and
 * keep every rounding argument exact in f32 too, so every back end takes the same branches.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const IMPORT = `import { RoundSTE, quantize_k, dorefa_act, dorefa_weight, lsq, LSQ, pact, PACT } from "std/quant"\n`;


interface Case {
  /** The body of `fn f`'s return. */
  src: string;
  /** fn f's parameter list. */
  params: string;
  /** The result type (default f32[R, C]). */
  result?: string;
  /** Tensor inputs by name; a scalar input has shape []. */
  inputs: Record<string, { data: number[]; shape: number[] }>;
  /** Runtime scalars (bools as 0/1). */
  scalars?: Record<string, number>;
  ct: number[];
  out: number[];
  /** The expected vjp of every input, by name. */
  grads: Record<string, number[]>;
}

/** The CPU module keeps its 1e-6; WebGPU gets the f32 back ends' 1e-5. */
const tol = (b: Backend) => (b === "cpu" ? 1e-6 : tolerance(b));

/** Checks forward and vjp of `c` on every back end. */
async function check(c: Case): Promise<void> {
  const text = IMPORT + `fn f(${c.params}) -> ${c.result ?? "f32[R, C]"} { return ${c.src} }`;
  // f32-exact inputs, so every back end sees the same numbers.
  for (const v of [...Object.values(c.inputs).flatMap((i) => i.data), ...c.ct]) expect(Math.fround(v), `test point ${v} is not f32-exact`).toBe(v);

  for (const b of BACKENDS) {
    const r = await run(b, text, "f", c.inputs, { ct: [c.ct], scalars: c.scalars });
    expectClose(r.outputs[0], c.out, tol(b), `${c.src}: ${b} forward`);
    for (const [name, want] of Object.entries(c.grads)) expectClose(r.grads[name], want, tol(b), `${c.src}: ${b} vjp of ${name}`);
  }
}

/** A cotangent with signs and magnitudes that differ element to element. */
const ct2 = (n: number) => Array.from({ length: n }, (_, i) => [2, -1, 0.5, -3, 0.25, 4, 1.5, -2, 1, 3][i % 10]!);
const ones = (n: number) => Array.from({ length: n }, () => 1);
const times = (a: number[], b: number[]) => a.map((v, i) => v * b[i]!);
const zeros = (n: number) => Array.from({ length: n }, () => 0);

describe("RoundSTE: forward round(x) ties to even, dx = g", () => {
  const x = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.25, 0.75, -1.25, 3];
  // Ties go to the even neighbour: 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0, −1.5 → −2, −2.5 → −2; else nearest.
  const out = [0, 2, 2, -0, -2, -2, 0, 1, -1, 3];
  const base = { params: "x: f32[N]", result: "f32[N]", inputs: { x: { data: x, shape: [x.length] } }, ct: ct2(x.length), out };
  it("the identity gradient, everywhere", () => check({ ...base, src: "round x backward RoundSTE", grads: { x: ct2(x.length) } }));
  it("without it, round's own derivative is 0", () => check({ ...base, src: "round(x)", grads: { x: zeros(x.length) } }));
});

describe("quantize_k (DoReFa-Net): round((2^k − 1) r)/(2^k − 1), dr = g", () => {
  it("default k = 2: levels {0, 1/3, 2/3, 1}, no clipping", () =>
    check({
      src: "quantize_k(r)",
      params: "r: f32[R, C]",
      inputs: { r: { data: [0, 0.25, 0.5, 0.75, 1, 0.125, -0.25, 1.25], shape: [2, 4] } },
      ct: ct2(8),
      // 3r = 0, 0.75, 1.5, 2.25, 3, 0.375, −0.75, 3.75 → round 0, 1, 2 (tie to even), 2, 3, 0, −1, 4 → /3.
      out: [0, 1 / 3, 2 / 3, 2 / 3, 1, 0, -1 / 3, 4 / 3],
      grads: { r: ct2(8) },
    }));
  it("k = 1 (n = 1): ties to even, down as well as up", () =>
    check({
      src: "quantize_k(r, k = 1)",
      params: "r: f32[R, C]",
      inputs: { r: { data: [0.5, 1.5, 2.5, -0.5, 0.25, 0.75], shape: [3, 2] } },
      ct: ct2(6),
      // round(r): 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0, 0.25 → 0, 0.75 → 1.
      out: [0, 2, 2, -0, 0, 1],
      grads: { r: ct2(6) },
    }));
  it("k = 3 as a runtime option: levels j/7", () =>
    check({
      src: "quantize_k(r, k = k)",
      params: "r: f32[R, C], k: i32 = 2",
      scalars: { k: 3 },
      inputs: { r: { data: [0.5, 0.25, 0.0625, 0.9375, 1, -0.0625], shape: [1, 6] } },
      ct: ones(6),
      // 7r = 3.5 (tie → 4), 1.75 → 2, 0.4375 → 0, 6.5625 → 7, 7, −0.4375 → −0; /7.
      out: [4 / 7, 2 / 7, 0, 1, 1, -0],
      grads: { r: ones(6) },
    }));
});

describe("dorefa_act (DoReFa-Net; Larq mode activations): quantize_k(clamp(x, 0, 1)), dx = g · 1[0 <= x <= 1]", () => {
  const x = [-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5, 0.125, 1.0078125, -0.0078125];
  it("default k = 2, inclusive at x = 0 and x = 1", () =>
    check({
      src: "dorefa_act(x)",
      params: "x: f32[R, C]",
      inputs: { x: { data: x, shape: [2, 5] } },
      ct: ct2(10),
      // clamp: 0, 0, 0.25, 0.5, 0.75, 1, 1, 0.125, 1, 0; ×3: 0, 0, 0.75, 1.5, 2.25, 3, 3, 0.375, 3, 0
      // → round 0, 0, 1, 2, 2, 3, 3, 0, 3, 0 → /3.
      out: [0, 0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 0, 1, 0],
      // mask 1[0 <= x <= 1]: 0, 1, 1, 1, 1, 1, 0, 1, 0, 0.
      grads: { x: times(ct2(10), [0, 1, 1, 1, 1, 1, 0, 1, 0, 0]) },
    }));
  it("k = 3 as a runtime option", () =>
    check({
      src: "dorefa_act(x, k = k)",
      params: "x: f32[R, C], k: i32 = 2",
      scalars: { k: 3 },
      inputs: { x: { data: [0.5, 0.25, 0.0625, 0.9375, 2, -1], shape: [2, 3] } },
      ct: ct2(6),
      // 7·clamp: 3.5 (tie → 4), 1.75 → 2, 0.4375 → 0, 6.5625 → 7, 7, 0; /7.
      out: [4 / 7, 2 / 7, 0, 1, 1, 0],
      grads: { x: times(ct2(6), [1, 1, 1, 1, 0, 0]) },
    }));
});

describe("dorefa_weight (DoReFa-Net; tensorpack fw): 2·quantize_k(tanh(w)/(2m) + 1/2) − 1, m = max|tanh w| not sg", () => {
  // dw_i = g_i(1 − t_i²)/m − (Σ_j g_j t_j)/m² · signum(t_i)(1 − t_i²) · 1[|t_i| = m]/#ties, t = tanh w.
  it("default k = 2: levels {−1, −1/3, 1/3, 1}; w = 0 is the tie 3·(1/2) = 1.5 → 2; the max term at w = 2", () =>
    check({
      src: "dorefa_weight(w)",
      params: "w: f32[R, C]",
      inputs: { w: { data: [0, 0.5, -1, 2, -0.25, 1], shape: [2, 3] } },
      ct: ct2(6),
      // t = 0, 0.46211716, −0.76159416, 0.96402758 (= m), −0.24491866, 0.76159416.
      // 3r = 3(t/(2m) + 1/2) = 1.5, 2.21904, 0.31498, 3, 1.11891, 2.68502 → round 2, 2, 0, 3, 1, 3
      // → 2·j/3 − 1 = 1/3, 1/3, −1, 1, −1/3, 1.
      out: [1 / 3, 1 / 3, -1, 1, -1 / 3, 1],
      // First term g(1 − t²)/m: 2/m = 2.07462944, −1·0.78644773/m = −0.81579381, 0.5·0.41997434/m = 0.21782278,
      // −3·0.07065082/m = −0.21986142, 0.25·0.94001485/m = 0.24377281, 4·0.41997434/m = 1.74258227.
      // Σ g t = 0 − 0.46211716 − 0.38079708 − 2.89208274 − 0.06122967 + 3.04637662 = −0.74985002;
      // at w = 2 (the only max): −3·0.07065082/m − (−0.74985002)/m² · 0.07065082 = −0.21986142 + 0.05700497 = −0.16285645.
      grads: { w: [2.0746294414550963, -0.8157938104883643, 0.2178227834420447, -0.1628564515402555, 0.24377281009233406, 1.7425822675363576] },
    }));
  it("k = 3 as a runtime option: 3.5 → 4 at w = 0 gives 1/7", () =>
    check({
      src: "dorefa_weight(w, k = k)",
      params: "w: f32[R, C], k: i32 = 2",
      scalars: { k: 3 },
      inputs: { w: { data: [0, 0.5, -1, 2, -0.25, 1], shape: [3, 2] } },
      ct: ones(6),
      // 7r = 3.5, 5.17776, 0.73496, 7, 2.61080, 6.26504 → 4, 5, 1, 7, 3, 6 → 2j/7 − 1.
      out: [1 / 7, 3 / 7, -5 / 7, 1, -1 / 7, 5 / 7],
      // (1 − t²)/m: 1.03731472, 0.81579381, 0.43564557, 0.07328714, 0.97509124, 0.43564557; Σ t = 1.18122607;
      // at w = 2: 0.07328714 − 1.18122607/m² · 0.07065082 = 0.07328714 − 0.08979897 = −0.01651183.
      grads: { w: [1.0373147207275482, 0.8157938104883643, 0.4356455668840894, -0.01651182701705084, 0.9750912403693363, 0.4356455668840894] },
    }));
  it("a tie for the max (|tanh 1| = |tanh −1|) shares the max term equally", () =>
    check({
      src: "dorefa_weight(w)",
      params: "w: f32[R, C]",
      inputs: { w: { data: [1, -1, 0.5, 0], shape: [2, 2] } },
      ct: [1, 2, -1, 0.5],
      // m = tanh 1 = 0.76159416; 3r = 3, 0, 2.41016, 1.5 → 3, 0, 2, 2 → 1, −1, 1/3, 1/3.
      out: [1, -1, 1 / 3, 1 / 3],
      // First terms g(1 − t²)/m = 0.55144113, 1.10288226, −1.03263362, 0.65651764 (1 − t² = 0.41997434, 0.78644773, 1);
      // Σ g t = 0.76159416 − 1.52318831 − 0.46211716 + 0 = −1.22371131; the max term, halved, with signum t:
      // w = 1: 0.55144113 + 1.22371131/m² · 0.41997434 / 2 = 0.55144113 + 0.44302122 = 0.99446235;
      // w = −1: 1.10288226 − 0.44302122 = 0.65986104.
      grads: { w: [0.994462352538706, 0.6598610360919935, -1.0326336235852185, 0.6565176427496657] },
    }));
  it("all-zero w: tanh(w)/(2m) is taken as 0 (Larq's divide_no_nan), so every level is 1/3 and dw = g", () =>
    check({
      src: "dorefa_weight(w)",
      params: "w: f32[R, C]",
      inputs: { w: { data: [0, 0, 0, 0], shape: [2, 2] } },
      ct: [1, -2, 3, 0.5],
      // r = 1/2 → 3r = 1.5 → 2 → 2·2/3 − 1 = 1/3; m treated as 1 and Σ g t = 0: dw = g(1 − 0)/1.
      out: [1 / 3, 1 / 3, 1 / 3, 1 / 3],
      grads: { w: [1, -2, 3, 0.5] },
    }));
});

describe("LSQ (Esser et al. 2020): round(clamp(v/s, −Q_N, Q_P))·s; dv = g·1[−Q_N < v/s < Q_P], ds = gscale·Σ g·(…)", () => {
  // v/s = 0, 1.25, 2.5 (tie), −1.5 (tie), 6.5 (tie), 7 = Q_P, −7 = −Q_N, 8, −9, −0.5 (tie), s = 0.5.
  const q = [0, 1.25, 2.5, -1.5, 6.5, 7, -7, 8, -9, -0.5];
  const v = q.map((x) => x * 0.5);
  const signed = {
    params: "v: f32[R, C], s: f32",
    inputs: { v: { data: v, shape: [2, 5] }, s: { data: [0.5], shape: [] } },
    ct: ct2(10),
    // round(clamp(q, −7, 7)) = 0, 1, 2, −2, 6, 7, −7, 7, −7, −0; × 0.5.
    out: [0, 0.5, 1, -1, 3, 3.5, -3.5, 3.5, -3.5, -0],
  };
  // Inside (strict) 1, 1, 1, 1, 1, 0 (q = Q_P), 0 (q = −Q_N), 0, 0, 1.
  const dv = times(ct2(10), [1, 1, 1, 1, 1, 0, 0, 0, 0, 1]);
  // Per element: round(q) − q inside, Q_P at or above, −Q_N at or below:
  // 0, −0.25, −0.5, −0.5, −0.5, 7, −7, 7, −7, 0.5; times g = 2, −1, 0.5, −3, 0.25, 4, 1.5, −2, 1, 3:
  // 0 + 0.25 − 0.25 + 1.5 − 0.125 + 28 − 10.5 − 14 − 7 + 1.5 = −0.625.
  it("default bits = 4, signed symmetric (Q_N = Q_P = 7): gscale = 1/sqrt(10·7)", () =>
    check({ ...signed, src: "lsq(v, s) backward LSQ", grads: { v: dv, s: [-0.625 / Math.sqrt(70)] } }));
  it("the estimator's n overrides N: gscale = 1/sqrt(2·7)", () =>
    check({
      ...signed,
      params: "v: f32[R, C], s: f32, n: f32 = 0.0",
      scalars: { n: 2 },
      src: "lsq(v, s) backward LSQ(n = n)",
      grads: { v: dv, s: [-0.625 / Math.sqrt(14)] },
    }));
  it("without the estimator the gradient is 0 (the value is held by sg)", () =>
    check({ ...signed, src: "lsq(v, s)", grads: { v: zeros(10), s: [0] } }));
  it("unsigned, bits = 2 as runtime options (Q_N = 0, Q_P = 3): v/s = 0 counts as at −Q_N", () => {
    // v/s = −0.5, 0, 0.5 (tie), 1.5 (tie), 2.5 (tie), 3 = Q_P, 3.5, 1.25; s = 0.25.
    const qu = [-0.5, 0, 0.5, 1.5, 2.5, 3, 3.5, 1.25];
    return check({
      src: "lsq(v, s, bits = b, unsigned = u) backward LSQ",
      params: "v: f32[R, C], s: f32, b: i32 = 4, u: bool = false",
      scalars: { b: 2, u: 1 },
      inputs: { v: { data: qu.map((x) => x * 0.25), shape: [2, 4] }, s: { data: [0.25], shape: [] } },
      ct: ones(8),
      // round(clamp(q, 0, 3)) = 0, 0, 0, 2, 2, 3, 3, 1; × 0.25.
      out: [0, 0, 0, 0.5, 0.5, 0.75, 0.75, 0.25],
      // Inside 0 < q < 3: 0, 0, 1, 1, 1, 0, 0, 1. Per element: −Q_N = 0, 0, −0.5, 0.5, −0.5, 3, 3, −0.25;
      // Σ = 5.25; gscale = 1/sqrt(8·3).
      grads: { v: [0, 0, 1, 1, 1, 0, 0, 1], s: [5.25 / Math.sqrt(24)] },
    });
  });
  it("signed asymmetric (symmetric = false), bits = 3: the paper's range Q_N = 4, Q_P = 3", () =>
    check({
      src: "lsq(v, s, bits = 3, symmetric = false) backward LSQ",
      params: "v: f32[R, C], s: f32",
      inputs: { v: { data: [-4, -3.5, -4.5, 3, 2.5, -0.5], shape: [2, 3] }, s: { data: [1], shape: [] } },
      ct: [1, 2, 3, 4, 5, 6],
      // round(clamp(v, −4, 3)) = −4, −4 (tie), −4, 3, 2 (tie), −0 (tie).
      out: [-4, -4, -4, 3, 2, -0],
      // Inside −4 < v < 3: 0, 1, 0, 0, 1, 1. Per element: −4, −0.5, −4, 3, −0.5, 0.5; times g:
      // −4 − 1 − 12 + 12 − 2.5 + 3 = −4.5; gscale = 1/sqrt(6·3).
      grads: { v: [0, 2, 0, 0, 5, 6], s: [-4.5 / Math.sqrt(18)] },
    }));
});

describe("PACT (Choi et al. 2018): round(clamp(x, 0, α)·n/α)·α/n, n = 2^b − 1; dx = g·1[0 <= x < α], dα = Σ g·1[x >= α]", () => {
  const x = [-1, 0, 0.5, 1, 1.5, 2, 3, 0.25, 1.875, -0.0078125];
  it("α = 2, bits = 2: x = 0 passes g, x = α sends it to α", () =>
    check({
      src: "pact(x, alpha, bits = 2) backward PACT",
      params: "x: f32[R, C], alpha: f32",
      inputs: { x: { data: x, shape: [2, 5] }, alpha: { data: [2], shape: [] } },
      ct: ct2(10),
      // clamp(x, 0, 2)·3/2 = 0, 0, 0.75, 1.5 (tie), 2.25, 3, 3, 0.375, 2.8125, 0 → 0, 0, 1, 2, 2, 3, 3, 0, 3, 0; × 2/3.
      out: [0, 0, 2 / 3, 4 / 3, 4 / 3, 2, 2, 0, 2, 0],
      // 1[0 <= x < 2] = 0, 1, 1, 1, 1, 0, 0, 1, 1, 0; 1[x >= 2] at x = 2, 3: dα = 4 + 1.5 = 5.5.
      grads: { x: times(ct2(10), [0, 1, 1, 1, 1, 0, 0, 1, 1, 0]), alpha: [5.5] },
    }));
  it("default bits = 4 (n = 15), α = 1", () =>
    check({
      src: "pact(x, alpha) backward PACT",
      params: "x: f32[R, C], alpha: f32",
      inputs: { x: { data: [0.5, 0.25, 0.0625, 1, 1.25, -0.5, 0.96875], shape: [1, 7] }, alpha: { data: [1], shape: [] } },
      ct: ones(7),
      // 15·clamp(x, 0, 1) = 7.5 (tie → 8), 3.75 → 4, 0.9375 → 1, 15, 15, 0, 14.53125 → 15; /15.
      out: [8 / 15, 4 / 15, 1 / 15, 1, 1, 0, 1],
      grads: { x: [1, 1, 1, 0, 0, 0, 1], alpha: [2] },
    }));
  it("bits as a runtime option (bits = 3, n = 7), α = 1.75: ties round to even, down as well as up", () =>
    check({
      src: "pact(x, alpha, bits = b) backward PACT",
      params: "x: f32[R, C], alpha: f32, b: i32 = 4",
      scalars: { b: 3 },
      inputs: { x: { data: [0.125, 0.625, 0.375, 1.75, 0, -0.25, 2, 1.5], shape: [4, 2] }, alpha: { data: [1.75], shape: [] } },
      ct: ct2(8),
      // 7·clamp(x, 0, 1.75)/1.75 = 4·clamp: 0.5 (tie → 0), 2.5 (tie → 2), 1.5 (tie → 2), 7, 0, 0, 7, 6; × 1.75/7 = 0.25.
      out: [0, 0.5, 0.5, 1.75, 0, 0, 1.75, 1.5],
      // 1[0 <= x < 1.75] = 1, 1, 1, 0, 1, 0, 0, 1; dα = Σ g at x >= 1.75 (x = 1.75, 2) = −3 + 1.5 = −1.5.
      grads: { x: [2, -1, 0.5, 0, 0.25, 0, 0, -2], alpha: [-1.5] },
    }));
  it("without the estimator the gradient is 0 (the value is held by sg)", () =>
    check({
      src: "pact(x, alpha, bits = 2)",
      params: "x: f32[R, C], alpha: f32",
      inputs: { x: { data: x, shape: [2, 5] }, alpha: { data: [2], shape: [] } },
      ct: ct2(10),
      out: [0, 0, 2 / 3, 4 / 3, 4 / 3, 2, 2, 0, 2, 0],
      grads: { x: zeros(10), alpha: [0] },
    }));
});
