/**
 * The Wasm convolution path (runtime/wasm/conv-gemm.ts + conv-kernel.ts): im2col/col2im in Wasm
 * inside the gemm arena, the vector (stride 1) and scalar taps, chunks that straddle images, and
 * threads. Each case is checked against the naive f64 loops of tests/helpers/conv-naive.ts (the
 * forward) and an f64 transcription of the gradients' definitions written here (dx, dw), under
 * the f32 summation bound; the TS kernels (f64 sums) must agree with the same references.
 */
import { describe, expect, it } from "vitest";
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from "../../runtime/conv.js";
import { useGemmKernels } from "../../runtime/matmul.js";
import { readyWorkers } from "../../runtime/wasm/pool.js";
import { naiveConv2d, type Geometry } from "../helpers/conv-naive.js";
import { rng } from "../helpers/gradcheck.js";

const random = (n: number, seed: number) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  xs: [number, number, number, number];
  ws: [number, number, number, number];
  g: Required<Geometry>;
}

const geo = (g: Geometry): Required<Geometry> => ({ stride: g.stride ?? [1, 1], padding: g.padding ?? [0, 0], dilation: g.dilation ?? [1, 1], groups: g.groups ?? 1 });
const cases: Case[] = [
  // Widths 1 to 9 around the 4-lane vector: runs shorter than a vector, tails of 1-3 lanes.
  ...[1, 2, 3, 5, 9].map((w): Case => ({ name: `stride 1, padding 1, width ${w}`, xs: [3, 2, 4, w], ws: [3, 2, 3, 3], g: geo({ padding: [1, 1] }) })),
  { name: "padding 3 wider than the kernel's reach", xs: [2, 2, 5, 6], ws: [4, 2, 3, 3], g: geo({ padding: [3, 3] }) },
  { name: "stride 1, dilation 2 (vector taps), padding 2", xs: [2, 3, 9, 10], ws: [5, 3, 3, 3], g: geo({ padding: [2, 2], dilation: [2, 2] }) },
  { name: "stride 2 (scalar taps), padding [0, 2]", xs: [2, 3, 9, 11], ws: [4, 3, 3, 3], g: geo({ stride: [2, 2], padding: [0, 2] }) },
  { name: "stride [1, 3], groups 2, 2x5 kernel", xs: [2, 4, 6, 13], ws: [6, 2, 2, 5], g: geo({ stride: [1, 3], padding: [1, 2], groups: 2 }) },
  { name: "groups 4 (depthwise)", xs: [2, 4, 7, 7], ws: [4, 1, 3, 3], g: geo({ padding: [1, 1], groups: 4 }) },
  { name: "stride 1, groups 2 of 4 channels, dilation [2, 1], padding [1, 2] (dx as the flipped convolution)", xs: [2, 8, 7, 6], ws: [6, 4, 3, 3], g: geo({ padding: [1, 2], dilation: [2, 1], groups: 2 }) },
  { name: "padding 3 past d(K − 1) = 2 with 4 channels (dx by col2im)", xs: [2, 4, 5, 6], ws: [3, 4, 3, 3], g: geo({ padding: [3, 3] }) },
  // K = 9·40 = 360 rows: chunks of 176 columns straddle the 9·9 = 81 positions of each image.
  { name: "chunks straddling images (K 360, 81 positions)", xs: [6, 40, 9, 9], ws: [9, 40, 3, 3], g: geo({ padding: [1, 1] }) },
];

/** dx and dw of sum(ct · conv2d(x, w)) from their definitions, in f64. */
function naiveGrads(x: Float32Array, xs: number[], w: Float32Array, ws: number[], ct: Float32Array, g: Required<Geometry>): { dx: Float64Array; dw: Float64Array } {
  const [B, C, H, W] = xs as [number, number, number, number];
  const [O, Cg, KH, KW] = ws as [number, number, number, number];
  const Ho = Math.floor((H + 2 * g.padding[0] - g.dilation[0] * (KH - 1) - 1) / g.stride[0]) + 1;
  const Wo = Math.floor((W + 2 * g.padding[1] - g.dilation[1] * (KW - 1) - 1) / g.stride[1]) + 1;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const og = O / g.groups;
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const c0 = Math.floor(o / og) * Cg;
          const t = ct[((b * O + o) * Ho + i) * Wo + j]!;
          for (let c = 0; c < Cg; c++)
            for (let u = 0; u < KH; u++)
              for (let v = 0; v < KW; v++) {
                const h = i * g.stride[0] - g.padding[0] + u * g.dilation[0];
                const q = j * g.stride[1] - g.padding[1] + v * g.dilation[1];
                if (h < 0 || h >= H || q < 0 || q >= W) continue;
                const xi = ((b * C + c0 + c) * H + h) * W + q;
                const wi = ((o * Cg + c) * KH + u) * KW + v;
                dx[xi]! += t * w[wi]!;
                dw[wi]! += t * x[xi]!;
              }
        }
  return { dx, dw };
}

/** |got − want| <= bound · Σ|terms| per element: the f32 summation bound, with Σ|terms| ≤ the reference of |x|, |w|, |ct|. */
function expectWithin(got: Float32Array, want: ArrayLike<number>, scale: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const tol = 1e-5 * (Math.abs(scale[i]!) + 1e-3);
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) expect.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (tolerance ${tol})`);
  }
}

function runAll(c: Case, x: Float32Array, w: Float32Array, ct: Float32Array) {
  const want = naiveConv2d(x, c.xs, w, c.ws, c.g);
  const out = new Float32Array(want.data.length);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  conv2d(x, c.xs, w, c.ws, out, want.shape, c.g);
  conv2dInputGrad(ct, w, c.ws, dx, c.xs, want.shape, c.g);
  conv2dWeightGrad(x, c.xs, ct, want.shape, dw, c.ws, c.g);
  return { out, dx, dw, outShape: want.shape };
}

describe("conv2d on the Wasm path", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: forward, dx and dw against f64 references, on both kernels", (_n, c) => {
    const x = random(size(c.xs), 1);
    const w = random(size(c.ws), 2);
    const want = naiveConv2d(x, c.xs, w, c.ws, c.g);
    const ct = random(want.data.length, 3);
    const grads = naiveGrads(x, c.xs, w, c.ws, ct, c.g);
    // The scale of each sum: the same sums over |x|, |w|, |ct|.
    const abs = (a: Float32Array) => a.map(Math.abs);
    const scaleOut = naiveConv2d(abs(x), c.xs, abs(w), c.ws, c.g).data;
    const scale = naiveGrads(abs(x), c.xs, abs(w), c.ws, abs(ct), c.g);
    for (const kernels of ["wasm", "ts"] as const) {
      const restore = useGemmKernels({ kernels });
      try {
        const got = runAll(c, x, w, ct);
        expect(got.outShape).toEqual(want.shape);
        expectWithin(got.out, want.data, scaleOut, `${kernels} forward`);
        expectWithin(got.dx, grads.dx, scale.dx, `${kernels} dx`);
        expectWithin(got.dw, grads.dw, scale.dw, `${kernels} dw`);
      } finally {
        restore();
      }
    }
  });

  it("padding taps read 0 and drop their cotangent, even where the neighbouring row's element is huge", () => {
    // x [1, 1, 2, 3], a 1x3 kernel of ones, padding [0, 1]: a right padding tap of row 0 would
    // read row 1's first element (-1e30) if it were not masked, and so on.
    const big = Math.fround(1e30);
    const x = Float32Array.from([1, 2, big, -big, 5, 6]);
    const w = Float32Array.from([1, 1, 1]);
    const g = geo({ padding: [0, 1] });
    const out = new Float32Array(6);
    conv2d(x, [1, 1, 2, 3], w, [1, 1, 1, 3], out, [1, 1, 2, 3], g);
    expect(Array.from(out)).toEqual([3, big, big, -big, -big, 11]);
    // Each input element gets the cotangents of the windows that cover it: 2, 3, 2 per row.
    const dx = new Float32Array(6);
    conv2dInputGrad(Float32Array.from([1, 1, 1, 1, 1, 1]), w, [1, 1, 1, 3], dx, [1, 1, 2, 3], [1, 1, 2, 3], g);
    expect(Array.from(dx)).toEqual([2, 3, 2, 2, 3, 2]);
  });

  it("splitting the products over worker threads gives the one-thread result bit for bit", async () => {
    // 64 output channels: each chunk's product (64 x 144 x 448) is large enough to be split.
    const c = { xs: [4, 16, 14, 14], ws: [64, 16, 3, 3], g: geo({ padding: [1, 1] }) } as const;
    const x = random(size(c.xs), 4);
    const w = random(size(c.ws), 5);
    const ct = random(4 * 64 * 14 * 14, 6);
    const run = (threads: number) => {
      const restore = useGemmKernels({ kernels: "wasm", threads });
      try {
        return runAll({ name: "", xs: [...c.xs], ws: [...c.ws], g: c.g }, x, w, ct);
      } finally {
        restore();
      }
    };
    const one = run(1);
    for (let t = 0; t < 200 && readyWorkers() < 1; t++) {
      run(2);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(readyWorkers()).toBeGreaterThanOrEqual(1);
    const two = run(2);
    for (const k of ["out", "dx", "dw"] as const) expect(Buffer.from(two[k].buffer).equals(Buffer.from(one[k].buffer)), k).toBe(true);
  });
});
