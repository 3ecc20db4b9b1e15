/**
 * One expression printer for both back ends, with a table per target (STYLE.md §5): adding an
 * op is one line per target. Operands arrive as already-printed expressions.
 */
import { Op, type Node } from "../ir.js";

export type Printer = (a: string[]) => string;

/**
 * TypeScript, for f32 and bool results: values are JS numbers; booleans are 0/1 numbers;
 * comparisons are branch-free. The kernel printer rounds every f32 result to f32
 * (`Math.fround`), so a chain computes what WGSL's f32 arithmetic computes (docs/language.md
 * "Numerics"). NaN propagates through sign, step, max, min and clamp (Math.max already does).
 */
export const tsOps: Partial<Record<Op, Printer>> = {
  [Op.Neg]: ([a]) => `-${a}`,
  [Op.Abs]: ([a]) => `Math.abs(${a})`,
  // Branch-free on the sign: a ternary on it mispredicts on random signs (4x slower at 2^20 in
  // npm run bench); the NaN test is a branch that is never taken on finite data.
  [Op.Sign]: ([a]) => `(${a} !== ${a} ? NaN : 2 * +(${a} >= 0) - 1)`,
  [Op.Signum]: ([a]) => `Math.sign(${a})`,
  [Op.Exp]: ([a]) => `Math.exp(${a})`,
  [Op.Log]: ([a]) => `Math.log(${a})`,
  [Op.Log1p]: ([a]) => `Math.log1p(${a})`,
  [Op.Sqrt]: ([a]) => `Math.sqrt(${a})`,
  [Op.Rsqrt]: ([a]) => `1 / Math.sqrt(${a})`,
  [Op.Sin]: ([a]) => `Math.sin(${a})`,
  [Op.Cos]: ([a]) => `Math.cos(${a})`,
  [Op.Tanh]: ([a]) => `Math.tanh(${a})`,
  [Op.Sigmoid]: ([a]) => `1 / (1 + Math.exp(-${a}))`,
  [Op.Softplus]: ([a]) => `Math.max(${a}, 0) + Math.log1p(Math.exp(-Math.abs(${a})))`,
  [Op.Relu]: ([a]) => `Math.max(${a}, 0)`,
  [Op.Floor]: ([a]) => `Math.floor(${a})`,
  [Op.Ceil]: ([a]) => `Math.ceil(${a})`,
  [Op.Round]: ([a]) => `rint(${a})`,
  [Op.Step]: ([a]) => `(${a} !== ${a} ? NaN : +(${a} > 0))`,
  [Op.Not]: ([a]) => `+(${a} === 0)`,
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Mod]: ([a, b]) => `${a} - ${b} * Math.floor(${a} / ${b})`,
  [Op.Pow]: ([a, b]) => `Math.pow(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `Math.min(${a}, ${b})`,
  [Op.Maximum]: ([a, b]) => `Math.max(${a}, ${b})`,
  [Op.Lt]: ([a, b]) => `+(${a} < ${b})`,
  [Op.Le]: ([a, b]) => `+(${a} <= ${b})`,
  [Op.Gt]: ([a, b]) => `+(${a} > ${b})`,
  [Op.Ge]: ([a, b]) => `+(${a} >= ${b})`,
  [Op.Eq]: ([a, b]) => `+(${a} === ${b})`,
  [Op.Ne]: ([a, b]) => `+(${a} !== ${b})`,
  [Op.And]: ([a, b]) => `+(${a} !== 0 && ${b} !== 0)`,
  [Op.Or]: ([a, b]) => `+(${a} !== 0 || ${b} !== 0)`,
  [Op.Select]: ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`,
  [Op.Clamp]: ([x, lo, hi]) => `Math.min(Math.max(${x}, ${lo}), ${hi})`,
  [Op.StopGradient]: ([a]) => `${a}`,
  [Op.Custom]: ([a]) => `${a}`,
  [Op.Broadcast]: ([a]) => `${a}`,
};

/**
 * TypeScript for i32 results: two's-complement wrapping as WGSL's i32 (`| 0`, Math.imul), `%`
 * floored with `x % 0 = 0` (WGSL's own `%` truncates; its helper `imod_` floors the same way).
 */
export const tsIntOps: Partial<Record<Op, Printer>> = {
  [Op.Neg]: ([a]) => `-${a} | 0`,
  [Op.Abs]: ([a]) => `Math.abs(${a}) | 0`,
  [Op.Add]: ([a, b]) => `(${a} + ${b}) | 0`,
  [Op.Sub]: ([a, b]) => `(${a} - ${b}) | 0`,
  [Op.Mul]: ([a, b]) => `Math.imul(${a}, ${b})`,
  [Op.Mod]: ([a, b]) => `(${b} === 0 ? 0 : ((${a} % ${b}) + ${b}) % ${b} | 0)`,
  [Op.Minimum]: ([a, b]) => `Math.min(${a}, ${b})`,
  [Op.Maximum]: ([a, b]) => `Math.max(${a}, ${b})`,
  [Op.Clamp]: ([x, lo, hi]) => `Math.min(Math.max(${x}, ${lo}), ${hi})`,
  [Op.Select]: ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`,
  [Op.StopGradient]: ([a]) => `${a}`,
  [Op.Custom]: ([a]) => `${a}`,
  [Op.Broadcast]: ([a]) => `${a}`,
};

/** A TypeScript literal for a number (keeps -0, Infinity and NaN exact). */
export function tsLiteral(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${v})` : String(v);
}

/**
 * A TypeScript cast between dtypes (bool and f32 are both JS numbers). f32 → i32 truncates and
 * saturates, NaN giving 0 (`| 0` of NaN), as WGSL's `f2i_`; i32 → f32 rounds to f32.
 */
export function tsCast(a: string, from: string, to: string): string {
  if (to === "i32") return from === "f32" ? `Math.max(-2147483648, Math.min(2147483647, Math.trunc(${a}))) | 0` : a;
  if (to === "bool") return `+(${a} !== 0)`;
  return from === "i32" ? `Math.fround(${a})` : a;
}

/**
 * WGSL, for f32 and bool results over f32 operands: i32 values are WGSL i32 (wgslIntOps) and
 * enter an f32 op through `f32(…)` (a Cast node); bool values travel as f32 0.0/1.0 through
 * `select`, so the branch-free shape of the TypeScript table carries over. WGSL lets an
 * implementation assume no overflow, infinity or NaN (WGSL spec, "Floating Point Evaluation"),
 * so every op whose IEEE answer is special on some input goes through a helper of
 * ./wgsl/helpers.ts that builds that answer from bits (`div_`, `exp_`, `log_`, `max_`, …).
 */
const bool = (c: string) => `select(0.0, 1.0, ${c})`;
export const wgslOps: Partial<Record<Op, Printer>> = {
  [Op.Neg]: ([a]) => `-${a}`,
  [Op.Abs]: ([a]) => `abs(${a})`,
  [Op.Sign]: ([a]) => `sign_(${a})`,
  [Op.Signum]: ([a]) => `signum_(${a})`,
  [Op.Exp]: ([a]) => `exp_(${a})`,
  [Op.Log]: ([a]) => `log_(${a})`,
  [Op.Log1p]: ([a]) => `log1p_(${a})`,
  [Op.Sqrt]: ([a]) => `sqrt_(${a})`,
  [Op.Rsqrt]: ([a]) => `div_(1.0, sqrt_(${a}))`,
  [Op.Sin]: ([a]) => `sin(${a})`,
  [Op.Cos]: ([a]) => `cos(${a})`,
  [Op.Tanh]: ([a]) => `tanh_(${a})`,
  [Op.Sigmoid]: ([a]) => `div_(1.0, 1.0 + exp_(-${a}))`,
  [Op.Softplus]: ([a]) => `max_(${a}, 0.0) + log1p_(exp_(-abs(${a})))`,
  [Op.Relu]: ([a]) => `max_(${a}, 0.0)`,
  [Op.Floor]: ([a]) => `floor(${a})`,
  [Op.Ceil]: ([a]) => `ceil(${a})`,
  [Op.Round]: ([a]) => `round(${a})`,
  [Op.Step]: ([a]) => `step_(${a})`,
  [Op.Not]: ([a]) => bool(`${a} == 0.0`),
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  // Pinned (rnd_, ./wgsl/helpers.ts): no contraction with a following add into an FMA.
  [Op.Mul]: ([a, b]) => `rnd_(${a} * ${b})`,
  [Op.Div]: ([a, b]) => `div_(${a}, ${b})`,
  [Op.Mod]: ([a, b]) => `${a} - ${b} * floor(div_(${a}, ${b}))`,
  [Op.Pow]: ([a, b]) => `pow_(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `min_(${a}, ${b})`,
  [Op.Maximum]: ([a, b]) => `max_(${a}, ${b})`,
  [Op.Lt]: ([a, b]) => bool(`${a} < ${b}`),
  [Op.Le]: ([a, b]) => bool(`${a} <= ${b}`),
  [Op.Gt]: ([a, b]) => bool(`${a} > ${b}`),
  [Op.Ge]: ([a, b]) => bool(`${a} >= ${b}`),
  [Op.Eq]: ([a, b]) => bool(`${a} == ${b}`),
  [Op.Ne]: ([a, b]) => bool(`${a} != ${b}`),
  [Op.And]: ([a, b]) => bool(`${a} != 0.0 && ${b} != 0.0`),
  [Op.Or]: ([a, b]) => bool(`${a} != 0.0 || ${b} != 0.0`),
  [Op.Select]: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0.0)`,
  [Op.Clamp]: ([x, lo, hi]) => `min_(max_(${x}, ${lo}), ${hi})`,
  [Op.StopGradient]: ([a]) => `${a}`,
  [Op.Custom]: ([a]) => `${a}`,
  [Op.Broadcast]: ([a]) => `${a}`,
};

/** WGSL for i32 results over i32 operands (the same wrapping as tsIntOps; the select condition is an f32). */
export const wgslIntOps: Partial<Record<Op, Printer>> = {
  [Op.Neg]: ([a]) => `-${a}`,
  [Op.Abs]: ([a]) => `abs(${a})`,
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Mod]: ([a, b]) => `imod_(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `min(${a}, ${b})`,
  [Op.Maximum]: ([a, b]) => `max(${a}, ${b})`,
  [Op.Clamp]: ([x, lo, hi]) => `min(max(${x}, ${lo}), ${hi})`,
  [Op.Select]: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0.0)`,
  [Op.StopGradient]: ([a]) => `${a}`,
  [Op.Custom]: ([a]) => `${a}`,
  [Op.Broadcast]: ([a]) => `${a}`,
};

/** WGSL comparisons of two i32 operands (bool results as 0.0/1.0). */
export const wgslIntComparisons: Partial<Record<Op, Printer>> = {
  [Op.Lt]: ([a, b]) => bool(`${a} < ${b}`),
  [Op.Le]: ([a, b]) => bool(`${a} <= ${b}`),
  [Op.Gt]: ([a, b]) => bool(`${a} > ${b}`),
  [Op.Ge]: ([a, b]) => bool(`${a} >= ${b}`),
  [Op.Eq]: ([a, b]) => bool(`${a} == ${b}`),
  [Op.Ne]: ([a, b]) => bool(`${a} != ${b}`),
  [Op.And]: ([a, b]) => bool(`${a} != 0 && ${b} != 0`),
  [Op.Or]: ([a, b]) => bool(`${a} != 0 || ${b} != 0`),
};

/** A WGSL i32 literal (wrapped to i32; -2^31 has no literal of its own). */
export function wgslIntLiteral(v: number): string {
  const i = v | 0;
  if (i === -2147483648) return "(-2147483647i - 1i)";
  return i < 0 ? `(${i}i)` : `${i}i`;
}

/**
 * A WGSL f32 literal for a number, rounded to f32 first. Infinities and NaN have no literal and
 * may not appear in a constant expression, so they go through the `f32_bits` helper function.
 */
export function wgslLiteral(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return "f32_bits(0x7fc00000u)";
  if (f === Infinity) return "f32_bits(0x7f800000u)";
  if (f === -Infinity) return "f32_bits(0xff800000u)";
  if (Object.is(f, -0)) return "(-0.0)";
  // The shortest decimal that rounds to the same f32 (0.1, not 0.10000000149011612).
  let s = String(f);
  for (let p = 1; p <= 9; p++) {
    const short = Number(f.toPrecision(p));
    if (Math.fround(short) === f) {
      s = String(short);
      break;
    }
  }
  const text = /[.e]/.test(s) ? s : `${s}.0`;
  return f < 0 ? `(${text})` : text;
}

/**
 * A WGSL cast between dtypes: i32 values are i32, f32 and bool values f32 (bool 0.0/1.0).
 * f32 → i32 truncates and saturates, NaN giving 0 (`f2i_`, the same as tsCast).
 */
export function wgslCast(a: string, from: string, to: string): string {
  if (to === "i32") return from === "i32" ? a : from === "bool" ? `i32(${a})` : `f2i_(${a})`;
  if (to === "bool") return bool(from === "i32" ? `${a} != 0` : `${a} != 0.0`);
  return from === "i32" ? `f32(${a})` : a;
}

const comparisons: ReadonlySet<Op> = new Set([Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne]);

/** The f32 next to `f` (an f32) towards +Infinity (`up`) or -Infinity. */
function nextF32(f: number, up: boolean): number {
  if (f === 0) return (up ? 1 : -1) * 2 ** -149;
  const bits = new Int32Array(new Float32Array([f]).buffer);
  bits[0]! += f > 0 === up ? 1 : -1;
  return new Float32Array(bits.buffer)[0]!;
}

/** `c` rounded to an f32 downwards or upwards (exact when it is one). */
export function roundF32(c: number, up: boolean): number {
  const f = Math.fround(c);
  if (f === c || Number.isNaN(c)) return f;
  return f > c === up ? f : nextF32(f, up);
}

/**
 * A comparison with a literal, decided as the f64 TypeScript kernel decides it for the same f32
 * operand: `x <= 0.1` must not hold at x = f32(0.1) > 0.1. The literal is rounded towards the
 * side that keeps the answer (down for <= and >, up for < and >=); == with a literal no f32
 * equals is never true. Undefined for any other node (the op table prints it).
 */
export function wgslComparison(n: Node, ins: string[]): string | undefined {
  if (!comparisons.has(n.op) || !n.inputs.some((i) => i.op === Op.Const) || n.inputs.some((i) => i.dtype === "i32")) return undefined;
  const [a, b] = n.inputs;
  const flipped = a!.op === Op.Const && b!.op !== Op.Const;
  const c = (flipped ? a : b)!.attrs["value"] as number;
  const op = flipped ? ({ [Op.Lt]: Op.Gt, [Op.Le]: Op.Ge, [Op.Gt]: Op.Lt, [Op.Ge]: Op.Le } as Partial<Record<Op, Op>>)[n.op] ?? n.op : n.op;
  const x = flipped ? ins[1]! : ins[0]!;
  if (op === Op.Eq || op === Op.Ne) {
    if (Math.fround(c) !== c && !Number.isNaN(c) && Number.isFinite(c)) return op === Op.Eq ? "0.0" : "1.0";
    return wgslOps[op]!([x, wgslLiteral(c)]);
  }
  const bound = wgslLiteral(roundF32(c, op === Op.Lt || op === Op.Ge));
  return wgslOps[op]!([x, bound]);
}

const nonNegativeOps: ReadonlySet<Op> = new Set([Op.Abs, Op.Exp, Op.Sqrt, Op.Rsqrt, Op.Relu, Op.Softplus, Op.Sigmoid, Op.Step]);

/** Whether `n`'s value is never negative (NaN aside), so pow can go through exp and log (ts/node.ts and wasm/ops.ts). */
export function nonNegative(n: Node): boolean {
  if (n.op === Op.Const) return (n.attrs["value"] as number) >= 0;
  if (n.op === Op.Cast) return n.inputs[0]!.dtype === "bool";
  return nonNegativeOps.has(n.op) || n.dtype === "bool";
}
