/**
 * The WGSL twin of runtime/normal.ts: the standard normal draw of element `i` of sampling site
 * `site` (stream-0 word for the radius, stream-1 word for the angle), statement for statement
 * the same f32 operations, so the CPU and the GPU draw the same bits.
 *
 * SPIR-V lets a driver contract `a * b + c` into a fused multiply-add and NIR may re-associate
 * floating-point expressions that are not marked exact; either changes the rounding. `rnd_`
 * (./helpers.ts) pins each rounded result, so every product and sum is rounded to f32
 * before the next operation.
 */
import { wgslLiteral } from "../expr.js";

const lit = (v: number) => wgslLiteral(v);
const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
const ATANH = [3, 5, 7, 9, 11].map((k) => lit(1 / k));
const COS = [2, 4, 6, 8, 10, 12].map((k, n) => lit((n % 2 === 0 ? -1 : 1) / fact(k)));
const SIN = [3, 5, 7, 9, 11, 13].map((k, n) => lit((n % 2 === 0 ? -1 : 1) / fact(k)));

/** Horner's rule over `coeffs` (highest last) in `x`, each step pinned: `c0 + x (c1 + x (…))`. */
function horner(coeffs: string[], x: string): string {
  let p = coeffs[coeffs.length - 1]!;
  for (let k = coeffs.length - 2; k >= 0; k--) p = `rnd_(${coeffs[k]} + rnd_(${x} * ${p}))`;
  return p;
}

export const NORMAL_WGSL = `fn recip_(d: f32) -> f32 {
  var r = bitcast<f32>(0x7ef311c3u - bitcast<u32>(d));
  for (var k = 0u; k < 4u; k++) { r = rnd_(r * rnd_(2.0 - rnd_(d * r))); }
  return r;
}
fn sqrt_exact_(v: f32) -> f32 {
  var y = bitcast<f32>(0x5f3759dfu - (bitcast<u32>(v) >> 1u));
  let h = rnd_(0.5 * v);
  for (var k = 0u; k < 4u; k++) { y = rnd_(y * rnd_(1.5 - rnd_(rnd_(h * y) * y))); }
  return rnd_(v * y);
}
fn log_open_(m: u32) -> f32 {
  return log_bits_(bitcast<u32>(f32(m)), 24i);
}
fn log_bits_(b: u32, off: i32) -> f32 {
  var e = i32(b >> 23u) - 127i - off;
  var x = bitcast<f32>((b & 0x007fffffu) | 0x3f800000u);
  if (x >= ${lit(Math.SQRT2)}) {
    x = rnd_(x * 0.5);
    e = e + 1i;
  }
  let s = rnd_(rnd_(x - 1.0) * recip_(rnd_(x + 1.0)));
  let s2 = rnd_(s * s);
  let p = ${horner(ATANH, "s2")};
  let lnx = rnd_(rnd_(2.0 * s) + rnd_(rnd_(rnd_(2.0 * s) * s2) * p));
  let fe = f32(e);
  return rnd_(rnd_(fe * 0.693145751953125) + rnd_(lnx + rnd_(fe * ${lit(Math.LN2 - 0.693145751953125)})));
}
fn cos_half_pi_(a: f32) -> f32 {
  let t2 = rnd_(rnd_(a * a) * ${lit((Math.PI / 2) ** 2)});
  let p = ${horner(COS, "t2")};
  return rnd_(1.0 + rnd_(t2 * p));
}
fn sin_half_pi_(a: f32) -> f32 {
  let t = rnd_(a * ${lit(Math.PI / 2)});
  let t2 = rnd_(t * t);
  let p = ${horner(SIN, "t2")};
  return rnd_(t + rnd_(rnd_(t * t2) * p));
}
fn cos_turn_(k: u32) -> f32 {
  let q = k >> 22u;
  let r = k & 0x3fffffu;
  let upper = r >= 0x200000u;
  let t = f32(r) * 0x1p-22f;
  let a = select(t, rnd_(1.0 - t), upper);
  let use_sin = ((q & 1u) == 1u) != upper;
  let v = select(cos_half_pi_(a), sin_half_pi_(a), use_sin);
  return select(v, -v, q == 1u || q == 2u);
}
fn rand_gumbel_(i: u32, site: u32) -> f32 {
  let lnu = log_open_(2u * (philox_word_(i, site, 0u) >> 9u) + 1u);
  return -log_bits_(bitcast<u32>(-lnu), 0i);
}
fn rand_normal_(i: u32, site: u32) -> f32 {
  let m = 2u * (philox_word_(i, site, 0u) >> 9u) + 1u;
  let radius = sqrt_exact_(rnd_(-2.0 * log_open_(m)));
  return rnd_(radius * cos_turn_(philox_word_(i, site, 1u) >> 8u));
}`;
