/**
 * The execution plan a generated module hands to the runtime: buffers with symbolic shapes and
 * an ordered list of steps. The compiler's schedule stage produces it; both back ends run it
 * (the CPU calls the generated TypeScript kernels, WebGPU dispatches the WGSL ones).
 */
import type { DType } from "./tensor.js";

/** A dimension: a literal size or a shape symbol such as "B", resolved from the inputs at call time. */
export type Dim = number | string;

/** One buffer of an entry point: its element type and symbolic shape. */
export interface BufferSpec {
  dtype: DType;
  shape: Dim[];
  /**
   * A bool buffer stored as bits: 32 elements per Int32Array word (element i is bit i % 32 of
   * word i / 32), ceil(size / 32) words. Outside a plan it travels as an i32 tensor of the words.
   */
  packed?: boolean;
}

/** One step of a plan. Buffer operands are indices into `EntryPlan.buffers`. */
export type Step =
  /** A generated kernel: `kernels[kernel](dims, scalars, seed, ...buffers(args))`, reads first, then writes. */
  | { op: "kernel"; kernel: number; args: number[] }
  /** Batched matrix product out = a @ b (rank >= 2, batch dims broadcast). */
  | { op: "matmul"; a: number; b: number; out: number }
  /** out = x with axes permuted by `perm`. */
  | { op: "transpose"; x: number; out: number; perm: number[] }
  /** NumPy take(x, idx, axis). */
  | { op: "gather"; x: number; idx: number; out: number; axis: number }
  /** Scatter-add of `ct` (gather-shaped) into zeros shaped like `out`. */
  | { op: "gather_grad"; ct: number; idx: number; out: number; axis: number }
  /** 1 where |w| is among the n largest of each group of m on the last axis (ties: lower index). */
  | { op: "nm_mask"; w: number; out: number; n: number; m: number }
  /** out shares x's elements under another shape (reshape). */
  | { op: "alias"; x: number; out: number }
  /**
   * A 2-D convolution (NCHW) or one of its gradients (runtime/conv.ts): `forward` out = conv2d(a = x,
   * b = w); `input_grad` out = dx from a = ct, b = w; `weight_grad` out = dw from a = x, b = ct.
   * Pairs are [height, width].
   */
  | { op: "conv2d"; mode: "forward" | "input_grad" | "weight_grad"; a: number; b: number; out: number; stride: number[]; padding: number[]; dilation: number[]; groups: number }
  /**
   * A 2-D pooling (NCHW) or its gradient (runtime/pool2d.ts): `max` out = b at the winner of each
   * window of a (b = a for max pooling itself); `max_grad` out = dx from a = x, b = ct; `avg` out
   * from a = x; `avg_grad` out = dx from a = ct. Pairs are [height, width].
   */
  | { op: "pool2d"; mode: "max" | "max_grad" | "avg" | "avg_grad"; a: number; b?: number; out: number; kernel: number[]; stride: number[]; padding: number[] };

/** One entry point (forward, vjp or valueAndGrad) of a generated function. */
export interface EntryPlan {
  buffers: BufferSpec[];
  /** Buffers filled from the caller's tensors, by input name (`$ct0`… for vjp cotangents). */
  inputs: { name: string; buffer: number }[];
  /** Buffers returned to the caller, in order. */
  outputs: number[];
  steps: Step[];
}

/**
 * A generated kernel. `dims` holds the runtime sizes of `FunctionSpec.dims` in order, `scalars`
 * the runtime scalar options in `FunctionSpec.scalars` order, `seed` the Philox seed.
 */
export type CpuKernel = {
  // A method signature, so parameters compare bivariantly: a generated kernel types each buffer
  // exactly (`b0: Float32Array`) and is still a CpuKernel under strictFunctionTypes.
  kernel(dims: Int32Array, scalars: Float64Array, seed: number, ...buffers: (Float32Array | Int32Array | Uint8Array)[]): void;
}["kernel"];

/**
 * A generated WGSL kernel, one per CPU kernel (same index). Bindings, all in group 0:
 * binding 0 is a uniform buffer laid out as
 *
 *     struct Uniforms { dims: array<vec4<u32>, ND>, scalars: array<vec4<f32>, NS>, seed: vec4<u32> }
 *
 * with ND = max(1, ceil(FunctionSpec.dims.length / 4)) and NS = max(1, ceil(scalars.length / 4));
 * dim k is `u.dims[k / 4][k % 4]`, scalar k `u.scalars[k / 4][k % 4]` (an i32 scalar's bits, to
 * bitcast), `u.seed.xy` is the Philox key (seed mod 2^32, floor(seed / 2^32)) and `u.seed.zw` is
 * (0, 0) (the normal sampler relies on `u.seed.w` being 0). Bindings 1… are the step's `args` in order
 * (reads as `var<storage, read>`, writes as `var<storage, read_write>`); bool buffers are packed
 * bits in `array<u32>`. The entry point is `main`; the kernel computes its linear invocation index
 * as `gid.x + gid.y * (num_workgroups.x * workgroupSize)` so large dispatches can use 2-D grids.
 *
 * The grid for G workgroups is {@link linearWorkgroupGrid}'s [x, y], which over-dispatches by
 * fewer than y workgroups, so `code` checks its invocation index against the element count and
 * returns past it. A vec4 kernel (`perInvocation` 4, workgroup size {@link GENERATED_WORKGROUP})
 * on that grid touches the first {@link vec4Coverage}(n) elements of each buffer it reads or
 * writes as vec4s; the WebGPU pool sizes every storage buffer to that coverage of its words.
 */
export interface WgslKernel {
  name: string;
  code: string;
  /**
   * `code` without the bounds guard (a vec4 kernel only): its lanes past the element count compute
   * on padding and write padding, which no kernel, copy or readback reads. Valid only when every
   * storage buffer of the kernel's element count (those bound as vec4s; the others are
   * one-element operands, read at element 0) holds at least the grid's coverage.
   */
  unguarded?: string;
  workgroupSize: number;
  /** The number of invocations: the product of `shape` (resolved), divided by `perInvocation` rounded up. */
  invocations: { shape: Dim[]; perInvocation: number };
  /**
   * A workgroup reduction: `invocations.shape` is the output's, and each output element gets
   * T = min(workgroupSize, the power of two >= product(extent)) invocations (T = 1 when the
   * product is 0 or 1), so a workgroup covers workgroupSize / T consecutive outputs. The dispatch
   * is ceil(outputs / (workgroupSize / T)) workgroups, the kernel numbering them
   * `wid.x + wid.y * num_workgroups.x` (see {@link wgslDispatch}). A full reduction (one output)
   * also has a split: `partial` (bindings: the reads, then a scratch buffer of 2 * chunks i32
   * words) reduces chunk c of the extent on workgroup c into words 2c (the f32 bits) and 2c + 1
   * (the index), and `final` (bindings: the scratch, then the output) combines the chunks on one
   * workgroup; the runtime uses it when {@link reduceChunks} is above 1. `serial` is the same
   * reduction with one invocation per output (workgroupSize outputs per workgroup, no
   * workgroup memory, no barrier), which software adapters run instead of `code` and the split.
   */
  reduce?: { extent: Dim[]; partial?: string; final?: string; serial?: string };
  /**
   * A matrix product kernel (with its fused prologues and epilogue): the output is
   * [...batch, m, n], each workgroup computes one MATMUL_TILE x MATMUL_TILE block of one output
   * matrix, and the grid is ceil(n / MATMUL_TILE) x ceil(m / MATMUL_TILE) x product(batch)
   * (`wid.x` the column block, `wid.y` the row block, `wid.z` the row-major batch index).
   * `k` is the inner size (absent in modules built before it was recorded), which a software
   * adapter's loop cap bounds: see {@link MATMUL_SOFTWARE_MAX_K}.
   */
  matmul?: { m: Dim; n: Dim; k?: Dim; batch: Dim[] };
  /**
   * A forward convolution with its fused epilogue (compiler/codegen/wgsl/conv.ts), the implicit
   * GEMM out[g] [O/G, B·Ho·Wo] = w[g] @ col(x)[g] of runtime/webgpu/conv-kernels.ts: `out` is
   * [B, O, Ho, Wo], each workgroup computes one 64 x 64 block of one group's product, and the grid
   * is ceil(B·Ho·Wo / 64) x ceil((O / groups) / 64) x groups. `k` ([C/G, KH, KW]) multiplies to the
   * inner size, which a software adapter's loop cap bounds (conv-kernels.ts MAX_SOFTWARE_K).
   */
  conv?: { out: Dim[]; groups: number; k: Dim[] };
}

/**
 * The longest inner size K a generated matmul kernel runs on a software adapter. llvmpipe
 * (gallivm) keeps one loop counter per invocation, shared by every loop of the shader and never
 * reset, and stops looping at 65535 iterations in all, then goes on with a partial sum (K =
 * 70,000 summed about 58,300 terms). Per slice of 16 terms the kernel runs its slice loop and
 * at most 16 staging and 16 inner-step iterations (the shader compiler may unroll some; not
 * counted on), and 72 more in the epilogue: 16 · floor((65535 − 72) / 33) = 31,728. Past it the
 * runtime refuses the kernel there (E6017).
 */
export const MATMUL_SOFTWARE_MAX_K = 16 * Math.floor((65535 - 72) / 33);

/** The workgroup grid of a `WgslKernel.conv` kernel for resolved dims (see there). */
export function convGrid(c: NonNullable<WgslKernel["conv"]>, size: (d: Dim) => number): [number, number, number] {
  const [b, o, h, w] = c.out.map(size) as [number, number, number, number];
  return [Math.ceil((b * h * w) / MATMUL_TILE), Math.ceil(o / c.groups / MATMUL_TILE), c.groups];
}

/** The output block edge of a generated matmul kernel's workgroup. */
export const MATMUL_TILE = 64;

/**
 * A guarded vec4 kernel's `code` without its bounds guard (its `let total = …;` and
 * `if (idx >= …) { return; }` lines): its `unguarded` form, which generated modules derive here
 * instead of storing each vec4 kernel twice.
 */
export function withoutBoundsGuard(code: string): string {
  return code
    .split("\n")
    .filter((l) => !/^\s*(let total = |if \(idx >= )/.test(l))
    .join("\n");
}

/** The workgroup grid of a `WgslKernel.matmul` kernel for resolved dims (see there). */
export function matmulGrid(mm: NonNullable<WgslKernel["matmul"]>, size: (d: Dim) => number): [number, number, number] {
  const batches = mm.batch.reduce<number>((p, d) => p * size(d), 1);
  return [Math.ceil(size(mm.n) / MATMUL_TILE), Math.ceil(size(mm.m) / MATMUL_TILE), batches];
}

/** Invocations per workgroup of every generated elementwise kernel (WGSL_WORKGROUP_SIZE in codegen). */
export const GENERATED_WORKGROUP = 64;
/**
 * The most workgroups a grid puts on one dimension: WebGPU's guaranteed
 * maxComputeWorkgroupsPerDimension, so a grid (and a padding) computed without the device is the
 * one every device dispatches.
 */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * The [x, y] grid for `groups` workgroups, the 1-D convention above spilling into y: y =
 * ceil(groups / max), x = ceil(groups / y), so x, y <= max (while groups <= max²) and the grid
 * over-dispatches by x·y − groups < y workgroups (not by up to x − 1, as x = max would).
 * `maxPerDim` is the adapter's limit, capped at {@link MAX_WORKGROUPS_PER_DIMENSION}.
 */
export function linearWorkgroupGrid(groups: number, maxPerDim: number = MAX_WORKGROUPS_PER_DIMENSION): [number, number] {
  if (groups <= 0) return [0, 0];
  const max = Math.min(maxPerDim, MAX_WORKGROUPS_PER_DIMENSION);
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}

/**
 * The elements a vec4 kernel over `n` elements touches in each vec4 buffer when dispatched on
 * {@link linearWorkgroupGrid}: x·y workgroups of GENERATED_WORKGROUP invocations of 4 elements
 * (0 for n = 0): fewer than 256·y elements past n, i.e. under 1 KiB of f32 while n <= 256·max.
 */
export function vec4Coverage(n: number, maxPerDim: number = MAX_WORKGROUPS_PER_DIMENSION): number {
  const perGroup = GENERATED_WORKGROUP * 4;
  const [x, y] = linearWorkgroupGrid(Math.ceil(n / perGroup), maxPerDim);
  return x * y * perGroup;
}

/** The longest reduced extent a `serial` reduction runs (16 × llvmpipe's 65535-iteration loop limit). */
export const SERIAL_REDUCE_MAX = 16 * 65535;
/**
 * The most elements one lane of a tree reduction (its `code` or `partial` form) sums on a
 * software adapter: llvmpipe stops a loop after 65535 iterations, so more would be a partial
 * sum; the runtime refuses it with E6017 there. That is 128 · 65535 (8,388,480) elements per
 * output of a reduction over some axes (a full reduction, split in chunks, reaches 128 times more).
 */
export const REDUCE_SOFTWARE_MAX_PER_LANE = 65535;
/** Invocations per workgroup of a generated reduction. */
export const REDUCE_WORKGROUP = 128;
/** A full reduction is split into chunks from this extent on, */
export const REDUCE_SPLIT_MIN = 65536;
/** into chunks of about this many elements (at most REDUCE_WORKGROUP chunks). */
export const REDUCE_CHUNK = 8192;

/** The chunks a split full reduction of `extent` elements runs in (1: no split). */
export function reduceChunks(extent: number): number {
  return extent < REDUCE_SPLIT_MIN ? 1 : Math.min(REDUCE_WORKGROUP, Math.ceil(extent / REDUCE_CHUNK));
}

/** Threads per output element of a `WgslKernel.reduce` kernel whose reduced extent holds `extent` elements. */
export function reduceThreads(extent: number, workgroupSize: number): number {
  if (extent <= 1) return 1;
  return Math.min(workgroupSize, 2 ** Math.ceil(Math.log2(extent)));
}

/**
 * How a generated WGSL kernel is dispatched for resolved dims: `units` items of `perGroup` each
 * (invocations, or outputs of a workgroup reduction), i.e. ceil(units / perGroup) workgroups on
 * the 1-D convention above, on the grid {@link linearWorkgroupGrid} gives. Storage buffers are
 * bound whole and sized as the WebGPU pool pads them (a multiple of 16 bytes at least, so the
 * guarded `code` of a kernel reading vec4s stays inside them; the vec4 coverage of their words
 * where the device allows, for `unguarded`).
 */
export function wgslDispatch(kernel: WgslKernel, size: (d: Dim) => number, serial = false): { units: number; perGroup: number } {
  const count = (shape: Dim[]) => shape.reduce<number>((p, d) => p * size(d), 1);
  const units = Math.ceil(count(kernel.invocations.shape) / kernel.invocations.perInvocation);
  if (kernel.reduce === undefined || (serial && kernel.reduce.serial !== undefined)) return { units, perGroup: kernel.workgroupSize };
  return { units, perGroup: kernel.workgroupSize / reduceThreads(count(kernel.reduce.extent), kernel.workgroupSize) };
}

/**
 * The options every generated function takes besides its runtime scalars (runtime/validate.ts
 * checks them); the checker rejects a runtime scalar named like one (E2013).
 */
export const CALL_OPTIONS = ["device", "seed", "wrt", "checkNumerics"] as const;

/** Everything the runtime needs to run one generated function. */
export interface FunctionSpec {
  name: string;
  /** The `.est` file and line the fn was declared at, for error messages. */
  source: string;
  /** Tensor parameters, in declaration order. */
  inputs: { name: string; dtype: DType; shape: Dim[] }[];
  /**
   * i32 inputs used as `one_hot` labels: every element must lie in [0, bound), which the runtime
   * checks (E6008) before a call runs wherever the elements are on the host.
   */
  indexBounds?: { input: string; bound: Dim }[];
  /**
   * Runtime scalar options with their defaults, and the valid range (inclusive) a `require` in
   * an estimator the scalar is passed to declares, with that require's `.est` line (E6031).
   */
  scalars: { name: string; dtype: DType; default: number; min?: number; max?: number; requiredBy?: string }[];
  /** Shape symbols, in the order kernels receive their sizes. */
  dims: string[];
  outputs: { dtype: DType; shape: Dim[] }[];
  /** True when the fn returns a tuple (forward then returns an array). */
  tuple: boolean;
  /** The f32 inputs that vjp and valueAndGrad return gradients for, in order. */
  gradInputs: string[];
  kernels: CpuKernel[];
  /** The `.est` file and line each kernel was generated from (same indices), for checkNumerics' E6030. */
  kernelSources?: string[];
  /** The same kernels in WGSL (same indices), for the WebGPU back end. */
  wgsl?: WgslKernel[];
  /**
   * Where `wgsl` is not in the module: loads it (a generated module keeps its WGSL in a sibling
   * module, imported the first time a fn runs on a WebGPU device, so CPU users never load it).
   */
  loadWgsl?: () => Promise<WgslKernel[]>;
  /**
   * The kernels compiled to one WebAssembly SIMD module (compiler/codegen/wasm/), run instead of
   * the TS ones on `cpu({ kernels: "wasm" })`: `module` is its bytes in base64; `kernels[i]` is
   * null where kernel i has only its TS form, else its loop shape (the element count is its
   * product) and how many of its buffers are reads; for a reduction, `reduce` lists the reduced
   * axes of that shape. Every kernel is passed the shape's dims (runtime/wasm/kernels.ts), which
   * reductions and kernels with broadcast operands read.
   */
  wasm?: { module: string; kernels: ({ shape: Dim[]; reads: number; reduce?: number[] } | null)[] };
  forward: EntryPlan;
  /** Outputs: the gradients of `gradInputs`, in order. Inputs include `$ct0`, `$ct1`, …. */
  vjp: EntryPlan;
  /** For scalar results: outputs are [value, ...gradients of gradInputs]. */
  valueAndGrad?: EntryPlan;
  /** vjpFn's forward: outputs are [...forward outputs, ...residuals the pullback reads]. */
  forwardWithResiduals?: EntryPlan;
  /** vjpFn's pullback: inputs are the fn's inputs, `$res0`… (the residuals) and `$ct0`…. */
  pullback?: EntryPlan;
}
