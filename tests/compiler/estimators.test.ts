/**
 * Estimators attached with `backward`: std/binary's STE, ClippedSTE and ReSTE at chosen points
 * (boundaries included) against values computed by hand from the published formulas, and the
 * forms of an estimator body (surrogate, diff, parameter defaults, out, fn targets) and sg/detach.
 * Everything is evaluated by the f64 reference interpreter.
 */
import { describe, expect, it } from "vitest";
import { compileFn } from "../helpers/compile.js";
import { evalVjp } from "../helpers/gradcheck.js";

/** Element-wise closeness, relative to max(1, |expected|). */
function expectAllClose(got: number[] | undefined, want: number[], tol = 1e-12): void {
  expect(got).toBeDefined();
  expect(got!.length).toBe(want.length);
  got!.forEach((v, i) => {
    expect(Math.abs(v - want[i]!), `element ${i}: got ${v}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!)));
  });
}

const ones = (n: number) => Array.from({ length: n }, () => 1);
/** A second cotangent, with signs and magnitudes that differ element to element. */
const ct2 = (n: number) => Array.from({ length: n }, (_, i) => [2, -1, 0.5, -3, 0.25][i % 5]!);
const times = (a: number[], b: number[]) => a.map((v, i) => v * b[i]!);

const HEADER = `import { STE, ClippedSTE, ReSTE } from "std/binary"\n`;

describe("sign forward", () => {
  it("is +1 at 0 and at -0.0 (Larq's convention), -1 below 0", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(x) }", "f");
    const out = evalVjp(fn, { x: [0, -0, 1e-30, -1e-30, 2.5, -2.5] }).outputs[0]!;
    expect(out).toEqual([1, 1, 1, -1, 1, -1]);
  });

  it("is unchanged by an attached estimator", () => {
    const x = [0, -0, 0.05, -0.05, 1.5, -1.5, 3, -3];
    for (const e of ["STE", "ClippedSTE", "ClippedSTE(t = 1.0)", "ReSTE", "ReSTE(o = o)"]) {
      const fn = compileFn(HEADER + `fn f(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ${e} }`, "f");
      expect(evalVjp(fn, { x }).outputs[0], e).toEqual([1, 1, 1, -1, 1, -1, 1, -1]);
    }
  });
});

describe("STE", () => {
  it("passes the cotangent through unchanged, at every x", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward STE }", "f");
    const x = [0, -0, 0.3, -0.3, 1, -1, 1.0001, 5, -5];
    expect(evalVjp(fn, { x }, [ones(x.length)]).grads["x"]).toEqual(ones(x.length));
    expect(evalVjp(fn, { x }, [ct2(x.length)]).grads["x"]).toEqual(ct2(x.length));
  });

  it("composes with the chain rule: d/dx [3 · sign(2x)] under STE is 6g", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(2 * x) backward STE * 3 }", "f");
    const x = [-1, 0, 0.5, 4];
    const r = evalVjp(fn, { x }, [ct2(4)]);
    expect(r.outputs[0]).toEqual([-3, 3, 3, 3]);
    expect(r.grads["x"]).toEqual(ct2(4).map((g) => 6 * g));
  });

  it("without an estimator, sign has zero gradient", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x }", "f");
    expect(evalVjp(fn, { x: [-1, 0, 0.5] }, [[1, 1, 1]]).grads["x"]).toEqual([0, 0, 0]);
  });
});

describe("ClippedSTE", () => {
  // Boundaries: |x| = t is inside (inclusive, as Larq's ste_sign), just beyond is outside.
  const x = [-2, -1.0001, -1, -0.9999, -0.5, 0, -0, 0.5, 0.9999, 1, 1.0001, 2];
  const inside1 = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];

  it("t = 1 (explicit): g on |x| <= 1 inclusive, 0 beyond", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward ClippedSTE(t = 1.0) }", "f");
    expect(evalVjp(fn, { x }, [ones(x.length)]).grads["x"]).toEqual(inside1);
    expect(evalVjp(fn, { x }, [ct2(x.length)]).grads["x"]).toEqual(times(ct2(x.length), inside1));
  });

  it("the default t is 1", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(x) backward ClippedSTE }", "f");
    expect(evalVjp(fn, { x }, [ct2(x.length)]).grads["x"]).toEqual(times(ct2(x.length), inside1));
  });

  it("t given positionally and as a runtime option", () => {
    const inside05 = x.map((v) => (Math.abs(v) <= 0.5 ? 1 : 0));
    const lit = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward ClippedSTE(0.5) }", "f");
    expect(evalVjp(lit, { x }, [ones(x.length)]).grads["x"]).toEqual(inside05);
    const opt = compileFn(HEADER + "fn f(x: f32[N], clip: f32 = 1.0) -> f32[N] { return sign x backward ClippedSTE(t = clip) }", "f");
    expect(evalVjp(opt, { x }, [ones(x.length)]).grads["x"]).toEqual(inside1);
    expect(evalVjp(opt, { x }, [ones(x.length)], { scalars: { clip: 0.5 } }).grads["x"]).toEqual(inside05);
    expect(evalVjp(opt, { x }, [ones(x.length)], { scalars: { clip: 1.9999 } }).grads["x"]).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
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
  const src = HEADER + "fn f(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ReSTE(o = o) }";

  it.each([1, 2, 3])("o = %d passed as a runtime option", (o) => {
    const fn = compileFn(src, "f");
    expectAllClose(evalVjp(fn, { x }, [ones(x.length)], { scalars: { o } }).grads["x"], expected[o]!);
    expectAllClose(evalVjp(fn, { x }, [ct2(x.length)], { scalars: { o } }).grads["x"], times(ct2(x.length), expected[o]!));
  });

  it("the fn's default o = 3 applies when the option is not given", () => {
    const fn = compileFn(src, "f");
    expect(fn.lowered.scalars).toEqual([{ name: "o", dtype: "f32", default: 3 }]);
    expectAllClose(evalVjp(fn, { x }, [ones(x.length)]).grads["x"], expected[3]!);
  });

  it("a fractional o read at run time: o = 1.5 gives 0.1^(-1/3) inside m and (2/3)|x|^(-1/3) beyond", () => {
    const fn = compileFn(src, "f");
    // 0.1^(-1/3) = 2.15443469…; (2/3)·0.5^(-1/3) = 0.83994737…; (2/3)·1.5^(-1/3) = 0.58238698…
    expectAllClose(evalVjp(fn, { x: [0.02, 0.5, 1.5, 1.6] }, [[1, 1, 1, 1]], { scalars: { o: 1.5 } }).grads["x"], [2.1544346900318834, 0.8399473665965821, 0.5823869764908659, 0], 1e-9);
  });

  it("the estimator's own defaults (o = 3, t = 1.5, m = 0.1) when attached with no arguments", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign(x) backward ReSTE }", "f");
    expectAllClose(evalVjp(fn, { x }, [ones(x.length)]).grads["x"], expected[3]!);
  });

  it("o given positionally as a literal", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sign x backward ReSTE(2.0) }", "f");
    expectAllClose(evalVjp(fn, { x }, [ct2(x.length)]).grads["x"], times(ct2(x.length), expected[2]!));
  });

  it("t and m as arguments: t = 1 cuts at |x| = 1 inclusive, m = 0.5 widens the flat part", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N], o: f32 = 3.0, t: f32 = 1.5) -> f32[N] { return sign x backward ReSTE(o = o, t = t, m = 0.5) }", "f");
    // o = 3, m = 0.5: 0.5^(-2/3) = 1.58740105… on |x| <= 0.5; (1/3)|x|^(-2/3) after; t = 1: 1/3 at 1, 0 at 1.0001.
    const r = evalVjp(fn, { x: [0, 0.5, -0.5001, 1, -1, 1.0001] }, [[1, 1, 1, 1, 1, 1]], { scalars: { t: 1 } });
    expectAllClose(r.grads["x"], [1.5874010519681994, 1.5874010519681994, 0.5290631445879708, 0.3333333333333333, 0.3333333333333333, 0], 1e-9);
  });

  it("gives finite gradients at x = 0 for every o (no 0^negative leaks through select)", () => {
    const fn = compileFn(src, "f");
    for (const o of [1, 1.5, 2, 3, 10]) {
      const g = evalVjp(fn, { x: [0, -0] }, [[1, 1]], { scalars: { o } }).grads["x"]!;
      expect(g.every(Number.isFinite), `o = ${o}: ${g}`).toBe(true);
      expectAllClose(g, [0.1 ** ((1 - o) / o), 0.1 ** ((1 - o) / o)]);
    }
  });
});

describe("estimator forms", () => {
  const x = [-2, -0.7, -0.1, 0, 0.2, 0.9, 3];
  const tanh3 = x.map((v) => 3 * (1 - Math.tanh(3 * v) ** 2));

  it("surrogate tanh(3x): g · 3 · (1 - tanh(3x)^2)", () => {
    const fn = compileFn("estimator Tanh3 for sign(x) { surrogate tanh(3 * x) }\nfn f(x: f32[N]) -> f32[N] { return sign x backward Tanh3 }", "f");
    const r = evalVjp(fn, { x }, [ct2(x.length)]);
    expect(r.outputs[0]).toEqual(x.map((v) => (v >= 0 ? 1 : -1)));
    expectAllClose(r.grads["x"], times(ct2(x.length), tanh3));
  });

  it("grad x = g * diff(tanh(3 * x), x) is the same", () => {
    const fn = compileFn("estimator D3 for sign(x) { grad x = g * diff(tanh(3 * x), x) }\nfn f(x: f32[N]) -> f32[N] { return sign x backward D3 }", "f");
    expectAllClose(evalVjp(fn, { x }, [ct2(x.length)]).grads["x"], times(ct2(x.length), tanh3));
  });

  it("a surrogate with a parameter, default and overridden, and fed from a runtime option", () => {
    const src = `estimator Soft(beta: f32 = 2.0) for sign(x) { surrogate tanh(beta * x) }
      fn d(x: f32[N]) -> f32[N] { return sign x backward Soft }
      fn lit(x: f32[N]) -> f32[N] { return sign x backward Soft(5.0) }
      fn opt(x: f32[N], b: f32 = 1.0) -> f32[N] { return sign x backward Soft(beta = b) }`;
    const soft = (beta: number) => x.map((v) => beta * (1 - Math.tanh(beta * v) ** 2));
    expectAllClose(evalVjp(compileFn(src, "d"), { x }, [ones(x.length)]).grads["x"], soft(2));
    expectAllClose(evalVjp(compileFn(src, "lit"), { x }, [ones(x.length)]).grads["x"], soft(5));
    expectAllClose(evalVjp(compileFn(src, "opt"), { x }, [ones(x.length)]).grads["x"], soft(1));
    expectAllClose(evalVjp(compileFn(src, "opt"), { x }, [ones(x.length)], { scalars: { b: 0.25 } }).grads["x"], soft(0.25));
  });

  it("parameter defaults, typed and untyped", () => {
    const src = `estimator Scaled(k: f32 = 2.0, c = 0.5) for sign(x) { grad x = g * k + c }
      fn a(x: f32[N]) -> f32[N] { return sign x backward Scaled }
      fn b(x: f32[N]) -> f32[N] { return sign x backward Scaled(k = 5.0) }
      fn c(x: f32[N]) -> f32[N] { return sign x backward Scaled(c = 1.0) }
      fn d(x: f32[N]) -> f32[N] { return sign x backward Scaled(3.0, 0.0) }`;
    const g = ct2(x.length);
    expectAllClose(evalVjp(compileFn(src, "a"), { x }, [g]).grads["x"], g.map((v) => v * 2 + 0.5));
    expectAllClose(evalVjp(compileFn(src, "b"), { x }, [g]).grads["x"], g.map((v) => v * 5 + 0.5));
    expectAllClose(evalVjp(compileFn(src, "c"), { x }, [g]).grads["x"], g.map((v) => v * 2 + 1));
    expectAllClose(evalVjp(compileFn(src, "d"), { x }, [g]).grads["x"], g.map((v) => v * 3));
  });

  it("reads the forward value as out, or under the name given to it", () => {
    const src = `estimator ByOut for sign(x) { grad x = g * out }
      estimator Named for y = tanh(x) { grad x = g * (1 - y * y) * 10 }
      fn a(x: f32[N]) -> f32[N] { return sign x backward ByOut }
      fn b(x: f32[N]) -> f32[N] { return tanh(x) backward Named }`;
    const g = ct2(x.length);
    expect(evalVjp(compileFn(src, "a"), { x }, [g]).grads["x"]).toEqual(g.map((v, i) => v * (x[i]! >= 0 ? 1 : -1)));
    expectAllClose(evalVjp(compileFn(src, "b"), { x }, [g]).grads["x"], g.map((v, i) => v * 10 * (1 - Math.tanh(x[i]!) ** 2)));
  });

  it("an estimator for a user fn replaces the fn's own (zero) derivative", () => {
    const src = `fn quant(v: f32[D]) -> f32[D] { return round(v * 4) / 4 }
      estimator QuantSTE for quant(v) { grad v = g }
      fn plain(x: f32[N]) -> f32[N] { return quant(x) }
      fn est(x: f32[N]) -> f32[N] { return quant(x) backward QuantSTE }
      fn chained(x: f32[N]) -> f32[N] { return quant(x * x) backward QuantSTE }`;
    const xs = [-0.8, -0.3, 0.1, 0.4, 0.62];
    const g = ct2(xs.length);
    const forward = [-0.75, -0.25, 0, 0.5, 0.5];
    const plain = evalVjp(compileFn(src, "plain"), { x: xs }, [g]);
    expect(plain.outputs[0]).toEqual(forward);
    expect(plain.grads["x"]).toEqual([0, 0, 0, 0, 0]);
    const est = evalVjp(compileFn(src, "est"), { x: xs }, [g]);
    expect(est.outputs[0]).toEqual(forward);
    expect(est.grads["x"]).toEqual(g);
    // The estimator's grad flows on through x * x by the chain rule: g · 2x.
    expectAllClose(evalVjp(compileFn(src, "chained"), { x: xs }, [g]).grads["x"], g.map((v, i) => v * 2 * xs[i]!));
  });

  it("an estimator for a two-input user fn gives each input its own grad", () => {
    const src = `fn dense(x: f32[B, I], w: f32[I, O]) -> f32[B, O] { return x @ sign(w) }
      estimator DenseSTE for dense(x, w) {
        grad x = g @ transpose(sign(w))
        grad w = transpose(x) @ g
      }
      fn f(x: f32[B, I], w: f32[I, O]) -> f32[B, O] { return dense(x, w) backward DenseSTE }`;
    const fn = compileFn(src, "f");
    // x: 1×2, w: 2×2, g: 1×2.
    const r = evalVjp(fn, { x: [2, -1], w: [0.5, -0.25, -3, 1] }, [[1, 10]], { dims: { B: 1, I: 2, O: 2 } });
    expect(r.outputs[0]).toEqual([2 * 1 + -1 * -1, 2 * -1 + -1 * 1]);
    expect(r.grads["x"]).toEqual([1 * 1 + 10 * -1, 1 * -1 + 10 * 1]);
    expect(r.grads["w"]).toEqual([2 * 1, 2 * 10, -1 * 1, -1 * 10]);
  });

  it("an estimator for a primitive with several inputs (clamp)", () => {
    const src = `estimator ClampSTE for clamp(x, lo, hi) { grad x = g  grad lo = 0 * g  grad hi = 2 * g }
      fn f(x: f32[N], lo: f32[N], hi: f32[N]) -> f32[N] { return clamp(x, lo, hi) backward ClampSTE }`;
    const fn = compileFn(src, "f");
    const r = evalVjp(fn, { x: [-2, 0, 2], lo: [-1, -1, -1], hi: [1, 1, 1] }, [[1, 2, 3]]);
    expect(r.outputs[0]).toEqual([-1, 0, 1]);
    expect(r.grads["x"]).toEqual([1, 2, 3]);
    expect(r.grads["lo"]).toEqual([0, 0, 0]);
    expect(r.grads["hi"]).toEqual([2, 4, 6]);
  });
});

describe("sg and detach stop gradients", () => {
  const x = [-1.5, -0.2, 0.3, 2];
  const g = ct2(x.length);

  it("sg(x) * x has gradient g · x (only the second factor)", () => {
    const fn = compileFn("fn f(x: f32[N]) -> f32[N] { return sg(x) * x }", "f");
    const r = evalVjp(fn, { x }, [g]);
    expect(r.outputs[0]).toEqual(x.map((v) => v * v));
    expect(r.grads["x"]).toEqual(times(g, x));
  });

  it("x detach * x is the same", () => {
    const fn = compileFn("fn f(x: f32[N]) -> f32[N] { return x detach * x }", "f");
    expect(evalVjp(fn, { x }, [g]).grads["x"]).toEqual(times(g, x));
  });

  it("sg over an estimator's result stops its gradient too", () => {
    const fn = compileFn(HEADER + "fn f(x: f32[N]) -> f32[N] { return sg(sign x backward STE) + (sign x backward STE) detach }", "f");
    expect(evalVjp(fn, { x }, [g]).grads["x"]).toEqual([0, 0, 0, 0]);
  });

  it("the detach idiom x + sg(sign(x) - x) is an STE by hand", () => {
    const fn = compileFn("fn f(x: f32[N]) -> f32[N] { return x + sg(sign(x) - x) }", "f");
    const r = evalVjp(fn, { x }, [g]);
    expect(r.outputs[0]).toEqual([-1, -1, 1, 1]);
    expect(r.grads["x"]).toEqual(g);
  });

  it("sg inside an estimator body is a constant there", () => {
    const fn = compileFn("estimator E for sign(x) { surrogate sg(x) * x }\nfn f(x: f32[N]) -> f32[N] { return sign x backward E }", "f");
    expect(evalVjp(fn, { x }, [g]).grads["x"]).toEqual(times(g, x));
  });
});
