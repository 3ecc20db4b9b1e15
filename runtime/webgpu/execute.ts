/**
 * Runs one entry plan on a WebGPU device: resolves the buffers' shapes, uploads the caller's cpu
 * tensors (device tensors are bound in place), encodes every step into one command encoder with
 * one compute pass per dispatch, frees each plan buffer to the pool after its last step, submits
 * once and hands the output buffers to the caller as device tensors — nothing is read back.
 * GPU errors inside the call become E6018 naming the kernel and the `.est` source.
 */
import type { CpuArray } from "../cpu.js";
import { EstcRuntimeError, describePlanInput } from "../errors.js";
import { CallErrorCode, fail } from "../validate.js";
import { KernelErrorCode, product } from "../kernels.js";
import type { EntryPlan, FunctionSpec } from "../plan.js";
import type { Tensor } from "../tensor.js";
import type { WebGpuDevice } from "./device.js";
import { WebGpuErrorCode, webGpuError } from "./errors.js";
import { GATHER_OK } from "./kernels.js";
import { NumericsCheck } from "./numerics.js";
import { BufferUsage, type CachedPipeline } from "./pool.js";
import { aliasRoots, internal, isBoolResult, lastUses, resolveShape } from "../plan-buffers.js";
import { prepareStep, SCRATCH, type PreparedStep } from "./steps.js";
import {
  acquireStorage,
  deviceTensor,
  storageSize,
  handleOn,
  hostWords,
  releaseStorage,
  upload,
  whileAlive,
} from "./transfer.js";

/**
 * Runs `plan` (one of `spec`'s entry points) on `device` and returns its outputs as device
 * tensors, in `plan.outputs` order. Arguments as for the CPU's `runPlan` (runtime/execute.ts);
 * `inputs` may hold cpu tensors (uploaded) or tensors already on this device.
 */
export async function runPlanWebGpu(
  spec: FunctionSpec,
  plan: EntryPlan,
  inputs: ReadonlyMap<string, Tensor>,
  dims: Int32Array,
  scalars: Float64Array,
  seed: number,
  device: WebGpuDevice,
  checkNumerics = false,
): Promise<Tensor[]> {
  const where = `${spec.name} (${spec.source})`;
  if (device.failure !== undefined) throw webGpuError(WebGpuErrorCode.deviceFailure, `${where}: ${device.failure}`);
  const stale = device.takeUncapturedErrors();
  if (stale.length > 0) {
    throw webGpuError(WebGpuErrorCode.deviceFailure, `${where}: an earlier GPU command failed: ${stale[0]}`);
  }
  const shapes = plan.buffers.map((b) => resolveShape(spec, b, dims));
  const sizes = shapes.map(product);
  const root = aliasRoots(spec, plan, sizes);
  const bits = plan.buffers.map((b) => b.packed === true || b.dtype === "bool");
  const bytes = sizes.map((n, b) => (bits[b] ? Math.ceil(n / 32) * 4 : n * 4));
  checkBufferLimits(spec, plan, bytes, device);

  // Host-side checks come before anything is uploaded or compiled: the CPU's errors, in its order.
  const hostArrays = new Map<number, CpuArray>();
  const deviceInputs = new Map<number, GPUBuffer>();
  for (const { name, buffer } of plan.inputs) {
    const t = inputs.get(name);
    if (t === undefined) internal(spec, `no tensor was passed for plan input '${name}'`);
    checkInput(spec, plan, buffer, shapes[buffer]!, name, t);
    const handle = handleOn(device, t, `${spec.name}: ${describePlanInput(name, spec.outputs.length)}`);
    if (handle === undefined) hostArrays.set(buffer, (t.storage as { array: CpuArray }).array);
    else deviceInputs.set(buffer, handle.buffer);
  }
  // Every input is held until the commands that read it are submitted: one disposed during the
  // awaits below (compiling pipelines) would otherwise be back in a pool, and another call could
  // overwrite it before this one reads it — a wrong result, not an error (issue 17).
  const holds = plan.inputs.map(({ name }) => inputs.get(name)!.hold());
  try {
    // What each buffer is bound to is known now: a caller's device buffer, or the pool's size for its root.
    const boundBytes = root.map((at) => deviceInputs.get(at)?.size ?? storageSize(device, bytes[at]!));
    // A generated module's WGSL sits in a sibling module, loaded on the first WebGPU call only.
    if (spec.wgsl === undefined && spec.loadWgsl !== undefined) {
      try {
        spec.wgsl = await spec.loadWgsl();
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        fail(CallErrorCode.backendUnavailable, `${where}: cannot load the module's WGSL kernels (the .wgsl.js file estc build wrote beside it): ${why}`);
      }
    }
    const prepared = plan.steps.map((step, s) => prepareStep(spec, step, s, { shapes, root, bits, hostArrays, dims, dtypes: plan.buffers.map((b) => b.dtype), boundBytes }, device));
    await whileAlive(device, Promise.all(prepared.flatMap((p) => (p.kind === "alias" ? [] : [p.pipeline, p.then?.pipeline]))), where);
    const numerics = checkNumerics ? new NumericsCheck(spec, plan, device, sizes) : undefined;
    numerics?.hostInputs(hostArrays);
    return await encodeAndSubmit(spec, plan, { shapes, root, bits, bytes, hostArrays, deviceInputs, dims, scalars, seed, numerics }, prepared, device);
  } finally {
    for (const release of holds) release();
  }
}

interface Resolved {
  shapes: number[][];
  root: number[];
  bits: boolean[];
  bytes: number[];
  hostArrays: Map<number, CpuArray>;
  deviceInputs: Map<number, GPUBuffer>;
  dims: Int32Array;
  scalars: Float64Array;
  seed: number;
  /** Present when the call asked for checkNumerics (./numerics.ts). */
  numerics?: NumericsCheck;
}

async function encodeAndSubmit(
  spec: FunctionSpec,
  plan: EntryPlan,
  r: Resolved,
  prepared: PreparedStep[],
  device: WebGpuDevice,
): Promise<Tensor[]> {
  const where = `${spec.name} (${spec.source})`;
  const gpu = device.gpu;
  const buffers = new Array<GPUBuffer | undefined>(plan.buffers.length);
  const live = new Set<number>(); // roots whose storage this call owns
  const temps: GPUBuffer[] = []; // uniforms and the gather flag, pool-owned, not counted as memory
  const outs: GPUBuffer[] = [];
  let staging: GPUBuffer | undefined;
  for (const [b, buffer] of r.deviceInputs) buffers[b] = buffer;
  const encoder = gpu.createCommandEncoder({ label: spec.name });

  /**
   * Buffer `b`'s storage, taken from the pool on first use and zeroed as the CPU's are — except
   * for an upload, which overwrites it (and a clear would land after the upload, in the encoder).
   */
  const storage = (b: number, zero = true): GPUBuffer => {
    const at = r.root[b]!;
    let buffer = buffers[at];
    if (buffer === undefined) {
      const got = acquireStorage(device, r.bytes[at]!, `${spec.name} buffer ${at}`);
      if (!got.fresh && zero) encoder.clearBuffer(got.buffer);
      buffer = got.buffer;
      buffers[at] = buffer;
      live.add(at);
    }
    return buffer;
  };
  const uniform = (data: ArrayBuffer): GPUBuffer => {
    const { buffer } = device.pool.acquire(data.byteLength, BufferUsage.UNIFORM | BufferUsage.COPY_DST, "uniforms");
    gpu.queue.writeBuffer(buffer, 0, data);
    temps.push(buffer);
    return buffer;
  };
  let callUniforms: GPUBuffer | undefined;
  let flag: GPUBuffer | undefined;
  const flagBuffer = (): GPUBuffer => {
    if (flag === undefined) {
      flag = device.pool.acquire(16, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, "gather flag").buffer;
      gpu.queue.writeBuffer(flag, 0, Uint32Array.of(GATHER_OK, 0, 0, 0));
      temps.push(flag);
    }
    return flag;
  };

  let flagNeeded = false;
  let submitted = false;
  const returned = new Set(plan.outputs.map((b) => r.root[b]!));
  const dead = lastUses(plan, r.root);
  let popped: Promise<(GPUError | null)[]>;
  // Everything from push to pop is synchronous, so no other call's commands share these scopes.
  gpu.pushErrorScope("validation");
  gpu.pushErrorScope("out-of-memory");
  try {
    // Buffers written by the queue (uploads, the flag) are taken before any buffer is freed
    // mid-call: the write lands before the whole command buffer, so a buffer an earlier pass of
    // this call still uses must never receive one.
    if (prepared.some((p) => p.kind === "dispatch" && p.errorFlag)) flagBuffer();
    for (const [b, array] of r.hostArrays) {
      const buffer = storage(b, false);
      upload(device, buffer, hostWords(array, array instanceof Uint8Array ? "bool" : plan.buffers[b]!.dtype));
    }
    if (r.numerics !== undefined) for (const [b, buffer] of r.deviceInputs) r.numerics.input(encoder, b, buffer);
    prepared.forEach((step, s) => {
      if (step.kind === "alias") storage(step.x);
      else {
        // A split reduction's scratch: a pool buffer for this call, fully written before it is read.
        let scratch: GPUBuffer | undefined;
        if (step.scratchBytes !== undefined) {
          scratch = device.pool.acquire(step.scratchBytes, BufferUsage.STORAGE, "reduction scratch").buffer;
          temps.push(scratch);
        }
        const encode = (label: string, cached: CachedPipeline, buffers: number[], overwrites: number, grid: [number, number, number]) => {
          const entries = cached.bindings.map((binding): GPUBindGroupEntry => {
            if (binding === 0) {
              const u = step.uniforms === "call" ? (callUniforms ??= uniform(callUniformData(spec, r))) : uniform(step.uniforms.buffer as ArrayBuffer);
              return { binding, resource: { buffer: u } };
            }
            if (binding <= buffers.length && buffers[binding - 1] === SCRATCH) return { binding, resource: { buffer: scratch! } };
            // A generated kernel's outputs are written in full: no clear before their first use.
            const written = binding > buffers.length - overwrites;
            if (binding <= buffers.length) return { binding, resource: { buffer: storage(buffers[binding - 1]!, !written) } };
            if (step.errorFlag && binding === buffers.length + 1) return { binding, resource: { buffer: flagBuffer() } };
            return internal(spec, `kernel ${label} declares binding ${binding} but its step passes ${buffers.length} buffers`);
          });
          const pass = encoder.beginComputePass({ label });
          pass.setPipeline(cached.pipeline);
          pass.setBindGroup(0, gpu.createBindGroup({ label, layout: cached.layout, entries }));
          pass.dispatchWorkgroups(...grid);
          pass.end();
        };
        if (step.errorFlag && !step.indicesCheckedOnHost) flagNeeded = true;
        if (step.grid !== undefined) {
          encode(step.label, step.cached!, step.buffers, step.overwrites ?? 0, step.grid);
          if (step.then !== undefined) encode(step.then.label, step.then.cached!, step.then.buffers, step.then.overwrites, step.then.grid);
        }
        r.numerics?.afterStep(encoder, s, storage);
      }
      for (const at of dead.get(s) ?? []) {
        if (returned.has(at) || !live.delete(at)) continue;
        releaseStorage(device, buffers[at]!);
        buffers[at] = undefined;
      }
    });
    for (const b of plan.outputs) {
      const source = storage(b);
      // A buffer goes to the caller once; a second output on it, or one on a caller's input, is a copy.
      if (!r.hostArrays.has(r.root[b]!) && live.delete(r.root[b]!)) {
        outs.push(source);
        continue;
      }
      const copy = acquireStorage(device, r.bytes[r.root[b]!]!, `${spec.name} output`).buffer;
      outs.push(copy);
      encoder.copyBufferToBuffer(source, 0, copy, 0, Math.min(source.size, copy.size));
    }
    if (flagNeeded) {
      staging = device.pool.acquire(16, BufferUsage.MAP_READ | BufferUsage.COPY_DST, "gather flag readback").buffer;
      encoder.copyBufferToBuffer(flagBuffer(), 0, staging, 0, 16);
    }
    gpu.queue.submit([encoder.finish()]);
    submitted = true;
  } catch (e) {
    for (const buffer of outs) releaseStorage(device, buffer);
    outs.length = 0;
    throw e;
  } finally {
    popped = Promise.all([gpu.popErrorScope(), gpu.popErrorScope()]);
    // Queue order makes it safe to reuse these now: later writes land after this submit.
    for (const at of live) releaseStorage(device, buffers[at]!);
    for (const buffer of temps) device.pool.release(buffer);
    if (!submitted && staging !== undefined) device.pool.release(staging);
    if (!submitted) r.numerics?.release();
  }

  try {
    const errors = (await whileAlive(device, popped, where)).filter((e): e is GPUError => e !== null);
    const uncaught = device.takeUncapturedErrors();
    const first = errors[0]?.message ?? uncaught[0];
    if (first !== undefined) throw gpuFailure(spec, prepared, first);
    if (staging !== undefined) await checkGatherFlag(spec, device, staging);
    await r.numerics?.scan();
  } catch (e) {
    r.numerics?.release();
    for (const buffer of outs) releaseStorage(device, buffer);
    throw e;
  }
  return plan.outputs.map((b, i) => {
    const buffer = plan.buffers[b]!;
    // A bool result the caller sees is a bool tensor (bits are its device layout); a residual
    // bit mask stays i32 words for the pullback.
    if (isBoolResult(spec, plan, i)) return deviceTensor(device, outs[i]!, r.shapes[b]!, "bool");
    const shape = buffer.packed === true ? [Math.ceil(r.bytes[b]! / 4)] : r.shapes[b]!;
    return deviceTensor(device, outs[i]!, shape, buffer.packed === true ? "i32" : buffer.dtype);
  });
}

/** The uniform block of the contract in runtime/plan.ts: dims, then scalars, then the Philox key. */
function callUniformData(spec: FunctionSpec, r: Resolved): ArrayBuffer {
  const nd = Math.max(1, Math.ceil(spec.dims.length / 4));
  const ns = Math.max(1, Math.ceil(spec.scalars.length / 4));
  const data = new ArrayBuffer(16 * (nd + ns + 1));
  new Uint32Array(data, 0, 4 * nd).set(r.dims);
  new Float32Array(data, 16 * nd, 4 * ns).set(r.scalars);
  // An i32 scalar travels as its bits (the kernel bitcasts them), exact beyond 2^24.
  const ints = new Int32Array(data, 16 * nd, 4 * ns);
  spec.scalars.forEach((s, k) => {
    if (s.dtype === "i32") ints[k] = r.scalars[k]!;
  });
  new Uint32Array(data, 16 * (nd + ns), 4).set([r.seed % 2 ** 32, Math.floor(r.seed / 2 ** 32), 0, 0]);
  return data;
}

/** E6018 for a GPU error, naming the kernel whose label the message mentions when it does. */
function gpuFailure(spec: FunctionSpec, prepared: PreparedStep[], message: string): EstcRuntimeError {
  const labels = prepared.flatMap((p) => (p.kind === "dispatch" ? [p.label] : []));
  const label = labels.find((l) => message.includes(l));
  const kernel = label === undefined ? "" : ` in kernel ${label}`;
  return webGpuError(WebGpuErrorCode.deviceFailure, `${spec.name} (${spec.source}): GPU error${kernel}: ${message}`);
}

/** E6008 when a gather kernel saw an index out of range (only indices that never left the GPU). */
async function checkGatherFlag(spec: FunctionSpec, device: WebGpuDevice, staging: GPUBuffer): Promise<void> {
  try {
    await whileAlive(device, staging.mapAsync(1 /* GPUMapMode.READ */, 0, 16), `${spec.name} (${spec.source})`);
  } catch (e) {
    device.pool.discard(staging);
    throw e;
  }
  const position = new Uint32Array(staging.getMappedRange(0, 16).slice(0))[0]!;
  staging.unmap();
  device.pool.release(staging);
  if (position !== GATHER_OK) {
    throw new EstcRuntimeError(
      KernelErrorCode.gatherIndexOutOfRange,
      `${spec.name} (${spec.source}): the gather index at position ${position} of the indices is out of range for the gathered axis`,
    );
  }
}

/** E6017 for a buffer larger than one binding or one buffer may be on this adapter. */
function checkBufferLimits(spec: FunctionSpec, plan: EntryPlan, bytes: readonly number[], device: WebGpuDevice): void {
  const { maxStorageBufferBindingSize, maxBufferSize } = device.limits;
  const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize);
  bytes.forEach((n, b) => {
    if (n <= limit) return;
    const input = plan.inputs.find((i) => i.buffer === b);
    const what = input === undefined ? `buffer ${b}` : describePlanInput(input.name, spec.outputs.length);
    const shape = plan.buffers[b]!.shape.join(", ");
    throw webGpuError(
      WebGpuErrorCode.limitExceeded,
      `${spec.name} (${spec.source}): ${what} [${shape}] needs ${n} bytes; this adapter binds at most ${limit} (maxStorageBufferBindingSize ${maxStorageBufferBindingSize}, maxBufferSize ${maxBufferSize})`,
    );
  });
}

/** The same consistency checks as the CPU's `inputArray`: a mismatch is a bug in estc. */
function checkInput(spec: FunctionSpec, plan: EntryPlan, b: number, shape: number[], name: string, t: Tensor): void {
  const buffer = plan.buffers[b]!;
  const n = product(shape);
  if (buffer.packed === true) {
    const words = t.dtype === "i32" && t.size === Math.ceil(n / 32);
    if (!words && !(t.dtype === "bool" && t.size === n)) internal(spec, `packed input '${name}' has the wrong size`);
    return;
  }
  const sameShape = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (t.dtype !== buffer.dtype || !sameShape) {
    internal(spec, `input '${name}' is ${t.dtype}[${t.shape.join(", ")}] but its buffer is ${buffer.dtype}[${shape.join(", ")}]`);
  }
}
