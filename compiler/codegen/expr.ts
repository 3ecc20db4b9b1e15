/**
 * One expression printer for both back ends, with a table per target (STYLE.md §5): adding an
 * op is one line per target. Operands arrive as already-printed expressions.
 */
import { Op } from "../ir.js";

export type Printer = (a: string[]) => string;

/** TypeScript: values are JS numbers; booleans are 0/1 numbers; comparisons are branch-free. */
export const tsOps: Partial<Record<Op, Printer>> = {
  [Op.Neg]: ([a]) => `-${a}`,
  [Op.Abs]: ([a]) => `Math.abs(${a})`,
  // Branch-free: a ternary mispredicts on random signs (4x slower at 2^20 in npm run bench).
  [Op.Sign]: ([a]) => `2 * +(${a} >= 0) - 1`,
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
  [Op.Step]: ([a]) => `+(${a} > 0)`,
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

/** A TypeScript literal for a number (keeps -0, Infinity and NaN exact). */
export function tsLiteral(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${v})` : String(v);
}

/** A TypeScript cast between dtypes (bool and f32 are both JS numbers). */
export function tsCast(a: string, to: string): string {
  if (to === "i32") return `Math.trunc(${a})`;
  if (to === "bool") return `+(${a} !== 0)`;
  return a;
}

/**
 * WGSL: every value is an f32 (WGSL has no f64; i32 and bool values travel as f32 inside a
 * kernel and are converted at their buffers); booleans are 0.0/1.0 through `select`, so the
 * branch-free shape of the TypeScript table carries over. Helpers (`log1p_`, `pow_`) are WGSL
 * functions the kernel printer adds when a kernel uses them.
 */
const bool = (c: string) => `select(0.0, 1.0, ${c})`;
export const wgslOps: Partial<Record<Op, Printer>> = {
  [Op.Neg]: ([a]) => `-${a}`,
  [Op.Abs]: ([a]) => `abs(${a})`,
  [Op.Sign]: ([a]) => `select(-1.0, 1.0, ${a} >= 0.0)`,
  [Op.Signum]: ([a]) => `sign(${a})`,
  [Op.Exp]: ([a]) => `exp(${a})`,
  [Op.Log]: ([a]) => `log(${a})`,
  [Op.Log1p]: ([a]) => `log1p_(${a})`,
  [Op.Sqrt]: ([a]) => `sqrt(${a})`,
  [Op.Rsqrt]: ([a]) => `1.0 / sqrt(${a})`,
  [Op.Sin]: ([a]) => `sin(${a})`,
  [Op.Cos]: ([a]) => `cos(${a})`,
  // Some drivers compute tanh through exp and overflow to NaN; |x| >= 10 is ±1 in f32 anyway.
  [Op.Tanh]: ([a]) => `tanh(clamp(${a}, -15.0, 15.0))`,
  [Op.Sigmoid]: ([a]) => `1.0 / (1.0 + exp(-${a}))`,
  [Op.Softplus]: ([a]) => `max(${a}, 0.0) + log1p_(exp(-abs(${a})))`,
  [Op.Relu]: ([a]) => `max(${a}, 0.0)`,
  [Op.Floor]: ([a]) => `floor(${a})`,
  [Op.Ceil]: ([a]) => `ceil(${a})`,
  [Op.Round]: ([a]) => `round(${a})`,
  [Op.Step]: ([a]) => bool(`${a} > 0.0`),
  [Op.Not]: ([a]) => bool(`${a} == 0.0`),
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Mod]: ([a, b]) => `${a} - ${b} * floor(${a} / ${b})`,
  [Op.Pow]: ([a, b]) => `pow_(${a}, ${b})`,
  [Op.Minimum]: ([a, b]) => `min(${a}, ${b})`,
  [Op.Maximum]: ([a, b]) => `max(${a}, ${b})`,
  [Op.Lt]: ([a, b]) => bool(`${a} < ${b}`),
  [Op.Le]: ([a, b]) => bool(`${a} <= ${b}`),
  [Op.Gt]: ([a, b]) => bool(`${a} > ${b}`),
  [Op.Ge]: ([a, b]) => bool(`${a} >= ${b}`),
  [Op.Eq]: ([a, b]) => bool(`${a} == ${b}`),
  [Op.Ne]: ([a, b]) => bool(`${a} != ${b}`),
  [Op.And]: ([a, b]) => bool(`${a} != 0.0 && ${b} != 0.0`),
  [Op.Or]: ([a, b]) => bool(`${a} != 0.0 || ${b} != 0.0`),
  [Op.Select]: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0.0)`,
  [Op.Clamp]: ([x, lo, hi]) => `min(max(${x}, ${lo}), ${hi})`,
  [Op.StopGradient]: ([a]) => `${a}`,
  [Op.Custom]: ([a]) => `${a}`,
  [Op.Broadcast]: ([a]) => `${a}`,
};

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

/** A WGSL cast between dtypes of values held as f32 (i32 truncates, bool is 0.0/1.0). */
export function wgslCast(a: string, to: string): string {
  if (to === "i32") return `trunc(${a})`;
  if (to === "bool") return bool(`${a} != 0.0`);
  return a;
}
