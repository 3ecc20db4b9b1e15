/**
 * Random-direction VJP check against central differences in f64 (JAX's check_vjp idea):
 * for random inputs x, direction v and cotangent c, <c, (f(x+hv) - f(x-hv)) / 2h> must equal
 * <vjp(c), v>. Both sides are evaluated by the reference interpreter in float64.
 */
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
  const concrete = (shape: (number | string)[]) => shape.map((d) => (typeof d === "number" ? d : opts.dims[d]!));
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
