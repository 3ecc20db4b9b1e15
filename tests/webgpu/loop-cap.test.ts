/**
 * llvmpipe (the software adapter these tests run on) stops a WGSL loop after 65,535 iterations in
 * all, re-entries of an inner loop included, and the kernel then goes on with whatever it had
 * summed: a silently wrong result, not an error. These tests run generated kernels whose loops
 * would pass that cap — matrix products with an inner size K over 65,535 (a weight gradient
 * `transpose(x) @ ct` over a big batch is one) and long reductions — on WebGPU and the CPU, each
 * against a sum computed here in f64 by plain loops; past what a kernel's loops can reach on a
 * software adapter the call must be refused with E6017 instead. Values are positive so a dropped tail of
 * terms moves the result by thousands of times the tolerance.
 */
import { describe, expect, it } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import { MATMUL_SOFTWARE_MAX_K } from "../../runtime/plan.js";
import { tensor, type Tensor } from "../../runtime/tensor.js";
import { buildModule } from "../helpers/build.js";
import { run, sharedDevice } from "../helpers/backends.js";
import { rng, stepSpec, values } from "./helpers.js";

/** Values in [0.5, 1.5): every term of a sum counts, and a missing one shows. */
const positive = (n: number, random: () => number): number[] => Array.from({ length: n }, () => 0.5 + random());

function expectSums(got: readonly number[] | undefined, want: readonly number[], terms: number, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.length, `${what}: element count`).toBe(want.length);
  // f32 sums of `terms` positive terms of size ~1: relative error well under 1e-4 in any order.
  const bad = want.findIndex((w, i) => !(Math.abs(got![i]! - w) <= 1e-4 * Math.abs(w)));
  if (bad >= 0) expect.fail(`${what}[${bad}]: got ${got![bad]}, want ${want[bad]} (a sum of ${terms} terms)`);
}

/** f64 a @ b of row-major [M, K] and [K, N] (aT: a given as [K, M]). */
function product(a: number[], b: number[], M: number, K: number, N: number, aT = false): number[] {
  const want: number[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[aT ? k * M + i : i * K + k]! * b[k * N + j]!;
      want.push(s);
    }
  }
  return want;
}

/** Runs `fn` on the cpu (must match) and on webgpu: exact there too where K fits, else E6017 on a software adapter. */
async function checkProduct(src: string, fn: string, inputs: Record<string, { data: number[]; shape: number[] }>, want: number[], K: number): Promise<void> {
  const r = await run("cpu", src, fn, inputs);
  expectSums(r.outputs[0], want, K, `${fn} on cpu`);
  const device = await sharedDevice();
  const call = run("webgpu", src, fn, inputs);
  if (device.serialReductions && K > MATMUL_SOFTWARE_MAX_K) {
    await expect(call).rejects.toMatchObject({
      code: "E6017",
      message: expect.stringMatching(new RegExp(`${fn} .*: the matrix product \\S+ sums ${K} terms per element, more than the ${MATMUL_SOFTWARE_MAX_K} a software adapter's loop limit allows; use a smaller batch or the cpu device`)),
    });
  } else expectSums((await call).outputs[0], want, K, `${fn} on webgpu`);
}

describe("matrix products with an inner size K around llvmpipe's cap", () => {
  // Before the refusal, K = 70,000 gave 58,312 for 69,979 on llvmpipe (transpose(x) @ c below)
  // and K = 65,520 gave 58,232 for 65,493.
  const MM = "fn mm(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }";
  for (const K of [MATMUL_SOFTWARE_MAX_K, MATMUL_SOFTWARE_MAX_K + 1, 65_520, 70_000]) {
    it(`a @ b with K = ${K} (M = 2, N = 3)`, async () => {
      const [M, N] = [2, 3];
      const random = rng(1201 + K);
      const [a, b] = [positive(M * K, random), positive(K * N, random)];
      await checkProduct(MM, "mm", { a: { data: a, shape: [M, K] }, b: { data: b, shape: [K, N] } }, product(a, b, M, K, N), K);
    });
  }

  it("the weight gradient transpose(x) @ c over 70,000 rows", async () => {
    const [R, I, H] = [70_000, 3, 2];
    const random = rng(1202);
    const [x, c] = [positive(R * I, random), positive(R * H, random)];
    const src = "fn wg(x: f32[R, I], c: f32[R, H]) -> f32[I, H] { return transpose(x) @ c }";
    await checkProduct(src, "wg", { x: { data: x, shape: [R, I] }, c: { data: c, shape: [R, H] } }, product(x, c, I, R, H, true), R);
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

describe("reductions over more than 128 × 65,535 elements per output", () => {
  // On a software adapter a reduction past SERIAL_REDUCE_MAX takes the tree form, whose 128
  // lanes per output each loop over extent / 128 elements: past 128 · 65535 that loop reaches
  // llvmpipe's cap and returned 8388480 here. Ones make the expected sums exact in f32.
  it("sum(x, axis = 1) over x: f32[2, 8,400,000] of ones: E6017 on a software adapter, else exact", async () => {
    const N = 8_400_000;
    const device = await sharedDevice();
    const mod = (await buildModule("fn rows(x: f32[R, N]) -> f32[R] { return sum(x, axis = 1) }")).mod;
    const x = tensor(new Float32Array(2 * N).fill(1), [2, N]);
    expect(await values((await mod["rows"].forward({ x })) as Tensor)).toEqual([N, N]);
    const call = mod["rows"].forward({ x }, { device });
    if (device.serialReductions) {
      await expect(call).rejects.toMatchObject({
        code: "E6017",
        message: expect.stringMatching(/rows .*: the reduction \S+ sums 8400000 elements per output, 65625 per lane, more than the 65535 a software adapter's loop limit allows; reduce in parts or use the cpu device/),
      });
    } else {
      expect(await values((await call) as Tensor)).toEqual([N, N]);
    }
  });

  it("the same sum over 8,388,480 ones (the most a lane may loop over there) is exact on webgpu", async () => {
    const N = 128 * 65535;
    const mod = (await buildModule("fn rows(x: f32[R, N]) -> f32[R] { return sum(x, axis = 1) }")).mod;
    const x = tensor(new Float32Array(N).fill(1), [1, N]);
    expect(await values((await mod["rows"].forward({ x }, { device: await sharedDevice() })) as Tensor)).toEqual([N]);
  });
});
