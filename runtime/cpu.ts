/**
 * The CPU device: typed arrays in the JS heap. Generated TypeScript kernels loop over these
 * arrays directly; the device allocates them through a byte counter, so CPU and WebGPU runs
 * report memory the same way, and says which matrix-product kernels its plans run on.
 */
import { EstcRuntimeError, quotedKey, RuntimeErrorCode } from "./errors.js";
import { defaultGemmKernels } from "./matmul.js";
import { MemoryStats } from "./memory.js";
import type { DType } from "./tensor.js";
import { wasmSimdAvailable } from "./wasm/gemm.js";
import { arenaArray } from "./wasm/tensor-arena.js";

/**
 * Options of {@link cpu} and {@link createCpuDevice}. `kernels`: "wasm" runs matrix products
 * (and so convolutions) on the f32x4 SIMD WebAssembly kernel, summed in f32; "ts" on the
 * TypeScript loops, summed in f64 and rounded once. Default "wasm" where the engine validates
 * Wasm SIMD, else "ts". `threads`: how many threads a large Wasm product is split over (the
 * calling one and threads - 1 Node worker threads, started on first use and unref'd); default 1.
 */
export interface CpuOptions {
  kernels?: "ts" | "wasm";
  threads?: number;
}

/** The typed array that backs each dtype on the CPU; `bool` is one byte per element (0 or 1). */
export type CpuArray = Float32Array | Int32Array | Uint8Array;

/** Bytes per element of each dtype on the CPU, the unit the memory counters count in. */
export const bytesPerElement: Readonly<Record<DType, number>> = { f32: 4, i32: 4, bool: 1 };

/**
 * A CPU device: allocations are zero-filled typed arrays, counted in `memory`. Arrays the device
 * allocated and got back through `free` are kept in a small pool and handed out again (zeroed)
 * for the next allocation of the same dtype and size, so a training loop does not pay for fresh
 * pages on every call. Arrays it did not allocate (a caller's data) are never pooled.
 */
export interface CpuDevice {
  /** Tells devices apart at run time without `instanceof` across module copies. */
  readonly kind: "cpu";
  /** The device's byte counters. */
  readonly memory: MemoryStats;
  /**
   * A zero-filled array of `size` elements of `dtype`, counted as allocated; with `zeroed` false,
   * one whose contents are unspecified (a pooled array keeps its old values), for a kernel that
   * writes every element.
   */
  alloc(dtype: DType, size: number, zeroed?: boolean): CpuArray;
  /** Counts `array` as given back; the GC reclaims it once nothing refers to it. */
  free(array: CpuArray): void;
  /** The matrix-product kernels this device's plans run on. */
  readonly kernels: "ts" | "wasm";
  /** Threads a large Wasm matrix product is split over (1: the calling thread alone). */
  readonly threads: number;
}

/**
 * A CPU device with counters of its own, for callers (tests, benchmarks) that must not see other
 * code's allocations. Most code wants the shared {@link cpu}.
 */
export function createCpuDevice(poolLimitBytes = 256 * 2 ** 20, options: CpuOptions = {}): CpuDevice {
  const { kernels, threads } = checkCpuOptions(options);
  const memory = new MemoryStats();
  const owned = new WeakSet<CpuArray>();
  const pooled = new WeakSet<CpuArray>();
  const pool = new Map<string, CpuArray[]>();
  let pooledBytes = 0;
  return {
    kind: "cpu",
    memory,
    kernels,
    threads,
    alloc(dtype, size, zeroed = true) {
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new EstcRuntimeError(
          RuntimeErrorCode.badDim,
          `cannot allocate ${size} elements: the size must be a non-negative integer`,
        );
      }
      const reused = pool.get(`${dtype}:${size}`)?.pop();
      let array: CpuArray;
      if (reused !== undefined) {
        pooledBytes -= reused.byteLength;
        pooled.delete(reused);
        array = zeroed ? reused.fill(0) : reused;
      } else {
        array = newCpuArray(dtype, size, zeroed);
        owned.add(array);
      }
      memory.track(array.byteLength);
      return array;
    },
    free(array) {
      memory.release(array.byteLength);
      if (!owned.has(array) || pooled.has(array) || pooledBytes + array.byteLength > poolLimitBytes) return;
      pooled.add(array);
      const key = `${dtypeOfArray(array)}:${array.length}`;
      const list = pool.get(key);
      if (list === undefined) pool.set(key, [array]);
      else list.push(array);
      pooledBytes += array.byteLength;
    },
  };
}

let shared: CpuDevice | undefined;
const variants = new Map<string, CpuDevice>();

/**
 * The process-wide CPU device; one instance so its counters add up every CPU tensor. With
 * options, the same device (same counters, same pool) running its plans on the kernels asked
 * for: `cpu({ kernels: "ts" })`, `cpu({ threads: 2 })`; equal options give the same object.
 */
export function cpu(options?: CpuOptions): CpuDevice {
  shared ??= createCpuDevice();
  if (options === undefined) return shared;
  const { kernels, threads } = checkCpuOptions(options);
  if (kernels === shared.kernels && threads === shared.threads) return shared;
  const key = `${kernels}:${threads}`;
  let device = variants.get(key);
  if (device === undefined) {
    const base = shared;
    device = { kind: "cpu", memory: base.memory, kernels, threads, alloc: (d, n, z) => base.alloc(d, n, z), free: (a) => base.free(a) };
    variants.set(key, device);
  }
  return device;
}

/** `options` with defaults filled in; unknown keys or bad values throw E6012, "wasm" without SIMD E6015. */
function checkCpuOptions(options: CpuOptions): Required<CpuOptions> {
  if (typeof options !== "object" || options === null) {
    throw new EstcRuntimeError(RuntimeErrorCode.unknownOption, `cpu(): options must be an object such as { kernels: "wasm", threads: 2 }`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "kernels" && key !== "threads") {
      throw new EstcRuntimeError(RuntimeErrorCode.unknownOption, `cpu(): unknown option ${quotedKey(key)}; the options are 'kernels' ("ts" | "wasm") and 'threads'`);
    }
  }
  const kernels = options.kernels ?? defaultGemmKernels.kernels;
  if (kernels !== "ts" && kernels !== "wasm") {
    throw new EstcRuntimeError(RuntimeErrorCode.unknownOption, `cpu(): option 'kernels' must be "ts" or "wasm", got ${JSON.stringify(kernels)}`);
  }
  if (kernels === "wasm" && !wasmSimdAvailable) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.backendUnavailable,
      `cpu(): kernels "wasm" need WebAssembly SIMD, which this engine does not validate; use kernels "ts" (the default here)`,
    );
  }
  const threads = options.threads ?? defaultGemmKernels.threads;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new EstcRuntimeError(RuntimeErrorCode.unknownOption, `cpu(): option 'threads' must be an integer from 1 to 64, got ${String(threads)}`);
  }
  return { kernels, threads };
}

function dtypeOfArray(a: CpuArray): DType {
  return a instanceof Float32Array ? "f32" : a instanceof Int32Array ? "i32" : "bool";
}

/** The zero-filled typed array of the type that backs `dtype`. */
function newCpuArray(dtype: DType, size: number, zeroed = true): CpuArray {
  try {
    switch (dtype) {
      // In the Wasm kernels' arena where it is shared (./wasm/tensor-arena.ts), else the JS heap.
      case "f32":
        return arenaArray(Float32Array, size, zeroed) ?? new Float32Array(size);
      case "i32":
        return arenaArray(Int32Array, size, zeroed) ?? new Int32Array(size);
      case "bool":
        return arenaArray(Uint8Array, size, zeroed) ?? new Uint8Array(size);
    }
  } catch (e) {
    // V8 refuses arrays past its length limit, or memory it cannot get, with a RangeError.
    if (!(e instanceof RangeError)) throw e;
    throw new EstcRuntimeError(
      RuntimeErrorCode.limitExceeded,
      `cannot allocate ${size} ${dtype} elements (${size * bytesPerElement[dtype]} bytes) on the cpu: ${e.message}; the JS heap's largest typed array is about 2^32 elements (less when memory is short)`,
    );
  }
}
