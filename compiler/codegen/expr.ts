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
  [Op.Sign]: ([a]) => `(${a} >= 0 ? 1 : -1)`,
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
