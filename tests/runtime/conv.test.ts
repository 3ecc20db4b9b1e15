/**
 * conv2d and the poolings on the CPU back end (runtime/conv.ts: im2col + the blocked gemm;
 * runtime/pool2d.ts): forwards against the naive loops of tests/helpers/conv-naive.ts, vjp
 * gradients against the f64 reference interpreter (which tests/compiler/conv.test.ts gradchecks),
 * and the batch split into chunks against the unchunked product.
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from "../../runtime/conv.js";
import { run } from "../helpers/backends.js";
import { convCases, convOutShape, convSrc, naiveConv2d, naivePool2d, poolCases, poolSrc } from "../helpers/conv-naive.js";
import { expectClose } from "../helpers/expect.js";
import { rng } from "../helpers/gradcheck.js";

const random = (n: number, seed: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(r() * 2 - 1));
};
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe("conv2d on the cpu", () => {
  it.each(convCases.map((c) => [c.name, c] as const))("%s: forward equals the naive loop, vjp the f64 interpreter", async (_n, c) => {
    const x = random(size(c.xs), 1);
    const w = random(size(c.ws), 2);
    const ct = random(size(convOutShape(c)), 3);
    const inputs = { x: { data: x, shape: c.xs }, w: { data: w, shape: c.ws } };
    const f64 = await run("f64", convSrc(c), "f", inputs, { ct: [ct] });
    // The default cpu() (Wasm SIMD gemm, f32 sums) and the TS kernels (f64 sums).
    for (const backend of ["cpu", "cpu-ts"] as const) {
      const cpu = await run(backend, convSrc(c), "f", inputs, { ct: [ct] });
      expectClose(cpu.outputs[0], naiveConv2d(x, c.xs, w, c.ws, c.g).data, 1e-5, `${backend} forward`);
      expectClose(cpu.grads["x"], f64.grads["x"]!, 1e-5, `${backend} dx`);
      expectClose(cpu.grads["w"], f64.grads["w"]!, 1e-5, `${backend} dw`);
    }
  });

  it("a batch cut into chunks of columns (64 images of 32 x 28 x 28, 3x3) gives the per-image products", () => {
    // The column matrix has 288 rows; a chunk of 2^16 elements holds 227 columns, so the chunks
    // of 64 images x 784 positions straddle image boundaries.
    const xs = [64, 32, 28, 28];
    const ws = [8, 32, 3, 3];
    const g = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    const x = Float32Array.from(random(size(xs), 4));
    const w = Float32Array.from(random(size(ws), 5));
    const out = new Float32Array(64 * 8 * 28 * 28);
    conv2d(x, xs, w, ws, out, [64, 8, 28, 28], g);
    const dw = new Float32Array(size(ws));
    conv2dWeightGrad(x, xs, out, [64, 8, 28, 28], dw, ws, g);
    const dx = new Float32Array(size(xs));
    conv2dInputGrad(out, w, ws, dx, xs, [64, 8, 28, 28], g);
    // Image 63 alone must give the same forward and input gradient.
    const one = x.subarray(63 * 32 * 784);
    const alone = new Float32Array(8 * 784);
    conv2d(one, [1, 32, 28, 28], w, ws, alone, [1, 8, 28, 28], g);
    expect(Array.from(out.subarray(63 * 8 * 784))).toEqual(Array.from(alone));
    const dxAlone = new Float32Array(32 * 784);
    conv2dInputGrad(alone, w, ws, dxAlone, [1, 32, 28, 28], [1, 8, 28, 28], g);
    // dx adds an input element's taps chunk by chunk, so the f32 order of additions may differ.
    expectClose(dx.subarray(63 * 32 * 784), Array.from(dxAlone), 1e-5, "dx of image 63");
    // dw sums over all 64 images: the sum of per-image weight gradients.
    const sum = new Float64Array(size(ws));
    const part = new Float32Array(size(ws));
    for (let b = 0; b < 64; b++) {
      conv2dWeightGrad(x.subarray(b * 32 * 784, (b + 1) * 32 * 784), [1, 32, 28, 28], out.subarray(b * 8 * 784, (b + 1) * 8 * 784), [1, 8, 28, 28], part, ws, g);
      part.forEach((v, i) => (sum[i]! += v));
    }
    expectClose(dw, Array.from(sum), 1e-4, "dw over chunks");
  });
});

describe("symbolic spatial sizes on the cpu", () => {
  // Height floor((H + 2 − 2 − 1) / 2) + 1, width floor((W − 3) / 2) + 1, then a 2x2 max pooling.
  const src = `fn f(x: f32[B, 2, H, W], w: f32[3, 2, 3, 3]) -> f32[B, 3, ((H - 1) / 2 + 1) / 2, ((W - 3) / 2 + 1) / 2] {
    return max_pool2d(conv2d(x, w, stride = 2, padding = [1, 0]), 2)
  }`;

  it("one compiled fn at two input sizes: forward against the naive loops, vjp against f64", async () => {
    for (const [b, h, w] of [[2, 9, 12], [1, 6, 7]] as const) {
      const x = random(b * 2 * h * w, h);
      const wt = random(3 * 2 * 9, 8);
      const conv = naiveConv2d(x, [b, 2, h, w], wt, [3, 2, 3, 3], { stride: [2, 2], padding: [1, 0] });
      const want = naivePool2d("max", conv.data, conv.shape, [2, 2]);
      const ct = random(want.data.length, 9);
      const inputs = { x: { data: x, shape: [b, 2, h, w] }, w: { data: wt, shape: [3, 2, 3, 3] } };
      const f64 = await run("f64", src, "f", inputs, { ct: [ct] });
      for (const backend of ["cpu", "cpu-ts"] as const) {
        const got = await run(backend, src, "f", inputs, { ct: [ct] });
        expectClose(got.outputs[0], want.data, 1e-5, `${backend} forward at H ${h}, W ${w}`);
        expectClose(got.grads["x"], f64.grads["x"]!, 1e-5, `${backend} dx at H ${h}, W ${w}`);
        expectClose(got.grads["w"], f64.grads["w"]!, 1e-5, `${backend} dw at H ${h}, W ${w}`);
      }
    }
  });

  it("a size no window fits is E6007 with the arithmetic, at run time", async () => {
    const text = "fn g(x: f32[B, 1, H, 4], w: f32[1, 1, 3, 3]) -> f32[B, 1, (H - 3) / 2 + 1, 1] { return conv2d(x, w, stride = 2) }";
    // H = 2: floor((2 − 3) / 2) + 1 = 0 output rows, because the window (3 rows) does not fit.
    const inputs = { x: { data: random(8, 1), shape: [1, 1, 2, 4] }, w: { data: random(9, 2), shape: [1, 1, 3, 3] } };
    await expect(run("cpu", text, "g", inputs)).rejects.toMatchObject({
      code: "E6007",
      message: expect.stringContaining("conv2d: the window does not fit the height: 2 + 2·0 − 1·(3 − 1) − 1 = -1 < 0"),
    });
  });
});

describe("pooling on the cpu", () => {
  it.each(poolCases.map((c) => [`${c.kind} ${c.name}`, c] as const))("%s: forward equals the naive loop, vjp the f64 interpreter", async (_n, c) => {
    const x = random(size(c.xs), 6);
    const want = naivePool2d(c.kind, x, c.xs, c.k, c.s ?? c.k, c.p ?? [0, 0]);
    const ct = random(want.data.length, 7);
    const inputs = { x: { data: x, shape: c.xs } };
    const cpu = await run("cpu", poolSrc(c), "f", inputs, { ct: [ct] });
    const f64 = await run("f64", poolSrc(c), "f", inputs, { ct: [ct] });
    expectClose(cpu.outputs[0], want.data, 1e-6, "forward");
    expectClose(cpu.grads["x"], f64.grads["x"]!, 1e-6, "dx");
  });

  it("max pooling's ties and NaNs follow the interpreter's rule exactly", async () => {
    const src = "fn f(x: f32[1, 1, 2, 4]) -> f32[1, 1, 1, 3] { return max_pool2d(x, 2, stride = 1) }";
    for (const x of [[5, 5, 1, 5, 5, 0, 5, 5], [1, NaN, 3, 2, 0, NaN, 9, 4]]) {
      const inputs = { x: { data: x, shape: [1, 1, 2, 4] } };
      const cpu = await run("cpu", src, "f", inputs, { ct: [[1, 10, 100]] });
      const f64 = await run("f64", src, "f", inputs, { ct: [[1, 10, 100]] });
      expect(cpu.outputs[0]).toEqual(f64.outputs[0]);
      expect(cpu.grads["x"]).toEqual(f64.grads["x"]);
    }
  });
});

describe("a small binary CNN (tests/cases/ir/cnn.est) end to end", () => {
  it("valueAndGrad on cpu agrees with f64", async () => {
    const src = fs.readFileSync(new URL("../cases/ir/cnn.est", import.meta.url), "utf8");
    const inputs = {
      x: { data: random(3 * 144, 21), shape: [3, 1, 12, 12] },
      w1: { data: random(36, 22), shape: [4, 1, 3, 3] },
      w2: { data: random(288, 23), shape: [8, 4, 3, 3] },
      wo: { data: random(80, 24), shape: [8, 10] },
      labels: { data: [3, 7, 0], shape: [3], dtype: "i32" as const },
    };
    const mine = await run("cpu", src, "loss", inputs, { valueAndGrad: true });
    const want = await run("f64", src, "loss", inputs, { valueAndGrad: true });
    expectClose(mine.outputs[0], want.outputs[0]!, 1e-4, "loss");
    for (const k of ["x", "w1", "w2", "wo"]) expectClose(mine.grads[k], want.grads[k]!, 1e-4, `d${k}`);
    expect(mine.grads["w1"]!.some((v) => v !== 0)).toBe(true);
  });
});
