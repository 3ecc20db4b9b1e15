/**
 * How each primitive of LANGUAGE.md §6 becomes IR: one op where the IR has it, a composite
 * otherwise (softmax and logsumexp with a stop-gradient max shift, one_hot as a comparison
 * with Iota, sampling from Philox uniforms). Composites are differentiated by ordinary autodiff.
 */
import { lowerConcat, lowerSlice } from "./slice-concat.js";
import { inferReshape } from "./check-dims.js";
import type * as A from "../grammar/ast.js";
import type { Span } from "./diagnostics.js";
import { Op, type Node } from "./ir.js";
import type { Lowerer } from "./lower.js";
import { lowerConv } from "./lower-conv.js";
import { LowerError, isValue, tensorValue, type Env, type Value } from "./lower-values.js";
import type { PrimCategory } from "./primitives.js";
import { broadcastShapes, type DimT } from "./types.js";

type Args = Record<string, Value | A.Expr | undefined>;

const unaryOps: Record<string, Op> = {
  neg: Op.Neg, abs: Op.Abs, sign: Op.Sign, signum: Op.Signum, exp: Op.Exp, log: Op.Log, log1p: Op.Log1p,
  sqrt: Op.Sqrt, rsqrt: Op.Rsqrt, sin: Op.Sin, cos: Op.Cos, tanh: Op.Tanh, sigmoid: Op.Sigmoid,
  softplus: Op.Softplus, relu: Op.Relu, floor: Op.Floor, ceil: Op.Ceil, round: Op.Round, step: Op.Step,
};

/** Lowers primitive `name` applied to `args` (tensors lowered; compile-time args as expressions). */
export function lowerPrimitive(L: Lowerer, name: string, args: Args, env: Env, span: Span, category?: PrimCategory): Value {
  const g = L.graph;
  const t = (k: string): Node => {
    const v = args[k];
    if (v === undefined || !isValue(v) || v.kind !== "tensor") throw new LowerError("E5001", span, `${name}: '${k}' is missing`);
    return v.node.dtype === "f32" || k === "labels" || k === "idx" || k === "c" ? v.node : L.cast(v.node, "f32");
  };
  /** A tensor argument in its own dtype (structural ops keep i32 and bool). */
  const raw = (k: string): Node => {
    const v = args[k];
    if (v === undefined || !isValue(v) || v.kind !== "tensor") throw new LowerError("E5001", span, `${name}: '${k}' is missing`);
    // Bool buffers are bit-packed; the element-moving runtime steps take them as 0/1 f32.
    return v.node.dtype === "bool" && name !== "reshape" ? L.cast(v.node, "f32") : v.node;
  };
  const int = (k: string, fallback?: number): number | undefined => {
    const v = args[k];
    if (v === undefined) return fallback;
    if (isValue(v)) throw new LowerError("E5001", span, `${name}: '${k}' must be a constant`);
    // An estimator input standing for its call site's compile-time integer (nm_prune's n, m).
    const bound = v.kind === "Name" ? env.vars.get(v.name) : undefined;
    if (bound?.kind === "tensor" && bound.node.op === Op.Const) return bound.node.attrs["value"] as number;
    return Number(L.constValue(env.module, v));
  };
  const unary = unaryOps[name];
  if (unary !== undefined) {
    const x = t("x");
    return tensorValue(g.node(unary, "f32", x.shape, [x]));
  }
  const ew = (op: Op, ...ks: string[]) => tensorValue(L.elementwise(op, "f32", ks.map(t), span));
  if (category === "elementwise") {
    if (name === "min") return ew(Op.Minimum, "a", "b");
    if (name === "max") return ew(Op.Maximum, "a", "b");
  }
  switch (name) {
    case "pow":
      return ew(Op.Pow, "a", "b");
    case "clamp":
      return ew(Op.Clamp, "x", "lo", "hi");
    case "select":
      return ew(Op.Select, "c", "a", "b");
    case "sum":
    case "max":
    case "min":
    case "mean":
    case "argmax":
    case "argmin":
    case "logsumexp":
      return tensorValue(reduction(L, name, t("x"), axesOf(args["axis"], t("x").shape.length, L, env), boolArg(args["keepdims"]), span));
    case "softmax":
    case "log_softmax": {
      const x = t("x");
      const axes = axesOf(args["axis"] ?? numberExpr(-1, span), x.shape.length, L, env);
      return tensorValue(name === "softmax" ? softmax(L, x, axes, span) : logSoftmax(L, x, axes, span));
    }
    case "matmul":
      return tensorValue(matmul(L, t("a"), t("b")));
    case "transpose": {
      const x = raw("x");
      const perm = args["perm"] === undefined ? [...x.shape.keys()].reverse() : listInts(args["perm"], span);
      const norm = perm.map((p) => (p < 0 ? p + x.shape.length : p));
      return tensorValue(g.node(Op.Transpose, x.dtype, norm.map((p) => x.shape[p]!), [x], { perm: norm }));
    }
    case "reshape": {
      const x = raw("x");
      const s = args["shape"];
      if (s === undefined || !isValue(s) || s.kind !== "list") throw new LowerError("E5001", span, "reshape needs a shape");
      const shape = inferReshape(x.shape, s.dims);
      if ("error" in shape) throw new LowerError("E5001", span, shape.error);
      return tensorValue(g.node(Op.Reshape, x.dtype, shape.shape, [x]));
    }
    case "one_hot": {
      const labels = t("labels");
      const kExpr = args["K"];
      if (kExpr === undefined || isValue(kExpr)) throw new LowerError("E5001", span, "one_hot needs K");
      const k = L.dim(kExpr, env);
      if (!labelsCheckedElsewhere(labels)) {
        // Labels computed in the fn (labels + 1): a row of the K×K identity picked by gather,
        // which checks every label on both back ends (E6008) where a comparison with iota would
        // give an out-of-range label an all-zero row silently.
        const eye = L.cast(L.elementwise(Op.Eq, "bool", [g.node(Op.Iota, "i32", [k, k], [], { axis: 0 }), g.node(Op.Iota, "i32", [k, k], [], { axis: 1 })], span), "f32");
        return tensorValue(g.node(Op.Gather, "f32", [...labels.shape, k], [eye, labels], { axis: 0 }));
      }
      const col = g.node(Op.Reshape, labels.dtype, [...labels.shape, 1], [labels]);
      const iota = g.node(Op.Iota, "i32", [...labels.shape, k], [], { axis: labels.shape.length });
      return tensorValue(L.cast(L.elementwise(Op.Eq, "bool", [col, iota], span), "f32"));
    }
    case "gather": {
      const x = raw("x");
      const idx = t("idx");
      const rank = x.shape.length;
      const a = ((int("axis", 0) ?? 0) + rank) % rank;
      return tensorValue(g.node(Op.Gather, x.dtype, [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)], [x, idx], { axis: a }));
    }
    case "slice": {
      const bound = (k: string) => (args[k] === undefined || isValue(args[k]) ? undefined : L.dim(args[k] as A.Expr, env));
      return tensorValue(lowerSlice(L, raw("x"), int("axis", 0)!, bound("start") ?? 0, bound("end"), int("step", 1)!, span, (m) => {
        throw new LowerError("E5001", span, `slice: ${m}`);
      }));
    }
    case "concat":
      return tensorValue(lowerConcat(L, raw("a"), raw("b"), int("axis", 0)!, span, (m) => {
        throw new LowerError("E5001", span, `concat: ${m}`);
      }));
    case "conv2d":
    case "max_pool2d":
    case "avg_pool2d":
      return tensorValue(lowerConv(L, name, t, args, env, span));
    case "nm_mask":
    case "nm_prune": {
      const w = t("w");
      const mask = g.node(Op.NmMask, "f32", w.shape, [w], { n: int("n")!, m: int("m")! });
      return tensorValue(name === "nm_mask" ? mask : g.node(Op.Mul, "f32", w.shape, [w, mask]));
    }
    case "bernoulli": {
      const p = t("p");
      const u = random(L, p.shape, 0, false);
      return tensorValue(L.cast(g.node(Op.Lt, "bool", p.shape, [u, p]), "f32"));
    }
    case "iota": {
      const s = args["shape"];
      if (s === undefined || !isValue(s) || s.kind !== "list") throw new LowerError("E5001", span, "iota needs a shape");
      const rank = s.dims.length;
      return tensorValue(g.node(Op.Iota, "i32", s.dims, [], { axis: ((int("axis", 0) ?? 0) + rank) % rank }));
    }
    case "uniform":
    case "gumbel": {
      const s = args["shape"];
      if (s === undefined || !isValue(s) || s.kind !== "list") throw new LowerError("E5001", span, `${name} needs a shape`);
      return tensorValue(name === "uniform" ? random(L, s.dims, 0, false) : gumbel(L, s.dims));
    }
    case "normal": {
      const mu = t("mu");
      const sigma = t("sigma");
      const shape = L.elementwise(Op.Add, "f32", [mu, sigma], span).shape;
      // One node for the standard normal draw: runtime/normal.ts computes it bit for bit the
      // same on every back end (Box–Muller from streams 0 and 1 of this site).
      const z = g.node(Op.Random, "f32", shape, [], { site: L.nextSite(), stream: 0, open: false, normal: true });
      return tensorValue(L.elementwise(Op.Add, "f32", [mu, L.elementwise(Op.Mul, "f32", [sigma, z], span)], span));
    }
    case "categorical": {
      const logits = t("logits");
      const noisy = L.elementwise(Op.Add, "f32", [logits, gumbel(L, logits.shape)], span);
      return tensorValue(reduction(L, "argmax", noisy, [logits.shape.length - 1], false, span));
    }
    case "require": {
      const given = t("x");
      // An i32 runtime scalar reaches an f32 parameter through a cast.
      const x = given.op === Op.Cast && given.inputs[0]!.op === Op.Scalar ? given.inputs[0]! : given;
      const bound = (k: string): number | undefined => {
        if (args[k] === undefined) return undefined;
        const n = t(k);
        if (n.op !== Op.Const) throw new LowerError("E4040", span, `require: '${k}' must be a compile-time number`);
        return n.attrs["value"] as number;
      };
      const [min, max] = [bound("min"), bound("max")];
      if (x.op === Op.Const) {
        // A literal (or a default) bound at this call site: decided now.
        const v = x.attrs["value"] as number;
        if ((min !== undefined && !(v >= min)) || (max !== undefined && !(v <= max))) {
          throw new LowerError("E4040", span, `an argument of ${v} is outside the valid range ${rangeText(min, max)} that its require(…) declares`, {
            hint: "pass a value in the range (see the estimator's documentation)",
          });
        }
      } else if (x.op === Op.Scalar) {
        // A runtime scalar of the fn: the runtime checks it at every call (E6031).
        const name = x.attrs["name"] as string;
        const had = L.scalarRanges.get(name);
        L.scalarRanges.set(name, {
          min: had?.min === undefined ? min : min === undefined ? had.min : Math.max(had.min, min),
          max: had?.max === undefined ? max : max === undefined ? had.max : Math.min(had.max, max),
          span: had?.span ?? span,
        });
      }
      // Anything computed (o * 2) is not checked: docs/language.md says so.
      return tensorValue(given);
    }
    case "sg": {
      const v = args["x"];
      if (v === undefined || !isValue(v) || v.kind !== "tensor") throw new LowerError("E5001", span, "sg needs a tensor");
      return tensorValue(g.node(Op.StopGradient, v.node.dtype, v.node.shape, [v.node]));
    }
  }
  throw new LowerError("E5004", span, `lowering of '${name}' is not implemented`);
}

function numberExpr(v: number, span: Span): A.Expr {
  return v < 0
    ? { kind: "Unary", op: "-", operand: { kind: "Number", value: -v, text: String(-v), isInt: true, span }, span }
    : { kind: "Number", value: v, text: String(v), isInt: true, span };
}

function boolArg(v: Value | A.Expr | undefined): boolean {
  return v !== undefined && !isValue(v) && v.kind === "Bool" && v.value;
}

function listInts(v: Value | A.Expr | undefined, span: Span): number[] {
  if (v === undefined || !isValue(v) || v.kind !== "list" || v.dims.some((d) => typeof d !== "number")) {
    throw new LowerError("E5001", span, "expected a list of integers");
  }
  return v.dims as number[];
}

/** Normalised axes of a reduction (all axes when none are given). */
function axesOf(v: Value | A.Expr | undefined, rank: number, L: Lowerer, env: Env): number[] {
  if (v === undefined) return [...Array(rank).keys()];
  const raw = isValue(v) ? listInts(v, env.module.ast.span) : v.kind === "List" ? v.elements.map((e) => Number(L.constValue(env.module, e))) : [Number(L.constValue(env.module, v))];
  return raw.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

function reducedShape(shape: readonly DimT[], axes: number[], keepdims: boolean): DimT[] {
  return shape.flatMap((d, i) => (axes.includes(i) ? (keepdims ? [1] : []) : [d]));
}

/** A reduction; mean divides by the product of the reduced dims; logsumexp is shifted by its max. */
function reduction(L: Lowerer, name: string, x: Node, axes: number[], keepdims: boolean, span: Span): Node {
  const g = L.graph;
  // Over no axes (`axis = B` for an empty ellipsis, language.md §5), each element is its own group.
  if (axes.length === 0) return name === "argmax" || name === "argmin" ? g.node(Op.Broadcast, "i32", x.shape, [g.node(Op.Const, "i32", [], [], { value: 0 })]) : L.cast(x, "f32");
  const shape = reducedShape(x.shape, axes, keepdims);
  const attrs = { axes, keepdims };
  switch (name) {
    case "sum":
      return g.node(Op.Sum, "f32", shape, [x], attrs);
    case "max":
      return g.node(Op.Max, "f32", shape, [x], attrs);
    case "min":
      return g.node(Op.Min, "f32", shape, [x], attrs);
    case "argmax":
      return g.node(Op.ArgMax, "i32", shape, [x], attrs);
    case "argmin":
      return g.node(Op.ArgMin, "i32", shape, [x], attrs);
    case "mean": {
      let count: Node = g.node(Op.Const, "f32", [], [], { value: 1 });
      for (const a of axes) count = g.node(Op.Mul, "f32", [], [count, L.cast(L.dimNode(x.shape[a]!), "f32")]);
      return L.elementwise(Op.Div, "f32", [g.node(Op.Sum, "f32", shape, [x], attrs), count], span);
    }
    case "logsumexp": {
      const m = g.node(Op.StopGradient, "f32", reducedShape(x.shape, axes, true), [g.node(Op.Max, "f32", reducedShape(x.shape, axes, true), [x], { axes, keepdims: true })]);
      const s = g.node(Op.Sum, "f32", reducedShape(x.shape, axes, true), [g.node(Op.Exp, "f32", x.shape, [L.elementwise(Op.Sub, "f32", [x, m], span)])], { axes, keepdims: true });
      const lse = L.elementwise(Op.Add, "f32", [g.node(Op.Log, "f32", s.shape, [s]), m], span);
      return keepdims ? lse : g.node(Op.Reshape, "f32", shape, [lse]);
    }
  }
  throw new LowerError("E5004", span, `unknown reduction ${name}`);
}

function softmax(L: Lowerer, x: Node, axes: number[], span: Span): Node {
  const g = L.graph;
  const keep = reducedShape(x.shape, axes, true);
  const m = g.node(Op.StopGradient, "f32", keep, [g.node(Op.Max, "f32", keep, [x], { axes, keepdims: true })]);
  const e = g.node(Op.Exp, "f32", x.shape, [L.elementwise(Op.Sub, "f32", [x, m], span)]);
  return L.elementwise(Op.Div, "f32", [e, g.node(Op.Sum, "f32", keep, [e], { axes, keepdims: true })], span);
}

function logSoftmax(L: Lowerer, x: Node, axes: number[], span: Span): Node {
  return L.elementwise(Op.Sub, "f32", [x, reduction(L, "logsumexp", x, axes, true, span)], span);
}

/** Matmul with NumPy's 1-D rules, by reshaping to rank 2 and back. */
function matmul(L: Lowerer, a: Node, b: Node): Node {
  const g = L.graph;
  const a2 = a.shape.length === 1 ? g.node(Op.Reshape, "f32", [1, a.shape[0]!], [a]) : a;
  const b2 = b.shape.length === 1 ? g.node(Op.Reshape, "f32", [b.shape[0]!, 1], [b]) : b;
  // Batch dims broadcast NumPy-style ([M, 1] with [3] is [M, 3]), not the longer of the two.
  const bs = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const batch = "clash" in bs || bs.shape === null ? a2.shape.slice(0, -2) : bs.shape;
  const out = g.node(Op.MatMul, "f32", [...batch, a2.shape[a2.shape.length - 2]!, b2.shape[b2.shape.length - 1]!], [a2, b2]);
  const final = [...batch, ...(a.shape.length === 1 ? [] : [a2.shape[a2.shape.length - 2]!]), ...(b.shape.length === 1 ? [] : [b2.shape[b2.shape.length - 1]!])];
  return final.length === out.shape.length ? out : g.node(Op.Reshape, "f32", final, [out]);
}

function random(L: Lowerer, shape: readonly DimT[], stream: number, open: boolean): Node {
  return L.graph.node(Op.Random, "f32", shape, [], { site: L.nextSite(), stream, open });
}

/** Standard Gumbel noise: -log(-log(u)) with u uniform on the open interval. */
function gumbel(L: Lowerer, shape: readonly DimT[]): Node {
  // One node: runtime/normal.ts computes −ln(−ln u) bit for bit the same on every back end.
  return L.graph.node(Op.Random, "f32", shape, [], { site: L.nextSite(), stream: 0, open: true, gumbel: true });
}

/** `x >= 1`, `0 <= x <= 1`: a range as the diagnostics and the runtime print it. */
export function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${min} <= x <= ${max}`;
  return min !== undefined ? `x >= ${min}` : `x <= ${max}`;
}

/**
 * Whether `one_hot`'s labels are checked without a gather: an input of the fn (the runtime checks
 * it before the call, compiler/index-bounds.ts) or an argmax/argmin (in range by construction),
 * through the reshapes and broadcasts around it.
 */
function labelsCheckedElsewhere(labels: Node): boolean {
  let at = labels;
  while ((at.op === Op.Reshape || at.op === Op.Broadcast) && at.inputs.length === 1) at = at.inputs[0]!;
  return at.op === Op.Input || at.op === Op.ArgMax || at.op === Op.ArgMin;
}
