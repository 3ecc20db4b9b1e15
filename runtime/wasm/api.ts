/**
 * The few WebAssembly JS API types the runtime uses, declared here because the project compiles
 * against ES2023 and Node's types only (no DOM lib, which is where TypeScript declares them).
 */

/** A compiled module: cloneable to a worker, instantiated once per thread. */
export interface WasmModule {
  readonly __wasmModule?: never;
}

/** A linear memory; `shared` memories are backed by a SharedArrayBuffer. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

/** The global `WebAssembly` object, as far as the runtime uses it. */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** `globalThis.WebAssembly`, or undefined in an engine without it. */
export const wasmApi: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Whether a shared WebAssembly.Memory can be made here (Node; cross-origin isolated pages). */
export function sharedMemoryAvailable(): boolean {
  try {
    new wasmApi!.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}
