/**
 * CPU routines for the structural steps of a plan (runtime/plan.ts): batched matmul, transpose,
 * gather and its scatter-add gradient, and the N:M sparsity mask. Each works on row-major typed
 * arrays with concrete shapes and writes into a caller-allocated `out`, so the plan runner owns
 * every allocation and the memory counters see it. Semantics follow compiler/interpret.ts, the
 * f64 oracle both back ends are compared against.
 */
import type { CpuArray } from "./cpu.js";
import { EstcRuntimeError, RuntimeErrorCode, runtimeErrorCodes } from "./errors.js";

/**
 * The failures these routines report, a view of the runtime's one table (runtime/errors.ts):
 * `gatherIndexOutOfRange` (E6008) and `nmGroupMismatch` (E6016).
 */
export const KernelErrorCode = runtimeErrorCodes("gatherIndexOutOfRange", "nmGroupMismatch");

/** Throws with one of the codes above. */
function fail(
  code: (typeof KernelErrorCode)[keyof typeof KernelErrorCode],
  message: string,
): never {
  throw new EstcRuntimeError(code, message);
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
 * out = a @ b, batched over the leading dims with NumPy broadcasting. Each output is summed in
 * float64 over the inner index in order and rounded to f32 once, so long inner products do not
 * drift from the f64 oracle (and the result does not depend on the blocking below).
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
  for (let t = 0; t < batches; t++) {
    matmulMatrix(a, aMatrix * m * k, b, bMatrix * k * n, strides, out, t * m * n, m, k, n);
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

/**
 * out = x with its axes permuted: `out.shape[d] = xShape[perm[d]]`. Any dtype; `out` must be a
 * different array from `x`.
 */
export function transpose(
  x: CpuArray,
  xShape: readonly number[],
  perm: readonly number[],
  out: CpuArray,
): void {
  const rank = xShape.length;
  const sorted = [...perm].sort((p, q) => p - q);
  if (perm.length !== rank || sorted.some((p, d) => p !== d)) {
    internal(
      `transpose perm [${perm.join(", ")}] is not a permutation of the ${rank} axes of [${xShape.join(", ")}]`,
    );
  }
  checkLength("transpose x", x, xShape);
  if (out.length !== x.length)
    internal(`transpose out holds ${out.length} elements, x ${x.length}`);
  if (x.length === 0) return;
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  const xStrides = rowMajorStrides(xShape);
  const shape = perm.map((p) => xShape[p]!);
  const strides = perm.map((p) => xStrides[p]!);
  const inner = shape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const counter = new Int32Array(rank);
  let from = 0;
  for (let to = 0; to < out.length; to += inner) {
    for (let j = 0; j < inner; j++) out[to + j] = x[from + j * innerStride]!;
    for (let d = rank - 2; d >= 0; d--) {
      from += strides[d]!;
      if (++counter[d]! < shape[d]!) break;
      counter[d] = 0;
      from -= strides[d]! * shape[d]!;
    }
  }
}

/**
 * NumPy `take(x, idx, axis)`: `out[pre, j, post] = x[pre, idx[j], post]`, out shaped
 * `[...xShape[:axis], ...idx.shape, ...xShape[axis+1:]]`. Every index is checked before anything
 * is written; one outside [0, size) throws E6008 (negative indices do not wrap).
 */
export function gather(
  x: CpuArray,
  xShape: readonly number[],
  idx: Int32Array,
  axis: number,
  out: CpuArray,
): void {
  checkLength("gather x", x, xShape);
  const { pre, size, post } = splitAtAxis(xShape, axis);
  checkIndices(idx, axis, size);
  const count = idx.length;
  if (out.length !== pre * count * post)
    internal(`gather out holds ${out.length} elements, expected ${pre * count * post}`);
  let to = 0;
  for (let a = 0; a < pre; a++) {
    const block = a * size * post;
    for (let j = 0; j < count; j++) {
      const from = block + idx[j]! * post;
      for (let q = 0; q < post; q++) out[to + q] = x[from + q]!;
      to += post;
    }
  }
}

/**
 * The gradient of {@link gather}: `out` (shaped `outShape`, like gather's x) is zeroed, then each
 * element of the cotangent `ct` (shaped like gather's result) is added at the place it was read
 * from, so an index taken twice receives both contributions.
 */
export function gatherGrad(
  ct: Float32Array,
  idx: Int32Array,
  axis: number,
  out: Float32Array,
  outShape: readonly number[],
): void {
  checkLength("gather_grad out", out, outShape);
  const { pre, size, post } = splitAtAxis(outShape, axis);
  checkIndices(idx, axis, size);
  const count = idx.length;
  if (ct.length !== pre * count * post)
    internal(`gather_grad ct holds ${ct.length} elements, expected ${pre * count * post}`);
  out.fill(0);
  let from = 0;
  for (let a = 0; a < pre; a++) {
    const block = a * size * post;
    for (let j = 0; j < count; j++) {
      const to = block + idx[j]! * post;
      for (let q = 0; q < post; q++) out[to + q] += ct[from + q]!;
      from += post;
    }
  }
}

/**
 * The N:M sparsity mask: along the last axis, in each group of `m` consecutive elements, 1 for
 * the `n` with the largest |w| and 0 for the rest; equal magnitudes go to the lower index and a
 * NaN ranks as 0. An element is kept when fewer than `n` of its group outrank it, which needs no
 * sort and no allocation. A last axis that is not a multiple of `m` throws E6016.
 */
export function nmMask(
  w: Float32Array,
  shape: readonly number[],
  n: number,
  m: number,
  out: CpuArray,
): void {
  checkLength("nm_mask w", w, shape);
  if (out.length !== w.length) internal(`nm_mask out holds ${out.length} elements, w ${w.length}`);
  const last = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (!Number.isInteger(m) || m < 1 || last % m !== 0) {
    fail(
      KernelErrorCode.nmGroupMismatch,
      `nm_mask: the last axis of [${shape.join(", ")}] has size ${last}, which is not a multiple of m = ${m}`,
    );
  }
  for (let start = 0; start < w.length; start += m) {
    for (let i = start; i < start + m; i++) {
      const mine = Math.abs(w[i]!) || 0;
      let outranked = 0;
      for (let j = start; j < start + m; j++) {
        const theirs = Math.abs(w[j]!) || 0;
        if (theirs > mine || (theirs === mine && j < i)) outranked++;
      }
      out[i] = outranked < n ? 1 : 0;
    }
  }
}

/** Row-major strides of `shape`, in elements. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  return strides;
}

/** The product of `shape`'s dims (1 for a scalar). */
export function product(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** NumPy broadcasting of two shapes (align right, a 1 repeats), or undefined when they clash. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const x = a[d - rank + a.length] ?? 1;
    const y = b[d - rank + b.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Strides (in whole matrices) of an operand's batch dims over the broadcast `batch`; 0 where it repeats. */
function broadcastStrides(own: readonly number[], batch: readonly number[]): number[] {
  const ownStrides = rowMajorStrides(own);
  return batch.map((size, d) => {
    const at = d - batch.length + own.length;
    return at < 0 || own[at] === 1 ? 0 : ownStrides[at]!;
  });
}

/** The sizes before, at and after `axis`, the three loops of gather and its gradient. */
function splitAtAxis(
  shape: readonly number[],
  axis: number,
): { pre: number; size: number; post: number } {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    internal(`gather axis ${axis} is not an axis of [${shape.join(", ")}]`);
  }
  return {
    pre: product(shape.slice(0, axis)),
    size: shape[axis]!,
    post: product(shape.slice(axis + 1)),
  };
}

/** E6008 for the first index outside [0, size). */
function checkIndices(idx: Int32Array, axis: number, size: number): void {
  for (let j = 0; j < idx.length; j++) {
    const at = idx[j]!;
    if (at < 0 || at >= size) {
      fail(
        KernelErrorCode.gatherIndexOutOfRange,
        `gather index ${at} is out of range for axis ${axis} of size ${size}`,
      );
    }
  }
}

function checkLength(what: string, array: CpuArray, shape: readonly number[]): void {
  if (array.length !== product(shape))
    internal(
      `${what} holds ${array.length} elements but its shape [${shape.join(", ")}] holds ${product(shape)}`,
    );
}

/** A plan or codegen inconsistency: a bug in estc, not in the caller's program. */
function internal(message: string): never {
  throw new Error(`estc internal error: ${message}`);
}
