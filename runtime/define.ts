/**
 * defineFunction: the object a generated module exports for each fn — `forward`, `vjp`,
 * `valueAndGrad` and `vjpFn` over the entry plans of its FunctionSpec. Every call checks the
 * caller's tensors and options against the signature before any kernel runs, and reports a
 * mistake as an EstcRuntimeError that names the fn, the input, what was expected and what came.
 */
import type { CpuDevice } from "./cpu.js";
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";
import { runPlan } from "./execute.js";
import type { EntryPlan, FunctionSpec } from "./plan.js";
import type { Tensor } from "./tensor.js";
import type { WebGpuDevice } from "./webgpu/device.js";
import { runPlanWebGpu } from "./webgpu/execute.js";
import { CallErrorCode, checkCall, fail, resultType, withCotangents, type Call } from "./validate.js";

export { CallErrorCode };

/** Any device a caller may pass; only `kind` is read before the back end is chosen. */
export interface DeviceLike {
  readonly kind: string;
}

/**
 * Per-call options: the device (default the shared `cpu()`, or a `webgpu()` device), the Philox seed (default 0) and
 * the fn's runtime scalars by name (default: the values in the signature).
 */
export type CallOptions<S extends string = string> = {
  device?: CpuDevice | WebGpuDevice | DeviceLike;
  seed?: number;
} & (string extends S ? { readonly [scalar: string]: unknown } : { readonly [K in S]?: number });

/** Gradients by input name, one for each of the spec's `gradInputs`. */
export type Gradients = Record<string, Tensor>;

/** A forward result with the pullback that maps cotangents of it to input gradients. */
export interface VjpResult<O> {
  out: O;
  pullback(cotangent: Tensor | readonly Tensor[]): Promise<Gradients>;
}

/**
 * A generated function. `I` names its tensor inputs, `S` its scalar options and `O` its
 * result: a Tensor, or a Tensor[] for a fn that returns a tuple.
 */
export interface EstFunction<
  I extends string = string,
  S extends string = string,
  O extends Tensor | Tensor[] = Tensor | Tensor[],
> {
  /** The fn's name in its `.est` file. */
  readonly name: string;
  /** The plans and kernels the calls run, for tools that inspect them. */
  readonly spec: FunctionSpec;
  /** The fn's result. */
  forward(inputs: Readonly<Record<I, Tensor>>, options?: CallOptions<S>): Promise<O>;
  /** Gradients of the f32 inputs given one cotangent per output (shaped like that output). */
  vjp(
    inputs: Readonly<Record<I, Tensor>>,
    cotangent: Tensor | readonly Tensor[],
    options?: CallOptions<S>,
  ): Promise<Gradients>;
  /** For a scalar result: the value and the gradients of the f32 inputs, in one run. */
  valueAndGrad(
    inputs: Readonly<Record<I, Tensor>>,
    options?: CallOptions<S>,
  ): Promise<{ value: Tensor; grads: Gradients }>;
  /** The result and a pullback that computes gradients for any cotangent of it (JAX's vjp). */
  vjpFn(inputs: Readonly<Record<I, Tensor>>, options?: CallOptions<S>): Promise<VjpResult<O>>;
}

/** Wraps a generated FunctionSpec as the function object its module exports. */
export function defineFunction<
  I extends string = string,
  S extends string = string,
  O extends Tensor | Tensor[] = Tensor | Tensor[],
>(spec: FunctionSpec): EstFunction<I, S, O> {
  const run = async (plan: EntryPlan, call: Call): Promise<Tensor[]> =>
    call.device.kind === "webgpu"
      ? runPlanWebGpu(spec, plan, call.tensors, call.dims, call.scalars, call.seed, call.device)
      : runPlan(spec, plan, call.tensors, call.dims, call.scalars, call.seed, call.device);
  const gradients = (grads: Tensor[]): Gradients =>
    Object.fromEntries(spec.gradInputs.map((name, i) => [name, grads[i]!]));
  const result = (outs: Tensor[]): O => (spec.tuple ? outs : outs[0]!) as O;
  const pullback = async (call: Call, cotangent: unknown): Promise<Gradients> =>
    gradients(await run(spec.vjp, withCotangents(spec, call, cotangent)));

  return {
    name: spec.name,
    spec,
    async forward(inputs, options) {
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
      const [value, ...grads] = await run(plan, checkCall(spec, inputs, options));
      return { value: value!, grads: gradients(grads) };
    },
    async vjpFn(inputs, options) {
      const call = checkCall(spec, inputs, options);
      if (spec.forwardWithResiduals === undefined || spec.pullback === undefined) {
        // No residual plans: the pullback runs the stateless vjp on the held call.
        const out = result(await run(spec.forward, call));
        return { out, pullback: async (cotangent) => pullback(call, cotangent) };
      }
      // The forward also returns the residuals the pullback reads (bit masks for predicates);
      // they are counted in bytesSavedForBackward until the pullback has run.
      const all = await run(spec.forwardWithResiduals, call);
      const outs = all.slice(0, spec.outputs.length);
      const residuals = all.slice(spec.outputs.length);
      const saved = residuals.reduce((n, t) => n + t.size * 4, 0);
      call.device.memory.trackSaved(saved);
      let held = true;
      return {
        out: result(outs),
        pullback: async (cotangent) => {
          if (!held) {
            throw new EstcRuntimeError(
              RuntimeErrorCode.tensorDisposed,
              `${spec.name}: this pullback already ran and released its residuals; call vjpFn again`,
            );
          }
          const tensors = new Map(withCotangents(spec, call, cotangent).tensors);
          residuals.forEach((r, k) => tensors.set(`$res${k}`, r));
          try {
            return gradients(await run(spec.pullback!, { ...call, tensors }));
          } finally {
            held = false;
            call.device.memory.releaseSaved(saved);
            for (const r of residuals) r.dispose();
          }
        },
      };
    },
  };
}

