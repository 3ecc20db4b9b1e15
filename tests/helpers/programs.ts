/**
 * The programs every back-end test runs: the CPU kernels against the f64 evaluator
 * (tests/codegen/cpu-vs-oracle), the WGSL kernels against the CPU kernels (tests/codegen/wgsl)
 * and the WebGPU functions against the CPU functions (tests/webgpu/parity). One list, so a
 * program added here is checked on every back end.
 */
import { tensor, type Tensor } from "estc/runtime";
import type { DifferentiatedFn } from "../../compiler/differentiate.js";
import { rng } from "./gradcheck.js";
export interface Program {
  name: string;
  src: string;
  /** The fn the tests call. */
  fn: string;
  /** Sizes of the shape symbols. */
  dims: Record<string, number>;
  /** Runtime scalar options (the fn's defaults otherwise). */
  scalars?: Record<string, number>;
}

export const programs: Program[] = [
  { name: "ReSTE sign", fn: "f", dims: { N: 37 }, src: `import { ReSTE } from "std/binary"\nfn f(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ReSTE(o = o) }`, scalars: { o: 2 } },
  { name: "broadcast chain", fn: "f", dims: { B: 3, N: 5 }, src: `fn f(x: f32[B, N], y: f32[N], s: f32[B, 1]) -> f32[B, N] { return tanh(clamp(x * 1.5, -1, 1)) * y + s }` },
  { name: "softmax CE MLP", fn: "loss", dims: { B: 4, I: 6, H: 5, K: 3 }, src: `fn loss(x: f32[B, I], w1: f32[I, H], w2: f32[H, K], labels: i32[B]) -> f32 {
      let h = relu(x @ w1)
      return -mean(sum(one_hot(labels, K) * log_softmax(h @ w2, axis = 1), axis = 1))
    }` },
  { name: "reductions over axis 0 with keepdims", fn: "f", dims: { B: 4, N: 3 }, src: `fn f(x: f32[B, N]) -> f32[1, N] { return max(x, axis = 0, keepdims = true) + sum(exp(x), axis = 0, keepdims = true) + logsumexp(x, axis = 0, keepdims = true) }` },
  { name: "transpose, reshape, gather", fn: "f", dims: { A: 2, B: 3 }, src: `fn f(x: f32[A, B], idx: i32[A]) -> f32[A, A] { return gather(transpose(x) * 2, idx, axis = 0) + sum(reshape(x, [B, A]), axis = 0) }` },
  { name: "nm_prune 2:4 and pow", fn: "f", dims: { R: 2 }, src: `fn f(w: f32[R, 8]) -> f32[R, 8] { return nm_prune(w, 2, 4) + pow(abs(w) + 1, 1.5) }` },
  { name: "every unary primitive", fn: "f", dims: { N: 23 }, src: `fn f(x: f32[N]) -> (f32[N], f32[N], f32[N], f32[N]) {
      let a = abs(x) + 0.5
      return (neg(x) + abs(x) + sign(x) + signum(x) + exp(x) + log(a) + log1p(a) + sqrt(a) + rsqrt(a),
              sin(x) + cos(x) + tanh(x) + sigmoid(x) + softplus(x) + relu(x),
              floor(x) + ceil(x) + round(x * 2) + step(x) + (x > 0.5) + (x != 0.25) + !(x < 0),
              min(x, 0.3) + max(x, -0.3) + clamp(x, -1, 1) + select(x > 0, x, x * x) + pow(a, x) + (x % 0.7))
    }` },
  { name: "softmax, argmax, one_hot, categorical, gumbel", fn: "f", dims: { B: 5, K: 4 }, src: `fn f(x: f32[B, K]) -> (f32[B, K], i32[B], f32[B, K], f32[B, K], f32[B]) {
      return (softmax(x, axis = 1), argmax(x, axis = 1), one_hot(categorical(x), K), gumbel([B, K]) + x, min(x, axis = 1) + mean(x, axis = 1))
    }` },
  { name: "sampling draws", fn: "f", dims: { N: 9 }, src: `fn f(p: f32[N]) -> (f32[N], f32[N], f32[N]) { return (bernoulli(sigmoid(p)), uniform([N]) + p, normal(p, 0.5)) }` },
  // Regression: the VJP of sum reshapes the literal cotangent 1 to [1]; that reshape once
  // aliased a buffer nothing wrote, so sum(step(x) * x) had a zero gradient in generated code.
  { name: "scalar loss through a masked sum", fn: "f", dims: { N: 11 }, src: `fn f(x: f32[N], s: f32 = 2.0) -> f32 { return sum(step(x) * x) + s * mean(relu(x) * x) }` },
  // Bool results reach the caller as bool tensors (they are bit-packed inside the plan).
  { name: "bool results", fn: "f", dims: { N: 37 }, src: `fn f(x: f32[N]) -> (bool[N], f32[N], bool) { return (x > 0, relu(x) * (x < 0.5), sum(x) > 0) }` },
  { name: "iota positions", fn: "f", dims: { B: 3, K: 5 }, src: `fn f(x: f32[B, K]) -> (i32[B, K], f32[B, K], f32) {
      let col = iota([B, K], axis = 1)
      return (col + iota([B, K]) * 10, x * (col < 2), sum(x * iota([B, K], axis = -1)))
    }` },
];

/** Random inputs for a fn's signature: f32 in [-2, 2), i32 in {0, 1} (valid labels / indices). */
export function inputsFor(fn: DifferentiatedFn, dims: Record<string, number>, seed: number): Record<string, Tensor> {
  const r = rng(seed);
  const inputs: Record<string, Tensor> = {};
  for (const i of fn.lowered.inputs) {
    const shape = i.shape.map((d) => (typeof d === "number" ? d : dims[d]!));
    const n = shape.reduce((a, b) => a * b, 1);
    inputs[i.name] =
      i.dtype === "i32"
        ? tensor(Int32Array.from({ length: n }, () => Math.floor(r() * 2)), shape)
        : tensor(Float32Array.from({ length: n }, () => r() * 4 - 2), shape);
  }
  return inputs;
}

/** Random cotangents shaped like the cpu outputs. */
export function cotangentsFor(outs: Tensor[], seed: number): Tensor[] {
  const r = rng(seed);
  return outs.map((o) => tensor(Float32Array.from({ length: o.size }, () => r() * 2 - 1), [...o.shape]));
}
