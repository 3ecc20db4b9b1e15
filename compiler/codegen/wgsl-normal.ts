/**
 * The WGSL twin of runtime/normal.ts: the standard normal draw of element `i` of sampling site
 * `site` (stream-0 word for the radius, stream-1 word for the angle), statement for statement
 * the same f32 operations, so the CPU and the GPU draw the same bits.
 *
 * SPIR-V lets a driver contract `a * b + c` into a fused multiply-add and NIR may re-associate
 * floating-point expressions that are not marked exact; either changes the rounding. `r_` pins
 * each rounded result: it XORs the bits with `u.seed.w`, which the runtime always sets to 0 but
 * no compiler can know, so every product and sum is rounded to f32 before the next operation.
 */
import { wgslLiteral } from "./expr.js";

const lit = (v: number) => wgslLiteral(v);
const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
const ATANH = [3, 5, 7, 9, 11].map((k) => lit(1 / k));
const COS = [2, 4, 6, 8, 10, 12].map((k, n) => lit((n % 2 === 0 ? -1 : 1) / fact(k)));
const SIN = [3, 5, 7, 9, 11, 13].map((k, n) => lit((n % 2 === 0 ? -1 : 1) / fact(k)));

/** Horner's rule over `coeffs` (highest last) in `x`, each step pinned: `c0 + x (c1 + x (…))`. */
function horner(coeffs: string[], x: string): string {
  let p = coeffs[coeffs.length - 1]!;
  for (let k = coeffs.length - 2; k >= 0; k--) p = `r_(${coeffs[k]} + r_(${x} * ${p}))`;
  return p;
}

export const NORMAL_WGSL = `fn r_(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ u.seed.w); }
fn recip_(d: f32) -> f32 {
  var r = bitcast<f32>(0x7ef311c3u - bitcast<u32>(d));
  for (var k = 0u; k < 4u; k++) { r = r_(r * r_(2.0 - r_(d * r))); }
  return r;
}
fn sqrt_exact_(v: f32) -> f32 {
  var y = bitcast<f32>(0x5f3759dfu - (bitcast<u32>(v) >> 1u));
  let h = r_(0.5 * v);
  for (var k = 0u; k < 4u; k++) { y = r_(y * r_(1.5 - r_(r_(h * y) * y))); }
  return r_(v * y);
}
fn log_open_(m: u32) -> f32 {
  let b = bitcast<u32>(f32(m));
  var e = i32(b >> 23u) - 151i;
  var x = bitcast<f32>((b & 0x007fffffu) | 0x3f800000u);
  if (x >= ${lit(Math.SQRT2)}) {
    x = r_(x * 0.5);
    e = e + 1i;
  }
  let s = r_(r_(x - 1.0) * recip_(r_(x + 1.0)));
  let s2 = r_(s * s);
  let p = ${horner(ATANH, "s2")};
  let lnx = r_(r_(2.0 * s) + r_(r_(r_(2.0 * s) * s2) * p));
  let fe = f32(e);
  return r_(r_(fe * 0.693145751953125) + r_(lnx + r_(fe * ${lit(Math.LN2 - 0.693145751953125)})));
}
fn cos_half_pi_(a: f32) -> f32 {
  let t2 = r_(r_(a * a) * ${lit((Math.PI / 2) ** 2)});
  let p = ${horner(COS, "t2")};
  return r_(1.0 + r_(t2 * p));
}
fn sin_half_pi_(a: f32) -> f32 {
  let t = r_(a * ${lit(Math.PI / 2)});
  let t2 = r_(t * t);
  let p = ${horner(SIN, "t2")};
  return r_(t + r_(r_(t * t2) * p));
}
fn cos_turn_(k: u32) -> f32 {
  let q = k >> 22u;
  let r = k & 0x3fffffu;
  let upper = r >= 0x200000u;
  let t = f32(r) * 0x1p-22f;
  let a = select(t, r_(1.0 - t), upper);
  let use_sin = ((q & 1u) == 1u) != upper;
  let v = select(cos_half_pi_(a), sin_half_pi_(a), use_sin);
  return select(v, -v, q == 1u || q == 2u);
}
fn rand_normal_(i: u32, site: u32) -> f32 {
  let m = 2u * (philox_word_(i, site, 0u) >> 9u) + 1u;
  let radius = sqrt_exact_(r_(-2.0 * log_open_(m)));
  return r_(radius * cos_turn_(philox_word_(i, site, 1u) >> 8u));
}`;
