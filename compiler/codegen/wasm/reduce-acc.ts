/**
 * The accumulators of a Wasm reduction kernel (./reduce.ts): how the f32x4 values of one output
 * (inner reductions) or of 4 adjacent outputs (outer ones) combine, and how the result is read.
 *
 * - sum: 4 f64x2 — the low and high halves of even steps' vectors, then of odd steps' — each
 *   vector widened with `f64x2.promote_low_f32x4` (of it and of its upper half), the total
 *   rounded once to f32;
 * - max/min: one f32x4 per unrolled step (`f32x4.max` lowers to a dependent 6-instruction
 *   sequence on x64, so 4 chains overlap), combined with the same ops at the end;
 * - argmax/argmin: one f32x4 of best values and one i32x4 of their indices; a lane takes an
 *   element only when it is strictly greater (less), as the TS loop's `cand > acc`, so each lane
 *   keeps the first of its extremes and NaN never wins; the lanes combine to the extreme value
 *   with the lowest index, and a slice nothing beats (all −Inf, or NaN) gives index 0.
 */
import { V128 } from "../../../runtime/wasm/encoder.js";
import { Op } from "../../ir.js";
import type { SimdBuilder } from "./simd.js";

/** Steps per iteration of an accumulation run, one accumulator slot each. */
export const UNROLL = 4;

/** i8x16.shuffle bytes moving 32-bit lanes: result lane i is lane `lanes[i]` (4..7: the second operand's). */
const lanes32 = (...lanes: number[]) => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
const HIGH_HALF = lanes32(2, 3, 2, 3);
const LOW_HALVES = lanes32(0, 1, 4, 5);
const SWAP_PAIRS = lanes32(2, 3, 0, 1);
const SWAP_LANES = lanes32(1, 0, 3, 2);

/** The accumulators of one output (vector of outputs) and how values combine into them. */
export class Accumulators {
  private readonly locals: number[];
  private readonly sum: boolean;
  /** argmax/argmin: the locals are [best values, their indices]. */
  readonly arg: boolean;
  private readonly greater: boolean;

  constructor(private readonly b: SimdBuilder, private readonly op: Op) {
    this.sum = op === Op.Sum;
    this.arg = op === Op.ArgMax || op === Op.ArgMin;
    this.greater = op === Op.Max || op === Op.ArgMax;
    this.locals = Array.from({ length: this.arg ? 2 : UNROLL }, () => b.local(V128));
  }

  /** Pushes the identity vector (f32 lanes): a lane holding it never changes the result. */
  identity(): void {
    this.b.f32x4Const(this.sum ? 0 : this.greater ? -Infinity : Infinity);
  }

  init(): void {
    const b = this.b;
    if (this.arg) {
      this.identity();
      b.set(this.locals[0]!).i32x4Const(0).set(this.locals[1]!);
      return;
    }
    for (const l of this.locals) {
      if (this.sum) b.i32x4Const(0);
      else this.identity();
      b.set(l);
    }
  }

  /** Folds the f32x4 in local `v` into slot `slot`; `index` pushes its elements' i32x4 indices (arg ops). */
  add(v: number, slot: number, index?: () => void): void {
    const b = this.b;
    if (this.arg) {
      const [best, at] = this.locals as [number, number];
      const wins = b.local(V128);
      b.get(v).get(best).v(this.greater ? "f32x4.gt" : "f32x4.lt").set(wins);
      b.get(v).get(best).get(wins).v("v128.bitselect").set(best);
      index!();
      b.get(at).get(wins).v("v128.bitselect").set(at);
      return;
    }
    if (!this.sum) {
      const l = this.locals[slot]!;
      b.get(l).get(v).v(this.greater ? "f32x4.max" : "f32x4.min").set(l);
      return;
    }
    const [lo, hi] = [this.locals[2 * (slot & 1)]!, this.locals[2 * (slot & 1) + 1]!];
    b.get(lo).get(v).simd(0x5f /* f64x2.promote_low_f32x4 */).simd(0xf0 /* f64x2.add */).set(lo);
    b.get(hi).get(v).get(v).simd(0x0d, ...HIGH_HALF).simd(0x5f).simd(0xf0).set(hi);
  }

  /** Pushes the 4 lanes' results (lane i: lane i's accumulators combined): f32x4, or i32x4 indices. */
  vector(): void {
    const b = this.b;
    if (this.arg) {
      b.get(this.locals[1]!);
      return;
    }
    const [a, c, d, e] = this.locals as [number, number, number, number];
    if (!this.sum) {
      const m = this.greater ? "f32x4.max" : "f32x4.min";
      b.get(a).get(c).v(m).get(d).get(e).v(m).v(m);
      return;
    }
    b.get(a).get(d).simd(0xf0).simd(0x5e /* f32x4.demote_f64x2_zero */);
    b.get(c).get(e).simd(0xf0).simd(0x5e).simd(0x0d, ...LOW_HALVES);
  }

  /** Pushes the one result of all lanes: an f32, or the i32 index for the arg ops. */
  scalar(): void {
    const b = this.b;
    if (this.arg) {
      // The extreme value in every lane, then the lowest index among the lanes that hold it.
      const [best, at] = this.locals as [number, number];
      const [m, cand] = [b.local(V128), b.local(V128)];
      const ext = this.greater ? "f32x4.max" : "f32x4.min";
      b.get(best).get(best).simd(0x0d, ...SWAP_PAIRS).v(ext).tee(m);
      b.get(m).simd(0x0d, ...SWAP_LANES).v(ext).set(m);
      b.get(at).i32x4Const(0x7fffffff).get(best).get(m).v("f32x4.eq").v("v128.bitselect").tee(cand);
      b.get(cand).simd(0x0d, ...SWAP_PAIRS).v("i32x4.min_s").tee(cand);
      b.get(cand).simd(0x0d, ...SWAP_LANES).v("i32x4.min_s").simd(0x1b, 0 /* i32x4.extract_lane */);
      return;
    }
    const [a, c, d, e] = this.locals as [number, number, number, number];
    if (!this.sum) {
      const t = b.local(V128);
      const f = this.greater ? 0x97 : 0x96; // f32.max / f32.min
      this.vector();
      b.set(t);
      b.get(t).simd(0x1f, 0).get(t).simd(0x1f, 1).op(f);
      b.get(t).simd(0x1f, 2).get(t).simd(0x1f, 3).op(f);
      b.op(f);
      return;
    }
    const t = b.local(V128);
    b.get(a).get(d).simd(0xf0).get(c).get(e).simd(0xf0).simd(0xf0).set(t);
    b.get(t).simd(0x21, 0).get(t).simd(0x21, 1).op(0xa0 /* f64.add */).op(0xb6 /* f32.demote_f64 */);
  }
}
