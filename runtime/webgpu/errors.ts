/** Error codes of the WebGPU back end: the GPU-only subset of `RuntimeErrorCode`. */
import { EstcRuntimeError, RuntimeErrorCode } from "../errors.js";

/** What can go wrong only on a GPU. */
export const WebGpuErrorCode = {
  /** No WebGPU adapter could be found (the message lists every path tried and why it failed). */
  noAdapter: RuntimeErrorCode.backendUnavailable,
  /** A kernel or buffer exceeds one of the adapter's limits (bindings, buffer size, workgroups). */
  limitExceeded: RuntimeErrorCode.limitExceeded,
  /** The GPU reported an error or lost the device while running a kernel. */
  deviceFailure: RuntimeErrorCode.deviceFailure,
  /** A device tensor was passed to a different device than the one holding it. */
  foreignTensor: RuntimeErrorCode.foreignTensor,
} as const;

/** One of the codes in {@link WebGpuErrorCode}. */
export type WebGpuErrorCodeValue = (typeof WebGpuErrorCode)[keyof typeof WebGpuErrorCode];

/** The EstcRuntimeError for a WebGPU failure. */
export function webGpuError(code: WebGpuErrorCodeValue, message: string): EstcRuntimeError {
  return new EstcRuntimeError(code, message);
}
