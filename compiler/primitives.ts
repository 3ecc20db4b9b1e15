/**
 * The primitive registry (LANGUAGE.md §6): name → signature and shape rule. Later stages
 * extend each entry with its derivative and codegen rules, keyed by the same name.
 * `min`/`max` are overloaded: with one tensor argument they reduce, with two they compare.
 */
import type { DType } from "../grammar/ast.js";
import { convPrimitives } from "./conv-shapes.js";
import { sliceConcatPrimitives } from "./slice-concat.js";
import { inferReshape } from "./check-dims.js";
import {
  broadcastShapes,
  elementCount,
  showShape,
  tensor,
  type DimT,
  type Shape,
  type TensorTy,
  type Ty,
} from "./types.js";

/**
 * How a parameter is passed. tensor: a tensor value; int: a compile-time integer (n, m);
 * axis: a compile-time integer or list of them, negative counts from the end; dim: an integer
 * that becomes a dimension (a size or a shape symbol); shape: a list of dims; perm: a list of
 * compile-time integers; flag: a compile-time bool; pair: a compile-time integer or a list of them
 * (a per-axis geometry such as a convolution's stride).
 */
export type ParamKind = "tensor" | "int" | "axis" | "dim" | "shape" | "perm" | "flag" | "pair";

export interface PrimParam {
  name: string;
  kind: ParamKind;
  /** For tensors: the dtype required (f32 accepts bool and integer literals). */
  dtype?: DType;
  optional?: boolean;
  /** Whether a cotangent flows to this input (f32 tensors, unless it is noise or an index). */
  differentiable?: boolean;
  /** For a dim: a negative number is allowed (slice bounds count from the end). */
  signed?: boolean;
  /** For a shape: one size may be -1, inferred from the element count (reshape). */
  infer?: boolean;
}

/** What the checker knows about one argument when it applies a shape rule. */
export interface ArgValue {
  ty: Ty;
  /** The compile-time integer value, when it has one. */
  int?: number;
  /** The dim this argument denotes (a size or a shape symbol), when it denotes one. */
  dim?: DimT;
  /** For list arguments: the compile-time integers, when all are known. */
  ints?: number[];
  /** For flag arguments. */
  bool?: boolean;
  /** A compile-time integer whose value is only known per call site (an estimator's input). */
  symbolic?: boolean;
}

/** A shape rule's verdict: the result type, or what is wrong and with which argument. */
export type RuleResult = Ty | { error: string; arg?: string; hint?: string };

export type PrimCategory = "elementwise" | "reduction" | "normalize" | "linalg" | "shape" | "sparsity" | "sampling" | "gradient" | "convolution";

export interface Primitive {
  name: string;
  category: PrimCategory;
  params: PrimParam[];
  /** Draws random numbers (Philox keyed by seed and node). */
  stochastic?: boolean;
  /** Computes the result type from the argument values (all present or defaulted). */
  result(args: Record<string, ArgValue | undefined>): RuleResult;
  doc: string;
}

// ---------------------------------------------------------------- shape-rule helpers

function tensorArg(v: ArgValue | undefined): TensorTy | undefined {
  return v?.ty.kind === "tensor" ? v.ty : undefined;
}

function broadcastAll(names: string[], args: Record<string, ArgValue | undefined>, dtype: DType): RuleResult {
  let shape: Shape = [];
  for (const n of names) {
    const t = tensorArg(args[n]);
    if (t === undefined) continue;
    const b = broadcastShapes(shape, t.shape);
    if ("clash" in b) {
      return {
        error: `cannot broadcast ${showShape(shape)} with ${showShape(t.shape)}: ${b.clash[0]} vs ${b.clash[1]}`,
        arg: n,
        hint: "NumPy broadcasting: dims must be equal or 1, aligned from the right",
      };
    }
    shape = b.shape;
  }
  return tensor(dtype, shape);
}

/** Normalises axes against a rank; reports the first that is out of range. */
function normAxes(v: ArgValue | undefined, rank: number): number[] | { error: string; arg: string } {
  if (v === undefined) return [...Array(rank).keys()];
  const list = v.ints ?? (v.int !== undefined ? [v.int] : undefined);
  if (list === undefined) return { error: "an axis must be a compile-time integer", arg: "axis" };
  const out: number[] = [];
  for (const a of list) {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) return { error: `axis ${a} is out of range for a tensor of rank ${rank}`, arg: "axis" };
    out.push(n);
  }
  return out;
}

function reduceRule(dtype: DType, singleAxis = false) {
  return (args: Record<string, ArgValue | undefined>): RuleResult => {
    const x = tensorArg(args["x"]);
    if (x === undefined) return tensor(dtype, null);
    if (x.shape === null) return tensor(dtype, null);
    const axes = normAxes(args["axis"], x.shape.length);
    if (!Array.isArray(axes)) return axes;
    if (singleAxis && args["axis"] !== undefined && axes.length !== 1) return { error: "this reduction takes one axis", arg: "axis" };
    const keep = args["keepdims"]?.bool === true;
    const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    return tensor(dtype, shape);
  };
}

function sameShape(dtype: DType, name = "x") {
  return (args: Record<string, ArgValue | undefined>): RuleResult => tensor(dtype, tensorArg(args[name])?.shape ?? null);
}

const x: PrimParam = { name: "x", kind: "tensor", dtype: "f32", differentiable: true };
const axisOpt: PrimParam = { name: "axis", kind: "axis", optional: true };
const keepdims: PrimParam = { name: "keepdims", kind: "flag", optional: true };

function unary(name: string, doc: string): Primitive {
  return { name, category: "elementwise", params: [x], result: sameShape("f32"), doc };
}

function binary(name: string, doc: string, a = "a", b = "b"): Primitive {
  return {
    name,
    category: "elementwise",
    params: [
      { name: a, kind: "tensor", dtype: "f32", differentiable: true },
      { name: b, kind: "tensor", dtype: "f32", differentiable: true },
    ],
    result: (args) => broadcastAll([a, b], args, "f32"),
    doc,
  };
}

function reduction(name: string, doc: string, dtype: DType = "f32"): Primitive {
  return { name, category: "reduction", params: [x, axisOpt, keepdims], result: reduceRule(dtype), doc };
}

// ---------------------------------------------------------------- the registry

const unaries: [string, string][] = [
  ["neg", "-x"],
  ["abs", "|x|"],
  ["sign", "+1 for x >= 0, -1 otherwise (sign(0) = +1, as Larq)"],
  ["signum", "the three-valued sign: -1, 0 or +1"],
  ["exp", "e^x"],
  ["log", "natural logarithm"],
  ["log1p", "log(1 + x), accurate near 0"],
  ["sqrt", "square root"],
  ["rsqrt", "1 / sqrt(x)"],
  ["sin", "sine"],
  ["cos", "cosine"],
  ["tanh", "hyperbolic tangent"],
  ["sigmoid", "1 / (1 + e^-x)"],
  ["softplus", "log(1 + e^x)"],
  ["relu", "max(x, 0)"],
  ["floor", "round towards -inf"],
  ["ceil", "round towards +inf"],
  ["round", "round half to even (as WGSL, NumPy and PyTorch)"],
  ["step", "1 for x > 0, 0 otherwise (Heaviside, 0 at 0)"],
];

const list: Primitive[] = [
  ...unaries.map(([n, d]) => unary(n, d)),
  binary("pow", "a^b, elementwise"),
  binary("min", "the elementwise minimum of two tensors"),
  binary("max", "the elementwise maximum of two tensors"),
  {
    name: "clamp",
    category: "elementwise",
    params: [
      x,
      { name: "lo", kind: "tensor", dtype: "f32", differentiable: true },
      { name: "hi", kind: "tensor", dtype: "f32", differentiable: true },
    ],
    result: (args) => broadcastAll(["x", "lo", "hi"], args, "f32"),
    doc: "min(max(x, lo), hi)",
  },
  {
    name: "select",
    category: "elementwise",
    params: [
      { name: "c", kind: "tensor", dtype: "bool" },
      { name: "a", kind: "tensor", dtype: "f32", differentiable: true },
      { name: "b", kind: "tensor", dtype: "f32", differentiable: true },
    ],
    result: (args) => broadcastAll(["c", "a", "b"], args, "f32"),
    doc: "a where c is true (nonzero), b elsewhere",
  },
  reduction("sum", "sum along axis (all by default)"),
  reduction("mean", "mean along axis (all by default)"),
  reduction("max", "maximum along axis (all by default)"),
  reduction("min", "minimum along axis (all by default)"),
  reduction("logsumexp", "log(sum(exp(x))) along axis, computed stably"),
  { name: "argmax", category: "reduction", params: [x, axisOpt, keepdims], result: reduceRule("i32", true), doc: "index of the maximum (flat index when no axis)" },
  { name: "argmin", category: "reduction", params: [x, axisOpt, keepdims], result: reduceRule("i32", true), doc: "index of the minimum (flat index when no axis)" },
  { name: "softmax", category: "normalize", params: [x, axisOpt], result: normalizeRule, doc: "exp(x) / sum(exp(x)) along axis (default -1)" },
  { name: "log_softmax", category: "normalize", params: [x, axisOpt], result: normalizeRule, doc: "x - logsumexp(x) along axis (default -1)" },
  {
    name: "matmul",
    category: "linalg",
    params: [
      { name: "a", kind: "tensor", dtype: "f32", differentiable: true },
      { name: "b", kind: "tensor", dtype: "f32", differentiable: true },
    ],
    result: matmulRule,
    doc: "matrix product with NumPy's rules for 1-D operands and batch dims (also `a @ b`)",
  },
  {
    name: "transpose",
    category: "linalg",
    params: [x, { name: "perm", kind: "perm", optional: true }],
    result: transposeRule,
    doc: "permutes axes (reverses them by default)",
  },
  {
    name: "reshape",
    category: "shape",
    params: [x, { name: "shape", kind: "shape", infer: true }],
    result: reshapeRule,
    doc: "the same elements in a new shape",
  },
  {
    name: "one_hot",
    category: "shape",
    params: [{ name: "labels", kind: "tensor", dtype: "i32" }, { name: "K", kind: "dim" }],
    result: (args) => {
      const l = tensorArg(args["labels"]);
      const k = args["K"]?.dim ?? "?";
      return tensor("f32", l?.shape == null ? null : [...l.shape, k]);
    },
    doc: "f32 one-hot vectors of length K along a new last axis",
  },
  {
    name: "gather",
    category: "shape",
    params: [x, { name: "idx", kind: "tensor", dtype: "i32" }, axisOpt],
    result: gatherRule,
    doc: "picks entries of x along axis (default 0) at the i32 indices idx (NumPy take)",
  },
  {
    name: "nm_mask",
    category: "sparsity",
    params: [{ name: "w", kind: "tensor", dtype: "f32" }, { name: "n", kind: "int" }, { name: "m", kind: "int" }],
    result: nmRule,
    doc: "1 where |w| is among the n largest of its group of m along the last axis, else 0",
  },
  {
    name: "nm_prune",
    category: "sparsity",
    params: [{ name: "w", kind: "tensor", dtype: "f32", differentiable: true }, { name: "n", kind: "int" }, { name: "m", kind: "int" }],
    result: nmRule,
    doc: "w * nm_mask(w, n, m)",
  },
  {
    name: "bernoulli",
    category: "sampling",
    stochastic: true,
    params: [{ name: "p", kind: "tensor", dtype: "f32", differentiable: true }],
    result: sameShape("f32", "p"),
    doc: "1 with probability p, else 0",
  },
  {
    name: "normal",
    category: "sampling",
    stochastic: true,
    params: [
      { name: "mu", kind: "tensor", dtype: "f32", differentiable: true },
      { name: "sigma", kind: "tensor", dtype: "f32", differentiable: true },
    ],
    result: (args) => broadcastAll(["mu", "sigma"], args, "f32"),
    doc: "a draw from N(mu, sigma^2)",
  },
  {
    name: "categorical",
    category: "sampling",
    stochastic: true,
    params: [{ name: "logits", kind: "tensor", dtype: "f32", differentiable: true }],
    result: (args) => {
      const l = tensorArg(args["logits"]);
      if (l?.shape == null) return tensor("i32", null);
      if (l.shape.length === 0) return { error: "needs logits with a last axis of categories", arg: "logits" };
      return tensor("i32", l.shape.slice(0, -1));
    },
    doc: "an i32 category index drawn from softmax(logits) along the last axis",
  },
  { name: "gumbel", category: "sampling", stochastic: true, params: [{ name: "shape", kind: "shape" }], result: listShape, doc: "standard Gumbel noise of the given shape" },
  { name: "uniform", category: "sampling", stochastic: true, params: [{ name: "shape", kind: "shape" }], result: listShape, doc: "uniform draws in [0, 1) of the given shape" },
  {
    name: "iota",
    category: "shape",
    params: [{ name: "shape", kind: "shape" }, axisOpt],
    result: (args) => {
      const s = args["shape"]?.ty;
      if (s?.kind !== "list") return { error: "the shape must be a list of dims, e.g. [B, K]", arg: "shape" };
      if (s.dims.length === 0) return { error: "needs a shape with at least one axis", arg: "shape" };
      const axes = normAxes(args["axis"] ?? { ty: tensor("i32", []), int: 0 }, s.dims.length);
      if (!Array.isArray(axes)) return axes;
      if (axes.length !== 1) return { error: "takes one axis", arg: "axis" };
      return tensor("i32", s.dims);
    },
    doc: "i32 positions along axis (default 0) of a tensor of the given shape: iota([2, 3], axis = 1) is [[0, 1, 2], [0, 1, 2]]",
  },
  {
    name: "require",
    category: "gradient",
    params: [
      { name: "x", kind: "tensor" },
      { name: "min", kind: "tensor", optional: true },
      { name: "max", kind: "tensor", optional: true },
    ],
    result: (args) => {
      const t = tensorArg(args["x"]);
      if (t !== undefined && t.shape !== null && t.shape.length > 0) return { error: "checks a scalar (an estimator parameter)", arg: "x" };
      return t ?? tensor("f32", []);
    },
    doc: "x itself, declaring its valid range [min, max] (inclusive, compile-time numbers): a literal out of range is E4040 at build time, a runtime scalar out of range E6031 at call time",
  },
  ...convPrimitives,
  ...sliceConcatPrimitives,
  { name: "sg", category: "gradient", params: [{ name: "x", kind: "tensor" }], result: (args) => tensorArg(args["x"]) ?? tensor("f32", null), doc: "stop-gradient: the value of x, with no cotangent (also `x detach`)" },
];

function normalizeRule(args: Record<string, ArgValue | undefined>): RuleResult {
  const t = tensorArg(args["x"]);
  if (t?.shape == null) return tensor("f32", null);
  if (t.shape.length === 0) return { error: "needs a tensor with at least one axis", arg: "x" };
  const axes = normAxes(args["axis"], t.shape.length);
  return Array.isArray(axes) ? tensor("f32", t.shape) : axes;
}

function matmulRule(args: Record<string, ArgValue | undefined>): RuleResult {
  const a = tensorArg(args["a"]);
  const b = tensorArg(args["b"]);
  if (a?.shape == null || b?.shape == null) return tensor("f32", null);
  if (a.shape.length === 0 || b.shape.length === 0) return { error: "needs operands of rank 1 or more", arg: a.shape.length === 0 ? "a" : "b", hint: "use * to scale by a scalar" };
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const k1 = as[as.length - 1]!;
  const k2 = bs[bs.length - 2]!;
  if (!(k1 === k2 || k1 === "?" || k2 === "?")) {
    return { error: `inner dims differ: ${showShape(a.shape)} @ ${showShape(b.shape)} (${k1} vs ${k2})`, arg: "b", hint: "the last dim of the left operand must equal the second-to-last of the right; transpose one of them?" };
  }
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  if ("clash" in batch) return { error: `batch dims do not broadcast: ${batch.clash[0]} vs ${batch.clash[1]}`, arg: "b" };
  const out = [...(batch.shape ?? []), ...(a.shape.length === 1 ? [] : [as[as.length - 2]!]), ...(b.shape.length === 1 ? [] : [bs[bs.length - 1]!])];
  return tensor("f32", out);
}

function transposeRule(args: Record<string, ArgValue | undefined>): RuleResult {
  const t = tensorArg(args["x"]);
  if (t?.shape == null) return tensor("f32", null);
  const rank = t.shape.length;
  const perm = args["perm"] === undefined ? [...Array(rank).keys()].reverse() : args["perm"].ints;
  if (perm === undefined) return { error: "a permutation must be a list of compile-time integers", arg: "perm" };
  const norm = perm.map((p) => (p < 0 ? p + rank : p));
  const valid = norm.length === rank && norm.every((p) => p >= 0 && p < rank) && new Set(norm).size === rank;
  if (!valid) return { error: `[${perm.join(", ")}] is not a permutation of the ${rank} axes of ${showShape(t.shape)}`, arg: "perm" };
  return tensor(t.dtype, norm.map((p) => t.shape![p]!));
}

function reshapeRule(args: Record<string, ArgValue | undefined>): RuleResult {
  const t = tensorArg(args["x"]);
  const target = args["shape"]?.ty;
  if (target?.kind !== "list") return { error: "needs a shape written as a list, e.g. [B, 784]", arg: "shape" };
  const inferred = inferReshape(t?.shape ?? null, target.dims);
  if ("error" in inferred) return { error: inferred.error, arg: "shape" };
  const before = elementCount(t?.shape ?? null);
  const after = elementCount(inferred.shape);
  if (before !== null && after !== null && before !== after) {
    return { error: `cannot reshape ${showShape(t!.shape)} to ${showShape(inferred.shape)}: the element counts differ (${before} vs ${after})`, arg: "shape" };
  }
  return tensor(t?.dtype ?? "f32", inferred.shape);
}

function gatherRule(args: Record<string, ArgValue | undefined>): RuleResult {
  const t = tensorArg(args["x"]);
  const idx = tensorArg(args["idx"]);
  if (t?.shape == null || idx?.shape == null) return tensor(t?.dtype ?? "f32", null);
  const axes = normAxes(args["axis"] ?? { ty: tensor("i32", []), int: 0 }, t.shape.length);
  if (!Array.isArray(axes)) return axes;
  if (axes.length !== 1) return { error: "takes one axis", arg: "axis" };
  const a = axes[0]!;
  return tensor(t.dtype, [...t.shape.slice(0, a), ...idx.shape, ...t.shape.slice(a + 1)]);
}

function nmRule(args: Record<string, ArgValue | undefined>): RuleResult {
  const w = tensorArg(args["w"]);
  const n = args["n"]?.int;
  const m = args["m"]?.int;
  if (n === undefined || m === undefined) {
    // Inside an estimator body n and m are the call site's; they were checked there.
    if (args["n"]?.symbolic === true || args["m"]?.symbolic === true) return tensor("f32", w?.shape ?? null);
    return { error: `${n === undefined ? "n" : "m"} must be a compile-time integer`, arg: n === undefined ? "n" : "m" };
  }
  if (!(m >= 1 && n >= 0 && n <= m)) return { error: `N:M sparsity needs 0 <= n <= m and m >= 1, got ${n}:${m}`, arg: "n" };
  const shape = w?.shape ?? null;
  if (shape !== null) {
    const last = shape[shape.length - 1];
    if (last === undefined) return { error: "N:M sparsity needs a tensor with a last axis", arg: "w" };
    if (typeof last === "number" && last % m !== 0) return { error: `the last axis (${last}) is not a multiple of m = ${m}`, arg: "m" };
  }
  return tensor("f32", shape);
}

function listShape(args: Record<string, ArgValue | undefined>): RuleResult {
  const s = args["shape"]?.ty;
  if (s?.kind !== "list") return { error: "the shape must be a list of dims, e.g. [B, K]", arg: "shape" };
  return tensor("f32", s.dims);
}

/** Every primitive, by name; overloaded names map to several entries. */
export const primitives: ReadonlyMap<string, readonly Primitive[]> = (() => {
  const m = new Map<string, Primitive[]>();
  for (const p of list) m.set(p.name, [...(m.get(p.name) ?? []), p]);
  return m;
})();

/** Picks the overload for a call: `max(a, b)` compares when a second tensor is passed positionally. */
export function pickOverload(name: string, positional: number): Primitive | undefined {
  const all = primitives.get(name);
  if (all === undefined) return undefined;
  if (all.length === 1) return all[0];
  return all.find((p) => (positional >= 2 ? p.category === "elementwise" : p.category === "reduction"));
}

/** Required parameter count of a primitive (for estimator arity). */
export function requiredParams(p: Primitive): number {
  return p.params.filter((q) => !q.optional).length;
}
