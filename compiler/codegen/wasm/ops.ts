/**
 * The f32x4 code of one elementwise IR node over its operands' vectors, for the Wasm kernels: the
 * Wasm counterpart of ../expr.ts's tables. f32 and bool values are f32 lanes (bool as 0.0 / 1.0,
 * as in the TS and WGSL kernels); every op gives what the TypeScript kernel gives for the same f32
 * operands — bit for bit for the arithmetic, comparisons, selects and roundings (an f32 op is
 * correctly rounded, as is Math.fround of the f64 op), within the ulp bounds of ./math.ts for the
 * transcendental functions. `pow` is exp(b·log a) in f32 where its base is never negative (the
 * TS kernel's f64 formula there), and Math.pow itself, imported, in a kernel's hoisted constants
 * (computed once, bit for bit as the TS kernel's). Ops without an entry (mod, sin, cos, random,
 * iota, i32 values, pow of a base that may be negative) make the kernel fall back to its
 * TypeScript form.
 */
import { Op, type Node } from "../../ir.js";
import { nonNegative, roundF32 } from "../expr.js";
import { emitMath, type MathFunction } from "./math.js";
import type { SimdBuilder } from "./simd.js";
import { V128 } from "../../../runtime/wasm/encoder.js";

/** Pushes operand `k`'s vector. */
type Operand = (k: number) => void;
type Emit = (b: SimdBuilder, x: Operand, n: Node) => void;

const unary = (...ops: Parameters<SimdBuilder["v"]>[0][]): Emit => (b, x) => {
  x(0);
  ops.forEach((o) => b.v(o));
};
const binary = (op: Parameters<SimdBuilder["v"]>[0]): Emit => (b, x) => {
  x(0);
  x(1);
  b.v(op);
};
const call = (f: MathFunction): Emit => (b, x) => {
  const l = b.local(V128);
  x(0);
  b.set(l);
  emitMath(b, f, l);
};
/** A comparison's mask as 0.0 / 1.0. */
const asBool = (b: SimdBuilder) => b.f32x4Const(1).v("v128.and");
/** Where x(0) is NaN the result is that NaN, as the TS kernels' `a !== a ? NaN : …`. */
const nanThrough = (b: SimdBuilder, x: Operand) => {
  const r = b.local(V128);
  b.set(r);
  x(0);
  b.get(r);
  x(0);
  x(0);
  b.v("f32x4.ne").v("v128.bitselect");
};
const identity: Emit = (_b, x) => x(0);

const table: Partial<Record<Op, Emit>> = {
  [Op.Neg]: unary("f32x4.neg"),
  [Op.Abs]: unary("f32x4.abs"),
  [Op.Sqrt]: unary("f32x4.sqrt"),
  [Op.Floor]: unary("f32x4.floor"),
  [Op.Ceil]: unary("f32x4.ceil"),
  [Op.Round]: unary("f32x4.nearest"),
  [Op.Exp]: call("exp"),
  [Op.Log]: call("log"),
  [Op.Log1p]: call("log1p"),
  [Op.Tanh]: call("tanh"),
  [Op.Sigmoid]: call("sigmoid"),
  [Op.Softplus]: call("softplus"),
  [Op.Rsqrt]: (b, x) => {
    b.f32x4Const(1);
    x(0);
    b.v("f32x4.sqrt").v("f32x4.div");
  },
  [Op.Relu]: (b, x) => {
    x(0);
    b.f32x4Const(0).v("f32x4.max");
  },
  // sign(0) = +1 (docs/language.md): 1 where x >= 0, else -1, NaN kept.
  [Op.Sign]: (b, x) => {
    b.f32x4Const(1).f32x4Const(-1);
    x(0);
    b.f32x4Const(0).v("f32x4.ge").v("v128.bitselect");
    nanThrough(b, x);
  },
  // Math.sign: ±1, with ±0 and NaN passed through.
  [Op.Signum]: (b, x) => {
    b.f32x4Const(1).f32x4Const(-1);
    x(0);
    x(0);
    b.f32x4Const(0).v("f32x4.lt").v("v128.bitselect");
    x(0);
    b.f32x4Const(0).v("f32x4.gt").v("v128.bitselect");
  },
  [Op.Step]: (b, x) => {
    x(0);
    b.f32x4Const(0).v("f32x4.gt");
    asBool(b);
    nanThrough(b, x);
  },
  [Op.Not]: (b, x) => {
    x(0);
    b.f32x4Const(0).v("f32x4.eq");
    asBool(b);
  },
  [Op.Add]: binary("f32x4.add"),
  [Op.Sub]: binary("f32x4.sub"),
  [Op.Mul]: binary("f32x4.mul"),
  [Op.Div]: binary("f32x4.div"),
  [Op.Minimum]: binary("f32x4.min"),
  [Op.Maximum]: binary("f32x4.max"),
  [Op.And]: (b, x) => {
    x(0);
    b.f32x4Const(0).v("f32x4.ne");
    x(1);
    b.f32x4Const(0).v("f32x4.ne").v("v128.and");
    asBool(b);
  },
  [Op.Or]: (b, x) => {
    x(0);
    b.f32x4Const(0).v("f32x4.ne");
    x(1);
    b.f32x4Const(0).v("f32x4.ne").v("v128.or");
    asBool(b);
  },
  [Op.Select]: (b, x) => {
    x(1);
    x(2);
    x(0);
    b.f32x4Const(0).v("f32x4.ne").v("v128.bitselect");
  },
  [Op.Clamp]: (b, x) => {
    x(0);
    x(1);
    b.v("f32x4.max");
    x(2);
    b.v("f32x4.min");
  },
  [Op.StopGradient]: identity,
  [Op.Custom]: identity,
  [Op.Broadcast]: identity,
};

const comparisons: Partial<Record<Op, Parameters<SimdBuilder["v"]>[0]>> = {
  [Op.Lt]: "f32x4.lt",
  [Op.Le]: "f32x4.le",
  [Op.Gt]: "f32x4.gt",
  [Op.Ge]: "f32x4.ge",
  [Op.Eq]: "f32x4.eq",
  [Op.Ne]: "f32x4.ne",
};
const flippedOp: Partial<Record<Op, Op>> = { [Op.Lt]: Op.Gt, [Op.Le]: Op.Ge, [Op.Gt]: Op.Lt, [Op.Ge]: Op.Le };

/** The function index of the imported `Math.pow` (f64, f64) -> f64 every module declares first. */
export const POW_IMPORT = 0;

/**
 * Whether a node of this op and dtype has Wasm code here (its inputs must be f32 or bool too);
 * `once`: it is a hoisted scalar constant, computed once before the loop.
 */
export function hasWasmOp(n: Node, once = false): boolean {
  if (n.dtype === "i32" || n.inputs.some((i) => i.dtype === "i32")) return false;
  if (n.op === Op.Cast) return true;
  if (n.op === Op.Pow) return once || nonNegative(n.inputs[0]!);
  return table[n.op] !== undefined || comparisons[n.op] !== undefined;
}

/**
 * Pushes the vector of node `n` (f32 or bool) given its operands. A comparison with a literal is
 * decided as the TS kernel decides it for the exact (f64) literal: the literal is rounded to the
 * f32 on the side that keeps each answer, and == with a literal no f32 equals is never true
 * (docs/language.md, "Comparisons with literals").
 */
export function emitOp(b: SimdBuilder, n: Node, x: Operand, once = false): void {
  if (n.op === Op.Pow) {
    emitPow(b, n, x, once);
    return;
  }
  if (n.op === Op.Cast) {
    // bool and f32 are both f32 lanes; to bool is `!== 0`.
    x(0);
    if (n.dtype === "bool" && n.inputs[0]!.dtype === "f32") {
      b.f32x4Const(0).v("f32x4.ne");
      asBool(b);
    }
    return;
  }
  const cmp = comparisons[n.op];
  if (cmp === undefined) {
    table[n.op]!(b, x, n);
    return;
  }
  const [a, c] = n.inputs as [Node, Node];
  const literal = a.op === Op.Const ? 0 : c.op === Op.Const ? 1 : -1;
  if (literal < 0) {
    binary(cmp)(b, x, n);
    asBool(b);
    return;
  }
  // Put the literal on the right: `2 < x` is `x > 2`.
  const op = literal === 0 ? (flippedOp[n.op] ?? n.op) : n.op;
  const value = Number(n.inputs[literal]!.attrs["value"]);
  if ((op === Op.Eq || op === Op.Ne) && Math.fround(value) !== value && Number.isFinite(value)) {
    // No f32 equals it: == is never true, != always.
    b.f32x4Const(op === Op.Eq ? 0 : 1);
    return;
  }
  x(1 - literal);
  const bound = op === Op.Eq || op === Op.Ne ? Math.fround(value) : roundF32(value, op === Op.Lt || op === Op.Ge);
  b.f32x4Const(bound).v(comparisons[op]!);
  asBool(b);
}

/**
 * pow(a, b): once, Math.pow of lane 0 in f64 rounded to f32 (the TS kernel's hoisted
 * `Math.fround(Math.pow(a, b))`, so 2^3 is exactly 8); in the loop, a >= 0, exp(b·log a) in f32,
 * and 1 where b = 0 (0·log 0 is NaN) as the TS kernel's formula.
 */
function emitPow(b: SimdBuilder, n: Node, x: Operand, once: boolean): void {
  if (once) {
    x(0);
    b.simd(0x1f, 0).op(0xbb /* f64.promote_f32 */);
    x(1);
    b.simd(0x1f, 0).op(0xbb).call(POW_IMPORT).op(0xb6 /* f32.demote_f64 */).v("f32x4.splat");
    return;
  }
  const [a, y] = [b.local(V128), b.local(V128)];
  x(0);
  b.set(a);
  emitMath(b, "log", a);
  x(1);
  b.v("f32x4.mul").set(y);
  emitMath(b, "exp", y);
  const e = n.inputs[1]!;
  if (e.op === Op.Const && Number(e.attrs["value"]) !== 0) return;
  const r = b.local(V128);
  b.set(r).f32x4Const(1).get(r);
  x(1);
  b.f32x4Const(0).v("f32x4.eq").v("v128.bitselect");
}
