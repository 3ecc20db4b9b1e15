/**
 * Runs one entry plan on the CPU: resolves the buffers' symbolic shapes, allocates each buffer
 * through the device when a step first touches it and gives it back after the last step that
 * reads it, runs the steps in order and hands the output buffers to the caller as tensors.
 */
import type { CpuArray, CpuDevice } from "./cpu.js";
import { EstcRuntimeError, RuntimeErrorCode, describePlanInput } from "./errors.js";
import { gather, gatherGrad, nmMask, product, transpose } from "./kernels.js";
import { firstNonFinite, nonFiniteAfterStep, nonFiniteInput, stepBuffers } from "./numerics.js";
import { matmul, useGemmKernels } from "./matmul.js";
import { runConvStep } from "./conv-step.js";
import type { BufferSpec, EntryPlan, FunctionSpec, Step } from "./plan.js";
import { aliasRoots, internal, isBoolResult, lastUses, packBits, resolveShape, unpackBits } from "./plan-buffers.js";
import { Tensor } from "./tensor.js";
import { hasWasmKernel, runWasmKernel } from "./wasm/kernels.js";
import { wasmGather, wasmGatherGrad, wasmNmMask, wasmTranspose } from "./wasm/structural.js";

/**
 * Runs `plan` (one of `spec`'s entry points) and returns its output buffers as tensors on
 * `device`, in `plan.outputs` order. `inputs` holds a tensor for every name in `plan.inputs`,
 * already checked against the signature (runtime/define.ts does that); their arrays are read in
 * place, never copied. `dims` are the sizes of `spec.dims`, `scalars` the values of
 * `spec.scalars`, both in spec order. Every intermediate buffer is released before this returns,
 * also when a step throws.
 */
export function runPlan(
  spec: FunctionSpec,
  plan: EntryPlan,
  inputs: ReadonlyMap<string, Tensor>,
  dims: Int32Array,
  scalars: Float64Array,
  seed: number,
  device: CpuDevice,
  checkNumerics = false,
): Tensor[] {
  const shapes = plan.buffers.map((b) => resolveShape(spec, b, dims));
  const sizes = shapes.map(product);
  // A packed bool buffer holds ceil(size / 32) i32 words.
  const words = plan.buffers.map((b, i) => (b.packed ? Math.ceil(sizes[i]! / 32) : sizes[i]!));
  const storageType = (b: number) => (plan.buffers[b]!.packed ? "i32" : plan.buffers[b]!.dtype);
  const root = aliasRoots(spec, plan, sizes);
  const arrays: (CpuArray | undefined)[] = new Array(plan.buffers.length);
  const external = new Set<number>();
  for (const { name, buffer } of plan.inputs) {
    arrays[buffer] = inputArray(
      spec,
      plan.buffers[buffer]!,
      shapes[buffer]!,
      name,
      inputs.get(name),
    );
    external.add(buffer);
  }
  const returned = new Set(plan.outputs.map((b) => root[b]!));
  const lastUse = lastUses(plan, root);
  const live = new Set<number>();

  /** The array behind buffer `b`, allocated on first use (zero-filled unless `zeroed` is false). */
  const array = (b: number, zeroed = true): CpuArray => {
    const r = root[b]!;
    let a = arrays[r];
    if (a === undefined) {
      a = allocate(spec, device, storageType(r), words[r]!, shapes[r]!, zeroed);
      arrays[r] = a;
      live.add(r);
    }
    return a;
  };
  const release = (r: number): void => {
    if (!live.delete(r)) return;
    device.free(arrays[r]!);
    arrays[r] = undefined;
  };

  if (checkNumerics) {
    for (const { name, buffer } of plan.inputs) {
      const a = arrays[buffer];
      const i = a instanceof Float32Array ? firstNonFinite(a) : -1;
      if (i >= 0) throw nonFiniteInput(spec, name, i, a![i]!);
    }
  }
  const restoreKernels = useGemmKernels(device);
  try {
    plan.steps.forEach((step, s) => {
      runStep(spec, step, { array, shapes, external, root, dims, scalars, seed, wasm: device.kernels === "wasm" });
      if (checkNumerics) {
        for (const b of stepBuffers(step)) {
          const a = array(b);
          const i = a instanceof Float32Array && !plan.buffers[b]!.packed ? firstNonFinite(a) : -1;
          if (i >= 0) throw nonFiniteAfterStep(spec, plan, step, b, i, a[i]!);
        }
      }
      for (const r of lastUse.get(s) ?? []) if (!returned.has(r)) release(r);
    });
    return plan.outputs.map((b, i) => {
      const source = array(b);
      // A bool result the caller sees is unpacked to 0/1 bytes; a residual bit mask stays i32 words.
      if (isBoolResult(spec, plan, i)) {
        const bytes = unpackBits(source as Int32Array, device.alloc("bool", sizes[b]!) as Uint8Array);
        return new Tensor(shapes[b]!, "bool", { kind: "cpu", device, array: bytes });
      }
      // A buffer goes to the caller once; a second output on it, or one on a caller's input, is a copy.
      let storage = source;
      if (!live.delete(root[b]!)) {
        storage = device.alloc(storageType(b), words[b]!);
        storage.set(source);
      }
      const packed = plan.buffers[b]!.packed === true;
      return new Tensor(packed ? [words[b]!] : shapes[b]!, storageType(b), {
        kind: "cpu",
        device,
        array: storage,
      });
    });
  } finally {
    restoreKernels();
    for (const r of [...live]) release(r);
  }
}

/** What a step needs besides itself. */
interface StepContext {
  array(b: number, zeroed?: boolean): CpuArray;
  shapes: number[][];
  external: ReadonlySet<number>;
  root: readonly number[];
  dims: Int32Array;
  scalars: Float64Array;
  seed: number;
  /** Whether kernels with a Wasm form run it (`cpu({ kernels: "wasm" })`). */
  wasm: boolean;
}

function runStep(spec: FunctionSpec, step: Step, ctx: StepContext): void {
  const { array, shapes } = ctx;
  if (step.op !== "kernel" && step.op !== "alias" && ctx.external.has(ctx.root[step.out]!)) {
    internal(spec, `a ${step.op} step writes buffer ${step.out}, which is a caller's input`);
  }
  switch (step.op) {
    case "kernel": {
      const kernel = spec.kernels[step.kernel];
      if (kernel === undefined) internal(spec, `kernel ${step.kernel} does not exist`);
      // A kernel with a Wasm form (a fused elementwise kernel or a reduction, whose TS form
      // matches) writes every element of its outputs: they need no zero fill first.
      const full = hasWasmKernel(spec, step.kernel);
      const reads = full ? spec.wasm!.kernels[step.kernel]!.reads : step.args.length;
      const args = step.args.map((b, i) => ctx.array(b, i < reads));
      if (ctx.wasm && hasWasmKernel(spec, step.kernel) && runWasmKernel(spec, step.kernel, args, ctx.dims, ctx.scalars, ctx.seed)) return;
      kernel(ctx.dims, ctx.scalars, ctx.seed, ...args);
      return;
    }
    case "matmul":
      matmul(
        f32(spec, array(step.a)),
        shapes[step.a]!,
        f32(spec, array(step.b)),
        shapes[step.b]!,
        f32(spec, array(step.out)),
      );
      return;
    case "transpose": {
      const [x, out] = [array(step.x), array(step.out)];
      if (!(ctx.wasm && wasmTranspose(x, shapes[step.x]!, step.perm, out))) transpose(x, shapes[step.x]!, step.perm, out);
      return;
    }
    case "gather": {
      const [x, idx, out] = [array(step.x), i32(spec, array(step.idx)), array(step.out)];
      if (!(ctx.wasm && wasmGather(x, shapes[step.x]!, idx, step.axis, out))) gather(x, shapes[step.x]!, idx, step.axis, out);
      return;
    }
    case "gather_grad": {
      const [ct, idx, out] = [f32(spec, array(step.ct)), i32(spec, array(step.idx)), f32(spec, array(step.out))];
      if (!(ctx.wasm && wasmGatherGrad(ct, idx, step.axis, out, shapes[step.out]!))) gatherGrad(ct, idx, step.axis, out, shapes[step.out]!);
      return;
    }
    case "nm_mask": {
      const [w, out] = [f32(spec, array(step.w)), array(step.out)];
      if (!(ctx.wasm && wasmNmMask(w, shapes[step.w]!, step.n, step.m, out))) nmMask(w, shapes[step.w]!, step.n, step.m, out);
      return;
    }
    case "conv2d":
    case "pool2d":
      runConvStep(step, (b) => f32(spec, array(b)), shapes);
      return;
    case "alias":
      array(step.x); // the out buffer resolves to x's root, so this is the whole step
      return;
  }
}





/** `device.alloc`, with an allocation the JS heap refuses (E6017) naming the fn and the buffer's shape. */
function allocate(spec: FunctionSpec, device: CpuDevice, dtype: "f32" | "i32" | "bool", size: number, shape: number[], zeroed: boolean): CpuArray {
  try {
    return device.alloc(dtype, size, zeroed);
  } catch (e) {
    if (!(e instanceof EstcRuntimeError) || e.code !== RuntimeErrorCode.limitExceeded) throw e;
    const message = e.message.replace(/^error\[E\d+\]: /, "");
    throw new EstcRuntimeError(e.code, `${spec.name} (${spec.source}): an intermediate ${dtype}[${shape.join(", ")}]: ${message}`);
  }
}

/** The caller's array for an input buffer, read in place. */
function inputArray(
  spec: FunctionSpec,
  buffer: BufferSpec,
  shape: number[],
  name: string,
  t: Tensor | undefined,
): CpuArray {
  if (t === undefined) internal(spec, `no tensor was passed for plan input '${name}'`);
  const storage = t.storage;
  if (storage.kind !== "cpu") {
    throw new EstcRuntimeError(
      RuntimeErrorCode.notCpuResident,
      `${spec.name}: ${describePlanInput(name, spec.outputs.length)} lives on '${storage.device}'; the cpu back end needs cpu tensors (read it with 'await t.data()', or pass the device in the options)`,
    );
  }
  const sameShape = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (buffer.packed === true) {
    // A bool argument (0/1 bytes) is packed for the kernels, which read bools as bits.
    if (t.dtype === "bool" && sameShape) return packBits(storage.array);
    // A residual predicate saved as bits comes back as its i32 words.
    if (t.dtype !== "i32" || t.size !== Math.ceil(product(shape) / 32)) internal(spec, `packed input '${name}' has the wrong size`);
    return storage.array;
  }
  if (t.dtype !== buffer.dtype || !sameShape) {
    internal(
      spec,
      `input '${name}' is ${t.dtype}[${t.shape.join(", ")}] but its buffer is ${buffer.dtype}[${shape.join(", ")}]`,
    );
  }
  return storage.array;
}

function f32(spec: FunctionSpec, a: CpuArray): Float32Array {
  if (!(a instanceof Float32Array))
    internal(spec, `a structural step expected an f32 buffer, got ${a.constructor.name}`);
  return a;
}

function i32(spec: FunctionSpec, a: CpuArray): Int32Array {
  if (!(a instanceof Int32Array))
    internal(spec, `gather indices must be an i32 buffer, got ${a.constructor.name}`);
  return a;
}

