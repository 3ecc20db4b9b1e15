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

/** Rows of `a` multiplied together per pass, so each row of `b` is read once for four outputs. */
const ROW_BLOCK = 4;

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
 * out = a @ b, batched over the leading dims with NumPy broadcasting. Sums run in float64 (a
 * scratch of four output rows) and are rounded to f32 once, so long inner products do not
 * drift from the f64 oracle. The inner loop runs over a contiguous row of `b`.
 */
export function matmul(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  out: Float32Array,
): void {
  const outShape = matmulShape(aShape, bShape);
  checkLength("matmul a", a, aShape);
  checkLength("matmul b", b, bShape);
  checkLength("matmul out", out, outShape);
  const rank = outShape.length;
  const [m, k, n] = [
    aShape[aShape.length - 2]!,
    aShape[aShape.length - 1]!,
    bShape[bShape.length - 1]!,
  ];
  const batch = outShape.slice(0, rank - 2);
  const aStrides = broadcastStrides(aShape.slice(0, -2), batch);
  const bStrides = broadcastStrides(bShape.slice(0, -2), batch);
  const scratch = new Float64Array(ROW_BLOCK * n);
  const counter = new Int32Array(batch.length);
  const batches = product(batch);
  let aMatrix = 0;
  let bMatrix = 0;
  for (let t = 0; t < batches; t++) {
    matmulMatrix(a, aMatrix * m * k, b, bMatrix * k * n, out, t * m * n, m, k, n, scratch);
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

/**
 * out = op(a) @ op(b) for a generated matmul kernel, where op swaps the last two axes of an
 * operand stored transposed (`transA`, `transB`: the shapes given are the stored ones). A
 * transposed operand is copied into row-major order first, so the product is `matmul`'s.
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
  const [a2, aShape2] = transA ? swapLast(a, aShape) : [a, aShape];
  const [b2, bShape2] = transB ? swapLast(b, bShape) : [b, bShape];
  matmul(a2, aShape2, b2, bShape2, out);
}

function swapLast(x: Float32Array, shape: readonly number[]): [Float32Array, number[]] {
  const r = shape.length;
  const perm = [...shape.keys()];
  [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
  const out = new Float32Array(x.length);
  transpose(x, shape, perm, out);
  return [out, perm.map((p) => shape[p]!)];
}

/** One [m, k] @ [k, n] product at the given offsets, four rows of `a` per pass over `b`. */
function matmulMatrix(
  a: Float32Array,
  aAt: number,
  b: Float32Array,
  bAt: number,
  out: Float32Array,
  outAt: number,
  m: number,
  k: number,
  n: number,
  scratch: Float64Array,
): void {
  const n2 = 2 * n;
  const n3 = 3 * n;
  let i = 0;
  for (; i + ROW_BLOCK <= m; i += ROW_BLOCK) {
    scratch.fill(0);
    const r0 = aAt + i * k;
    for (let p = 0; p < k; p++) {
      const x0 = a[r0 + p]!;
      const x1 = a[r0 + k + p]!;
      const x2 = a[r0 + 2 * k + p]!;
      const x3 = a[r0 + 3 * k + p]!;
      const row = bAt + p * n;
      for (let j = 0; j < n; j++) {
        const bj = b[row + j]!;
        scratch[j] += x0 * bj;
        scratch[n + j] += x1 * bj;
        scratch[n2 + j] += x2 * bj;
        scratch[n3 + j] += x3 * bj;
      }
    }
    const o = outAt + i * n;
    for (let j = 0; j < ROW_BLOCK * n; j++) out[o + j] = scratch[j]!;
  }
  for (; i < m; i++) {
    scratch.fill(0, 0, n);
    const r = aAt + i * k;
    for (let p = 0; p < k; p++) {
      const x = a[r + p]!;
      const row = bAt + p * n;
      for (let j = 0; j < n; j++) scratch[j] += x * b[row + j]!;
    }
    const o = outAt + i * n;
    for (let j = 0; j < n; j++) out[o + j] = scratch[j]!;
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
