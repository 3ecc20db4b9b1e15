/**
 * std/binary and std/quant on rank-4 tensors, now that their fns are rank-generic: convolution
 * weights f32[O, C, KH, KW] (per-output-channel scale for the magnitude-aware sign of Bi-Real
 * Net's code and XNOR-Net), channels-last activations f32[B, H, W, C] (Larq's per-last-axis
 * scale), and the per-tensor quantizers (DoReFa, LSQ, PACT, ternarisation) at rank 4. Each case
 * runs on every back end (f64 reference, CPU, WebGPU) against the paper's formula evaluated here
 * element by element; then the estimators' gradients are checked against central differences
 * of the smooth function each one differentiates (its surrogate), in f64, at rank 4.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";
import { compileFn } from "../helpers/compile.js";
import { evalVjp, rng } from "../helpers/gradcheck.js";

const IMPORTS = `import { magnitude_aware_sign, MagnitudeAwareSign, magnitude_aware_sign_oihw, MagnitudeAwareSignOIHW, tern, SteTern } from "std/binary"
import { quantize_k, dorefa_act, dorefa_weight, lsq, LSQ, pact, PACT } from "std/quant"
`;

const tol = (b: Backend) => (b === "cpu" ? 1e-5 : tolerance(b));
const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

/** f32-exact points: multiples of 1/16 in [-span, span], none exactly 0 unless allowed. */
function points(n: number, seed: number, span = 1.5): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.round((r() * 2 - 1) * span * 16) / 16 || 0.0625);
}

/** Round half to even, as estc's round. */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

const sgn = (v: number) => (v >= 0 ? 1 : -1);

/** Checks `return src` of an fn over `x` of `shape` on every back end. */
async function check(src: string, shape: number[], x: number[], ct: number[], want: { out: number[]; dx: number[] }, extra: { param?: string; scalars?: Record<string, number>; grads?: Record<string, number[]>; inputs?: Record<string, { data: number[]; shape: number[] }> } = {}): Promise<void> {
  const type = "f32[N, C, H, W]";
  const text = IMPORTS + `fn f(x: ${type}${extra.param ?? ""}) -> ${type} { return ${src} }`;
  for (const b of BACKENDS) {
    const r = await run(b, text, "f", { x: { data: x, shape }, ...extra.inputs }, { ct: [ct], scalars: extra.scalars });
    expectClose(r.outputs[0], want.out, tol(b), `${src}: ${b} forward`);
    expectClose(r.grads["x"], want.dx, tol(b), `${src}: ${b} vjp of x`);
    for (const [k, g] of Object.entries(extra.grads ?? {})) expectClose(r.grads[k], g, tol(b), `${src}: ${b} vjp of ${k}`);
  }
}

describe("magnitude-aware sign at rank 4", () => {
  it("magnitude_aware_sign_oihw: a conv weight [O, C, KH, KW], one scale per output channel (axis 0)", async () => {
    const shape = [3, 2, 2, 2];
    const w = points(size(shape), 1);
    const ct = points(w.length, 2);
    const per = w.length / shape[0]!;
    const a = Array.from({ length: shape[0]! }, (_, o) => w.slice(o * per, (o + 1) * per).reduce((s, v) => s + Math.abs(v), 0) / per);
    const out = w.map((v, i) => a[Math.floor(i / per)]! * sgn(v));
    const dx = w.map((v, i) => (Math.abs(v) <= 1 ? ct[i]! * a[Math.floor(i / per)]! : 0));
    expect(new Set(a).size, "three different channel scales").toBe(3);
    await check("magnitude_aware_sign_oihw(x) backward MagnitudeAwareSignOIHW", shape, w, ct, { out, dx });
  });
  it("magnitude_aware_sign: channels-last activations [B, H, W, C], one scale per channel (the last axis), clip 0.5", async () => {
    const shape = [2, 2, 2, 3];
    const x = points(size(shape), 3);
    const ct = points(x.length, 4);
    const C = shape[3]!;
    const n = x.length / C;
    const a = Array.from({ length: C }, (_, c) => x.filter((_, i) => i % C === c).reduce((s, v) => s + Math.abs(v), 0) / n);
    const out = x.map((v, i) => a[i % C]! * sgn(v));
    const dx = x.map((v, i) => (Math.abs(v) <= 0.5 ? ct[i]! * a[i % C]! : 0));
    await check("magnitude_aware_sign(x) backward MagnitudeAwareSign(clip = 0.5)", shape, x, ct, { out, dx });
  });
});

describe("the per-tensor quantizers at rank 4", () => {
  const shape = [2, 3, 2, 2];
  const x = points(size(shape), 5);
  const ct = points(x.length, 6);
  it("tern with SteTern: +1 for x >= D, 0 for |x| < D, −1 for x <= −D; dx = g · 1[|x| <= 1]", () => {
    const D = 0.25;
    const out = x.map((v) => (v >= D ? 1 : v <= -D ? -1 : 0));
    return check("tern(x, threshold = 0.25) backward SteTern", shape, x, ct, { out, dx: x.map((v, i) => (Math.abs(v) <= 1 ? ct[i]! : 0)) });
  });
  it("quantize_k (k = 3): round(7r)/7, dr = g", () =>
    check("quantize_k(x, k = 3)", shape, x, ct, { out: x.map((v) => roundEven(7 * v) / 7), dx: ct }));
  it("dorefa_act (k = 2): quantize_k(clamp(x, 0, 1)), dx = g · 1[0 <= x <= 1]", () =>
    check("dorefa_act(x)", shape, x, ct, { out: x.map((v) => roundEven(3 * Math.min(Math.max(v, 0), 1)) / 3), dx: x.map((v, i) => (v >= 0 && v <= 1 ? ct[i]! : 0)) }));
  it("dorefa_weight (k = 2): m = max |tanh w| over the whole tensor, m not held constant", async () => {
    // Distinct magnitudes, so the max is unique, and no 3r within 1e-3 of a rounding tie.
    const w = x.map((v, i) => v + (i + 1) / 1024);
    const t = w.map(Math.tanh);
    const m = Math.max(...t.map(Math.abs));
    const r = t.map((v) => (3 * (v / (2 * m) + 0.5)));
    for (const v of r) expect(Math.abs(v - Math.floor(v) - 0.5)).toBeGreaterThan(1e-3);
    const out = r.map((v) => (2 * roundEven(v)) / 3 - 1);
    const dot = t.reduce((s, v, i) => s + ct[i]! * v, 0);
    const top = t.map((v) => (Math.abs(v) === m ? 1 : 0));
    const dx = t.map((v, i) => (ct[i]! * (1 - v * v)) / m - (dot / (m * m)) * Math.sign(v) * (1 - v * v) * top[i]!);
    await check("dorefa_weight(x)", shape, w, ct, { out, dx });
  });
  it("lsq with LSQ (4 bits, symmetric): dv = g · 1[−7 < v/s < 7], ds = Σ g·(…) / sqrt(N · 7), N = all 24 elements", async () => {
    const s = 0.125;
    const v = x.map((e) => e * 0.75);
    const q = v.map((e) => e / s);
    const out = q.map((e) => roundEven(Math.min(Math.max(e, -7), 7)) * s);
    const dv = q.map((e, i) => (e > -7 && e < 7 ? ct[i]! : 0));
    const ds = q.reduce((acc, e, i) => acc + ct[i]! * (e <= -7 ? -7 : e >= 7 ? 7 : roundEven(e) - e), 0) / Math.sqrt(v.length * 7);
    expect(q.some((e) => e <= -7) && q.some((e) => e >= 7), "points on both clipped sides").toBe(true);
    await check("lsq(x, s) backward LSQ", shape, v, ct, { out, dx: dv }, { param: ", s: f32[]", inputs: { s: { data: [s], shape: [] } }, grads: { s: [ds] } });
  });
  it("pact with PACT (4 bits): dx = g · 1[0 <= x < alpha], dalpha = Σ g · 1[x >= alpha]", async () => {
    const alpha = 0.75;
    const out = x.map((e) => (roundEven((Math.min(Math.max(e, 0), alpha) * 15) / alpha) * alpha) / 15);
    const dx = x.map((e, i) => (e >= 0 && e < alpha ? ct[i]! : 0));
    const da = x.reduce((acc, e, i) => acc + (e >= alpha ? ct[i]! : 0), 0);
    await check("pact(x, alpha) backward PACT", shape, x, ct, { out, dx }, { param: ", alpha: f32[]", inputs: { alpha: { data: [alpha], shape: [] } }, grads: { alpha: [da] } });
  });
});

/**
 * The estimator's vjp (f64) against central differences of the smooth function whose derivative
 * it is, in a random direction, at rank 4 (points away from the kinks).
 */
function surrogateCheck(estimated: string, smooth: string, shape: number[], x: number[], held?: { param: string; data: number[] }): void {
  const type = "f32[N, C, H, W]";
  const fn = (src: string, param = "") => compileFn(IMPORTS + `fn f(x: ${type}${param}) -> ${type} { return ${src} }`, "f");
  const dims = { N: shape[0]!, C: shape[1]!, H: shape[2]!, W: shape[3]! };
  const r = rng(99);
  const ct = x.map(() => r() * 2 - 1);
  const dir = x.map(() => r() * 2 - 1);
  const analytic = evalVjp(fn(estimated), { x }, [ct], { dims }).grads["x"]!.reduce((s, g, i) => s + g * dir[i]!, 0);
  const h = 1e-6;
  // A statistic the estimator holds constant (sg) is an input of the smooth function, fixed at x.
  const smoothFn = fn(smooth, held === undefined ? "" : `, ${held.param}`);
  const at = (sign: number) => evalVjp(smoothFn, { x: x.map((v, i) => v + sign * h * dir[i]!), ...(held === undefined ? {} : { a: held.data }) }, undefined, { dims }).outputs[0]!;
  const plus = at(1);
  const minus = at(-1);
  const numeric = ct.reduce((s, c, i) => s + (c * (plus[i]! - minus[i]!)) / (2 * h), 0);
  expect(Math.abs(analytic - numeric), `${estimated}: ${analytic} vs ${numeric}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
}

describe("gradchecks at rank 4 against each estimator's smooth function", () => {
  const shape = [2, 3, 2, 2];
  // Away from |x| = 1 and 0, the kinks of the clipped identity.
  const x = points(size(shape), 7).map((v) => (Math.abs(Math.abs(v) - 1) < 0.05 ? v * 0.9 : v));
  it("MagnitudeAwareSignOIHW: the derivative of a · clamp(w, −1, 1), a the per-output-channel mean |w| held constant", () => {
    const per = x.length / shape[0]!;
    const a = Array.from({ length: shape[0]! }, (_, o) => x.slice(o * per, (o + 1) * per).reduce((s, v) => s + Math.abs(v), 0) / per);
    surrogateCheck("magnitude_aware_sign_oihw(x) backward MagnitudeAwareSignOIHW", "a * clamp(x, -1, 1)", shape, x, { param: "a: f32[N, 1, 1, 1]", data: a });
  });
  it("MagnitudeAwareSign: the derivative of a · clamp(x, −1, 1), a the per-last-axis mean |x| held constant", () => {
    const W = shape[3]!;
    const a = Array.from({ length: W }, (_, c) => x.filter((_, i) => i % W === c).reduce((s, v) => s + Math.abs(v), 0) / (x.length / W));
    surrogateCheck("magnitude_aware_sign(x) backward MagnitudeAwareSign", "a * clamp(x, -1, 1)", shape, x, { param: "a: f32[W]", data: a });
  });
  it("dorefa_weight: the derivative of tanh(w) / max |tanh w| (round as the identity, m not held)", () =>
    surrogateCheck("dorefa_weight(x)", "tanh(x) / max(abs(tanh(x)))", shape, x.map((v, i) => v + (i + 1) / 1024)));
  it("dorefa_act: the derivative of clamp(x, 0, 1)", () => surrogateCheck("dorefa_act(x)", "clamp(x, 0, 1)", shape, x.map((v) => (Math.abs(v) < 0.05 ? 0.3 : v))));
});
