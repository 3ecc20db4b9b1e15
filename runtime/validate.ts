/**
 * Checks one call of a generated function before anything runs: the input tensors against the
 * signature (binding shape symbols input by input), the options (scalars, seed, device, wrt) and the
 * cotangents, each mistake an EstcRuntimeError naming the fn, the input, what was expected and
 * what came.
 */
import { cpu, type CpuDevice } from "./cpu.js";
import {
  EstcRuntimeError,
  RuntimeErrorCode,
  describePlanInput,
  formatTensorType,
  quotedKey,
  runtimeErrorCodes,
  type RuntimeErrorCodeValue,
} from "./errors.js";
import { CALL_OPTIONS, type Dim, type FunctionSpec } from "./plan.js";
import { dimTextSymbols, evaluateDimText, isComputedDim, resolveSpecDims, solveDimText } from "./dims.js";
import { describeValue, tensorProblem, type DType, type Tensor } from "./tensor.js";
import type { WebGpuDevice } from "./webgpu/device.js";

/**
 * The mistakes a call can make, a view of the runtime's one table (runtime/errors.ts); the checks
 * below also throw tensor and RNG codes (E6002–E6005, E6007) straight from `RuntimeErrorCode`.
 */
export const CallErrorCode = runtimeErrorCodes(
  "valueAndGradNeedsScalar",
  "missingInput",
  "unknownInput",
  "unknownOption",
  "badScalar",
  "cotangentMismatch",
  "backendUnavailable",
  "badWrt",
  "scalarOutOfRange",
);

type CallErrorCodeValue = (typeof CallErrorCode)[keyof typeof CallErrorCode];

/** A checked call: the tensors by plan input name and the values every plan run takes. */
export interface Call {
  tensors: Map<string, Tensor>;
  dims: Int32Array;
  scalars: Float64Array;
  seed: number;
  device: CpuDevice | WebGpuDevice;
  /** The places in `spec.gradInputs` of the gradients asked for (`wrt`), in that order; all by default. */
  wrt: number[];
  /** The `checkNumerics` option (runtime/numerics.ts). */
  checkNumerics: boolean;
}

/** Checks the inputs then the options, and binds the shape symbols. */
export function checkCall(spec: FunctionSpec, inputs: unknown, options: unknown): Call {
  const { tensors, dims } = checkInputs(spec, inputs);
  return { tensors, dims, ...checkOptions(spec, options) };
}

/** Where a shape symbol got its size. */
interface Binding {
  size: number;
  input: string;
  axis: number;
}

function checkInputs(
  spec: FunctionSpec,
  inputs: unknown,
): { tensors: Map<string, Tensor>; dims: Int32Array } {
  const names = spec.inputs.map((i) => i.name);
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) {
    fail(
      CallErrorCode.missingInput,
      `${spec.name}: inputs must be an object of tensors { ${names.join(", ")} }, got ${describe(inputs)}`,
    );
  }
  const given = inputs as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (names.includes(key)) continue;
    if (spec.scalars.some((s) => s.name === key)) {
      // A runtime scalar (a parameter with a default) passed with the tensors: say where it goes.
      const rest = names.join(", ");
      fail(
        CallErrorCode.unknownInput,
        `${spec.name}: '${key}' is a runtime scalar, not an input: pass it in the options, ${spec.name}.forward({ ${rest} }, { ${key}: ${describe(given[key])} })`,
      );
    }
    fail(
      CallErrorCode.unknownInput,
      `${spec.name}: unknown input ${quotedKey(key)}${didYouMean(key, names)}; the inputs are ${listNames(names)}`,
    );
  }
  for (const decl of spec.inputs) {
    if (own(given, decl.name) !== undefined) continue;
    const want = formatDeclared(decl.dtype, decl.shape, new Map());
    fail(
      CallErrorCode.missingInput,
      `${spec.name}: missing input '${decl.name}' (expected ${want})`,
    );
  }
  const bound = new Map<string, Binding>();
  const tensors = new Map<string, Tensor>();
  const computed: ComputedDim[] = [];
  for (const decl of spec.inputs) {
    tensors.set(decl.name, bindInput(spec, decl, own(given, decl.name), bound, computed));
  }
  settleComputedDims(spec, computed, bound);
  const dims = resolveSpecDims(`${spec.name} (${spec.source})`, spec.dims, (d) => bound.get(d)?.size);
  return { tensors, dims };
}

/** A computed dim of an input's type (`2*N`) and the size the input has there. */
interface ComputedDim {
  decl: FunctionSpec["inputs"][number];
  tensor: Tensor;
  axis: number;
  text: string;
}

/**
 * Binds the symbols only computed dims mention (solving a linear one, `2*N`, for its one
 * unbound symbol, while that binds more), then checks every computed dim against its input's size.
 */
function settleComputedDims(spec: FunctionSpec, computed: readonly ComputedDim[], bound: Map<string, Binding>): void {
  const size = (s: string) => bound.get(s)!.size;
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of computed) {
      const free = dimTextSymbols(c.text).filter((s) => !bound.has(s));
      if (free.length !== 1) continue;
      const n = solveDimText(c.text, free[0]!, c.tensor.shape[c.axis]!, size);
      if (n === undefined) continue;
      bound.set(free[0]!, { size: n, input: c.decl.name, axis: c.axis });
      grew = true;
    }
  }
  for (const c of computed) {
    const got = c.tensor.shape[c.axis]!;
    const free = dimTextSymbols(c.text).filter((s) => !bound.has(s));
    if (free.length === 0 && evaluateDimText(c.text, size) === got) continue;
    const want = formatDeclared(c.decl.dtype, c.decl.shape, bound);
    const why = free.length > 0 ? `, which is ${c.text} for no whole ${free.join(", ")}` : `, not ${c.text} = ${evaluateDimText(c.text, size)}`;
    throw new EstcRuntimeError(
      RuntimeErrorCode.inputMismatch,
      `${spec.name}: input '${c.decl.name}': expected ${want}, got ${formatTensorType(c.tensor.dtype, c.tensor.shape)} — dim ${c.axis} is ${got}${why}`,
    );
  }
}

/**
 * Checks one input against its declaration and binds the shape symbols it introduces; a symbol
 * bound earlier (by this input or one before it) must have the same size. Computed dims go to
 * `computed`, settled once every input has bound its plain symbols.
 */
function bindInput(
  spec: FunctionSpec,
  decl: FunctionSpec["inputs"][number],
  value: unknown,
  bound: Map<string, Binding>,
  computed: ComputedDim[],
): Tensor {
  const mismatch = (code: RuntimeErrorCodeValue, got: string, why = ""): never => {
    const want = formatDeclared(decl.dtype, decl.shape, bound);
    throw new EstcRuntimeError(
      code,
      `${spec.name}: input '${decl.name}': expected ${want}, got ${got}${why}`,
    );
  };
  if (!isTensor(value)) {
    // A parameter without a default is a rank-0 tensor input, not an option: say how to pass it.
    const rank0 = decl.shape.length === 0 && typeof value === "number";
    const how = `; '${decl.name}' has no default in the .est, so it is a rank-0 tensor input: pass scalar(${value}${decl.dtype === "f32" ? "" : `, "${decl.dtype}"`}) (from estc/runtime), or give it a default (${decl.name}: ${decl.dtype} = …) to make it an option`;
    return mismatch(RuntimeErrorCode.inputMismatch, describe(value), rank0 ? how : "");
  }
  if (value.disposed) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.tensorDisposed,
      `${spec.name}: input '${decl.name}' was used after dispose()`,
    );
  }
  const problem = tensorProblem(value);
  if (problem !== undefined) mismatch(RuntimeErrorCode.inputMismatch, "an object that is not a usable tensor", ` — ${problem}; make tensors with tensor() or zeros()`);
  const got = formatTensorType(value.dtype, value.shape);
  if (value.dtype !== decl.dtype) mismatch(RuntimeErrorCode.dtypeMismatch, got);
  if (value.shape.length !== decl.shape.length) {
    mismatch(
      RuntimeErrorCode.inputMismatch,
      got,
      ` — rank ${value.shape.length}, not ${decl.shape.length}`,
    );
  }
  const local = new Map<string, Binding>();
  decl.shape.forEach((dim, axis) => {
    const size = value.shape[axis]!;
    if (isComputedDim(dim)) {
      computed.push({ decl, tensor: value, axis, text: dim });
      return;
    }
    if (typeof dim === "number") {
      if (size !== dim)
        mismatch(RuntimeErrorCode.inputMismatch, got, ` — dim ${axis} must be ${dim}`);
      return;
    }
    const earlier = bound.get(dim) ?? local.get(dim);
    if (earlier === undefined) {
      if (size > 0x7fffffff) {
        mismatch(
          RuntimeErrorCode.badDim,
          got,
          ` — ${dim} = ${size} is larger than a dim can be (2^31 - 1)`,
        );
      }
      local.set(dim, { size, input: decl.name, axis });
    } else if (earlier.size !== size) {
      const from =
        earlier.input === decl.name
          ? `axis ${earlier.axis} of input '${decl.name}'`
          : `input '${earlier.input}'`;
      mismatch(RuntimeErrorCode.inputMismatch, got, ` — ${dim} is ${earlier.size} from ${from}`);
    }
  });
  for (const [dim, binding] of local) bound.set(dim, binding);
  return value;
}

function checkOptions(spec: FunctionSpec, options: unknown): Omit<Call, "tensors" | "dims"> {
  if (
    options !== undefined &&
    (typeof options !== "object" || options === null || Array.isArray(options))
  ) {
    fail(
      CallErrorCode.unknownOption,
      `${spec.name}: options must be an object, got ${describe(options)}`,
    );
  }
  const given = (options ?? {}) as Record<string, unknown>;
  const scalarNames = spec.scalars.map((s) => s.name);
  const known = [...CALL_OPTIONS, ...scalarNames];
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const scalars =
      scalarNames.length === 0
        ? "; it has no scalars"
        : ` and the scalars ${listNames(scalarNames)}`;
    fail(
      CallErrorCode.unknownOption,
      `${spec.name}: unknown option ${quotedKey(key)}${didYouMean(key, known)}; the options are ${listNames(CALL_OPTIONS)}${scalars}`,
    );
  }
  const scalars = Float64Array.from(spec.scalars, (s) => checkScalar(spec, s, own(given, s.name)));
  return {
    scalars,
    seed: checkSeed(spec, own(given, "seed")),
    device: checkDevice(spec, own(given, "device")),
    wrt: checkWrt(spec, own(given, "wrt")),
    checkNumerics: checkFlag(spec, "checkNumerics", own(given, "checkNumerics")),
  };
}

/**
 * `wrt`: the inputs to differentiate with respect to, as places in `spec.gradInputs` (kept in that
 * order, a repeated name once). Every f32 input when absent; `[]` asks for no gradient at all.
 */
function checkWrt(spec: FunctionSpec, wrt: unknown): number[] {
  const all = spec.gradInputs.map((_, i) => i);
  if (wrt === undefined) return all;
  const differentiable =
    spec.gradInputs.length === 0
      ? `${spec.name} has no f32 input`
      : `the f32 inputs are ${listNames(spec.gradInputs)}`;
  if (!Array.isArray(wrt) || !wrt.every((name) => typeof name === "string")) {
    fail(
      CallErrorCode.badWrt,
      `${spec.name}: option 'wrt' must be an array of input names, got ${describe(wrt)}; ${differentiable}`,
    );
  }
  for (const name of wrt as string[]) {
    if (spec.gradInputs.includes(name)) continue;
    const input = spec.inputs.find((i) => i.name === name);
    const why =
      input !== undefined
        ? `input '${name}' is ${input.dtype} and has no gradient`
        : `${quotedKey(name)} is not an input of ${spec.name}${didYouMean(name, spec.gradInputs)}`;
    fail(CallErrorCode.badWrt, `${spec.name}: wrt: ${why}; ${differentiable}`);
  }
  return all.filter((i) => (wrt as string[]).includes(spec.gradInputs[i]!));
}

function checkScalar(
  spec: FunctionSpec,
  scalar: FunctionSpec["scalars"][number],
  value: unknown,
): number {
  if (value === undefined) return scalar.default;
  const bad = (what: string): never =>
    fail(
      CallErrorCode.badScalar,
      `${spec.name}: option '${scalar.name}' must be ${what}, got ${describe(value)}`,
    );
  if (typeof value !== "number" || !Number.isFinite(value))
    return bad(`a finite number (${scalar.dtype})`);
  if (
    scalar.dtype === "i32" &&
    !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31)
  ) {
    return bad("an integer in the i32 range");
  }
  if (scalar.dtype === "bool" && value !== 0 && value !== 1) return bad("0 or 1 (bool)");
  if ((scalar.min !== undefined && value < scalar.min) || (scalar.max !== undefined && value > scalar.max)) {
    const range =
      scalar.min !== undefined && scalar.max !== undefined
        ? `${scalar.min} <= ${scalar.name} <= ${scalar.max}`
        : scalar.min !== undefined
          ? `${scalar.name} >= ${scalar.min}`
          : `${scalar.name} <= ${scalar.max}`;
    fail(
      CallErrorCode.scalarOutOfRange,
      `${spec.name}: option '${scalar.name}' is ${value}, outside its valid range ${range} (required by ${scalar.requiredBy ?? "an estimator"})`,
    );
  }
  return value;
}

function checkFlag(spec: FunctionSpec, name: string, value: unknown): boolean {
  if (value === undefined || typeof value === "boolean") return value === true;
  return fail(CallErrorCode.unknownOption, `${spec.name}: option '${name}' must be true or false, got ${describe(value)}`);
}

function checkSeed(spec: FunctionSpec, seed: unknown): number {
  if (seed === undefined) return 0;
  if (typeof seed === "number" && Number.isSafeInteger(seed) && seed >= 0) return seed;
  throw new EstcRuntimeError(
    RuntimeErrorCode.badRngArgument,
    `${spec.name}: seed must be an integer in [0, 2^53), got ${describe(seed)}`,
  );
}

function checkDevice(spec: FunctionSpec, device: unknown): CpuDevice | WebGpuDevice {
  if (device === undefined) return cpu();
  const kind =
    typeof device === "object" && device !== null ? (device as { kind?: unknown }).kind : undefined;
  // A device is recognised by what the back end calls on it, so `{ kind: "cpu" }` is refused here
  // rather than failing inside a kernel with a TypeError.
  const cpuLike = device as Partial<CpuDevice>;
  if (kind === "cpu" && typeof cpuLike.alloc === "function" && typeof cpuLike.free === "function" && typeof cpuLike.memory === "object") {
    return device as CpuDevice;
  }
  const gpuLike = device as Partial<WebGpuDevice>;
  if (kind === "webgpu" && typeof gpuLike.gpu === "object" && typeof gpuLike.pool === "object" && typeof gpuLike.memory === "object") {
    return device as WebGpuDevice;
  }
  if (kind === "cpu" || kind === "webgpu") {
    fail(
      CallErrorCode.backendUnavailable,
      `${spec.name}: option 'device' has kind '${kind}' but is not a device; pass ${kind === "cpu" ? "cpu()" : "the device from 'await webgpu()'"}`,
    );
  }
  if (typeof kind === "string") {
    fail(
      CallErrorCode.backendUnavailable,
      `${spec.name}: the ${kind} back end is not available yet`,
    );
  }
  return fail(
    CallErrorCode.backendUnavailable,
    `${spec.name}: option 'device' must be a device such as cpu(), got ${describe(device)}`,
  );
}

/** The call with the cotangents added as the vjp plan's `$ct0`, `$ct1`, … inputs. */
export function withCotangents(spec: FunctionSpec, call: Call, cotangent: unknown): Call {
  const list: unknown[] = Array.isArray(cotangent) ? cotangent : [cotangent];
  const count = spec.outputs.length;
  if (list.length !== count) {
    fail(
      CallErrorCode.cotangentMismatch,
      `${spec.name}: vjp takes ${count} cotangent${count === 1 ? "" : "s"} (one per output), got ${list.length}`,
    );
  }
  const tensors = new Map(call.tensors);
  spec.outputs.forEach((output, i) => {
    const ct = list[i];
    const want = formatTensorType(
      "f32",
      output.shape.map((d) =>
        typeof d === "number" ? d : { name: d, size: call.dims[spec.dims.indexOf(d)]! },
      ),
    );
    const which = describePlanInput(`$ct${i}`, count);
    if (isTensor(ct) && ct.disposed) {
      throw new EstcRuntimeError(RuntimeErrorCode.tensorDisposed, `${spec.name}: ${which} was used after dispose()`);
    }
    const problem = isTensor(ct) ? tensorProblem(ct) : undefined;
    if (problem !== undefined) {
      fail(
        CallErrorCode.cotangentMismatch,
        `${spec.name}: ${which}: expected ${want}, got an object that is not a usable tensor — ${problem}; make tensors with tensor() or zeros()`,
      );
    }
    const matches =
      isTensor(ct) &&
      ct.dtype === "f32" &&
      ct.shape.length === output.shape.length &&
      output.shape.every(
        (d, axis) =>
          ct.shape[axis] === (typeof d === "number" ? d : call.dims[spec.dims.indexOf(d)]),
      );
    if (!matches) {
      const got = isTensor(ct) ? formatTensorType(ct.dtype, ct.shape) : describe(ct);
      fail(
        CallErrorCode.cotangentMismatch,
        `${spec.name}: ${which}: expected ${want}, got ${got}`,
      );
    }
    tensors.set(`$ct${i}`, ct);
  });
  return { ...call, tensors };
}

/**
 * `record[key]` if `record` has it as its own property, else undefined: an input or option
 * named `constructor` or `toString` is not found on Object.prototype when the caller left it out.
 */
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Tensors are recognised by shape rather than `instanceof`, so two copies of the runtime interoperate. */
function isTensor(value: unknown): value is Tensor {
  if (typeof value !== "object" || value === null) return false;
  const t = value as Partial<Tensor>;
  return Array.isArray(t.shape) && typeof t.dtype === "string" && "storage" in t;
}

/** `f32[I=3, O]`: a declared type with the symbols bound so far shown with their sizes. */
function formatDeclared(
  dtype: DType,
  shape: readonly Dim[],
  bound: ReadonlyMap<string, Binding>,
): string {
  if (shape.length === 0) return dtype;
  const dims = shape.map((d) => {
    if (typeof d === "number") return String(d);
    const binding = bound.get(d);
    return binding === undefined ? d : `${d}=${binding.size}`;
  });
  return `${dtype}[${dims.join(", ")}]`;
}

/** The declared result type, `f32[B, O]` or `(f32[B], f32)` for a tuple. */
export function resultType(spec: FunctionSpec): string {
  const types = spec.outputs.map((o) => formatDeclared(o.dtype, o.shape, new Map()));
  return spec.tuple ? `(${types.join(", ")})` : types[0]!;
}

/** A short description of any value a caller might have passed, for "got …". */
function describe(value: unknown): string {
  if (isTensor(value)) return formatTensorType(value.dtype, value.shape);
  // Where a tensor was expected, an object's class name says less than that it is not one.
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return "an object that is not a tensor";
  return describeValue(value);
}

function listNames(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(", ");
}

/** ` — did you mean 'w'?` when a known name is a plausible typo of `name`, else "". */
function didYouMean(name: string, known: readonly string[]): string {
  const limit = name.length < 3 ? 0 : Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? "" : ` (did you mean '${best}'?)`;
}

/** Levenshtein distance, small enough for option and input names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Throws with one of the codes in {@link CallErrorCode}. */
export function fail(code: CallErrorCodeValue, message: string): never {
  throw new EstcRuntimeError(code, message);
}
