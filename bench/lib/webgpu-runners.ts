/**
 * The WebGPU bench's runners: estc's generated functions on a `webgpu()` device (inputs uploaded
 * once, outputs left on the device), the same tfjs and jax-js programs as the CPU bench on their
 * WebGPU backends, what estc's plans dispatch and move per step, and a plain WGSL copy kernel.
 * Every step waits until the device has run its work; nothing is read back until `result()`.
 */
import { GENERATED_WORKGROUP, linearWorkgroupGrid, toDevice, tensor, vec4Coverage, type EstFunction, type EntryPlan, type Tensor, type WebGpuDevice } from "estc/runtime";
import type { EstcPrograms } from "./estc.js";
import { tfjsRunner } from "./tfjs.js";
import { tfjsSync } from "./webgpu-setup.js";
import { P, type Inputs, type Runner, type Workload } from "./workloads.js";

type TF = typeof import("@tensorflow/tfjs");

export const estcFn = (p: EstcPrograms, w: Workload): EstFunction => (w === "sign/ReSTE" ? p.reste : w === "sign/ClippedSTE" ? p.clipped : p.chain);
const optionsFor = (w: Workload) => (w === "sign/ReSTE" ? { o: P.reste.o } : w === "chain4" ? { s: P.chain.s } : {});
const gradNames = (w: Workload) => (w === "chain4" ? ["x", "y"] : ["x"]);

/** estc's forward then vjp on `device`, x, y and the cotangent uploaded once. */
export function estcWebgpuRunner(p: EstcPrograms, w: Workload, inp: Inputs, device: WebGpuDevice): Runner {
  const f = estcFn(p, w);
  const opts = { ...optionsFor(w), device };
  const x = toDevice(tensor(inp.x, [inp.n]), device);
  const inputs: Record<string, Tensor> = w === "chain4" ? { x, y: toDevice(tensor(inp.y, [inp.n]), device) } : { x };
  const g = toDevice(tensor(inp.g, [inp.n]), device);
  let out: Tensor | undefined;
  let grads: Record<string, Tensor> = {};
  const release = () => {
    out?.dispose();
    Object.values(grads).forEach((t) => t.dispose());
    out = undefined;
    grads = {};
  };
  return {
    async step() {
      release();
      out = (await f.forward(inputs, opts)) as Tensor;
      grads = await f.vjp(inputs, g, opts);
      await device.gpu.queue.onSubmittedWorkDone();
    },
    async result() {
      return {
        out: (await out!.data()) as Float32Array,
        grads: await Promise.all(gradNames(w).map(async (n) => (await grads[n]!.data()) as Float32Array)),
      };
    },
    dispose() {
      release();
      Object.values(inputs).forEach((t) => t.dispose());
      g.dispose();
    },
  };
}

/** What estc's plans do per step at size n. */
export interface PlanCost {
  /** Compute dispatches: every plan step but aliases (all of them are kernels here). */
  dispatches: number;
  /** Bytes of the buffers each dispatched step reads and writes, summed over the steps. */
  bytes: number;
  /**
   * Bytes the executor zeroes with clearBuffer before a step writes them: pool buffers a library
   * step (not a generated kernel, which overwrites its outputs) writes first (steady state).
   */
  clearBytes: number;
  /** The per-step breakdown: plan, step, kernel, buffers and bytes. */
  steps: { plan: string; kernel: string; buffers: number; bytes: number }[];
}

function bufferBytes(plan: EntryPlan, b: number, n: number): number {
  const spec = plan.buffers[b]!;
  const size = spec.shape.reduce<number>((k, d) => k * (typeof d === "number" ? d : n), 1);
  return spec.packed === true || spec.dtype === "bool" ? Math.ceil(size / 32) * 4 : size * 4;
}

/** Counts the kernel steps of forward and vjp and the bytes they bind (shape symbols = n). */
export function planCost(f: EstFunction, n: number): PlanCost {
  const cost: PlanCost = { dispatches: 0, bytes: 0, clearBytes: 0, steps: [] };
  for (const [name, plan] of [["forward", f.spec.forward], ["vjp", f.spec.vjp]] as const) {
    const inputs = new Set(plan.inputs.map((i) => i.buffer));
    const used = new Set<number>();
    for (const step of plan.steps) {
      if (step.op === "alias") continue;
      const args =
        step.op === "kernel" ? step.args
        : step.op === "matmul" ? [step.a, step.b, step.out]
        : step.op === "transpose" || step.op === "nm_mask" ? [step.op === "transpose" ? step.x : step.w, step.out]
        : step.op === "gather" ? [step.x, step.idx, step.out]
        : step.op === "conv2d" || step.op === "pool2d" ? [step.a, ...(step.b === undefined ? [] : [step.b]), step.out]
        : [step.ct, step.idx, step.out];
      const bytes = args.reduce((s, b) => s + bufferBytes(plan, b, n), 0);
      const kernel = step.op === "kernel" ? (f.spec.wgsl?.[step.kernel]?.name ?? `kernel ${step.kernel}`) : step.op;
      cost.dispatches++;
      cost.bytes += bytes;
      cost.steps.push({ plan: name, kernel, buffers: args.length, bytes });
      // The executor zeroes a pooled buffer only when a library step (matmul, gather_grad, …)
      // writes it first: a generated kernel overwrites all of its outputs.
      for (const b of args) {
        if (used.has(b) || inputs.has(b)) continue;
        used.add(b);
        if (step.op !== "kernel") cost.clearBytes += bufferBytes(plan, b, n);
      }
    }
  }
  return cost;
}

/**
 * bench/lib/tfjs.ts's runner (the same tf.customGrad programs and valueAndGrad calls) on the
 * WebGPU backend: its `tf.tidy` is wrapped to keep the step's outputs, which are read with
 * `data()` (its own `dataSync` needs an OffscreenCanvas on WebGPU), and each step ends with a
 * submit and `onSubmittedWorkDone`.
 */
export function tfjsWebgpuRunner(tf: TF, w: Workload, inp: Inputs): Runner {
  let outs: import("@tensorflow/tfjs").Tensor[] = [];
  const tidy = ((fn: () => import("@tensorflow/tfjs").Tensor[]) => (outs = tf.tidy(fn))) as TF["tidy"];
  const inner = tfjsRunner({ ...tf, tidy } as TF, w, inp);
  return {
    async step() {
      inner.step();
      await tfjsSync(tf);
    },
    async result() {
      const [out, ...grads] = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
      return { out: out!, grads };
    },
    dispose() {
      inner.dispose();
    },
  };
}

/** tfjs kernels run per step (tf.profile of one step), or undefined if profiling fails. */
export async function tfjsKernelsPerStep(tf: TF, runner: Runner): Promise<number | undefined> {
  const { warn, log } = console;
  try {
    console.warn = console.log = () => {}; // "This device doesn't support timestamp-query ..."
    const info = await tf.profile(() => void runner.step());
    await tfjsSync(tf);
    return info.kernels.length;
  } catch {
    return undefined;
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

/**
 * A plain WGSL copy kernel shaped as estc's best elementwise kernel: one vec4 in, one out per
 * invocation, GENERATED_WORKGROUP invocations per workgroup, plan.ts `linearWorkgroupGrid`, and
 * no bounds check (both buffers padded to `vec4Coverage(n)`, as the runtime's pool pads them for
 * its guard-free kernels). One step is two dispatches, one submit each, then onSubmittedWorkDone
 * (as gpu-check.sh times it), moving `bytesPerStep` = 2 passes x 8 bytes per element of n.
 */
export function copyKernel(device: WebGpuDevice, n: number): { step: () => Promise<void>; bytesPerStep: number; dispose: () => void } {
  const gpu = device.gpu;
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  const [gx, gy] = linearWorkgroupGrid(Math.ceil(n / 4 / GENERATED_WORKGROUP), max);
  const covered = vec4Coverage(n, max);
  const module = gpu.createShaderModule({
    code: `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(${GENERATED_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * (nwg.x * ${GENERATED_WORKGROUP}u);
  dst[i] = src[i];
}`,
  });
  const pipeline = gpu.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const src = gpu.createBuffer({ size: 4 * covered, usage });
  const dst = gpu.createBuffer({ size: 4 * covered, usage });
  gpu.queue.writeBuffer(src, 0, new Float32Array(n).fill(1));
  const bind = gpu.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: src } },
      { binding: 1, resource: { buffer: dst } },
    ],
  });
  const passes = 2;
  return {
    async step() {
      for (let k = 0; k < passes; k++) {
        const enc = gpu.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(gx, gy);
        pass.end();
        gpu.queue.submit([enc.finish()]);
      }
      await gpu.queue.onSubmittedWorkDone();
    },
    bytesPerStep: passes * 8 * n,
    dispose() {
      src.destroy();
      dst.destroy();
    },
  };
}
