/**
 * The CPU's matrix product: `matmul` (NumPy's batched, broadcasting `@`) and `gemm` (the same
 * with operands read through a transpose of their last two axes, for generated kernels). Each
 * matrix runs on one of two kernels, chosen by the CPU device running the plan (`cpu({ kernels })`):
 * "ts", TypeScript loops that sum every output in float64 over the inner index in order and round
 * to f32 once; or "wasm", ./wasm/gemm.ts's f32x4 SIMD microkernel, which sums in f32 (K-blocked,
 * so the order is fixed by the shape) and may split rows over worker threads.
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";
import { broadcastShape, broadcastStrides, checkLength, product } from "./kernels.js";
import { wasmGemmFits, wasmGemmMatrix, wasmSimdAvailable } from "./wasm/gemm.js";

/** Which matrix-product kernel runs, and on how many threads (the wasm kernel's only). */
export interface GemmKernels {
  readonly kernels: "ts" | "wasm";
  readonly threads: number;
}

/** The default: the Wasm kernel where this engine validates SIMD, on the calling thread alone. */
export const defaultGemmKernels: GemmKernels = { kernels: wasmSimdAvailable ? "wasm" : "ts", threads: 1 };

let active: GemmKernels = defaultGemmKernels;

/**
 * Makes `kernels` the ones `gemm`/`matmul` use until the returned function restores the previous
 * choice. The CPU executor brackets each plan with it, so a plan runs on its device's kernels
 * (generated kernels call `gemm` without a device; plans run synchronously, so nothing interleaves).
 */
export function useGemmKernels(kernels: Partial<GemmKernels> | undefined): () => void {
  const previous = active;
  active = {
    kernels: kernels?.kernels === "ts" || !wasmSimdAvailable ? "ts" : (kernels?.kernels ?? defaultGemmKernels.kernels),
    threads: kernels?.threads ?? defaultGemmKernels.threads,
  };
  return () => {
    active = previous;
  };
}

/** The kernels `gemm` runs on now (runtime/conv.ts picks its convolution path by them too). */
export function activeGemmKernels(): GemmKernels {
  return active;
}

/**
 * The register block of the product: each inner loop accumulates ROWS x COLS outputs in locals
 * (8 f64 accumulators, 4 values of `a` and 2 of `b` live: they fit x64's 16 vector registers).
 */
const ROWS = 4;
const COLS = 2;
/** Packing buffers up to this many f64s are kept between calls (a training loop reuses them). */
const KEEP_PACKED = 1 << 20;
let packedB: Float64Array = new Float64Array(0);
let packedA: Float64Array = new Float64Array(0);

/** A Float64Array of at least `n` elements: the kept one when it is large enough (or can grow). */
function packing(kept: Float64Array, n: number, keep: (a: Float64Array) => void): Float64Array {
  if (kept.length >= n) return kept;
  const fresh = new Float64Array(n);
  if (n <= KEEP_PACKED) keep(fresh);
  return fresh;
}

/**
 * The shape of `a @ b`: `[...broadcast(batchA, batchB), m, n]` for `a: [...batchA, m, k]` and
 * `b: [...batchB, k, n]`. Operands of rank < 2, differing inner sizes or batch dims that do not
 * broadcast throw E6007, since they can only come from the sizes a caller passed.
 */
export function matmulShape(aShape: readonly number[], bShape: readonly number[]): number[] {
  const shapes = `[${aShape.join(", ")}] @ [${bShape.join(", ")}]`;
  if (aShape.length < 2 || bShape.length < 2) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.inputMismatch,
      `matmul ${shapes}: both operands need rank 2 or more`,
    );
  }
  const [m, k] = aShape.slice(-2) as [number, number];
  const [k2, n] = bShape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.inputMismatch,
      `matmul ${shapes}: inner sizes ${k} and ${k2} differ`,
    );
  }
  const batch = broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  if (batch === undefined) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.inputMismatch,
      `matmul ${shapes}: batch dims do not broadcast`,
    );
  }
  return [...batch, m, n];
}

/**
 * out = a @ b, batched over the leading dims with NumPy broadcasting. On the "ts" kernels each
 * output is summed in float64 over the inner index in order and rounded to f32 once, so long
 * inner products do not drift from the f64 oracle (and the result does not depend on the
 * blocking below); on the "wasm" kernels it is summed in f32, as on WebGPU.
 */
export function matmul(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  out: Float32Array,
): void {
  gemm(a, aShape, false, b, bShape, false, out);
}

/**
 * out = op(a) @ op(b) for a generated matmul kernel, where op swaps the last two axes of an
 * operand stored transposed (`transA`, `transB`: the shapes given are the stored ones). A
 * transposed operand is read in place (the packing below takes any strides); the sums are
 * `matmul`'s.
 */
export function gemm(
  a: Float32Array,
  aShape: readonly number[],
  transA: boolean,
  b: Float32Array,
  bShape: readonly number[],
  transB: boolean,
  out: Float32Array,
): void {
  checkLength("matmul a", a, aShape);
  checkLength("matmul b", b, bShape);
  const logicalA = transA ? swapLastTwo(aShape) : aShape;
  const logicalB = transB ? swapLastTwo(bShape) : bShape;
  const outShape = matmulShape(logicalA, logicalB);
  checkLength("matmul out", out, outShape);
  const rank = outShape.length;
  const [m, k, n] = [logicalA[logicalA.length - 2]!, logicalA[logicalA.length - 1]!, logicalB[logicalB.length - 1]!];
  // Element (i, p) of a matrix of op(a) and (p, j) of op(b), as strides into the stored layout.
  const strides: MatrixStrides = {
    ai: transA ? 1 : k,
    ap: transA ? m : 1,
    bp: transB ? 1 : n,
    bj: transB ? k : 1,
  };
  const batch = outShape.slice(0, rank - 2);
  const aStrides = broadcastStrides(aShape.slice(0, -2), batch);
  const bStrides = broadcastStrides(bShape.slice(0, -2), batch);
  const counter = new Int32Array(batch.length);
  const batches = product(batch);
  let aMatrix = 0;
  let bMatrix = 0;
  const { kernels, threads } = active;
  const wasm = kernels === "wasm" && wasmGemmFits(m, k, n);
  for (let t = 0; t < batches; t++) {
    if (wasm) {
      const { ai, ap, bp, bj } = strides;
      wasmGemmMatrix(a, aMatrix * m * k, ai, ap, b, bMatrix * k * n, bp, bj, out, t * m * n, m, k, n, threads);
    } else {
      matmulMatrix(a, aMatrix * m * k, b, bMatrix * k * n, strides, out, t * m * n, m, k, n);
    }
    // Advance the batch odometer, moving each operand by its (possibly zero) broadcast stride.
    for (let d = batch.length - 1; d >= 0; d--) {
      aMatrix += aStrides[d]!;
      bMatrix += bStrides[d]!;
      if (++counter[d]! < batch[d]!) break;
      counter[d] = 0;
      aMatrix -= aStrides[d]! * batch[d]!;
      bMatrix -= bStrides[d]! * batch[d]!;
    }
  }
}

function swapLastTwo(shape: readonly number[]): number[] {
  const r = shape.length;
  if (r < 2) return [...shape];
  return [...shape.slice(0, r - 2), shape[r - 1]!, shape[r - 2]!];
}

/** Where element (i, p) of `a` and (p, j) of `b` sit: `a[at + i * ai + p * ap]`, `b[at + p * bp + j * bj]`. */
interface MatrixStrides {
  ai: number;
  ap: number;
  bp: number;
  bj: number;
}

/**
 * One [m, k] @ [k, n] product at the given offsets. `b` is packed once into panels of COLS
 * columns (f64, the panel's k rows contiguous) and each ROWS-row block of `a` into f64 with its
 * rows interleaved, so the inner loop streams both and keeps its ROWS x COLS sums in locals:
 * 1.7x the GFLOP/s of accumulating four rows into an f64 scratch row (4.5 against 2.6 on the
 * MLP bench's shapes, 2-core EPYC, Node 20), with the same sums in the same order.
 */
function matmulMatrix(
  a: Float32Array,
  aAt: number,
  b: Float32Array,
  bAt: number,
  { ai, ap, bp, bj }: MatrixStrides,
  out: Float32Array,
  outAt: number,
  m: number,
  k: number,
  n: number,
): void {
  const panels = Math.ceil(n / COLS);
  const P = packing(packedB, panels * k * COLS, (f) => (packedB = f));
  for (let jb = 0; jb < panels; jb++) {
    const base = jb * k * COLS;
    const j0 = jb * COLS;
    const two = j0 + 1 < n;
    for (let p = 0; p < k; p++) {
      const at = bAt + p * bp + j0 * bj;
      P[base + p * COLS] = b[at]!;
      P[base + p * COLS + 1] = two ? b[at + bj]! : 0;
    }
  }
  const A = packing(packedA, k * ROWS, (f) => (packedA = f));
  for (let i = 0; i < m; i += ROWS) {
    const rows = Math.min(ROWS, m - i);
    for (let r = 0; r < ROWS; r++) {
      const from = aAt + (i + r) * ai;
      for (let p = 0; p < k; p++) A[p * ROWS + r] = r < rows ? a[from + p * ap]! : 0;
    }
    const o = outAt + i * n;
    for (let jb = 0; jb < panels; jb++) {
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let p = 0, s = 0, q = jb * k * COLS; p < k; p++, s += ROWS, q += COLS) {
        const b0 = P[q]!;
        const b1 = P[q + 1]!;
        const a0 = A[s]!;
        const a1 = A[s + 1]!;
        const a2 = A[s + 2]!;
        const a3 = A[s + 3]!;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c30 += a3 * b0;
        c31 += a3 * b1;
      }
      const j = o + jb * COLS;
      const two = jb * COLS + 1 < n;
      out[j] = c00;
      if (two) out[j + 1] = c01;
      if (rows > 1) {
        out[j + n] = c10;
        if (two) out[j + n + 1] = c11;
      }
      if (rows > 2) {
        out[j + 2 * n] = c20;
        if (two) out[j + 2 * n + 1] = c21;
      }
      if (rows > 3) {
        out[j + 3 * n] = c30;
        if (two) out[j + 3 * n + 1] = c31;
      }
    }
  }
}
