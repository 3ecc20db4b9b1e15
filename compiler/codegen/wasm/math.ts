/**
 * Vectorised f32x4 transcendental functions for the Wasm kernels, in the style of XNNPACK's and
 * musl's, emitted inline into a kernel's loop. Their error bounds, measured over a
 * dense grid against f64 by tests/runtime/wasm-math.test.ts, are docs/language.md's accuracy
 * contract for the Wasm back end.
 *
 * - exp: x = n·ln2 + t (n by the magic-number rounding) with a two-constant (Cody–Waite) reduction, e^t = 1 + t + t²·q(t) with q a
 *   degree-4 least-squares fit on [-ln2/2, ln2/2], scaled by 2^n in two halves so results down to
 *   the subnormals round once and overflow gives +Infinity.
 * - log, log1p: musl's logf / log1pf (fdlibm): mantissa reduced to [√2/2, √2), log(1+f) from
 *   s = f/(2+f) and a degree-8 polynomial in s; log1p keeps the rounding error of 1+x as a
 *   correction term and uses f = x itself near 0.
 * - tanh: x + x³·P(x²) (P degree 4, least squares) below 0.55, 1 − 2/(e^{2|x|} + 1) above, sign
 *   copied from x.
 * - sigmoid 1/(1 + e^−|x|) (times e^−|x| for x < 0) and softplus max(x, 0) + log1p(e^−|x|) on the above.
 */
import { V128 } from "../../../runtime/wasm/encoder.js";
import { SimdBuilder } from "./simd.js";

/** The functions approximated here. */
export const MATH_FUNCTIONS = ["exp", "log", "log1p", "tanh", "sigmoid", "softplus"] as const;
export type MathFunction = (typeof MATH_FUNCTIONS)[number];
const LOG2E = 1.4426950408889634;
/** ln 2 split so that n·LN2_HI is exact for |n| <= 255 (15 significant bits). */
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.4286068203094173e-6;
/** q(t) = (e^t − 1 − t) / t² ≈ Q0 + Q1 t + … + Q4 t⁴ on [-ln2/2, ln2/2]. */
const EXP_Q = [0.5, 0.16666576266288757, 0.04166646674275398, 0.008363175205886364, 0.0013933646259829402];
/** (tanh x − x) / x³ ≈ P0 + P1 z + … + P4 z⁴, z = x², on [0, 0.55]. */
const TANH_P = [-0.3333333134651184, 0.13333117961883545, -0.053910065442323685, 0.02131274715065956, -0.006615759804844856];
const TANH_SMALL = 0.55;
/** 1.5·2^23: adding it rounds an f32 of magnitude below 2^22 to an integer held in the low mantissa bits. */
const MAGIC = 12582912;
const MAGIC_BITS = 0x4b400000;
/** musl logf's polynomial and ln 2 split (log(1+f) = f − f²/2 + s(f²/2 + R), s = f/(2+f)). */
const LG = [0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841];
const LOG_LN2_HI = 6.9313812256e-1;
const LOG_LN2_LO = 9.0580006145e-6;

/** Horner's rule on the vector in local `x` with `coefs` (lowest degree first), left on the stack. */
function horner(f: SimdBuilder, x: number, coefs: readonly number[]): void {
  f.f32x4Const(coefs[coefs.length - 1]!);
  for (let k = coefs.length - 2; k >= 0; k--) f.get(x).v("f32x4.mul").f32x4Const(coefs[k]!).v("f32x4.add");
}

/** 2^(n) as f32 bits for the i32x4 in local `n` (|n| <= 126), left on the stack. */
function pow2(f: SimdBuilder, n: number): void {
  f.get(n).i32x4Const(127).v("i32x4.add").i32(23).v("i32x4.shl");
}

function emitExp(f: SimdBuilder, input: number): void {
  const [x, n, t, ni, n1, p] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  // Clamped so n stays in [-150, 128]; pmin/pmax with x first keep a NaN x (one instruction each).
  f.get(input).f32x4Const(89).v("f32x4.pmin").f32x4Const(-104).v("f32x4.pmax").set(x);
  // n = round(x·log2 e) by the magic-number addition (1.5·2^23), whose low bits are n itself.
  f.get(x).f32x4Const(LOG2E).v("f32x4.mul").f32x4Const(MAGIC).v("f32x4.add").tee(n);
  f.i32x4Const(MAGIC_BITS).v("i32x4.sub").set(ni);
  f.get(n).f32x4Const(MAGIC).v("f32x4.sub").set(n);
  f.get(x).get(n).f32x4Const(LN2_HI).v("f32x4.mul").v("f32x4.sub").get(n).f32x4Const(LN2_LO).v("f32x4.mul").v("f32x4.sub").set(t);
  horner(f, t, EXP_Q);
  // p = 1 + (t + t²·q)
  f.get(t).v("f32x4.mul").get(t).v("f32x4.mul").get(t).v("f32x4.add").f32x4Const(1).v("f32x4.add").set(p);
  f.get(ni).i32(1).v("i32x4.shr_s").set(n1);
  f.get(ni).get(n1).v("i32x4.sub").set(ni);
  f.get(p);
  pow2(f, n1);
  f.v("f32x4.mul");
  pow2(f, ni);
  f.v("f32x4.mul");
}

/**
 * log(1+f) − f on locals f (the reduced argument) and k (the exponent as i32x4), in musl's order:
 * s·(hfsq + R) + (k·LN2_LO + c) − hfsq + f + k·LN2_HI; `c` is a local or undefined (0).
 */
function logTail(b: SimdBuilder, fr: number, k: number, c: number | undefined): void {
  const [s, z, w, hfsq, dk] = [b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128)];
  b.get(fr).f32x4Const(2).get(fr).v("f32x4.add").v("f32x4.div").set(s);
  b.get(s).get(s).v("f32x4.mul").set(z);
  b.get(z).get(z).v("f32x4.mul").set(w);
  b.f32x4Const(0.5).get(fr).v("f32x4.mul").get(fr).v("f32x4.mul").set(hfsq);
  b.get(k).v("f32x4.convert_i32x4_s").set(dk);
  // R = z·(LG1 + w·LG3) + w·(LG2 + w·LG4)
  b.get(z).f32x4Const(LG[0]!).get(w).f32x4Const(LG[2]!).v("f32x4.mul").v("f32x4.add").v("f32x4.mul");
  b.get(w).f32x4Const(LG[1]!).get(w).f32x4Const(LG[3]!).v("f32x4.mul").v("f32x4.add").v("f32x4.mul").v("f32x4.add");
  b.get(hfsq).v("f32x4.add").get(s).v("f32x4.mul");
  b.get(dk).f32x4Const(LOG_LN2_LO).v("f32x4.mul");
  if (c !== undefined) b.get(c).v("f32x4.add");
  b.v("f32x4.add").get(hfsq).v("f32x4.sub").get(fr).v("f32x4.add");
  b.get(dk).f32x4Const(LOG_LN2_HI).v("f32x4.mul").v("f32x4.add");
}

/** Replaces the vector on the stack by `value` where the mask pushed by `mask` is set. */
function where(b: SimdBuilder, value: () => void, mask: () => void): void {
  const r = b.local(V128);
  b.set(r);
  value();
  b.get(r);
  mask();
  b.v("v128.bitselect");
}

/** Keeps x itself where x is +Infinity or NaN (log, log1p), and the special values of x <= 0 / x <= -1. */
function logSpecials(b: SimdBuilder, x: number, pole: number): void {
  where(b, () => b.f32x4Const(-Infinity), () => b.get(x).f32x4Const(pole).v("f32x4.eq"));
  where(b, () => b.f32x4Const(NaN), () => b.get(x).f32x4Const(pole).v("f32x4.lt"));
  where(b, () => b.get(x), () => b.get(x).f32x4Const(Infinity).v("f32x4.eq").get(x).get(x).v("f32x4.ne").v("v128.or"));
}

function emitLog(b: SimdBuilder, x: number): void {
  const [sub, ix, k, fr] = [b.local(V128), b.local(V128), b.local(V128), b.local(V128)];
  // Subnormals are scaled by 2^25 first (k corrected below).
  b.get(x).f32x4Const(2 ** -126).v("f32x4.lt").set(sub);
  b.get(x).f32x4Const(2 ** 25).v("f32x4.mul").get(x).get(sub).v("v128.bitselect");
  b.i32x4Const(0x3f800000 - 0x3f3504f3).v("i32x4.add").set(ix);
  b.get(ix).i32(23).v("i32x4.shr_s").i32x4Const(0x7f).v("i32x4.sub").get(sub).i32x4Const(25).v("v128.and").v("i32x4.sub").set(k);
  b.get(ix).i32x4Const(0x007fffff).v("v128.and").i32x4Const(0x3f3504f3).v("i32x4.add").f32x4Const(1).v("f32x4.sub").set(fr);
  logTail(b, fr, k, undefined);
  logSpecials(b, x, 0);
}

function emitLog1p(b: SimdBuilder, x: number): void {
  const [u, iu, k, c, fr, near] = [b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128)];
  b.get(x).f32x4Const(1).v("f32x4.add").tee(u);
  b.i32x4Const(0x3f800000 - 0x3f3504f3).v("i32x4.add").set(iu);
  b.get(iu).i32(23).v("i32x4.shr_s").i32x4Const(0x7f).v("i32x4.sub").set(k);
  // c = (k >= 2 ? 1 − (u − x) : x − (u − 1)) / u: the rounding error of u = 1 + x.
  b.f32x4Const(1).get(u).get(x).v("f32x4.sub").v("f32x4.sub");
  b.get(x).get(u).f32x4Const(1).v("f32x4.sub").v("f32x4.sub");
  b.get(k).i32x4Const(2).v("i32x4.ge_s").v("v128.bitselect").get(u).v("f32x4.div").set(c);
  // k = 0: 1 + x is already in [√2/2, √2): f = x exactly, no correction; k >= 25: c is noise.
  b.get(k).i32x4Const(0).v("i32x4.eq").set(near);
  b.get(c).get(near).get(k).i32x4Const(25).v("i32x4.ge_s").v("v128.or").v("v128.andnot").set(c);
  b.get(x);
  b.get(iu).i32x4Const(0x007fffff).v("v128.and").i32x4Const(0x3f3504f3).v("i32x4.add").f32x4Const(1).v("f32x4.sub");
  b.get(near).v("v128.bitselect").set(fr);
  logTail(b, fr, k, c);
  logSpecials(b, x, -1);
  // ±0 stays ±0 (log1p(-0) = -0).
  where(b, () => b.get(x), () => b.get(x).f32x4Const(0).v("f32x4.eq"));
}

function emitTanh(b: SimdBuilder, x: number): void {
  const [a, z, small, e] = [b.local(V128), b.local(V128), b.local(V128), b.local(V128)];
  b.get(x).v("f32x4.abs").set(a);
  b.get(a).get(a).v("f32x4.mul").set(z);
  // a + a·z·P(z)
  horner(b, z, TANH_P);
  b.get(a).v("f32x4.mul").get(z).v("f32x4.mul").get(a).v("f32x4.add").set(small);
  // 1 − 2 / (e^{2a} + 1)
  b.get(a).get(a).v("f32x4.add").set(e);
  b.f32x4Const(1).f32x4Const(2);
  emitExp(b, e);
  b.f32x4Const(1).v("f32x4.add").v("f32x4.div").v("f32x4.sub");
  where(b, () => b.get(small), () => b.get(a).f32x4Const(TANH_SMALL).v("f32x4.lt"));
  // The sign bit of x, the rest of |tanh|.
  const t = b.local(V128);
  b.set(t).get(x).get(t).i32x4Const(0x80000000 | 0).v("v128.bitselect");
}

/** 1/(1 + s) for x >= 0, s/(1 + s) below, s = e^−|x|: no overflow, subnormal results kept. */
function emitSigmoid(b: SimdBuilder, x: number): void {
  const [m, s] = [b.local(V128), b.local(V128)];
  b.get(x).v("f32x4.abs").v("f32x4.neg").set(m);
  emitExp(b, m);
  b.tee(s);
  b.f32x4Const(1).get(x).f32x4Const(0).v("f32x4.lt").v("v128.bitselect");
  b.f32x4Const(1).get(s).v("f32x4.add").v("f32x4.div");
}

function emitSoftplus(b: SimdBuilder, x: number): void {
  const [m, e] = [b.local(V128), b.local(V128)];
  b.get(x).f32x4Const(0).v("f32x4.max");
  b.get(x).v("f32x4.abs").v("f32x4.neg").set(m);
  emitExp(b, m);
  b.set(e);
  emitLog1p(b, e);
  b.v("f32x4.add");
}

const emitters: Record<MathFunction, (b: SimdBuilder, x: number) => void> = {
  exp: emitExp,
  log: emitLog,
  log1p: emitLog1p,
  tanh: emitTanh,
  sigmoid: emitSigmoid,
  softplus: emitSoftplus,
};

/**
 * Emits `f` of the vector in local `x` inline into `b` (result on the stack): inline rather than
 * called, since V8's Wasm calls spill every live vector register of the kernel around them.
 */
export function emitMath(b: SimdBuilder, f: MathFunction, x: number): void {
  emitters[f](b, x);
}

/** A standalone `(v128) -> v128` function of `f`, for tests and tools. */
export function mathFunction(f: MathFunction): SimdBuilder {
  const b = new SimdBuilder([V128], [V128]);
  emitters[f](b, 0);
  return b;
}
