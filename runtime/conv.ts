/**
 * The CPU's 2-D convolution (NCHW, PyTorch's layout) and its two gradients, as im2col + the
 * blocked matrix product of ./matmul.ts: per group, a chunk of n output positions (b, ho, wo)
 * is unfolded into a [C/groups · KH · KW, n] column matrix small enough to stay in cache and
 * multiplied by the group's weights, so the inner loop is the gemm's register-blocked f64 one. The input gradient is the transposed
 * convolution (wᵀ @ dy folded back with col2im); the weight gradient correlates x with dy
 * (dy @ colᵀ). Semantics are compiler/interpret-conv.ts's, the f64 oracle.
 */
import { convSizes, type ConvGeometry, type ConvSizes } from "./conv-geometry.js";
import { activeGemmKernels, gemm } from "./matmul.js";
import { wasmConv2d, wasmConv2dInputGrad, wasmConv2dWeightGrad } from "./wasm/conv-gemm.js";

/**
 * Elements of the column matrix per chunk (512 KiB once the gemm packs it as f64, so it stays
 * in L2). The gemm alone ran [32, 288] @ [288, n] at 2.45 GFLOP/s for n = 256 against 0.9 for
 * n = 784 (wall time on a loaded 2-core machine); in the whole convolution the two chunkings
 * measured alike within that machine's noise, and this one keeps the scratch at 256 KiB.
 */
const CHUNK = 1 << 16;
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

/** How the columns (b, ho, wo) are cut into chunks and what one group's product looks like. */
interface Plan {
  z: ConvSizes;
  g: ConvGeometry;
  /** Channels and output channels per group. */
  cg: number;
  og: number;
  /** Rows of the column matrix (C/groups · KH · KW) and output positions per image (Ho · Wo). */
  k: number;
  p: number;
  /** Columns per chunk. */
  width: number;
}

function plan(z: ConvSizes, g: ConvGeometry): Plan {
  const cg = z.channels / g.groups;
  const k = cg * z.kh * z.kw;
  return { z, g, cg, og: z.outChannels / g.groups, k, p: z.oh * z.ow, width: Math.max(32, Math.floor(CHUNK / Math.max(1, k))) };
}

/**
 * A fused convolution's epilogue (compiler/codegen/ts/conv.ts), called on each run of output
 * elements as the product hands it over, while it is in cache: src[at + e] for e < len is the
 * convolution's value at out[b, o, pos + e] (flat index (b · O + o) · Ho · Wo + pos + e). A run
 * lies within one row of one (b, o) plane's positions; runs cover the output once each.
 */
export type ConvEpilogue = (src: Float32Array, at: number, b: number, o: number, pos: number, len: number) => void;

/**
 * out[B, O, Ho, Wo] = conv2d(x[B, C, H, W], w[O, C/groups, KH, KW]) (cross-correlation, as
 * PyTorch), then `epilogue` on each run of the result; `out` null stores nothing itself.
 */
export function conv2d(x: Float32Array, xShape: readonly number[], w: Float32Array, wShape: readonly number[], out: Float32Array | null, outShape: readonly number[], g: ConvGeometry, epilogue?: ConvEpilogue): void {
  const z = convSizes(xShape, wShape, outShape, g);
  const { kernels, threads } = activeGemmKernels();
  if (kernels === "wasm" && wasmConv2d(x, w, out, z, g, threads, epilogue)) return;
  const P = plan(z, g);
  const { og, k, p } = P;
  forChunks(P, (n0, n, grp, col) => {
    const prod = scratch("row", og * n);
    gemm(w.subarray(grp * og * k, (grp + 1) * og * k), [og, k], false, col, [k, n], false, prod);
    for (let o = 0; o < og; o++) {
      segments(P, n0, n, (b, pos, len, at) => {
        const oc = grp * og + o;
        if (out !== null) out.set(prod.subarray(o * n + at, o * n + at + len), (b * z.outChannels + oc) * p + pos);
        epilogue?.(prod, o * n + at, b, oc, pos, len);
      });
    }
  }, x);
}

/**
 * The entry of a generated convolution kernel with a fused epilogue (compiler/codegen/ts/conv.ts):
 * {@link conv2d} on the Wasm path when it is active, where the epilogue runs on each output row
 * as it leaves the arena, else on the TypeScript one, where it runs on each row of the chunk's product.
 */
export function conv2dEpilogue(
  x: Float32Array, xShape: readonly number[], w: Float32Array, wShape: readonly number[], out: Float32Array | null, outShape: readonly number[],
  stride: number[], padding: number[], dilation: number[], groups: number, epilogue: ConvEpilogue,
): void {
  conv2d(x, xShape, w, wShape, out, outShape, { stride, padding, dilation, groups }, epilogue);
}

/** dx[B, C, H, W] for cotangent ct[B, O, Ho, Wo]: the transposed convolution of ct with w. */
export function conv2dInputGrad(ct: Float32Array, w: Float32Array, wShape: readonly number[], out: Float32Array, xShape: readonly number[], ctShape: readonly number[], g: ConvGeometry): void {
  const z = convSizes(xShape, wShape, ctShape, g);
  const { kernels, threads } = activeGemmKernels();
  if (kernels === "wasm" && wasmConv2dInputGrad(ct, w, out, z, g, threads)) return;
  const P = plan(z, g);
  const { og, k } = P;
  out.fill(0);
  forChunks(P, (n0, n, grp, col) => {
    const rows = gatherRows(ct, P, n0, n, grp);
    gemm(w.subarray(grp * og * k, (grp + 1) * og * k), [og, k], true, rows, [og, n], false, col);
    col2im(col, out, P, n0, n, grp);
  });
}

/** dw[O, C/groups, KH, KW] for cotangent ct[B, O, Ho, Wo]: the correlation of x with ct. */
export function conv2dWeightGrad(x: Float32Array, xShape: readonly number[], ct: Float32Array, ctShape: readonly number[], out: Float32Array, wShape: readonly number[], g: ConvGeometry): void {
  const z = convSizes(xShape, wShape, ctShape, g);
  const { kernels, threads } = activeGemmKernels();
  if (kernels === "wasm" && wasmConv2dWeightGrad(x, ct, out, z, g, threads)) return;
  const P = plan(z, g);
  const { og, k } = P;
  // The chunks' partial products are summed in f64 and rounded once.
  const acc = new Float64Array(out.length);
  const part = new Float32Array(og * k);
  forChunks(P, (n0, n, grp, col) => {
    gemm(gatherRows(ct, P, n0, n, grp), [og, n], false, col, [k, n], true, part);
    for (let e = 0, at = grp * og * k; e < og * k; e++) acc[at + e]! += part[e]!;
  }, x);
  out.set(acc);
}

/**
 * Calls `body(n0, n, group, col)` for each chunk of n columns from column n0 (columns run over
 * (b, ho, wo)) and each group; `col` is the chunk's [K, n] column matrix: x unfolded when x is
 * given, else scratch to fill.
 */
function forChunks(P: Plan, body: (n0: number, n: number, grp: number, col: Float32Array) => void, x?: Float32Array): void {
  const total = P.z.batch * P.p;
  for (let n0 = 0; n0 < total; n0 += P.width) {
    const n = Math.min(P.width, total - n0);
    for (let grp = 0; grp < P.g.groups; grp++) {
      const col = scratch("col", P.k * n);
      if (x !== undefined) im2col(x, col, P, n0, n, grp);
      body(n0, n, grp, col);
    }
  }
}

/** Visits the images a chunk of columns spans: image b's positions [pos, pos + len) at chunk column `at`. */
function segments(P: Plan, n0: number, n: number, visit: (b: number, pos: number, len: number, at: number) => void): void {
  for (let c = n0; c < n0 + n; ) {
    const b = Math.floor(c / P.p);
    const pos = c - b * P.p;
    const len = Math.min(P.p - pos, n0 + n - c);
    visit(b, pos, len, c - n0);
    c += len;
  }
}

/** ct's rows of one group for a chunk of columns, as a [O/groups, n] matrix. */
function gatherRows(ct: Float32Array, P: Plan, n0: number, n: number, grp: number): Float32Array {
  const { z, og, p } = P;
  const rows = scratch("row", og * n);
  for (let o = 0; o < og; o++) {
    segments(P, n0, n, (b, pos, len, at) => {
      const from = (b * z.outChannels + grp * og + o) * p + pos;
      rows.set(ct.subarray(from, from + len), o * n + at);
    });
  }
  return rows;
}

/**
 * Visits each run of one output row in a chunk, for each row (c, i, j) of the column matrix:
 * columns [at, at + wo1 − wo0) hold output columns wo0…wo1 − 1 of an output row whose input
 * row starts at x index `xRow` (−1 when it lies in the padding).
 */
function walk(P: Plan, n0: number, n: number, grp: number, visit: (at: number, xRow: number, j: number, wo0: number, wo1: number) => void): void {
  const { z, g, cg } = P;
  const [sh, ph, dh] = [g.stride[0]!, g.padding[0]!, g.dilation[0]!];
  for (let c = 0; c < cg; c++) {
    for (let i = 0; i < z.kh; i++) {
      for (let j = 0; j < z.kw; j++) {
        const rowAt = ((c * z.kh + i) * z.kw + j) * n;
        segments(P, n0, n, (b, pos, len, at) => {
          const plane = (b * z.channels + grp * cg + c) * z.height;
          for (let q = pos; q < pos + len; ) {
            const ho = Math.floor(q / z.ow);
            const wo0 = q - ho * z.ow;
            const wo1 = Math.min(z.ow, wo0 + pos + len - q);
            const hi = ho * sh - ph + i * dh;
            visit(rowAt + at + (q - pos), hi < 0 || hi >= z.height ? -1 : (plane + hi) * z.width, j, wo0, wo1);
            q += wo1 - wo0;
          }
        });
      }
    }
  }
}

/** Unfolds x into the column matrix: col[(c, i, j), (b, ho, wo)] = x[b, c, ho·s − p + i·d, wo·s − p + j·d], 0 in the padding. */
function im2col(x: Float32Array, col: Float32Array, P: Plan, n0: number, n: number, grp: number): void {
  const { z, g } = P;
  const [sw, pw, dw] = [g.stride[1]!, g.padding[1]!, g.dilation[1]!];
  const W = z.width;
  walk(P, n0, n, grp, (at, xRow, j, wo0, wo1) => {
    if (xRow < 0) {
      col.fill(0, at, at + wo1 - wo0);
      return;
    }
    for (let wo = wo0, wi = wo0 * sw + j * dw - pw, to = at; wo < wo1; wo++, wi += sw, to++) col[to] = wi >= 0 && wi < W ? x[xRow + wi]! : 0;
  });
}

/** Folds a column matrix back onto the input, adding (the adjoint of im2col). */
function col2im(col: Float32Array, dx: Float32Array, P: Plan, n0: number, n: number, grp: number): void {
  const { z, g } = P;
  const [sw, pw, dw] = [g.stride[1]!, g.padding[1]!, g.dilation[1]!];
  const W = z.width;
  walk(P, n0, n, grp, (at, xRow, j, wo0, wo1) => {
    if (xRow < 0) return;
    for (let wo = wo0, wi = wo0 * sw + j * dw - pw, from = at; wo < wo1; wo++, wi += sw, from++) if (wi >= 0 && wi < W) dx[xRow + wi]! += col[from]!;
  });
}
