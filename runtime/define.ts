/**
 * defineFunction: the object a generated module exports for each fn — `forward`, `vjp`,
 * `valueAndGrad` and `vjpFn` over the entry plans of its FunctionSpec. Every call checks the
 * caller's tensors and options against the signature before any kernel runs, and reports a
 * mistake as an EstcRuntimeError that names the fn, the input, what was expected and what came.
 */
import type { CpuDevice } from "./cpu.js";
import type { MemoryStats } from "./memory.js";
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";
import { runPlan } from "./execute.js";
import { checkIndexBounds } from "./kernels.js";
import type { EntryPlan, FunctionSpec } from "./plan.js";
import type { Tensor } from "./tensor.js";
import type { WebGpuDevice } from "./webgpu/device.js";
import { prunedPlan } from "./prune.js";
import { runPlanWebGpu } from "./webgpu/execute.js";
import { CallErrorCode, checkCall, fail, resultType, withCotangents, type Call } from "./validate.js";
import { arenaNearCap } from "./wasm/tensor-arena.js";


export { CallErrorCode };

/** Any device a caller may pass; only `kind` is read before the back end is chosen. */
export interface DeviceLike {
  readonly kind: string;
}

/**
 * Per-call options: the device (default the shared `cpu()`, or a `webgpu()` device), the Philox
 * seed (default 0), the inputs to differentiate with respect to (`wrt`, default every f32 input;
 * `forward` checks the names and computes no gradient) and the fn's runtime scalars by name
 * (default: the values in the signature).
 */
export type CallOptions<S extends string = string, I extends string = string> = {
  device?: CpuDevice | WebGpuDevice | DeviceLike;
  seed?: number;
  /**
   * The f32 inputs whose gradients vjp, valueAndGrad and vjpFn's pullback return (JAX's
   * `argnums`); the steps only the others need do not run. Default: every f32 input.
   */
  wrt?: readonly I[];
  /**
   * Scan every f32 buffer after each kernel for NaN and Infinity and throw E6030 naming the fn,
   * the kernel and its `.est` line at the first (JAX's jax_debug_nans). Off by default, and free then.
   */
  checkNumerics?: boolean;
} & (string extends S ? { readonly [scalar: string]: unknown } : { readonly [K in S]?: number });

/** Gradients by input name: one for each of the spec's `gradInputs`, or each name of `wrt`. */
export type Gradients<G extends string = string> = Record<G, Tensor>;

/**
 * vjpFn's pullback: maps cotangents of the forward result to input gradients, once — it releases
 * the residuals it saved when it runs. `dispose()` releases them without running it (a pullback
 * that will never be called); one that is dropped is released when the GC collects it.
 */
export interface Pullback<G extends string = string> {
  (cotangent: Tensor | readonly Tensor[]): Promise<Gradients<G>>;
  /** Releases the saved residuals now; calling the pullback afterwards is E6004. Harmless twice. */
  dispose(): void;
}

/** A forward result with the pullback that maps cotangents of it to input gradients. */
export interface VjpResult<O, G extends string = string> {
  out: O;
  pullback: Pullback<G>;
}

/**
 * A generated function. `I` names its tensor inputs, `S` its scalar options, `O` its result (a
 * Tensor, or a tuple `[Tensor, Tensor, …]` for a fn that returns one) and `G` the inputs that have
 * gradients (its f32 inputs). The gradient methods return a record of `G`, or of the names given
 * as `wrt`. A generated module types a fn whose result is not a scalar as a
 * {@link NonScalarEstFunction}, which has no `valueAndGrad`.
 */
export interface EstFunction<
  I extends string = string,
  S extends string = string,
  O extends Tensor | Tensor[] = Tensor | Tensor[],
  G extends string = string,
> {
  /** The fn's name in its `.est` file. */
  readonly name: string;
  /** The plans and kernels the calls run, for tools that inspect them. */
  readonly spec: FunctionSpec;
  /** The fn's result. */
  forward(inputs: Readonly<Record<I, Tensor>>, options?: CallOptions<S, G>): Promise<O>;
  /** Gradients of the f32 inputs (or those in `wrt`) given one cotangent per output (shaped like it). */
  vjp<W extends G = G>(
    inputs: Readonly<Record<I, Tensor>>,
    cotangent: Tensor | readonly Tensor[],
    options?: CallOptions<S, W>,
  ): Promise<Gradients<W>>;
  /** For a scalar result: the value and the gradients of the f32 inputs (or those in `wrt`), in one run. */
  valueAndGrad<W extends G = G>(
    inputs: Readonly<Record<I, Tensor>>,
    options?: CallOptions<S, W>,
  ): Promise<{ value: Tensor; grads: Gradients<W> }>;
  /** The result and a pullback that computes gradients for any cotangent of it (JAX's vjp). */
  vjpFn<W extends G = G>(inputs: Readonly<Record<I, Tensor>>, options?: CallOptions<S, W>): Promise<VjpResult<O, W>>;
}

/**
 * A generated function whose result is not a scalar (a vector, a matrix or a tuple): an
 * {@link EstFunction} without `valueAndGrad`, which needs a scalar to differentiate (E6009 at run
 * time); its gradients come from `vjp` or `vjpFn` with a cotangent shaped like the result.
 */
export interface NonScalarEstFunction<
  I extends string = string,
  S extends string = string,
  O extends Tensor | Tensor[] = Tensor | Tensor[],
  G extends string = string,
> extends Omit<EstFunction<I, S, O, G>, "valueAndGrad"> {}

/** Wraps a generated FunctionSpec as the function object its module exports. */
export function defineFunction<
  I extends string = string,
  S extends string = string,
  O extends Tensor | Tensor[] = Tensor | Tensor[],
  G extends string = string,
>(spec: FunctionSpec): EstFunction<I, S, O, G> {
  const run = async (plan: EntryPlan, call: Call): Promise<Tensor[]> => {
    checkIndexBounds(spec, call.tensors, call.dims);
    // A loop whose awaits all settle at once never reaches the task queue, where the finalizers of
    // tensors dropped without dispose() run; near the arena's cap, go there once (./wasm/tensor-arena.ts).
    if (call.device.kind !== "webgpu" && arenaNearCap()) await new Promise<void>((settle) => setTimeout(settle, 0));
    return call.device.kind === "webgpu"
      ? runPlanWebGpu(spec, plan, call.tensors, call.dims, call.scalars, call.seed, call.device, call.checkNumerics)
      : runPlan(spec, plan, call.tensors, call.dims, call.scalars, call.seed, call.device, call.checkNumerics);
  };
  /** The gradients a plan returned, by name: those `call.wrt` asked for, in that order. */
  const gradients = (call: Call, grads: Tensor[]): Gradients =>
    Object.fromEntries(call.wrt.map((g, k) => [spec.gradInputs[g]!, grads[k]!]));
  const result = (outs: Tensor[]): O => (spec.tuple ? outs : outs[0]!) as O;
  const pullback = async (call: Call, cotangent: unknown): Promise<Gradients> =>
    gradients(call, await run(prunedPlan(spec.vjp, call.wrt), withCotangents(spec, call, cotangent)));

  return {
    name: spec.name,
    spec,
    async forward(inputs, options) {
      // `wrt` is checked (a typo fails here too) and has nothing to prune in a forward plan.
      return result(await run(spec.forward, checkCall(spec, inputs, options)));
    },
    async vjp(inputs, cotangent, options) {
      return pullback(checkCall(spec, inputs, options), cotangent);
    },
    async valueAndGrad(inputs, options) {
      const plan = spec.valueAndGrad;
      if (plan === undefined) {
        fail(
          CallErrorCode.valueAndGradNeedsScalar,
          `${spec.name}: valueAndGrad needs a scalar result; ${spec.name} returns ${resultType(spec)} (use vjp with a cotangent instead)`,
        );
      }
      const call = checkCall(spec, inputs, options);
      const [value, ...grads] = await run(prunedPlan(plan, [0, ...call.wrt.map((g) => g + 1)]), call);
      return { value: value!, grads: gradients(call, grads) };
    },
    async vjpFn(inputs, options) {
      const call = checkCall(spec, inputs, options);
      if (spec.forwardWithResiduals === undefined || spec.pullback === undefined) {
        // No residual plans: the pullback runs the stateless vjp on the held call.
        const out = result(await run(spec.forward, call));
        let held: Call | undefined = call;
        const stateless = async (cotangent: Tensor | readonly Tensor[]) => {
          if (held === undefined) throw pullbackGone(spec.name, "was disposed");
          return pullback(held, cotangent);
        };
        return { out, pullback: Object.assign(stateless, { dispose: () => void (held = undefined) }) };
      }
      // The forward also returns the residuals the pullback reads (bit masks for predicates);
      // they are counted in bytesSavedForBackward until the pullback has run. With `wrt`, only
      // those the pruned pullback still reads are computed and kept.
      const back = prunedPlan(spec.pullback, call.wrt);
      const kept = residualsRead(spec.forwardWithResiduals, back, spec.outputs.length);
      const keep = [...spec.outputs.keys(), ...kept.map((k) => spec.outputs.length + k)];
      const all = await run(prunedPlan(spec.forwardWithResiduals, keep), call);
      const outs = all.slice(0, spec.outputs.length);
      const residuals = all.slice(spec.outputs.length);
      const saved: Saved = { residuals, bytes: residuals.reduce((n, t) => n + t.size * 4, 0), memory: call.device.memory, gone: undefined };
      saved.memory.trackSaved(saved.bytes);
      const run1 = async (cotangent: Tensor | readonly Tensor[]) => {
        if (saved.gone !== undefined) throw pullbackGone(spec.name, saved.gone);
        const tensors = new Map(withCotangents(spec, call, cotangent).tensors);
        residuals.forEach((r, k) => tensors.set(`$res${kept[k]}`, r));
        try {
          return gradients(call, await run(back, { ...call, tensors }));
        } finally {
          unreachablePullbacks.unregister(saved);
          releaseSaved(saved, "already ran and released its residuals");
        }
      };
      const dispose = () => {
        unreachablePullbacks.unregister(saved);
        releaseSaved(saved, "was disposed");
      };
      const pullbackFn = Object.assign(run1, { dispose });
      // On the CPU the finalizer gets only the counters: residual arrays it held would stay alive
      // until finalizers run, which a loop whose awaits all settle at once never lets happen (the
      // residual tensors' own registrations uncount their bytes when they are collected).
      const held: Saved | Uncount = residuals.every((r) => r.device === "cpu") ? { memory: saved.memory, bytes: saved.bytes } : saved;
      unreachablePullbacks.register(pullbackFn, held, saved);
      return { out: result(outs), pullback: pullbackFn };
    },
  };
}

/** What a pullback saved, shared with its finalizer (so it must not refer to the pullback itself). */
interface Saved {
  readonly residuals: Tensor[];
  readonly bytes: number;
  readonly memory: MemoryStats;
  /** Why the pullback can no longer run, once it cannot. */
  gone: string | undefined;
}

/** Disposes the residuals and uncounts their saved bytes, once. */
function releaseSaved(saved: Saved, why: string): void {
  if (saved.gone !== undefined) return;
  saved.gone = why;
  saved.memory.releaseSaved(saved.bytes);
  for (const r of saved.residuals) r.dispose();
}

/** The saved bytes of a dropped CPU pullback, to uncount: its residuals are the GC's to reclaim. */
interface Uncount {
  readonly memory: MemoryStats;
  readonly bytes: number;
}

/** Releases the residuals of a pullback the program dropped without calling or disposing it. */
const unreachablePullbacks = new FinalizationRegistry<Saved | Uncount>((held) => {
  try {
    if ("residuals" in held) releaseSaved(held, "was collected");
    else held.memory.releaseSaved(held.bytes);
  } catch {
    // A finalizer must not throw; a device destroyed meanwhile has nothing left to give back.
  }
});

/** E6004 for a pullback called after it ran or was disposed. */
function pullbackGone(fn: string, why: string): EstcRuntimeError {
  return new EstcRuntimeError(RuntimeErrorCode.tensorDisposed, `${fn}: this pullback ${why}; call vjpFn again`);
}

/** The residuals (`$res0`… of the full pullback, by number) that `pullback` still reads, ascending. */
function residualsRead(forward: EntryPlan, pullback: EntryPlan, results: number): number[] {
  const read = new Set(pullback.inputs.map((i) => i.name));
  return forward.outputs.slice(results).flatMap((_, k) => (read.has(`$res${k}`) ? [k] : []));
}
