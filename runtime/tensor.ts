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

/** A dense, row-major tensor. Immutable from the user's side: reads return copies. */
export class Tensor {
  /** Dims, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements, the product of `shape`. */
  readonly size: number;
  #storage: TensorStorage | null;

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

  /** Gives the memory back to its device's counters now; calling it twice is harmless. */
  dispose(): void {
    const storage = this.#storage;
    if (storage === null) return;
    this.#storage = null;
    if (storage.kind === "cpu") storage.device.free(storage.array);
    else storage.free();
  }
}

/**
 * A cpu tensor holding a copy of `data` (later writes to `data` do not reach it). The dtype
 * follows the array type — Float32Array is f32, Int32Array is i32, Uint8Array is bool — and a
 * plain array is f32 unless `dtype` says otherwise.
 */
export function tensor(
  data: Float32Array | Int32Array | Uint8Array | readonly number[],
  shape: readonly number[],
  dtype?: DType,
): Tensor {
  const resolved = resolveDType(data, dtype);
  const size = checkedSize(shape);
  if (data.length !== size) throw lengthMismatch(data.length, shape);
  if (Array.isArray(data)) checkRepresentable(data, resolved);
  const device = cpu();
  const array = device.alloc(resolved, size);
  array.set(data as ArrayLike<number>);
  return new Tensor(shape, resolved, { kind: "cpu", device, array });
}

/** A zero-filled cpu tensor; the usual start for an accumulator or an output. */
export function zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
  const size = checkedSize(shape);
  const device = cpu();
  return new Tensor(shape, dtype, { kind: "cpu", device, array: device.alloc(dtype, size) });
}

/** A rank-0 cpu tensor, how runtime scalars (`o`, a loss) travel between modules. */
export function scalar(value: number, dtype: DType = "f32"): Tensor {
  return tensor([value], [], dtype);
}

/** The element count of `shape`, after checking each dim (E6002). */
function checkedSize(shape: readonly number[]): number {
  let size = 1;
  shape.forEach((dim, axis) => {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new EstcRuntimeError(
        RuntimeErrorCode.badDim,
        `dim ${axis} of shape [${shape.join(", ")}] is ${dim}; dims must be non-negative integers`,
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

/** The dtype a typed array implies; an explicit dtype may only repeat it (E6005). */
function resolveDType(
  data: Float32Array | Int32Array | Uint8Array | readonly number[],
  dtype?: DType,
): DType {
  if (Array.isArray(data)) return dtype ?? "f32";
  const implied = dtypeOfArray(data as CpuArray);
  if (dtype !== undefined && dtype !== implied) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.dtypeMismatch,
      `dtype '${dtype}' was given for a ${data.constructor.name}, which holds ${implied}`,
    );
  }
  return implied;
}

/** The dtype whose cpu storage is `array`'s type. */
function dtypeOfArray(array: CpuArray): DType {
  return array instanceof Float32Array ? "f32" : array instanceof Int32Array ? "i32" : "bool";
}

/** Plain numbers must fit the dtype exactly; a silent truncation (1.5 → 1 as i32) hides a bug. */
function checkRepresentable(data: readonly number[], dtype: DType): void {
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
