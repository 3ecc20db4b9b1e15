/**
 * CPU routines for the structural steps of a plan (runtime/plan.ts): transpose, gather and its
 * scatter-add gradient, and the N:M sparsity mask (the batched matmul is in ./matmul.ts). Each
 * works on row-major typed arrays with concrete shapes and writes into a caller-allocated `out`,
 * so the plan runner owns every allocation and the memory counters see it. Semantics follow compiler/interpret.ts, the
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
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
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
export function broadcastStrides(own: readonly number[], batch: readonly number[]): number[] {
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

/**
 * E6008 for the first `one_hot` label outside [0, K) (`spec.indexBounds`), read in place from each
 * label input held on the host: a CPU call checks all of them; a WebGPU call those it uploads, and
 * a label tensor already on the device is not read back (an out-of-range label there gives an
 * all-zero one-hot row, docs/language.md §10). `tensors` are the call's checked inputs.
 */
export function checkIndexBounds(
  spec: { readonly name: string; readonly source: string; readonly dims: readonly string[]; readonly indexBounds?: readonly { input: string; bound: number | string }[] },
  tensors: ReadonlyMap<string, { readonly storage: { readonly kind: string; readonly array?: unknown } }>,
  dims: Int32Array,
): void {
  for (const { input, bound } of spec.indexBounds ?? []) {
    const storage = tensors.get(input)?.storage;
    if (storage?.kind !== "cpu" || !(storage.array instanceof Int32Array)) continue;
    const k = typeof bound === "number" ? bound : dims[spec.dims.indexOf(bound)]!;
    const labels = storage.array;
    for (let j = 0; j < labels.length; j++) {
      const v = labels[j]!;
      if (v >= 0 && v < k) continue;
      const name = typeof bound === "number" ? `${k}` : `${bound} = ${k}`;
      fail(
        KernelErrorCode.gatherIndexOutOfRange,
        `${spec.name} (${spec.source}): input '${input}': element ${j} is ${v}, outside [0, ${name}) — it is one_hot's labels, and a label out of range would give an all-zero row (check the labels, or K)`,
      );
    }
  }
}

export function checkLength(what: string, array: CpuArray, shape: readonly number[]): void {
  if (array.length !== product(shape))
    internal(
      `${what} holds ${array.length} elements but its shape [${shape.join(", ")}] holds ${product(shape)}`,
    );
}

/** A plan or codegen inconsistency: a bug in estc, not in the caller's program. */
function internal(message: string): never {
  throw new Error(`estc internal error: ${message}`);
}
