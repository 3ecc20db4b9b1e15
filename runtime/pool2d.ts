/**
 * The CPU's 2-D poolings (NCHW) and their gradients. Max pooling's rule, the same on every back
 * end and in compiler/interpret-conv.ts: each window is scanned in row-major order (kernel row,
 * then column; padding skipped) and the first element greater than every earlier one wins, a NaN
 * counting as greater than any number — so on ties the first maximum takes the whole gradient
 * (PyTorch's CPU kernel does the same). Average pooling divides by KH · KW, padding included
 * (PyTorch's default count_include_pad = True).
 */
import { poolSizes, type ConvSizes, type PoolGeometry } from "./conv-geometry.js";

/** Calls `visit(plane, o, first)` for each output element o of each (b, c) plane, after computing the window's bounds. */
function windows(z: ConvSizes, g: PoolGeometry, visit: (plane: number, o: number, h0: number, h1: number, w0: number, w1: number) => void): void {
  const [sh, sw] = g.stride as [number, number];
  const [ph, pw] = g.padding as [number, number];
  for (let plane = 0; plane < z.batch * z.channels; plane++) {
    for (let ho = 0; ho < z.oh; ho++) {
      const top = ho * sh - ph;
      const h0 = Math.max(0, top);
      const h1 = Math.min(z.height, top + z.kh);
      for (let wo = 0; wo < z.ow; wo++) {
        const left = wo * sw - pw;
        visit(plane, (plane * z.oh + ho) * z.ow + wo, h0, h1, Math.max(0, left), Math.min(z.width, left + z.kw));
      }
    }
  }
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

/** out[B, C, Ho, Wo] = v at the winner of x's window (max pooling is v = x). */
export function maxPool2d(x: Float32Array, v: Float32Array, xShape: readonly number[], out: Float32Array, outShape: readonly number[], g: PoolGeometry): void {
  const z = poolSizes(xShape, outShape, g);
  const area = z.height * z.width;
  windows(z, g, (plane, o, h0, h1, w0, w1) => {
    const at = argmax(x, plane * area, z.width, h0, h1, w0, w1);
    out[o] = at < 0 ? 0 : v[at]!;
  });
}

/** dx[B, C, H, W]: each window's cotangent added to its winner, windows in row-major order. */
export function maxPool2dGrad(x: Float32Array, xShape: readonly number[], ct: Float32Array, ctShape: readonly number[], out: Float32Array, g: PoolGeometry): void {
  const z = poolSizes(xShape, ctShape, g);
  const area = z.height * z.width;
  out.fill(0);
  windows(z, g, (plane, o, h0, h1, w0, w1) => {
    const at = argmax(x, plane * area, z.width, h0, h1, w0, w1);
    if (at >= 0) out[at]! += ct[o]!;
  });
}

/** out[B, C, Ho, Wo] = the window's sum / (KH · KW), summed in f64 in row-major order. */
export function avgPool2d(x: Float32Array, xShape: readonly number[], out: Float32Array, outShape: readonly number[], g: PoolGeometry): void {
  const z = poolSizes(xShape, outShape, g);
  const area = z.height * z.width;
  const scale = z.kh * z.kw;
  windows(z, g, (plane, o, h0, h1, w0, w1) => {
    let sum = 0;
    for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += x[plane * area + h * z.width + w]!;
    out[o] = sum / scale;
  });
}

/** dx[B, C, H, W]: each window's cotangent / (KH · KW) added to every element of the window. */
export function avgPool2dGrad(ct: Float32Array, ctShape: readonly number[], out: Float32Array, xShape: readonly number[], g: PoolGeometry): void {
  const z = poolSizes(xShape, ctShape, g);
  const area = z.height * z.width;
  const scale = z.kh * z.kw;
  out.fill(0);
  windows(z, g, (plane, o, h0, h1, w0, w1) => {
    const share = ct[o]! / scale;
    for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) out[plane * area + h * z.width + w]! += share;
  });
}
