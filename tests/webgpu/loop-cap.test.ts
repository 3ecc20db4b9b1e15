/**
 * llvmpipe (the software adapter these tests run on) stops a WGSL loop after 65,535 iterations in
 * all, re-entries of an inner loop included, and the kernel then goes on with whatever it had
 * summed: a silently wrong result, not an error. These tests run generated kernels whose loops
 * would pass that cap — matrix products with an inner size K over 65,535 (a weight gradient
 * `transpose(x) @ ct` over a big batch is one) and long reductions — on WebGPU and the CPU, each
 * against a sum computed here in f64 by plain loops. Values are positive so a dropped tail of
 * terms moves the result by thousands of times the tolerance.
 */
import { describe, expect, it } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import { MATMUL_SOFTWARE_MAX_K } from "../../runtime/plan.js";
import { tensor, type Tensor } from "../../runtime/tensor.js";
import { buildModule } from "../helpers/build.js";
import { run, sharedDevice, type Backend } from "../helpers/backends.js";
import { rng, stepSpec, values } from "./helpers.js";

const BACKENDS: Backend[] = ["cpu", "webgpu"];

/** Values in [0.5, 1.5): every term of a sum counts, and a missing one shows. */
const positive = (n: number, random: () => number): number[] => Array.from({ length: n }, () => 0.5 + random());

function expectSums(got: readonly number[] | undefined, want: readonly number[], terms: number, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.length, `${what}: element count`).toBe(want.length);
  // f32 sums of `terms` positive terms of size ~1: relative error well under 1e-4 in any order.
  const bad = want.findIndex((w, i) => !(Math.abs(got![i]! - w) <= 1e-4 * Math.abs(w)));
  if (bad >= 0) expect.fail(`${what}[${bad}]: got ${got![bad]}, want ${want[bad]} (a sum of ${terms} terms)`);
}

describe("matrix products with an inner size over 65,535", () => {
  it("a @ b with K = 70,000 (M = 2, N = 3)", async () => {
    const [M, K, N] = [2, 70_000, 3];
    const random = rng(1201);
    const [a, b] = [positive(M * K, random), positive(K * N, random)];
    const want: number[] = [];
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
        want.push(s);
      }
    }
    const src = "fn mm(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }";
    for (const backend of BACKENDS) {
      const r = await run(backend, src, "mm", { a: { data: a, shape: [M, K] }, b: { data: b, shape: [K, N] } });
      expectSums(r.outputs[0], want, K, `a @ b on ${backend}`);
    }
  });

  it("the weight gradient transpose(x) @ ct over 70,000 rows, and x's vjp", async () => {
    const [R, I, H] = [70_000, 3, 2];
    const random = rng(1202);
    const [x, ct] = [positive(R * I, random), positive(R * H, random)];
    const want: number[] = [];
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < H; h++) {
        let s = 0;
        for (let r = 0; r < R; r++) s += x[r * I + i]! * ct[r * H + h]!;
        want.push(s);
      }
    }
    const src = "fn wg(x: f32[R, I], c: f32[R, H]) -> f32[I, H] { return transpose(x) @ c }";
    for (const backend of BACKENDS) {
      const r = await run(backend, src, "wg", { x: { data: x, shape: [R, I] }, c: { data: ct, shape: [R, H] } });
      expectSums(r.outputs[0], want, R, `transpose(x) @ c on ${backend}`);
    }
  });
});

describe("the library matmul step (hand-written plans) with k = 70,000", () => {
  it("matches the f64 sum on the cpu and on webgpu", async () => {
    const [M, K, N] = [3, 70_000, 2];
    const random = rng(1203);
    const [a, b] = [positive(M * K, random), positive(K * N, random)];
    const want: number[] = [];
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
        want.push(s);
      }
    }
    const spec = stepSpec("mm", [{ name: "a", dtype: "f32", shape: [M, K] }, { name: "b", dtype: "f32", shape: [K, N] }], { dtype: "f32", shape: [M, N] }, (o) => ({ op: "matmul", a: 0, b: 1, out: o }));
    const f = defineFunction(spec);
    const ins = { a: tensor(Float32Array.from(a), [M, K]), b: tensor(Float32Array.from(b), [K, N]) };
    expectSums(await values((await f.forward(ins)) as Tensor), want, K, "library matmul on cpu");
    expectSums(await values((await f.forward(ins, { device: await sharedDevice() })) as Tensor), want, K, "library matmul on webgpu");
  });
});

describe("past the unrolled loop's reach: E6017 on a software adapter, never a partial sum", () => {
  it(`a @ b with K = ${MATMUL_SOFTWARE_MAX_K + 16}`, async () => {
    const device = await sharedDevice();
    const K = MATMUL_SOFTWARE_MAX_K + 16;
    const mod = (await buildModule("fn mm(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }")).mod;
    const ins = { a: tensor(new Float32Array(K).fill(1), [1, K]), b: tensor(new Float32Array(K).fill(0.5), [K, 1]) };
    const call = mod["mm"].forward(ins, { device });
    if (device.serialReductions) {
      await expect(call).rejects.toMatchObject({
        code: "E6017",
        message: expect.stringMatching(new RegExp(`mm .*sums ${K} terms per element, more than the ${MATMUL_SOFTWARE_MAX_K} a software adapter's loop limit allows; use a smaller batch or the cpu device`)),
      });
    } else {
      // A hardware adapter has no such cap: the sum must be whole.
      expect(await values((await call) as Tensor)).toEqual([K / 2]);
    }
  });
});

describe("reductions over more than 128 × 65,535 elements per output", () => {
  // On a software adapter a reduction past SERIAL_REDUCE_MAX takes the tree form, whose 128
  // lanes per output each loop over extent / 128 elements: past 128 · 65535 that loop reaches
  // llvmpipe's cap. Ones make the expected sums exact in f32.
  it("sum(x, axis = 1) over x: f32[2, 8,400,000] of ones", async () => {
    const N = 8_400_000;
    const device = await sharedDevice();
    const mod = (await buildModule("fn rows(x: f32[R, N]) -> f32[R] { return sum(x, axis = 1) }")).mod;
    const x = tensor(new Float32Array(2 * N).fill(1), [2, N]);
    expect(await values((await mod["rows"].forward({ x })) as Tensor)).toEqual([N, N]);
    expect(await values((await mod["rows"].forward({ x }, { device })) as Tensor)).toEqual([N, N]);
  });
});
