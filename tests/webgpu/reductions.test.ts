/**
 * The WebGPU workgroup tree reductions (compiler/codegen/wgsl/reduce.ts) against the CPU back
 * end and against hand values: sum, mean, max, min, argmax, argmin, logsumexp and softmax (the
 * last three lowered to max + sum of exp), over a last axis whose extent exercises one lane per
 * output (K = 1), several outputs per workgroup (K = 3, 5), exactly one workgroup (K = 128), a
 * partial last round (K = 300), many workgroups (B = 300) and a ~100k-element row, plus full
 * reductions to a scalar (past 65536 elements these run in two passes: chunks into a scratch
 * buffer, then one workgroup over the chunks). max/min/argmax/argmin must be bit-identical to the CPU (NaN wins max
 * and min, +0 beats -0 in max and -0 in min, the lowest index wins a tie, NaN never wins an
 * argmax); sums and the exp-based results agree to 1e-5 relative.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpu, tensor, webgpu, type Tensor, type WebGpuDevice } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { rng } from "../helpers/gradcheck.js";

let device: WebGpuDevice;
beforeAll(async () => {
  device = await webgpu();
});
afterAll(() => device?.destroy());

const SRC = `fn f(x: f32[B, K]) -> (f32[B], f32[B], f32[B], f32[B], i32[B], i32[B], f32[B], f32[B, K]) {
  return (sum(x, axis = 1), mean(x, axis = 1), max(x, axis = 1), min(x, axis = 1), argmax(x, axis = 1), argmin(x, axis = 1), logsumexp(x, axis = 1), softmax(x, axis = 1))
}
fn g(x: f32[B, K]) -> (f32, f32, i32, i32) { return (sum(x * x), max(x), argmax(x), argmin(abs(x))) }
fn h(x: f32[B, K]) -> f32[K] { return sum(exp(x), axis = 0) }`;
const NAMES = ["sum", "mean", "max", "min", "argmax", "argmin", "logsumexp", "softmax"];
/** Outputs compared bit for bit (the rest to 1e-5 relative). */
const EXACT = new Set(["max", "min", "argmax", "argmin"]);

let mod: Record<string, any>;
beforeAll(async () => {
  mod = (await buildModule(SRC)).mod;
});

/** Bit patterns (so -0 differs from +0); any NaN is "NaN", as its payload is not specified. */
const bitsOf = async (t: Tensor): Promise<(number | string)[]> => {
  const a = await t.data();
  if (!(a instanceof Float32Array)) return Array.from(a, Number);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  return Array.from(a, (v, i) => (Number.isNaN(v) ? "NaN" : u[i]!));
};

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-5): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if ((Number.isNaN(w) && Number.isNaN(g)) || g === w) continue;
    if (!(Math.abs(g - w) <= rel * Math.abs(w) + 1e-6)) expect.fail(`${what}[${i}]: gpu ${g} vs cpu ${w}`);
  }
}

/** Runs fn `name` on both back ends and compares every output; returns the gpu outputs' values. */
async function parity(name: string, names: string[], x: Float32Array, shape: number[]): Promise<number[][]> {
  const input = { x: tensor(x, shape) };
  const list = (o: Tensor | Tensor[]): Tensor[] => (Array.isArray(o) ? o : [o]);
  const c = list(await mod[name].forward(input, { device: cpu() }));
  const g = list(await mod[name].forward(input, { device }));
  const out: number[][] = [];
  for (let k = 0; k < c.length; k++) {
    const what = `${name} ${names[k]} [${shape.join(", ")}]`;
    expect(g[k]!.shape, what).toEqual(c[k]!.shape);
    if (EXACT.has(names[k]!)) expect(await bitsOf(g[k]!), what).toEqual(await bitsOf(c[k]!));
    else close(what, await g[k]!.data(), await c[k]!.data());
    out.push(Array.from(await g[k]!.data(), Number));
  }
  [...g, ...c].forEach((t) => t.dispose());
  return out;
}

function random(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

describe("row reductions match the CPU back end", () => {
  const shapes: [number, number][] = [[3, 1], [4, 5], [200, 3], [2, 128], [3, 300], [300, 129]];
  for (const [B, K] of shapes) {
    it(`[${B}, ${K}]`, async () => {
      // floor(4x) / 4 makes ties for argmax/argmin across lanes and workgroup halves.
      const x = random(B * K, B * 1000 + K).map((v) => Math.floor(4 * v) / 4);
      await parity("f", NAMES, x, [B, K]);
      await parity("h", ["sum(exp)"], random(B * K, K), [B, K]);
    });
  }

  it("a 100k-element row (sums of positive values to 1e-5, extremes exactly)", async () => {
    const K = 100_003;
    const x = random(2 * K, 9, 0, 1);
    x[K + 77_777] = 3; // the second row's max and argmax, far from lane 0
    x[K + 99_999] = 3; // a later tie: the first index still wins
    const [sum, , max, , argmax] = await parity("f", NAMES, x, [2, K]);
    expect(max![1]).toBe(3);
    expect(argmax![1]).toBe(77_777);
    // Hand value: the f64 sum of the f32 inputs of row 0.
    let s = 0;
    for (let i = 0; i < K; i++) s += x[i]!;
    expect(Math.abs(sum![0]! - s)).toBeLessThanOrEqual(1e-5 * s);
  });

  it("full reductions to a scalar, small and ~100k elements", async () => {
    for (const [B, K] of [[1, 1], [3, 7], [317, 331]] as const) {
      const x = random(B * K, B + K, 0.5, 2);
      if (B * K > 100_000) {
        // 104927 elements: the two-pass split (13 chunks of 8072). Ties across chunks: the lowest index wins.
        x[90_000] = x[50_000] = 5;
        x[100_000] = x[70_000] = 0.1;
      }
      const [, max, argmax, argmin] = await parity("g", ["sum(x*x)", "max", "argmax", "argmin"], x, [B, K]);
      if (B * K > 100_000) {
        expect([max![0], argmax![0], argmin![0]]).toEqual([5, 50_000, 70_000]);
      }
    }
  });
});

describe("hand values", () => {
  it("sums of 0 … K-1, max, min, argmax/argmin ties on the lowest index", async () => {
    const K = 300;
    const x = new Float32Array(3 * K);
    for (let i = 0; i < K; i++) x[i] = i; // row 0: 0 … 299
    // Row 1: 5 everywhere but 9 at 150, 9 (lane 9) and 200 (lane 72, second round); -1 at 250 and 260.
    for (let i = 0; i < K; i++) x[K + i] = 5;
    for (const i of [150, 9, 200]) x[K + i] = 9;
    for (const i of [250, 260]) x[K + i] = -1;
    // Row 2: all equal: argmax = argmin = 0.
    for (let i = 0; i < K; i++) x[2 * K + i] = 2;
    const [sum, mean, max, min, argmax, argmin] = await parity("f", NAMES, x, [3, K]);
    expect(sum![0]).toBe((K * (K - 1)) / 2);
    expect(mean![0]).toBeCloseTo((K - 1) / 2, 4);
    expect(max).toEqual([299, 9, 2]);
    expect(min).toEqual([0, -1, 2]);
    expect(argmax).toEqual([299, 9, 0]);
    expect(argmin).toEqual([0, 250, 0]);
  });

  it("NaN, infinities and signed zeros as the CPU: NaN wins max/min, never argmax; +0 / -0", async () => {
    const K = 5;
    const rows = [
      [NaN, 1, 5, 5, -3], // max/min NaN, argmax 2, argmin 4
      [NaN, NaN, NaN, NaN, NaN], // argmax/argmin 0 (nothing beats ±Infinity)
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], // max -Inf, argmax 0
      [-0, 0, -0, 0, -0], // max +0, min -0, argmax/argmin 0
      [0, -0, 0, -0, 0],
      [1, Infinity, 2, Infinity, -Infinity], // argmax 1, argmin 4
    ];
    const x = Float32Array.from(rows.flat());
    const [, , max, min, argmax, argmin] = await parity("f", NAMES, x, [rows.length, K]);
    expect(max!.map((v) => (Object.is(v, -0) ? "-0" : v))).toEqual([NaN, NaN, -Infinity, 0, 0, Infinity]);
    expect(min!.map((v) => (Object.is(v, -0) ? "-0" : v))).toEqual([NaN, NaN, -Infinity, "-0", "-0", -Infinity]);
    expect(argmax).toEqual([2, 0, 0, 0, 0, 1]);
    expect(argmin).toEqual([4, 0, 0, 0, 0, 4]);
  });

  it("softmax rows sum to 1 and logsumexp of equal values is x + log K", async () => {
    const K = 257;
    const x = new Float32Array(2 * K).fill(0.5);
    for (let i = 0; i < K; i++) x[K + i] = (i % 7) - 3;
    const out = await parity("f", NAMES, x, [2, K]);
    const lse = out[6]!;
    const sm = out[7]!;
    expect(lse[0]).toBeCloseTo(0.5 + Math.log(K), 5);
    for (const row of [0, 1]) {
      const s = sm.slice(row * K, (row + 1) * K).reduce((a, b) => a + b, 0);
      expect(s).toBeCloseTo(1, 5);
    }
  });

  it("an empty reduced axis: sum 0, max -Infinity, argmax 0 as on the CPU", async () => {
    const [sum, , max, min, argmax] = await parity("f", NAMES, new Float32Array(0), [3, 0]);
    expect(sum).toEqual([0, 0, 0]);
    expect(max).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(min).toEqual([Infinity, Infinity, Infinity]);
    expect(argmax).toEqual([0, 0, 0]);
  });
});
