/**
 * The CPU device: typed arrays in the JS heap. Generated TypeScript kernels loop over these
 * arrays directly; the device's only job is to allocate them through a byte counter, so CPU and
 * WebGPU runs report memory the same way.
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";
import { MemoryStats } from "./memory.js";
import type { DType } from "./tensor.js";

/** The typed array that backs each dtype on the CPU; `bool` is one byte per element (0 or 1). */
export type CpuArray = Float32Array | Int32Array | Uint8Array;

/** Bytes per element of each dtype on the CPU, the unit the memory counters count in. */
export const bytesPerElement: Readonly<Record<DType, number>> = { f32: 4, i32: 4, bool: 1 };

/** A CPU device: allocations are zero-filled typed arrays, counted in `memory`. */
export interface CpuDevice {
  /** Tells devices apart at run time without `instanceof` across module copies. */
  readonly kind: "cpu";
  /** The device's byte counters. */
  readonly memory: MemoryStats;
  /** A zero-filled array of `size` elements of `dtype`, counted as allocated. */
  alloc(dtype: DType, size: number): CpuArray;
  /** Counts `array` as given back; the GC reclaims it once nothing refers to it. */
  free(array: CpuArray): void;
}

/**
 * A CPU device with counters of its own, for callers (tests, benchmarks) that must not see other
 * code's allocations. Most code wants the shared {@link cpu}.
 */
export function createCpuDevice(): CpuDevice {
  const memory = new MemoryStats();
  return {
    kind: "cpu",
    memory,
    alloc(dtype, size) {
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new EstcRuntimeError(
          RuntimeErrorCode.badDim,
          `cannot allocate ${size} elements: the size must be a non-negative integer`,
        );
      }
      const array = newCpuArray(dtype, size);
      memory.track(array.byteLength);
      return array;
    },
    free(array) {
      memory.release(array.byteLength);
    },
  };
}

let shared: CpuDevice | undefined;

/** The process-wide CPU device; one instance so its counters add up every CPU tensor. */
export function cpu(): CpuDevice {
  shared ??= createCpuDevice();
  return shared;
}

/** The zero-filled typed array of the type that backs `dtype`. */
function newCpuArray(dtype: DType, size: number): CpuArray {
  switch (dtype) {
    case "f32":
      return new Float32Array(size);
    case "i32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}
