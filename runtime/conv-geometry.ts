/**
 * The geometry of 2-D convolutions and poolings, shared by the checker, the reference
 * interpreter and both back ends: NCHW layout (PyTorch's), per-axis [height, width] pairs, and
 * the output size rule `floor((H + 2p − d(K − 1) − 1) / s) + 1` (PyTorch's, with floor).
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";

/** A convolution's geometry; every pair is [height, width]. */
export interface ConvGeometry {
  stride: readonly number[];
  padding: readonly number[];
  dilation: readonly number[];
  groups: number;
}

/** A pooling's geometry (no dilation); every pair is [height, width]. */
export interface PoolGeometry {
  kernel: readonly number[];
  stride: readonly number[];
  padding: readonly number[];
}

/** The output size along one axis: floor((size + 2p − d(k − 1) − 1) / s) + 1 (may be < 1: no window fits). */
export function convOutSize(size: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** The sizes a convolution step works with, read off its operands' shapes. */
export interface ConvSizes {
  batch: number;
  channels: number;
  height: number;
  width: number;
  outChannels: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
}

/**
 * The sizes of a convolution with input [B, C, H, W], weights [O, C/groups, KH, KW] and output
 * [B, O, Ho, Wo]; E6007 when the three disagree (only sizes a caller passed can make them).
 */
export function convSizes(x: readonly number[], w: readonly number[], out: readonly number[], g: ConvGeometry): ConvSizes {
  const shapes = `x [${x.join(", ")}], w [${w.join(", ")}], out [${out.join(", ")}]`;
  if (x.length !== 4 || w.length !== 4 || out.length !== 4) mismatch(`conv2d needs rank-4 operands: ${shapes}`);
  const [batch, channels, height, width] = x as [number, number, number, number];
  const [outChannels, cg, kh, kw] = w as [number, number, number, number];
  const oh = convOutSize(height, kh, g.stride[0]!, g.padding[0]!, g.dilation[0]!);
  const ow = convOutSize(width, kw, g.stride[1]!, g.padding[1]!, g.dilation[1]!);
  fits("conv2d", "height", height, kh, g.stride[0]!, g.padding[0]!, g.dilation[0]!);
  fits("conv2d", "width", width, kw, g.stride[1]!, g.padding[1]!, g.dilation[1]!);
  const ok = cg * g.groups === channels && outChannels % g.groups === 0 && out[0] === batch && out[1] === outChannels && out[2] === oh && out[3] === ow;
  if (!ok) mismatch(`conv2d (groups ${g.groups}) operands disagree: ${shapes}, the output must be [${batch}, ${outChannels}, ${oh}, ${ow}]`);
  return { batch, channels, height, width, outChannels, kh, kw, oh, ow };
}

/** The sizes of a pooling with input [B, C, H, W] and output [B, C, Ho, Wo]; E6007 when they disagree. */
export function poolSizes(x: readonly number[], out: readonly number[], g: PoolGeometry): ConvSizes {
  if (x.length !== 4 || out.length !== 4) mismatch(`pooling needs rank-4 operands: x [${x.join(", ")}], out [${out.join(", ")}]`);
  const [batch, channels, height, width] = x as [number, number, number, number];
  const [kh, kw] = g.kernel as [number, number];
  fits("pooling", "height", height, kh, g.stride[0]!, g.padding[0]!, 1);
  fits("pooling", "width", width, kw, g.stride[1]!, g.padding[1]!, 1);
  const oh = convOutSize(height, kh, g.stride[0]!, g.padding[0]!);
  const ow = convOutSize(width, kw, g.stride[1]!, g.padding[1]!);
  if (out[0] !== batch || out[1] !== channels || out[2] !== oh || out[3] !== ow) {
    mismatch(`pooling x [${x.join(", ")}] gives [${batch}, ${channels}, ${oh}, ${ow}], not [${out.join(", ")}]`);
  }
  return { batch, channels, height, width, outChannels: channels, kh, kw, oh, ow };
}

/**
 * E6007 when no window fits a symbolic size's value (the checker reports a known size's, E3003):
 * with floor division the output size alone can be 0 then, and an empty result would hide it.
 */
function fits(what: string, axis: string, size: number, k: number, s: number, p: number, d: number): void {
  const n = size + 2 * p - d * (k - 1) - 1;
  if (n < 0) mismatch(`${what}: the window does not fit the ${axis}: ${size} + 2·${p} − ${d}·(${k} − 1) − 1 = ${n} < 0, so no output position remains`);
}

function mismatch(message: string): never {
  throw new EstcRuntimeError(RuntimeErrorCode.inputMismatch, message);
}
