/**
 * The WebAssembly SIMD instructions the CPU kernels use, by name, over runtime/wasm/encoder.ts's
 * FunctionBuilder: opcodes from the SIMD proposal's table (WebAssembly core spec 3.0, §5.4.8),
 * so a kernel printer reads `v.f32x4("add")` rather than `0xfd 0xe4`.
 */
import { FunctionBuilder, uleb } from "../../../runtime/wasm/encoder.js";

/** f32x4 and i32x4 instructions without immediates, by name. */
const SIMD = {
  "f32x4.splat": 0x13,
  "i32x4.splat": 0x11,
  "i32x4.eq": 0x37,
  "i32x4.ne": 0x38,
  "i32x4.lt_s": 0x39,
  "i32x4.gt_s": 0x3b,
  "i32x4.ge_s": 0x3f,
  "f32x4.eq": 0x41,
  "f32x4.ne": 0x42,
  "f32x4.lt": 0x43,
  "f32x4.gt": 0x44,
  "f32x4.le": 0x45,
  "f32x4.ge": 0x46,
  "v128.not": 0x4d,
  "v128.and": 0x4e,
  "v128.andnot": 0x4f,
  "v128.or": 0x50,
  "v128.xor": 0x51,
  "v128.bitselect": 0x52,
  "v128.any_true": 0x53,
  "f32x4.ceil": 0x67,
  "f32x4.floor": 0x68,
  "f32x4.trunc": 0x69,
  "f32x4.nearest": 0x6a,
  "i32x4.bitmask": 0xa4,
  "i32x4.shl": 0xab,
  "i32x4.shr_s": 0xac,
  "i32x4.shr_u": 0xad,
  "i32x4.add": 0xae,
  "i32x4.sub": 0xb1,
  "i32x4.mul": 0xb5,
  "i32x4.min_s": 0xb6,
  "i32x4.max_s": 0xb8,
  "i64x2.extmul_low_i32x4_u": 0xde,
  "i64x2.extmul_high_i32x4_u": 0xdf,
  "f32x4.abs": 0xe0,
  "f32x4.neg": 0xe1,
  "f32x4.sqrt": 0xe3,
  "f32x4.add": 0xe4,
  "f32x4.sub": 0xe5,
  "f32x4.mul": 0xe6,
  "f32x4.div": 0xe7,
  "f32x4.min": 0xe8,
  "f32x4.max": 0xe9,
  "f32x4.pmin": 0xea,
  "f32x4.pmax": 0xeb,
  "i32x4.trunc_sat_f32x4_s": 0xf8,
  "f32x4.convert_i32x4_s": 0xfa,
} as const;

/** The name of a SIMD instruction without immediates. */
export type SimdOp = keyof typeof SIMD;

/** A FunctionBuilder with named SIMD instructions and vector constants. */
export class SimdBuilder extends FunctionBuilder {
  /** One SIMD instruction without immediates. */
  v(name: SimdOp): this {
    return this.simd(SIMD[name]);
  }

  /** `v128.const` of four equal f32 lanes (`value` rounded to f32). */
  f32x4Const(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
    return this.simd(0x0c, ...bytes);
  }

  /** `v128.const` of four equal i32 lanes. */
  i32x4Const(value: number): this {
    const bytes = new Uint8Array(new Int32Array([value, value, value, value]).buffer);
    return this.simd(0x0c, ...bytes);
  }

  /** `v128.const` of four i32 lanes. */
  i32x4Lanes(lanes: readonly [number, number, number, number]): this {
    return this.simd(0x0c, ...new Uint8Array(new Int32Array(lanes).buffer));
  }

  /** `i8x16.shuffle` of the two vectors on top by i32 lanes: 0–3 from the first, 4–7 from the second. */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    return this.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }

  /** `v128.load64_splat`: 8 bytes at address + `offset`, in both halves of the vector. */
  load64Splat(offset = 0): this {
    return this.simd(0x0a, 3, ...uleb(offset));
  }

  /** `v128.store32_lane` of lane `lane` of the vector on top to the address below it. */
  store32Lane(lane: number, offset = 0): this {
    return this.simd(0x5a, 2, ...uleb(offset), lane);
  }

  /** `f32.load` (scalar) at the address on the stack plus `offset`. */
  f32Load(offset = 0): this {
    return this.op(0x2a, 2, ...uleb(offset));
  }

  /** `i32.load` at the address on the stack plus `offset`. */
  i32Load(offset = 0): this {
    return this.op(0x28, 2, ...uleb(offset));
  }

  /** `i32.store` of the value on top to the address below it plus `offset`. */
  i32Store(offset = 0): this {
    return this.op(0x36, 2, ...uleb(offset));
  }

  /** `call` of function `index`. */
  call(index: number): this {
    return this.op(0x10, ...uleb(index));
  }

  /** `if` (no result) around `then`. */
  ifThen(then: (f: this) => void): this {
    this.op(0x04, 0x40);
    then(this);
    return this.op(0x0b);
  }

  /** `br` to the label `depth` levels out. */
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }

  geU(): this {
    return this.op(0x4f);
  }
  and(): this {
    return this.op(0x71);
  }
  or(): this {
    return this.op(0x72);
  }
  shl(): this {
    return this.op(0x74);
  }
  shrU(): this {
    return this.op(0x76);
  }
  eqz(): this {
    return this.op(0x45);
  }
  ne(): this {
    return this.op(0x47);
  }
}
