/**
 * The generated TypeScript kernels against the f64 reference evaluator: forward values and
 * vjp gradients of the same programs must agree to f32 precision (inputs are rounded to f32
 * before both see them).
 */
import { describe, expect, it } from "vitest";
import { tensor } from "estc/runtime";
import { evaluate } from "../../compiler/interpret.js";
import { buildModule } from "../helpers/build.js";
import { rng } from "../helpers/gradcheck.js";

interface Case {
  name: string;
  src: string;
  fn: string;
  dims: Record<string, number>;
  scalars?: Record<string, number>;
  positive?: boolean;
}

const cases: Case[] = [
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
];

/** f32 inputs as the generated code sees them, so the oracle takes the same branches. */
function roundF32(a: Float64Array): Float64Array {
  return a.map(Math.fround);
}

describe("generated CPU kernels agree with the reference evaluator", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { fns, mod } = await buildModule(c.src);
      const fn = fns[c.fn]!;
      const r = rng(3);
      const concrete = (shape: (number | string)[]) => shape.map((d) => (typeof d === "number" ? d : c.dims[d]!));
      const inputs: Record<string, any> = {};
      const oracleInputs: Record<string, { data: Float64Array | Int32Array; shape: number[] }> = {};
      for (const i of fn.lowered.inputs) {
        const shape = concrete(i.shape);
        const n = shape.reduce((a, b) => a * b, 1);
        if (i.dtype === "i32") {
          const data = Int32Array.from({ length: n }, () => Math.floor(r() * 2));
          inputs[i.name] = tensor(data, shape);
          oracleInputs[i.name] = { data, shape };
        } else {
          const data = roundF32(Float64Array.from({ length: n }, () => r() * 4 - 2));
          inputs[i.name] = tensor(Float32Array.from(data), shape);
          oracleInputs[i.name] = { data, shape };
        }
      }
      const scalars = { ...Object.fromEntries(fn.lowered.scalars.map((s) => [s.name, s.default])), ...c.scalars };
      const env = { inputs: oracleInputs, scalars, dims: c.dims, seed: 11 };
      const expected = evaluate(fn.lowered.outputs, env);
      const out = await mod[c.fn].forward(inputs, { ...c.scalars, seed: 11 });
      const outs = Array.isArray(out) ? out : [out];
      for (let k = 0; k < outs.length; k++) {
        const got = await outs[k].data();
        expect(Array.from(outs[k].shape)).toEqual(expected[k]!.shape);
        got.forEach((v: number, j: number) => expect(v).toBeCloseTo(expected[k]!.data[j]!, 4));
      }
      if (Object.keys(fn.grads).length === 0) return;
      const cts = expected.map((e) => roundF32(Float64Array.from({ length: e.data.length }, () => r() * 2 - 1)));
      const ctTensors = cts.map((ct, k) => tensor(Float32Array.from(ct), expected[k]!.shape));
      const grads = await mod[c.fn].vjp(inputs, fn.lowered.tuple ? ctTensors : ctTensors[0], { ...c.scalars, seed: 11 });
      const withCts = { ...oracleInputs };
      cts.forEach((ct, k) => (withCts[`$ct${k}`] = { data: ct, shape: expected[k]!.shape }));
      for (const name of Object.keys(fn.grads)) {
        const [want] = evaluate([fn.grads[name]!], { ...env, inputs: withCts });
        const got = await grads[name].data();
        got.forEach((v: number, j: number) => expect(v).toBeCloseTo(want!.data[j]!, 4));
      }
    });
  }
});
