/**
 * The numbers of fused matrix products (compiler/schedule-matmul.ts, codegen/wgsl/matmul.ts,
 * `matmulKernelTs`): plain products at sizes around the 64 x 64 x 16 tiles, transposed reads
 * (every vjp), prologues and epilogues with broadcast, scalar-option, iota and i32 reads, batched
 * products with broadcast batch dims, and a std/binary estimator through a product — forward and
 * vjp on every back end (tests/helpers/backends.ts: the f64 evaluator, the generated module on the
 * CPU and on WebGPU), each against a reference computed here in f64 by plain loops, independent of
 * the compiler. Which kernels these programs become is asserted in tests/compiler/schedule-matmul.test.ts.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { cpu, tensor, type Tensor } from "estc/runtime";
import { generateModule } from "../../compiler/codegen/ts/module.js";
import { differentiate, type DifferentiatedFn } from "../../compiler/differentiate.js";
import { checkFiles } from "../../compiler/pipeline.js";
import { CPU_KERNEL_BACKENDS as BACKENDS, run, sharedDevice, type Backend, type Input, type RunResult } from "../helpers/backends.js";
import { buildModule, tmpRoot } from "../helpers/build.js";
import { memoryHost } from "../helpers/compile.js";
import { rng } from "./helpers.js";
import { count, matmul, matmulVjp, sumTo, swapLast, uniform, zip, at, arr, type Arr } from "../helpers/arrays.js";

const input = (a: Arr): Input => ({ data: a.data, shape: a.shape });
const maxAbs = (xs: readonly number[]) => Math.max(0, ...xs.map(Math.abs));

/**
 * Asserts `got` ≈ `want`, a result of sums of `k` products. Tolerance: the GPU sums in f32 in
 * tiles and the CPU module rounds f64 sums and every stored value to f32, so an element may be
 * off by the f32 rounding of a sum of k terms. With random signs that error grows like
 * √k · 2⁻²⁴ · (the terms' scale), and with operands of magnitude ≤ 1 (most inputs here) the
 * terms' scale is at most max(1, max|want|); 1e-5 · √k · max(1, max|want|) is about 170 times that estimate, yet a
 * misplaced, missing or doubled term (of size ~1, or ~max|want|/√k) exceeds it many times over.
 * The f64 evaluator sums in another order than the loops here: 1e-12 covers it.
 */
function expectNear(got: readonly number[] | undefined, want: Arr, k: number, backend: Backend, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.length, `${what}: element count`).toBe(want.data.length);
  const allowed = (backend === "f64" ? 1e-12 : 1e-5) * Math.sqrt(Math.max(k, 1)) * Math.max(1, maxAbs(want.data));
  const bad = want.data.findIndex((w, i) => !(Math.abs(got![i]! - w) <= allowed));
  if (bad >= 0) expect.fail(`${what}[${bad}] of [${want.shape.join(", ")}]: got ${got![bad]}, want ${want.data[bad]} (allowed ±${allowed.toExponential(2)})`);
}

/** The test's premise: a reference of all zeros (or near) would let a broken kernel pass. */
function expectSubstantial(want: Arr, what: string): void {
  if (want.data.length > 0) expect(maxAbs(want.data), `${what}: reference is ~0`).toBeGreaterThan(1e-3);
}

/** Runs fn `name` with `inputs` (and cotangent `ct`) on every back end; checks `want` for each. */
async function check(
  src: string,
  name: string,
  inputs: Record<string, Input>,
  want: { outputs: [Arr, number][]; grads?: Record<string, [Arr, number]> },
  opts: { ct?: Arr; scalars?: Record<string, number>; valueAndGrad?: boolean } = {},
): Promise<void> {
  for (const [w] of want.outputs) expectSubstantial(w, `${name} output`);
  for (const [g, [w]] of Object.entries(want.grads ?? {})) expectSubstantial(w, `${name} d${g}`);
  for (const backend of BACKENDS) {
    const r: RunResult = await run(backend, src, name, inputs, {
      ...(opts.ct === undefined ? {} : { ct: [opts.ct.data] }),
      ...(opts.scalars === undefined ? {} : { scalars: opts.scalars }),
      ...(opts.valueAndGrad ? { valueAndGrad: true } : {}),
    });
    want.outputs.forEach(([w, k], i) => expectNear(r.outputs[i], w, k, backend, `${name} on ${backend}: output ${i}`));
    for (const [g, [w, k]] of Object.entries(want.grads ?? {})) expectNear(r.grads[g], w, k, backend, `${name} on ${backend}: d${g}`);
  }
}

/** Gradients through `vjpFn` (forward with residuals, then the pullback: two more schedules) on the cpu or webgpu. */
async function pullbackGrads(backend: "cpu" | "webgpu", src: string, name: string, inputs: Record<string, Input>, ct: Arr, scalars: Record<string, number> = {}): Promise<Record<string, number[]>> {
  const entry = (await buildModule(src)).mod[name];
  const device = backend === "cpu" ? cpu() : await sharedDevice();
  const ins: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ins[k] = tensor(v.dtype === "i32" ? Int32Array.from(v.data) : Float32Array.from(v.data), v.shape);
  const { pullback } = await entry.vjpFn(ins, { ...scalars, device });
  const grads = (await pullback(tensor(Float32Array.from(ct.data), ct.shape))) as Record<string, Tensor>;
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(grads)) out[k] = Array.from(await t.data(), Number);
  return out;
}

describe("a @ b: sizes around the tiles, forward and vjp (both operands read transposed)", () => {
  const SRC = "fn mm(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }";
  const sizes: [number, number, number][] = [
    [70, 33, 130], // past one tile in M and N (two and three blocks), K two slices and a part
    [1, 1, 1],
    [64, 16, 64], // exactly one tile and one slice
    [3, 100, 5], // long K with a short tail slice, tiny M and N
    [129, 17, 2],
  ];
  for (const [M, K, N] of sizes) {
    it(`${M} x ${K} x ${N}`, async () => {
      const random = rng(M * 10007 + K * 101 + N);
      const [a, b, ct] = [uniform([M, K], random), uniform([K, N], random), uniform([M, N], random)];
      const [da, db] = matmulVjp(a, b, ct);
      await check(SRC, "mm", { a: input(a), b: input(b) }, { outputs: [[matmul(a, b), K]], grads: { a: [da, N], b: [db, M] } }, { ct });
    });
  }
});

describe("zero-sized dims", () => {
  const SRC = "fn mm(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }";
  for (const [M, K, N] of [[0, 3, 4], [3, 0, 4], [3, 4, 0]] as [number, number, number][]) {
    it(`${M} x ${K} x ${N}`, async () => {
      const random = rng(7);
      const [a, b, ct] = [uniform([M, K], random), uniform([K, N], random), uniform([M, N], random)];
      const [da, db] = matmulVjp(a, b, ct);
      for (const backend of BACKENDS) {
        const r = await run(backend, SRC, "mm", { a: input(a), b: input(b) }, { ct: [ct.data] });
        expectNear(r.outputs[0], matmul(a, b), K, backend, `${backend} output`);
        expectNear(r.grads["a"], da, N, backend, `${backend} da`);
        expectNear(r.grads["b"], db, M, backend, `${backend} db`);
      }
    });
  }
});

describe("a transpose another kernel also reads", () => {
  it("(x @ transpose(u), transpose(u) * 2): forward and vjp of both outputs", async () => {
    const src = `fn both(x: f32[B, I], u: f32[H, I]) -> (f32[B, H], f32[I, H]) {
      let t = transpose(u)
      return (x @ t, t * 2)
    }`;
    const [B, I, H] = [66, 21, 70];
    const random = rng(18);
    const [x, u, ct0, ct1] = [uniform([B, I], random), uniform([H, I], random), uniform([B, H], random), uniform([I, H], random)];
    const t = swapLast(u);
    const [dx, dt] = matmulVjp(x, t, ct0);
    const du = swapLast(zip([I, H], [dt, ct1], (g, c) => g + 2 * c));
    for (const backend of BACKENDS) {
      const r = await run(backend, src, "both", { x: input(x), u: input(u) }, { ct: [ct0.data, ct1.data] });
      expectNear(r.outputs[0], matmul(x, t), I, backend, `${backend} x @ t`);
      expectNear(r.outputs[1], zip([I, H], [t], (v) => 2 * v), 1, backend, `${backend} t * 2`);
      expectNear(r.grads["x"], dx, H, backend, `${backend} dx`);
      expectNear(r.grads["u"], du, B, backend, `${backend} du`);
    }
  });
});

describe("both operands one computed value", () => {
  it("tanh(x) @ transpose(tanh(x)) (a Gram matrix), forward and vjp", async () => {
    const src = "fn gram(x: f32[B, I]) -> f32[B, B] { return tanh(x) @ transpose(tanh(x)) }";
    const [B, I] = [70, 33];
    const random = rng(21);
    const [x, ct] = [uniform([B, I], random), uniform([B, B], random)];
    const y = zip([B, I], [x], Math.tanh);
    const dy = zip([B, I], [matmul(ct, y), matmul(swapLast(ct), y)], (p, q) => p + q);
    const dx = zip([B, I], [dy, y], (g, y) => g * (1 - y * y));
    await check(src, "gram", { x: input(x) }, { outputs: [[matmul(y, swapLast(y)), I]], grads: { x: [dx, 2 * B] } }, { ct });
  });
});

describe("prologues", () => {
  const SRC = "fn pro(x: f32[B, I], c: f32[B, 1], w: f32[I, H], s: f32[H], k: f32 = 2.0) -> f32[B, H] { return tanh(x * c) @ (w * s * k) }";

  for (const k of [undefined, 0.75]) {
    it(`tanh(x * c) @ (w * s * k): broadcast reads on both operands, k = ${k ?? "2 (default)"}`, async () => {
      const [B, I, H] = [70, 20, 67];
      const random = rng(11);
      const [x, c, w, s, ct] = [uniform([B, I], random), uniform([B, 1], random), uniform([I, H], random), uniform([H], random), uniform([B, H], random)];
      const kv = k ?? 2;
      const xa = zip([B, I], [x, c], (x, c) => Math.tanh(x * c));
      const wb = zip([I, H], [w, s], (w, s) => w * s * kv);
      const [dxa, dwb] = matmulVjp(xa, wb, ct);
      const dpre = zip([B, I], [dxa, xa], (g, t) => g * (1 - t * t));
      const grads = {
        x: [zip([B, I], [dpre, c], (g, c) => g * c), H],
        c: [sumTo(zip([B, I], [dpre, x], (g, x) => g * x), [B, 1]), H * I],
        w: [zip([I, H], [dwb, s], (g, s) => g * s * kv), B],
        s: [sumTo(zip([I, H], [dwb, w], (g, w) => g * w * kv), [H]), B * I],
      } satisfies Record<string, [Arr, number]>;
      const inputs = { x: input(x), c: input(c), w: input(w), s: input(s) };
      await check(SRC, "pro", inputs, { outputs: [[matmul(xa, wb), I]], grads }, { ct, ...(k === undefined ? {} : { scalars: { k } }) });
    });
  }

  it("x @ (w * iota(axis 0) + iota(axis 1) / 8): the prologue computes coordinates", async () => {
    const src = "fn io(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ (w * iota([I, H], axis = 0) + iota([I, H], axis = 1) * 0.125) }";
    const [B, I, H] = [66, 19, 70];
    const random = rng(12);
    const [x, w, ct] = [uniform([B, I], random), uniform([I, H], random), uniform([B, H], random)];
    const wb = arr([I, H], (j) => w.data[j]! * Math.floor(j / H) + (j % H) * 0.125);
    const [dx, dwb] = matmulVjp(x, wb, ct);
    const dw = arr([I, H], (j) => dwb.data[j]! * Math.floor(j / H));
    await check(src, "io", { x: input(x), w: input(w) }, { outputs: [[matmul(x, wb), I]], grads: { x: [dx, H], w: [dw, B] } }, { ct });
  });
});

describe("epilogues", () => {
  const SRC = `fn epi(x: f32[B, I], w: f32[I, H], b: f32[H], r: f32[B, 1], m: i32[B, H], k: f32 = 2.0) -> f32[B, H] {
    let y = x @ w / k + b
    return select(m, y * r, tanh(y)) + select(m > 1, y, 0.5)
  }`;

  it("a broadcast bias and row scale, a scalar option, an i32 input and a bit-packed bool read", async () => {
    const [B, I, H] = [70, 33, 67];
    const random = rng(13);
    const [x, w, b, r, ct] = [uniform([B, I], random), uniform([I, H], random), uniform([H], random), uniform([B, 1], random), uniform([B, H], random)];
    const m = arr([B, H], () => Math.floor(random() * 4) - 1); // -1, 0, 1, 2: both branches, both signs
    const k = 0.5;
    const y = zip([B, H], [matmul(x, w), b], (p, b) => p / k + b);
    const out = zip([B, H], [y, r, m], (y, r, m) => (m !== 0 ? y * r : Math.tanh(y)) + (m > 1 ? y : 0.5));
    const dy = zip([B, H], [ct, y, r, m], (g, y, r, m) => g * (m !== 0 ? r : 1 - Math.tanh(y) ** 2) + (m > 1 ? g : 0));
    const [dx, dw] = matmulVjp(x, w, zip([B, H], [dy], (g) => g / k));
    const grads = {
      x: [dx, H],
      w: [dw, B],
      b: [sumTo(dy, [H]), B],
      r: [sumTo(zip([B, H], [ct, y, m], (g, y, m) => (m !== 0 ? g * y : 0)), [B, 1]), H * I],
    } satisfies Record<string, [Arr, number]>;
    const inputs = { x: input(x), w: input(w), b: input(b), r: input(r), m: { ...input(m), dtype: "i32" as const } };
    await check(SRC, "epi", inputs, { outputs: [[out, I]], grads }, { ct, scalars: { k } });
    for (const backend of ["cpu", "webgpu"] as const) {
      const got = await pullbackGrads(backend, SRC, "epi", inputs, ct, { k });
      for (const [g, [want, kk]] of Object.entries(grads)) expectNear(got[g], want, kk, backend, `epi on ${backend}: vjpFn d${g}`);
    }
  });

  it("x @ w + b > 0 as a bool result (stored bit-packed by a kernel of its own) and as ±1 in i32 (stored by the product)", async () => {
    // Dyadic inputs (x, w in eighths, b an odd number of 128ths): every sum is exact and never 0.
    const src = `
      fn positive(x: f32[B, I], w: f32[I, H], b: f32[H]) -> bool[B, H] { return x @ w + b > 0 }
      fn vote(x: f32[B, I], w: f32[I, H], b: f32[H]) -> i32[B, H] { return (x @ w + b > 0) ? 1 : -1 }`;
    const [B, I, H] = [67, 18, 70];
    const random = rng(19);
    const eighths = (shape: number[]) => arr(shape, () => (Math.floor(random() * 17) - 8) / 8);
    const [x, w] = [eighths([B, I]), eighths([I, H])];
    const b = arr([H], () => (2 * Math.floor(random() * 64) - 63) / 128);
    const positive = zip([B, H], [matmul(x, w), b], (p, b) => (p + b > 0 ? 1 : 0));
    expect(positive.data.filter((v) => v === 1).length / positive.data.length).toBeGreaterThan(0.3);
    const inputs = { x: input(x), w: input(w), b: input(b) };
    for (const backend of BACKENDS) {
      expect((await run(backend, src, "positive", inputs)).outputs[0]!.map(Number), `${backend} positive`).toEqual(positive.data);
      expect((await run(backend, src, "vote", inputs)).outputs[0], `${backend} vote`).toEqual(positive.data.map((v) => 2 * v - 1));
    }
  });

  it("sum(tanh(x @ w)) by valueAndGrad: an epilogue feeding a reduction", async () => {
    const src = "fn loss(x: f32[B, I], w: f32[I, H]) -> f32 { return sum(tanh(x @ w)) }";
    const [B, I, H] = [65, 24, 70];
    const random = rng(14);
    const [x, w] = [uniform([B, I], random), uniform([I, H], random)];
    const t = zip([B, H], [matmul(x, w)], Math.tanh);
    const [dx, dw] = matmulVjp(x, w, zip([B, H], [t], (t) => 1 - t * t));
    const value: Arr = { data: [t.data.reduce((p, v) => p + v, 0)], shape: [] };
    await check(src, "loss", { x: input(x), w: input(w) }, { outputs: [[value, B * H * I]], grads: { x: [dx, H], w: [dw, B] } }, { valueAndGrad: true });
  });
});

describe("two products whose epilogues read each other's results", () => {
  it("(m1 + tanh(m2) * s, m2 + exp(m1) * s), forward and vjp of both outputs", async () => {
    const src = `fn cross(x: f32[B, I], w: f32[I, B], y: f32[B, I], v: f32[I, B], z: f32[B, B]) -> (f32[B, B], f32[B, B]) {
      let m1 = x @ w
      let m2 = y @ v
      let s = z * z
      return (m1 + tanh(m2) * s, m2 + exp(m1) * s)
    }`;
    const [B, I] = [67, 33];
    const random = rng(20);
    const half = (shape: number[]) => zip(shape, [uniform(shape, random)], (v) => Math.fround(v / 2));
    const [x, w, y, v, z, ct0, ct1] = [half([B, I]), half([I, B]), half([B, I]), half([I, B]), uniform([B, B], random), uniform([B, B], random), uniform([B, B], random)];
    const [m1, m2] = [matmul(x, w), matmul(y, v)];
    const s = zip([B, B], [z], (z) => z * z);
    const out0 = zip([B, B], [m1, m2, s], (a, b, s) => a + Math.tanh(b) * s);
    const out1 = zip([B, B], [m1, m2, s], (a, b, s) => b + Math.exp(a) * s);
    const dm1 = zip([B, B], [ct0, ct1, m1, s], (g0, g1, a, s) => g0 + g1 * Math.exp(a) * s);
    const dm2 = zip([B, B], [ct0, ct1, m2, s], (g0, g1, b, s) => g1 + g0 * (1 - Math.tanh(b) ** 2) * s);
    const [dx, dw] = matmulVjp(x, w, dm1);
    const [dy, dv] = matmulVjp(y, v, dm2);
    const dz = zip([B, B], [ct0, ct1, m1, m2, z], (g0, g1, a, b, z) => (g0 * Math.tanh(b) + g1 * Math.exp(a)) * 2 * z);
    for (const backend of BACKENDS) {
      const r = await run(backend, src, "cross", { x: input(x), w: input(w), y: input(y), v: input(v), z: input(z) }, { ct: [ct0.data, ct1.data] });
      expectNear(r.outputs[0], out0, I, backend, `${backend} output 0`);
      expectNear(r.outputs[1], out1, I, backend, `${backend} output 1`);
      const grads = { x: [dx, B], w: [dw, B], y: [dy, B], v: [dv, B], z: [dz, I] } satisfies Record<string, [Arr, number]>;
      for (const [name, [want, k]] of Object.entries(grads)) expectNear(r.grads[name], want, k, backend, `${backend} d${name}`);
    }
  });
});

describe("batched products with broadcast batch dims", () => {
  const SRC = `
    fn bat(a: f32[G, M, K], b: f32[K, N]) -> f32[G, M, N] { return a @ b }
    fn bat1(a: f32[1, M, K], b: f32[G, K, N]) -> f32[G, M, N] { return a @ b }
    fn bat4(a: f32[G, 1, M, K], b: f32[P, K, N]) -> f32[G, P, M, N] { return a @ b }`;
  const [G, P, M, K, N] = [3, 2, 17, 20, 66];
  const cases: [string, number[], number[]][] = [
    ["bat", [G, M, K], [K, N]],
    ["bat1", [1, M, K], [G, K, N]],
    ["bat4", [G, 1, M, K], [P, K, N]],
  ];
  for (const [name, as, bs] of cases) {
    it(`${name}: a [${as}] @ b [${bs}], forward and vjp`, async () => {
      const random = rng(15 + as.length * 7 + bs.length);
      const [a, b] = [uniform(as, random), uniform(bs, random)];
      const out = matmul(a, b);
      const ct = uniform(out.shape, random);
      const [da, db] = matmulVjp(a, b, ct);
      // A gradient summed over broadcast batches adds up (batches) sums of M or N terms.
      const batches = count(out.shape.slice(0, -2));
      await check(SRC, name, { a: input(a), b: input(b) }, { outputs: [[out, K]], grads: { a: [da, N * batches], b: [db, M * batches] } }, { ct });
    });
  }

  it("tanh((a * r) @ (b * 0.5)) * s: prologues reading per-batch and shared values, an epilogue broadcast over rows", async () => {
    const src = "fn batf(a: f32[G, M, K], r: f32[G, 1, K], b: f32[K, N], s: f32[G, 1, N]) -> f32[G, M, N] { return tanh((a * r) @ (b * 0.5)) * s }";
    const random = rng(16);
    const [a, r, b, s, ct] = [uniform([G, M, K], random), uniform([G, 1, K], random), uniform([K, N], random), uniform([G, 1, N], random), uniform([G, M, N], random)];
    const ar = zip([G, M, K], [a, r], (a, r) => a * r);
    const half = zip([K, N], [b], (v) => v * 0.5);
    const t = zip([G, M, N], [matmul(ar, half)], Math.tanh);
    const dy = zip([G, M, N], [ct, s, t], (g, s, t) => g * s * (1 - t * t));
    const [dar, dhalf] = matmulVjp(ar, half, dy);
    const grads = {
      a: [zip([G, M, K], [dar, r], (g, r) => g * r), N],
      r: [sumTo(zip([G, M, K], [dar, a], (g, a) => g * a), [G, 1, K]), M * N],
      b: [zip([K, N], [dhalf], (g) => g * 0.5), G * M],
      s: [sumTo(zip([G, M, N], [ct, t], (g, t) => g * t), [G, 1, N]), M * K],
    } satisfies Record<string, [Arr, number]>;
    const inputs = { a: input(a), r: input(r), b: input(b), s: input(s) };
    await check(src, "batf", inputs, { outputs: [[zip([G, M, N], [t, s], (t, s) => t * s), K]], grads }, { ct });
  });
});

describe("a std/binary estimator through a product", () => {
  const SRC = `import { ClippedSTE } from "std/binary"
    fn layer(x: f32[B, I], w: f32[I, H], b: f32[H]) -> f32[B, H] {
      return sign(x @ (sign(w) backward ClippedSTE) / sqrt(I) + b) backward ClippedSTE
    }`;

  it("sign(x @ sign(w) / sqrt(I) + b) with ClippedSTE on both signs, forward and vjp", async () => {
    // Dyadic inputs keep every sum exact in f32: x in eighths, I = 16 (sqrt(I) = 4), b an odd
    // number of 64ths, so x @ sign(w) / 4 + b is a nonzero multiple of 1/64 and never ±1 — no
    // back end can land on the other side of sign's 0 or of the clip's |·| <= 1.
    const [B, I, H] = [70, 16, 67];
    const random = rng(17);
    const x = arr([B, I], () => (Math.floor(random() * 17) - 8) / 8);
    const w = arr([I, H], () => (Math.floor(random() * 48) - 24) / 16 + 1 / 32); // |w| up to 1.53: clipped and not
    const b = arr([H], () => (2 * Math.floor(random() * 64) - 63) / 64);
    const ct = arr([B, H], () => (Math.floor(random() * 9) - 4) / 4);
    const sw = zip([I, H], [w], (v) => (v >= 0 ? 1 : -1));
    const pre = zip([B, H], [matmul(x, sw), b], (p, b) => p / 4 + b);
    const out = zip([B, H], [pre], (v) => (v >= 0 ? 1 : -1));
    const dpre = zip([B, H], [ct, pre], (g, v) => (Math.abs(v) <= 1 ? g : 0));
    const [dx, dsw] = matmulVjp(x, sw, zip([B, H], [dpre], (g) => g / 4));
    const dw = zip([I, H], [dsw, w], (g, v) => (Math.abs(v) <= 1 ? g : 0));
    expect(pre.data.some((v) => Math.abs(v) > 1) && pre.data.some((v) => Math.abs(v) < 1)).toBe(true);
    const grads = { x: [dx, H], w: [dw, B], b: [sumTo(dpre, [H]), B] } satisfies Record<string, [Arr, number]>;
    const inputs = { x: input(x), w: input(w), b: input(b) };
    await check(SRC, "layer", inputs, { outputs: [[out, I]], grads }, { ct });
    for (const backend of ["cpu", "webgpu"] as const) {
      const got = await pullbackGrads(backend, SRC, "layer", inputs, ct);
      for (const [g, [want, k]] of Object.entries(grads)) expectNear(got[g], want, k, backend, `layer on ${backend}: vjpFn d${g}`);
    }
  });
});

/** `text` built with every product bare (`estc build --fuse-matmul off`) and imported. */
async function bareModule(text: string): Promise<Record<string, any>> {
  const checked = checkFiles(["main.est"], memoryHost({ "main.est": text }));
  const program = checked.programs[0]!;
  const fns: DifferentiatedFn[] = [];
  for (const item of program.program.entry.ast.items) if (item.kind === "Fn") fns.push(differentiate(program, program.program.entry, item).fn!);
  const mod = await generateModule("main.est", fns, checked.sources, true, false);
  const dir = path.join(tmpRoot, `bare-${crypto.createHash("sha1").update(text).digest("hex").slice(0, 12)}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "main.js"), mod.js!);
  fs.writeFileSync(path.join(dir, "main.wgsl.js"), mod.wgslJs!);
  return (await import(pathToFileURL(path.join(dir, "main.js")).href)) as Record<string, any>;
}

/** Forward outputs and vjp gradients of one entry of a module, as f32 bit patterns. */
async function bitsOf(entry: any, inputs: Record<string, Input>, ct: Arr, device: unknown): Promise<Record<string, number[]>> {
  const ins: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ins[k] = tensor(v.dtype === "i32" ? Int32Array.from(v.data) : Float32Array.from(v.data), v.shape);
  const bits = async (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(await t.data()).buffer));
  const out: Record<string, number[]> = { out: await bits((await entry.forward(ins, { device })) as Tensor) };
  const grads = (await entry.vjp(ins, tensor(Float32Array.from(ct.data), ct.shape), { device })) as Record<string, Tensor>;
  for (const [k, t] of Object.entries(grads)) out[`d${k}`] = await bits(t);
  return out;
}

describe("fused products against the same program with every product bare", () => {
  // WebGPU computes every value in f32 in both builds and sums a product in the same tiled
  // kernel, so they agree bit for bit (on llvmpipe; a shader compiler that contracted a * b + c
  // into an fma in one kernel and not the other would break that). The CPU sums in f64 and rounds
  // each stored value: a value one build stores (an epilogue output) and the other recomputes in
  // f64 inside a fused loop is rounded once more in the first, so the builds differ by an ulp
  // here and there (about a quarter of the elements of this program; docs/language.md's "bit for
  // bit" holds only where both builds store the same values). 4 ulps of the largest magnitude bound it.
  const SRC = `import { ClippedSTE } from "std/binary"
    fn layer(x: f32[B, I], w: f32[I, H], b: f32[H], s: f32[H]) -> f32[B, H] {
      return tanh(sign(x @ (sign(w) backward ClippedSTE) / sqrt(I) + b) backward ClippedSTE) * s + x @ (w * s)
    }`;
  it("a layer with prologues, epilogues and transposed reads, forward and vjp", async () => {
    const [B, I, H] = [70, 33, 67];
    const random = rng(22);
    const inputs = { x: input(uniform([B, I], random)), w: input(uniform([I, H], random)), b: input(uniform([H], random)), s: input(uniform([H], random)) };
    const ct = uniform([B, H], random);
    const [fused, bare] = [(await buildModule(SRC)).mod["layer"], (await bareModule(SRC))["layer"]];
    for (const backend of ["cpu", "webgpu"] as const) {
      const device = backend === "cpu" ? cpu() : await sharedDevice();
      const [f, b] = [await bitsOf(fused, inputs, ct, device), await bitsOf(bare, inputs, ct, device)];
      expect(Object.keys(f)).toEqual(["out", "dx", "dw", "db", "ds"]);
      for (const k of Object.keys(f)) {
        if (backend === "webgpu") {
          expect(f[k], `${backend} ${k}`).toEqual(b[k]);
          continue;
        }
        const [fv, bv] = [Array.from(new Float32Array(Uint32Array.from(f[k]!).buffer)), Array.from(new Float32Array(Uint32Array.from(b[k]!).buffer))];
        const allowed = 4 * 2 ** -23 * Math.max(1, maxAbs(bv));
        const worst = Math.max(...fv.map((v, i) => Math.abs(v - bv[i]!)));
        expect(worst, `cpu ${k}: fused vs bare`).toBeLessThanOrEqual(allowed);
      }
    }
  });
});
