/**
 * Error codes of the WebGPU back end. They belong in `RuntimeErrorCode` (runtime/errors.ts) and
 * move there once that file takes them; the values are final.
 */
import { EstcRuntimeError, type RuntimeErrorCodeValue } from "../errors.js";

/** What can go wrong only on a GPU. */
export const WebGpuErrorCode = {
  /** No WebGPU adapter could be found (the message lists every path tried and why it failed). */
  noAdapter: "E6015",
  /** A kernel or buffer exceeds one of the adapter's limits (bindings, buffer size, workgroups). */
  limitExceeded: "E6017",
  /** The GPU reported an error or lost the device while running a kernel. */
  deviceFailure: "E6018",
  /** A device tensor was passed to a different device than the one holding it. */
  foreignTensor: "E6019",
} as const;

/** One of the codes in {@link WebGpuErrorCode}. */
export type WebGpuErrorCodeValue = (typeof WebGpuErrorCode)[keyof typeof WebGpuErrorCode];

/** The EstcRuntimeError for a WebGPU failure; the cast stands in until errors.ts lists the codes. */
export function webGpuError(code: WebGpuErrorCodeValue, message: string): EstcRuntimeError {
  return new EstcRuntimeError(code as string as RuntimeErrorCodeValue, message);
}
