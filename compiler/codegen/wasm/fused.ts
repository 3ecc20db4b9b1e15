/**
 * A fused elementwise kernel as a Wasm SIMD function: four elements per step over the flat loop,
 * every value in a v128 local, the last 1–3 elements computed as one more vector whose valid
 * lanes alone are stored. The function is `(n: i32, uniforms: i32, ...buffers: i32)`: the element
 * count, the address of the runtime scalars (scalar k an f32 at uniforms + 4k), then the byte
 * address of each buffer, reads then writes as in the TS kernel. A vector read may run up to 12
 * bytes past a buffer's end (the tail), so the runtime pads every buffer to 16 bytes.
 *
 * Bool buffers are bit-packed as in the TS kernels (element i is bit i % 32 of i32 word i / 32):
 * a read takes 4 bits of a word into 0.0 / 1.0 lanes, a write gathers `i32x4.bitmask` nibbles
 * into a word stored every 32 elements and once more after the loop for a partial last word.
 *
 * Random nodes draw through ./philox.ts with the vector's block index off / 16 (element off / 4
 * of the loop, which must be the kernel's flat element index: the draws are keyed by it).
 *
 * A kernel whose operands broadcast (the TS kernel's strided loop nest) is compiled by
 * ./strided.ts. Kernels neither file compiles (undefined: the TS kernel runs instead): i32
 * buffers, Iota, and any node ./ops.ts has no code for; random draws in a strided loop.
 */
import { I32, V128 } from "../../../runtime/wasm/encoder.js";
import { Op, type Node } from "../../ir.js";
import type { FusedKernel } from "../../schedule.js";
import { isInlineValue, isScalarConst, scalarConstNodes } from "../../schedule-inline.js";
import type { KernelContext } from "../kernel-context.js";
import { emitOp, hasWasmOp } from "./ops.js";
import { KernelDraws } from "./philox.js";
import { SimdBuilder } from "./simd.js";
import { stridedKernelWasm } from "./strided.js";

/** What a Wasm kernel asks of the module: dim and scalar indices, and how many scalars precede the Philox key and the dims. */
export type WasmKernelContext = KernelContext & { readonly scalarCount: number };

const isScalarLike = (n: Node) => n.shape.every((d) => d === 1);
const sameShape = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Whether every value the kernel computes or reads is one ./ops.ts handles as f32 lanes. */
function compilable(k: FusedKernel, reads: readonly Node[]): boolean {
  if ([...reads, ...k.outputs].some((n) => n.dtype === "i32")) return false;
  if (!reads.every((n) => isScalarLike(n) || sameShape(n.shape, k.shape))) return false;
  return nodesCompilable(k.nodes, k.shape);
}

/**
 * Whether ./ops.ts has code for every node of `nodes` and every inline value they use (./reduce.ts
 * too); random draws only in a fused loop over `loopShape`.
 */
export function nodesCompilable(nodes: readonly Node[], loopShape?: readonly unknown[]): boolean {
  const inline = new Map<number, Node>();
  const visit = (n: Node) => {
    for (const i of n.inputs) {
      if (!isInlineValue(i) || inline.has(i.id)) continue;
      inline.set(i.id, i);
      for (const c of scalarConstNodes(i) ?? []) visit(c);
    }
  };
  nodes.forEach(visit);
  // A shape symbol is an i32 the runtime passes (a mean's divisor): only as an f32, by a cast of it alone.
  const dimToF32 = (n: Node) => n.op === Op.Cast && n.dtype === "f32" && n.inputs[0]!.op === Op.Dim;
  const leafOk = (n: Node) => (n.op === Op.Const || n.op === Op.Scalar ? n.dtype !== "i32" : n.op === Op.Dim ? true : dimToF32(n) || hasWasmOp(n, true));
  const consts = [...inline.values()].flatMap((n) => (isScalarConst(n) ? [...scalarConstNodes(n)!] : [n]));
  // A draw is keyed by the loop's flat index, so only one over the whole loop shape (a fused loop's).
  const nodeOk = (n: Node) => (n.op === Op.Random ? loopShape !== undefined && sameShape(n.shape, loopShape) : hasWasmOp(n));
  return nodes.every(nodeOk) && consts.every(leafOk);
}

/** The Wasm function of a fused kernel, or undefined where the TS kernel must run (see above). */
export function fusedKernelWasm(k: FusedKernel, reads: Node[], ctx: WasmKernelContext): SimdBuilder | undefined {
  if (!compilable(k, reads)) return stridedKernelWasm(k, reads, ctx);
  const buffers = [...reads, ...k.outputs];
  const b = new SimdBuilder([I32, I32, ...buffers.map((): typeof I32 => I32)]);
  const [N, UNIFORMS] = [0, 1];
  const ptr = new Map(buffers.map((n, i) => [n.id, 2 + i]));
  const values = new Map<number, number>();
  const { leaf } = hoisted(b, k, reads, ctx, values, UNIFORMS, ptr);
  const off = b.local(I32);
  const end = b.local(I32);
  const strided = reads.filter((n) => !isScalarLike(n));
  const loaded = new Map(strided.map((n) => [n.id, b.local(V128)]));
  const own = new Map(k.nodes.map((n) => [n.id, b.local(V128)]));
  const push = (n: Node) => {
    const l = own.get(n.id) ?? loaded.get(n.id) ?? values.get(n.id);
    if (l !== undefined) b.get(l);
    else leaf(n);
  };
  const packed = k.outputs.filter((o) => o.dtype === "bool");
  const words = new Map(packed.map((o) => [o.id, b.local(I32)]));
  // The Philox key follows the runtime scalars in the uniform block (runtime/wasm/kernels.ts).
  const drawing = k.nodes.some((n) => n.op === Op.Random);
  const draws = drawing ? new KernelDraws(b, UNIFORMS, 4 * ctx.scalarCount, k.nodes) : undefined;
  const block = b.local(I32);
  const body = () => {
    if (draws !== undefined) b.get(off).i32(4).shrU().set(block);
    for (const n of strided) {
      if (n.dtype === "bool") readBits(b, ptr.get(n.id)!, off);
      else b.get(ptr.get(n.id)!).get(off).add().v128Load();
      b.set(loaded.get(n.id)!);
    }
    for (const n of k.nodes) {
      if (n.op === Op.Random) draws!.emit(n, block);
      else emitOp(b, n, (i) => push(n.inputs[i]!));
      b.set(own.get(n.id)!);
    }
  };
  // end = (n & ~3) * 4 bytes; the loop runs while off < end.
  b.get(N).i32(~3).and().i32(4).mul().set(end);
  b.block(() => {
    b.loop(() => {
      b.get(off).get(end).geU().brIf(1);
      body();
      for (const o of k.outputs) {
        const v = own.get(o.id) ?? loaded.get(o.id)!;
        if (o.dtype === "bool") gatherBits(b, v, words.get(o.id)!, ptr.get(o.id)!, off, undefined);
        else b.get(ptr.get(o.id)!).get(off).add().get(v).v128Store();
      }
      b.bump(off, 16).br(0);
    });
  });
  // The tail: n & 3 elements, stored lane by lane.
  b.get(N).i32(3).and().ifThen(() => {
    body();
    for (const o of packed) gatherBits(b, own.get(o.id) ?? loaded.get(o.id)!, words.get(o.id)!, ptr.get(o.id)!, off, N);
    for (let lane = 0; lane < 3; lane++) {
      b.get(N).i32(3).and().i32(lane).op(0x4b /* i32.gt_u */).ifThen(() => {
        for (const o of k.outputs) if (o.dtype !== "bool") b.get(ptr.get(o.id)!).get(off).add().get(own.get(o.id) ?? loaded.get(o.id)!).store32Lane(lane, 4 * lane);
      });
    }
  });
  // A partial last word (n % 32 elements) of each packed output.
  for (const o of packed) {
    b.get(N).i32(31).and().ifThen(() => {
      b.get(ptr.get(o.id)!).get(N).i32(5).shrU().i32(2).shl().add().get(words.get(o.id)!).i32Store();
    });
  }
  return b;
}

/** Pushes the 4 bools at byte offset `off` (element off / 4) of the packed buffer at local `p` as 0.0 / 1.0 lanes. */
function readBits(b: SimdBuilder, p: number, off: number): void {
  // word = bits[off >> 7]; nibble = (word >>> ((off >> 2) & 31)) & 15
  b.get(p).get(off).i32(7).shrU().i32(2).shl().add().i32Load();
  b.get(off).i32(2).shrU().i32(31).and().shrU().i32(15).and();
  b.v("i32x4.splat").i32x4Lanes([1, 2, 4, 8]).v("v128.and").i32x4Const(0).v("i32x4.ne").f32x4Const(1).v("v128.and");
}

/**
 * ORs the 4 bools of vector local `v` into word local `w` at element off / 4, storing the word
 * when its last nibble is in (and clearing it); with `n` (the tail), lanes at or past n are 0.
 */
function gatherBits(b: SimdBuilder, v: number, w: number, p: number, off: number, n: number | undefined): void {
  b.get(w).get(v).f32x4Const(0).v("f32x4.ne").v("i32x4.bitmask");
  if (n !== undefined) b.i32(1).get(n).i32(3).and().shl().i32(1).sub().and();
  b.get(off).i32(2).shrU().i32(31).and().shl().or().set(w);
  if (n !== undefined) return;
  b.get(off).i32(2).shrU().i32(31).and().i32(28).op(0x46 /* i32.eq */).ifThen(() => {
    b.get(p).get(off).i32(7).shrU().i32(2).shl().add().get(w).i32Store();
    b.i32(0).set(w);
  });
}

/**
 * Locals computed once before the loop: scalar-like buffer reads (splat), runtime scalars and
 * scalar constants (computed by the same vector code as the loop, from splats). Literals are
 * pushed where they are used (`leaf`). ./reduce.ts uses it for a reduction's prologue.
 */
export function hoisted(b: SimdBuilder, k: { nodes: readonly Node[] }, reads: readonly Node[], ctx: WasmKernelContext, values: Map<number, number>, uniforms: number, ptr: ReadonlyMap<number, number>): { leaf: (n: Node) => void } {
  for (const n of reads.filter(isScalarLike)) {
    const l = b.local(V128);
    // A one-element bool buffer is bit 0 of its word.
    if (n.dtype === "bool") b.get(ptr.get(n.id)!).i32Load().i32(1).and().op(0xb2 /* f32.convert_i32_s */).v("f32x4.splat");
    else b.get(ptr.get(n.id)!).load32Splat();
    b.set(l);
    values.set(n.id, l);
  }
  const leaf = (n: Node): void => {
    const known = values.get(n.id);
    if (known !== undefined) {
      b.get(known);
      return;
    }
    if (n.op === Op.Const) {
      const v = Number(n.attrs["value"]);
      b.f32x4Const(v);
      return;
    }
    const l = b.local(V128);
    if (n.op === Op.Scalar) {
      b.get(uniforms).load32Splat(4 * ctx.scalarIndex(n.attrs["name"] as string));
    } else if (n.op === Op.Dim) {
      // The fn's dims follow the Philox key (runtime/wasm/kernels.ts); as f32 lanes, which the
      // cast of it then passes on (Math.fround of an integer rounds as f32.convert_i32_s does).
      b.get(uniforms).i32Load(4 * (ctx.scalarCount + 2 + ctx.dimIndex(n.attrs["name"] as string)));
      b.op(0xb2 /* f32.convert_i32_s */).v("f32x4.splat");
    } else {
      // A scalar constant: its inputs first (they are inline values too), then the op.
      emitOp(b, n, (i) => leaf(n.inputs[i]!), true);
    }
    b.tee(l);
    values.set(n.id, l);
  };
  // Every inline value the loop uses is computed here, so the loop only reads locals.
  const pre = (n: Node) => {
    for (const i of n.inputs) {
      if (!isInlineValue(i) || i.op === Op.Const || values.has(i.id)) continue;
      leaf(i);
      b.op(0x1a); // drop: `leaf` left it on the stack and in its local
    }
  };
  k.nodes.forEach(pre);
  return { leaf };
}
