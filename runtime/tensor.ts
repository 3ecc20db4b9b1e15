/**
 * Tensor: a shape, a dtype and storage on one device. The storage is either a typed array in the
 * JS heap (cpu) or an opaque handle a device back end owns (webgpu), so generated modules pass
 * tensors between back ends without knowing which one holds the bytes.
 */
import { type CpuArray, type CpuDevice, cpu } from "./cpu.js";
import { EstcRuntimeError, RuntimeErrorCode, formatTensorType } from "./errors.js";

/** Element types, as the `.est` language names them; `bool` is stored as 0/1 bytes on the CPU. */
export type DType = "f32" | "i32" | "bool";

/** Storage in the JS heap, read and written in place by generated TypeScript kernels. */
export interface CpuStorage {
  readonly kind: "cpu";
  /** The device that allocated `array`, so `dispose` gives the bytes back to the right counter. */
  readonly device: CpuDevice;
  readonly array: CpuArray;
}

/** Storage owned by a device back end; only that back end knows what `handle` is. */
export interface DeviceStorage {
  readonly kind: "device";
  /** The device's name (`webgpu`), shown to users and in errors. */
  readonly device: string;
  /** The back end's own buffer object. */
  readonly handle: unknown;
  /** Copies the elements back to the JS heap (a GPU readback is asynchronous). */
  read(): Promise<CpuArray>;
  /** Returns the buffer to the back end (its pool), counted there. */
  free(): void;
}

/** Where a tensor's elements live. */
export type TensorStorage = CpuStorage | DeviceStorage;

/**
 * What gives a tensor's memory back, shared by the tensor, the calls that hold it and the
 * finalizer, and referring to the storage only (never to the tensor, or it could not be collected).
 */
interface Lease {
  /** The storage until it is freed. */
  storage: TensorStorage | null;
  /** Calls reading the storage right now; a free waits until the last one lets go. */
  holds: number;
  /** Set by a dispose or a collection during a hold: the last release frees. */
  freeOnRelease: boolean;
}

/** Frees a lease's storage once. A finalizer must not throw, so a failing free is dropped there. */
function freeLease(lease: Lease): void {
  const storage = lease.storage;
  if (storage === null) return;
  lease.storage = null;
  if (storage.kind === "cpu") storage.device.free(storage.array);
  else storage.free();
}

/**
 * What the GC's finalizer gets back for a tensor the program dropped without `dispose()`: for
 * WebGPU storage the lease (its buffer must be freed explicitly); for CPU storage only the device
 * and the byte count, never the array, so the array is garbage as soon as the tensor is. A CPU
 * training loop whose awaits all settle at once never yields to the task queue where finalizers
 * run, and a finalizer holding the array would keep every dropped tensor's memory alive until then.
 */
type Collected = Lease | { readonly cpu: CpuDevice; readonly bytes: number };

/**
 * Returns the memory of tensors the program dropped without `dispose()` (a training loop that
 * never disposes, the quickstart's): once the GC collects the tensor, a WebGPU buffer goes back to
 * its device's pool and counters, a CPU array is reclaimed by the GC itself and its bytes leave the
 * counters. When is up to the GC, so `dispose()` stays the way to free at once.
 */
const collected = new FinalizationRegistry<Collected>((held) => {
  try {
    if ("cpu" in held) {
      held.cpu.memory.release(held.bytes);
      return;
    }
    if (held.holds > 0) {
      held.freeOnRelease = true;
      return;
    }
    freeLease(held);
  } catch {
    // A tensor wrapped around memory no device counted (a hand-made CpuStorage) has nothing to give back.
  }
});

/** A dense, row-major tensor. Immutable from the user's side: reads return copies. */
export class Tensor {
  /** Dims, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements, the product of `shape`. */
  readonly size: number;
  #storage: TensorStorage | null;
  readonly #lease: Lease;

  /**
   * Wraps existing storage; runtime and generated code use this, users call {@link tensor}.
   * The shape is checked here so no tensor with an impossible shape can exist.
   */
  constructor(shape: readonly number[], dtype: DType, storage: TensorStorage) {
    this.size = checkedSize(shape);
    if (storage.kind === "cpu") {
      if (storage.array.length !== this.size) throw lengthMismatch(storage.array.length, shape);
      if (dtypeOfArray(storage.array) !== dtype) {
        throw new EstcRuntimeError(
          RuntimeErrorCode.dtypeMismatch,
          `a ${dtype} tensor cannot be backed by a ${storage.array.constructor.name}`,
        );
      }
    }
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.#storage = storage;
    this.#lease = { storage, holds: 0, freeOnRelease: false };
    const held: Collected = storage.kind === "cpu" ? { cpu: storage.device, bytes: storage.array.byteLength } : this.#lease;
    collected.register(this, held, this.#lease);
  }

  /**
   * Keeps the storage alive while a call reads it, even if the tensor is disposed (or collected)
   * meanwhile: the memory is given back when the returned function, the end of the hold, runs.
   * The runtime holds every input of a WebGPU call from its checks until its commands are
   * submitted, so an input disposed during the call's awaits is never reused by another call
   * before this one has read it. Calling the returned function twice is harmless.
   */
  hold(): () => void {
    const storage = this.storage;
    const lease = this.#lease;
    if (lease.storage !== storage) return () => undefined;
    lease.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      lease.holds--;
      if (lease.holds === 0 && lease.freeOnRelease) freeLease(lease);
    };
  }

  /** The name of the device holding the elements (`cpu`, `webgpu`). */
  get device(): string {
    const storage = this.storage;
    return storage.kind === "cpu" ? "cpu" : storage.device;
  }

  /** Whether `dispose()` has run; a disposed tensor can no longer be read. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /**
   * The storage itself, not a copy, for kernels that read or write it in place. Users should
   * read through `data()`, which cannot alias a kernel's buffer.
   */
  get storage(): TensorStorage {
    if (this.#storage === null) {
      throw new EstcRuntimeError(
        RuntimeErrorCode.tensorDisposed,
        `a ${formatTensorType(this.dtype, this.shape)} tensor was used after dispose()`,
      );
    }
    return this.#storage;
  }

  /** A copy of the elements, read back from the device if needed. */
  async data(): Promise<CpuArray> {
    const storage = this.storage;
    if (storage.kind === "cpu") return storage.array.slice();
    return storage.read();
  }

  /** A copy of the elements of a cpu-resident tensor, without awaiting. */
  dataSync(): CpuArray {
    const storage = this.storage;
    if (storage.kind !== "cpu") {
      throw new EstcRuntimeError(
        RuntimeErrorCode.notCpuResident,
        `dataSync() on a tensor that lives on '${storage.device}'; use 'await tensor.data()'`,
      );
    }
    return storage.array.slice();
  }

  /**
   * Gives the memory back to its device's counters now — or, while a call still reads it, as soon
   * as that call has (see {@link hold}); calling it twice is harmless.
   */
  dispose(): void {
    if (this.#storage === null) return;
    this.#storage = null;
    collected.unregister(this.#lease);
    if (this.#lease.holds > 0) this.#lease.freeOnRelease = true;
    else freeLease(this.#lease);
  }
}

/**
 * A cpu tensor holding a copy of `data` (later writes to `data` do not reach it). The dtype
 * follows the array type — Float32Array is f32, Int32Array is i32, a Uint8Array of 0s and 1s is
 * bool — and a plain array of numbers is f32 unless `dtype` says otherwise; that is the only
 * conversion made. Any other data (a Float64Array, an Int16Array, strings, a sparse array) is
 * E6021 with the conversion to write (`Float32Array.from(x)`): a silent reinterpretation would
 * turn 0.5 into a bool.
 */
export function tensor(
  data: Float32Array | Int32Array | Uint8Array | readonly number[],
  shape: readonly number[],
  dtype?: DType,
): Tensor {
  const size = checkedSize(shape);
  const resolved = resolveDType(data, dtype);
  if (data.length !== size) throw lengthMismatch(data.length, shape);
  if (Array.isArray(data)) checkRepresentable(data, resolved);
  else if (resolved === "bool") checkBoolBytes(data as Uint8Array);
  const device = cpu();
  const array = device.alloc(resolved, size);
  array.set(data as ArrayLike<number>);
  return new Tensor(shape, resolved, { kind: "cpu", device, array });
}

/** A zero-filled cpu tensor; the usual start for an accumulator or an output. */
export function zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
  const size = checkedSize(shape);
  checkDType(dtype);
  const device = cpu();
  return new Tensor(shape, dtype, { kind: "cpu", device, array: device.alloc(dtype, size) });
}

/** A rank-0 cpu tensor, how runtime scalars (`o`, a loss) travel between modules. */
export function scalar(value: number, dtype: DType = "f32"): Tensor {
  return tensor([value], [], dtype);
}

/**
 * Why `t`, an object with a tensor's fields that has not been disposed, cannot be read as one, or
 * undefined when it can. Calls recognise tensors by shape (two copies of the runtime may meet), so
 * a hand-made `{ shape, dtype, storage }` whose array is shorter than its shape, or of another
 * type, is caught here rather than read past its end as NaN.
 */
export function tensorProblem(t: Tensor): string | undefined {
  const dims: unknown = t.shape;
  if (!Array.isArray(dims) || !dims.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    return "its shape is not an array of non-negative integers";
  }
  const size = dims.reduce((n: number, d: number) => n * d, 1);
  if (t.dtype !== "f32" && t.dtype !== "i32" && t.dtype !== "bool") return `its dtype ${describeValue(t.dtype)} is not f32, i32 or bool`;
  if (t.size !== size) return `its size ${describeValue(t.size)} is not the product of its shape (${size})`;
  const storage: unknown = t.storage;
  if (typeof storage !== "object" || storage === null) return "it has no storage";
  const { kind, array, read, free } = storage as { kind?: unknown; array?: CpuArray; read?: unknown; free?: unknown };
  if (kind === "cpu") {
    if (array === undefined || dtypeOfArray(array) !== t.dtype) return `its storage is ${describeValue(array)}, not the typed array of a ${t.dtype} tensor`;
    if (array.length !== size) return `its storage holds ${array.length} elements, its shape ${size}`;
    return undefined;
  }
  if (kind === "device" && typeof read === "function" && typeof free === "function") return undefined;
  return "its storage is neither a cpu array nor a device buffer";
}

/** The element count of `shape`, after checking each dim (E6002). */
function checkedSize(shape: readonly number[]): number {
  if (!Array.isArray(shape)) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.badDim,
      `a shape must be an array of dims such as [2, 3], got ${describeValue(shape)}`,
    );
  }
  let size = 1;
  shape.forEach((dim: unknown, axis) => {
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      throw new EstcRuntimeError(
        RuntimeErrorCode.badDim,
        `dim ${axis} of shape [${shape.map(describeValue).join(", ")}] is ${describeValue(dim)}; dims must be non-negative integers`,
      );
    }
    size *= dim;
  });
  if (!Number.isSafeInteger(size)) {
    const message = `shape [${shape.join(", ")}] has more elements than an index can address`;
    throw new EstcRuntimeError(RuntimeErrorCode.badDim, message);
  }
  return size;
}

function lengthMismatch(length: number, shape: readonly number[]): EstcRuntimeError {
  return new EstcRuntimeError(
    RuntimeErrorCode.shapeLengthMismatch,
    `data has ${length} elements but shape [${shape.join(", ")}] holds ${checkedSize(shape)}`,
  );
}

/** The dtype `data` implies; an explicit dtype may only repeat a typed array's (E6005). */
function resolveDType(
  data: Float32Array | Int32Array | Uint8Array | readonly number[],
  dtype?: DType,
): DType {
  if (dtype !== undefined) checkDType(dtype);
  if (Array.isArray(data)) return dtype ?? "f32";
  const implied = ArrayBuffer.isView(data) ? dtypeOfArray(data as CpuArray) : undefined;
  if (implied === undefined) throw unsupportedData(data);
  if (dtype !== undefined && dtype !== implied) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.dtypeMismatch,
      `dtype '${dtype}' was given for a ${data.constructor.name}, which holds ${implied}`,
    );
  }
  return implied;
}

/** E6005 for a dtype that is not one of the language's three. */
function checkDType(dtype: unknown): asserts dtype is DType {
  if (dtype === "f32" || dtype === "i32" || dtype === "bool") return;
  throw new EstcRuntimeError(
    RuntimeErrorCode.dtypeMismatch,
    `dtype ${describeValue(dtype)} is not one of 'f32', 'i32', 'bool'`,
  );
}

/**
 * The dtype whose cpu storage is `array`'s exact type, or undefined for any other array (a
 * Float64Array or a Uint8ClampedArray is not an instance of the three, so it is not mistaken
 * for bool).
 */
export function dtypeOfArray(array: unknown): DType | undefined {
  if (array instanceof Float32Array) return "f32";
  if (array instanceof Int32Array) return "i32";
  if (array instanceof Uint8Array && !(array instanceof Uint8ClampedArray)) return "bool";
  return undefined;
}

/** E6021 for data of a type `tensor()` does not take, naming the conversion that fits it. */
function unsupportedData(data: unknown): EstcRuntimeError {
  const name = ArrayBuffer.isView(data) ? data.constructor.name : undefined;
  const convert =
    name === undefined
      ? "pass a Float32Array, an Int32Array, a Uint8Array or an array of numbers"
      : /^Big/.test(name)
        ? `convert it with Int32Array.from(x, Number) (i32) or Float32Array.from(x, Number) (f32)`
        : /^(Float|Uint8Clamped)/.test(name)
          ? `convert it with Float32Array.from(x) (f32, rounding to the nearest f32)`
          : `convert it with Int32Array.from(x) (i32) or Float32Array.from(x) (f32)`;
  return new EstcRuntimeError(
    RuntimeErrorCode.badTensorData,
    `tensor() takes a Float32Array (f32), an Int32Array (i32), a Uint8Array of 0/1 (bool) or an array of numbers, got ${name === undefined ? describeValue(data) : `a ${name}`}; ${convert}`,
  );
}

/** A Uint8Array is bool storage: a byte other than 0 or 1 is not a bool (E6021). */
function checkBoolBytes(data: Uint8Array): void {
  const index = data.findIndex((v) => v > 1);
  if (index < 0) return;
  throw new EstcRuntimeError(
    RuntimeErrorCode.badTensorData,
    `element ${index} of the Uint8Array is ${data[index]}; a Uint8Array is a bool tensor and holds only 0 and 1 (for flags, Uint8Array.from(x, (v) => (v ? 1 : 0)); for numbers, Float32Array.from(x))`,
  );
}

/** A short description of any value, for "got …". */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case "number":
      return String(value);
    case "string":
      // JSON escapes C0 controls; a message must not carry line separators, bidi controls or C1 either.
      return JSON.stringify(value).replace(/[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    case "undefined":
      return "undefined";
    case "object":
      return `a ${(value as object).constructor?.name ?? "object"}`;
    default:
      return `a ${typeof value}`;
  }
}

/**
 * Plain arrays hold numbers (E6021 for anything else, a hole included) that fit the dtype exactly
 * (E6005): a silent truncation (1.5 → 1 as i32) hides a bug.
 */
function checkRepresentable(data: readonly number[], dtype: DType): void {
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v === "number") continue;
    throw new EstcRuntimeError(
      RuntimeErrorCode.badTensorData,
      `element ${i} of the array is ${i in data ? describeValue(v) : "a hole"}; tensor() takes numbers (convert with Number(x) or Float32Array.from(x, Number))`,
    );
  }
  if (dtype === "f32") return;
  const fits =
    dtype === "i32"
      ? (v: number) => Number.isInteger(v) && v >= -2147483648 && v <= 2147483647
      : (v: number) => v === 0 || v === 1;
  const index = data.findIndex((v) => !fits(v));
  if (index >= 0) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.dtypeMismatch,
      `element ${index} is ${data[index]}, which is not a${dtype === "i32" ? "n i32" : " bool (0 or 1)"}`,
    );
  }
}
