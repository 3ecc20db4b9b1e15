/**
 * The generated Wasm SIMD kernels of fused elementwise loops whose operands broadcast
 * (compiler/codegen/wasm/strided.ts) against the TypeScript kernels of the same module: bit for
 * bit for exact ops, within docs/language.md §10's ulp bounds for tanh and exp, over per-channel
 * [C, 1, 1] operands of [B, C, H, W], a bias [O] over [B, O], rows [1, N] and columns [M, 1] of
 * [M, N], an outer product, mixed ranks, size-1 axes (literal and at runtime), inner extents of 1
 * to 35 (1–3 element tails), symbolic and literal dims, bit-packed bool reads and writes at
 * offsets that are not multiples of 4 or 32, forward and backward (a batch norm over
 * [B, C, H, W]). Each fn asserts that its kernels have a Wasm form, so a silent fallback to TS
 * fails here; and a hand-computed formula checks the affine kernel independently.
 */
import { describe, expect, it } from "vitest";
import { cpu, tensor, type Tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { ulps } from "../helpers/expect.js";

const wasm = cpu({ kernels: "wasm" });
const ts = cpu({ kernels: "ts" });

/** Deterministic f32 data in [lo, hi), with ±0, ±Inf and NaN at a few places when `specials`. */
function data(n: number, seed: number, lo = -2, hi = 2, specials = false): Float32Array {
  const a = new Float32Array(n);
  let s = seed | 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    a[i] = lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  }
  if (specials) [0, -0, Infinity, -Infinity, NaN].forEach((v, k) => n > 7 * k && (a[7 * k] = v));
  return a;
}


type Inputs = Record<string, { data: Float32Array | Uint8Array; shape: number[] }>;
const args = (ins: Inputs) => Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tensor(v.data, v.shape)]));
const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

async function forward(f: any, ins: Inputs, device: typeof wasm): Promise<Float32Array | Uint8Array> {
  return (await ((await f.forward(args(ins), { device })) as Tensor).data()) as Float32Array;
}

/** Kernel steps of `f`'s forward and vjp plans (or only `plans`) that have no Wasm form (the TS kernel runs). */
function tsOnly(f: any, plans = ["forward", "vjp"]): number {
  const steps = plans.flatMap((p) => f.spec[p].steps) as { op: string; kernel?: number }[];
  return steps.filter((s) => s.op === "kernel" && (f.spec.wasm?.kernels[s.kernel!] ?? null) === null).length;
}

/** Expects `w` and `t` equal bit for bit (both zeros' signs, NaN as NaN), or within `bound` ulps. */
function agree(w: ArrayLike<number>, t: ArrayLike<number>, what: string, bound = 0): void {
  expect(w.length, what).toBe(t.length);
  for (let i = 0; i < t.length; i++) {
    const d = ulps(w[i]!, t[i]!);
    if (d > bound || (bound === 0 && w[i] === 0 && !Object.is(w[i], t[i]))) expect.fail(`${what}[${i}]: wasm ${w[i]}, ts ${t[i]} (${d} ulps)`);
  }
}

/** Broadcast patterns: name, source, input shapes per size case (a function of a few sizes). */
const EXACT = `fn affine(x: f32[B, C, H, W], g: f32[C, 1, 1], s: f32[C, 1, 1]) -> f32[B, C, H, W] { return relu(x * g + s) }
fn chan(x: f32[B, C, H, W], g: f32[1, C, 1, 1], v: f32[C, 1, 1]) -> f32[B, C, H, W] { return (x - g) / sqrt(v + 0.00001) }
fn bias(x: f32[B, O], b: f32[O]) -> f32[B, O] { return max(x + b, 0.0) - b * 0.5 }
fn row(x: f32[M, N], r: f32[1, N]) -> f32[M, N] { return select(x > r, x - r, x * 0.25) }
fn col(x: f32[M, N], c: f32[M, 1]) -> f32[M, N] { return x / c + floor(c) }
fn outer(a: f32[M, 1], b: f32[1, N]) -> f32[M, N] { return a * b + a }
fn mixed(x: f32[A, B, C], y: f32[A, 1, C], z: f32[B, 1]) -> f32[A, B, C] { return clamp(x * y, -1.0, z) + sign(y) }`;

function exactCases(B: number, C: number, H: number, W: number): [string, Inputs][] {
  const [M, N] = [B * 2 + 1, C * W];
  const sh = (k: string, s: number[], seed: number, lo = -2, hi = 2) => [k, { data: data(size(s), seed, lo, hi, true), shape: s }] as const;
  return [
    ["affine", Object.fromEntries([sh("x", [B, C, H, W], 1), sh("g", [C, 1, 1], 2), sh("s", [C, 1, 1], 3)])],
    ["chan", Object.fromEntries([sh("x", [B, C, H, W], 4), sh("g", [1, C, 1, 1], 5), sh("v", [C, 1, 1], 6, 0.1, 3)])],
    ["bias", Object.fromEntries([sh("x", [B * H, C * W], 7), sh("b", [C * W], 8)])],
    ["row", Object.fromEntries([sh("x", [M, N], 9), sh("r", [1, N], 10)])],
    ["col", Object.fromEntries([sh("x", [M, N], 11), sh("c", [M, 1], 12)])],
    ["outer", Object.fromEntries([sh("a", [M, 1], 13), sh("b", [1, N], 14)])],
    ["mixed", Object.fromEntries([sh("x", [B, H, W], 15), sh("y", [B, 1, W], 16), sh("z", [H, 1], 17)])],
  ];
}

/** [B, C, H, W] cases: odd sizes, 1–3 element tails, size-1 axes, 7×7 planes, 1-wide planes. */
const SIZES: [number, number, number, number][] = [[2, 3, 5, 5], [1, 4, 7, 7], [3, 2, 1, 1], [2, 5, 1, 9], [1, 1, 4, 4], [4, 3, 2, 3], [2, 2, 3, 35], [1, 6, 6, 1]];

describe("Wasm kernels with broadcast operands", () => {
  it("exact ops over every broadcast pattern (symbolic dims) agree bit for bit with the TS kernels", async () => {
    const { mod } = await buildModule(EXACT);
    for (const name of ["affine", "chan", "bias", "row", "col", "outer", "mixed"]) expect(tsOnly(mod[name]), name).toBe(0);
    for (const [B, C, H, W] of SIZES) {
      for (const [name, ins] of exactCases(B, C, H, W)) {
        agree(await forward(mod[name], ins, wasm), await forward(mod[name], ins, ts), `${name} [${B}, ${C}, ${H}, ${W}]`);
      }
    }
  });

  it("the per-channel affine + relu is Math.fround's formula element by element", async () => {
    const { mod } = await buildModule(EXACT);
    const [B, C, H, W] = [3, 5, 7, 7];
    const x = data(B * C * H * W, 21);
    const g = data(C, 22);
    const s = data(C, 23);
    const y = await forward(mod["affine"], { x: { data: x, shape: [B, C, H, W] }, g: { data: g, shape: [C, 1, 1] }, s: { data: s, shape: [C, 1, 1] } }, wasm);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / (H * W)) % C;
      expect(y[i], `element ${i}`).toBe(Math.max(Math.fround(Math.fround(x[i]! * g[c]!) + s[c]!), 0));
    }
  });

  it("literal dims: size-1 axes drop out, inner runs of 1–3, 4 and 8 elements, a run spanning merged axes", async () => {
    const src = `fn a(x: f32[3, 5, 7], y: f32[5, 1]) -> f32[3, 5, 7] { return x * y - y }
fn b(x: f32[2, 1, 4, 1, 3], y: f32[4, 1, 1]) -> f32[2, 1, 4, 1, 3] { return x + y }
fn c(x: f32[6, 8], y: f32[8]) -> f32[6, 8] { return x * y }
fn d(x: f32[5, 4], y: f32[5, 1]) -> f32[5, 4] { return x - y }
fn e(x: f32[2, 3, 4, 5], y: f32[3, 4, 5]) -> f32[2, 3, 4, 5] { return x * y + 1.0 }
fn f(x: f32[2, 3, 2], y: f32[3, 1], z: f32[2]) -> f32[2, 3, 2] { return x * y + z }`;
    const { mod } = await buildModule(src);
    const cases: [string, number[][]][] = [["a", [[3, 5, 7], [5, 1]]], ["b", [[2, 1, 4, 1, 3], [4, 1, 1]]], ["c", [[6, 8], [8]]], ["d", [[5, 4], [5, 1]]], ["e", [[2, 3, 4, 5], [3, 4, 5]]], ["f", [[2, 3, 2], [3, 1], [2]]]];
    for (const [name, shapes] of cases) {
      expect(tsOnly(mod[name]), name).toBe(0);
      const ins = Object.fromEntries(shapes.map((s, i) => ["xyz"[i]!, { data: data(size(s), 31 + i, -2, 2, true), shape: s }]));
      agree(await forward(mod[name], ins, wasm), await forward(mod[name], ins, ts), name);
    }
  });

  it("tanh, exp and rsqrt with broadcast operands stay within their ulp bounds of the TS kernels", async () => {
    const src = `fn t(x: f32[B, C, H, W], g: f32[C, 1, 1], s: f32[C, 1, 1]) -> f32[B, C, H, W] { return tanh(x * g + s) }
fn r(x: f32[B, C, H, W], v: f32[C, 1, 1]) -> f32[B, C, H, W] { return x * rsqrt(v) }
fn e(x: f32[M, N], c: f32[M, 1]) -> f32[M, N] { return exp(x - c) / exp(c) }`;
    const { mod } = await buildModule(src);
    expect(tsOnly(mod["t"])).toBe(0);
    expect(tsOnly(mod["e"])).toBe(0);
    expect(tsOnly(mod["r"])).toBe(0);
    for (const [B, C, H, W] of SIZES) {
      const ti = { x: { data: data(B * C * H * W, 41), shape: [B, C, H, W] }, g: { data: data(C, 42), shape: [C, 1, 1] }, s: { data: data(C, 43), shape: [C, 1, 1] } };
      agree(await forward(mod["t"], ti, wasm), await forward(mod["t"], ti, ts), `tanh [${B}, ${C}, ${H}, ${W}]`, 3);
      // rsqrt is 1 / sqrt in f32 (two roundings, ≤ 1 ulp), and the product adds at most one more.
      const ri = { x: { data: data(B * C * H * W, 46), shape: [B, C, H, W] }, v: { data: data(C, 47, 0.01, 9), shape: [C, 1, 1] } };
      agree(await forward(mod["r"], ri, wasm), await forward(mod["r"], ri, ts), `rsqrt [${B}, ${C}, ${H}, ${W}]`, 2);
      const ei = { x: { data: data(B * C * H * W, 44, -20, 20), shape: [B * C, H * W] }, c: { data: data(B * C, 45, -5, 5), shape: [B * C, 1] } };
      // exp(x − c) / exp(c): two exps of ≤ 2 ulps each and an exact division.
      agree(await forward(mod["e"], ei, wasm), await forward(mod["e"], ei, ts), `exp [${B * C}, ${H * W}]`, 5);
    }
  });

  it("bit-packed bools: broadcast reads (vector at any bit offset, splat) and writes at runs not aligned to 4 or 32", async () => {
    const src = `fn gt(x: f32[M, N], t: f32[N]) -> bool[M, N] { return x > t }
fn pick(x: f32[M, N], m: bool[M, N], r: f32[1, N]) -> f32[M, N] { return select(m, x * r, r) }
fn rowmask(x: f32[M, N], m: bool[M, 1]) -> f32[M, N] { return select(m, x, -x) }
fn both(x: f32[M, N], m: bool[1, N], c: f32[M, 1]) -> bool[M, N] { return m && x > c }`;
    const { mod } = await buildModule(src);
    // (pick's vjp sums the cotangent where the mask is false, a reduction with a strided bool read: that stays TS, reduce.ts.)
    for (const name of ["gt", "pick", "rowmask", "both"]) expect(tsOnly(mod[name], ["forward"]), name).toBe(0);
    const bools = (n: number, seed: number) => Uint8Array.from(data(n, seed), (v) => (v > 0 ? 1 : 0));
    for (const [M, N] of [[1, 1], [3, 5], [7, 3], [5, 31], [4, 33], [9, 7], [2, 64], [11, 29], [33, 1], [1, 70]] as [number, number][]) {
      const cases: [string, Inputs][] = [
        ["gt", { x: { data: data(M * N, M + N), shape: [M, N] }, t: { data: data(N, N), shape: [N] } }],
        ["pick", { x: { data: data(M * N, M), shape: [M, N] }, m: { data: bools(M * N, N), shape: [M, N] }, r: { data: data(N, 3), shape: [1, N] } }],
        ["rowmask", { x: { data: data(M * N, 5), shape: [M, N] }, m: { data: bools(M, M + 1), shape: [M, 1] } }],
        ["both", { x: { data: data(M * N, 6), shape: [M, N] }, m: { data: bools(N, N + 2), shape: [1, N] }, c: { data: data(M, 7), shape: [M, 1] } }],
      ];
      for (const [name, ins] of cases) {
        const w = await forward(mod[name], ins, wasm);
        agree(w, await forward(mod[name], ins, ts), `${name} [${M}, ${N}]`);
        if (name === "gt") {
          const x = ins["x"]!.data;
          const t = ins["t"]!.data;
          expect(Array.from(w), `gt [${M}, ${N}]`).toEqual(Array.from(x, (v, i) => (v > t[i % N]! ? 1 : 0)));
        }
      }
    }
  });

  it("backward: a batch norm over [B, C, H, W] with per-channel scale and shift gives the TS kernels' gradients, every kernel on Wasm", async () => {
    const src = `fn bn(x: f32[B, C, H, W], g: f32[C, 1, 1], s: f32[C, 1, 1]) -> f32[B, C, H, W] {
  let mu = mean(x, axis = [0, 2, 3], keepdims = true)
  let d = x - mu
  let v = mean(d * d, axis = [0, 2, 3], keepdims = true)
  return relu(d * rsqrt(v + 0.00001) * g + s)
}
fn affine(x: f32[B, C, H, W], g: f32[C, 1, 1], s: f32[C, 1, 1]) -> f32[B, C, H, W] { return relu(x * g + s) }`;
    const { mod } = await buildModule(src);
    expect(tsOnly(mod["bn"])).toBe(0);
    expect(tsOnly(mod["affine"])).toBe(0);
    for (const [B, C, H, W] of [[2, 3, 5, 5], [1, 4, 7, 7], [3, 2, 1, 1], [2, 5, 1, 9]] as [number, number, number, number][]) {
      const shape = [B, C, H, W];
      const ins: Inputs = { x: { data: data(B * C * H * W, B + C), shape }, g: { data: data(C, 2, 0.5, 2), shape: [C, 1, 1] }, s: { data: data(C, 3), shape: [C, 1, 1] } };
      const ct = data(B * C * H * W, 9);
      for (const name of ["bn", "affine"]) {
        const grads = async (device: typeof wasm) => {
          const g = (await mod[name].vjp(args(ins), tensor(ct, shape), { device })) as Record<string, Tensor>;
          return Object.fromEntries(await Promise.all(Object.entries(g).map(async ([k, t]) => [k, (await t.data()) as Float32Array] as const)));
        };
        const [w, t] = [await grads(wasm), await grads(ts)];
        for (const k of ["x", "g", "s"]) {
          if (name === "affine" && k === "x") {
            // dx = ct · [x·g + s > 0] · g: elementwise only, so bit for bit.
            agree(w[k]!, t[k]!, `${name} d${k} [${shape}]`);
            continue;
          }
          // A Wasm sum is the TS sum up to the order of its f64 additions (≤ 1 ulp, docs/language.md §10), and bn's
          // elementwise kernels carry such a difference on: compare relative to the gradient's scale.
          const scale = Math.max(...Array.from(t[k]!, Math.abs), 1e-6);
          for (let i = 0; i < t[k]!.length; i++) expect(Math.abs(w[k]![i]! - t[k]![i]!) / scale, `${name} d${k}[${i}] [${shape}]`).toBeLessThan(1e-5);
        }
      }
    }
  });

  it("random draws in a broadcasting loop keep the TS kernel and its draws", async () => {
    const { mod } = await buildModule("fn noisy(x: f32[M, N], b: f32[N]) -> f32[M, N] { return x * uniform([M, N]) + b }");
    const ins: Inputs = { x: { data: data(5 * 7, 1), shape: [5, 7] }, b: { data: data(7, 2), shape: [7] } };
    const run = async (device: typeof wasm) => (await ((await mod["noisy"].forward(args(ins), { device, seed: 3 })) as Tensor).data()) as Float32Array;
    expect(Array.from(await run(wasm))).toEqual(Array.from(await run(ts)));
    const kernels = (mod["noisy"].spec.forward.steps as { op: string; kernel?: number }[]).filter((s) => s.op === "kernel");
    expect(kernels.length).toBe(1);
    expect(mod["noisy"].spec.wasm?.kernels[kernels[0]!.kernel!] ?? null).toBeNull();
  });
});
