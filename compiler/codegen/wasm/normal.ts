/**
 * The f32x4 twin of runtime/normal.ts (and of ../wgsl/normal.ts): the standard normal and Gumbel
 * draws of Philox words, statement for statement the same f32 operations. Wasm's f32 `+ − ×` are
 * correctly rounded and never contracted into a fused multiply-add (only the relaxed-SIMD
 * proposal has one, and it is never emitted), and an f32 op gives what `Math.fround` of the f64
 * op gives, so every lane is bit-identical to the TS kernel's draw. Change all three or none.
 *
 * Branches of the scalar code become both arms and a `bitselect`: the x ≥ √2 halving of the log,
 * the quadrant and the cosine-or-sine choice of cos(2π u2).
 */
import { V128 } from "../../../runtime/wasm/encoder.js";
import type { SimdBuilder } from "./simd.js";

const f = Math.fround;
const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
/** runtime/normal.ts's constants, each the f32 it rounds to. */
const LN2_HI = 0.693145751953125;
const LN2_LO = f(Math.LN2 - LN2_HI);
const ATANH = [3, 5, 7, 9, 11].map((k) => f(1 / k));
const COS = [2, 4, 6, 8, 10, 12].map((k, n) => f((n % 2 === 0 ? -1 : 1) / factorial(k)));
const SIN = [3, 5, 7, 9, 11, 13].map((k, n) => f((n % 2 === 0 ? -1 : 1) / factorial(k)));

/** `p = c[last]; p = c[k] + x·p` down to k = 0, each step rounded: left on the stack. */
function horner(b: SimdBuilder, x: number, coeffs: readonly number[]): void {
  b.f32x4Const(coeffs[coeffs.length - 1]!);
  for (let k = coeffs.length - 2; k >= 0; k--) {
    const p = b.local(V128);
    b.set(p).f32x4Const(coeffs[k]!).get(x).get(p).v("f32x4.mul").v("f32x4.add");
  }
}

/** 1/d for d in [1.7, 2.5): four Newton steps from the bit-pattern seed 0x7ef311c3 − bits(d). */
function reciprocal(b: SimdBuilder, d: number): void {
  const r = b.local(V128);
  b.i32x4Const(0x7ef311c3).get(d).v("i32x4.sub").set(r);
  for (let k = 0; k < 4; k++) b.get(r).f32x4Const(2).get(d).get(r).v("f32x4.mul").v("f32x4.sub").v("f32x4.mul").set(r);
  b.get(r);
}

/** √v for v > 0: 1/√v by four Newton steps from 0x5f3759df − (bits(v) >> 1), times v. */
function squareRoot(b: SimdBuilder, v: number): void {
  const [y, h] = [b.local(V128), b.local(V128)];
  b.i32x4Const(0x5f3759df).get(v).i32(1).v("i32x4.shr_u").v("i32x4.sub").set(y);
  b.f32x4Const(0.5).get(v).v("f32x4.mul").set(h);
  for (let k = 0; k < 4; k++) b.get(y).f32x4Const(1.5).get(h).get(y).v("f32x4.mul").get(y).v("f32x4.mul").v("f32x4.sub").v("f32x4.mul").set(y);
  b.get(v).get(y).v("f32x4.mul");
}

/** ln(v · 2^-offset) for the positive normal f32s v whose bits are in local `bits`. */
function logOfBits(b: SimdBuilder, bits: number, offset: number): void {
  const [e, x, big, s, s2, twoS, fe] = [b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128)];
  b.get(bits).i32(23).v("i32x4.shr_u").i32x4Const(127 + offset).v("i32x4.sub").set(e);
  b.get(bits).i32x4Const(0x007fffff).v("v128.and").i32x4Const(0x3f800000).v("v128.or").set(x);
  // x >= √2: x/2 (exact) and e + 1 (the mask is −1).
  b.get(x).f32x4Const(Math.SQRT2).v("f32x4.ge").set(big);
  b.get(x).f32x4Const(0.5).v("f32x4.mul").get(x).get(big).v("v128.bitselect").set(x);
  b.get(e).get(big).v("i32x4.sub").set(e);
  // s = (x − 1) · 1/(x + 1)
  const d = b.local(V128);
  b.get(x).f32x4Const(1).v("f32x4.add").set(d);
  b.get(x).f32x4Const(1).v("f32x4.sub");
  reciprocal(b, d);
  b.v("f32x4.mul").set(s);
  b.get(s).get(s).v("f32x4.mul").set(s2);
  horner(b, s2, ATANH);
  const p = b.local(V128);
  b.set(p);
  // ln x = 2s + ((2s)·s²)·p
  b.f32x4Const(2).get(s).v("f32x4.mul").set(twoS);
  b.get(twoS).get(twoS).get(s2).v("f32x4.mul").get(p).v("f32x4.mul").v("f32x4.add");
  const lnx = b.local(V128);
  b.set(lnx);
  // e·LN2_HI + (ln x + e·LN2_LO); e is a small integer, exact in f32.
  b.get(e).v("f32x4.convert_i32x4_s").set(fe);
  b.get(fe).f32x4Const(LN2_HI).v("f32x4.mul");
  b.get(lnx).get(fe).f32x4Const(LN2_LO).v("f32x4.mul").v("f32x4.add").v("f32x4.add");
}

/** ln u1 for u1 = m · 2^-24 with m (i32 lanes in local `m`) odd in [1, 2^24): f32(m) is exact. */
function logOfOpen(b: SimdBuilder, m: number): void {
  const bits = b.local(V128);
  b.get(m).v("f32x4.convert_i32x4_s").set(bits);
  logOfBits(b, bits, 24);
}

/** m = 2·(w >>> 9) + 1, the odd numerator of uniformOpen01(w) in units of 2^-24, into a new local. */
function openNumerator(b: SimdBuilder, w: number): number {
  const m = b.local(V128);
  b.get(w).i32(9).v("i32x4.shr_u").i32(1).v("i32x4.shl").i32x4Const(1).v("v128.or").set(m);
  return m;
}

/** cos(2π · k · 2^-24) for the 24-bit k in local `k`: quadrant from the top two bits, then a ∈ [0, 0.5]. */
function cosTurn(b: SimdBuilder, k: number): void {
  const [q, r, upper, a, t2, t, cos, sin, useSin] = Array.from({ length: 9 }, () => b.local(V128));
  b.get(k).i32(22).v("i32x4.shr_u").set(q);
  b.get(k).i32x4Const(0x3fffff).v("v128.and").set(r);
  b.get(r).i32x4Const(0x1fffff).v("i32x4.gt_s").set(upper);
  b.get(r).v("f32x4.convert_i32x4_s").f32x4Const(2 ** -22).v("f32x4.mul").set(t);
  b.f32x4Const(1).get(t).v("f32x4.sub").get(t).get(upper).v("v128.bitselect").set(a);
  // cos(a·π/2) = 1 + t2·P(t2), t2 = a²·(π/2)²
  b.get(a).get(a).v("f32x4.mul").f32x4Const((Math.PI / 2) ** 2).v("f32x4.mul").set(t2);
  horner(b, t2, COS);
  b.set(cos).f32x4Const(1).get(t2).get(cos).v("f32x4.mul").v("f32x4.add").set(cos);
  // sin(a·π/2) = θ + θ·θ²·P(θ²), θ = a·π/2
  const [th, th2] = [b.local(V128), b.local(V128)];
  b.get(a).f32x4Const(Math.PI / 2).v("f32x4.mul").set(th);
  b.get(th).get(th).v("f32x4.mul").set(th2);
  horner(b, th2, SIN);
  b.set(sin).get(th).get(th).get(th2).v("f32x4.mul").get(sin).v("f32x4.mul").v("f32x4.add").set(sin);
  // The sine where (q odd) differs from `upper`; negated in quadrants 1 and 2.
  b.get(q).i32x4Const(1).v("v128.and").i32x4Const(1).v("i32x4.eq").get(upper).v("v128.xor").set(useSin);
  b.get(sin).get(cos).get(useSin).v("v128.bitselect").set(cos);
  b.get(cos).v("f32x4.neg").get(cos);
  b.get(q).i32x4Const(1).v("i32x4.eq").get(q).i32x4Const(2).v("i32x4.eq").v("v128.or").v("v128.bitselect");
}

/**
 * Pushes the standard normal draws of the stream-0 words in local `w1` and the stream-1 words in
 * `w2`: sqrt(−2 ln u1) · cos(2π u2) with u1 = uniformOpen01(w1), u2 = uniform01(w2).
 */
export function emitNormal(b: SimdBuilder, w1: number, w2: number): void {
  const m = openNumerator(b, w1);
  const [v, k, radius] = [b.local(V128), b.local(V128), b.local(V128)];
  b.f32x4Const(-2);
  logOfOpen(b, m);
  b.v("f32x4.mul").set(v);
  squareRoot(b, v);
  b.set(radius);
  b.get(w2).i32(8).v("i32x4.shr_u").set(k);
  b.get(radius);
  cosTurn(b, k);
  b.v("f32x4.mul");
}

/** Pushes the standard Gumbel draws −ln(−ln u), u = uniformOpen01(w), of the words in local `w`. */
export function emitGumbel(b: SimdBuilder, w: number): void {
  const m = openNumerator(b, w);
  const minusLnU = b.local(V128);
  logOfOpen(b, m);
  b.v("f32x4.neg").set(minusLnU);
  logOfBits(b, minusLnU, 0);
  b.v("f32x4.neg");
}
