/**
 * A reduction kernel (sum, max, min, argmax, argmin with its fused elementwise prologue) as a
 * Wasm SIMD function.
 *
 * The input's axes are grouped: axes of literal size 1 drop out, and neighbours merge when both
 * are kept or both reduced and every strided operand either spans both or broadcasts over both
 * (so one byte stride walks the merged group). The last group is the vector axis, four elements
 * per f32x4 step:
 * - **inner** (the last group is reduced: rows, softmax denominators, a full sum, batch norm's
 *   [B, C, H·W] → [C]): per output element, the reduced groups before it are loops and the last
 *   is read contiguously, 4 vectors per step, its last 1–3 elements as one more vector whose
 *   other lanes are masked to the reduction's identity;
 * - **outer** (the last group is kept: a bias gradient [B, N] → [N], a middle axis): the kept
 *   axis is split into vectors of 4 outputs, each accumulating down the reduced groups (the last
 *   of them unrolled 4 steps), the last 1–3 outputs as one more vector stored lane by lane.
 *
 * Sums accumulate in f64: each f32x4 of prologue values is widened to two f64x2
 * (`f64x2.promote_low_f32x4` of it and of its upper half) and added to one of 4 f64x2
 * accumulators — even steps to one low/high pair, odd steps to the other, so each f64 add chain
 * takes 2 adds per 16 elements, which the widening (3 shuffle-port instructions per vector on
 * x64) paces anyway. The result, rounded once to f32, is the TS loop's (a sequential f64 sum)
 * but for the order of f64 additions: equal to it except within about n·2⁻⁵³ of an f32 rounding
 * boundary (docs/language.md §10). Max and min keep 4 f32x4 accumulators, since `f32x4.max`
 * lowers to a dependent 6-instruction sequence on x64; their result does not depend on the order
 * (NaN propagates, max(+0, −0) = +0 and min = −0, as `Math.max`/`Math.min`).
 *
 * The function is `(n, uniforms, ...buffers)` as a fused kernel's (./fused.ts); the runtime also
 * writes the input's dims as i32 just below `uniforms` (dim a at uniforms − 4·(rank − a)).
 * i32 values are i32x4 lanes where `one_hot` puts them — labels (an i32 buffer, read or
 * splat), `iota` (the index along an axis, which keeps that axis a group of its own), i32
 * literals and scalars, compared (`i32x4.eq`, …) or cast to f32 or bool — so a cross-entropy's
 * `sum(one_hot(labels, K) * logp, axis = -1)` compiles. Kernels this file does not compile
 * (undefined: the TS kernel runs): argmax/argmin over more than one reduced group (its index
 * is the counter of that group; see ./reduce-acc.ts for its lanes), other i32 arithmetic, strided bool buffer reads
 * (bit-packed words are not addressable at a row's offset), prologue ops ./ops.ts has no code
 * for (random draws, `%`, sin, cos), and reductions over literal-1 axes only.
 */
import { I32, V128 } from "../../../runtime/wasm/encoder.js";
import type { Dim } from "../../../runtime/plan.js";
import { Op, type Node } from "../../ir.js";
import type { ReduceKernel } from "../../schedule.js";
import { hoisted, nodesCompilable, type WasmKernelContext } from "./fused.js";
import { emitOp } from "./ops.js";
import { Accumulators, UNROLL } from "./reduce-acc.js";
import { SimdBuilder } from "./simd.js";

/** A reduction's Wasm function, the input's shape (the loop) and reduced axes, for the runtime. */
export interface ReduceWasm {
  fn: SimdBuilder;
  shape: Dim[];
  reads: number;
  reduce: number[];
}

const isScalarLike = (n: Node) => n.shape.every((d) => d === 1);

interface Group {
  axes: number[];
  reduced: boolean;
  /** Per strided operand (by id): whether it spans this group (else it broadcasts over it). */
  full: Map<number, boolean>;
}

/** The input's axes grouped as the header says (a `solo` axis merges with none); [] when nothing is left to loop over. */
function groupsOf(shape: readonly Dim[], axes: readonly number[], strided: readonly Node[], solo: ReadonlySet<number>): Group[] {
  const spans = (n: Node, a: number) => {
    const j = a - (shape.length - n.shape.length);
    return j >= 0 && n.shape[j] !== 1;
  };
  const groups: Group[] = [];
  for (let a = 0; a < shape.length; a++) {
    if (shape[a] === 1) continue;
    const reduced = axes.includes(a);
    const full = new Map(strided.map((n) => [n.id, spans(n, a)]));
    const last = groups[groups.length - 1];
    const merges = last !== undefined && last.reduced === reduced && !solo.has(a) && !solo.has(last.axes[last.axes.length - 1]!);
    if (merges && strided.every((n) => last.full.get(n.id) === full.get(n.id))) last.axes.push(a);
    else groups.push({ axes: [a], reduced, full });
  }
  return groups;
}

/** The Wasm function of a reduction kernel, or undefined where the TS kernel must run (see above). */
export function reduceKernelWasm(k: ReduceKernel, reads: Node[], ctx: WasmKernelContext): ReduceWasm | undefined {
  const r = k.node;
  const x = r.inputs[0]!;
  if (![Op.Sum, Op.Max, Op.Min, Op.ArgMax, Op.ArgMin].includes(r.op)) return undefined;
  const arg = r.op === Op.ArgMax || r.op === Op.ArgMin;
  if (r.dtype !== (arg ? "i32" : "f32") || x.dtype !== "f32") return undefined;
  const strided = reads.filter((n) => !isScalarLike(n));
  if (strided.some((n) => n.dtype === "bool")) return undefined;
  const own = new Set(k.prologue.map((n) => n.id));
  const intLeaf = (i: Node) => i.dtype === "i32" && (reads.includes(i) || i.op === Op.Const || i.op === Op.Scalar || (i.op === Op.Iota && own.has(i.id)));
  const special = k.prologue.filter((n) => intNode(n));
  if (!special.every((n) => n.op === Op.Iota || n.inputs.every(intLeaf))) return undefined;
  if (!nodesCompilable(k.prologue.filter((n) => !intNode(n)))) return undefined;
  const inPrologue = k.prologue.some((n) => n.id === x.id);
  if (!inPrologue && !strided.some((n) => n.id === x.id)) return undefined;
  const shape = x.shape as Dim[];
  const listed = (r.attrs["axes"] as number[] | undefined) ?? [];
  const axes = listed.length === 0 ? [...shape.keys()] : listed;
  const iotaAxes = new Set(k.prologue.filter((n) => n.op === Op.Iota).map((n) => n.attrs["axis"] as number));
  const groups = groupsOf(shape, axes, strided, iotaAxes);
  if (!groups.some((g) => g.reduced)) return undefined;
  // An argmax's index counts along the reduced elements: one reduced group, whose counter it is.
  const reducedGroup = groups.findIndex((g) => g.reduced);
  if (arg && groups.filter((g) => g.reduced).length > 1) return undefined;

  const buffers = [...reads, r];
  const b = new SimdBuilder([I32, I32, ...buffers.map((): typeof I32 => I32)]);
  const UNIFORMS = 1;
  const param = new Map(buffers.map((n, i) => [n.id, 2 + i]));
  const values = new Map<number, number>();
  const { leaf } = hoisted(b, { nodes: k.prologue }, reads, ctx, values, UNIFORMS, param);

  // Group sizes and each strided operand's byte stride per group, from the dims below `uniforms`.
  const size = groups.map((g) => {
    const l = b.local(I32);
    b.i32(1);
    for (const a of g.axes) b.get(UNIFORMS).i32(4 * (shape.length - a)).sub().i32Load().mul();
    b.set(l);
    return l;
  });
  const stride = new Map<number, (number | undefined)[]>();
  for (const n of strided) {
    const running = b.local(I32);
    b.i32(4).set(running);
    const per: (number | undefined)[] = [];
    for (let j = groups.length - 1; j >= 0; j--) {
      if (!groups[j]!.full.get(n.id)) continue;
      const l = b.local(I32);
      b.get(running).tee(l).get(size[j]!).mul().set(running);
      per[j] = l;
    }
    stride.set(n.id, per);
  }

  const acc = new Accumulators(b, r.op);
  const out = b.local(I32);
  b.get(param.get(r.id)!).set(out);
  const last = groups.length - 1;
  const vectorFull = (n: Node) => groups[last]!.full.get(n.id) === true;
  const loaded = new Map(strided.map((n) => [n.id, b.local(V128)]));
  const computed = new Map(k.prologue.map((n) => [n.id, b.local(V128)]));
  /** Computes the input's vector at pointers `at` and leaves it in a local (its index). */
  const value = (at: Ptrs): number => {
    for (const n of strided) {
      b.get(at.get(n.id)!);
      if (vectorFull(n)) b.v128Load();
      else b.load32Splat();
      b.set(loaded.get(n.id)!);
    }
    const push = (n: Node) => {
      const l = computed.get(n.id) ?? loaded.get(n.id) ?? values.get(n.id);
      if (l !== undefined) b.get(l);
      else if (n.op === Op.Const && n.dtype === "i32") b.i32x4Const(Number(n.attrs["value"]));
      else leaf(n);
    };
    for (const n of k.prologue) {
      if (n.op === Op.Iota) {
        // The index along the axis: its group's counter (a pseudo-operand), plus the lane on the vector axis.
        const j = groups.findIndex((g) => g.axes.includes(n.attrs["axis"] as number));
        if (j < 0) b.i32x4Const(0);
        else indexOf(j, at);
      } else if (intNode(n)) emitInt(b, n, (i) => push(n.inputs[i]!));
      else emitOp(b, n, (i) => push(n.inputs[i]!));
      b.set(computed.get(n.id)!);
    }
    return computed.get(x.id) ?? loaded.get(x.id)!;
  };
  const sixteen = b.local(I32);
  b.i32(16).set(sixteen);
  // Each group with an iota axis has a counter, kept as a pseudo-operand: 0 at its loop's entry,
  // advanced by 1 per iteration (4 per vector on the vector axis) as pointers are.
  const counted = [...new Set([...[...iotaAxes].map((a) => groups.findIndex((g) => g.axes.includes(a))).filter((j) => j >= 0), ...(arg ? [reducedGroup] : [])])];
  /** Pushes the i32x4 index along group j of the elements at `at` (the lane added on the vector axis). */
  const indexOf = (j: number, at: Ptrs) => {
    b.get(at.get(counter(j))!).v("i32x4.splat");
    if (j === last) b.i32x4Lanes([0, 1, 2, 3]).v("i32x4.add");
  };
  const fold = (v: number, slot: number, at: Ptrs) => acc.add(v, slot, arg ? () => indexOf(reducedGroup, at) : undefined);
  const [zero, one, four] = [b.local(I32), b.local(I32), b.local(I32)];
  b.i32(1).set(one).i32(4).set(four);
  type Entry = [number, number | undefined];
  const base: Ptrs = new Map([...strided.map((n): [number, number] => [n.id, param.get(n.id)!]), ...counted.map((j): [number, number] => [counter(j), zero])]);
  const strideAt = (j: number) => new Map([...strided.map((n): Entry => [n.id, stride.get(n.id)![j]]), ...counted.map((c): Entry => [counter(c), c === j ? one : undefined])]);
  const alongVector = () => new Map([...strided.map((n): Entry => [n.id, vectorFull(n) ? sixteen : undefined]), ...counted.map((c): Entry => [counter(c), c === last ? four : undefined])]);
  const nest = (js: readonly number[], at: Ptrs, body: (at: Ptrs) => void): void => {
    if (js.length === 0) return body(at);
    const j = js[0]!;
    loopLevel(b, () => b.get(size[j]!), at, strideAt(j), (inner) => nest(js.slice(1), inner, body));
  };
  const keptOuter = groups.flatMap((g, j) => (!g.reduced && j !== last ? [j] : []));
  const reducedOuter = groups.flatMap((g, j) => (g.reduced && j !== last ? [j] : []));

  if (groups[last]!.reduced) {
    // inner: one output element per kept position; the reduced groups around a contiguous run.
    const vectors = alongVector();
    nest(keptOuter, base, (at) => {
      acc.init();
      nest(reducedOuter, at, (row) => {
        const count = b.local(I32);
        b.get(size[last]!).i32(2).shrU().set(count);
        const end = run(b, count, row, vectors, (slot, p) => fold(value(p), slot, p));
        // The last 1–3 elements: lanes past the row's end hold the identity.
        const rem = b.local(I32);
        b.get(size[last]!).i32(3).and().tee(rem).ifThen(() => {
          const v = value(end);
          b.get(v);
          acc.identity();
          b.get(rem).v("i32x4.splat").i32x4Lanes([0, 1, 2, 3]).v("i32x4.gt_s").v("v128.bitselect").set(v);
          fold(v, 0, end);
        });
      });
      b.get(out);
      acc.scalar();
      b.op(arg ? 0x36 : 0x38, 2, 0); // i32.store / f32.store
      b.bump(out, 4);
    });
    return { fn: b, shape: [...shape], reads: reads.length, reduce: [...axes] };
  }

  // outer: vectors of 4 adjacent outputs along the last (kept) group, each summed down the reduced groups.
  const innerRed = reducedOuter[reducedOuter.length - 1]!;
  const chunk = (at: Ptrs, lanes: number | undefined) => {
    acc.init();
    nest(reducedOuter.slice(0, -1), at, (p) => {
      const count = b.local(I32);
      b.get(size[innerRed]!).set(count);
      run(b, count, p, strideAt(innerRed), (slot, q) => fold(value(q), slot, q));
    });
    const v = b.local(V128);
    acc.vector();
    b.set(v);
    if (lanes === undefined) b.get(out).get(v).v128Store().bump(out, 16);
    else {
      for (let lane = 0; lane < 3; lane++) b.get(lanes).i32(lane).op(0x4b /* i32.gt_u */).ifThen(() => b.get(out).get(v).store32Lane(lane, 4 * lane));
      b.get(out).get(lanes).i32(2).shl().add().set(out);
    }
  };
  const along = alongVector();
  nest(keptOuter, base, (at) => {
    const after = loopLevel(b, () => b.get(size[last]!).i32(2).shrU(), at, along, (p) => chunk(p, undefined));
    const rem = b.local(I32);
    b.get(size[last]!).i32(3).and().tee(rem).ifThen(() => chunk(after, rem));
  });
  return { fn: b, shape: [...shape], reads: reads.length, reduce: [...axes] };
}

/** Operand id → the i32 local holding its current byte address (or, for `counter(j)`, group j's index). */
type Ptrs = Map<number, number>;

/** The pseudo-operand id of group j's index counter (node ids are never negative). */
const counter = (j: number) => -1 - j;

const intComparisons: Partial<Record<Op, number>> = { [Op.Eq]: 0x37, [Op.Ne]: 0x38, [Op.Lt]: 0x39, [Op.Gt]: 0x3b, [Op.Le]: 0x3d, [Op.Ge]: 0x3f };

/** A prologue node over i32 lanes that this file emits itself: iota, an i32 comparison, a cast from i32. */
function intNode(n: Node): boolean {
  if (n.op === Op.Iota) return true;
  if (n.op === Op.Cast) return n.inputs[0]!.dtype === "i32" && n.dtype !== "i32";
  return intComparisons[n.op] !== undefined && n.inputs.every((i) => i.dtype === "i32");
}

/** An i32 comparison (0.0 / 1.0 lanes, as ./ops.ts's bools) or a cast of i32 lanes to f32 or bool. */
function emitInt(b: SimdBuilder, n: Node, x: (k: number) => void): void {
  x(0);
  if (n.op === Op.Cast) {
    // i32 → f32 rounds to nearest (Math.fround of the integer); → bool is `!== 0`.
    if (n.dtype === "f32") b.v("f32x4.convert_i32x4_s");
    else b.i32x4Const(0).v("i32x4.ne").f32x4Const(1).v("v128.and");
    return;
  }
  x(1);
  b.simd(intComparisons[n.op]!).f32x4Const(1).v("v128.and");
}

/**
 * A counted loop: `count` pushes the trip count; each operand with a stride local advances by it
 * per iteration. Returns the pointers past the last iteration.
 */
function loopLevel(b: SimdBuilder, count: () => void, at: Ptrs, strides: ReadonlyMap<number, number | undefined>, body: (at: Ptrs) => void): Ptrs {
  const c = b.local(I32);
  count();
  b.set(c);
  const mine = copyMoving(b, at, strides);
  b.block(() => {
    b.loop(() => {
      b.get(c).eqz().brIf(1);
      body(mine);
      advance(b, mine, strides);
      b.get(c).i32(1).sub().set(c).br(0);
    });
  });
  return mine;
}

/** Fresh pointer locals for the operands that move (a stride local), copied from `at`. */
function copyMoving(b: SimdBuilder, at: Ptrs, strides: ReadonlyMap<number, number | undefined>): Ptrs {
  const mine = new Map(at);
  for (const [id, s] of strides) {
    if (s === undefined) continue;
    const l = b.local(I32);
    b.get(at.get(id)!).set(l);
    mine.set(id, l);
  }
  return mine;
}

function advance(b: SimdBuilder, at: Ptrs, strides: ReadonlyMap<number, number | undefined>): void {
  for (const [id, s] of strides) if (s !== undefined) b.bumpBy(at.get(id)!, s);
}

/**
 * `count` steps (the local is consumed) of `step(slot, pointers)`, UNROLL per iteration with
 * slots 0..UNROLL−1, the rest one at a time in slot 0. Returns the pointers past the last step.
 */
function run(b: SimdBuilder, count: number, at: Ptrs, strides: ReadonlyMap<number, number | undefined>, step: (slot: number, at: Ptrs) => void): Ptrs {
  const p = copyMoving(b, at, strides);
  b.block(() => {
    b.loop(() => {
      b.get(count).i32(UNROLL).ltU().brIf(1);
      for (let s = 0; s < UNROLL; s++) {
        step(s, p);
        advance(b, p, strides);
      }
      b.get(count).i32(UNROLL).sub().set(count).br(0);
    });
  });
  b.block(() => {
    b.loop(() => {
      b.get(count).eqz().brIf(1);
      step(0, p);
      advance(b, p, strides);
      b.get(count).i32(1).sub().set(count).br(0);
    });
  });
  return p;
}
