/**
 * The CPU's 2-D convolution (NCHW, PyTorch's layout) and its two gradients, as im2col + the
 * blocked matrix product of ./matmul.ts: per group, a chunk of the batch is unfolded into a
 * [C/groups · KH · KW, n · Ho · Wo] column matrix and multiplied by the group's weights, so the
 * inner loop is the gemm's register-blocked f64 one. The input gradient is the transposed
 * convolution (wᵀ @ dy folded back with col2im); the weight gradient correlates x with dy
 * (dy @ colᵀ). Semantics are compiler/interpret-conv.ts's, the f64 oracle.
 */
import { convSizes, type ConvGeometry, type ConvSizes } from "./conv-geometry.js";
import { gemm } from "./matmul.js";

/** Elements of the column matrix per chunk of the batch (8 MiB of f32): bounds the scratch. */
const CHUNK = 1 << 21;
let colScratch = new Float32Array(0);
let rowScratch = new Float32Array(0);

function scratch(kind: "col" | "row", n: number): Float32Array {
  const kept = kind === "col" ? colScratch : rowScratch;
  if (kept.length >= n) return kept.subarray(0, n);
  const fresh = new Float32Array(n);
  if (kind === "col") colScratch = fresh;
  else rowScratch = fresh;
  return fresh;
}

/** How the batch is cut into chunks and what one group's product looks like. */
interface Plan {
  z: ConvSizes;
  g: ConvGeometry;
  /** Channels and output channels per group. */
  cg: number;
  og: number;
  /** Rows of the column matrix (C/groups · KH · KW) and output positions per image (Ho · Wo). */
  k: number;
  p: number;
  /** Images per chunk. */
  nb: number;
}

function plan(z: ConvSizes, g: ConvGeometry): Plan {
  const cg = z.channels / g.groups;
  const k = cg * z.kh * z.kw;
  const p = z.oh * z.ow;
  return { z, g, cg, og: z.outChannels / g.groups, k, p, nb: Math.max(1, Math.min(z.batch, Math.floor(CHUNK / Math.max(1, k * p)))) };
}

/** out[B, O, Ho, Wo] = conv2d(x[B, C, H, W], w[O, C/groups, KH, KW]) (cross-correlation, as PyTorch). */
export function conv2d(x: Float32Array, xShape: readonly number[], w: Float32Array, wShape: readonly number[], out: Float32Array, outShape: readonly number[], g: ConvGeometry): void {
  const P = plan(convSizes(xShape, wShape, outShape, g), g);
  const { z, og, k, p } = P;
  forChunks(P, (b0, n, grp, col) => {
    const cols = n * p;
    const prod = scratch("row", og * cols);
    gemm(w.subarray(grp * og * k, (grp + 1) * og * k), [og, k], false, col, [k, cols], false, prod);
    for (let o = 0; o < og; o++) {
      for (let i = 0; i < n; i++) {
        const to = ((b0 + i) * z.outChannels + grp * og + o) * p;
        out.set(prod.subarray(o * cols + i * p, o * cols + (i + 1) * p), to);
      }
    }
  }, x);
}

/** dx[B, C, H, W] for cotangent ct[B, O, Ho, Wo]: the transposed convolution of ct with w. */
export function conv2dInputGrad(ct: Float32Array, w: Float32Array, wShape: readonly number[], out: Float32Array, xShape: readonly number[], ctShape: readonly number[], g: ConvGeometry): void {
  const P = plan(convSizes(xShape, wShape, ctShape, g), g);
  const { og, k, p } = P;
  out.fill(0);
  forChunks(P, (b0, n, grp, col) => {
    const rows = gatherRows(ct, P, b0, n, grp);
    gemm(w.subarray(grp * og * k, (grp + 1) * og * k), [og, k], true, rows, [og, n * p], false, col);
    col2im(col, out, P, b0, n, grp);
  });
}

/** dw[O, C/groups, KH, KW] for cotangent ct[B, O, Ho, Wo]: the correlation of x with ct. */
export function conv2dWeightGrad(x: Float32Array, xShape: readonly number[], ct: Float32Array, ctShape: readonly number[], out: Float32Array, wShape: readonly number[], g: ConvGeometry): void {
  const P = plan(convSizes(xShape, wShape, ctShape, g), g);
  const { z, og, k, p, nb } = P;
  const single = nb >= z.batch;
  // Over several chunks the partial products are summed in f64 and rounded once.
  const acc = single ? undefined : new Float64Array(out.length);
  const part = single ? undefined : new Float32Array(og * k);
  forChunks(P, (b0, n, grp, col) => {
    const rows = gatherRows(ct, P, b0, n, grp);
    const target = part ?? out.subarray(grp * og * k, (grp + 1) * og * k);
    gemm(rows, [og, n * p], false, col, [k, n * p], true, target);
    if (acc !== undefined) for (let e = 0; e < og * k; e++) acc[grp * og * k + e]! += target[e]!;
  }, x);
  if (acc !== undefined) out.set(acc);
  if (z.batch === 0) out.fill(0);
}

/**
 * Calls `body(b0, n, group, col)` for each chunk of n images from b0 and each group; `col` is
 * the chunk's [K, n · Ho · Wo] column matrix: x unfolded when x is given, else scratch to fill.
 */
function forChunks(P: Plan, body: (b0: number, n: number, grp: number, col: Float32Array) => void, x?: Float32Array): void {
  const { z, g, k, p, nb } = P;
  for (let b0 = 0; b0 < z.batch; b0 += nb) {
    const n = Math.min(nb, z.batch - b0);
    for (let grp = 0; grp < g.groups; grp++) {
      const col = scratch("col", k * n * p);
      if (x !== undefined) im2col(x, col, P, b0, n, grp);
      body(b0, n, grp, col);
    }
  }
}

/** ct's rows of one group for n images from b0, as a [O/groups, n · Ho · Wo] matrix. */
function gatherRows(ct: Float32Array, P: Plan, b0: number, n: number, grp: number): Float32Array {
  const { z, og, p } = P;
  const cols = n * p;
  const rows = scratch("row", og * cols);
  for (let o = 0; o < og; o++) {
    for (let i = 0; i < n; i++) {
      const from = ((b0 + i) * z.outChannels + grp * og + o) * p;
      rows.set(ct.subarray(from, from + p), o * cols + i * p);
    }
  }
  return rows;
}

/** Visits each (row of the column matrix, image, output row) with the input row it reads, or -1 in the padding. */
function walk(P: Plan, b0: number, n: number, grp: number, visit: (colAt: number, xRow: number, i: number, j: number) => void): void {
  const { z, g, cg, p } = P;
  const cols = n * p;
  const [sh, ph, dh] = [g.stride[0]!, g.padding[0]!, g.dilation[0]!];
  for (let c = 0; c < cg; c++) {
    for (let i = 0; i < z.kh; i++) {
      for (let j = 0; j < z.kw; j++) {
        const row = (c * z.kh + i) * z.kw + j;
        for (let b = 0; b < n; b++) {
          const plane = ((b0 + b) * z.channels + grp * cg + c) * z.height;
          for (let ho = 0; ho < z.oh; ho++) {
            const hi = ho * sh - ph + i * dh;
            const xRow = hi < 0 || hi >= z.height ? -1 : (plane + hi) * z.width;
            visit(row * cols + b * p + ho * z.ow, xRow, i, j);
          }
        }
      }
    }
  }
}

/** Unfolds x into the column matrix: col[(c, i, j), (b, ho, wo)] = x[b, c, ho·s − p + i·d, wo·s − p + j·d], 0 in the padding. */
function im2col(x: Float32Array, col: Float32Array, P: Plan, b0: number, n: number, grp: number): void {
  const { z, g } = P;
  const [sw, pw, dw] = [g.stride[1]!, g.padding[1]!, g.dilation[1]!];
  const W = z.width;
  const ow = z.ow;
  walk(P, b0, n, grp, (at, xRow, _i, j) => {
    if (xRow < 0) {
      col.fill(0, at, at + ow);
      return;
    }
    const off = j * dw - pw;
    for (let wo = 0, wi = off; wo < ow; wo++, wi += sw) col[at + wo] = wi >= 0 && wi < W ? x[xRow + wi]! : 0;
  });
}

/** Folds a column matrix back onto the input, adding (the adjoint of im2col). */
function col2im(col: Float32Array, dx: Float32Array, P: Plan, b0: number, n: number, grp: number): void {
  const { z, g } = P;
  const [sw, pw, dw] = [g.stride[1]!, g.padding[1]!, g.dilation[1]!];
  const W = z.width;
  const ow = z.ow;
  walk(P, b0, n, grp, (at, xRow, _i, j) => {
    if (xRow < 0) return;
    const off = j * dw - pw;
    for (let wo = 0, wi = off; wo < ow; wo++, wi += sw) if (wi >= 0 && wi < W) dx[xRow + wi]! += col[at + wo]!;
  });
}
