/**
 * codegen/torch/ops: one IR node as one Python expression over torch and the shipped runtime
 * (runtime/torch/estc_torch.py, imported as `E`). The semantics are compiler/interpret.ts's; where
 * torch's own op differs from estc's convention (sign(0), softplus's threshold, NaN in signum,
 * argmax over several axes, gather's range check) the expression calls the runtime's version.
 * docs/torch.md lists the mapping.
 */
import { Op, type DimT, type Node } from "../../ir.js";

/** What printing an expression needs: the Python name of each input node and a shape printer. */
export interface ExprContext {
  ref: (n: Node) => string;
  shape: (dims: readonly DimT[]) => string;
  /** The Python expression of one dim (a size, a symbol or a computed dim's text). */
  dim: (d: string) => string;
  /** `torch.float64`-style dtype expression of an estc dtype (`F` for f32: the call's float dtype). */
  dtype: (d: string) => string;
}

/** An op the torch back end has no mapping for; build.ts turns it into E5030. */
export class UnmappedOp extends Error {
  constructor(readonly node: Node) {
    super(`the torch back end has no mapping for the IR op '${node.op}'`);
  }
}

const methods: Partial<Record<Op, string>> = {
  [Op.Abs]: "torch.abs",
  [Op.Exp]: "torch.exp",
  [Op.Log]: "torch.log",
  [Op.Log1p]: "torch.log1p",
  [Op.Sqrt]: "torch.sqrt",
  [Op.Rsqrt]: "torch.rsqrt",
  [Op.Sin]: "torch.sin",
  [Op.Cos]: "torch.cos",
  [Op.Tanh]: "torch.tanh",
  [Op.Sigmoid]: "torch.sigmoid",
  [Op.Relu]: "torch.relu",
  [Op.Floor]: "torch.floor",
  [Op.Ceil]: "torch.ceil",
  // torch.round rounds half to even, as estc does.
  [Op.Round]: "torch.round",
  [Op.Sign]: "E.sign",
  [Op.Signum]: "E.signum",
  [Op.Softplus]: "E.softplus",
  [Op.Mod]: "torch.remainder",
  [Op.Pow]: "torch.pow",
  [Op.Minimum]: "torch.minimum",
  [Op.Maximum]: "torch.maximum",
};

const operators: Partial<Record<Op, string>> = {
  [Op.Add]: "+",
  [Op.Sub]: "-",
  [Op.Mul]: "*",
  [Op.Div]: "/",
  [Op.Lt]: "<",
  [Op.Le]: "<=",
  [Op.Gt]: ">",
  [Op.Ge]: ">=",
  [Op.Eq]: "==",
  [Op.Ne]: "!=",
};

const list = (xs: readonly number[]) => `[${xs.join(", ")}]`;
const pair = (n: Node, k: string, fallback: readonly number[]) => list((n.attrs[k] as readonly number[] | undefined) ?? fallback);
/** A Python float literal of `v` (`2.0`, `1e+30`, `float("inf")`). */
export const pyNumber = (v: number) => (Number.isNaN(v) ? 'float("nan")' : v === Infinity ? 'float("inf")' : v === -Infinity ? 'float("-inf")' : Number.isInteger(v) && Math.abs(v) < 1e21 && !String(v).includes("e") ? `${v}.0` : String(v));

/** The float32 values just below and just above `c`, a number float32 cannot hold. */
export function f32Neighbours(c: number): [number, number] {
  const near = Math.fround(c);
  // The adjacent float32 of x towards +Infinity (up) or -Infinity: one step of the bit pattern,
  // whose order follows the magnitude, so the direction flips for a negative x.
  const adjacent = (x: number, up: boolean) => {
    if (x === 0) return up ? 2 ** -149 : -(2 ** -149);
    const bits = new Int32Array(new Float32Array([x]).buffer)[0]!;
    return new Float32Array(new Int32Array([bits + ((x > 0) === up ? 1 : -1)]).buffer)[0]!;
  };
  return near < c ? [near, adjacent(near, true)] : [adjacent(near, false), near];
}

/** The Python expression computing `n` from its (already bound) inputs. */
export function torchExpr(n: Node, c: ExprContext): string {
  const [a, b, d] = n.inputs.map((i) => c.ref(i));
  const shape = c.shape(n.shape);
  const T = c.dtype(n.dtype);
  if (n.dtype === "i32" && n.inputs.every((i) => i.dtype === "i32")) {
    // estc's i32 is 32-bit: + - * and negation wrap modulo 2^32, % is floored with x % 0 = 0
    // (docs/language.md §10); torch computes in int64, so the result is wrapped back.
    if (n.op === Op.Add || n.op === Op.Sub || n.op === Op.Mul) return `E.wrap_i32(${a} ${operators[n.op]} ${b})`;
    if (n.op === Op.Neg) return `E.wrap_i32(-${a})`;
    if (n.op === Op.Mod) return `E.mod_i32(${a}, ${b})`;
  }
  const method = methods[n.op];
  if (method !== undefined) return `${method}(${n.inputs.map((i) => c.ref(i)).join(", ")})`;
  const operator = operators[n.op];
  if (operator !== undefined && n.dtype === "bool") {
    // A comparison with a literal f32 cannot hold (0.1, a window's edge) is decided against the
    // literal's exact value, as estc's CPU back end and interpreter do (in float64): |x| <= 0.1 is
    // false at x = f32(0.1) > 0.1. For a float32 x that is the comparison with the f32 neighbour
    // of the literal on the right side (no float64 copy of x); a float64 x compares with the literal.
    const inexact = (i: Node) => i.op === Op.Const && i.dtype === "f32" && Math.fround(Number(i.attrs["value"])) !== Number(i.attrs["value"]);
    const [l, r] = n.inputs as [Node, Node];
    if (inexact(l) !== inexact(r) && n.op !== Op.Eq && n.op !== Op.Ne) {
      const c = Number((inexact(l) ? l : r).attrs["value"]);
      const [lo, hi] = f32Neighbours(c);
      // x <= c and x < c hold for a float32 x exactly when x <= lo; x >= c and x > c when x >= hi.
      const below = inexact(r) ? n.op === Op.Lt || n.op === Op.Le : n.op === Op.Gt || n.op === Op.Ge;
      const literal = `(${pyNumber(below ? lo : hi)} if F == torch.float32 else ${pyNumber(c)})`;
      const op = below ? (inexact(r) ? "<=" : ">=") : inexact(r) ? ">=" : "<=";
      return inexact(r) ? `${a} ${op} ${literal}` : `${literal} ${op} ${b}`;
    }
    if (inexact(l) !== inexact(r)) {
      // == and != with a value no f32 equals: in float64, as the CPU back end.
      const side = (i: Node, ref: string) => (inexact(i) ? pyNumber(Number(i.attrs["value"])) : `${ref}.to(torch.float64)`);
      return `${side(l, a!)} ${operator} ${side(r, b!)}`;
    }
  }
  if (operator !== undefined) return `${a} ${operator} ${b}`;
  switch (n.op) {
    case Op.Const: {
      const v = Number(n.attrs["value"]);
      const literal = n.dtype === "bool" ? (v !== 0 ? "True" : "False") : n.dtype === "i32" ? String(Math.trunc(v)) : pyNumber(v);
      return `torch.tensor(${literal}, dtype=${T}, device=dev)`;
    }
    case Op.Dim:
      return `torch.tensor(${c.dim(String(n.attrs["name"]))}, dtype=${T}, device=dev)`;
    case Op.Random: {
      const kind = n.attrs["normal"] === true ? "normal" : n.attrs["gumbel"] === true ? "gumbel" : n.attrs["open"] === true ? "open" : "uniform";
      return `E.random(seed, ${Number(n.attrs["site"])}, ${Number(n.attrs["stream"] ?? 0)}, ${shape}, "${kind}", ${T}, dev)`;
    }
    case Op.Iota:
      return `E.iota(${shape}, ${Number(n.attrs["axis"])}, ${T}, dev)`;
    case Op.Neg:
      return `-${a}`;
    case Op.Step:
      return `E.step(${a}).to(${T})`;
    case Op.Not:
      return `E.nonzero(${a}).logical_not()`;
    case Op.Cast:
      // To i32 from f32 truncates toward zero and saturates, NaN giving 0 (E.to_i32; torch's own
      // conversion leaves NaN and out-of-range values to the platform); to bool tests x != 0.
      if (n.dtype === "bool") return `E.nonzero(${a})`;
      return n.dtype === "i32" && n.inputs[0]!.dtype === "f32" ? `E.to_i32(${a})` : `${a}.to(${T})`;
    case Op.And:
      return `torch.logical_and(${a}, ${b})`;
    case Op.Or:
      return `torch.logical_or(${a}, ${b})`;
    case Op.Select:
      return `torch.where(E.nonzero(${a}), ${b}, ${d})`;
    case Op.Clamp:
      // min(max(x, lo), hi), NaN-propagating like the interpreter's Math.min/Math.max.
      return `torch.minimum(torch.maximum(${a}, ${b}), ${d})`;
    case Op.Sum:
    case Op.Max:
    case Op.Min: {
      const rank = n.inputs[0]!.shape.length;
      if (rank === 0) return `${a}.clone()`;
      const fn = n.op === Op.Sum ? "torch.sum" : n.op === Op.Max ? "torch.amax" : "torch.amin";
      return `${fn}(${a}, dim=${list(axesOf(n))}, keepdim=${n.attrs["keepdims"] === true ? "True" : "False"})`;
    }
    case Op.ArgMax:
    case Op.ArgMin:
      return `E.arg_reduce(${a}, ${list(axesOf(n))}, ${n.attrs["keepdims"] === true ? "True" : "False"}, ${n.op === Op.ArgMax ? "True" : "False"}, ${T})`;
    case Op.MatMul:
      return `torch.matmul(${a}, ${b})`;
    case Op.Transpose:
      return `${a}.permute(${list(n.attrs["perm"] as readonly number[])})`;
    case Op.Reshape:
      return `${a}.reshape(${shape})`;
    case Op.Broadcast:
      return `${a}.expand(${shape})`;
    case Op.Gather:
      return `E.gather(${a}, ${b}, ${Number(n.attrs["axis"])})`;
    case Op.GatherGrad:
      return `E.gather_grad(${a}, ${b}, ${Number(n.attrs["axis"])}, ${shape})`;
    case Op.NmMask:
      return `E.nm_mask(${a}, ${Number(n.attrs["n"])}, ${Number(n.attrs["m"])}, ${T})`;
    case Op.Conv2d:
      return `torch.nn.functional.conv2d(${a}, ${b}, None, ${convArgs(n)})`;
    case Op.Conv2dInputGrad:
      return `E.conv2d_input_grad(${a}, ${b}, ${shape}, ${convArgs(n)})`;
    case Op.Conv2dWeightGrad:
      return `E.conv2d_weight_grad(${a}, ${b}, ${shape}, ${convArgs(n)})`;
    case Op.MaxPool2d:
      return `E.max_pool2d(${a}, ${b}, ${poolArgs(n)})`;
    case Op.MaxPool2dGrad:
      return `E.max_pool2d_grad(${a}, ${b}, ${poolArgs(n)})`;
    case Op.AvgPool2d:
      return `E.avg_pool2d(${a}, ${poolArgs(n)})`;
    case Op.AvgPool2dGrad:
      return `E.avg_pool2d_grad(${a}, ${shape}, ${poolArgs(n)})`;
    case Op.StopGradient:
    case Op.Custom:
      // The value of inputs[0]; the estimator's backward rule is already in the vjp graph.
      return a!;
    default:
      throw new UnmappedOp(n);
  }
}

/** Reduced axes, all of them when attrs.axes is empty or absent (interpret.ts). */
function axesOf(n: Node): number[] {
  const given = (n.attrs["axes"] as readonly number[] | undefined) ?? [];
  return given.length === 0 ? n.inputs[0]!.shape.map((_, i) => i) : [...given];
}

function convArgs(n: Node): string {
  return `${pair(n, "stride", [1, 1])}, ${pair(n, "padding", [0, 0])}, ${pair(n, "dilation", [1, 1])}, ${Number(n.attrs["groups"] ?? 1)}`;
}

function poolArgs(n: Node): string {
  const kernel = (n.attrs["kernel"] as readonly number[] | undefined) ?? [1, 1];
  return `${list(kernel)}, ${pair(n, "stride", kernel)}, ${pair(n, "padding", [0, 0])}`;
}

/** Ops whose result torch broadcasts from its inputs (NumPy rules), as the IR's elementwise ops. */
export function broadcasts(op: Op): boolean {
  return op !== Op.Const && op !== Op.Dim && op !== Op.Random && op !== Op.Iota && op !== Op.Broadcast && op !== Op.Custom && op !== Op.StopGradient;
}

/** The NumPy broadcast of symbolic shapes, or undefined where it cannot be told statically. */
export function broadcastShape(shapes: readonly (readonly DimT[])[]): DimT[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: DimT[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: DimT = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) return undefined;
    }
    out.push(dim);
  }
  return out;
}
