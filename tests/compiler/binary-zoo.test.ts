/**
 * The binary-network estimators of std/binary beyond STE/ClippedSTE/ReSTE (ApproxSign, SwishSign,
 * EDE, RBNN, SigmoidSTE, SteHeaviside, MagnitudeAwareSign, SteTern) at chosen points — 0, the
 * clip boundaries, the point where RBNN's max(0, …) switches — against values computed by hand
 * from the published formulas. Every case runs on every back end (tests/helpers/backends.ts):
 * the f64 reference evaluator (to 1e-12), the generated module on the CPU (f32, to 1e-6 relative
 * to max(1, |expected|)) and the same module on WebGPU (f32 with WGSL's transcendental error
 * bounds, to 1e-5). The points are chosen exactly representable in f32 so every back end sees
 * the same inputs and takes the same branches.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const IMPORT = `import { ApproxSign, SwishSign, EDE, RBNN, SigmoidSTE, SteHeaviside, MagnitudeAwareSign, magnitude_aware_sign, SteTern, tern } from "std/binary"\n`;


interface Case {
  /** The body of `fn f`'s return, over `x` (and any runtime scalars in `params`). */
  src: string;
  x: number[];
  /** Shape of x: rank 1 [N] by default. */
  shape?: number[];
  /** Extra fn parameters, e.g. `, k: f32 = 10.0`. */
  params?: string;
  scalars?: Record<string, number>;
  ct?: number[];
  out: number[];
  dx: number[];
}

/** The CPU module keeps its 1e-6; WebGPU gets the f32 back ends' 1e-5. */
const tol = (b: Backend) => (b === "cpu" ? 1e-6 : tolerance(b));

/** Checks forward and vjp of `c` on every back end. */
async function check(c: Case): Promise<void> {
  const shape = c.shape ?? [c.x.length];
  const type = shape.length === 1 ? "f32[N]" : "f32[R, C]";
  const text = IMPORT + `fn f(x: ${type}${c.params ?? ""}) -> ${type} { return ${c.src} }`;
  const ct = c.ct ?? c.x.map(() => 1);
  // f32-exact inputs, so every back end sees the same numbers.
  for (const v of [...c.x, ...ct]) expect(Math.fround(v), `test point ${v} is not f32-exact`).toBe(v);

  for (const b of BACKENDS) {
    const r = await run(b, text, "f", { x: { data: c.x, shape } }, { ct: [ct], scalars: c.scalars });
    expectClose(r.outputs[0], c.out, tol(b), `${c.src}: ${b} forward`);
    expectClose(r.grads["x"], c.dx, tol(b), `${c.src}: ${b} vjp`);
  }
}

const signOf = (x: number[]) => x.map((v) => (v >= 0 ? 1 : -1)); // sign(0) = +1, sign(-0) = +1
/** A cotangent with signs and magnitudes that differ element to element. */
const ct2 = (n: number) => Array.from({ length: n }, (_, i) => [2, -1, 0.5, -3, 0.25][i % 5]!);
const times = (a: number[], b: number[]) => a.map((v, i) => v * b[i]!);

describe("ApproxSign (Bi-Real Net; Larq approx_sign): g · (2 − 2|x|) · 1[|x| <= 1]", () => {
  const x = [0, -0, 0.25, -0.25, 0.5, -0.75, 0.9375, 1, -1, 1.0078125, -2];
  // 2 − 2·0 = 2; 2 − 0.5 = 1.5; 2 − 1 = 1; 2 − 1.5 = 0.5; 2 − 1.875 = 0.125; 2 − 2 = 0 at |x| = 1; 0 beyond.
  const dx = [2, 2, 1.5, 1.5, 1, 0.5, 0.125, 0, 0, 0, 0];
  it("cotangent 1", () => check({ src: "sign x backward ApproxSign", x, out: signOf(x), dx }));
  it("a varying cotangent scales each element", () => check({ src: "sign x backward ApproxSign", x, ct: ct2(x.length), out: signOf(x), dx: times(ct2(x.length), dx) }));
});

describe("SwishSign (BNN+; Larq swish_sign): g · β(2 − βx·tanh(βx/2)) / (1 + cosh(βx))", () => {
  const x = [0, 0.125, -0.25, 0.5, -1, 3];
  it("default β = 5", () =>
    check({
      src: "sign x backward SwishSign",
      x,
      out: signOf(x),
      // x = 0: 5·2/(1 + 1) = 5.
      // x = 0.125: βx = 0.625: 5(2 − 0.625·tanh(0.3125))/(1 + cosh 0.625) = 5(2 − 0.18923…)/2.20175… = 4.11219117…
      // x = −0.25: βx = −1.25: 5(2 − 1.25·tanh(0.625))/(1 + cosh 1.25) = 5(2 − 0.69331…)/2.88842… = 2.26204740…
      // x = 0.5: βx = 2.5: 5(2 − 2.5·tanh(1.25))/(1 + cosh 2.5) = 5(2 − 2.12014…)/7.13229… = −0.08462157…
      // x = −1: βx = −5: 5(2 − 5·tanh(2.5))/(1 + cosh 5) = 5(2 − 4.93303…)/75.2099… = −0.19499225…
      // x = 3: βx = 15: 5(2 − 15·tanh(7.5))/(1 + cosh 15) = −65/1634508.7… = −3.97672…e−5
      dx: [5, 4.11219117048506, 2.2620474048075927, -0.0846215652336886, -0.194992254900325, -3.976724926258566e-5],
    }));
  it("β = 1 as a runtime option", () =>
    check({
      src: "sign x backward SwishSign(beta = b)",
      params: ", b: f32 = 5.0",
      scalars: { b: 1 },
      x: [0, 0.5, -2, 4],
      out: [1, 1, -1, 1],
      // x = 0: 1·2/2 = 1; x = 0.5: (2 − 0.5·tanh 0.25)/(1 + cosh 0.5) = 1.87754…/2.12763… = 0.88245805…
      // x = −2: (2 − 2·tanh 1)/(1 + cosh 2) = 0.47681…/4.76220… = 0.10012434…; x = 4: (2 − 4·tanh 2)/(1 + cosh 4) = −1.85601…/28.3074… = −0.06556786…
      dx: [1, 0.8824580539540573, 0.10012433738941384, -0.06556786257394857],
    }));
});

describe("EDE (IR-Net): g · k · t · (1 − tanh²(t·x))", () => {
  it("defaults k = 10, t = 0.1: 1 − tanh²(0.1x)", () =>
    check({
      src: "sign x backward EDE",
      x: [0, 1, -5, 20],
      out: [1, 1, -1, 1],
      // 1 − tanh²(0) = 1; 1 − tanh²(0.1) = 1 − 0.0099337… = 0.99006629…; 1 − tanh²(0.5) = 1 − 0.21355… = 0.78644773…;
      // 1 − tanh²(2) = 1 − 0.92934… = 0.07065082…
      dx: [1, 0.9900662908474398, 0.7864477329659274, 0.07065082485316443],
    }));
  it("k = 1, t = 2 as runtime options: 2(1 − tanh²(2x))", () =>
    check({
      src: "sign x backward EDE(k = k, t = t)",
      params: ", k: f32 = 10.0, t: f32 = 0.1",
      scalars: { k: 1, t: 2 },
      x: [0, 0.25, -0.5, 2],
      out: [1, 1, -1, 1],
      ct: [1, 1, -3, 0.5],
      // 2·1 = 2; 2(1 − tanh²(0.5)) = 2·0.78644773… = 1.57289547…; −3 · 2(1 − tanh²(1)) = −3 · 2·0.41997434… = −2.51984605…;
      // 0.5 · 2(1 − tanh²(4)) = 0.5 · 2·0.00134095… = 0.00134095…
      dx: [2, 1.5728954659318548, -3 * 0.8399486832280523, 0.5 * 0.002681901366051731],
    }));
});

describe("RBNN: g · max(0, k · (√2·t − t²·|x|))", () => {
  it("defaults k = 10, t = 0.1: √2 − 0.1|x|, switching off at |x| = √2/0.1 = 14.1421…", () =>
    check({
      src: "sign x backward RBNN",
      x: [0, -10, 14.125, -14.125, 14.1875, -20],
      out: [1, -1, 1, -1, 1, -1],
      // 10·(0.141421356… − 0) = 1.41421356…; 1.41421356… − 1 = 0.41421356…; 1.41421356… − 1.4125 = 0.00171356…;
      // 14.1875 > 14.1421…: 1.41421356… − 1.41875 < 0 → 0; 20 → 0.
      dx: [1.4142135623730954, 0.41421356237309515, 0.0017135623730951677, 0.0017135623730951677, 0, 0],
    }));
  it("k = 1, t = 2 as runtime options: max(0, 2√2 − 4|x|), switching at |x| = √2/2", () =>
    check({
      src: "sign x backward RBNN(k = k, t = t)",
      params: ", k: f32 = 10.0, t: f32 = 0.1",
      scalars: { k: 1, t: 2 },
      x: [0, 0.5, -0.6875, 0.703125, 0.71875, -1, Math.fround(Math.SQRT1_2)],
      out: [1, 1, -1, 1, 1, -1, 1],
      // 2√2 = 2.82842712…; − 2 = 0.82842712…; − 2.75 = 0.07842712…; − 2.8125 = 0.01592712…;
      // 0.71875 > 0.70710…: 2.82842712… − 2.875 < 0 → 0; −1 → 0; at the switch |x| = √2/2, rounded to f32
      // 0.70710676908493042 (just inside): 2.8284271247461903 − 2.8284270763397217 = 4.8406…e−8.
      dx: [2.8284271247461903, 0.8284271247461903, 0.07842712474619029, 0.01592712474619029, 0, 0, 4.8406468611261744e-8],
    }));
});

describe("SigmoidSTE (Bengio et al. 2013): forward sign(x), dx = g · σ(x)(1 − σ(x))", () => {
  const x = [0, -0, 1, -2, 10];
  // σ(0) = 1/2: 1/4; σ(1) = 0.73105857…: 0.73105857…·0.26894142… = 0.19661193…;
  // σ(−2) = 0.11920292…: 0.11920292…·0.88079707… = 0.10499359…; σ(10)(1 − σ(10)) = 4.5395807…e−5
  const dx = [0.25, 0.25, 0.19661193324148185, 0.1049935854035065, 4.5395807735907655e-5];
  it("cotangent 1", () => check({ src: "sign x backward SigmoidSTE", x, out: signOf(x), dx }));
  it("a varying cotangent", () => check({ src: "sign(x) backward SigmoidSTE", x, ct: ct2(x.length), out: signOf(x), dx: times(ct2(x.length), dx) }));
});

describe("SteHeaviside (Larq ste_heaviside): forward step(x) ∈ {0, 1}, dx = g · 1[|x| <= clip]", () => {
  const x = [0, -0, 0.5, -0.5, 1, -1, 1.0078125, -2];
  const out = [0, 0, 1, 0, 1, 0, 1, 0]; // step(0) = 0
  it("default clip = 1, inclusive at |x| = 1", () => check({ src: "step x backward SteHeaviside", x, ct: ct2(x.length), out, dx: times(ct2(x.length), [1, 1, 1, 1, 1, 1, 0, 0]) }));
  it("clip = 0.5 as a runtime option", () =>
    check({ src: "step(x) backward SteHeaviside(clip = c)", params: ", c: f32 = 1.0", scalars: { c: 0.5 }, x, out, dx: [1, 1, 1, 1, 0, 0, 0, 0] }));
});

describe("MagnitudeAwareSign (Bi-Real Net; Larq magnitude_aware_sign): a·sign(x), dx = a · g · 1[|x| <= clip]", () => {
  // x: 3×2, row-major [[0.5, −2], [−1, 0], [1.5, 0.25]]; a = mean |x| over axis 0:
  // column 0: (0.5 + 1 + 1.5)/3 = 1; column 1: (2 + 0 + 0.25)/3 = 0.75.
  const x = [0.5, -2, -1, 0, 1.5, 0.25];
  const out = [1, -0.75, -1, 0.75, 1, 0.75]; // a·sign(x), sign(0) = +1
  const ct = [2, -1, 0.5, -3, 0.25, 4];
  it("default clip = 1: |x| = 1 inside, 1.5 and 2 outside; the scale multiplies g", () =>
    // g·a·mask: 2·1·1, −1·0.75·0, 0.5·1·1, −3·0.75·1, 0.25·1·0, 4·0.75·1
    check({ src: "magnitude_aware_sign(x) backward MagnitudeAwareSign", shape: [3, 2], x, ct, out, dx: [2, 0, 0.5, -2.25, 0, 3] }));
  it("clip = 2 as a runtime option: every element inside", () =>
    check({
      src: "magnitude_aware_sign(x) backward MagnitudeAwareSign(clip = c)",
      params: ", c: f32 = 1.0",
      scalars: { c: 2 },
      shape: [3, 2],
      x,
      ct,
      out,
      dx: [2, -0.75, 0.5, -2.25, 0.25, 3],
    }));
  it("without the estimator the gradient is 0 (the scale is held by sg)", () =>
    check({ src: "magnitude_aware_sign(x)", shape: [3, 2], x, ct, out, dx: [0, 0, 0, 0, 0, 0] }));
});

describe("SteTern (Larq ste_tern): tern(x) = signum(signum(x + D) + signum(x − D)), dx = g · 1[|x| <= clip]", () => {
  it("default threshold 0.05, clip 1: |x| < 0.05 → 0 (not +1, though sign(0) = +1)", () => {
    const x = [0, -0, 0.03125, -0.03125, 0.0625, -0.0625, 0.5, -1, 1, 1.5, -3];
    return check({
      src: "tern(x) backward SteTern",
      shape: [1, x.length],
      x,
      ct: ct2(x.length),
      out: [0, 0, 0, 0, 1, -1, 1, -1, 1, 1, -1],
      dx: times(ct2(x.length), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
    });
  });
  it("threshold and clip as runtime options: |x| = D gives ±1, clip = 0.5 inclusive", () => {
    // D = 0.25: signum(0.5) + signum(0) = 1 → +1 at x = 0.25; −1 at −0.25; 0 at ±0.1875.
    const x = [0.25, -0.25, 0.1875, -0.1875, 0.5, -0.5, 0.625];
    return check({
      src: "tern(x, threshold = d) backward SteTern(clip = c)",
      params: ", d: f32 = 0.05, c: f32 = 1.0",
      scalars: { d: 0.25, c: 0.5 },
      shape: [1, x.length],
      x,
      out: [1, -1, 0, 0, 1, -1, 1],
      dx: [1, 1, 1, 1, 1, 1, 0],
    });
  });
});
