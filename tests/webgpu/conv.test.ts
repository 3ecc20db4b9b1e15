/**
 * CPU ≡ WebGPU for conv2d (the implicit-GEMM kernels of runtime/webgpu/conv-kernels.ts against
 * im2col + gemm on the CPU) and the poolings, over every geometry of tests/helpers/conv-naive.ts:
 * forwards and vjp gradients within 1e-5, max pooling's gradient (ties and NaNs included) bit for
 * bit, and the webgpu forward against the naive loop as well, so agreeing on a shared mistake is
 * caught.
 */
import * as fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { run, sharedDevice } from "../helpers/backends.js";
import { convCases, convOutShape, convSrc, naiveConv2d, naivePool2d, poolCases, poolSrc } from "../helpers/conv-naive.js";
import { expectClose } from "../helpers/expect.js";
import { rng } from "../helpers/gradcheck.js";

afterAll(async () => (await sharedDevice()).destroy());

const random = (n: number, seed: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(r() * 2 - 1));
};
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe("conv2d: webgpu against the cpu", () => {
  it.each(convCases.map((c) => [c.name, c] as const))("%s", async (_n, c) => {
    const x = random(size(c.xs), 11);
    const w = random(size(c.ws), 12);
    const ct = random(size(convOutShape(c)), 13);
    const inputs = { x: { data: x, shape: c.xs }, w: { data: w, shape: c.ws } };
    const cpu = await run("cpu", convSrc(c), "f", inputs, { ct: [ct] });
    const gpu = await run("webgpu", convSrc(c), "f", inputs, { ct: [ct] });
    expectClose(gpu.outputs[0], naiveConv2d(x, c.xs, w, c.ws, c.g).data, 1e-5, "webgpu forward vs naive");
    expectClose(gpu.outputs[0], cpu.outputs[0]!, 1e-5, "forward");
    expectClose(gpu.grads["x"], cpu.grads["x"]!, 1e-5, "dx");
    expectClose(gpu.grads["w"], cpu.grads["w"]!, 1e-5, "dw");
  });

  it("symbolic H and W (stride 2, padding [1, 0], then a 2x2 max pool): one compiled fn at two sizes", async () => {
    const src = `fn f(x: f32[B, 2, H, W], w: f32[3, 2, 3, 3]) -> f32[B, 3, ((H - 1) / 2 + 1) / 2, ((W - 3) / 2 + 1) / 2] {
      return max_pool2d(conv2d(x, w, stride = 2, padding = [1, 0]), 2)
    }`;
    for (const [b, h, w] of [[2, 9, 12], [1, 6, 7]] as const) {
      const x = random(b * 2 * h * w, h);
      const wt = random(3 * 2 * 9, 16);
      const conv = naiveConv2d(x, [b, 2, h, w], wt, [3, 2, 3, 3], { stride: [2, 2], padding: [1, 0] });
      const want = naivePool2d("max", conv.data, conv.shape, [2, 2]);
      const ct = random(want.data.length, 17);
      const inputs = { x: { data: x, shape: [b, 2, h, w] }, w: { data: wt, shape: [3, 2, 3, 3] } };
      const cpu = await run("cpu", src, "f", inputs, { ct: [ct] });
      const gpu = await run("webgpu", src, "f", inputs, { ct: [ct] });
      expectClose(gpu.outputs[0], want.data, 1e-5, `webgpu forward vs naive at H ${h}, W ${w}`);
      expectClose(gpu.outputs[0], cpu.outputs[0]!, 1e-5, `forward at H ${h}, W ${w}`);
      expectClose(gpu.grads["x"], cpu.grads["x"]!, 1e-5, `dx at H ${h}, W ${w}`);
      expectClose(gpu.grads["w"], cpu.grads["w"]!, 1e-5, `dw at H ${h}, W ${w}`);
    }
  });

  it("a layer of the example's size: 4 x 8 x 28 x 28, 3x3 weights, padding 1", async () => {
    const src = "fn f(x: f32[B, 8, 28, 28], w: f32[16, 8, 3, 3]) -> f32[B, 16, 28, 28] { return conv2d(x, w, padding = 1) }";
    const x = random(4 * 8 * 784, 14);
    const w = random(16 * 8 * 9, 15);
    const ct = random(4 * 16 * 784, 16);
    const inputs = { x: { data: x, shape: [4, 8, 28, 28] }, w: { data: w, shape: [16, 8, 3, 3] } };
    const cpu = await run("cpu", src, "f", inputs, { ct: [ct] });
    const gpu = await run("webgpu", src, "f", inputs, { ct: [ct] });
    expectClose(gpu.outputs[0], cpu.outputs[0]!, 1e-5, "forward");
    expectClose(gpu.grads["x"], cpu.grads["x"]!, 1e-5, "dx");
    // dw sums 3,136 products per element in f32 on the GPU (f64 on the CPU).
    expectClose(gpu.grads["w"], cpu.grads["w"]!, 1e-4, "dw");
  });
});

describe("conv2d: a weight gradient summing more than 65,535 terms", () => {
  it("100 images of 28 x 28: K = 100 · 26 · 26 = 67,600 (past llvmpipe's loop cap for nested loops) matches the cpu", async () => {
    const src = "fn f(x: f32[B, 1, 28, 28], w: f32[2, 1, 3, 3]) -> f32[B, 2, 26, 26] { return conv2d(x, w) }";
    const x = random(100 * 784, 25);
    const w = random(18, 26);
    const ct = random(100 * 2 * 676, 27);
    const inputs = { x: { data: x, shape: [100, 1, 28, 28] }, w: { data: w, shape: [2, 1, 3, 3] } };
    const cpu = await run("cpu", src, "f", inputs, { ct: [ct] });
    const gpu = await run("webgpu", src, "f", inputs, { ct: [ct] });
    // An f32 sum of 67,600 products against the CPU's f64 one: compared at the sum's scale.
    const scale = Math.sqrt(100 * 676);
    gpu.grads["w"]!.forEach((v, i) => expect(Math.abs(v - cpu.grads["w"]![i]!)).toBeLessThanOrEqual(1e-4 * scale));
    expectClose(gpu.grads["x"], cpu.grads["x"]!, 1e-5, "dx");
  });
});

describe("pooling: webgpu against the cpu", () => {
  it.each(poolCases.map((c) => [`${c.kind} ${c.name}`, c] as const))("%s", async (_n, c) => {
    const x = random(size(c.xs), 17);
    const want = naivePool2d(c.kind, x, c.xs, c.k, c.s ?? c.k, c.p ?? [0, 0]);
    const ct = random(want.data.length, 18);
    const inputs = { x: { data: x, shape: c.xs } };
    const cpu = await run("cpu", poolSrc(c), "f", inputs, { ct: [ct] });
    const gpu = await run("webgpu", poolSrc(c), "f", inputs, { ct: [ct] });
    expectClose(gpu.outputs[0], want.data, 1e-6, "webgpu forward vs naive");
    if (c.kind === "max") {
      expect(gpu.outputs[0]).toEqual(cpu.outputs[0]);
      expect(gpu.grads["x"]).toEqual(cpu.grads["x"]);
    } else {
      expectClose(gpu.outputs[0], cpu.outputs[0]!, 1e-6, "forward");
      expectClose(gpu.grads["x"], cpu.grads["x"]!, 1e-6, "dx");
    }
  });

  it("max pooling's tie and NaN rule is the same on both back ends", async () => {
    const src = "fn f(x: f32[1, 1, 2, 4]) -> f32[1, 1, 1, 3] { return max_pool2d(x, 2, stride = 1) }";
    for (const x of [[5, 5, 1, 5, 5, 0, 5, 5], [1, NaN, 3, 2, 0, NaN, 9, 4]]) {
      const inputs = { x: { data: x, shape: [1, 1, 2, 4] } };
      const cpu = await run("cpu", src, "f", inputs, { ct: [[1, 10, 100]] });
      const gpu = await run("webgpu", src, "f", inputs, { ct: [[1, 10, 100]] });
      expect(gpu.outputs[0]).toEqual(cpu.outputs[0]);
      expect(gpu.grads["x"]).toEqual(cpu.grads["x"]);
    }
    // Quantised inputs: many ties in overlapping 3x3 windows.
    const x = Array.from({ length: 2 * 3 * 9 * 9 }, (_, i) => (i * 7) % 3);
    const s2 = "fn f(x: f32[2, 3, 9, 9]) -> f32[2, 3, 5, 5] { return max_pool2d(x, 3, stride = 2, padding = 1) }";
    const ct = random(2 * 3 * 25, 19);
    const cpu = await run("cpu", s2, "f", { x: { data: x, shape: [2, 3, 9, 9] } }, { ct: [ct] });
    const gpu = await run("webgpu", s2, "f", { x: { data: x, shape: [2, 3, 9, 9] } }, { ct: [ct] });
    expect(gpu.grads["x"]).toEqual(cpu.grads["x"]);
  });
});

describe("a small binary CNN (tests/cases/ir/cnn.est) end to end", () => {
  it("valueAndGrad on webgpu agrees with cpu", async () => {
    const src = fs.readFileSync(new URL("../cases/ir/cnn.est", import.meta.url), "utf8");
    const inputs = {
      x: { data: random(3 * 144, 21), shape: [3, 1, 12, 12] },
      w1: { data: random(36, 22), shape: [4, 1, 3, 3] },
      w2: { data: random(288, 23), shape: [8, 4, 3, 3] },
      wo: { data: random(80, 24), shape: [8, 10] },
      labels: { data: [3, 7, 0], shape: [3], dtype: "i32" as const },
    };
    const mine = await run("webgpu", src, "loss", inputs, { valueAndGrad: true });
    const want = await run("cpu", src, "loss", inputs, { valueAndGrad: true });
    expectClose(mine.outputs[0], want.outputs[0]!, 1e-4, "loss");
    for (const k of ["x", "w1", "w2", "wo"]) expectClose(mine.grads[k], want.grads[k]!, 1e-4, `d${k}`);
    expect(mine.grads["w1"]!.some((v) => v !== 0)).toBe(true);
  });
});
