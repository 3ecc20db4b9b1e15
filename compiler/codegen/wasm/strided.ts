/**
 * A fused elementwise kernel whose operands broadcast (the TS kernel's strided loop nest) as a
 * Wasm SIMD function: batch norm's per-channel scale and shift over [B, C, H, W], a bias [O]
 * over [B, O], a row [1, N] or a column [M, 1] against [M, N], and their backward kernels.
 *
 * The loop's axes are grouped as ./reduce.ts groups a reduction's: axes of literal size 1 drop
 * out, and neighbours merge when every strided operand either spans both or broadcasts over both,
 * so one stride walks the merged group ([B, C, H, W] with an [C, 1, 1] operand is B × C planes of
 * H·W contiguous elements). The last group is the vector axis, four elements per f32x4 step: an
 * operand that spans it is a vector load at its own address, one constant along it is loaded as a
 * splat once per inner run, and every node whose inputs are all constant along the run (the
 * per-channel `g * rsqrt(v + eps)`) is computed once per run, by the same f32x4 code as in the
 * loop, so the values are the same. The run's last 1–3 elements are one more vector whose valid
 * lanes alone are stored. Outputs have the loop's shape and are written in order, so each output
 * is one pointer that only advances. Every op is the flat kernels' (./ops.ts), so the results are
 * the TS kernel's bit for bit for exact ops and within docs/language.md §10's bounds otherwise.
 *
 * The function is `(n, uniforms, ...buffers)` as a flat kernel's (./fused.ts); the runtime also
 * writes the loop's dims as i32 just below `uniforms` (dim a at uniforms − 4·(rank − a)), read
 * once per call for the symbolic ones. A vector read may run up to 12 bytes past a run's end,
 * within the next run or the 16-byte padding of every buffer.
 *
 * Bool buffers stay bit-packed (element i is bit i % 32 of word i / 32). A read's packed index is
 * the operand's own element index, which needs not be a multiple of 4 at a run's start: a vector
 * takes 4 bits from its word shifted by i % 32, and the next word's low bits when they straddle
 * it; a splat takes one bit. A write's packed index is the loop's flat index (outputs are
 * contiguous), again not aligned to 4 at a run's start: each vector's `i32x4.bitmask` nibble is
 * ORed into the current word at i % 32, the word stored when it fills and the bits past it carried
 * into the next, and a partial last word stored after the loop — the TS kernel's words exactly.
 *
 * Kernels this file does not compile (undefined: the TS kernel runs): random draws (keyed by the
 * flat index in blocks of 4, which a run need not start on), i32 buffers, Iota, ops ./ops.ts has
 * no code for, outputs not of the loop's shape.
 */
import { I32, V128 } from "../../../runtime/wasm/encoder.js";
import { Op, type Node } from "../../ir.js";
import type { DimT } from "../../types.js";
import type { FusedKernel } from "../../schedule.js";
import { isInlineValue } from "../../schedule-inline.js";
import { hoisted, nodesCompilable, type WasmKernelContext } from "./fused.js";
import { emitOp } from "./ops.js";
import { SimdBuilder } from "./simd.js";

const isScalarLike = (n: Node) => n.shape.every((d) => d === 1);

/** Axes of the loop walked by one counted loop; `spans[r]`: whether strided read r varies along them. */
interface Group {
  axes: number[];
  spans: boolean[];
}

/** The loop's axes grouped as the header says, or undefined where an operand does not broadcast against it. */
export function stridedGroups(shape: readonly DimT[], strided: readonly Node[]): Group[] | undefined {
  if (strided.some((n) => n.shape.length > shape.length)) return undefined;
  const spans = (n: Node, a: number) => {
    const d = n.shape[a - (shape.length - n.shape.length)];
    return d !== undefined && d !== 1;
  };
  // A dim an operand spans is the loop's (broadcasting only stretches 1s).
  if (strided.some((n) => shape.some((d, a) => spans(n, a) && n.shape[a - (shape.length - n.shape.length)] !== d))) return undefined;
  const groups: Group[] = [];
  for (let a = 0; a < shape.length; a++) {
    if (shape[a] === 1) continue;
    const s = strided.map((n) => spans(n, a));
    const last = groups[groups.length - 1];
    if (last !== undefined && s.every((x, r) => x === last.spans[r])) last.axes.push(a);
    else groups.push({ axes: [a], spans: s });
  }
  return groups;
}

/** The Wasm function of a fused kernel with broadcast operands, or undefined where the TS kernel must run. */
export function stridedKernelWasm(k: FusedKernel, reads: readonly Node[], ctx: WasmKernelContext): SimdBuilder | undefined {
  if ([...reads, ...k.outputs].some((n) => n.dtype === "i32")) return undefined;
  if (!k.outputs.every((o) => o.shape.length === k.shape.length && o.shape.every((d, i) => d === k.shape[i]))) return undefined;
  if (!nodesCompilable(k.nodes)) return undefined;
  const strided = reads.filter((n) => !isScalarLike(n));
  const groups = stridedGroups(k.shape, strided);
  if (groups === undefined || groups.length === 0) return undefined;
  const own = new Set(k.nodes.map((n) => n.id));
  if (!k.outputs.every((o) => own.has(o.id) || strided.includes(o))) return undefined;

  const buffers = [...reads, ...k.outputs];
  const b = new SimdBuilder([I32, I32, ...buffers.map((): typeof I32 => I32)]);
  const [N, UNIFORMS] = [0, 1];
  const param = new Map(buffers.map((n, i) => [n.id, 2 + i]));
  const values = new Map<number, number>();
  const { leaf } = hoisted(b, k, reads, ctx, values, UNIFORMS, param);
  const last = groups.length - 1;
  const rank = k.shape.length;

  // Group sizes: literal parts folded, symbolic dims read below `uniforms`.
  const literal = groups.map((g) => (g.axes.every((a) => typeof k.shape[a] === "number") ? g.axes.reduce((p, a) => p * (k.shape[a] as number), 1) : undefined));
  const size = groups.map((g) => {
    const l = b.local(I32);
    b.i32(g.axes.reduce((p, a) => p * (typeof k.shape[a] === "number" ? (k.shape[a] as number) : 1), 1));
    for (const a of g.axes) if (typeof k.shape[a] !== "number") b.get(UNIFORMS).i32(4 * (rank - a)).sub().i32Load().mul();
    b.set(l);
    return l;
  });
  // Each strided read's pointer: a byte address (f32) or an element index (bool, whose words are
  // at its parameter); its stride per outer group it spans, in the same unit.
  const unit = (n: Node) => (n.dtype === "bool" ? 1 : 4);
  const stride = strided.map((n, r) => {
    const running = b.local(I32);
    b.i32(unit(n)).set(running);
    const per: (number | undefined)[] = [];
    for (let j = last; j >= 0; j--) {
      if (!groups[j]!.spans[r]) continue;
      const l = b.local(I32);
      b.get(running).tee(l).get(size[j]!).mul().set(running);
      per[j] = l;
    }
    return per;
  });
  const start = strided.map((n) => {
    if (n.dtype !== "bool") return param.get(n.id)!;
    const l = b.local(I32);
    b.i32(0).set(l);
    return l;
  });

  // Nodes constant along a run: computed once per run, from splats and hoisted values.
  const alongRun = new Set(strided.filter((_, r) => groups[last]!.spans[r]).map((n) => n.id));
  const invariant = new Set<number>();
  for (const n of k.nodes) if (n.inputs.every((i) => !alongRun.has(i.id) && (!own.has(i.id) || invariant.has(i.id)))) invariant.add(n.id);
  const local = new Map<number, number>([...k.nodes.map((n): [number, number] => [n.id, b.local(V128)]), ...strided.map((n): [number, number] => [n.id, b.local(V128)])]);
  const push = (n: Node) => {
    const l = local.get(n.id) ?? values.get(n.id);
    if (l !== undefined) b.get(l);
    else if (isInlineValue(n)) leaf(n);
    else throw new Error(`codegen/wasm: no value for node ${n.id} (${n.op})`);
  };
  const compute = (which: (n: Node) => boolean) => {
    for (const n of k.nodes) {
      if (!which(n)) continue;
      emitOp(b, n, (i) => push(n.inputs[i]!));
      b.set(local.get(n.id)!);
    }
  };

  const outPtr = new Map(k.outputs.filter((o) => o.dtype !== "bool").map((o) => [o.id, param.get(o.id)!]));
  const packed = k.outputs.filter((o) => o.dtype === "bool");
  const words = new Map(packed.map((o) => [o.id, b.local(I32)]));
  // The flat index of the next element, for the packed outputs' bits.
  const flat = b.local(I32);
  b.i32(0).set(flat);
  for (const w of words.values()) b.i32(0).set(w);
  const tmp = { s: b.local(I32), bits: b.local(I32), nib: b.local(I32) };

  /** One vector of the run at pointers `at`: `lanes` valid (undefined: 4; else a local, or a literal 1–3). */
  const vector = (at: number[], lanes: number | { literal: number } | undefined) => {
    strided.forEach((n, r) => {
      if (!groups[last]!.spans[r]) return;
      if (n.dtype === "bool") readBits(b, param.get(n.id)!, at[r]!, lanes, tmp);
      else b.get(at[r]!).v128Load();
      b.set(local.get(n.id)!);
    });
    compute((n) => !invariant.has(n.id));
    for (const o of k.outputs) {
      const v = local.get(o.id)!;
      const p = outPtr.get(o.id);
      if (p === undefined) {
        gatherBits(b, v, words.get(o.id)!, param.get(o.id)!, flat, lanes, tmp);
        continue;
      }
      if (lanes === undefined) {
        b.get(p).get(v).v128Store().bump(p, 16);
        continue;
      }
      for (let lane = 0; lane < 3; lane++) {
        const store = () => b.get(p).get(v).store32Lane(lane, 4 * lane);
        if (typeof lanes === "object") {
          if (lane < lanes.literal) store();
        } else b.get(lanes).i32(lane).op(0x4b /* i32.gt_u */).ifThen(store);
      }
      if (typeof lanes === "object") b.bump(p, 4 * lanes.literal);
      else b.get(p).get(lanes).i32(2).shl().add().set(p);
    }
    if (packed.length === 0) return;
    if (lanes === undefined) b.bump(flat, 4);
    else if (typeof lanes === "object") b.bump(flat, lanes.literal);
    else b.bumpBy(flat, lanes);
  };

  /** One inner run (the last group) from pointers `at`. */
  const run = (at: number[]) => {
    strided.forEach((n, r) => {
      if (groups[last]!.spans[r]) return;
      if (n.dtype === "bool") splatBit(b, param.get(n.id)!, at[r]!);
      else b.get(at[r]!).load32Splat();
      b.set(local.get(n.id)!);
    });
    compute((n) => invariant.has(n.id));
    const mine = moving(b, at, (r) => groups[last]!.spans[r]!);
    const count = b.local(I32);
    const known = literal[last];
    if (known !== undefined) b.i32(known >>> 2);
    else b.get(size[last]!).i32(2).shrU();
    b.set(count);
    if (known === undefined || known >= 4) b.block(() => {
      b.loop(() => {
        b.get(count).eqz().brIf(1);
        vector(mine, undefined);
        strided.forEach((n, r) => {
          if (groups[last]!.spans[r]) b.bump(mine[r]!, 4 * unit(n));
        });
        b.get(count).i32(1).sub().set(count).br(0);
      });
    });
    if (known !== undefined) {
      if (known % 4 !== 0) vector(mine, { literal: known % 4 });
      return;
    }
    const rem = b.local(I32);
    b.get(size[last]!).i32(3).and().tee(rem).ifThen(() => vector(mine, rem));
  };

  const nest = (g: number, at: number[]) => {
    if (g === last) return run(at);
    const c = b.local(I32);
    b.get(size[g]!).set(c);
    const mine = moving(b, at, (r) => groups[g]!.spans[r]!);
    b.block(() => {
      b.loop(() => {
        b.get(c).eqz().brIf(1);
        nest(g + 1, mine);
        strided.forEach((_, r) => {
          if (groups[g]!.spans[r]) b.bumpBy(mine[r]!, stride[r]![g]!);
        });
        b.get(c).i32(1).sub().set(c).br(0);
      });
    });
  };
  nest(0, start);

  // A partial last word (n % 32 elements) of each packed output.
  for (const o of packed) {
    b.get(N).i32(31).and().ifThen(() => {
      b.get(param.get(o.id)!).get(N).i32(5).shrU().i32(2).shl().add().get(words.get(o.id)!).i32Store();
    });
  }
  return b;
}

/** Fresh pointer locals, copied from `at`, for the reads that move at this level; the others shared. */
function moving(b: SimdBuilder, at: readonly number[], moves: (r: number) => boolean): number[] {
  return at.map((p, r) => {
    if (!moves(r)) return p;
    const l = b.local(I32);
    b.get(p).set(l);
    return l;
  });
}

interface Scratch {
  s: number;
  bits: number;
  nib: number;
}

/** Pushes bit `e` (i32 local) of the packed buffer at local `p` as four 0.0 / 1.0 lanes. */
function splatBit(b: SimdBuilder, p: number, e: number): void {
  b.get(p).get(e).i32(5).shrU().i32(2).shl().add().i32Load();
  b.get(e).i32(31).and().shrU().i32(1).and().op(0xb3 /* f32.convert_i32_u */).v("f32x4.splat");
}

/**
 * Pushes bits e … e + 3 (e an i32 local) of the packed buffer at local `p` as 0.0 / 1.0 lanes;
 * the next word is read only where the valid lanes (`lanes`, as in `vector`) reach into it, so
 * no read goes past the buffer's last word.
 */
function readBits(b: SimdBuilder, p: number, e: number, lanes: number | { literal: number } | undefined, t: Scratch): void {
  b.get(e).i32(31).and().set(t.s);
  b.get(p).get(e).i32(5).shrU().i32(2).shl().add().i32Load().get(t.s).shrU().set(t.bits);
  // Straddles when s + lanes > 32.
  b.get(t.s);
  if (lanes === undefined) b.i32(4).add();
  else if (typeof lanes === "object") b.i32(lanes.literal).add();
  else b.get(lanes).add();
  b.i32(32).op(0x4b /* i32.gt_u */).ifThen(() => {
    b.get(t.bits).get(p).get(e).i32(5).shrU().i32(2).shl().add().i32Load(4).i32(32).get(t.s).sub().shl().or().set(t.bits);
  });
  b.get(t.bits).i32(15).and();
  b.v("i32x4.splat").i32x4Lanes([1, 2, 4, 8]).v("v128.and").i32x4Const(0).v("i32x4.ne").f32x4Const(1).v("v128.and");
}

/**
 * ORs the valid lanes of the bools in vector local `v` into word local `w` at flat index
 * `flat` % 32; when the word fills, stores it at word flat / 32 of the buffer at `p` and keeps the
 * bits past it for the next word.
 */
function gatherBits(b: SimdBuilder, v: number, w: number, p: number, flat: number, lanes: number | { literal: number } | undefined, t: Scratch): void {
  b.get(v).f32x4Const(0).v("f32x4.ne").v("i32x4.bitmask");
  if (typeof lanes === "object") b.i32((1 << lanes.literal) - 1).and();
  else if (lanes !== undefined) b.i32(1).get(lanes).shl().i32(1).sub().and();
  b.set(t.nib);
  b.get(flat).i32(31).and().set(t.s);
  b.get(w).get(t.nib).get(t.s).shl().or().set(w);
  // Fills when s + lanes >= 32 (then s >= 28, so 32 - s is 1–4).
  b.get(t.s);
  if (lanes === undefined) b.i32(4).add();
  else if (typeof lanes === "object") b.i32(lanes.literal).add();
  else b.get(lanes).add();
  b.i32(31).op(0x4b /* i32.gt_u */).ifThen(() => {
    b.get(p).get(flat).i32(5).shrU().i32(2).shl().add().get(w).i32Store();
    b.get(t.nib).i32(32).get(t.s).sub().shrU().set(w);
  });
}
