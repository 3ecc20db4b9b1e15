/**
 * `checkNumerics: true` (a call option, like JAX's `jax_debug_nans` and TensorFlow's
 * `enable_check_numerics`): after every kernel and matrix product of a call, the f32 buffers the
 * step touched are scanned for NaN and ±Infinity, and the first one found is an E6030 naming the
 * fn, the kernel and the `.est` line it was generated from. Inputs (and cotangents) are scanned
 * before the first step, so a NaN the caller passed in is reported as theirs. When the option is
 * off nothing here runs: the executors test one boolean per call.
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";
import type { EntryPlan, FunctionSpec, Step } from "./plan.js";

/** The index of the first NaN or ±Infinity in `a`, or -1. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity: one subtraction, no call.
    if (v - v !== 0) return i;
  }
  return -1;
}

const show = (v: number) => (Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");

/** What a step is called in an E6030: its kernel's name and `.est` line, or the library step. */
export function stepName(spec: FunctionSpec, step: Step): string {
  if (step.op !== "kernel") return `the ${step.op} step`;
  const name = spec.wgsl?.[step.kernel]?.name ?? spec.kernels[step.kernel]?.name ?? `#${step.kernel}`;
  const where = spec.kernelSources?.[step.kernel] ?? spec.source;
  return `kernel ${name} (${where})`;
}

/** The f32 buffers a step may have written (a kernel's are among its args; reads were scanned before). */
export function stepBuffers(step: Step): number[] {
  switch (step.op) {
    case "kernel":
      return step.args;
    case "matmul":
    case "conv2d":
    case "pool2d":
      return [step.out];
    default:
      return [];
  }
}

/** E6030 for the value `value` at element `index` of buffer `buffer`, first seen after `step`. */
export function nonFiniteAfterStep(spec: FunctionSpec, plan: EntryPlan, step: Step, buffer: number, index: number, value: number): EstcRuntimeError {
  const shape = plan.buffers[buffer]?.shape ?? [];
  return new EstcRuntimeError(
    RuntimeErrorCode.nonFinite,
    `${spec.name} (${spec.source}): checkNumerics: ${show(value)} first appears in ${stepName(spec, step)}, element ${index} of its f32[${shape.join(", ")}] buffer`,
  );
}

/** E6030 for a non-finite value the caller passed in. */
export function nonFiniteInput(spec: FunctionSpec, name: string, index: number, value: number): EstcRuntimeError {
  const what = name.startsWith("$ct") ? "the cotangent" : name.startsWith("$res") ? "a saved residual" : `input '${name}'`;
  return new EstcRuntimeError(RuntimeErrorCode.nonFinite, `${spec.name} (${spec.source}): checkNumerics: ${what} holds ${show(value)} at element ${index}`);
}
