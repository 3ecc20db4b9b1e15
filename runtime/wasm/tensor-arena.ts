/**
 * CPU tensors in the kernel arena (./arena.ts): the CPU device allocates its arrays as views into
 * the Wasm kernels' memory where that memory is shared (views then survive its growth), so a
 * Wasm kernel reads and writes them in place instead of copying each operand in and out. The
 * views are ordinary Float32Array / Int32Array / Uint8Array objects; `data()` still returns a
 * copy the user owns.
 *
 * A view's block goes back to the arena when the view is garbage-collected (a FinalizationRegistry:
 * the device's pool keeps freed views for reuse, and drops past its limit). Finalizers run from
 * the task queue, so a loop that drops tensors without dispose() and never yields holds their
 * blocks until it does: at most ARENA_TENSOR_BYTES, past which new arrays are made in the JS heap
 * as before (and Wasm kernels copy them). V8 does not count the arena's views as memory pressure,
 * so a GC may not come for a long time; the heap arrays made past the cap do count, bring the GC,
 * and `arenaNearCap()` tells a CPU call to yield one task first so the finalizers it queued run and
 * hand the blocks back. The cap is 256 MiB: with 1 GiB, 400 dropped 1 MiB tensors in such a loop
 * grew the process by 1.1 GB.
 */
import { kernelArena } from "./arena.js";
import { wasmApi } from "./api.js";

/** The most bytes of arena-backed tensor arrays alive at once (256 MiB). */
export const ARENA_TENSOR_BYTES = 2 ** 28;
/** Arrays smaller than this stay in the JS heap: a copy of them costs less than a registration. */
const MIN_BYTES = 4096;

let enabled: boolean | undefined;
let liveBytes = 0;
const registry = new FinalizationRegistry<{ ptr: number; bytes: number }>(({ ptr, bytes }) => {
  kernelArena().free(ptr, bytes);
  liveBytes -= bytes;
});

/** Whether the kernel arena is shared here (Node; cross-origin isolated pages) and so can hold tensors. */
function arenaUsable(): boolean {
  if (enabled !== undefined) return enabled;
  try {
    enabled = wasmApi !== undefined && kernelArena().shared;
  } catch {
    enabled = false;
  }
  return enabled;
}

type ArrayCtor = Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;

/**
 * An array of `size` elements of `type` in the kernel arena (zero-filled unless `zeroed` is
 * false), or undefined where it
 * should live in the JS heap (small, arena unusable or at its cap, memory exhausted).
 */
export function arenaArray<C extends ArrayCtor>(type: C, size: number, zeroed = true): InstanceType<C> | undefined {
  const bytes = size * type.BYTES_PER_ELEMENT;
  if (bytes < MIN_BYTES || liveBytes + bytes > ARENA_TENSOR_BYTES || !arenaUsable()) return undefined;
  const arena = kernelArena();
  const ptr = arena.alloc(bytes);
  if (ptr === undefined) return undefined;
  const view = new type(arena.buffer() as ArrayBuffer, ptr, size) as InstanceType<C>;
  // A block from a free list holds a dead tensor's values.
  if (zeroed) view.fill(0);
  registry.register(view, { ptr, bytes });
  liveBytes += bytes;
  return view;
}

/**
 * Whether arena-backed tensors hold more than 3/4 of ARENA_TENSOR_BYTES: a CPU call then yields one
 * task first, so finalizers of dropped tensors (queued as tasks) can return their blocks.
 */
export function arenaNearCap(): boolean {
  return liveBytes > ARENA_TENSOR_BYTES * 0.75;
}
