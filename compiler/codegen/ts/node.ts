/**
 * The TypeScript expression of one elementwise IR node inside a generated CPU kernel: the op
 * tables of ../expr.ts plus what depends on the node (its dtype, its inputs' dtypes, literal
 * operands), and the f32 rounding after every op that keeps the CPU's results the GPU's.
 */
import { Op, type Node } from "../../ir.js";
import { nonNegative, tsCast, tsIntOps, tsLiteral, tsOps } from "../expr.js";

/**
 * A literal as kernels compute with it: an f32 constant rounded to f32 (WGSL's literal), an i32
 * one wrapped to i32. Comparisons take the exact value instead (see nodeExpr).
 */
export function constLiteral(n: Node): string {
  const v = n.attrs["value"] as number;
  return tsLiteral(n.dtype === "i32" ? v | 0 : n.dtype === "f32" ? Math.fround(v) : v);
}

/**
 * Ops whose f32 result is exact given f32 operands (a sign change, a choice, a rounding to an
 * integer, a 0/1), so they need no `Math.fround`; every other f32 result is rounded to f32.
 */
const exactOps: ReadonlySet<Op> = new Set([
  Op.Neg, Op.Abs, Op.Sign, Op.Signum, Op.Relu, Op.Floor, Op.Ceil, Op.Round, Op.Step, Op.Not, Op.Minimum, Op.Maximum,
  Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne, Op.And, Op.Or, Op.Select, Op.Clamp, Op.StopGradient, Op.Custom, Op.Broadcast,
  Op.Random, Op.Iota, Op.Cast, Op.Const,
]);

const comparisonOps: ReadonlySet<Op> = new Set([Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne]);

/**
 * The expression for elementwise node `n` over its inputs' expressions `ins`: f32 results are
 * rounded to f32 after every op, so a fused chain computes what WGSL's f32 arithmetic computes
 * (exp(100) overflows to Infinity, as it does on the GPU); i32 results wrap as WGSL's i32. `once`:
 * it runs once per kernel (a hoisted scalar constant), so pow takes Math.pow's exact 2^3 = 8
 * rather than exp(3·log 2) = 7.999…, which a round() downstream would see (std/quant's 2^k − 1
 * levels).
 */
export function nodeExpr(n: Node, ins: string[], index: (axis: number) => string, flat: string, once = false): string {
  const e = opExpr(n, ins, index, flat, once);
  return n.dtype === "f32" && !exactOps.has(n.op) ? `Math.fround(${e})` : e;
}

function opExpr(n: Node, ins: string[], index: (axis: number) => string, flat: string, once: boolean): string {
  if (n.op === Op.Random) {
    const at = `seed, ${n.attrs["site"]}`;
    if (n.attrs["gumbel"] === true) return `randomGumbel(${at}, ${flat})`;
    return n.attrs["normal"] === true ? `randomNormal(${at}, ${flat})` : `randomUniform(${at}, ${n.attrs["stream"]}, ${flat}, ${n.attrs["open"] ? "true" : "false"})`;
  }
  if (n.op === Op.Iota) return index(n.attrs["axis"] as number);
  if (n.op === Op.Cast) return tsCast(ins[0]!, n.inputs[0]!.dtype, n.dtype);
  if (comparisonOps.has(n.op)) {
    // A comparison with a literal uses its exact value (docs/language.md, "Comparisons with literals").
    ins = ins.map((x, k) => (n.inputs[k]!.op === Op.Const ? tsLiteral(n.inputs[k]!.attrs["value"] as number) : x));
  }
  if (n.dtype === "i32") {
    const p = tsIntOps[n.op];
    if (p === undefined) throw new Error(`codegen/ts: no TypeScript for i32 op ${n.op}`);
    return p(ins);
  }
  if (n.op === Op.Pow && !once && nonNegative(n.inputs[0]!)) {
    // exp(b·log a) is 2.5x faster than Math.pow in V8 and exact enough for f32; it needs a >= 0,
    // and b = 0 (where 0·log 0 is NaN) keeps pow's answer of 1.
    const b = n.inputs[1]!;
    const safe = b.op === Op.Const && b.attrs["value"] !== 0;
    return safe ? `Math.exp(${ins[1]} * Math.log(${ins[0]}))` : `(${ins[1]} === 0 ? 1 : Math.exp(${ins[1]} * Math.log(${ins[0]})))`;
  }
  const p = tsOps[n.op];
  if (p === undefined) throw new Error(`codegen/ts: no TypeScript for op ${n.op}`);
  return p(ins);
}

