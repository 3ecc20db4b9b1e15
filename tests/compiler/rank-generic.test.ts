/**
 * Rank-generic fns (`...` and `...B` in parameter types) and broadcast fn arguments
 * (language.md §5): one fn called at ranks 1, 2 and 4, a named ellipsis as the axes of a
 * reduction, arguments with fewer dims or 1s, and an estimator attached to a rank-generic fn.
 * Each case runs on every back end (the f64 reference, the generated module on the CPU and on
 * WebGPU) against values computed here from the formula, for the forward and the vjp; the smooth
 * cases are also gradchecked (f64 central differences).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";
import { compileFn, memoryHost } from "../helpers/compile.js";
import { differentiateFile } from "../../compiler/build.js";
import { gradcheck, rng } from "../helpers/gradcheck.js";

const tol = (b: Backend) => (b === "cpu" ? 1e-5 : tolerance(b));

/** f32-exact pseudo-random data in [-1, 1] (multiples of 1/64). */
function data(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.round((r() * 2 - 1) * 64) / 64);
}

const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

/** Runs fn `name` of `text` on every back end; checks outputs[0] and the grads against `want`. */
async function everyBackend(text: string, name: string, inputs: Record<string, { data: number[]; shape: number[] }>, ct: number[], want: { out: number[]; grads: Record<string, number[]> }): Promise<void> {
  for (const b of BACKENDS) {
    const r = await run(b, text, name, inputs, { ct: [ct] });
    expectClose(r.outputs[0], want.out, tol(b), `${name}: ${b} forward`);
    for (const [k, g] of Object.entries(want.grads)) expectClose(r.grads[k], g, tol(b), `${name}: ${b} vjp of ${k}`);
  }
}

describe("one rank-generic fn at ranks 1, 2 and 4", () => {
  // y = tanh(x @ w + b) over any leading dims, then a softmax along the last axis.
  const text = `
fn layer(x: f32[..., I], w: f32[I, O], b: f32[O]) -> f32[..., O] {
  return softmax(tanh(x @ w + b), axis = -1)
}
fn r1(x: f32[I], w: f32[I, O], b: f32[O]) -> f32[O] { return layer(x, w, b) }
fn r2(x: f32[B, I], w: f32[I, O], b: f32[O]) -> f32[B, O] { return layer(x, w, b) }
fn r4(x: f32[N, C, H, I], w: f32[I, O], b: f32[O]) -> f32[N, C, H, O] { return layer(x, w, b) }
`;
  const I = 3;
  const O = 4;
  const w = data(I * O, 2);
  const bias = data(O, 3);
  /** The formula, row by row, and its vjp (softmax and tanh derivatives written out). */
  function reference(x: number[], ct: number[]) {
    const rows = x.length / I;
    const out: number[] = [];
    const gx = Array<number>(x.length).fill(0);
    const gw = Array<number>(I * O).fill(0);
    const gb = Array<number>(O).fill(0);
    for (let r = 0; r < rows; r++) {
      const t = Array.from({ length: O }, (_, o) => Math.tanh(bias[o]! + Array.from({ length: I }, (_, i) => x[r * I + i]! * w[i * O + o]!).reduce((a, v) => a + v, 0)));
      const m = Math.max(...t);
      const e = t.map((v) => Math.exp(v - m));
      const s = e.reduce((a, v) => a + v, 0);
      const p = e.map((v) => v / s);
      out.push(...p);
      const c = ct.slice(r * O, r * O + O);
      const dot = p.reduce((a, v, o) => a + v * c[o]!, 0);
      const dz = p.map((v, o) => v * (c[o]! - dot) * (1 - t[o]! * t[o]!));
      for (let o = 0; o < O; o++) {
        gb[o]! += dz[o]!;
        for (let i = 0; i < I; i++) {
          gx[r * I + i]! += dz[o]! * w[i * O + o]!;
          gw[i * O + o]! += dz[o]! * x[r * I + i]!;
        }
      }
    }
    return { out, grads: { x: gx, w: gw, b: gb } };
  }
  for (const [name, shape] of [["r1", [I]], ["r2", [5, I]], ["r4", [2, 3, 2, I]]] as const) {
    it(`${name}: x of shape [${shape.join(", ")}]`, async () => {
      const x = data(size([...shape]), 10 + shape.length);
      const ct = data((size([...shape]) / I) * O, 20 + shape.length);
      const inputs = { x: { data: x, shape: [...shape] }, w: { data: w, shape: [I, O] }, b: { data: bias, shape: [O] } };
      await everyBackend(text, name, inputs, ct, reference(x, ct));
    });
  }
  it("gradchecks at rank 4 (f64 central differences)", () => {
    const { analytic, numeric } = gradcheck(compileFn(text, "r4"), { dims: { N: 2, C: 3, H: 2, I, O } });
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
  });
});

describe("an empty ellipsis", () => {
  // At rank 1, B is empty: the mean over no axes is |x| itself, so per_channel(x) = x |x|.
  const text = `
fn per_channel(x: f32[...B, C]) -> f32[...B, C] { return x * mean(abs(x), axis = B, keepdims = true) }
fn r1(x: f32[C]) -> f32[C] { return per_channel(x) }
`;
  it("axis = B with B of no dims reduces nothing", async () => {
    const x = data(5, 80);
    const ct = data(5, 81);
    await everyBackend(text, "r1", { x: { data: x, shape: [5] } }, ct, { out: x.map((v) => v * Math.abs(v)), grads: { x: x.map((v, i) => 2 * Math.abs(v) * ct[i]!) } });
  });
});

describe("a named ellipsis as the axes of a reduction", () => {
  // Per-channel (last axis) scaling by the mean |x| over every other axis, at ranks 2 and 4.
  const text = `
fn per_channel(x: f32[...B, C]) -> f32[...B, C] {
  return x * mean(abs(x), axis = B, keepdims = true)
}
fn r2(x: f32[R, C]) -> f32[R, C] { return per_channel(x) }
fn r4(x: f32[N, H, W, C]) -> f32[N, H, W, C] { return per_channel(x) }
`;
  function reference(x: number[], C: number, ct: number[]) {
    const n = x.length / C;
    const a = Array.from({ length: C }, (_, c) => Array.from({ length: n }, (_, r) => Math.abs(x[r * C + c]!)).reduce((s, v) => s + v, 0) / n);
    const out = x.map((v, i) => v * a[i % C]!);
    // d/dx_j of sum_i ct_i x_i a_c = ct_j a_c + sign(x_j) / n · sum_{i in c} ct_i x_i.
    const sx = Array.from({ length: C }, (_, c) => Array.from({ length: n }, (_, r) => ct[r * C + c]! * x[r * C + c]!).reduce((s, v) => s + v, 0));
    const gx = x.map((v, i) => ct[i]! * a[i % C]! + (Math.sign(v) / n) * sx[i % C]!);
    return { out, grads: { x: gx } };
  }
  for (const [name, shape] of [["r2", [6, 3]], ["r4", [2, 3, 2, 3]]] as const) {
    it(`${name}: mean over all axes but the last, shape [${shape.join(", ")}]`, async () => {
      const x = data(size([...shape]), 30 + shape.length);
      const ct = data(size([...shape]), 40 + shape.length);
      await everyBackend(text, name, { x: { data: x, shape: [...shape] } }, ct, reference(x, 3, ct));
    });
  }
  it("gradchecks at rank 4", () => {
    const { analytic, numeric } = gradcheck(compileFn(text, "r4"), { dims: { N: 2, H: 3, W: 2, C: 3 } });
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
  });
});

describe("fn arguments broadcast as NumPy's", () => {
  // y has fewer dims (f32[I]) or a 1 (f32[1, I]) where the parameter has B; its cotangent sums over B.
  const text = `
fn two(x: f32[B, I], y: f32[B, I]) -> f32[B, I] { return x * y + sum(y, axis = 0) }
fn fewer(x: f32[B, I], y: f32[I]) -> f32[B, I] { return two(x, y) }
fn ones(x: f32[B, I], y: f32[1, I]) -> f32[B, I] { return two(x, y) }
fn first(y: f32[1, I], x: f32[B, I]) -> f32[B, I] { return two(y, x) }
`;
  const B = 4;
  const I = 3;
  const x = data(B * I, 50);
  const y = data(I, 51);
  const ct = data(B * I, 52);
  // two(x, y) with y broadcast to [B, I]: out = x y + B y (the sum over B copies of y).
  const out = x.map((v, k) => v * y[k % I]! + B * y[k % I]!);
  const gx = ct.map((c, k) => c * y[k % I]!);
  // d/dy_i: sum_b ct_bi (x_bi + B), summed over the broadcast axis.
  const gy = Array.from({ length: I }, (_, i) => Array.from({ length: B }, (_, b) => ct[b * I + i]! * (x[b * I + i]! + B)).reduce((s, v) => s + v, 0));
  it("an argument with fewer dims: y of f32[I] for f32[B, I]", () =>
    everyBackend(text, "fewer", { x: { data: x, shape: [B, I] }, y: { data: y, shape: [I] } }, ct, { out, grads: { x: gx, y: gy } }));
  it("an argument with a 1 where the parameter has B", () =>
    everyBackend(text, "ones", { x: { data: x, shape: [B, I] }, y: { data: y, shape: [1, I] } }, ct, { out, grads: { x: gx, y: gy } }));
  it("the 1 may come first: B binds to 1, then to the broadcast of its uses", async () => {
    // two(y, x): its x is y broadcast and its y is x, so out = y x + sum_b x.
    const colSum = Array.from({ length: I }, (_, i) => Array.from({ length: B }, (_, b) => x[b * I + i]!).reduce((s, v) => s + v, 0));
    const out2 = x.map((v, k) => y[k % I]! * v + colSum[k % I]!);
    const gy2 = Array.from({ length: I }, (_, i) => Array.from({ length: B }, (_, b) => ct[b * I + i]! * x[b * I + i]!).reduce((s, v) => s + v, 0));
    const ctSum = Array.from({ length: I }, (_, i) => Array.from({ length: B }, (_, b) => ct[b * I + i]!).reduce((s, v) => s + v, 0));
    const gx2 = ct.map((c, k) => c * y[k % I]! + ctSum[k % I]!);
    await everyBackend(text, "first", { y: { data: y, shape: [1, I] }, x: { data: x, shape: [B, I] } }, ct, { out: out2, grads: { x: gx2, y: gy2 } });
  });
  it("gradchecks the broadcast argument", () => {
    const { analytic, numeric } = gradcheck(compileFn(text, "fewer"), { dims: { B, I } });
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
  });
});

describe("an estimator attached to a rank-generic fn", () => {
  // hard(x) = round(4x)/4 held by sg; Quarter's backward dx = g * 1[|x| <= 1] at every rank.
  const text = `
fn hard(x: f32[...]) -> f32[...] { return sg(round(4 * x) / 4) }
estimator Quarter(t: f32 = 1.0) for hard(x) { grad x = g * (abs(x) <= t) * abs(out + 2) }
fn r1(x: f32[N]) -> f32[N] { return hard(x) backward Quarter }
fn r2(x: f32[R, C]) -> f32[R, C] { return hard(x) backward Quarter(t = 0.5) }
fn r4(x: f32[N, C, H, W]) -> f32[N, C, H, W] { return hard(x) backward Quarter }
`;
  for (const [name, shape, t] of [["r1", [7], 1], ["r2", [3, 4], 0.5], ["r4", [2, 2, 3, 2], 1]] as const) {
    it(`${name}: shape [${shape.join(", ")}]`, async () => {
      const x = data(size([...shape]), 60 + shape.length).map((v) => v * 1.5);
      const ct = data(x.length, 70 + shape.length);
      const q = x.map((v) => roundEven(4 * v) / 4);
      const gx = x.map((v, i) => (Math.abs(v) <= t ? ct[i]! * Math.abs(q[i]! + 2) : 0));
      await everyBackend(text, name, { x: { data: x, shape: [...shape] } }, ct, { out: q, grads: { x: gx } });
    });
  }
});

/** Round half to even, as estc's round. */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

describe("an estimator on a fn whose argument broadcasts", () => {
  // y: f32[I] passed for f32[B, I]: the estimator's grad of y (g · x) is summed back over B.
  const text = `
fn mul(x: f32[B, I], y: f32[B, I]) -> f32[B, I] { return sg(x * y) }
estimator Product for mul(x, y) { grad x = g * y
  grad y = g * x }
fn f(x: f32[B, I], y: f32[I]) -> f32[B, I] { return mul(x, y) backward Product }
`;
  it("the cotangent of the broadcast argument sums over the broadcast axis", async () => {
    const B = 3;
    const I = 4;
    const x = data(B * I, 90);
    const y = data(I, 91);
    const ct = data(B * I, 92);
    const gy = Array.from({ length: I }, (_, i) => Array.from({ length: B }, (_, b) => ct[b * I + i]! * x[b * I + i]!).reduce((s, v) => s + v, 0));
    await everyBackend(text, "f", { x: { data: x, shape: [B, I] }, y: { data: y, shape: [I] } }, ct, { out: x.map((v, k) => v * y[k % I]!), grads: { x: ct.map((c, k) => c * y[k % I]!), y: gy } });
  });
});

describe("a rank-generic fn is not an entry point (E5012)", () => {
  const text = "fn twice(x: f32[...]) -> f32[...] { return 2 * x }\nfn use(x: f32[B, I]) -> f32[B, I] { return twice(x) }\n";
  it("estc build leaves it out with a warning at its name and builds the rest", () => {
    const d = differentiateFile("main.est", memoryHost({ "main.est": text }));
    expect(d.fns.map((f) => f.lowered.name)).toEqual(["use"]);
    expect(d.diagnostics.map((x) => [x.code, x.severity, x.span.start, x.span.end])).toEqual([["E5012", "warning", 3, 8]]);
  });
  it("picked with --fn, it is an error", () => {
    const d = differentiateFile("main.est", memoryHost({ "main.est": text }), ["twice"]);
    expect(d.fns).toEqual([]);
    expect(d.diagnostics.map((x) => [x.code, x.severity, x.span.start, x.span.end])).toEqual([["E5012", "error", 3, 8]]);
  });
});
