/**
 * Runs one fn of a `.est` text on every evaluator estc has — the f64 reference interpreter, the
 * generated module on `cpu()`, and the same module on one WebGPU device (Dawn; on CI the Mesa
 * path) — so a formula test written once checks all three. The WebGPU device is opened once per
 * test file (each vitest file is its own worker); without an adapter `webgpu()` throws E6015 with
 * the doctor's explanation, and the webgpu cases fail rather than skip.
 *
 *   for (const backend of BACKENDS) {
 *     const r = await run(backend, SRC, "f", { x: { data: [0, 1], shape: [2] } }, { ct: [[1, 1]], scalars: { o: 3 } });
 *     expectClose(r.outputs[0], want, tolerance(backend), `${backend} forward`);
 *   }
 */
import { cpu, tensor, webgpu, type Tensor, type WebGpuDevice } from "estc/runtime";
import { dimTextSymbols, isComputedDim, solveDimText } from "../../runtime/dims.js";
import { buildModule } from "./build.js";
import { compileFn } from "./compile.js";
import { evalValueAndGrad, evalVjp } from "./gradcheck.js";

export const BACKENDS = ["f64", "cpu", "webgpu"] as const;
/**
 * Every evaluator, with the CPU back end twice: "cpu" is `cpu()`, whose matrix products (and
 * convolutions) run on the Wasm SIMD kernels in Node, "cpu-ts" is `cpu({ kernels: "ts" })`, the
 * TypeScript reference. Matmul, conv and gradient parity tests run on this list.
 */
export const CPU_KERNEL_BACKENDS = ["f64", "cpu", "cpu-ts", "webgpu"] as const;
export type Backend = (typeof CPU_KERNEL_BACKENDS)[number];

/** Relative tolerance for comparing a back end against an f64 expectation: f32 back ends get 1e-5. */
export function tolerance(backend: Backend): number {
  return backend === "f64" ? 1e-12 : 1e-5;
}

export interface Input {
  data: ArrayLike<number>;
  shape: number[];
  /** Defaults to f32; i32 for labels/indices. */
  dtype?: "f32" | "i32";
}

export interface RunOptions {
  /** One cotangent per output; when given, `grads` holds the vjp of every f32 input. */
  ct?: ArrayLike<number>[];
  /** Use `valueAndGrad` (scalar fns) instead of vjp; `grads` then holds ∇f. */
  valueAndGrad?: boolean;
  scalars?: Record<string, number>;
  seed?: number;
}

export interface RunResult {
  outputs: number[][];
  grads: Record<string, number[]>;
}

let device: Promise<WebGpuDevice> | undefined;
/** The test file's WebGPU device, opened on first use. */
export function sharedDevice(): Promise<WebGpuDevice> {
  device ??= webgpu();
  return device;
}

const modules = new Map<string, Promise<Record<string, any>>>();

/** Shape symbols bound from the inputs' shapes against the fn's declared types. */
function dimsOf(fn: ReturnType<typeof compileFn>, inputs: Record<string, Input>): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const i of fn.lowered.inputs) {
    const given = inputs[i.name];
    if (given === undefined) throw new Error(`missing input ${i.name}`);
    i.shape.forEach((d, k) => {
      if (typeof d === "string" && !isComputedDim(d)) dims[d] = given.shape[k]!;
    });
  }
  // A symbol only a computed dim names (`f32[2 * N]`) is solved from its size, as the runtime does.
  for (const i of fn.lowered.inputs) {
    i.shape.forEach((d, k) => {
      const free = typeof d === "string" && isComputedDim(d) ? dimTextSymbols(d).filter((s) => dims[s] === undefined) : [];
      if (free.length === 1) dims[free[0]!] = solveDimText(d as string, free[0]!, inputs[i.name]!.shape[k]!, (s) => dims[s]!)!;
    });
  }
  return dims;
}

/** Runs fn `name` of `text` on `backend`: forward outputs and, when asked, gradients. */
export async function run(backend: Backend, text: string, name: string, inputs: Record<string, Input>, opts: RunOptions = {}): Promise<RunResult> {
  if (backend === "f64") {
    const fn = compileFn(text, name);
    const data = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.data]));
    const env = { dims: dimsOf(fn, inputs), scalars: opts.scalars, seed: opts.seed };
    if (opts.valueAndGrad) {
      const r = evalValueAndGrad(fn, data, env);
      return { outputs: [[r.value]], grads: r.grads };
    }
    return evalVjp(fn, data, opts.ct, env);
  }
  let mod = modules.get(text);
  if (mod === undefined) {
    mod = buildModule(text).then((b) => b.mod);
    modules.set(text, mod);
  }
  const entry = (await mod)[name];
  if (entry === undefined) throw new Error(`no fn ${name}`);
  const dev = backend === "cpu" ? cpu() : backend === "cpu-ts" ? cpu({ kernels: "ts" }) : await sharedDevice();
  const ins: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) {
    ins[k] = tensor(v.dtype === "i32" ? Int32Array.from(v.data) : Float32Array.from(v.data), v.shape);
  }
  const options = { ...opts.scalars, ...(opts.seed === undefined ? {} : { seed: opts.seed }), device: dev };
  const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data(), Number);
  if (opts.valueAndGrad) {
    const r = await entry.valueAndGrad(ins, options);
    const grads: Record<string, number[]> = {};
    for (const [k, t] of Object.entries(r.grads as Record<string, Tensor>)) grads[k] = await read(t);
    return { outputs: [await read(r.value)], grads };
  }
  const out = await entry.forward(ins, options);
  const outs: Tensor[] = Array.isArray(out) ? out : [out];
  const result: RunResult = { outputs: await Promise.all(outs.map(read)), grads: {} };
  if (opts.ct === undefined) return result;
  const cts = opts.ct.map((c, i) => tensor(Float32Array.from(c), Array.from(outs[i]!.shape)));
  const g = await entry.vjp(ins, cts.length === 1 ? cts[0] : cts, options);
  for (const [k, t] of Object.entries(g as Record<string, Tensor>)) result.grads[k] = await read(t);
  return result;
}
