/**
 * A reference evaluator of the IR in float64: the independent oracle that gradchecks and the
 * code generators' tests compare against. It favours plainness over speed: every node is
 * materialised as a dense row-major Float64Array, and each op is written as NumPy defines it.
 *
 * Semantics (the back ends must match these):
 * - elementwise ops broadcast their inputs to the node's shape with NumPy rules (align right,
 *   size-1 dims repeat); bool results are 0/1; i32 results are integers, except that Div is real
 *   division whatever the dtype (lowering never divides i32 by i32);
 * - Cast: to i32 truncates toward zero, to bool is `x != 0`, to f32 keeps the value (f64 here);
 * - Mod is floored (`a - b*floor(a/b)`, NumPy/Python `%`); Pow is Math.pow;
 * - sign(x) = x >= 0 ? +1 : -1 (so sign(±0) = +1, sign(NaN) = -1); signum is three-valued
 *   (Math.sign: ±0 and NaN pass through); step(x) = x > 0 ? 1 : 0; round is half to even;
 *   relu = max(x, 0); softplus = log1p(exp(-|x|)) + max(x, 0); sigmoid never overflows;
 *   rsqrt = 1/sqrt;
 * - Select(c, a, b) = c != 0 ? a : b; Clamp(x, lo, hi) = min(max(x, lo), hi); And/Or/Not test
 *   nonzero-ness; comparisons are IEEE (NaN compares false except Ne);
 * - reductions take attrs.axes (normalised, non-negative; empty or absent = all axes) and
 *   attrs.keepdims; Max/Min propagate NaN like NumPy; ArgMax/ArgMin index the flattened
 *   (row-major) reduced block and the first occurrence wins ties (a NaN counts as the extreme);
 * - Gather/GatherGrad indices must lie in [0, size of the axis): a negative index is an error,
 *   not NumPy's wrap-around;
 * - Random element i (row-major over the node's resolved shape) is uniform01 (or uniformOpen01
 *   when attrs.open) of the Philox word (seed, node = attrs.site, attrs.stream, i) from
 *   runtime/philox.ts, so both back ends and this oracle draw the same numbers;
 * - convolutions and poolings are compiler/interpret-conv.ts's (NCHW; max pooling's tie rule there);
 * - StopGradient and Custom are the identity of inputs[0]; Custom's other inputs (the estimator's
 *   inputs and parameters) are not evaluated at all.
 */
import { evaluateDim, isDimExpr } from "./dims.js";
import { gumbelFromWord, normalFromWords } from "../runtime/normal.js";
import { fillWords, uniform01, uniformOpen01 } from "../runtime/philox.js";
import { evalConvNode } from "./interpret-conv.js";
import { neededIds, Op, topoSort, type DimT, type Node } from "./ir.js";

/** A dense row-major tensor of float64 values. */
export interface Value {
  data: Float64Array;
  shape: number[];
}

/** What `evaluate` reads: named inputs, runtime scalars, the sizes of shape symbols and the seed. */
export interface EvalEnv {
  inputs: Record<string, { data: Float64Array | Int32Array | number[]; shape: number[] }>;
  scalars: Record<string, number>;
  dims: Record<string, number>;
  seed: number;
}

/**
 * Evaluates `roots` under `env`, each reachable node once (memoised by id, in topoSort order).
 * Throws an Error naming the node for an unknown dim symbol, a missing input or scalar, an input
 * whose data does not match its declared shape, or an out-of-range index.
 */
export function evaluate(roots: Node[], env: EvalEnv): Value[] {
  const needed = neededIds(roots);
  const memo = new Map<number, Value>();
  for (const n of topoSort(roots)) {
    if (!needed.has(n.id)) continue;
    const shape = n.shape.map((d) => resolveDim(d, env, n));
    const ins = n.inputs.map((i) => memo.get(i.id)!);
    memo.set(n.id, { data: evalNode(n, shape, ins, env), shape });
  }
  return roots.map((r) => {
    const v = memo.get(r.id)!;
    return { data: v.data.slice(), shape: [...v.shape] };
  });
}


function fail(n: Node, message: string): never {
  throw new Error(`evaluate: %${n.id} (${n.op}): ${message}`);
}

function resolveDim(d: DimT, env: EvalEnv, n: Node): number {
  // A computed dim (`C*H*W`) is evaluated from its symbols' sizes.
  const size = typeof d === "number" ? d : (env.dims[d] ?? (isDimExpr(d) ? evaluateDim(d, (s) => env.dims[s]) : undefined));
  if (size === undefined) fail(n, `unknown dim symbol '${d}' (env.dims has ${Object.keys(env.dims).join(", ") || "none"})`);
  if (!Number.isInteger(size) || size < 0) fail(n, `dim ${d} = ${size} is not a size`);
  return size;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function rowMajorStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** For each row-major position of `shape`, the source offset `sum(index[a] * strides[a])`. */
function stridedOffsets(shape: readonly number[], strides: readonly number[]): Int32Array {
  const out = new Int32Array(numel(shape));
  const idx = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = src;
    for (let a = shape.length - 1; a >= 0; a--) {
      src += strides[a]!;
      if (++idx[a]! < shape[a]!) break;
      src -= strides[a]! * shape[a]!;
      idx[a] = 0;
    }
  }
  return out;
}

/** Offsets into a tensor of shape `from` for each element of `to`, NumPy-broadcast. */
function broadcastOffsets(n: Node, from: readonly number[], to: readonly number[]): Int32Array {
  const lead = to.length - from.length;
  if (lead < 0) fail(n, `cannot broadcast [${from}] to the lower rank [${to}]`);
  const fs = rowMajorStrides(from);
  const strides = to.map((d, i) => {
    if (i < lead || from[i - lead] === 1) return 0;
    if (from[i - lead] !== d) fail(n, `cannot broadcast [${from}] to [${to}]`);
    return fs[i - lead]!;
  });
  return stridedOffsets(to, strides);
}

function expand(n: Node, v: Value, to: readonly number[]): Float64Array {
  const map = broadcastOffsets(n, v.shape, to);
  return Float64Array.from(map, (o) => v.data[o]!);
}

function expectShape(n: Node, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) fail(n, `computes shape [${got}] but the node declares [${want}]`);
}

function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 ? x * 0 : r; // keeps the sign of zero: round(-0.4) = -0
}

const unary: Partial<Record<Op, (x: number) => number>> = {
  [Op.Neg]: (x) => -x,
  [Op.Abs]: Math.abs,
  // NaN passes through sign and step as on every back end (docs/language.md, "NaN"); a plain
  // `x >= 0 ? 1 : -1` made the oracle say -1 where the kernels say NaN.
  [Op.Sign]: (x) => (x >= 0 ? 1 : x < 0 ? -1 : NaN),
  [Op.Signum]: Math.sign,
  [Op.Exp]: Math.exp,
  [Op.Log]: Math.log,
  [Op.Log1p]: Math.log1p,
  [Op.Sqrt]: Math.sqrt,
  [Op.Rsqrt]: (x) => 1 / Math.sqrt(x),
  [Op.Sin]: Math.sin,
  [Op.Cos]: Math.cos,
  [Op.Tanh]: Math.tanh,
  [Op.Sigmoid]: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  [Op.Softplus]: (x) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0),
  [Op.Relu]: (x) => Math.max(x, 0),
  [Op.Floor]: Math.floor,
  [Op.Ceil]: Math.ceil,
  [Op.Round]: roundHalfEven,
  [Op.Step]: (x) => (x > 0 ? 1 : x <= 0 ? 0 : NaN),
  [Op.Not]: (x) => (x === 0 ? 1 : 0),
  [Op.StopGradient]: (x) => x,
  [Op.Custom]: (x) => x,
};

const b01 = (c: boolean): number => (c ? 1 : 0);

const binary: Partial<Record<Op, (a: number, b: number) => number>> = {
  [Op.Add]: (a, b) => a + b,
  [Op.Sub]: (a, b) => a - b,
  [Op.Mul]: (a, b) => a * b,
  [Op.Div]: (a, b) => a / b,
  [Op.Mod]: (a, b) => a - b * Math.floor(a / b),
  [Op.Pow]: Math.pow,
  [Op.Minimum]: Math.min,
  [Op.Maximum]: Math.max,
  [Op.Lt]: (a, b) => b01(a < b),
  [Op.Le]: (a, b) => b01(a <= b),
  [Op.Gt]: (a, b) => b01(a > b),
  [Op.Ge]: (a, b) => b01(a >= b),
  [Op.Eq]: (a, b) => b01(a === b),
  [Op.Ne]: (a, b) => b01(a !== b),
  [Op.And]: (a, b) => b01(a !== 0 && b !== 0),
  [Op.Or]: (a, b) => b01(a !== 0 || b !== 0),
};

const ternary: Partial<Record<Op, (a: number, b: number, c: number) => number>> = {
  [Op.Select]: (c, a, b) => (c !== 0 ? a : b),
  [Op.Clamp]: (x, lo, hi) => Math.min(Math.max(x, lo), hi),
};

function castTo(n: Node): (x: number) => number {
  return n.dtype === "i32" ? Math.trunc : n.dtype === "bool" ? (x) => b01(x !== 0) : (x) => x;
}

/** Elementwise ops: each input broadcast to `shape`, then `f` per element. */
function elementwise(n: Node, shape: number[], ins: Value[], f: (...xs: number[]) => number): Float64Array {
  const xs = ins.map((v) => expand(n, v, shape));
  const out = new Float64Array(numel(shape));
  for (let k = 0; k < out.length; k++) out[k] = f(...xs.map((x) => x[k]!));
  return out;
}

function evalNode(n: Node, shape: number[], ins: Value[], env: EvalEnv): Float64Array {
  const filled = (v: number) => new Float64Array(numel(shape)).fill(v);
  const f = n.op === Op.Cast ? castTo(n) : unary[n.op] ?? binary[n.op] ?? ternary[n.op];
  if (f !== undefined) return elementwise(n, shape, n.op === Op.Custom ? ins.slice(0, 1) : ins, f);
  switch (n.op) {
    case Op.Input:
      return readInput(n, shape, env);
    case Op.Scalar: {
      const v = env.scalars[String(n.attrs.name)];
      if (v === undefined) fail(n, `missing scalar '${n.attrs.name}' in env.scalars`);
      return filled(v);
    }
    case Op.Const:
      return filled(Number(n.attrs.value));
    case Op.Dim:
      return filled(resolveDim(String(n.attrs.name), env, n));
    case Op.Random:
      return random(n, shape, env.seed);
    case Op.Iota: {
      const axis = Number(n.attrs.axis);
      const strides = shape.map((_, a) => (a === axis ? 1 : 0));
      return Float64Array.from(stridedOffsets(shape, strides));
    }
    case Op.Sum:
    case Op.Max:
    case Op.Min:
    case Op.ArgMax:
    case Op.ArgMin:
      return reduce(n, shape, ins[0]!);
    case Op.MatMul:
      return matmul(n, shape, ins[0]!, ins[1]!);
    case Op.Transpose: {
      const perm = n.attrs.perm as readonly number[];
      const xs = rowMajorStrides(ins[0]!.shape);
      expectShape(n, perm.map((p) => ins[0]!.shape[p]!), shape);
      return Float64Array.from(stridedOffsets(shape, perm.map((p) => xs[p]!)), (o) => ins[0]!.data[o]!);
    }
    case Op.Reshape:
      if (numel(ins[0]!.shape) !== numel(shape)) fail(n, `cannot reshape [${ins[0]!.shape}] to [${shape}]`);
      return ins[0]!.data;
    case Op.Broadcast:
      return expand(n, ins[0]!, shape);
    case Op.Gather:
    case Op.GatherGrad:
      return gather(n, shape, ins[0]!, ins[1]!);
    case Op.NmMask:
      return nmMask(n, ins[0]!, Number(n.attrs.n), Number(n.attrs.m));
  }
  const conv = evalConvNode(n, shape, ins);
  if (conv !== undefined) return conv;
  return fail(n, "op has no evaluation rule");
}

function readInput(n: Node, shape: number[], env: EvalEnv): Float64Array {
  const name = String(n.attrs.name);
  const v = env.inputs[name];
  if (v === undefined) fail(n, `missing input '${name}' in env.inputs`);
  if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) {
    fail(n, `input '${name}' has shape [${v.shape}] but the node declares [${n.shape}] = [${shape}]`);
  }
  if (v.data.length !== numel(shape)) fail(n, `input '${name}' has ${v.data.length} elements for shape [${shape}]`);
  return Float64Array.from(v.data);
}

function random(n: Node, shape: number[], seed: number): Float64Array {
  const words = new Uint32Array(numel(shape));
  fillWords(words, seed, Number(n.attrs.site), Number(n.attrs.stream ?? 0));
  if (n.attrs.gumbel === true) return Float64Array.from(words, gumbelFromWord);
  if (n.attrs.normal === true) {
    const angles = new Uint32Array(numel(shape));
    fillWords(angles, seed, Number(n.attrs.site), 1);
    return Float64Array.from(words, (w, i) => normalFromWords(w, angles[i]!));
  }
  const toUniform = n.attrs.open === true ? uniformOpen01 : uniform01;
  return Float64Array.from(words, toUniform);
}

/** Sum/Max/Min/ArgMax/ArgMin over attrs.axes; arg* give the row-major index within the block. */
function reduce(n: Node, shape: number[], x: Value): Float64Array {
  const given = (n.attrs.axes as readonly number[] | undefined) ?? [];
  const axes = new Set(given.length === 0 ? x.shape.map((_, a) => a) : given);
  const kept = x.shape.filter((_, a) => !axes.has(a));
  const block = x.shape.filter((_, a) => axes.has(a));
  if (numel(kept) !== numel(shape)) fail(n, `reducing [${x.shape}] over [${[...axes]}] cannot give [${shape}]`);
  const keptStrides = rowMajorStrides(kept);
  const blockStrides = rowMajorStrides(block);
  let ki = 0;
  let bi = 0;
  const outOf = stridedOffsets(x.shape, x.shape.map((_, a) => (axes.has(a) ? 0 : keptStrides[ki++]!)));
  const posOf = stridedOffsets(x.shape, x.shape.map((_, a) => (axes.has(a) ? blockStrides[bi++]! : 0)));
  const isMax = n.op === Op.Max || n.op === Op.ArgMax;
  const best = new Float64Array(numel(shape)).fill(n.op === Op.Sum ? 0 : isMax ? -Infinity : Infinity);
  const arg = new Float64Array(numel(shape));
  const seen = new Uint8Array(numel(shape));
  for (let k = 0; k < x.data.length; k++) {
    const o = outOf[k]!;
    const v = x.data[k]!;
    if (n.op === Op.Sum) {
      best[o] += v;
      continue;
    }
    const b = best[o]!;
    const better = Number.isNaN(b) ? false : Number.isNaN(v) || (isMax ? v > b : v < b);
    if (better || !seen[o]) [best[o], arg[o], seen[o]] = [v, posOf[k]!, 1];
  }
  return n.op === Op.ArgMax || n.op === Op.ArgMin ? arg : best;
}

/** Batched matmul `[...batchA, m, k] @ [...batchB, k, n]`, batch dims NumPy-broadcast. */
function matmul(n: Node, shape: number[], a: Value, b: Value): Float64Array {
  if (a.shape.length < 2 || b.shape.length < 2) fail(n, `operands of rank < 2: [${a.shape}] @ [${b.shape}]`);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, p] = b.shape.slice(-2) as [number, number];
  if (k !== k2) fail(n, `cannot multiply [${a.shape}] by [${b.shape}]`);
  const batch = shape.slice(0, -2);
  expectShape(n, [...batch, m, p], shape);
  const aAt = broadcastOffsets(n, a.shape.slice(0, -2), batch);
  const bAt = broadcastOffsets(n, b.shape.slice(0, -2), batch);
  const out = new Float64Array(numel(shape));
  for (let t = 0; t < aAt.length; t++) {
    const ao = aAt[t]! * m * k;
    const bo = bAt[t]! * k * p;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let acc = 0;
        for (let r = 0; r < k; r++) acc += a.data[ao + i * k + r]! * b.data[bo + r * p + j]!;
        out[t * m * p + i * p + j] = acc;
      }
    }
  }
  return out;
}

/**
 * Gather: out[pre, j, post] = x[pre, idx[j], post] (NumPy take). GatherGrad, whose first input
 * is the gather's cotangent and whose shape is x's: the scatter-add of that into zeros.
 */
function gather(n: Node, shape: number[], src: Value, idx: Value): Float64Array {
  const axis = Number(n.attrs.axis);
  const xShape = n.op === Op.Gather ? src.shape : shape;
  const ctShape = [...xShape.slice(0, axis), ...idx.shape, ...xShape.slice(axis + 1)];
  expectShape(n, n.op === Op.Gather ? shape : src.shape, ctShape);
  const pre = numel(xShape.slice(0, axis));
  const size = xShape[axis]!;
  const post = numel(xShape.slice(axis + 1));
  const out = new Float64Array(numel(shape));
  for (let j = 0; j < idx.data.length; j++) {
    const at = idx.data[j]!;
    if (!Number.isInteger(at) || at < 0 || at >= size) fail(n, `index ${at} is out of range [0, ${size}) on axis ${axis}`);
    for (let a = 0; a < pre; a++) {
      for (let q = 0; q < post; q++) {
        const xAt = (a * size + at) * post + q;
        const ctAt = (a * idx.data.length + j) * post + q;
        if (n.op === Op.Gather) out[ctAt] = src.data[xAt]!;
        else out[xAt] += src.data[ctAt]!;
      }
    }
  }
  return out;
}

/** 1 for the `keep` largest |w| in each group of `group` along the last axis; lower index wins ties. */
function nmMask(n: Node, w: Value, keep: number, group: number): Float64Array {
  const last = w.shape[w.shape.length - 1] ?? 1;
  if (!(group > 0) || last % group !== 0) fail(n, `last axis ${last} is not a multiple of m = ${group}`);
  const out = new Float64Array(w.data.length);
  for (let start = 0; start < w.data.length; start += group) {
    const order = Array.from({ length: group }, (_, i) => start + i);
    const mag = (i: number) => Math.abs(w.data[i]!) || 0; // NaN ranks with zero, never above a number
    order.sort((i, j) => mag(j) - mag(i) || i - j);
    for (const i of order.slice(0, keep)) out[i] = 1;
  }
  return out;
}
