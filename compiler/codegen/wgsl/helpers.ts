/**
 * WGSL functions the printed expressions (../expr.ts) call, each added to a shader that calls it
 * (directly or through another helper). They exist for two reasons:
 *
 * - WGSL lets an implementation assume that no overflow, infinity or NaN occurs ("Floating Point
 *   Evaluation" in the WGSL spec), so `x / 0.0`, `exp(100.0)` or `max(NaN, 0.0)` may give any
 *   value (Mesa's llvmpipe gives 0 for `x / 0.0`). Each helper tests its special inputs with
 *   comparisons and bit patterns (`isnan_` reads the bits, which no fast-math rewrite can assume
 *   away) and builds the IEEE answer from bits, so both back ends give what JavaScript's f64
 *   arithmetic rounded to f32 gives (docs/language.md "Numerics").
 * - Philox draws and the f32-exact normal sampler of runtime/philox.ts, word for word.
 */
import { NORMAL_WGSL } from "./normal.js";

/** One helper: its source and the call prefixes that make a shader need it. */
export interface WgslHelper {
  uses: string[];
  code: string;
}

const NAN = "f32_bits(0x7fc00000u)";
const INF = "f32_bits(0x7f800000u)";

export const wgslHelpers: WgslHelper[] = [
  // A product pinned to its f32 rounding: Mesa (and SPIR-V in general) may contract a * b + c
  // into one fused multiply-add, rounding once where JavaScript rounds twice. The XOR with
  // u.seed.w, which the runtime always sets to 0 but no compiler can know, forces the rounding.
  { uses: ["rnd_("], code: "fn rnd_(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ u.seed.w); }" },
  { uses: ["f32_bits("], code: "fn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }" },
  { uses: ["isnan_("], code: "fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }" },
  { uses: ["isinf_("], code: "fn isinf_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }" },
  {
    uses: ["div_("],
    // IEEE division: x/±0 is ±Inf by the sign of both (NaN for 0/0 and NaN/0), finite/±Inf is ±0.
    code: `fn div_(a: f32, b: f32) -> f32 {
  if (isnan_(a) || isnan_(b)) { return ${NAN}; }
  let s = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
  if (b == 0.0) {
    if (a == 0.0) { return ${NAN}; }
    return bitcast<f32>(0x7f800000u | s);
  }
  if (isinf_(b)) {
    if (isinf_(a)) { return ${NAN}; }
    return bitcast<f32>(s);
  }
  if (isinf_(a)) { return bitcast<f32>(0x7f800000u | s); }
  return a / b;
}`,
  },
  {
    uses: ["exp_("],
    // 88.72284 is the least f32 whose exp rounds to +Inf in f32; below -104 exp is 0 in f32.
    code: `fn exp_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  if (x >= 88.72284) { return ${INF}; }
  if (x < -104.0) { return 0.0; }
  return exp(x);
}`,
  },
  {
    uses: ["log_("],
    code: `fn log_(x: f32) -> f32 {
  if (isnan_(x) || x < 0.0) { return ${NAN}; }
  if (x == 0.0) { return -${INF}; }
  if (isinf_(x)) { return x; }
  return log(x);
}`,
  },
  {
    uses: ["sqrt_("],
    code: `fn sqrt_(x: f32) -> f32 {
  if (isnan_(x) || x < 0.0) { return ${NAN}; }
  if (isinf_(x) || x == 0.0) { return x; }
  return sqrt(x);
}`,
  },
  {
    uses: ["log1p_("],
    code: `fn log1p_(x: f32) -> f32 {
  if (isnan_(x) || x < -1.0) { return ${NAN}; }
  if (x == -1.0) { return -${INF}; }
  if (isinf_(x)) { return x; }
  let v = 1.0 + x;
  if (v == 1.0) { return x; }
  if (x > 1.0e4) { return log(v); }
  return log(v) * (x / (v - 1.0));
}`,
  },
  // Some drivers compute tanh through exp and overflow to NaN; |x| >= 10 is ±1 in f32 anyway.
  { uses: ["tanh_("], code: "fn tanh_(x: f32) -> f32 { if (isnan_(x)) { return x; } return tanh(clamp(x, -15.0, 15.0)); }" },
  // NaN propagates through max and min (JavaScript's Math.max, torch.maximum); WGSL leaves it open.
  { uses: ["max_("], code: `fn max_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return ${NAN}; } return max(a, b); }` },
  { uses: ["min_("], code: `fn min_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return ${NAN}; } return min(a, b); }` },
  { uses: ["sign_("], code: "fn sign_(x: f32) -> f32 { if (isnan_(x)) { return x; } return select(-1.0, 1.0, x >= 0.0); }" },
  { uses: ["signum_("], code: "fn signum_(x: f32) -> f32 { if (isnan_(x)) { return x; } return sign(x); }" },
  { uses: ["step_("], code: "fn step_(x: f32) -> f32 { if (isnan_(x)) { return x; } return select(0.0, 1.0, x > 0.0); }" },
  {
    uses: ["f2i_("],
    // Truncation that saturates, NaN giving 0: tsCast's `Math.max(-2^31, Math.min(2^31 - 1, trunc(x))) | 0`.
    code: `fn f2i_(x: f32) -> i32 {
  if (isnan_(x)) { return 0i; }
  if (x >= 2147483648.0) { return 2147483647i; }
  if (x <= -2147483648.0) { return -2147483647i - 1i; }
  return i32(trunc(x));
}`,
  },
  {
    uses: ["imod_("],
    // Floored modulo with x % 0 = 0 (and x % -1 = 0, where WGSL's % of -2^31 is undefined).
    code: `fn imod_(a: i32, b: i32) -> i32 {
  if (b == 0i || b == -1i) { return 0i; }
  let r = a % b;
  return select(r, r + b, r != 0i && ((r < 0i) != (b < 0i)));
}`,
  },
  {
    uses: ["pow_("],
    // JavaScript's Math.pow on the cases WGSL's pow leaves undefined (x <= 0).
    code: `fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let ax = abs(x);
  var m = pow(ax, y);
  if (ax == 0.0) { m = select(${INF}, 0.0, y > 0.0); }
  if (x >= 0.0) { return m; }
  if (floor(y) != y) { return ${NAN}; }
  return select(m, -m, y - 2.0 * floor(y * 0.5) == 1.0);
}`,
  },
  {
    uses: ["rand01_(", "rand_open01_(", "philox_word_("],
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
  { uses: ["rand_normal_(", "rand_gumbel_("], code: NORMAL_WGSL },
];

/**
 * The helpers a shader whose own text is `text` needs, in dependency order: a helper's code may
 * call others (div_ calls isnan_), so the search runs until no new helper is called. `extra`
 * helpers (a kernel's own) come first.
 */
export function helpersFor(text: string, extra: readonly WgslHelper[] = []): WgslHelper[] {
  const all = [...extra, ...wgslHelpers];
  const chosen = new Set<WgslHelper>();
  let scan = text;
  for (;;) {
    const added = all.filter((h) => !chosen.has(h) && h.uses.some((u) => scan.includes(u)));
    if (added.length === 0) break;
    added.forEach((h) => chosen.add(h));
    scan = added.map((h) => h.code).join("\n");
  }
  // WGSL resolves module-scope functions in any order; keep the table's order for stable output.
  return all.filter((h) => chosen.has(h));
}
