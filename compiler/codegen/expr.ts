/**
 * One expression printer for both back ends, with a table per target (STYLE.md §5): adding an
 * op is one line per target. Operands arrive as already-printed expressions.
 */
import { Op, type Node } from "../ir.js";

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

const comparisons: ReadonlySet<Op> = new Set([Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne]);

/** The f32 next to `f` (an f32) towards +Infinity (`up`) or -Infinity. */
function nextF32(f: number, up: boolean): number {
  if (f === 0) return (up ? 1 : -1) * 2 ** -149;
  const bits = new Int32Array(new Float32Array([f]).buffer);
  bits[0]! += f > 0 === up ? 1 : -1;
  return new Float32Array(bits.buffer)[0]!;
}

/** `c` rounded to an f32 downwards or upwards (exact when it is one). */
function roundF32(c: number, up: boolean): number {
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
  if (!comparisons.has(n.op) || !n.inputs.some((i) => i.op === Op.Const)) return undefined;
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

/**
 * WGSL functions the printed expressions call, each added to a kernel that uses one of `uses`:
 * f32_bits (infinities and NaN, which no WGSL constant expression may produce), log1p_, pow_
 * (JavaScript's Math.pow where WGSL's pow is undefined), and the Philox draws of Op.Random.
 */
export const wgslHelpers: { uses: string[]; code: string }[] = [
  { uses: ["f32_bits(", "pow_("], code: "fn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }" },
  {
    uses: ["log1p_("],
    code: `fn log1p_(x: f32) -> f32 {
  let v = 1.0 + x;
  if (v == 1.0) { return x; }
  if (x > 1.0e4) { return log(v); }
  return log(v) * (x / (v - 1.0));
}`,
  },
  {
    uses: ["pow_("],
    // JavaScript's Math.pow on the cases WGSL's pow leaves undefined (x <= 0).
    code: `fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let ax = abs(x);
  var m = pow(ax, y);
  if (ax == 0.0) { m = select(f32_bits(0x7f800000u), 0.0, y > 0.0); }
  if (x >= 0.0) { return m; }
  if (floor(y) != y) { return f32_bits(0x7fc00000u); }
  return select(m, -m, y - 2.0 * floor(y * 0.5) == 1.0);
}`,
  },
  {
    uses: ["rand01_(", "rand_open01_("],
    // runtime/philox.ts, word for word: mulhi through 16-bit halves, key bumped before rounds 1-9,
    // counter (i / 4, site, stream, 0), key u.seed.xy, word i % 4.
    code: `fn mulhi32_(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}
fn philox_word_(i: u32, site: u32, stream: u32) -> u32 {
  var c = vec4<u32>(i >> 2u, site, stream, 0u);
  var k = u.seed.xy;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u); }
    let hi0 = mulhi32_(0xd2511f53u, c.x);
    let lo0 = 0xd2511f53u * c.x;
    let hi1 = mulhi32_(0xcd9e8d57u, c.z);
    let lo1 = 0xcd9e8d57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c[i & 3u];
}
fn rand01_(i: u32, site: u32, stream: u32) -> f32 {
  return f32(philox_word_(i, site, stream) >> 8u) * 0x1p-24f;
}
fn rand_open01_(i: u32, site: u32, stream: u32) -> f32 {
  return (f32(philox_word_(i, site, stream) >> 9u) + 0.5) * 0x1p-23f;
}`,
  },
];
