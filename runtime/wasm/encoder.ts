/**
 * A small WebAssembly binary encoder: enough of the format (types, one imported memory,
 * functions, exports, structured control flow, i32 and f32x4 SIMD instructions) to write the
 * CPU back end's kernels by hand. No dependency: binaryen (over 100 MB, ~1 s to load) and
 * AssemblyScript are too heavy for a runtime that also ships to browsers, and what a kernel needs
 * is a few dozen opcodes. Encoding a module takes microseconds.
 *
 * Reference: the WebAssembly core spec §5 (binary format) and the SIMD proposal's opcode table.
 */

/** A value type's byte in the binary format. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128, the format's encoding of counts, indices and sizes. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, the encoding of `i32.const` immediates. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A name: its UTF-8 byte count, then the bytes. */
export function utf8(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: its element count, then the elements' bytes. */
export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A module section: its id, its byte count, then the body. */
export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * One function body under construction: locals are declared up front by `local(type)` and the
 * instruction methods append bytes. Methods return `this` so a kernel reads as a sequence.
 */
export class FunctionBuilder {
  private readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  /** `params` are the function's parameter types: locals 0..params.length-1. */
  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[] = []) {}

  /** A fresh local of `type`; its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** Raw instruction bytes. */
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  /** A SIMD instruction: the 0xfd prefix and its LEB128 opcode, then immediates. */
  simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...immediates);
  }

  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32(n: number): this {
    return this.op(0x41, ...sleb(n | 0));
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  ltU(): this {
    return this.op(0x49);
  }
  /** `select`: the first operand if the i32 on top is non-zero, else the second. */
  select(): this {
    return this.op(0x1b);
  }
  /** `local[i] += n`. */
  bump(i: number, n: number): this {
    return this.get(i).i32(n).add().set(i);
  }
  /** `local[i] += local[j]`. */
  bumpBy(i: number, j: number): this {
    return this.get(i).get(j).add().set(i);
  }

  /** `v128.load` at the address on the stack plus `offset` bytes (alignment hint 16). */
  v128Load(offset = 0): this {
    return this.simd(0x00, 4, ...uleb(offset));
  }
  /** `v128.store` of the vector on top to the address below it plus `offset` bytes. */
  v128Store(offset = 0): this {
    return this.simd(0x0b, 4, ...uleb(offset));
  }
  /** `v128.load32_splat`: one f32 at address + `offset`, broadcast to four lanes. */
  load32Splat(offset = 0): this {
    return this.simd(0x09, 2, ...uleb(offset));
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }

  /** `loop` (no result) around `body`, which branches back with `br_if 0`. */
  loop(body: (f: this) => void): this {
    this.op(0x03, 0x40);
    body(this);
    return this.op(0x0b);
  }
  /** `block` (no result) around `body`; `br_if 0` inside leaves it. */
  block(body: (f: this) => void): this {
    this.op(0x02, 0x40);
    body(this);
    return this.op(0x0b);
  }
  /** Branch to the label `depth` levels out if the i32 on top is non-zero. */
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }

  /** The function's code entry: its locals (run-length grouped by type) and instructions. */
  encode(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.localTypes.length; ) {
      let j = i;
      while (j < this.localTypes.length && this.localTypes[j] === this.localTypes[i]) j++;
      groups.push([...uleb(j - i), this.localTypes[i]!]);
      i = j;
    }
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** An exported function of a module. */
export interface ExportedFunction {
  name: string;
  fn: FunctionBuilder;
}

/**
 * The bytes of a module that imports one memory as `env.memory` (`minPages`..`maxPages` pages
 * of 64 KiB, shared when `shared`, so worker threads can run the same code on it) and exports
 * `functions`, each with its own type.
 */
export function encodeModule(
  functions: readonly ExportedFunction[],
  memory: { minPages: number; maxPages: number; shared: boolean },
): Uint8Array {
  const types = functions.map(({ fn }) => [0x60, ...vec(fn.params.map((t) => [t])), ...vec(fn.results.map((t) => [t]))]);
  const limits = [memory.shared ? 0x03 : 0x01, ...uleb(memory.minPages), ...uleb(memory.maxPages)];
  const imports = [[...utf8("env"), ...utf8("memory"), 0x02, ...limits]];
  const exports = functions.map(({ name }, i) => [...utf8(name), 0x00, ...uleb(i)]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(exports)),
    ...section(10, vec(functions.map(({ fn }) => fn.encode()))),
  ];
  return Uint8Array.from(bytes);
}
