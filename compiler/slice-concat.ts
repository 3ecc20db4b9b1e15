/**
 * `slice(x, axis, start, end?, step?)` and `concat(a, b, axis?)` (docs/language.md §7): their
 * parameters, shape rules and lowering. Both lower to ops every back end already runs, so they
 * work on the CPU, on WebGPU and in the interpreter alike, with their gradients: a slice is a
 * `gather` of the indices start, start + step, … (its gradient gather_grad's scatter-add into
 * zeros, the "pad" of the slice); a concat is two gathers with clamped indices joined by a
 * `select` on the position along the axis (its gradient: each input receives the cotangent's
 * own part, the other part zeroed by the select, i.e. a slice of the cotangent).
 *
 * Bounds are compile-time dims (sizes, shape symbols or computed dims such as `K - 1`); a
 * negative number counts from the end of the axis (Python, NumPy). Bounds are never clamped:
 * a known slice outside its axis, or an empty one, is E3003; against a symbolic axis the
 * runtime's gather check (E6008) catches an index past the end.
 */
import type { Span } from "./diagnostics.js";
import { dimAdd, dimFloorDiv, dimSub } from "./dims.js";
import { Op, type Node } from "./ir.js";
import type { Lowerer } from "./lower.js";
import type { ArgValue, PrimParam, Primitive, RuleResult } from "./primitives.js";
import { dimsEqual, showDim, showShape, tensor, type DimT, type TensorTy } from "./types.js";

type Args = Record<string, ArgValue | undefined>;

const anyTensor = (name: string): PrimParam => ({ name, kind: "tensor", dtype: "f32", differentiable: true });

function tensorArg(v: ArgValue | undefined): TensorTy | undefined {
  return v?.ty.kind === "tensor" ? v.ty : undefined;
}

/** An axis in [0, rank), or an error message. */
function normAxis(axis: number, rank: number): number | string {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : `axis ${axis} is out of range for rank ${rank}`;
}

/**
 * Where a slice starts along an axis of `size` and how long it is: negative numeric bounds
 * count from the end; `end` defaults to the size. An error message for a step below 1, a known
 * bound outside [0, size], or a slice that is known to be empty.
 */
export function sliceGeometry(size: DimT, start: DimT, end: DimT | undefined, step: number): { start: DimT; length: DimT } | { error: string; arg: string } {
  if (!Number.isInteger(step) || step < 1) return { error: `the step must be a whole number of at least 1, got ${step}`, arg: "step" };
  const fromEnd = (d: DimT) => (typeof d === "number" && d < 0 ? dimAdd(size, d) : d);
  const s = fromEnd(start);
  const e = end === undefined ? size : fromEnd(end);
  const written = `${showDim(start)}:${end === undefined ? "" : showDim(end)}`;
  if (typeof size === "number") {
    for (const [what, d] of [["start", s], ["end", e]] as const) {
      if (typeof d === "number" && (d < 0 || d > size)) return { error: `the slice ${written} has its ${what} at ${d}, outside the axis of size ${size} (bounds are not clamped)`, arg: what };
    }
  }
  const length = dimFloorDiv(dimAdd(dimSub(e, s), step - 1), step);
  if (typeof length === "number" && length < 1) return { error: `the slice ${written} is empty (${showDim(e)} − ${showDim(s)} = ${showDim(dimSub(e, s))})`, arg: end === undefined ? "start" : "end" };
  return { start: s, length };
}

function sliceRule(args: Args): RuleResult {
  const x = tensorArg(args["x"]);
  if (x?.shape == null) return tensor(x?.dtype ?? "f32", null);
  const axis = normAxis(args["axis"]?.int ?? 0, x.shape.length);
  if (typeof axis === "string") return { error: axis, arg: "axis" };
  const start = args["start"]?.dim ?? 0;
  const geom = sliceGeometry(x.shape[axis]!, start, args["end"]?.dim, args["step"]?.int ?? 1);
  if ("error" in geom) return { error: geom.error, arg: geom.arg, hint: "x[a:b] along an axis holds b − a elements; -1 is the last" };
  return tensor(x.dtype, x.shape.map((d, i) => (i === axis ? geom.length : d)));
}

function concatRule(args: Args): RuleResult {
  const a = tensorArg(args["a"]);
  const b = tensorArg(args["b"]);
  if (a?.shape == null || b?.shape == null) return tensor("f32", null);
  if (a.shape.length !== b.shape.length) return { error: `a is ${showShape(a.shape)} and b is ${showShape(b.shape)}: concat needs the same rank`, arg: "b" };
  const axis = normAxis(args["axis"]?.int ?? 0, a.shape.length);
  if (typeof axis === "string") return { error: axis, arg: "axis" };
  const clash = a.shape.findIndex((d, i) => i !== axis && !dimsEqual(d, b.shape![i]!));
  if (clash >= 0) {
    return { error: `a is ${showShape(a.shape)} and b is ${showShape(b.shape)}: every dim but axis ${axis} must agree (dim ${clash}: ${showDim(a.shape[clash]!)} vs ${showDim(b.shape[clash]!)})`, arg: "b", hint: "concat does not broadcast" };
  }
  return tensor(a.dtype === b.dtype ? a.dtype : "f32", a.shape.map((d, i) => (i === axis ? dimAdd(d, b.shape![i]!) : d)));
}

/** The primitive table's entries for slice and concat. */
export const sliceConcatPrimitives: Primitive[] = [
  {
    name: "slice",
    category: "shape",
    params: [
      anyTensor("x"),
      { name: "axis", kind: "axis" },
      { name: "start", kind: "dim", signed: true },
      { name: "end", kind: "dim", signed: true, optional: true },
      { name: "step", kind: "int", optional: true },
    ],
    result: sliceRule,
    doc: "x[start:end:step] along one axis (compile-time bounds, negative from the end, never clamped)",
  },
  {
    name: "concat",
    category: "shape",
    params: [anyTensor("a"), anyTensor("b"), { name: "axis", kind: "axis", optional: true }],
    result: concatRule,
    doc: "a and b joined along axis (default 0); every other dim must agree",
  },
];

/** Lowers slice: gather(x, start + step · iota(length), axis). */
export function lowerSlice(L: Lowerer, x: Node, axisArg: number, start: DimT, end: DimT | undefined, step: number, span: Span, fail: (message: string) => never): Node {
  const axis = normAxis(axisArg, x.shape.length);
  if (typeof axis === "string") return fail(axis);
  const geom = sliceGeometry(x.shape[axis]!, start, end, step);
  if ("error" in geom) return fail(geom.error);
  const g = L.graph;
  let idx = g.node(Op.Iota, "i32", [geom.length], [], { axis: 0 });
  if (step !== 1) idx = L.elementwise(Op.Mul, "i32", [idx, g.node(Op.Const, "i32", [], [], { value: step })], span);
  if (geom.start !== 0) idx = L.elementwise(Op.Add, "i32", [idx, L.dimNode(geom.start)], span);
  return g.node(Op.Gather, x.dtype, x.shape.map((d, i) => (i === axis ? geom.length : d)), [x, idx], { axis });
}

/** Lowers concat: select(position < na, gather(a, min(i, na − 1)), gather(b, max(i − na, 0))). */
export function lowerConcat(L: Lowerer, a: Node, b: Node, axisArg: number, span: Span, fail: (message: string) => never): Node {
  const axis = normAxis(axisArg, a.shape.length);
  if (typeof axis === "string") return fail(axis);
  const g = L.graph;
  const dtype = a.dtype === b.dtype ? a.dtype : "f32";
  const [x, y] = [L.cast(a, dtype), L.cast(b, dtype)];
  const na = x.shape[axis]!;
  const n = dimAdd(na, y.shape[axis]!);
  const shape = x.shape.map((d, i) => (i === axis ? n : d));
  const at = g.node(Op.Iota, "i32", [n], [], { axis: 0 });
  const naNode = L.dimNode(na);
  const zero = g.node(Op.Const, "i32", [], [], { value: 0 });
  const one = g.node(Op.Const, "i32", [], [], { value: 1 });
  const idxA = L.elementwise(Op.Minimum, "i32", [at, L.elementwise(Op.Sub, "i32", [naNode, one], span)], span);
  const idxB = L.elementwise(Op.Maximum, "i32", [L.elementwise(Op.Sub, "i32", [at, naNode], span), zero], span);
  const fromA = g.node(Op.Gather, dtype, shape, [x, idxA], { axis });
  const fromB = g.node(Op.Gather, dtype, shape, [y, idxB], { axis });
  const inA = L.elementwise(Op.Lt, "bool", [g.node(Op.Iota, "i32", shape, [], { axis }), naNode], span);
  return L.elementwise(Op.Select, dtype, [inA, fromA, fromB], span);
}
