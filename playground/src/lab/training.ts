/**
 * The quickstart's training loop without the DOM (examples/quickstart/train.js): a binary dense
 * layer learns a synthetic 10-class task (each class a random ±1 prototype plus Gaussian noise),
 * SGD with momentum on `loss.valueAndGrad`, the gradient taken for `w` only. The runtime is passed
 * in — the very module instance the generated module imports — so tensors made here are the
 * module's own Tensor class, on whichever device (cpu() or webgpu()) the caller gives.
 */

/** The part of `estc/runtime` the loop uses. */
export interface TrainingRuntime {
  tensor(data: Float32Array | Int32Array, shape: number[]): unknown;
}

/** A generated fn as the loop calls it (defineFunction's EstFunction, loosely typed). */
interface LooseFn {
  forward(inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<{ data(): Promise<ArrayLike<number>> }>;
  valueAndGrad(inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<{ value: { data(): Promise<ArrayLike<number>> }; grads: Record<string, { data(): Promise<ArrayLike<number>> }> }>;
}

/** The quickstart module's two fns. */
export interface QuickstartModule {
  binary_dense: unknown;
  loss: unknown;
}

/** One training step's report. */
export interface StepReport {
  /** 0-based step over the whole run. */
  step: number;
  epoch: number;
  loss: number;
  /** The runtime scalars passed to `loss` at this step (o, …). */
  scalars: Record<string, number>;
}

/** Options of {@link trainQuickstart}; sizes default to train.js's (B 256, I 64, K 10). */
export interface TrainOptions {
  runtime: TrainingRuntime;
  module: QuickstartModule;
  /** The device for every call: `cpu()` or a `webgpu()` device of the same runtime. */
  device?: unknown;
  epochs?: number;
  stepsPerEpoch?: number;
  batch?: number;
  features?: number;
  classes?: number;
  lr?: number;
  seed?: number;
  /** The runtime scalars `loss` takes (from the worker's TrainingModuleResult). */
  lossScalars?: readonly string[];
  /**
   * Scalar values chosen by the user (the plot's sliders), read at every step; a name `loss`
   * takes is passed as given. `o` not given follows train.js's cosine schedule from 1 to 3.
   */
  scalars?: () => Record<string, number>;
  /** Called after every step; a rejection or throw stops the run. */
  onStep?: (report: StepReport) => void | Promise<void>;
  /** Called after each epoch with the test accuracy on a held-out batch. */
  onEpoch?: (epoch: number, accuracy: number) => void | Promise<void>;
  /** Checked before every step: true stops the run (the Stop button). */
  shouldStop?: () => boolean;
}

/** What a run did: the loss of every step and the accuracy after each epoch. */
export interface TrainResult {
  losses: number[];
  accuracies: number[];
  stopped: boolean;
}

/** Trains the quickstart's binary layer; resolves when the epochs are done or `shouldStop` says so. */
export async function trainQuickstart(options: TrainOptions): Promise<TrainResult> {
  const { runtime, device, epochs = 30, stepsPerEpoch = 10, batch: B = 256, features: I = 64, classes: K = 10, lr = 0.05, seed = 12345 } = options;
  const loss = options.module.loss as LooseFn;
  const dense = options.module.binary_dense as LooseFn;
  const data = syntheticTask(seed, B, I, K);
  const w = Float32Array.from({ length: I * K }, () => 0.1 * data.gauss());
  const test = data.batch();
  const velocity = new Float32Array(I * K);
  const takes = new Set(options.lossScalars ?? ["o"]);
  const call = device === undefined ? {} : { device };
  const result: TrainResult = { losses: [], accuracies: [], stopped: false };
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let s = 0; s < stepsPerEpoch; s++) {
      if (options.shouldStop?.() === true) return { ...result, stopped: true };
      const scalars = stepScalars(takes, options.scalars?.() ?? {}, epoch, epochs);
      const { x, labels } = data.batch();
      const inputs = { x: runtime.tensor(x, [B, I]), w: runtime.tensor(w, [I, K]), labels: runtime.tensor(labels, [B]) };
      const { value, grads } = await loss.valueAndGrad(inputs, { ...scalars, ...call, wrt: ["w"] });
      const lossValue = (await value.data())[0]!;
      const g = await grads["w"]!.data();
      for (let j = 0; j < w.length; j++) {
        velocity[j] = 0.9 * velocity[j]! + g[j]!;
        w[j]! -= lr * velocity[j]!;
      }
      result.losses.push(lossValue);
      await options.onStep?.({ step, epoch, loss: lossValue, scalars });
      step++;
    }
    const acc = await accuracy(dense, runtime, test, w, B, I, K, call);
    result.accuracies.push(acc);
    await options.onEpoch?.(epoch, acc);
  }
  return result;
}

/** The scalars passed to `loss`: the user's where `loss` takes them, else o on train.js's schedule. */
export function stepScalars(takes: ReadonlySet<string>, chosen: Record<string, number>, epoch: number, epochs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(chosen)) if (takes.has(k) && Number.isFinite(v)) out[k] = v;
  // ReSTE's schedule: o rises from 1 to 3 along a quarter cosine (Wu et al. 2023), as train.js.
  if (takes.has("o") && out["o"] === undefined) out["o"] = 1 + (1 - Math.cos((Math.PI / 2) * (epoch / Math.max(1, epochs)))) * 2;
  return out;
}

async function accuracy(dense: LooseFn, runtime: TrainingRuntime, test: { x: Float32Array; labels: Int32Array }, w: Float32Array, B: number, I: number, K: number, call: Record<string, unknown>): Promise<number> {
  const logits = await (await dense.forward({ x: runtime.tensor(test.x, [B, I]), w: runtime.tensor(w, [I, K]) }, call)).data();
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[b * K + k]! > logits[b * K + best]!) best = k;
    correct += best === test.labels[b] ? 1 : 0;
  }
  return correct / B;
}

/** train.js's seeded data: an LCG, Box–Muller normals, ±1 class prototypes plus 1.2 × noise. */
export function syntheticTask(seed: number, B: number, I: number, K: number): { batch(): { x: Float32Array; labels: Int32Array }; gauss(): number } {
  let state = seed >>> 0;
  const rand = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const prototypes = Array.from({ length: K }, () => Float32Array.from({ length: I }, () => (rand() < 0.5 ? -1 : 1)));
  const batch = () => {
    const x = new Float32Array(B * I);
    const labels = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const k = Math.floor(rand() * K);
      labels[b] = k;
      for (let i = 0; i < I; i++) x[b * I + i] = prototypes[k]![i]! + 1.2 * gauss();
    }
    return { x, labels };
  };
  return { batch, gauss };
}
