/**
 * The CPU's 2-D poolings (NCHW) and their gradients. Max pooling's rule, the same on every back
 * end and in compiler/interpret-conv.ts: each window is scanned in row-major order (kernel row,
 * then column; padding skipped) and the first element greater than every earlier one wins, a NaN
 * counting as greater than any number — so on ties the first maximum takes the whole gradient
 * (PyTorch's CPU kernel does the same). Average pooling divides by KH · KW, padding included
 * (PyTorch's default count_include_pad = True).
 */
import { poolSizes, type ConvSizes, type PoolGeometry } from "./conv-geometry.js";

/**
 * Each window's bounds, clipped to the input: for output row ho, rows [h0[ho], h1[ho]); for output
 * column wo, columns [w0[wo], w1[wo]). The four routines below loop over them directly (a
 * callback per window, shared by the four, made V8 call them megamorphically: 3-4x slower).
 */
interface Bounds {
  h0: Int32Array;
  h1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

function bounds(z: ConvSizes, g: PoolGeometry): Bounds {
  const clip = (n: number, size: number, k: number, s: number, p: number) => {
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = Math.max(0, i * s - p);
      hi[i] = Math.min(size, i * s - p + k);
    }
    return [lo, hi] as const;
  };
  const [h0, h1] = clip(z.oh, z.height, z.kh, g.stride[0]!, g.padding[0]!);
  const [w0, w1] = clip(z.ow, z.width, z.kw, g.stride[1]!, g.padding[1]!);
  return { h0, h1, w0, w1 };
}

/** The index into x of the window's winner (see the module comment); -1 for a window of padding only. */
function argmax(x: Float32Array, base: number, width: number, h0: number, h1: number, w0: number, w1: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let h = h0; h < h1; h++) {
    for (let w = w0; w < w1; w++) {
      const at = base + h * width + w;
      const v = x[at]!;
      if (best < 0 || v > bestValue || (v !== v && bestValue === bestValue)) {
        best = at;
        bestValue = v;
      }
    }
  }
  return best;
}

/** argmax's winner of a whole 2x2 window at x[at] (rows at and at + width), unrolled: the common case. */
function argmax2x2(x: Float32Array, at: number, width: number): number {
  let best = at;
  let bestValue = x[at]!;
  let v = x[at + 1]!;
  if (v > bestValue || (v !== v && bestValue === bestValue)) {
    best = at + 1;
    bestValue = v;
  }
  v = x[at + width]!;
  if (v > bestValue || (v !== v && bestValue === bestValue)) {
    best = at + width;
    bestValue = v;
  }
  v = x[at + width + 1]!;
  if (v > bestValue || (v !== v && bestValue === bestValue)) best = at + width + 1;
  return best;
}

/** The winner of window (ho, wo) of the plane at `base`. */
function winner(x: Float32Array, base: number, z: ConvSizes, b: Bounds, ho: number, wo: number, twoByTwo: boolean): number {
  const h0 = b.h0[ho]!;
  const w0 = b.w0[wo]!;
  if (twoByTwo && b.h1[ho]! - h0 === 2 && b.w1[wo]! - w0 === 2) return argmax2x2(x, base + h0 * z.width + w0, z.width);
  return argmax(x, base, z.width, h0, b.h1[ho]!, w0, b.w1[wo]!);
}

/** out[B, C, Ho, Wo] = v at the winner of x's window (max pooling is v = x). */
export function maxPool2d(x: Float32Array, v: Float32Array, xShape: readonly number[], out: Float32Array, outShape: readonly number[], g: PoolGeometry): void {
  const z = poolSizes(xShape, outShape, g);
  const b = bounds(z, g);
  const area = z.height * z.width;
  const twoByTwo = z.kh === 2 && z.kw === 2;
  for (let plane = 0, o = 0; plane < z.batch * z.channels; plane++) {
    for (let ho = 0; ho < z.oh; ho++) {
      for (let wo = 0; wo < z.ow; wo++, o++) {
        const at = winner(x, plane * area, z, b, ho, wo, twoByTwo);
        out[o] = at < 0 ? 0 : v[at]!;
      }
    }
  }
}

/** dx[B, C, H, W]: each window's cotangent added to its winner, windows in row-major order. */
export function maxPool2dGrad(x: Float32Array, xShape: readonly number[], ct: Float32Array, ctShape: readonly number[], out: Float32Array, g: PoolGeometry): void {
  const z = poolSizes(xShape, ctShape, g);
  const b = bounds(z, g);
  const area = z.height * z.width;
  const twoByTwo = z.kh === 2 && z.kw === 2;
  out.fill(0);
  for (let plane = 0, o = 0; plane < z.batch * z.channels; plane++) {
    for (let ho = 0; ho < z.oh; ho++) {
      for (let wo = 0; wo < z.ow; wo++, o++) {
        const at = winner(x, plane * area, z, b, ho, wo, twoByTwo);
        if (at >= 0) out[at]! += ct[o]!;
      }
    }
  }
}

/** out[B, C, Ho, Wo] = the window's sum / (KH · KW), summed in f64 in row-major order. */
export function avgPool2d(x: Float32Array, xShape: readonly number[], out: Float32Array, outShape: readonly number[], g: PoolGeometry): void {
  const z = poolSizes(xShape, outShape, g);
  const { h0, h1, w0, w1 } = bounds(z, g);
  const area = z.height * z.width;
  const scale = z.kh * z.kw;
  for (let plane = 0, o = 0; plane < z.batch * z.channels; plane++) {
    for (let ho = 0; ho < z.oh; ho++) {
      for (let wo = 0; wo < z.ow; wo++, o++) {
        let sum = 0;
        for (let h = h0[ho]!; h < h1[ho]!; h++) for (let w = w0[wo]!, at = plane * area + h * z.width + w; w < w1[wo]!; w++, at++) sum += x[at]!;
        out[o] = sum / scale;
      }
    }
  }
}

/** dx[B, C, H, W]: each window's cotangent / (KH · KW) added to every element of the window. */
export function avgPool2dGrad(ct: Float32Array, ctShape: readonly number[], out: Float32Array, xShape: readonly number[], g: PoolGeometry): void {
  const z = poolSizes(xShape, ctShape, g);
  const { h0, h1, w0, w1 } = bounds(z, g);
  const area = z.height * z.width;
  const scale = z.kh * z.kw;
  out.fill(0);
  for (let plane = 0, o = 0; plane < z.batch * z.channels; plane++) {
    for (let ho = 0; ho < z.oh; ho++) {
      for (let wo = 0; wo < z.ow; wo++, o++) {
        const share = ct[o]! / scale;
        for (let h = h0[ho]!; h < h1[ho]!; h++) for (let w = w0[wo]!, at = plane * area + h * z.width + w; w < w1[wo]!; w++, at++) out[at]! += share;
      }
    }
  }
}
