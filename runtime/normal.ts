/**
 * The standard normal sample of two Philox words, computed in f32 with operations whose result
 * every back end agrees on bit for bit: integer and bit operations, and f32 `+ - *` (correctly
 * rounded in IEEE, in JavaScript through `Math.fround`, and in WGSL). No `log`, `cos`, `sqrt` or
 * `/`: WGSL gives those only within a few ulps, so the CPU and GPU draws would differ. The WGSL
 * twin is compiler/codegen/wgsl/normal.ts and the Wasm twin compiler/codegen/wasm/normal.ts,
 * statement for statement; change all three or none.
 *
 * Box–Muller, cosine branch: z = sqrt(-2 ln u1) · cos(2π u2) with
 * - u1 = (2·(w1 >>> 9) + 1) · 2^-24 in (0, 1), the same u1 as `uniformOpen01(w1)`;
 * - u2 = (w2 >>> 8) · 2^-24 in [0, 1), `uniform01(w2)`.
 *
 * ln u1 = e·ln 2 + ln x with x in [√½, √2) taken from u1's bits, ln x = 2 atanh(s) with
 * s = (x − 1)/(x + 1), |s| < 0.172, by its series to s¹¹ (error < 3e-10); the reciprocal of x + 1
 * and the square root are Newton iterations from a bit-pattern seed; cos(2π u2) is reduced
 * exactly to an angle in [0, π/4] whose cosine or sine is its Taylor polynomial (error < 2e-10).
 * Each draw is within 2e-6 (relative, measured over 2^20 draws) of the f64 Box–Muller of the
 * same u1 and u2.
 */

const f = Math.fround;
const scratch = new DataView(new ArrayBuffer(4));

function bitsOf(x: number): number {
  scratch.setFloat32(0, x);
  return scratch.getUint32(0);
}

function fromBits(b: number): number {
  scratch.setUint32(0, b >>> 0);
  return scratch.getFloat32(0);
}

/** f32 constants, each written as the f32 it rounds to (the WGSL literals are the same values). */
const LN2_HI = 0.693145751953125; // ln 2 to 16 bits: e · LN2_HI is exact for |e| < 2^8
const LN2_LO = f(Math.LN2 - LN2_HI);
const SQRT2 = f(Math.SQRT2);
const HALF_PI = f(Math.PI / 2);
const HALF_PI2 = f((Math.PI / 2) ** 2);
/** 1/3, 1/5, …, 1/11: the atanh series' coefficients. */
const ATANH = [3, 5, 7, 9, 11].map((k) => f(1 / k));
/** (−1)^n / (2n)! and (−1)^n / (2n + 1)! for n = 1…6, in powers of θ² = (π/2 · a)². */
const COS = [2, 4, 6, 8, 10, 12].map((k, n) => f((n % 2 === 0 ? -1 : 1) / factorial(k)));
const SIN = [3, 5, 7, 9, 11, 13].map((k, n) => f((n % 2 === 0 ? -1 : 1) / factorial(k)));

function factorial(k: number): number {
  let p = 1;
  for (let i = 2; i <= k; i++) p *= i;
  return p;
}

/** 1/d for d in [1.7, 2.5), four Newton steps from a bit-pattern seed. */
function reciprocal(d: number): number {
  let r = fromBits(0x7ef311c3 - bitsOf(d));
  for (let k = 0; k < 4; k++) r = f(r * f(2 - f(d * r)));
  return r;
}

/** √v for v > 0 in f32: 1/√v by four Newton steps from the bit-pattern seed, times v. */
function squareRoot(v: number): number {
  let y = fromBits(0x5f3759df - (bitsOf(v) >>> 1));
  const h = f(0.5 * v);
  for (let k = 0; k < 4; k++) y = f(y * f(1.5 - f(f(h * y) * y)));
  return f(v * y);
}

/** ln u1 for u1 = m · 2^-24, m odd in [1, 2^24): from the bits of f32(m), which is exact. */
function logOfOpen(m: number): number {
  return logOfBits(bitsOf(m), 24);
}

/** ln(v · 2^-offset) for the positive normal f32 v whose bits are `b`. */
function logOfBits(b: number, offset: number): number {
  let e = (b >>> 23) - 127 - offset;
  let x = fromBits((b & 0x007fffff) | 0x3f800000);
  if (x >= SQRT2) {
    x = f(x * 0.5);
    e += 1;
  }
  const s = f(f(x - 1) * reciprocal(f(x + 1)));
  const s2 = f(s * s);
  let p = ATANH[4]!;
  for (let k = 3; k >= 0; k--) p = f(ATANH[k]! + f(s2 * p));
  const lnx = f(f(2 * s) + f(f(f(2 * s) * s2) * p));
  return f(f(e * LN2_HI) + f(lnx + f(e * LN2_LO)));
}

/** cos(a·π/2) and sin(a·π/2) for a in [0, 0.5], by Taylor polynomials in θ². */
function cosHalfPi(a: number): number {
  const t2 = f(f(a * a) * HALF_PI2);
  let p = COS[5]!;
  for (let k = 4; k >= 0; k--) p = f(COS[k]! + f(t2 * p));
  return f(1 + f(t2 * p));
}

function sinHalfPi(a: number): number {
  const t = f(a * HALF_PI);
  const t2 = f(t * t);
  let p = SIN[5]!;
  for (let k = 4; k >= 0; k--) p = f(SIN[k]! + f(t2 * p));
  return f(t + f(f(t * t2) * p));
}

/** cos(2π · k · 2^-24) for a 24-bit k: quadrant from the top two bits, then a ∈ [0, 0.5]. */
function cosTurn(k: number): number {
  const q = k >>> 22;
  const r = k & 0x3fffff;
  const upper = r >= 0x200000;
  const t = f(r * 2 ** -22);
  const a = upper ? f(1 - t) : t;
  const useSin = (q & 1) === 1 !== upper;
  const v = useSin ? sinHalfPi(a) : cosHalfPi(a);
  return q === 1 || q === 2 ? -v : v;
}

/**
 * The standard Gumbel draw of stream-0 word `w`: −ln(−ln u) with u = uniformOpen01(w), both logs
 * by the same f32 routine, so it is the same bits on every back end too.
 */
export function gumbelFromWord(w: number): number {
  const lnu = logOfOpen(2 * (w >>> 9) + 1);
  return -logOfBits(bitsOf(-lnu), 0);
}

/** The standard normal draw of stream-0 word `w1` and stream-1 word `w2` (see the module comment). */
export function normalFromWords(w1: number, w2: number): number {
  const m = 2 * (w1 >>> 9) + 1;
  const radius = squareRoot(f(-2 * logOfOpen(m)));
  return f(radius * cosTurn(w2 >>> 8));
}
