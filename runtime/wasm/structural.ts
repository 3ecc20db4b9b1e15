/**
 * Runs the plan's N:M mask, gather, gather-gradient and transpose steps on Wasm
 * (./structural-kernels.ts, ./transpose-kernel.ts)
 * for `cpu({ kernels: "wasm" })`. Each returns false where the TS routine of runtime/kernels.ts
 * must run instead: a shape, index or group size it checks and reports (E6008, E6016, internal
 * errors), an N:M group size that is not a multiple of 4, or an arena that cannot hold the
 * operands. The results are the TS routines' bit for bit.
 */
import type { CpuArray } from "../cpu.js";
import { product } from "../kernels.js";
import { wasmApi } from "./api.js";
import { ARENA_MAX_PAGES, kernelArena, stageInArena, type KernelArena } from "./arena.js";
import { structuralModuleBytes } from "./structural-kernels.js";

type Kernel = (...args: number[]) => void;
interface StructuralKernels {
  nm4: Kernel;
  nmWide: Kernel;
  gather: Kernel;
  gatherGrad: Kernel;
  transpose2d: Kernel;
}

let kernels: StructuralKernels | undefined;

/** The module, instantiated on this thread's kernel arena on first use. */
function structuralKernels(arena: KernelArena): StructuralKernels {
  if (kernels !== undefined) return kernels;
  const api = wasmApi!;
  const module = new api.Module(structuralModuleBytes(arena.shared, ARENA_MAX_PAGES));
  kernels = new api.Instance(module, { env: { memory: arena.memory } }).exports as unknown as StructuralKernels;
  return kernels;
}

/**
 * Calls `run` with the arena addresses of `arrays` (in place where the arena holds them, else
 * copied into temporary blocks, and those in `writes` copied back after). False when the arena
 * cannot hold them.
 */
function inArena(arrays: readonly CpuArray[], writes: ReadonlySet<number>, run: (k: StructuralKernels, ptrs: number[]) => void): boolean {
  const arena = kernelArena();
  const k = structuralKernels(arena);
  // 16 bytes of slack: a vector may be read past a short buffer's end.
  return stageInArena(arena, arrays, (i) => writes.has(i), 16, (ptrs) => run(k, ptrs));
}

/** runtime/kernels.ts's `nmMask` on Wasm, for m a multiple of 4 and a valid shape; else false. */
export function wasmNmMask(w: Float32Array, shape: readonly number[], n: number, m: number, out: CpuArray): boolean {
  const last = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (wasmApi === undefined || !Number.isInteger(m) || m < 4 || m % 4 !== 0 || last % m !== 0) return false;
  if (w.length !== product(shape) || out.length !== w.length || !(out instanceof Float32Array)) return false;
  if (w.length === 0) return true;
  // An element is kept when its (integer) outranked count is below n, i.e. below ceil(n); past m
  // every element is kept, at 0 or below (or NaN, which the i32 argument makes 0) none.
  const keep = Math.max(0, Math.min(m + 1, Math.ceil(n)));
  return inArena([w, out], new Set([1]), (k, [pw, po]) => {
    if (m === 4) k.nm4(pw!, po!, w.length / 4, keep);
    else k.nmWide(pw!, po!, w.length / m, m, keep);
  });
}

/** The pre/size/post split of gather, or undefined for an axis the TS routine must report. */
function split(shape: readonly number[], axis: number): { pre: number; size: number; post: number } | undefined {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) return undefined;
  return { pre: product(shape.slice(0, axis)), size: shape[axis]!, post: product(shape.slice(axis + 1)) };
}

const indicesInRange = (idx: Int32Array, size: number) => idx.every((i) => i >= 0 && i < size);

/** runtime/kernels.ts's `gather` on Wasm (4-byte elements); false where the TS routine must check or run. */
export function wasmGather(x: CpuArray, xShape: readonly number[], idx: Int32Array, axis: number, out: CpuArray): boolean {
  const s = split(xShape, axis);
  if (wasmApi === undefined || s === undefined || x.BYTES_PER_ELEMENT !== 4 || out.BYTES_PER_ELEMENT !== 4) return false;
  if (x.length !== product(xShape) || out.length !== s.pre * idx.length * s.post || !indicesInRange(idx, s.size)) return false;
  if (out.length === 0) return true;
  return inArena([x, idx, out], new Set([2]), (k, [px, pi, po]) => k.gather(px!, pi!, po!, s.pre, idx.length, s.size, s.post));
}

/** runtime/kernels.ts's `gatherGrad` on Wasm; false where the TS routine must check or run. */
export function wasmGatherGrad(ct: Float32Array, idx: Int32Array, axis: number, out: Float32Array, outShape: readonly number[]): boolean {
  const s = split(outShape, axis);
  if (wasmApi === undefined || s === undefined) return false;
  if (out.length !== product(outShape) || ct.length !== s.pre * idx.length * s.post || !indicesInRange(idx, s.size)) return false;
  if (out.length === 0) return true;
  return inArena([ct, idx, out], new Set([2]), (k, [pc, pi, po]) => k.gatherGrad(pc!, pi!, po!, s.pre, idx.length, s.size, s.post));
}

/**
 * A transpose reduced to `batches` × (rows × cols → cols × rows) of `width`-element runs: axes of
 * size 1 dropped, axes that stay adjacent merged, a leading run of axes that stay put taken as
 * the batch. Undefined when what is left is not one swap (a 3-axis reversal, for instance).
 */
export function transposeAs2d(shape: readonly number[], perm: readonly number[]): { batches: number; rows: number; cols: number; width: number } | undefined {
  const kept = perm.filter((p) => shape[p]! !== 1);
  const rank = new Map([...kept].sort((a, b) => a - b).map((axis, i) => [axis, i]));
  // Groups of x axes in out order, each a run of consecutive x axes.
  const groups: number[][] = [];
  for (const p of kept.map((a) => rank.get(a)!)) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1]! + 1 === p) last.push(p);
    else groups.push([p]);
  }
  const sizes = [...rank.keys()].map((a) => shape[a]!);
  const order = [...groups].sort((a, b) => a[0]! - b[0]!);
  const size = (g: number[]) => g.reduce((n, a) => n * sizes[a]!, 1);
  let lead = 0;
  while (lead < groups.length && groups[lead] === order[lead]) lead++;
  const batches = groups.slice(0, lead).reduce((n, g) => n * size(g), 1);
  const rest = groups.slice(lead);
  const at = (g: number[]) => order.indexOf(g);
  if (rest.length === 0) return { batches, rows: 1, cols: 1, width: 1 };
  if (rest.length === 2 && at(rest[0]!) === lead + 1) return { batches, rows: size(rest[1]!), cols: size(rest[0]!), width: 1 };
  if (rest.length === 3 && at(rest[0]!) === lead + 1 && at(rest[1]!) === lead && at(rest[2]!) === lead + 2) {
    return { batches, rows: size(rest[1]!), cols: size(rest[0]!), width: size(rest[2]!) };
  }
  return undefined;
}

/** runtime/kernels.ts's `transpose` on Wasm (4-byte elements) where it reduces to a batched 2-D swap; else false. */
export function wasmTranspose(x: CpuArray, xShape: readonly number[], perm: readonly number[], out: CpuArray): boolean {
  const rank = xShape.length;
  if (wasmApi === undefined || perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, d) => p !== d)) return false;
  if (x.length !== product(xShape) || out.length !== x.length || x.BYTES_PER_ELEMENT !== 4 || out.BYTES_PER_ELEMENT !== 4 || x === out) return false;
  if (x.length === 0) return true;
  const plan = transposeAs2d(xShape, perm);
  if (plan === undefined) return false;
  if (plan.rows === 1 || plan.cols === 1) {
    // Nothing moves: the order of the elements is unchanged.
    new Uint32Array(out.buffer, out.byteOffset, out.length).set(new Uint32Array(x.buffer, x.byteOffset, x.length));
    return true;
  }
  return inArena([x, out], new Set([1]), (k, [px, po]) => k.transpose2d(px!, po!, plan.batches, plan.rows, plan.cols, plan.width));
}
