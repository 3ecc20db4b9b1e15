/**
 * Turns each step of a plan into what the encoder needs — a pipeline, the buffers to bind, the
 * uniforms and the workgroup grid — and runs every check the CPU makes before writing anything
 * (matmul shapes, N:M groups, indices that came from the host) plus the adapter's limits (E6017).
 */
import type { CpuArray } from "../cpu.js";
import { EstcRuntimeError } from "../errors.js";
import { KernelErrorCode, product } from "../kernels.js";
import {
  linearWorkgroupGrid,
  matmulGrid,
  convGrid,
  MAX_WORKGROUPS_PER_DIMENSION,
  reduceChunks,
  MATMUL_SOFTWARE_MAX_K,
  REDUCE_SOFTWARE_MAX_PER_LANE,
  reduceThreads,
  SERIAL_REDUCE_MAX,
  wgslDispatch,
  type Dim,
  type FunctionSpec,
  type Step,
  type WgslKernel,
} from "../plan.js";
import type { DType } from "../tensor.js";
import { CallErrorCode, fail } from "../validate.js";
import type { WebGpuDevice } from "./device.js";
import { WebGpuErrorCode, webGpuError } from "./errors.js";
import {
  LIBRARY_WORKGROUP,
  gatherGradKernel,
  gatherKernel,
  matmulKernel,
  nmMaskKernel,
  transposeKernel,
  type LibraryKernel,
} from "./kernels.js";
import { internal } from "../plan-buffers.js";
import { MAX_SOFTWARE_K, convKernel, poolKernel } from "./conv-kernels.js";

/** The library matmul's one loop steps 16 terms (its inner step unrolled): llvmpipe's cap, 16-fold. */
const LIBRARY_MATMUL_SOFTWARE_MAX_K = 16 * 65535;
import type { CachedPipeline } from "./pool.js";

/** The buffer index of a split reduction's scratch buffer in `PreparedStep.buffers`. */
export const SCRATCH = -1;

/** A step ready to encode. */
export type PreparedStep =
  | { kind: "alias"; x: number }
  | {
      kind: "dispatch";
      /** The kernel's name and step index; GPU messages quote it, so errors can name the kernel. */
      label: string;
      pipeline: Promise<CachedPipeline>;
      /** Set once `pipeline` has resolved. */
      cached?: CachedPipeline;
      /** Plan buffers for bindings 1, 2, …. */
      buffers: number[];
      /** The call's uniform block (generated kernels) or a library kernel's own sizes. */
      uniforms: "call" | Uint32Array;
      /** Workgroups to dispatch; absent when there is nothing to compute. */
      grid?: [number, number, number];
      /**
       * How many of `buffers`, counted from the end, the kernel writes in full (every element of
       * a generated kernel's outputs), so a pooled buffer first used there needs no clearing.
       */
      overwrites?: number;
      /**
       * A split reduction: `buffers` may name SCRATCH, a per-call buffer of `scratchBytes`, and
       * `then` is the second dispatch (it reads the scratch), encoded right after this one.
       */
      scratchBytes?: number;
      then?: { label: string; pipeline: Promise<CachedPipeline>; cached?: CachedPipeline; buffers: number[]; grid: [number, number, number]; overwrites: number };
      /** Gather kernels bind an error flag after their buffers. */
      errorFlag: boolean;
      /** Whether the indices were checked on the host already (so the flag need not be read). */
      indicesCheckedOnHost: boolean;
    };

/** The resolved buffers a step is prepared against. */
export interface PlanBuffers {
  shapes: number[][];
  root: number[];
  /** Buffers stored as bits (bool or packed). */
  bits: boolean[];
  dtypes: DType[];
  dims: Int32Array;
  /** Roots filled from cpu tensors, by root, with the caller's array. */
  hostArrays: ReadonlyMap<number, CpuArray>;
  /**
   * By buffer, the byte size of the GPU buffer it will be bound to: a device input's own, else
   * what the pool gives its root (transfer.ts `storageSize`).
   */
  boundBytes: number[];
}

/** Prepares step `s`; pipelines compile in the background until the caller awaits them. */
export function prepareStep(spec: FunctionSpec, step: Step, s: number, pb: PlanBuffers, device: WebGpuDevice): PreparedStep {
  if (step.op === "alias") return { kind: "alias", x: step.x };
  if (step.op === "kernel") return generatedKernel(spec, step, s, pb, device);
  const { shapes } = pb;
  const words = (b: number, what: string) => {
    if (pb.bits[b]) internal(spec, `a ${step.op} step's ${what} is a bool buffer`);
  };
  let kernel: LibraryKernel;
  let buffers: number[];
  let checked = true;
  switch (step.op) {
    case "matmul":
      [step.a, step.b, step.out].forEach((b) => words(b, "operand"));
      kernel = matmulKernel(shapes[step.a]!, shapes[step.b]!);
      buffers = [step.a, step.b, step.out];
      // uniforms[1] is the inner size k (llvmpipe's loop cap: see matmulKernel).
      if (device.serialReductions && kernel.uniforms[1]! > LIBRARY_MATMUL_SOFTWARE_MAX_K) {
        throw webGpuError(
          WebGpuErrorCode.limitExceeded,
          `${spec.name} (${spec.source}): the matrix product sums ${kernel.uniforms[1]} terms per element, more than the ${LIBRARY_MATMUL_SOFTWARE_MAX_K} a software adapter's loop limit allows; use a smaller batch or the cpu device`,
        );
      }
      break;
    case "transpose": {
      words(step.x, "operand");
      const rank = shapes[step.x]!.length;
      const sorted = [...step.perm].sort((p, q) => p - q);
      if (step.perm.length !== rank || sorted.some((p, d) => p !== d)) {
        internal(spec, `transpose perm [${step.perm.join(", ")}] is not a permutation of ${rank} axes`);
      }
      kernel = transposeKernel(shapes[step.x]!, step.perm);
      buffers = [step.x, step.out];
      break;
    }
    case "gather":
    case "gather_grad": {
      const [data, shape] = step.op === "gather" ? [step.x, shapes[step.x]!] : [step.ct, shapes[step.out]!];
      [data, step.idx, step.out].forEach((b) => words(b, "operand"));
      if (!Number.isInteger(step.axis) || step.axis < 0 || step.axis >= shape.length) {
        internal(spec, `gather axis ${step.axis} is not an axis of [${shape.join(", ")}]`);
      }
      const count = product(shapes[step.idx]!);
      checked = checkHostIndices(pb.hostArrays.get(pb.root[step.idx]!), step.axis, shape[step.axis]!);
      kernel = step.op === "gather" ? gatherKernel(shape, count, step.axis) : gatherGradKernel(shape, count, step.axis);
      buffers = [data, step.idx, step.out];
      break;
    }
    case "nm_mask": {
      words(step.w, "operand");
      words(step.out, "result");
      const shape = shapes[step.w]!;
      const last = shape.length === 0 ? 1 : shape[shape.length - 1]!;
      if (!Number.isInteger(step.m) || step.m < 1 || last % step.m !== 0) {
        throw new EstcRuntimeError(
          KernelErrorCode.nmGroupMismatch,
          `nm_mask: the last axis of [${shape.join(", ")}] has size ${last}, which is not a multiple of m = ${step.m}`,
        );
      }
      kernel = nmMaskKernel(shape, step.n, step.m, pb.dtypes[step.out] === "i32" ? "i32" : "f32");
      buffers = [step.w, step.out];
      break;
    }
    case "conv2d":
      [step.a, step.b, step.out].forEach((b) => words(b, "operand"));
      kernel = convKernel(step.mode, shapes[step.a]!, shapes[step.b]!, shapes[step.out]!, step);
      buffers = [step.a, step.b, step.out];
      // uniforms[20] is the product's inner size K (a weight gradient's is B·Ho·Wo).
      if (device.serialReductions && kernel.uniforms[20]! > MAX_SOFTWARE_K) {
        throw webGpuError(
          WebGpuErrorCode.limitExceeded,
          `${spec.name} (${spec.source}): the conv2d ${step.mode} step sums ${kernel.uniforms[20]} terms per element, more than the ${MAX_SOFTWARE_K} a software adapter's loop limit allows; use a smaller batch or the cpu device`,
        );
      }
      break;
    case "pool2d": {
      const second = step.b;
      if ((second === undefined) !== (step.mode === "avg" || step.mode === "avg_grad")) internal(spec, `a ${step.mode} pooling step has the wrong operands`);
      buffers = [step.a, ...(second === undefined ? [] : [second]), step.out];
      buffers.forEach((b) => words(b, "operand"));
      const [x, y] = step.mode === "avg_grad" ? [step.out, step.a] : [step.a, step.mode === "max_grad" ? second! : step.out];
      kernel = poolKernel(step.mode, shapes[x]!, shapes[y]!, step);
      break;
    }
  }
  const label = `${spec.name}/${kernel.name} (step ${s})`;
  const grid =
    "workgroups" in kernel.grid
      ? workgroupGrid(spec, label, kernel.grid.workgroups, device)
      : linearGrid(spec, label, kernel.grid.invocations, LIBRARY_WORKGROUP, device);
  return dispatch(label, device.pipelines.get(kernel.code, label), buffers, kernel.uniforms, grid, kernel.errorFlag, checked);
}

function generatedKernel(spec: FunctionSpec, step: Extract<Step, { op: "kernel" }>, s: number, pb: PlanBuffers, device: WebGpuDevice): PreparedStep {
  if (spec.wgsl === undefined) {
    fail(
      CallErrorCode.backendUnavailable,
      `${spec.name} (${spec.source}): this module was built without WGSL kernels, so it cannot run on webgpu; rebuild it with 'estc build'`,
    );
  }
  const kernel = spec.wgsl[step.kernel];
  if (kernel === undefined) internal(spec, `WGSL kernel ${step.kernel} does not exist`);
  const label = `${kernel.name} (step ${s})`;
  const size = (d: Dim): number => {
    if (typeof d === "number") return d;
    const at = spec.dims.indexOf(d);
    if (at < 0) internal(spec, `kernel ${kernel.name}: shape symbol '${d}' is not among the dims`);
    return pb.dims[at]!;
  };
  if (kernel.conv !== undefined) {
    // As the library step's: a longer inner loop than llvmpipe runs would return a partial sum (E6017).
    const k = kernel.conv.k.reduce<number>((p, d) => p * size(d), 1);
    if (device.serialReductions && k > MAX_SOFTWARE_K) {
      throw webGpuError(
        WebGpuErrorCode.limitExceeded,
        `${spec.name} (${spec.source}): the convolution ${kernel.name} sums ${k} terms per element, more than the ${MAX_SOFTWARE_K} a software adapter's loop limit allows; use the cpu device`,
      );
    }
    const grid = workgroupGrid(spec, label, convGrid(kernel.conv, size), device);
    const prepared = dispatch(label, device.pipelines.get(kernel.code, `${label} of ${spec.name} (${spec.source})`), step.args, "call", grid, false, true);
    if (prepared.kind === "dispatch") prepared.overwrites = kernel.code.match(/var<storage, read_write>/g)?.length ?? 0;
    return prepared;
  }
  if (kernel.matmul !== undefined) {
    // A longer inner loop than llvmpipe runs would return a partial sum: refuse it (E6017).
    const k = kernel.matmul.k === undefined ? 0 : size(kernel.matmul.k);
    if (device.serialReductions && k > MATMUL_SOFTWARE_MAX_K) {
      throw webGpuError(
        WebGpuErrorCode.limitExceeded,
        `${spec.name} (${spec.source}): the matrix product ${kernel.name} sums ${k} terms per element, more than the ${MATMUL_SOFTWARE_MAX_K} a software adapter's loop limit allows; use a smaller batch or the cpu device`,
      );
    }
    // One workgroup per MATMUL_TILE x MATMUL_TILE output block of each batch matrix.
    const grid = workgroupGrid(spec, label, matmulGrid(kernel.matmul, size), device);
    const prepared = dispatch(label, device.pipelines.get(kernel.code, `${label} of ${spec.name} (${spec.source})`), step.args, "call", grid, false, true);
    if (prepared.kind === "dispatch") prepared.overwrites = kernel.code.match(/var<storage, read_write>/g)?.length ?? 0;
    return prepared;
  }
  // Software adapters run a reduction's serial form (see WebGpuDevice.serialReductions), up to
  // the extent its loop can reach on llvmpipe; longer ones take the tree.
  const serial =
    device.serialReductions && kernel.reduce?.serial !== undefined && kernel.reduce.extent.reduce<number>((p, d) => p * size(d), 1) <= SERIAL_REDUCE_MAX;
  const { units, perGroup } = wgslDispatch(kernel, size, serial);
  const chunks = !serial && kernel.reduce?.partial !== undefined && kernel.reduce.final !== undefined && units > 0 ? reduceChunks(kernel.reduce.extent.reduce<number>((p, d) => p * size(d), 1)) : 1;
  if (device.serialReductions && !serial && kernel.reduce !== undefined) {
    // A lane's loop past llvmpipe's cap would return a partial sum: refuse it (E6017).
    const extent = kernel.reduce.extent.reduce<number>((p, d) => p * size(d), 1);
    const perLane = chunks > 1 ? Math.ceil(Math.ceil(extent / chunks) / kernel.workgroupSize) : Math.ceil(extent / reduceThreads(extent, kernel.workgroupSize));
    if (perLane > REDUCE_SOFTWARE_MAX_PER_LANE) {
      throw webGpuError(
        WebGpuErrorCode.limitExceeded,
        `${spec.name} (${spec.source}): the reduction ${kernel.name} sums ${extent} elements per output, ${perLane} per lane, more than the ${REDUCE_SOFTWARE_MAX_PER_LANE} a software adapter's loop limit allows; reduce in parts or use the cpu device`,
      );
    }
  }
  if (chunks > 1) {
    // A full reduction split in two passes: chunks into a scratch buffer, then the chunks.
    const where = `${label} of ${spec.name} (${spec.source})`;
    const first = dispatch(`${label} partial`, device.pipelines.get(kernel.reduce!.partial!, where), [...step.args.slice(0, -1), SCRATCH], "call", linearGrid(spec, label, chunks, 1, device), false, true);
    if (first.kind === "dispatch") {
      first.scratchBytes = 8 * chunks;
      first.overwrites = 1;
      const then: NonNullable<typeof first.then> = { label: `${label} final`, pipeline: device.pipelines.get(kernel.reduce!.final!, where), buffers: [SCRATCH, step.args[step.args.length - 1]!], grid: [1, 1, 1], overwrites: 1 };
      then.pipeline.then((cached) => (then.cached = cached), () => undefined);
      first.then = then;
    }
    return first;
  }
  const grid = linearGrid(spec, label, units, perGroup, device);
  const code = serial ? kernel.reduce!.serial! : guardFree(kernel, step.args, grid, size, pb) ? kernel.unguarded! : kernel.code;
  const prepared = dispatch(label, device.pipelines.get(code, `${label} of ${spec.name} (${spec.source})`), step.args, "call", grid, false, true);
  if (prepared.kind === "dispatch") prepared.overwrites = code.match(/var<storage, read_write>/g)?.length ?? 0;
  return prepared;
}

/**
 * Whether `kernel.unguarded` may run on `grid`: every buffer of the kernel's element count (the
 * ones it binds as vec4s) is bound to a GPU buffer holding all the elements the grid's lanes touch.
 * A caller's device tensor in a smaller buffer, or a grid unlike the pool's, keeps the guard.
 */
function guardFree(kernel: WgslKernel, args: number[], grid: [number, number, number] | undefined, size: (d: Dim) => number, pb: PlanBuffers): boolean {
  if (kernel.unguarded === undefined || grid === undefined) return false;
  const n = kernel.invocations.shape.reduce<number>((p, d) => p * size(d), 1);
  const lanes = grid[0] * grid[1] * grid[2] * kernel.workgroupSize * kernel.invocations.perInvocation;
  return args.every((b) => product(pb.shapes[b]!) !== n || pb.boundBytes[b]! >= 4 * lanes);
}

function dispatch(
  label: string,
  pipeline: Promise<CachedPipeline>,
  buffers: number[],
  uniforms: "call" | Uint32Array,
  grid: [number, number, number] | undefined,
  errorFlag: boolean,
  indicesCheckedOnHost: boolean,
): PreparedStep {
  const step: PreparedStep = { kind: "dispatch", label, pipeline, buffers, uniforms, errorFlag, indicesCheckedOnHost, ...(grid === undefined ? {} : { grid }) };
  pipeline.then((cached) => (step.cached = cached), () => undefined);
  return step;
}

/**
 * Workgroups for `invocations` on the 1-D convention of runtime/plan.ts (index = gid.x + gid.y *
 * num_workgroups.x * size), on plan.ts `linearWorkgroupGrid`: y rows once x would pass the
 * per-dimension limit, over-dispatching by fewer than y workgroups.
 */
function linearGrid(spec: FunctionSpec, label: string, invocations: number, size: number, device: WebGpuDevice): [number, number, number] | undefined {
  if (invocations === 0) return undefined;
  const max = Math.min(device.limits.maxComputeWorkgroupsPerDimension, MAX_WORKGROUPS_PER_DIMENSION);
  const groups = Math.ceil(invocations / size);
  const [x, y] = linearWorkgroupGrid(groups, max);
  if (y > max) {
    throw webGpuError(
      WebGpuErrorCode.limitExceeded,
      `${spec.name} (${spec.source}): kernel ${label} needs ${groups} workgroups, more than ${max} x ${max} (maxComputeWorkgroupsPerDimension)`,
    );
  }
  return [x, y, 1];
}

function workgroupGrid(spec: FunctionSpec, label: string, grid: [number, number, number], device: WebGpuDevice): [number, number, number] | undefined {
  if (grid.some((g) => g === 0)) return undefined;
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (grid.some((g) => g > max)) {
    throw webGpuError(
      WebGpuErrorCode.limitExceeded,
      `${spec.name} (${spec.source}): kernel ${label} needs a ${grid.join(" x ")} workgroup grid; this adapter allows ${max} per dimension (maxComputeWorkgroupsPerDimension)`,
    );
  }
  return grid;
}

/** E6008, as on the CPU, for the first index outside [0, size); false when the indices are on the GPU. */
function checkHostIndices(idx: CpuArray | undefined, axis: number, size: number): boolean {
  if (idx === undefined) return false;
  for (let j = 0; j < idx.length; j++) {
    const at = idx[j]!;
    if (at < 0 || at >= size) {
      throw new EstcRuntimeError(
        KernelErrorCode.gatherIndexOutOfRange,
        `gather index ${at} is out of range for axis ${axis} of size ${size}`,
      );
    }
  }
  return true;
}
