/**
 * The reference interpreter's convolutions and poolings (compiler/interpret.ts calls these), in
 * float64, written straight from the definitions (NCHW, PyTorch's):
 * - conv2d: out[b, o, i, j] = Σ_{c, u, v} x[b, gC' + c, i·sh − ph + u·dh, j·sw − pw + v·dw] · w[o, c, u, v]
 *   with g = o / (O / groups) and C' = C / groups; a tap in the padding reads 0. Its input and
 *   weight gradients visit the same taps and accumulate into x's and w's positions;
 * - max pooling picks, per window, the first element in row-major window order that is greater
 *   than all before it, a NaN counting as greater than any number (padding never takes part);
 *   its gradient adds each window's cotangent to that element;
 * - average pooling divides each window's sum by KH·KW, padding counted as zeros.
 */
import { convOutSize } from "../runtime/conv-geometry.js";
import { Op, type Node } from "./ir.js";

interface Value {
  data: Float64Array;
  shape: number[];
}

const pairAttr = (n: Node, k: string, fallback: number[]): number[] => (n.attrs[k] as readonly number[] | undefined)?.slice() ?? fallback;

/** Calls tap(xAt, wAt, outAt) for every product term of conv2d(x, w) → out. */
function convTaps(n: Node, xs: number[], ws: number[], ys: number[], tap: (xAt: number, wAt: number, outAt: number) => void): void {
  const [s, p, d] = [pairAttr(n, "stride", [1, 1]), pairAttr(n, "padding", [0, 0]), pairAttr(n, "dilation", [1, 1])];
  const groups = Number(n.attrs["groups"] ?? 1);
  const [B, C, H, W] = xs as [number, number, number, number];
  const [O, Cg, KH, KW] = ws as [number, number, number, number];
  const Ho = convOutSize(H, KH, s[0]!, p[0]!, d[0]!);
  const Wo = convOutSize(W, KW, s[1]!, p[1]!, d[1]!);
  if (Cg * groups !== C || O % groups !== 0) throw new Error(`evaluate: ${n.op} #${n.id}: x [${xs}] and w [${ws}] disagree for groups ${groups}`);
  if (ys.join() !== [B, O, Ho, Wo].join()) throw new Error(`evaluate: ${n.op} #${n.id}: x [${xs}] and w [${ws}] give [${B}, ${O}, ${Ho}, ${Wo}], not [${ys}]`);
  const Og = O / groups;
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++)
          for (let c = 0; c < Cg; c++)
            for (let u = 0; u < KH; u++)
              for (let v = 0; v < KW; v++) {
                const hi = i * s[0]! - p[0]! + u * d[0]!;
                const wi = j * s[1]! - p[1]! + v * d[1]!;
                if (hi < 0 || hi >= H || wi < 0 || wi >= W) continue;
                const xc = Math.floor(o / Og) * Cg + c;
                tap(((b * C + xc) * H + hi) * W + wi, ((o * Cg + c) * KH + u) * KW + v, ((b * O + o) * Ho + i) * Wo + j);
              }
}

/** Calls win(plane, outAt, positions) for each window of a pooling over x [B, C, H, W]. */
function poolWindows(n: Node, xs: number[], ys: number[], win: (outAt: number, at: number[]) => void): void {
  const k = pairAttr(n, "kernel", [1, 1]);
  const [s, p] = [pairAttr(n, "stride", k), pairAttr(n, "padding", [0, 0])];
  const [B, C, H, W] = xs as [number, number, number, number];
  const Ho = convOutSize(H, k[0]!, s[0]!, p[0]!);
  const Wo = convOutSize(W, k[1]!, s[1]!, p[1]!);
  if (ys.join() !== [B, C, Ho, Wo].join()) throw new Error(`evaluate: ${n.op} #${n.id}: pooling [${xs}] gives [${B}, ${C}, ${Ho}, ${Wo}], not [${ys}]`);
  for (let plane = 0; plane < B * C; plane++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        const at: number[] = [];
        for (let u = 0; u < k[0]!; u++)
          for (let v = 0; v < k[1]!; v++) {
            const hi = i * s[0]! - p[0]! + u;
            const wi = j * s[1]! - p[1]! + v;
            if (hi >= 0 && hi < H && wi >= 0 && wi < W) at.push((plane * H + hi) * W + wi);
          }
        win((plane * Ho + i) * Wo + j, at);
      }
}

function winner(x: Float64Array, at: number[]): number {
  let best = at[0]!;
  for (const a of at) if (x[a]! > x[best]! || (Number.isNaN(x[a]!) && !Number.isNaN(x[best]!))) best = a;
  return best;
}

/** The value of a convolution or pooling node with resolved `shape`; undefined for other ops. */
export function evalConvNode(n: Node, shape: number[], ins: Value[]): Float64Array | undefined {
  const out = new Float64Array(shape.reduce((a, d) => a * d, 1));
  const [a, b] = ins as [Value, Value | undefined];
  switch (n.op) {
    case Op.Conv2d:
      convTaps(n, a.shape, b!.shape, shape, (xi, wi, oi) => (out[oi]! += a.data[xi]! * b!.data[wi]!));
      return out;
    case Op.Conv2dInputGrad:
      convTaps(n, shape, b!.shape, a.shape, (xi, wi, oi) => (out[xi]! += a.data[oi]! * b!.data[wi]!));
      return out;
    case Op.Conv2dWeightGrad:
      convTaps(n, a.shape, shape, b!.shape, (xi, wi, oi) => (out[wi]! += a.data[xi]! * b!.data[oi]!));
      return out;
    case Op.MaxPool2d:
      poolWindows(n, a.shape, shape, (o, at) => (out[o] = b!.data[winner(a.data, at)]!));
      return out;
    case Op.MaxPool2dGrad:
      poolWindows(n, a.shape, b!.shape, (o, at) => (out[winner(a.data, at)]! += b!.data[o]!));
      return out;
    case Op.AvgPool2d: {
      const area = pairAttr(n, "kernel", [1, 1]).reduce((p, q) => p * q, 1);
      poolWindows(n, a.shape, shape, (o, at) => (out[o] = at.reduce((s, i) => s + a.data[i]!, 0) / area));
      return out;
    }
    case Op.AvgPool2dGrad: {
      const area = pairAttr(n, "kernel", [1, 1]).reduce((p, q) => p * q, 1);
      poolWindows(n, shape, a.shape, (o, at) => at.forEach((i) => (out[i]! += a.data[o]! / area)));
      return out;
    }
    default:
      return undefined;
  }
}
