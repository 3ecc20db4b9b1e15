/**
 * Every differentiable primitive and operator of LANGUAGE.md §6, each in a tiny fn, checked with a
 * random-direction VJP gradcheck (central differences in f64 through the reference interpreter);
 * and every piecewise-constant one checked to have an exactly zero gradient.
 */
import { describe, expect, it } from "vitest";
import { compileFn } from "../helpers/compile.js";
import { evalVjp, gradcheck, rng, type GradcheckOptions } from "../helpers/gradcheck.js";

type Sample = GradcheckOptions["sample"];

interface Case {
  name: string;
  /** The whole fn, which must be called `f`. */
  src: string;
  dims?: Record<string, number>;
  sample?: Sample;
  scalars?: Record<string, number>;
}

/** Uniform on [lo, hi]. */
const uniform = (lo: number, hi: number) => (r: () => number) => lo + (hi - lo) * r();
/** Every input drawn from [0.2, 2]: for log, sqrt, pow's base and friends. */
const positive: Sample = (_n, r) => uniform(0.2, 2)(r);
/** Per-input samplers, the default (±[0.1, 1]) for the others. */
function perInput(table: Record<string, (r: () => number) => number>): Sample {
  return (name, r) => {
    const s = table[name];
    if (s !== undefined) return s(r);
    const u = r() * 1.8 - 0.9;
    return u + Math.sign(u) * 0.1;
  };
}

const dims: Record<string, number> = { B: 3, N: 4, K: 5, M: 2 };

const elementwise: Case[] = [
  { name: "neg", src: "fn f(x: f32[N]) -> f32[N] { return neg(x) * x }" },
  { name: "unary minus", src: "fn f(x: f32[N]) -> f32[N] { return -x * exp(x) }" },
  { name: "abs (away from 0)", src: "fn f(x: f32[B, N]) -> f32[B, N] { return abs(x) * x }" },
  { name: "exp", src: "fn f(x: f32[N]) -> f32[N] { return exp(x) }" },
  { name: "log", src: "fn f(x: f32[N]) -> f32[N] { return log(x) }", sample: positive },
  { name: "log1p", src: "fn f(x: f32[N]) -> f32[N] { return log1p(x) }", sample: positive },
  { name: "sqrt", src: "fn f(x: f32[N]) -> f32[N] { return sqrt(x) }", sample: positive },
  { name: "rsqrt", src: "fn f(x: f32[N]) -> f32[N] { return rsqrt(x) }", sample: positive },
  { name: "sin", src: "fn f(x: f32[N]) -> f32[N] { return sin(3 * x) }" },
  { name: "cos", src: "fn f(x: f32[N]) -> f32[N] { return cos(3 * x) }" },
  { name: "tanh", src: "fn f(x: f32[N]) -> f32[N] { return tanh(2 * x) }" },
  { name: "sigmoid", src: "fn f(x: f32[N]) -> f32[N] { return sigmoid(3 * x) }" },
  { name: "softplus", src: "fn f(x: f32[N]) -> f32[N] { return softplus(3 * x) }" },
  { name: "relu (away from 0)", src: "fn f(x: f32[B, N]) -> f32[B, N] { return relu(x) * x }" },
  { name: "add, broadcast [B, 1] + [N]", src: "fn f(a: f32[B, 1], b: f32[N]) -> f32[B, N] { return (a + b) * (a + b) }" },
  { name: "sub, broadcast [N] - [B, 1]", src: "fn f(a: f32[B, 1], b: f32[N]) -> f32[B, N] { return tanh(b - a) }" },
  { name: "mul, broadcast [B, 1] * [N]", src: "fn f(a: f32[B, 1], b: f32[N]) -> f32[B, N] { return a * b }" },
  { name: "mul, broadcast against a scalar-shaped [1, 1]", src: "fn f(a: f32[1, 1], b: f32[B, N]) -> f32[B, N] { return a * b * b }" },
  { name: "div, broadcast [B, N] / [N]", src: "fn f(a: f32[B, N], b: f32[N]) -> f32[B, N] { return a / b }" },
  { name: "div, broadcast [N] / [B, 1]", src: "fn f(a: f32[B, 1], b: f32[N]) -> f32[B, N] { return b / a }" },
  {
    name: "mod (floored, positive divisor)",
    src: "fn f(a: f32[N], b: f32[N]) -> f32[N] { return (a % b) * a }",
    sample: perInput({ b: uniform(1.5, 2) }),
  },
  { name: "pow (positive base)", src: "fn f(a: f32[N], b: f32[N]) -> f32[N] { return pow(a, b) }", sample: perInput({ a: uniform(0.2, 2), b: uniform(-2, 2) }) },
  { name: "^ (positive base, broadcast exponent)", src: "fn f(a: f32[B, N], b: f32[N]) -> f32[B, N] { return a ^ b }", sample: perInput({ a: uniform(0.2, 2) }) },
  { name: "^ with a constant exponent, negative base", src: "fn f(x: f32[N]) -> f32[N] { return x ^ 3 + 2 * x ^ 2 }" },
  { name: "min elementwise", src: "fn f(a: f32[B, N], b: f32[N]) -> f32[B, N] { return min(a, b) * a }" },
  { name: "max elementwise", src: "fn f(a: f32[B, 1], b: f32[N]) -> f32[B, N] { return max(a, b) * b }" },
  {
    name: "clamp (x, lo and hi all differentiable)",
    src: "fn f(x: f32[B, N], lo: f32[N], hi: f32[B, 1]) -> f32[B, N] { return clamp(x, lo, hi) * x }",
    sample: perInput({ x: uniform(-1, 1), lo: uniform(-0.6, -0.3), hi: uniform(0.3, 0.6) }),
  },
  { name: "clamp with constant bounds", src: "fn f(x: f32[N]) -> f32[N] { return clamp(x, -0.5, 0.5) * x }", sample: perInput({ x: uniform(-1, 1) }) },
  { name: "select", src: "fn f(x: f32[N], a: f32[N], b: f32[B, 1]) -> f32[B, N] { return select(x > 0, a * x, b * x) }" },
  { name: "?: (select)", src: "fn f(x: f32[N], a: f32[N]) -> f32[N] { return x > 0 ? a * x : a - x }" },
  { name: "i32 promoted in arithmetic", src: "fn f(x: f32[N], k: i32[N]) -> f32[N] { return x * (k + 1) }" },
  { name: "bool promoted in arithmetic", src: "fn f(x: f32[B, N]) -> f32[B, N] { return x * x * (x > 0) }" },
];

const reductions: Case[] = [];
for (const op of ["sum", "mean", "max", "min", "logsumexp"]) {
  reductions.push(
    { name: `${op} over all`, src: `fn f(x: f32[B, N]) -> f32 { return ${op}(x) }` },
    { name: `${op} over all, keepdims`, src: `fn f(x: f32[B, N]) -> f32[1, 1] { return ${op}(x, keepdims = true) }` },
    { name: `${op} axis 0`, src: `fn f(x: f32[B, N]) -> f32[N] { return ${op}(x, axis = 0) }` },
    { name: `${op} axis 0, keepdims`, src: `fn f(x: f32[B, N]) -> f32[B, N] { return ${op}(x, axis = 0, keepdims = true) * x }` },
    { name: `${op} axis 1, keepdims, alone`, src: `fn f(x: f32[B, N]) -> f32[B, 1] { return ${op}(x, axis = 1, keepdims = true) }` },
    { name: `${op} axis 1`, src: `fn f(x: f32[B, N]) -> f32[B] { return ${op}(x, axis = 1) }` },
    { name: `${op} axis -1, keepdims`, src: `fn f(x: f32[B, N]) -> f32[B, N] { return ${op}(x, axis = -1, keepdims = true) * x }` },
    { name: `${op} axes [0, 2] of rank 3`, src: `fn f(x: f32[B, N, M]) -> f32[N] { return ${op}(x, axis = [0, 2]) }` },
  );
}

const normalize: Case[] = [];
for (const op of ["softmax", "log_softmax"]) {
  normalize.push(
    { name: `${op} default axis (-1)`, src: `fn f(x: f32[B, N]) -> f32[B, N] { return ${op}(2 * x) }` },
    { name: `${op} axis 0`, src: `fn f(x: f32[B, N]) -> f32[B, N] { return ${op}(2 * x, axis = 0) }` },
    { name: `${op} axis 1`, src: `fn f(x: f32[B, N]) -> f32[B, N] { return ${op}(2 * x, axis = 1) }` },
    { name: `${op} axis 1 of rank 3`, src: `fn f(x: f32[B, N, M]) -> f32[B, N, M] { return ${op}(2 * x, axis = 1) }` },
  );
}

const linalg: Case[] = [
  { name: "matmul 2-D @ 2-D", src: "fn f(a: f32[B, K], b: f32[K, N]) -> f32[B, N] { return a @ b }" },
  { name: "matmul() by name", src: "fn f(a: f32[B, K], b: f32[K, N]) -> f32[B, N] { return tanh(matmul(a, b)) }" },
  { name: "matmul 1-D @ 2-D", src: "fn f(a: f32[K], b: f32[K, N]) -> f32[N] { return a @ b }" },
  { name: "matmul 2-D @ 1-D", src: "fn f(a: f32[B, K], b: f32[K]) -> f32[B] { return a @ b }" },
  { name: "matmul 1-D @ 1-D", src: "fn f(a: f32[K], b: f32[K]) -> f32 { return a @ b }" },
  { name: "matmul x @ x (both operands the same)", src: "fn f(a: f32[K, K]) -> f32[K, K] { return a @ a }" },
  { name: "matmul batched, equal batch", src: "fn f(a: f32[M, B, K], b: f32[M, K, N]) -> f32[M, B, N] { return a @ b }" },
  { name: "matmul batched, broadcast batch [M, 1] with [3]", src: "fn f(a: f32[M, 1, B, K], b: f32[3, K, N]) -> f32[M, 3, B, N] { return a @ b }" },
  { name: "matmul batched, same rank, broadcast batch [M, 1] with [M, 3]", src: "fn f(a: f32[M, 1, B, K], b: f32[M, 3, K, N]) -> f32[M, 3, B, N] { return a @ b }" },
  { name: "matmul batched, broadcast batch [1] with [M]", src: "fn f(a: f32[1, B, K], b: f32[M, K, N]) -> f32[M, B, N] { return a @ b }" },
  { name: "matmul 2-D @ batched 3-D", src: "fn f(a: f32[B, K], b: f32[M, K, N]) -> f32[M, B, N] { return a @ b }" },
  { name: "matmul batched 3-D @ 1-D", src: "fn f(a: f32[M, B, K], b: f32[K]) -> f32[M, B] { return a @ b }" },
  { name: "matmul 1-D @ batched 3-D", src: "fn f(a: f32[K], b: f32[M, K, N]) -> f32[M, N] { return a @ b }" },
  { name: "transpose (default: reverse)", src: "fn f(x: f32[B, N], w: f32[B, K]) -> f32[N, K] { return transpose(x) @ w }" },
  { name: "transpose rank 3, perm [2, 0, 1]", src: "fn f(x: f32[B, N, M]) -> f32[M, B, N] { return transpose(x, [2, 0, 1]) * transpose(x, [2, 0, 1]) }" },
  { name: "transpose rank 3, perm = [1, 2, 0]", src: "fn f(x: f32[B, N, M]) -> f32[N, M, B] { return tanh(transpose(x, perm = [1, 2, 0])) }" },
  { name: "transpose rank 3, perm [0, 2, 1]", src: "fn f(x: f32[B, N, M], y: f32[B, M, N]) -> f32[B, M, N] { return transpose(x, [0, 2, 1]) * y }" },
];

const shape: Case[] = [
  { name: "reshape [2, 6] → [3, 4]", src: "fn f(x: f32[2, 6]) -> f32[3, 4] { return tanh(reshape(x, [3, 4])) * reshape(x, [3, 4]) }" },
  { name: "reshape [B, 4] → [B, 2, 2]", src: "fn f(x: f32[B, 4], w: f32[2]) -> f32[B, 2, 2] { return reshape(x, [B, 2, 2]) * w }" },
  { name: "gather axis 0", src: "fn f(x: f32[3, N], idx: i32[K]) -> f32[K, N] { return gather(x, idx) * gather(x, idx, axis = 0) }" },
  { name: "gather axis 1", src: "fn f(x: f32[B, 3], idx: i32[K]) -> f32[B, K] { return gather(x, idx, axis = 1) ^ 2 }" },
  { name: "gather axis 1 with 2-D indices", src: "fn f(x: f32[B, 3, M], idx: i32[N, 2]) -> f32[B, N, 2, M] { return tanh(gather(x, idx, axis = 1)) }" },
  { name: "gather axis -1", src: "fn f(x: f32[B, 3], idx: i32[K]) -> f32[B, K] { return sin(gather(x, idx, axis = -1)) }" },
  { name: "one_hot picks (labels are not differentiable)", src: "fn f(x: f32[B, K], labels: i32[B]) -> f32[B] { return sum(one_hot(labels, K) * x * x, axis = 1) }" },
];

const composite: Case[] = [
  {
    name: "softmax cross-entropy with logsumexp",
    src: `fn f(x: f32[B, K], w: f32[K, N], labels: i32[B]) -> f32 {
      let logits = x @ w
      return mean(logsumexp(logits, axis = 1) - sum(one_hot(labels, N) * logits, axis = 1))
    }`,
  },
  {
    name: "layer norm",
    src: `fn f(x: f32[B, N], gamma: f32[N]) -> f32[B, N] {
      let mu = mean(x, axis = 1, keepdims = true)
      let var = mean((x - mu) ^ 2, axis = 1, keepdims = true)
      return (x - mu) * rsqrt(var + 0.001) * gamma
    }`,
  },
  {
    name: "a fn called from another (inlined)",
    src: `fn act(v: f32[D]) -> f32[D] { return v * sigmoid(v) }
    fn f(x: f32[B, K], w: f32[K]) -> f32[B] { return act(x @ w) }`,
  },
];

function check(c: Case): void {
  const fn = compileFn(c.src, "f");
  for (const seed of [1, 2, 3]) {
    const r = gradcheck(fn, { dims: c.dims ?? dims, sample: c.sample, scalars: c.scalars, seed });
    // The directional derivative must be nonzero, so a gradient of zero could not pass.
    expect(Math.abs(r.numeric), `seed ${seed}: the function is flat in the random direction`).toBeGreaterThan(1e-3);
    expect(Math.abs(r.analytic - r.numeric), `seed ${seed}: analytic ${r.analytic} vs numeric ${r.numeric}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(r.numeric)));
  }
}

describe("gradcheck: every differentiable primitive against central differences", () => {
  describe("elementwise and operators", () => {
    it.each(elementwise.map((c) => [c.name, c] as const))("%s", (_n, c) => check(c));
  });
  describe("reductions", () => {
    it.each(reductions.map((c) => [c.name, c] as const))("%s", (_n, c) => check(c));
  });
  describe("softmax and log_softmax", () => {
    it.each(normalize.map((c) => [c.name, c] as const))("%s", (_n, c) => check(c));
  });
  describe("linear algebra", () => {
    it.each(linalg.map((c) => [c.name, c] as const))("%s", (_n, c) => check(c));
  });
  describe("shape", () => {
    it.each(shape.map((c) => [c.name, c] as const))("%s", (_n, c) => check(c));
  });
  describe("composites", () => {
    it.each(composite.map((c) => [c.name, c] as const))("%s", (_n, c) => check(c));
  });
});

describe("nm_prune: plain autodiff gives g * mask", () => {
  it("passes the gradcheck", () => check({ name: "nm_prune", src: "fn f(w: f32[B, 8]) -> f32[B, 8] { return nm_prune(w, 2, 4) }" }));

  it("is exactly the cotangent where the mask keeps w, 0 where it prunes", () => {
    const fn = compileFn("fn f(w: f32[2, 8]) -> f32[2, 8] { return nm_prune(w, 2, 4) }", "f");
    // Groups of 4 along the last axis; the 2 largest |w| of each survive.
    const w = [0.1, -0.9, 0.5, 0.2, /**/ -0.3, 0.05, 0.7, -0.8, /**/ 1, 2, -3, 4, /**/ 0.4, -0.1, 0.2, -0.6];
    const mask = [0, 1, 1, 0, /**/ 0, 0, 1, 1, /**/ 0, 0, 1, 1, /**/ 1, 0, 0, 1];
    const ct = w.map((_, i) => i + 1);
    const r = evalVjp(fn, { w }, [ct]);
    expect(r.outputs[0]).toEqual(w.map((v, i) => v * mask[i]!));
    expect(r.grads["w"]).toEqual(ct.map((c, i) => c * mask[i]!));
  });
});

/** Fns whose value is piecewise constant in every f32 input: the vjp must be exactly 0. */
const piecewiseConstant: Case[] = [
  { name: "sign", src: "fn f(x: f32[N]) -> f32[N] { return sign(x) }" },
  { name: "sign x (juxtaposition)", src: "fn f(x: f32[N]) -> f32[N] { return sign x * 2 }" },
  { name: "signum", src: "fn f(x: f32[N]) -> f32[N] { return signum(x) }" },
  { name: "round", src: "fn f(x: f32[N]) -> f32[N] { return round(3 * x) }" },
  { name: "floor", src: "fn f(x: f32[N]) -> f32[N] { return floor(3 * x) }" },
  { name: "ceil", src: "fn f(x: f32[N]) -> f32[N] { return ceil(3 * x) }" },
  { name: "step", src: "fn f(x: f32[N]) -> f32[N] { return step(x) }" },
  { name: "< <= > >= == !=", src: "fn f(x: f32[N], y: f32[N]) -> f32[N] { return (x < y) + (x <= y) * 2 + (x > y) * 4 + (x >= y) * 8 + (x == y) * 16 + (x != y) * 32 }" },
  { name: "! && ||", src: "fn f(x: f32[N], y: f32[N]) -> f32[N] { return (!(x > 0)) + ((x > 0) && (y > 0)) * 2 + ((x > 0) || (y > 0)) * 4 }" },
  { name: "a comparison returned as bool", src: "fn f(x: f32[N], y: f32[N]) -> bool[N] { return x < y }" },
  { name: "nm_mask", src: "fn f(w: f32[B, 8]) -> f32[B, 8] { return nm_mask(w, 2, 4) }" },
  { name: "argmax (i32 result)", src: "fn f(x: f32[B, N]) -> i32[B] { return argmax(x, axis = 1) }" },
  { name: "argmin (i32 result)", src: "fn f(x: f32[B, N]) -> i32[N] { return argmin(x, axis = 0) }" },
  { name: "one_hot of argmax", src: "fn f(x: f32[B, N]) -> f32[B, N] { return one_hot(argmax(x, axis = 1), N) }" },
  { name: "sg", src: "fn f(x: f32[N]) -> f32[N] { return sg(x * x) }" },
  { name: "detach", src: "fn f(x: f32[N]) -> f32[N] { return exp(x) detach }" },
];

describe("piecewise-constant primitives have an exactly zero gradient", () => {
  it.each(piecewiseConstant.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const fn = compileFn(c.src, "f");
    const r = rng(11);
    const d = c.dims ?? dims;
    const inputs: Record<string, number[]> = {};
    for (const i of fn.lowered.inputs) {
      const n = i.shape.reduce<number>((a, s) => a * (typeof s === "number" ? s : d[s]!), 1);
      inputs[i.name] = Array.from({ length: n }, () => Math.round((r() * 4 - 2) * 8) / 8);
    }
    const outShape = fn.lowered.outputs[0]!.shape.reduce<number>((a, s) => a * (typeof s === "number" ? s : d[s]!), 1);
    const ct = Array.from({ length: outShape }, () => r() * 2 - 1);
    const res = evalVjp(fn, inputs, [ct], { dims: d });
    expect(Object.keys(res.grads).length).toBeGreaterThan(0);
    for (const [name, g] of Object.entries(res.grads)) {
      expect(g.every((v) => v === 0), `gradient of ${name}: ${g}`).toBe(true);
    }
    // Also the gradcheck agrees away from the jumps (numeric and analytic are both 0).
    const gc = gradcheck(fn, { dims: d, seed: 5, h: 1e-9 });
    expect(gc.analytic).toBe(0);
  });
});

/** Exact derivatives at the kinks, where central differences do not apply: the documented choices. */
describe("derivatives at kinks and ties", () => {
  const vjpOf = (src: string, inputs: Record<string, number[]>, ct: number[]) => evalVjp(compileFn(src, "f"), inputs, [ct]).grads;

  it("max/min reductions split the cotangent equally among tied maxima (as JAX)", () => {
    expect(vjpOf("fn f(x: f32[N]) -> f32 { return max(x) }", { x: [1, 3, -2, 3] }, [2])["x"]).toEqual([0, 1, 0, 1]);
    expect(vjpOf("fn f(x: f32[N]) -> f32 { return min(x) }", { x: [-1, 3, -1, -1] }, [3])["x"]).toEqual([1, 0, 1, 1]);
    // Per row along axis 1: row 0 has a tie, row 1 a single winner.
    expect(vjpOf("fn f(x: f32[2, 3]) -> f32[2] { return max(x, axis = 1) }", { x: [5, 5, 1, 0, 2, 1] }, [4, 6])["x"]).toEqual([2, 2, 0, 0, 6, 0]);
  });

  it("elementwise max/min split a tie in half", () => {
    const g = vjpOf("fn f(a: f32[N], b: f32[N]) -> f32[N] { return max(a, b) }", { a: [1, 2, 3], b: [1, 5, 0] }, [2, 2, 2]);
    expect(g["a"]).toEqual([1, 0, 2]);
    expect(g["b"]).toEqual([1, 2, 0]);
    const h = vjpOf("fn f(a: f32[N], b: f32[N]) -> f32[N] { return min(a, b) }", { a: [1, 2, 3], b: [1, 5, 0] }, [2, 2, 2]);
    expect(h["a"]).toEqual([1, 2, 0]);
    expect(h["b"]).toEqual([1, 0, 2]);
  });

  it("abs'(0) = 0 and relu'(0) = 0", () => {
    expect(vjpOf("fn f(x: f32[N]) -> f32[N] { return abs(x) }", { x: [-2, 0, 3] }, [1, 1, 1])["x"]).toEqual([-1, 0, 1]);
    expect(vjpOf("fn f(x: f32[N]) -> f32[N] { return relu(x) }", { x: [-2, 0, 3] }, [1, 1, 1])["x"]).toEqual([0, 0, 1]);
  });

  it("clamp passes the cotangent to x on lo <= x <= hi inclusive, to lo below and to hi above", () => {
    const g = vjpOf("fn f(x: f32[N], lo: f32[N], hi: f32[N]) -> f32[N] { return clamp(x, lo, hi) }", { x: [-2, -1, 0, 1, 2], lo: [-1, -1, -1, -1, -1], hi: [1, 1, 1, 1, 1] }, [1, 2, 3, 4, 5]);
    expect(g["x"]).toEqual([0, 2, 3, 4, 0]);
    expect(g["lo"]).toEqual([1, 0, 0, 0, 0]);
    expect(g["hi"]).toEqual([0, 0, 0, 0, 5]);
  });
});
