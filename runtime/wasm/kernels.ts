/**
 * Runs a generated fn's Wasm kernels (compiler/codegen/wasm/): decodes and compiles the fn's
 * module on its first CPU call, instantiates it on this thread's kernel arena (./arena.ts), and
 * calls kernel i with its operands' addresses. An operand already in the arena (a tensor the CPU
 * device allocated there) is read and written in place; any other array is copied into a
 * temporary block and, for outputs, back.
 */
import type { CpuArray } from "../cpu.js";
import type { FunctionSpec } from "../plan.js";
import { resolveShape } from "../plan-buffers.js";
import { philoxKey } from "../philox.js";
import { wasmApi, type WasmModule } from "./api.js";
import { kernelArena, stageInArena, type KernelArena } from "./arena.js";

/** A compiled Wasm kernel of a fn: `(n, uniforms, ...buffers) => void`. */
type WasmKernelFn = (...args: number[]) => void;

const instances = new WeakMap<FunctionSpec, (WasmKernelFn | undefined)[]>();
const pending = new WeakSet<FunctionSpec>();

/** The bytes of base64 `text` (atob-free, so it needs neither Buffer nor the DOM). */
export function fromBase64(text: string): Uint8Array {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    acc = (acc << 6) | abc.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * The module's memory import is declared shared (flags 0x03); where this engine's memory is not
 * shared, the flags byte is patched to 0x01 so the import matches.
 */
function matchMemory(bytes: Uint8Array, shared: boolean): Uint8Array {
  if (shared) return bytes;
  const name = [0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02];
  // (The memory is the first import, so the pattern is found before any function body.)
  for (let i = 0; i + name.length < bytes.length; i++) {
    if (name.every((b, k) => bytes[i + k] === b)) {
      const out = bytes.slice();
      out[i + name.length] = 0x01;
      return out;
    }
  }
  return bytes;
}

/** A fn's kernels: undefined while its module is being compiled asynchronously. */
function kernelsOf(spec: FunctionSpec, arena: KernelArena): (WasmKernelFn | undefined)[] | undefined {
  const known = instances.get(spec);
  if (known !== undefined) return known;
  if (pending.has(spec)) return undefined;
  const api = wasmApi!;
  const bytes = matchMemory(fromBase64(spec.wasm!.module), arena.shared);
  const imports = { env: { memory: arena.memory, pow: Math.pow } };
  const instantiate = (module: WasmModule) => {
    const exports = new api.Instance(module, imports).exports;
    const fns = spec.wasm!.kernels.map((k, i) => (k === null ? undefined : (exports[`k${i}`] as WasmKernelFn)));
    instances.set(spec, fns);
    return fns;
  };
  try {
    return instantiate(new api.Module(bytes));
  } catch {
    // A browser's main thread refuses to compile a module over 4 KB synchronously: it is
    // compiled in the background, and the TS kernels run until it is ready.
    const compile = (api as { compile?: (b: Uint8Array) => Promise<WasmModule> }).compile;
    if (compile === undefined) {
      instances.set(spec, []);
      return [];
    }
    pending.add(spec);
    compile.call(api, bytes).then(
      (m) => instantiate(m),
      () => instances.set(spec, []),
    ).finally(() => pending.delete(spec));
    return undefined;
  }
}

/** Whether kernel `index` of `spec` has a Wasm form this engine can run. */
export function hasWasmKernel(spec: FunctionSpec, index: number): boolean {
  return wasmApi !== undefined && (spec.wasm?.kernels[index] ?? null) !== null;
}

/**
 * Runs kernel `index` of `spec` on Wasm over `arrays` (its reads, then its writes), or returns
 * false when the arena cannot hold its operands or the module is not compiled (yet): the caller
 * runs the TS kernel. The uniform block holds the scalars (scalar k at 4k), then the Philox key
 * of `seed` (low word, high word), which the kernels that draw read, then the fn's dims (i32, in
 * `dims`' order: a mean's divisor); the loop shape's dims (i32, dim a at −4·(rank − a): a
 * reduction's input, a broadcasting kernel's loop) come before the scalars.
 */
export function runWasmKernel(spec: FunctionSpec, index: number, arrays: readonly CpuArray[], dims: Int32Array, scalars: Float64Array, seed: number): boolean {
  const arena = kernelArena();
  const info = spec.wasm!.kernels[index]!;
  const fn = kernelsOf(spec, arena)?.[index];
  if (fn === undefined) return false;
  const shape = resolveShape(spec, { dtype: "f32", shape: info.shape }, dims);
  const n = shape.reduce((p, d) => p * d, 1);
  // The loop's dims go just below the scalars (a reduction, compiler/codegen/wasm/reduce.ts, and a
  // broadcasting kernel, strided.ts, read them); the Philox key (2 words) follows the scalars.
  const rank = shape.length;
  const uniformBytes = 4 * (rank + scalars.length) + 8 + 4 * dims.length;
  const block = arena.alloc(uniformBytes);
  if (block === undefined) return false;
  const uniforms = block + 4 * rank;
  try {
    return stageInArena(arena, arrays, (i) => i >= info.reads, 0, (ptrs) => {
      // Views made after every allocation: growth replaces (or, unshared, detaches) the buffer.
      const buffer = arena.buffer();
      const f32 = new Float32Array(buffer, uniforms, scalars.length);
      const i32 = new Int32Array(buffer, uniforms, scalars.length + 2 + dims.length);
      new Int32Array(buffer, block, rank).set(shape.slice(0, rank));
      spec.scalars.forEach((s, k) => {
        if (s.dtype === "i32") i32[k] = scalars[k]! | 0;
        else f32[k] = scalars[k]!;
      });
      const [k0, k1] = philoxKey(seed);
      i32[scalars.length] = k0 | 0;
      i32[scalars.length + 1] = k1 | 0;
      i32.set(dims, scalars.length + 2);
      fn(n, uniforms, ...ptrs);
    });
  } finally {
    arena.free(block, uniformBytes);
  }
}
