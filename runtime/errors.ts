/**
 * Runtime errors. The compiler reports user mistakes as diagnostics; the runtime cannot (it runs
 * inside a user's program), so it throws one error class whose stable `code` (E6xxx, see
 * STYLE.md §2) lets callers and tests tell failures apart without matching message text.
 */

/**
 * The runtime's error codes, one per kind of failure. Stable: tests and users match on them,
 * so a code is never reused for a different meaning.
 */
export const RuntimeErrorCode = {
  /** The data's length is not the product of the shape's dims. */
  shapeLengthMismatch: "E6001",
  /** A dim is negative, fractional or not finite. */
  badDim: "E6002",
  /** A seed, node id, draw index or element range the RNG cannot key exactly. */
  badRngArgument: "E6003",
  /** A tensor was read after `dispose()`. */
  tensorDisposed: "E6004",
  /** An explicit dtype contradicts the data's typed-array type. */
  dtypeMismatch: "E6005",
  /** `dataSync()` on a tensor that lives on a device and needs an async readback. */
  notCpuResident: "E6006",
  /** An input tensor's dtype or shape does not match what the generated function expects. */
  inputMismatch: "E6007",
  /** A gather index outside its axis. */
  gatherIndexOutOfRange: "E6008",
  /** `valueAndGrad` on a fn whose result is not one scalar. */
  valueAndGradNeedsScalar: "E6009",
  /** A declared input is absent (or `inputs` is not an object). */
  missingInput: "E6010",
  /** `inputs` names a tensor the fn does not declare. */
  unknownInput: "E6011",
  /** `options` names something that is neither `device`, `seed` nor a scalar of the fn. */
  unknownOption: "E6012",
  /** A scalar option is not a finite number of its dtype. */
  badScalar: "E6013",
  /** Cotangents whose count, dtype or shapes differ from the forward outputs'. */
  cotangentMismatch: "E6014",
  /** The requested back end is not available (no WebGPU adapter, no WGSL kernels). */
  backendUnavailable: "E6015",
  /** An N:M mask over a last axis that is not a multiple of m. */
  nmGroupMismatch: "E6016",
  /** A kernel or buffer exceeds one of the adapter's limits (bindings, buffer size, workgroups). */
  limitExceeded: "E6017",
  /** The GPU reported an error or lost the device while running a kernel. */
  deviceFailure: "E6018",
  /** A device tensor was passed to a different device than the one holding it. */
  foreignTensor: "E6019",
} as const;

/** One of the codes in {@link RuntimeErrorCode}. */
export type RuntimeErrorCodeValue = (typeof RuntimeErrorCode)[keyof typeof RuntimeErrorCode];

/** The one error the runtime throws for a caller's mistake; `code` says which mistake. */
export class EstcRuntimeError extends Error {
  /** Stable E6xxx code, so handling does not depend on message wording. */
  readonly code: RuntimeErrorCodeValue;

  constructor(code: RuntimeErrorCodeValue, message: string) {
    super(`error[${code}]: ${message}`);
    this.name = "EstcRuntimeError";
    this.code = code;
  }
}

/** A dim as a signature declares it: a symbol bound to a size (`B=2`) or a literal size (`3`). */
export interface ExpectedDim {
  /** The shape symbol from the `.est` signature, absent for a literal dim. */
  readonly name?: string;
  /** The size the symbol is bound to in this call. */
  readonly size: number;
}

/**
 * Prints a tensor type the way `.est` source writes it, `f32[B=2, I=3]`, so a runtime message
 * reads like the signature the user wrote. A rank-0 type prints as the bare dtype (`f32`).
 */
export function formatTensorType(dtype: string, dims: readonly (number | ExpectedDim)[]): string {
  if (dims.length === 0) return dtype;
  const printed = dims.map((d) =>
    typeof d === "number"
      ? String(d)
      : d.name === undefined
        ? String(d.size)
        : `${d.name}=${d.size}`,
  );
  return `${dtype}[${printed.join(", ")}]`;
}

/**
 * The message for an input that does not match its declared type:
 * `input 'x': expected f32[B=2, I=3], got f32[2, 4]`.
 */
export function formatInputMismatch(
  input: string,
  expected: { readonly dtype: string; readonly dims: readonly (number | ExpectedDim)[] },
  got: { readonly dtype: string; readonly shape: readonly number[] },
): string {
  const want = formatTensorType(expected.dtype, expected.dims);
  return `input '${input}': expected ${want}, got ${formatTensorType(got.dtype, got.shape)}`;
}
