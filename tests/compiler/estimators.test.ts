/**
 * Estimators attached with `backward`: std/binary's STE, ClippedSTE and ReSTE at chosen points
 * (boundaries included) against values computed by hand from the published formulas, and the
 * forms of an estimator body (surrogate, diff, parameter defaults, out, fn targets) and sg/detach.
 * Every case runs on every back end (tests/helpers/backends.ts): the f64 reference interpreter
 * (exactly where the expectation is exact, else to 1e-12 or the stated tolerance), the generated
 * module on the CPU and on WebGPU (f32, to 1e-5 relative to max(1, |expected|)). Points that are
 * not f32-exact (1.0001, 0.0999, …) stay on the same side of every boundary after rounding.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend, type RunResult } from "../helpers/backends.js";
import { compileFn } from "../helpers/compile.js";
import { expectClose } from "../helpers/expect.js";

/**
 * Checks `got` from back end `b` against `want`: on f64 exactly (toEqual) when `f64Tol` is 0,
 * else to `f64Tol`; on the f32 back ends to their tolerance.
 */
function expectOn(b: Backend, got: number[] | undefined, want: number[], f64Tol = 1e-12, what = ""): void {
  if (b === "f64" && f64Tol === 0) expect(got, `${b} ${what}`).toEqual(want);
  else expectClose(got, want, b === "f64" ? f64Tol : tolerance(b), `${b} ${what}`);
}

/** Runs fn `name` of `src` on every back end: 1-D inputs by name (or with a shape), one cotangent. */
async function onAll(
  src: string,
  name: string,
  inputs: Record<string, number[] | { data: number[]; shape: number[] }>,
  ct?: number[],
  scalars?: Record<string, number>,
): Promise<[Backend, RunResult][]> {
  const ins = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, Array.isArray(v) ? { data: v, shape: [v.length] } : v]));
  const out: [Backend, RunResult][] = [];
  for (const b of BACKENDS) out.push([b, await run(b, src, name, ins, { ct: ct === undefined ? undefined : [ct], scalars })]);
  return out;
}

const ones = (n: number) => Array.from({ length: n }, () => 1);
/** A second cotangent, with signs and magnitudes that differ element to element. */
const ct2 = (n: number) => Array.from({ length: n }, (_, i) => [2, -1, 0.5, -3, 0.25][i % 5]!);
const times = (a: number[], b: number[]) => a.map((v, i) => v * b[i]!);

const HEADER = `import { STE, ClippedSTE, ReSTE } from "std/binary"\n`;

describe("sign forward", () => {
  it("is +1 at 0 and at -0.0 (Larq's convention), -1 below 0", async () => {
    for (const [b, r] of await onAll(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(x) }", "f", { x: [0, -0, 1e-30, -1e-30, 2.5, -2.5] })) {
      expectOn(b, r.outputs[0], [1, 1, 1, -1, 1, -1], 0, "forward");
    }
  });

  it("is unchanged by an attached estimator", async () => {
    const x = [0, -0, 0.05, -0.05, 1.5, -1.5, 3, -3];
    for (const e of ["STE", "ClippedSTE", "ClippedSTE(t = 1.0)", "ReSTE", "ReSTE(o = o)"]) {
      for (const [b, r] of await onAll(HEADER + `fn f(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ${e} }`, "f", { x })) {
        expectOn(b, r.outputs[0], [1, 1, 1, -1, 1, -1, 1, -1], 0, e);
      }
    }
  });
});

describe("STE", () => {
  it("passes the cotangent through unchanged, at every x", async () => {
    const src = HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward STE }";
    const x = [0, -0, 0.3, -0.3, 1, -1, 1.0001, 5, -5];
    for (const [b, r] of await onAll(src, "f", { x }, ones(x.length))) expectOn(b, r.grads["x"], ones(x.length), 0);
    for (const [b, r] of await onAll(src, "f", { x }, ct2(x.length))) expectOn(b, r.grads["x"], ct2(x.length), 0);
  });

  it("composes with the chain rule: d/dx [3 · sign(2x)] under STE is 6g", async () => {
    const x = [-1, 0, 0.5, 4];
    for (const [b, r] of await onAll(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(2 * x) backward STE * 3 }", "f", { x }, ct2(4))) {
      expectOn(b, r.outputs[0], [-3, 3, 3, 3], 0, "forward");
      expectOn(b, r.grads["x"], ct2(4).map((g) => 6 * g), 0, "vjp");
    }
  });

  it("without an estimator, sign has zero gradient", async () => {
    for (const [b, r] of await onAll(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x }", "f", { x: [-1, 0, 0.5] }, [1, 1, 1])) {
      expectOn(b, r.grads["x"], [0, 0, 0], 0);
    }
  });
});

describe("ClippedSTE", () => {
  // Boundaries: |x| = t is inside (inclusive, as Larq's ste_sign), just beyond is outside.
  const x = [-2, -1.0001, -1, -0.9999, -0.5, 0, -0, 0.5, 0.9999, 1, 1.0001, 2];
  const inside1 = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];

  it("t = 1 (explicit): g on |x| <= 1 inclusive, 0 beyond", async () => {
    const src = HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward ClippedSTE(t = 1.0) }";
    for (const [b, r] of await onAll(src, "f", { x }, ones(x.length))) expectOn(b, r.grads["x"], inside1, 0);
    for (const [b, r] of await onAll(src, "f", { x }, ct2(x.length))) expectOn(b, r.grads["x"], times(ct2(x.length), inside1), 0);
  });

  it("the default t is 1", async () => {
    for (const [b, r] of await onAll(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(x) backward ClippedSTE }", "f", { x }, ct2(x.length))) {
      expectOn(b, r.grads["x"], times(ct2(x.length), inside1), 0);
    }
  });

  it("t given positionally and as a runtime option", async () => {
    const inside05 = x.map((v) => (Math.abs(v) <= 0.5 ? 1 : 0));
    const lit = HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward ClippedSTE(0.5) }";
    for (const [b, r] of await onAll(lit, "f", { x }, ones(x.length))) expectOn(b, r.grads["x"], inside05, 0, "literal 0.5");
    const opt = HEADER + "fn f(x: f32[N], clip: f32 = 1.0) -> f32[N] { return sign x backward ClippedSTE(t = clip) }";
    for (const [b, r] of await onAll(opt, "f", { x }, ones(x.length))) expectOn(b, r.grads["x"], inside1, 0, "default clip");
    for (const [b, r] of await onAll(opt, "f", { x }, ones(x.length), { clip: 0.5 })) expectOn(b, r.grads["x"], inside05, 0, "clip 0.5");
    for (const [b, r] of await onAll(opt, "f", { x }, ones(x.length), { clip: 1.9999 })) {
      expectOn(b, r.grads["x"], [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], 0, "clip 1.9999");
    }
  });
});

describe("ReSTE (Wu et al. 2023; DravenALG/ReSTE Binary_ReSTE.backward)", () => {
  // s(x) = m^((1-o)/o) for |x| <= m; (1/o)|x|^((1-o)/o) for m < |x| <= t; 0 for |x| > t; m = 0.1, t = 1.5.
  const x = [0, -0, 0.05, -0.0999, 0.1, -0.1, 0.1001, -0.1001, 0.5, -0.5, 1, -1, 1.4999, 1.5, -1.5, 1.5001, -1.5001, 3];
  // Hand-computed (calculator) from the formula; m-branch values are 10^((o-1)/o).
  const expected: Record<number, number[]> = {
    // o = 1: the clipped identity (1 on |x| <= 1.5).
    1: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    // o = 2: sqrt(10) = 3.16227766…; (1/2)|x|^(-1/2): 0.1001 → 1.58034885…, 0.5 → 0.70710678…,
    // 1 → 0.5, 1.4999 → 0.40826190…, 1.5 → 0.40824829…
    2: [
      3.1622776601683795, 3.1622776601683795, 3.1622776601683795, 3.1622776601683795, 3.1622776601683795, 3.1622776601683795,
      1.580348853102535, 1.580348853102535, 0.7071067811865476, 0.7071067811865476, 0.5, 0.5,
      0.40826189942066343, 0.408248290463863, 0.408248290463863, 0, 0, 0,
    ],
    // o = 3: 0.1^(-2/3) = 4.64158883…; (1/3)|x|^(-2/3): 0.1001 → 1.54616567…, 0.5 → 0.52913368…,
    // 1 → 1/3, 1.4999 → 0.25439225…, 1.5 → 0.25438094…
    3: [
      4.641588833612778, 4.641588833612778, 4.641588833612778, 4.641588833612778, 4.641588833612778, 4.641588833612778,
      1.5461656724758188, 1.5461656724758188, 0.5291336839893998, 0.5291336839893998, 0.3333333333333333, 0.3333333333333333,
      0.25439224923744713, 0.2543809427896293, 0.2543809427896293, 0, 0, 0,
    ],
  };
  // x = ±0.1 is the boundary |x| = m in f64. On the f32 back ends it is f32(0.1) = 0.100000001…,
  // beyond m (estc compares with a literal's exact value), so they take the outer branch there.
  const want = (b: Backend, o: number, ct = ones(x.length)) =>
    times(ct, expected[o]!.map((v, i) => (b !== "f64" && Math.abs(x[i]!) === 0.1 ? (1 / o) * Math.fround(0.1) ** ((1 - o) / o) : v)));
  const src = HEADER + "fn f(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ReSTE(o = o) }";

  it.each([1, 2, 3])("o = %d passed as a runtime option", async (o) => {
    for (const [b, r] of await onAll(src, "f", { x }, ones(x.length), { o })) expectOn(b, r.grads["x"], want(b, o));
    for (const [b, r] of await onAll(src, "f", { x }, ct2(x.length), { o })) expectOn(b, r.grads["x"], want(b, o, ct2(x.length)));
  });

  it("the fn's default o = 3 applies when the option is not given", async () => {
    expect(compileFn(src, "f").lowered.scalars).toEqual([{ name: "o", dtype: "f32", default: 3 }]);
    for (const [b, r] of await onAll(src, "f", { x }, ones(x.length))) expectOn(b, r.grads["x"], want(b, 3));
  });

  it("a fractional o read at run time: o = 1.5 gives 0.1^(-1/3) inside m and (2/3)|x|^(-1/3) beyond", async () => {
    // 0.1^(-1/3) = 2.15443469…; (2/3)·0.5^(-1/3) = 0.83994737…; (2/3)·1.5^(-1/3) = 0.58238698…
    for (const [b, r] of await onAll(src, "f", { x: [0.02, 0.5, 1.5, 1.6] }, [1, 1, 1, 1], { o: 1.5 })) {
      expectOn(b, r.grads["x"], [2.1544346900318834, 0.8399473665965821, 0.5823869764908659, 0], 1e-9);
    }
  });

  it("the estimator's own defaults (o = 3, t = 1.5, m = 0.1) when attached with no arguments", async () => {
    for (const [b, r] of await onAll(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(x) backward ReSTE }", "f", { x }, ones(x.length))) {
      expectOn(b, r.grads["x"], want(b, 3));
    }
  });

  it("o given positionally as a literal", async () => {
    for (const [b, r] of await onAll(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward ReSTE(2.0) }", "f", { x }, ct2(x.length))) {
      expectOn(b, r.grads["x"], want(b, 2, ct2(x.length)));
    }
  });

  it("t and m as arguments: t = 1 cuts at |x| = 1 inclusive, m = 0.5 widens the flat part", async () => {
    const src2 = HEADER + "fn f(x: f32[N], o: f32 = 3.0, t: f32 = 1.5) -> f32[N] { return sign x backward ReSTE(o = o, t = t, m = 0.5) }";
    // o = 3, m = 0.5: 0.5^(-2/3) = 1.58740105… on |x| <= 0.5; (1/3)|x|^(-2/3) after; t = 1: 1/3 at 1, 0 at 1.0001.
    for (const [b, r] of await onAll(src2, "f", { x: [0, 0.5, -0.5001, 1, -1, 1.0001] }, [1, 1, 1, 1, 1, 1], { t: 1 })) {
      expectOn(b, r.grads["x"], [1.5874010519681994, 1.5874010519681994, 0.5290631445879708, 0.3333333333333333, 0.3333333333333333, 0], 1e-9);
    }
  });

  it("gives finite gradients at x = 0 for every o (no 0^negative leaks through select)", async () => {
    for (const o of [1, 1.5, 2, 3, 10]) {
      for (const [b, r] of await onAll(src, "f", { x: [0, -0] }, [1, 1], { o })) {
        const g = r.grads["x"]!;
        expect(g.every(Number.isFinite), `${b} o = ${o}: ${g}`).toBe(true);
        expectOn(b, g, [0.1 ** ((1 - o) / o), 0.1 ** ((1 - o) / o)], 1e-12, `o = ${o}`);
      }
    }
  });
});

describe("estimator forms", () => {
  const x = [-2, -0.7, -0.1, 0, 0.2, 0.9, 3];
  const tanh3 = x.map((v) => 3 * (1 - Math.tanh(3 * v) ** 2));

  it("surrogate tanh(3x): g · 3 · (1 - tanh(3x)^2)", async () => {
    const src = "estimator Tanh3 for sign(x) { surrogate tanh(3 * x) }\nfn f(x: f32[N]) -> f32[N] { return sign x backward Tanh3 }";
    for (const [b, r] of await onAll(src, "f", { x }, ct2(x.length))) {
      expectOn(b, r.outputs[0], x.map((v) => (v >= 0 ? 1 : -1)), 0, "forward");
      expectOn(b, r.grads["x"], times(ct2(x.length), tanh3));
    }
  });

  it("grad x = g * diff(tanh(3 * x), x) is the same", async () => {
    const src = "estimator D3 for sign(x) { grad x = g * diff(tanh(3 * x), x) }\nfn f(x: f32[N]) -> f32[N] { return sign x backward D3 }";
    for (const [b, r] of await onAll(src, "f", { x }, ct2(x.length))) expectOn(b, r.grads["x"], times(ct2(x.length), tanh3));
  });

  it("a surrogate with a parameter, default and overridden, and fed from a runtime option", async () => {
    const src = `estimator Soft(beta: f32 = 2.0) for sign(x) { surrogate tanh(beta * x) }
      fn d(x: f32[N]) -> f32[N] { return sign x backward Soft }
      fn lit(x: f32[N]) -> f32[N] { return sign x backward Soft(5.0) }
      fn opt(x: f32[N], b: f32 = 1.0) -> f32[N] { return sign x backward Soft(beta = b) }`;
    const soft = (beta: number) => x.map((v) => beta * (1 - Math.tanh(beta * v) ** 2));
    for (const [b, r] of await onAll(src, "d", { x }, ones(x.length))) expectOn(b, r.grads["x"], soft(2), 1e-12, "default");
    for (const [b, r] of await onAll(src, "lit", { x }, ones(x.length))) expectOn(b, r.grads["x"], soft(5), 1e-12, "literal");
    for (const [b, r] of await onAll(src, "opt", { x }, ones(x.length))) expectOn(b, r.grads["x"], soft(1), 1e-12, "option default");
    for (const [b, r] of await onAll(src, "opt", { x }, ones(x.length), { b: 0.25 })) expectOn(b, r.grads["x"], soft(0.25), 1e-12, "option 0.25");
  });

  it("parameter defaults, typed and untyped", async () => {
    const src = `estimator Scaled(k: f32 = 2.0, c = 0.5) for sign(x) { grad x = g * k + c }
      fn a(x: f32[N]) -> f32[N] { return sign x backward Scaled }
      fn b(x: f32[N]) -> f32[N] { return sign x backward Scaled(k = 5.0) }
      fn c(x: f32[N]) -> f32[N] { return sign x backward Scaled(c = 1.0) }
      fn d(x: f32[N]) -> f32[N] { return sign x backward Scaled(3.0, 0.0) }`;
    const g = ct2(x.length);
    for (const [b, r] of await onAll(src, "a", { x }, g)) expectOn(b, r.grads["x"], g.map((v) => v * 2 + 0.5), 1e-12, "a");
    for (const [b, r] of await onAll(src, "b", { x }, g)) expectOn(b, r.grads["x"], g.map((v) => v * 5 + 0.5), 1e-12, "b");
    for (const [b, r] of await onAll(src, "c", { x }, g)) expectOn(b, r.grads["x"], g.map((v) => v * 2 + 1), 1e-12, "c");
    for (const [b, r] of await onAll(src, "d", { x }, g)) expectOn(b, r.grads["x"], g.map((v) => v * 3), 1e-12, "d");
  });

  it("reads the forward value as out, or under the name given to it", async () => {
    const src = `estimator ByOut for sign(x) { grad x = g * out }
      estimator Named for y = tanh(x) { grad x = g * (1 - y * y) * 10 }
      fn a(x: f32[N]) -> f32[N] { return sign x backward ByOut }
      fn b(x: f32[N]) -> f32[N] { return tanh(x) backward Named }`;
    const g = ct2(x.length);
    for (const [b, r] of await onAll(src, "a", { x }, g)) expectOn(b, r.grads["x"], g.map((v, i) => v * (x[i]! >= 0 ? 1 : -1)), 0, "out");
    for (const [b, r] of await onAll(src, "b", { x }, g)) expectOn(b, r.grads["x"], g.map((v, i) => v * 10 * (1 - Math.tanh(x[i]!) ** 2)), 1e-12, "named");
  });

  it("an estimator for a user fn replaces the fn's own (zero) derivative", async () => {
    const src = `fn quant(v: f32[D]) -> f32[D] { return round(v * 4) / 4 }
      estimator QuantSTE for quant(v) { grad v = g }
      fn plain(x: f32[N]) -> f32[N] { return quant(x) }
      fn est(x: f32[N]) -> f32[N] { return quant(x) backward QuantSTE }
      fn chained(x: f32[N]) -> f32[N] { return quant(x * x) backward QuantSTE }`;
    const xs = [-0.8, -0.3, 0.1, 0.4, 0.62];
    const g = ct2(xs.length);
    const forward = [-0.75, -0.25, 0, 0.5, 0.5];
    for (const [b, r] of await onAll(src, "plain", { x: xs }, g)) {
      expectOn(b, r.outputs[0], forward, 0, "plain forward");
      expectOn(b, r.grads["x"], [0, 0, 0, 0, 0], 0, "plain vjp");
    }
    for (const [b, r] of await onAll(src, "est", { x: xs }, g)) {
      expectOn(b, r.outputs[0], forward, 0, "est forward");
      expectOn(b, r.grads["x"], g, 0, "est vjp");
    }
    // The estimator's grad flows on through x * x by the chain rule: g · 2x.
    for (const [b, r] of await onAll(src, "chained", { x: xs }, g)) expectOn(b, r.grads["x"], g.map((v, i) => v * 2 * xs[i]!), 1e-12, "chained");
  });

  it("an estimator for a two-input user fn gives each input its own grad", async () => {
    const src = `fn dense(x: f32[B, I], w: f32[I, O]) -> f32[B, O] { return x @ sign(w) }
      estimator DenseSTE for dense(x, w) {
        grad x = g @ transpose(sign(w))
        grad w = transpose(x) @ g
      }
      fn f(x: f32[B, I], w: f32[I, O]) -> f32[B, O] { return dense(x, w) backward DenseSTE }`;
    // x: 1×2, w: 2×2, g: 1×2.
    for (const [b, r] of await onAll(src, "f", { x: { data: [2, -1], shape: [1, 2] }, w: { data: [0.5, -0.25, -3, 1], shape: [2, 2] } }, [1, 10])) {
      expectOn(b, r.outputs[0], [2 * 1 + -1 * -1, 2 * -1 + -1 * 1], 0, "forward");
      expectOn(b, r.grads["x"], [1 * 1 + 10 * -1, 1 * -1 + 10 * 1], 0, "vjp x");
      expectOn(b, r.grads["w"], [2 * 1, 2 * 10, -1 * 1, -1 * 10], 0, "vjp w");
    }
  });

  it("an estimator for a primitive with several inputs (clamp)", async () => {
    const src = `estimator ClampSTE for clamp(x, lo, hi) { grad x = g  grad lo = 0 * g  grad hi = 2 * g }
      fn f(x: f32[N], lo: f32[N], hi: f32[N]) -> f32[N] { return clamp(x, lo, hi) backward ClampSTE }`;
    for (const [b, r] of await onAll(src, "f", { x: [-2, 0, 2], lo: [-1, -1, -1], hi: [1, 1, 1] }, [1, 2, 3])) {
      expectOn(b, r.outputs[0], [-1, 0, 1], 0, "forward");
      expectOn(b, r.grads["x"], [1, 2, 3], 0, "vjp x");
      expectOn(b, r.grads["lo"], [0, 0, 0], 0, "vjp lo");
      expectOn(b, r.grads["hi"], [2, 4, 6], 0, "vjp hi");
    }
  });
});

describe("sg and detach stop gradients", () => {
  const x = [-1.5, -0.2, 0.3, 2];
  const g = ct2(x.length);

  it("sg(x) * x has gradient g · x (only the second factor)", async () => {
    for (const [b, r] of await onAll("fn f(x: f32[N]) -> f32[N] { return sg(x) * x }", "f", { x }, g)) {
      expectOn(b, r.outputs[0], x.map((v) => v * v), 0, "forward");
      expectOn(b, r.grads["x"], times(g, x), 0, "vjp");
    }
  });

  it("x detach * x is the same", async () => {
    for (const [b, r] of await onAll("fn f(x: f32[N]) -> f32[N] { return x detach * x }", "f", { x }, g)) expectOn(b, r.grads["x"], times(g, x), 0);
  });

  it("sg over an estimator's result stops its gradient too", async () => {
    const src = HEADER + "fn f(x: f32[N]) -> f32[N] { return sg(sign x backward STE) + (sign x backward STE) detach }";
    for (const [b, r] of await onAll(src, "f", { x }, g)) expectOn(b, r.grads["x"], [0, 0, 0, 0], 0);
  });

  it("the detach idiom x + sg(sign(x) - x) is an STE by hand", async () => {
    for (const [b, r] of await onAll("fn f(x: f32[N]) -> f32[N] { return x + sg(sign(x) - x) }", "f", { x }, g)) {
      expectOn(b, r.outputs[0], [-1, -1, 1, 1], 0, "forward");
      expectOn(b, r.grads["x"], g, 0, "vjp");
    }
  });

  it("sg inside an estimator body is a constant there", async () => {
    const src = "estimator E for sign(x) { surrogate sg(x) * x }\nfn f(x: f32[N]) -> f32[N] { return sign x backward E }";
    for (const [b, r] of await onAll(src, "f", { x }, g)) expectOn(b, r.grads["x"], times(g, x), 0);
  });
});
