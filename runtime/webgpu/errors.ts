/** Error codes of the WebGPU back end: the GPU-only rows of the runtime's one table. */
import { EstcRuntimeError, RuntimeErrorCode, runtimeErrorCodes } from "../errors.js";

/**
 * What can go wrong only on a GPU, a view of runtime/errors.ts: `limitExceeded` (E6017),
 * `deviceFailure` (E6018), `foreignTensor` (E6019), and `noAdapter`, this back end's name for
 * `backendUnavailable` (E6015) when no adapter can be found (the message lists every path tried).
 */
export const WebGpuErrorCode = {
  ...runtimeErrorCodes("limitExceeded", "deviceFailure", "foreignTensor"),
  noAdapter: RuntimeErrorCode.backendUnavailable,
} as const;

/** One of the codes in {@link WebGpuErrorCode}. */
export type WebGpuErrorCodeValue = (typeof WebGpuErrorCode)[keyof typeof WebGpuErrorCode];

/** The EstcRuntimeError for a WebGPU failure. */
export function webGpuError(code: WebGpuErrorCodeValue, message: string): EstcRuntimeError {
  return new EstcRuntimeError(code, message);
}
