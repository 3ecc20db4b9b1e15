/**
 * The WGSL library kernels for structural steps against runtime/kernels.ts on random data:
 * each runs as a one-step plan on the cpu and on webgpu and the results are compared.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import type { Step } from "../../runtime/plan.js";
import { tensor, type DType, type Tensor } from "../../runtime/tensor.js";
import type { WebGpuDevice } from "../../runtime/webgpu/device.js";
import { openDevice, randomIndices, randomTensor, rng, stepSpec, values } from "./helpers.js";

let device: WebGpuDevice;
beforeAll(async () => {
  device = await openDevice();
});
afterAll(() => device?.destroy());

/** Runs a one-step fn on both back ends; returns [cpu, gpu] elements and the gpu tensor. */
async function both(
  inputs: Record<string, Tensor>,
  out: { dtype: DType; shape: number[] },
  step: (out: number) => Step,
): Promise<{ cpu: number[]; gpu: number[]; result: Tensor }> {
  const names = Object.keys(inputs);
  const spec = stepSpec(
    "step",
    names.map((name) => ({ name, dtype: inputs[name]!.dtype, shape: [...inputs[name]!.shape] })),
    out,
    step,
  );
  const f = defineFunction(spec);
  const cpu = (await f.forward(inputs)) as Tensor;
  const result = (await f.forward(inputs, { device })) as Tensor;
  expect(result.device).toBe("webgpu");
  expect(result.shape).toEqual(out.shape);
  expect(result.dtype).toBe(out.dtype);
  return { cpu: await values(cpu), gpu: await values(result), result };
}

describe("webgpu matmul (16x16 tiles in workgroup memory)", () => {
  const cases: [string, number[], number[]][] = [
    ["square, one tile", [16, 16], [16, 16]],
    ["ragged edges", [37, 21], [21, 45]],
    ["long inner dim", [5, 300], [300, 3]],
    ["batched", [3, 17, 9], [3, 9, 33]],
    ["batch broadcast (b shared)", [4, 2, 7, 5], [5, 6]],
    ["batch broadcast (size-1 dims)", [2, 1, 7, 5], [1, 3, 5, 4]],
    ["k = 1", [8, 1], [1, 19]],
  ];
  it.each(cases)("%s: %j @ %j matches the cpu to 1e-5 relative", async (_, aShape, bShape) => {
    const random = rng(aShape.length * 100 + bShape[bShape.length - 1]!);
    const a = randomTensor(aShape, random);
    const b = randomTensor(bShape, random);
    const { matmulShape } = await import("../../runtime/matmul.js");
    const outShape = matmulShape(aShape, bShape);
    const { cpu, gpu } = await both({ a, b }, { dtype: "f32", shape: outShape }, (o) => ({ op: "matmul", a: 0, b: 1, out: o }));
    // The cpu sums in f64, the gpu in f32: 1e-5 relative, with values below 1 compared absolutely.
    expect(gpu.length).toBe(cpu.length);
    const worst = Math.max(...cpu.map((c, i) => Math.abs(gpu[i]! - c) / Math.max(1, Math.abs(c))));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe("webgpu transpose", () => {
  const cases: [number[], number[]][] = [
    [[5, 7], [1, 0]],
    [[2, 3, 4], [2, 0, 1]],
    [[3, 1, 4, 5], [3, 1, 0, 2]],
    [[2, 3, 2, 3, 2], [4, 3, 2, 1, 0]],
    [[6], [0]],
  ];
  it.each(cases)("%j by %j is exact (f32 and i32)", async (shape, perm) => {
    const random = rng(shape.length);
    const x = randomTensor(shape, random);
    const outShape = perm.map((p) => shape[p]!);
    const f = await both({ x }, { dtype: "f32", shape: outShape }, (o) => ({ op: "transpose", x: 0, out: o, perm }));
    expect(f.gpu).toEqual(f.cpu);
    const xi = randomIndices(shape, 1000, random);
    const i = await both({ x: xi }, { dtype: "i32", shape: outShape }, (o) => ({ op: "transpose", x: 0, out: o, perm }));
    expect(i.gpu).toEqual(i.cpu);
  });
});

describe("webgpu gather and its gradient", () => {
  const cases: [number[], number[], number][] = [
    [[10, 4], [7], 0],
    [[3, 9, 5], [4, 2], 1],
    [[4, 6], [11], 1],
    [[2, 3, 8], [5], 2],
  ];
  it.each(cases)("gather x %j, idx %j, axis %i is exact", async (shape, idxShape, axis) => {
    const random = rng(axis + 7);
    const x = randomTensor(shape, random);
    const idx = randomIndices(idxShape, shape[axis]!, random);
    const outShape = [...shape.slice(0, axis), ...idxShape, ...shape.slice(axis + 1)];
    const { cpu, gpu } = await both({ x, idx }, { dtype: "f32", shape: outShape }, (o) => ({ op: "gather", x: 0, idx: 1, out: o, axis }));
    expect(gpu).toEqual(cpu);
  });
  it.each(cases)("gather_grad into %j, idx %j (repeats), axis %i matches bit for bit", async (shape, idxShape, axis) => {
    const random = rng(axis + 11);
    // Few distinct indices, so most rows receive several contributions.
    const idx = randomIndices(idxShape, Math.min(3, shape[axis]!), random);
    const ctShape = [...shape.slice(0, axis), ...idxShape, ...shape.slice(axis + 1)];
    const ct = randomTensor(ctShape, random);
    const { cpu, gpu } = await both({ ct, idx }, { dtype: "f32", shape }, (o) => ({ op: "gather_grad", ct: 0, idx: 1, out: o, axis }));
    expect(gpu).toEqual(cpu);
    expect(cpu.some((v) => v !== 0)).toBe(true);
  });
});

describe("webgpu nm_mask", () => {
  it.each([
    [[8, 16], 2, 4],
    [[3, 24], 1, 8],
    [[40], 3, 4],
  ])("%j with n=%i, m=%i matches", async (shape, n, m) => {
    const w = randomTensor(shape as number[], rng(n * 10 + m));
    const { cpu, gpu } = await both({ w }, { dtype: "f32", shape: shape as number[] }, (o) => ({ op: "nm_mask", w: 0, out: o, n, m }));
    expect(gpu).toEqual(cpu);
  });
  it("ties go to the lower index, NaN ranks as 0, -0 ties with 0", async () => {
    const w = tensor([1, -1, 1, 0.5, NaN, 0, -0, 2, 3, 3, -3, 3], [12]);
    const { cpu, gpu } = await both({ w }, { dtype: "f32", shape: [12] }, (o) => ({ op: "nm_mask", w: 0, out: o, n: 2, m: 4 }));
    expect(gpu).toEqual(cpu);
    expect(cpu).toEqual([1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0]);
  });
});
