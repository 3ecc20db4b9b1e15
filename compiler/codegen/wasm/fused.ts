/**
 * A fused elementwise kernel as a Wasm SIMD function: four elements per step over the flat loop,
 * every value in a v128 local, the last 1–3 elements computed as one more vector whose valid
 * lanes alone are stored. The function is `(n: i32, uniforms: i32, ...buffers: i32)`: the element
 * count, the address of the runtime scalars (scalar k an f32 at uniforms + 4k), then the byte
 * address of each buffer, reads then writes as in the TS kernel. A vector read may run up to 12
 * bytes past a buffer's end (the tail), so the runtime pads every buffer to 16 bytes.
 *
 * Kernels this file does not compile (undefined: the TS kernel runs instead): operands that
 * broadcast (strided loops), bool or i32 buffers, Iota, and any node ./ops.ts has no code for.
 */
import { I32, V128 } from "../../../runtime/wasm/encoder.js";
import { Op, type Node } from "../../ir.js";
import type { FusedKernel } from "../../schedule.js";
import { isInlineValue, isScalarConst, scalarConstNodes } from "../../schedule-inline.js";
import type { KernelContext } from "../ts-kernels.js";
import { emitOp, hasWasmOp } from "./ops.js";
import { SimdBuilder } from "./simd.js";

const isScalarLike = (n: Node) => n.shape.every((d) => d === 1);
const sameShape = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Whether every value the kernel computes or reads is one ./ops.ts handles as f32 lanes. */
function compilable(k: FusedKernel, reads: readonly Node[]): boolean {
  if ([...reads, ...k.outputs].some((n) => n.dtype !== "f32")) return false;
  if (!reads.every((n) => isScalarLike(n) || sameShape(n.shape, k.shape))) return false;
  const inline = new Map<number, Node>();
  const visit = (n: Node) => {
    for (const i of n.inputs) {
      if (!isInlineValue(i) || inline.has(i.id)) continue;
      inline.set(i.id, i);
      for (const c of scalarConstNodes(i) ?? []) visit(c);
    }
  };
  k.nodes.forEach(visit);
  const leafOk = (n: Node) => (n.op === Op.Const ? n.dtype !== "i32" : n.op === Op.Scalar ? n.dtype !== "i32" : n.op === Op.Dim ? false : hasWasmOp(n));
  const consts = [...inline.values()].flatMap((n) => (isScalarConst(n) ? [...scalarConstNodes(n)!] : [n]));
  return k.nodes.every(hasWasmOp) && consts.every(leafOk);
}

/** The Wasm function of a fused kernel, or undefined where the TS kernel must run (see above). */
export function fusedKernelWasm(k: FusedKernel, reads: Node[], ctx: KernelContext): SimdBuilder | undefined {
  if (!compilable(k, reads)) return undefined;
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
  const body = () => {
    for (const n of strided) b.get(ptr.get(n.id)!).get(off).add().v128Load().set(loaded.get(n.id)!);
    for (const n of k.nodes) {
      emitOp(b, n, (i) => push(n.inputs[i]!));
      b.set(own.get(n.id)!);
    }
  };
  // end = (n & ~3) * 4 bytes; the loop runs while off < end.
  b.get(N).i32(~3).and().i32(4).mul().set(end);
  b.block(() => {
    b.loop(() => {
      b.get(off).get(end).geU().brIf(1);
      body();
      for (const o of k.outputs) b.get(ptr.get(o.id)!).get(off).add().get(own.get(o.id) ?? loaded.get(o.id)!).v128Store();
      b.bump(off, 16).br(0);
    });
  });
  // The tail: n & 3 elements, stored lane by lane.
  b.get(N).i32(3).and().ifThen(() => {
    body();
    for (let lane = 0; lane < 3; lane++) {
      b.get(N).i32(3).and().i32(lane).op(0x4b /* i32.gt_u */).ifThen(() => {
        for (const o of k.outputs) b.get(ptr.get(o.id)!).get(off).add().get(own.get(o.id) ?? loaded.get(o.id)!).store32Lane(lane, 4 * lane);
      });
    }
  });
  return b;
}

/**
 * Locals computed once before the loop: scalar-like buffer reads (splat), runtime scalars and
 * scalar constants (computed by the same vector code as the loop, from splats). Literals are
 * pushed where they are used (`leaf`).
 */
function hoisted(b: SimdBuilder, k: FusedKernel, reads: readonly Node[], ctx: KernelContext, values: Map<number, number>, uniforms: number, ptr: ReadonlyMap<number, number>): { leaf: (n: Node) => void } {
  for (const n of reads.filter(isScalarLike)) {
    const l = b.local(V128);
    b.get(ptr.get(n.id)!).load32Splat().set(l);
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
    } else {
      // A scalar constant: its inputs first (they are inline values too), then the op.
      emitOp(b, n, (i) => leaf(n.inputs[i]!));
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
