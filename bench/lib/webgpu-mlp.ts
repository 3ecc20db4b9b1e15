/**
 * The WebGPU bench's binary-MLP section (784 -> 512 -> 512 -> 10, batch 256): `valueAndGrad` of
 * the loss in estc's default (fused matrix products) build, in the same program built with
 * `fuseMatMuls: false`, in TensorFlow.js's WebGPU backend and in jax-js's WebGPU device. Inputs
 * are resident on the device; one step is one call plus a wait until the device is done. Each
 * implementation is checked against estc's CPU back end (as bench/cpu.ts's `benchMlp`); those that
 * pass are timed in interleaved rounds.
 */
import { prunedPlan, tensor, toDevice, type EntryPlan, type EstFunction, type FunctionSpec, type Tensor, type WebGpuDevice } from "estc/runtime";
import { buildMlpUnfused, estcMlp, type EstcPrograms } from "./estc.js";
import { jaxMlp } from "./jax.js";
import { collect, pairedRatio, sig, table, timeInterleaved, type Timing, type TimingPlan } from "./measure.js";
import { MLP, mlpAgreement, mlpData, mlpFlops, type MlpData, type MlpResult, type MlpRunner } from "./mlp.js";
import { tfjsMlp } from "./tfjs.js";
import { tfjsSync, type Loaded } from "./webgpu-setup.js";
import { P } from "./workloads.js";

type TF = typeof import("@tensorflow/tfjs");
type JX = typeof import("@jax-js/jax");

/** Agreement with estc's CPU result, as the CPU bench: sign flips from summation order move a few activations. */
const LOSS_TOL = 1e-4;
const GRAD_TOL = 1e-3;

/** One implementation's row. */
export interface MlpMeasured {
  loss?: number;
  agreement?: ReturnType<typeof mlpAgreement>;
  timing?: Timing;
  gflops?: number;
  /** estc only: the kernel steps of the valueAndGrad plan (every step but aliases). */
  planDispatches?: number;
  /** dispatchWorkgroups calls seen during one step (after the check), for every implementation. */
  countedDispatches?: number;
  /** ms of each interleaved round, for ratios taken round by round. */
  samples?: number[];
  note?: string;
}

/** What the section returns for bench/results/webgpu.json. */
export interface MlpSection {
  shape: number[];
  flopsPerStep: number;
  timing: TimingPlan;
  tolerance: { loss: number; grads: number };
  referenceLoss: number;
  unfusedBuildMs?: number;
  results: Record<string, MlpMeasured>;
  ratios: { unfusedOverFused?: number; tfjsOverEstc?: number; jaxOverEstc?: number };
}

/** The plan steps that dispatch a kernel (the WebGPU executor runs one pass per non-alias step). */
export const planDispatches = (plan: EntryPlan): number => plan.steps.filter((s) => s.op !== "alias").length;

/** The valueAndGrad plan a step runs: cut to the value and the gradients of `MLP.wrt`. */
const stepPlan = (spec: FunctionSpec): EntryPlan => prunedPlan(spec.valueAndGrad!, [0, ...MLP.wrt.map((n) => spec.gradInputs.indexOf(n) + 1)]);

/** estc's `valueAndGrad` of the MLP loss on `device`, x, the weights and labels uploaded once. */
export function estcWebgpuMlp(fn: EstFunction, d: MlpData, device: WebGpuDevice): MlpRunner {
  const up = (a: Float32Array | Int32Array, shape: number[]) => toDevice(tensor(a, shape), device);
  const [n0, n1, n2, n3] = d.sizes;
  const inputs: Record<string, Tensor> = {
    x: up(d.x, [d.batch, n0]),
    w1: up(d.w[0]!, [n0, n1]),
    w2: up(d.w[1]!, [n1, n2]),
    w3: up(d.w[2]!, [n2, n3]),
    labels: up(d.labels, [d.batch]),
  };
  let last: { value: Tensor; grads: Record<string, Tensor> } | undefined;
  const release = () => {
    last?.value.dispose();
    Object.values(last?.grads ?? {}).forEach((t) => t.dispose());
    last = undefined;
  };
  return {
    async step() {
      release();
      last = await fn.valueAndGrad(inputs, { o: P.reste.o, device, wrt: MLP.wrt });
      await device.gpu.queue.onSubmittedWorkDone();
    },
    async result(): Promise<MlpResult> {
      const loss = (await last!.value.data())[0]!;
      const grads = await Promise.all(["w1", "w2", "w3"].map(async (n) => (await last!.grads[n]!.data()) as Float32Array));
      return { loss, grads };
    },
    dispose() {
      release();
      Object.values(inputs).forEach((t) => t.dispose());
    },
  };
}

/**
 * bench/lib/tfjs.ts's `tfjsMlp` on the WebGPU backend: its `tf.tidy` is wrapped to keep the
 * step's outputs, read with `data()` (`dataSync` needs an OffscreenCanvas on WebGPU); each step
 * ends with tfjs's pending work submitted and waited for.
 */
export function tfjsWebgpuMlp(tf: TF, d: MlpData): MlpRunner {
  let outs: import("@tensorflow/tfjs").Tensor[] = [];
  const tidy = ((fn: () => import("@tensorflow/tfjs").Tensor[]) => (outs = tf.tidy(fn))) as TF["tidy"];
  const inner = tfjsMlp({ ...tf, tidy } as TF, d);
  return {
    async step() {
      inner.step();
      await tfjsSync(tf);
    },
    async result(): Promise<MlpResult> {
      const [value, ...grads] = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
      return { loss: value![0]!, grads };
    },
    dispose() {
      inner.dispose();
    },
  };
}

/**
 * Compute dispatches one `step` issues, counted by wrapping `GPUComputePassEncoder`'s
 * `dispatchWorkgroups` (one prototype for every Dawn device in the process); undefined when the
 * class is not reachable.
 */
async function countDispatches(step: () => unknown): Promise<number | undefined> {
  const proto = (globalThis as { GPUComputePassEncoder?: { prototype: GPUComputePassEncoder } }).GPUComputePassEncoder?.prototype;
  if (proto === undefined) return undefined;
  const original = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder["dispatchWorkgroups"]>) {
    count++;
    return original.apply(this, args);
  };
  try {
    await step();
  } finally {
    proto.dispatchWorkgroups = original;
  }
  return count;
}

/** A runner that passed its check, kept open for the interleaved timing. */
interface Checked {
  runner: MlpRunner;
  row: MlpMeasured;
}

/** Checks one step against `want` and counts one step's dispatches; a failing runner is disposed. */
async function checkMlp(make: () => MlpRunner, want: MlpResult): Promise<Checked | MlpMeasured> {
  collect();
  let runner: MlpRunner | undefined;
  try {
    runner = make();
    await runner.step();
    const r = await runner.result();
    const agreement = mlpAgreement(r, want);
    const ok = Number.isFinite(r.loss) && agreement.loss <= LOSS_TOL && agreement.grads.every((e) => e <= GRAD_TOL);
    if (!ok) {
      runner.dispose();
      return { loss: r.loss, agreement, note: "disagrees with estc's CPU result: not timed" };
    }
    const run = runner;
    const countedDispatches = await countDispatches(() => run.step());
    return { runner, row: { loss: r.loss, agreement, countedDispatches } };
  } catch (e) {
    runner?.dispose();
    return { note: `failed: ${(e as Error).message.split("\n")[0]}` };
  }
}

/** estc's CPU back end: the reference every WebGPU implementation is checked against. */
async function cpuReference(programs: EstcPrograms, d: MlpData): Promise<MlpResult> {
  const r = estcMlp(programs, d);
  try {
    await r.step();
    return await r.result();
  } finally {
    r.dispose();
  }
}

/** a's time over b's, as the median over the interleaved rounds of the per-round ratio. */
const ratio = (a?: MlpMeasured, b?: MlpMeasured) => (a?.samples && b?.samples ? pairedRatio(a.samples, b.samples) : undefined);

/** Checks every implementation, then times those that passed, interleaved; always disposes them. */
async function checkAndTime(makers: Record<string, (() => MlpRunner) | string>, want: MlpResult, plan: TimingPlan, flops: number): Promise<Record<string, MlpMeasured>> {
  const results: Record<string, MlpMeasured> = {};
  const checked: Checked[] = [];
  for (const [name, make] of Object.entries(makers)) {
    const c = typeof make === "string" ? { note: make } : await checkMlp(make, want);
    if ("runner" in c) checked.push(c);
    results[name] = "runner" in c ? c.row : c;
  }
  try {
    const { timings, samples } = await timeInterleaved(checked.map((c) => () => c.runner.step()), plan);
    checked.forEach((c, k) => Object.assign(c.row, { timing: timings[k], gflops: flops / (timings[k]!.medianMs * 1e6), samples: samples[k] }));
  } catch (e) {
    checked.forEach((c) => (c.row.note = `failed while timing: ${(e as Error).message.split("\n")[0]}`));
  } finally {
    checked.forEach((c) => c.runner.dispose());
  }
  return results;
}

/** The fuseMatMuls: false build, or why it failed. */
async function unfusedBuild(root: string): Promise<{ fn: EstFunction; ms: number } | string> {
  try {
    return await buildMlpUnfused(root);
  } catch (e) {
    return `build failed: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** Runs, prints and returns the MLP section. */
export async function benchMlpWebgpu(root: string, programs: EstcPrograms, device: WebGpuDevice, tf: Loaded<TF>, jx: Loaded<JX>, quick: boolean): Promise<MlpSection> {
  const data = mlpData();
  const flops = mlpFlops(data);
  const plan: TimingPlan = { reps: quick ? 7 : 15, minReps: 3, budgetMs: quick ? 8000 : 20000, warmup: 2, minRepMs: 0 };
  const want = await cpuReference(programs, data);
  const unfused = await unfusedBuild(root);
  const results = await checkAndTime(
    {
      "estc fused": () => estcWebgpuMlp(programs.mlp, data, device),
      "estc unfused": typeof unfused === "string" ? unfused : () => estcWebgpuMlp(unfused.fn, data, device),
      tfjs: tf.ok ? () => tfjsWebgpuMlp(tf.lib, data) : tf.error.split("\n")[0]!,
      "jax-js": jx.ok ? () => jaxMlp(jx.lib, data) : jx.error.split("\n")[0]!,
    },
    want,
    plan,
    flops,
  );
  results["estc fused"]!.planDispatches = planDispatches(stepPlan(programs.mlp.spec));
  if (typeof unfused !== "string") results["estc unfused"]!.planDispatches = planDispatches(stepPlan(unfused.fn.spec));
  const fused = results["estc fused"];
  const ratios = { unfusedOverFused: ratio(results["estc unfused"], fused), tfjsOverEstc: ratio(results.tfjs, fused), jaxOverEstc: ratio(results["jax-js"], fused) };
  printMlp(results, ratios, data, flops, want.loss);
  const unfusedBuildMs = typeof unfused === "string" ? undefined : unfused.ms;
  return { shape: [data.batch, ...data.sizes], flopsPerStep: flops, timing: plan, tolerance: { loss: LOSS_TOL, grads: GRAD_TOL }, referenceLoss: want.loss, unfusedBuildMs, results, ratios };
}

function printMlp(results: Record<string, MlpMeasured>, ratios: MlpSection["ratios"], d: MlpData, flops: number, refLoss: number): void {
  const fused = results["estc fused"];
  console.log(`\nBinary MLP step ${d.sizes.join("-")}, batch ${d.batch}: valueAndGrad of the loss, inputs on the device, each step waited for (${(flops / 1e9).toFixed(2)} GFLOP)\n`);
  console.log(
    table(
      ["impl", "median ms", "GFLOP/s", "vs estc fused", "plan disp", "counted disp", "loss", "grad rel err (w1, w2, w3)", "note"],
      Object.entries(results).map(([name, o]) => [
        name,
        sig(o.timing?.medianMs),
        sig(o.gflops),
        sig(ratio(o, fused)),
        o.planDispatches === undefined ? "-" : String(o.planDispatches),
        o.countedDispatches === undefined ? "-" : String(o.countedDispatches),
        o.loss === undefined ? "-" : o.loss.toFixed(5),
        o.agreement ? o.agreement.grads.map((e) => e.toExponential(1)).join(", ") : "-",
        o.note ?? "",
      ]),
    ),
  );
  console.log(`\nunfused/fused ${sig(ratios.unfusedOverFused)}, tfjs/estc ${sig(ratios.tfjsOverEstc)}, jax/estc ${sig(ratios.jaxOverEstc)} (estc = fused; each the median over the interleaved rounds of that round's ratio).`);
  console.log(
    `Checked before timing against estc's CPU back end (loss ${refLoss.toFixed(5)}): loss within ${LOSS_TOL} relative, each gradient within ${GRAD_TOL} relative L2.` +
      " plan disp: kernel steps of estc's valueAndGrad plan; counted disp: dispatchWorkgroups calls in one step.",
  );
}
