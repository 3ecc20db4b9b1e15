/**
 * The memory generated Wasm kernels run on: one WebAssembly.Memory per JS thread (shared where
 * the engine allows, so views into it stay valid when it grows and workers can join), with a
 * small block allocator. Blocks are 64-byte aligned and rounded up to 64 bytes, so a kernel's
 * vector tail read past a buffer's end (at most 12 bytes) stays inside memory; freed blocks are
 * kept on exact-size free lists and handed out again, since a training loop asks for the same
 * sizes every step.
 */
import { sharedMemoryAvailable, wasmApi, type WasmMemory } from "./api.js";

/** The most 64 KiB pages the memory may grow to (4 GiB); the modules declare the same maximum. */
export const ARENA_MAX_PAGES = 65536;
const PAGE = 65536;
/** Bytes at the bottom no block uses (address 0 stays a null pointer). */
const BASE = 64;

/** The kernel memory and its allocator. */
export interface KernelArena {
  readonly memory: WasmMemory;
  /** Whether `memory` is backed by a SharedArrayBuffer (views survive growth). */
  readonly shared: boolean;
  /** A block of at least `bytes` bytes (its address), or undefined when memory cannot grow that far. */
  alloc(bytes: number): number | undefined;
  /** Gives back the block at `ptr` that `alloc(bytes)` returned. */
  free(ptr: number, bytes: number): void;
  /** The memory's current buffer (a new object after growth). */
  buffer(): ArrayBuffer | SharedArrayBuffer;
  /** Whether `a` is a view into this memory (so a kernel can read it in place at `a.byteOffset`). */
  owns(a: ArrayBufferView): boolean;
  /** Bytes of memory below the allocator's high-water mark (blocks in use or on free lists). */
  readonly reservedBytes: number;
}

const align = (bytes: number) => Math.max(64, Math.ceil(bytes / 64) * 64);


let arena: KernelArena | undefined;

/** This thread's kernel arena, made on first use (Wasm must be available). */
export function kernelArena(): KernelArena {
  if (arena !== undefined) return arena;
  const shared = sharedMemoryAvailable();
  const memory = new wasmApi!.Memory({ initial: 16, maximum: ARENA_MAX_PAGES, shared });
  const buffers = new WeakSet<ArrayBuffer | SharedArrayBuffer>();
  const freeLists = new Map<number, number[]>();
  let top = BASE;
  const buffer = () => {
    const b = memory.buffer;
    buffers.add(b);
    return b;
  };
  arena = {
    memory,
    shared,
    alloc(bytes) {
      const size = align(bytes);
      const reused = freeLists.get(size)?.pop();
      if (reused !== undefined) return reused;
      const end = top + size;
      const have = memory.buffer.byteLength;
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        if (have / PAGE + pages > ARENA_MAX_PAGES) return undefined;
        try {
          // Grow by at least an eighth, so a run of allocations does not grow page by page.
          memory.grow(Math.min(ARENA_MAX_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 8))));
        } catch {
          return undefined;
        }
      }
      const ptr = top;
      top = end;
      return ptr;
    },
    free(ptr, bytes) {
      const size = align(bytes);
      const list = freeLists.get(size);
      if (list === undefined) freeLists.set(size, [ptr]);
      else list.push(ptr);
    },
    buffer,
    owns(a) {
      const b = a.buffer;
      // A non-shared memory's old buffers are detached by growth: only the current one counts.
      return b === memory.buffer || (shared && buffers.has(b));
    },
    get reservedBytes() {
      return top;
    },
  };
  return arena;
}

/**
 * Calls `run` with the arena addresses of `arrays`: in place where the arena holds one, else a
 * temporary block of its size plus `slack` bytes, filled before `run` unless `isWrite(i)`, and
 * copied back after `run` if so. False (and `run` not called) when the arena cannot hold them.
 * Copies are bytes: a packed bool buffer is an Int32Array of words, not numbers to convert.
 * `run` may make views of `arena.buffer()`: nothing is allocated between the copies and it.
 */
export function stageInArena(arena: KernelArena, arrays: readonly ArrayBufferView[], isWrite: (i: number) => boolean, slack: number, run: (ptrs: number[]) => void): boolean {
  const temps: { ptr: number; array: ArrayBufferView; write: boolean }[] = [];
  try {
    const ptrs: number[] = [];
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i]!;
      if (arena.owns(a)) {
        ptrs.push(a.byteOffset);
        continue;
      }
      const ptr = arena.alloc(a.byteLength + slack);
      if (ptr === undefined) return false;
      temps.push({ ptr, array: a, write: isWrite(i) });
      ptrs.push(ptr);
    }
    const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const buffer = arena.buffer();
    for (const t of temps) if (!t.write) new Uint8Array(buffer, t.ptr, t.array.byteLength).set(bytesOf(t.array));
    run(ptrs);
    const after = arena.buffer();
    for (const t of temps) if (t.write) bytesOf(t.array).set(new Uint8Array(after, t.ptr, t.array.byteLength));
    return true;
  } finally {
    for (const t of temps) arena.free(t.ptr, t.array.byteLength + slack);
  }
}
