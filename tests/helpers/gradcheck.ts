/**
 * Random-direction VJP check against central differences in f64 (JAX's check_vjp idea):
 * for random inputs x, direction v and cotangent c, <c, (f(x+hv) - f(x-hv)) / 2h> must equal
 * <vjp(c), v>. Both sides are evaluated by the reference interpreter in float64.
 */
import { evaluateDim } from "../../compiler/dims.js";
import { evaluate, type EvalEnv } from "../../compiler/interpret.js";
import type { DifferentiatedFn } from "../../compiler/differentiate.js";

/** A seeded xorshift generator for reproducible test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export interface GradcheckOptions {
  dims: Record<string, number>;
  scalars?: Record<string, number>;
  /** Draws one f32 input element; defaults to uniform on [-1, -0.1] ∪ [0.1, 1]. */
  sample?: (name: string, r: () => number) => number;
  seed?: number;
  h?: number;
}

/** Returns the analytic and numeric directional derivatives for one random direction. */
export function gradcheck(fn: DifferentiatedFn, opts: GradcheckOptions): { analytic: number; numeric: number } {
  const r = rng(opts.seed ?? 1);
  const h = opts.h ?? 1e-6;
  const sample =
    opts.sample ??
    ((_n: string, rr: () => number) => {
      const u = rr() * 1.8 - 0.9;
      return u + Math.sign(u) * 0.1;
    });
  const concrete = (shape: (number | string)[]) => shape.map((d) => (typeof d === "number" ? d : (opts.dims[d] ?? evaluateDim(d, (s) => opts.dims[s])!)));
  const size = (shape: (number | string)[]) => concrete(shape).reduce((a, d) => a * d, 1);
  const inputs: EvalEnv["inputs"] = {};
  const dirs: Record<string, Float64Array> = {};
  for (const i of fn.lowered.inputs) {
    const n = size(i.shape);
    const data = i.dtype === "i32" ? Int32Array.from({ length: n }, () => Math.floor(r() * 3)) : Float64Array.from({ length: n }, () => sample(i.name, r));
    inputs[i.name] = { data, shape: concrete(i.shape) };
    if (i.dtype === "f32") dirs[i.name] = Float64Array.from({ length: n }, () => r() * 2 - 1);
  }
  const scalars = { ...Object.fromEntries(fn.lowered.scalars.map((s) => [s.name, s.default])), ...opts.scalars };
  const env = (ins: EvalEnv["inputs"]): EvalEnv => ({ inputs: ins, scalars, dims: opts.dims, seed: 7 });
  const outs = evaluate(fn.lowered.outputs, env(inputs));
  const cts = outs.map((o) => Float64Array.from({ length: o.data.length }, () => r() * 2 - 1));
  const withCts = { ...inputs };
  cts.forEach((c, i) => (withCts[`$ct${i}`] = { data: c, shape: outs[i]!.shape }));
  const names = Object.keys(fn.grads);
  const grads = evaluate(names.map((n) => fn.grads[n]!), env(withCts));
  let analytic = 0;
  names.forEach((n, k) => grads[k]!.data.forEach((g, j) => (analytic += g * dirs[n]![j]!)));
  const shifted = (sgn: number) => {
    const ins: EvalEnv["inputs"] = {};
    for (const [n, v] of Object.entries(inputs)) {
      const d = dirs[n];
      ins[n] = d === undefined ? v : { data: Float64Array.from(v.data as Float64Array, (x, j) => x + sgn * h * d[j]!), shape: v.shape };
    }
    return evaluate(fn.lowered.outputs, env(ins));
  };
  const plus = shifted(1);
  const minus = shifted(-1);
  let numeric = 0;
  cts.forEach((c, i) => c.forEach((cv, j) => (numeric += (cv * (plus[i]!.data[j]! - minus[i]!.data[j]!)) / (2 * h))));
  return { analytic, numeric };
}

export interface VjpEnv {
  dims?: Record<string, number>;
  /** Runtime scalars; a fn's defaults fill the ones not given. */
  scalars?: Record<string, number>;
  seed?: number;
}

/** Concrete values of one fn evaluated by the reference interpreter. */
export interface VjpResult {
  /** The forward outputs, as plain arrays. */
  outputs: number[][];
  /** The vjp gradients of every f32 input, by name (empty when no cotangents are given). */
  grads: Record<string, number[]>;
}

/** The EvalEnv for `fn` with concrete `inputs` (shapes inferred from `dims` when not given). */
function concreteEnv(fn: DifferentiatedFn, inputs: Record<string, ArrayLike<number>>, opts: VjpEnv): EvalEnv {
  const dims = { ...(opts.dims ?? {}) };
  // Bind shape symbols of rank-1 inputs from the data when the caller did not give them.
  for (const i of fn.lowered.inputs) {
    const data = inputs[i.name];
    if (data === undefined) throw new Error(`missing input ${i.name}`);
    if (i.shape.length === 1 && typeof i.shape[0] === "string" && dims[i.shape[0]] === undefined) dims[i.shape[0]] = data.length;
  }
  const ins: EvalEnv["inputs"] = {};
  for (const i of fn.lowered.inputs) {
    const shape = i.shape.map((d) => (typeof d === "number" ? d : (dims[d] ?? evaluateDim(d, (s) => dims[s])!)));
    const data = inputs[i.name]!;
    ins[i.name] = { data: i.dtype === "i32" ? Int32Array.from(data as ArrayLike<number>) : Float64Array.from(data as ArrayLike<number>), shape };
  }
  const scalars = { ...Object.fromEntries(fn.lowered.scalars.map((s) => [s.name, s.default])), ...opts.scalars };
  return { inputs: ins, scalars, dims, seed: opts.seed ?? 0 };
}

/**
 * Evaluates the forward outputs of `fn` at `inputs` and, when `cotangents` (one array per
 * output) are given, the vjp gradients of its f32 inputs.
 */
export function evalVjp(fn: DifferentiatedFn, inputs: Record<string, ArrayLike<number>>, cotangents?: ArrayLike<number>[], opts: VjpEnv = {}): VjpResult {
  const env = concreteEnv(fn, inputs, opts);
  const outs = evaluate(fn.lowered.outputs, env);
  const result: VjpResult = { outputs: outs.map((o) => Array.from(o.data)), grads: {} };
  if (cotangents === undefined) return result;
  cotangents.forEach((c, i) => (env.inputs[`$ct${i}`] = { data: Float64Array.from(c), shape: outs[i]!.shape }));
  const names = Object.keys(fn.grads);
  const grads = evaluate(names.map((n) => fn.grads[n]!), env);
  names.forEach((n, k) => (result.grads[n] = Array.from(grads[k]!.data)));
  return result;
}

/** The scalar value and `valueAndGrad` gradients of a scalar-valued `fn` at `inputs`. */
export function evalValueAndGrad(fn: DifferentiatedFn, inputs: Record<string, ArrayLike<number>>, opts: VjpEnv = {}): { value: number; grads: Record<string, number[]> } {
  if (fn.valueAndGrad === undefined) throw new Error(`fn ${fn.lowered.name} has no scalar result`);
  const env = concreteEnv(fn, inputs, opts);
  const names = Object.keys(fn.valueAndGrad);
  const vals = evaluate([fn.lowered.outputs[0]!, ...names.map((n) => fn.valueAndGrad![n]!)], env);
  const grads: Record<string, number[]> = {};
  names.forEach((n, k) => (grads[n] = Array.from(vals[k + 1]!.data)));
  return { value: vals[0]!.data[0]!, grads };
}
