/**
 * Runtime errors. The compiler reports user mistakes as diagnostics; the runtime cannot (it runs
 * inside a user's program), so it throws one error class whose stable `code` (E6xxx, see
 * STYLE.md §2) lets callers and tests tell failures apart without matching message text.
 */

/** One runtime failure: its stable code and what it means, as docs/language.md §8 words it. */
export interface RuntimeErrorInfo {
  /** The stable E6xxx code printed as `error[E6xxx]` and read back from `EstcRuntimeError.code`. */
  readonly code: `E6${number}`;
  /** One line a user reads in the docs' table of codes. */
  readonly meaning: string;
}

/**
 * Every runtime error code, keyed by its short name: the one table the runtime's modules take
 * their codes from and docs/language.md §8 mirrors (tests/runtime/error-codes.test.ts checks
 * both ways). Stable: tests and users match on codes, so a code is never reused for a different
 * meaning; a new failure takes the next free number.
 */
export const runtimeErrors = {
  shapeLengthMismatch: { code: "E6001", meaning: "the data's length does not match the shape" },
  badDim: { code: "E6002", meaning: "a negative, fractional, non-finite or too large dim" },
  badRngArgument: {
    code: "E6003",
    meaning: "a seed, node id, draw index or element range the RNG cannot key exactly",
  },
  tensorDisposed: { code: "E6004", meaning: "a tensor read after `dispose()`" },
  dtypeMismatch: {
    code: "E6005",
    meaning: "a dtype that contradicts the typed array, or an input of the wrong dtype",
  },
  notCpuResident: {
    code: "E6006",
    meaning: "`dataSync()` on a tensor that lives on a device and needs an async readback",
  },
  inputMismatch: {
    code: "E6007",
    meaning: "an input whose rank or dims do not match the signature, or that is not a tensor",
  },
  gatherIndexOutOfRange: { code: "E6008", meaning: "a `gather` index outside its axis" },
  valueAndGradNeedsScalar: {
    code: "E6009",
    meaning: "`valueAndGrad` on a fn whose result is not one scalar",
  },
  missingInput: {
    code: "E6010",
    meaning: "a declared input is missing (or `inputs` is not an object)",
  },
  unknownInput: { code: "E6011", meaning: "an input the fn does not declare" },
  unknownOption: {
    code: "E6012",
    meaning: "an option that is not `device`, `seed`, `wrt`, `checkNumerics` or one of the fn's scalars (or a `checkNumerics` that is not a boolean), or a `cpu()` option other than `kernels` (\"ts\" or \"wasm\") and `threads` (1 to 64)",
  },
  badScalar: { code: "E6013", meaning: "a scalar option that is not a finite number of its dtype" },
  cotangentMismatch: {
    code: "E6014",
    meaning: "cotangents that do not match the outputs (count, dtype, shape)",
  },
  backendUnavailable: {
    code: "E6015",
    meaning: "a device whose back end is not available (no adapter — in a browser no `navigator.gpu`, or `requestAdapter()` gave none —, no WGSL kernels, not a device)",
  },
  nmGroupMismatch: {
    code: "E6016",
    meaning: "`nm_mask`'s last axis is not a whole number of groups of m",
  },
  limitExceeded: {
    code: "E6017",
    meaning:
      "a kernel or buffer exceeds a device limit (an adapter's bindings, buffer size, workgroups; the largest array the JS heap allocates)",
  },
  deviceFailure: {
    code: "E6018",
    meaning: "the GPU reported an error or lost the device while running a kernel",
  },
  foreignTensor: {
    code: "E6019",
    meaning: "a device tensor passed to a different device than the one holding it",
  },
  badWrt: {
    code: "E6020",
    meaning: "a `wrt` option that is not a list of the fn's differentiable (f32) inputs",
  },
  badTensorData: {
    code: "E6021",
    meaning:
      "`tensor()` data that is not a Float32Array, an Int32Array, a Uint8Array of 0/1 or an array of numbers",
  },
  scalarOutOfRange: {
    code: "E6031",
    meaning: "a scalar option outside the valid range an estimator it is passed to declares with `require`",
  },
  secondDerivative: {
    code: "E6032",
    meaning: "`create_graph=True` (a second derivative) through a function `estc build --emit torch` generated, which is differentiable once (docs/torch.md)",
  },
  nonFinite: {
    code: "E6030",
    meaning: "`checkNumerics`: a NaN or Infinity appeared (named: the fn, and the kernel and its .est line, or the input)",
  },
} as const satisfies Record<string, RuntimeErrorInfo>;

/** The short name of a runtime failure, a key of {@link runtimeErrors}. */
export type RuntimeErrorName = keyof typeof runtimeErrors;

/** The codes of the named failures, by short name, as literal types. */
export type RuntimeErrorCodesOf<N extends RuntimeErrorName> = {
  readonly [K in N]: (typeof runtimeErrors)[K]["code"];
};

/**
 * A frozen name → code view of some rows of {@link runtimeErrors}, so a module that reports a few
 * of the failures lists which, without restating their codes.
 */
export function runtimeErrorCodes<N extends RuntimeErrorName>(
  ...names: readonly N[]
): RuntimeErrorCodesOf<N> {
  const view = Object.fromEntries(names.map((name) => [name, runtimeErrors[name].code]));
  // Object.fromEntries types its result as a string record; the entries are exactly `names`.
  return Object.freeze(view) as RuntimeErrorCodesOf<N>;
}

/** Every runtime error code by short name: `RuntimeErrorCode.badDim` is `"E6002"`. */
export const RuntimeErrorCode: RuntimeErrorCodesOf<RuntimeErrorName> = runtimeErrorCodes(
  ...(Object.keys(runtimeErrors) as RuntimeErrorName[]),
);

/** One of the codes in {@link runtimeErrors}. */
export type RuntimeErrorCodeValue = (typeof runtimeErrors)[RuntimeErrorName]["code"];

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

/**
 * How a message names a plan input: the fn's own inputs as `input 'x'`, and the names plans give
 * the rest (`$ct0`, `$res1`) in the user's words — `the cotangent` (`cotangent 1 (of output 1)`
 * for a tuple), `a residual vjpFn saved` — so no internal name reaches a user.
 */
export function describePlanInput(name: string, outputs = 1): string {
  const cotangent = /^\$ct(\d+)$/.exec(name);
  if (cotangent !== null) return outputs === 1 ? "the cotangent" : `cotangent ${cotangent[1]} (of output ${cotangent[1]})`;
  const residual = /^\$res(\d+)$/.exec(name);
  if (residual !== null) return `residual ${residual[1]} that vjpFn saved for its pullback`;
  return `input '${name}'`;
}

/** Code points a terminal or an editor would act on or hide: C0/C1 controls, line and paragraph separators, bidi controls, BOM. */
const UNSAFE = /[\0-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|\p{Surrogate}/gu;

/**
 * `'key'` for a name the caller chose (an object key: any string) in an error message, each
 * control character or line terminator written `\u{1B}` so a message cannot move the cursor,
 * recolour a terminal or break a log line (compiler/escape.ts does the same for diagnostics).
 */
export function quotedKey(key: string): string {
  return `'${key.replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`)}'`;
}
