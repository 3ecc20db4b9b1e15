/**
 * Matrix products as kernels with what surrounds them fused in (schedule.ts calls this):
 *
 * - an operand that is the last-two-axes transpose of a value is read through the transpose
 *   (no transpose step, no transposed copy), as the vjp's `ct @ wᵀ` and `xᵀ @ ct` need;
 * - an elementwise chain that only matrix products consume (`sign(w)` in `x @ sign(w)`) is a
 *   prologue, recomputed where the product loads its operand instead of written to a buffer;
 * - elementwise nodes of the product's shape computed from it (`sign(x @ w / sqrt(I) + b)`) are
 *   an epilogue, computed on the product's value before it is stored.
 *
 * Legality: a prologue node has no users but matrix products (directly, through an absorbed
 * transpose, or through other prologue nodes of its shape), is not a root and is not a random
 * draw (a prologue is recomputed once per tile of the other operand; a draw is too dear for that).
 * An epilogue node has the product's shape and reads, besides the product and earlier epilogue
 * nodes, only values that depend on no product at or after this one in topological order, so the
 * kernels stay acyclic; its materialized outputs are not bool (a packed word would span several
 * invocations of the tiled kernel). The kernel's buffers fit `maxBuffers`: a product whose
 * prologues alone would not fit gives its widest one back to the fused kernels, and the epilogue
 * is cut from its end until the rest fits.
 *
 * Forward convolutions get epilogues by the same rules (a convolution counts as a product for the
 * ordering rule), plus schedule-conv.ts's on their operands, and no prologue or transposed read.
 */
import { Op, type Node } from "./ir.js";
import type { DimT } from "./types.js";
import { MAX_FUSED_OPS, loopSize } from "./schedule-bound.js";
import { convEpilogueAccepts, convKernelBuffers, type ConvKernel } from "./schedule-conv.js";

/** One operand of a fused matrix product. */
export interface MatMulOperand {
  /** The value read, in its own row-major layout: the operand, or its transpose when `transposed`. */
  value: Node;
  /** The operand is `value` with its last two axes swapped (an absorbed Transpose). */
  transposed: boolean;
  /** Elementwise nodes computing `value` (topological), recomputed per load; empty when `value` is read from its buffer. */
  prologue: Node[];
}

/** A matrix product kernel: out = a @ b (batched, NumPy broadcasting of batch dims), then the epilogue. */
export interface MatMulKernel {
  kind: "matmul";
  node: Node;
  a: MatMulOperand;
  b: MatMulOperand;
  /** Elementwise nodes over `node.shape` computed from the product (topological). */
  epilogue: Node[];
  /** The values of [node, ...epilogue] that are stored (read elsewhere or roots). */
  outputs: Node[];
}

/** What the schedule needs to know about the fused products of one entry point. */
export interface MatMulPlan {
  kernels: Map<number, MatMulKernel>;
  /** Transposes every consumer reads through: no step, no buffer. */
  absorbed: Set<number>;
  /** Nodes recomputed in prologues: never grouped, never stored. */
  prologue: Set<number>;
  /** Epilogue node id -> the product (or convolution) whose kernel computes it. */
  epilogueOf: Map<number, Node>;
  /** Forward convolutions with a non-empty epilogue (schedule-conv.ts); the others stay runtime steps. */
  convs: Map<number, ConvKernel>;
}

export interface MatMulContext {
  order: readonly Node[];
  users: ReadonlyMap<number, Node[]>;
  rootIds: ReadonlySet<number>;
  /** Elementwise nodes no reduction prologue owns. */
  free: (n: Node) => boolean;
  /** Values every kernel computes itself, never read from a buffer (literals, scalars, dims, scalar constants). */
  isInlineLeaf: (n: Node) => boolean;
  maxBuffers: number;
  /** False: bare products (no transpose read through, no prologue, no epilogue). */
  fuse: boolean;
}

/** Whether `t` swaps the last two axes and nothing else. */
export function isSwapLast(t: Node): boolean {
  if (t.op !== Op.Transpose) return false;
  const perm = t.attrs["perm"] as number[];
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, r - 2).every((p, i) => p === i);
}

/** Plans every matrix product of `ctx.order`. */
export function planMatMuls(ctx: MatMulContext): MatMulPlan {
  const { order, users, rootIds } = ctx;
  const usersOf = (n: Node) => users.get(n.id) ?? [];
  const absorbed = new Set<number>();
  for (const n of order) {
    if (ctx.fuse && isSwapLast(n) && !rootIds.has(n.id) && usersOf(n).length > 0 && usersOf(n).every((u) => u.op === Op.MatMul)) absorbed.add(n.id);
  }
  // The latest product (by topological index) each node depends on, -1 for none.
  const index = new Map<number, number>();
  order.forEach((n, i) => index.set(n.id, i));
  const latest = new Map<number, number>();
  for (const n of order) {
    let m = n.op === Op.MatMul || n.op === Op.Conv2d ? index.get(n.id)! : -1;
    for (const i of n.inputs) m = Math.max(m, latest.get(i.id) ?? -1);
    latest.set(n.id, m);
  }
  const plan = (prologue: Set<number>) => {
    const kernels = new Map<number, MatMulKernel>();
    const convs = new Map<number, ConvKernel>();
    const epilogueOf = new Map<number, Node>();
    for (const mm of order) {
      if (mm.op === Op.Conv2d) {
        const grown = growEpilogue(ctx, mm, epilogueOf, prologue, latest, index.get(mm.id)!, (n) => convEpilogueAccepts(ctx, mm, n));
        const buffers = (e: Node[], outputs: Node[]) => convKernelBuffers(ctx, { kind: "conv", node: mm, epilogue: e, outputs }).length;
        const epilogue = trimEpilogue(ctx, mm, [mm], buffers, grown);
        if (epilogue.length === 0) continue;
        epilogue.forEach((n) => epilogueOf.set(n.id, mm));
        convs.set(mm.id, { kind: "conv", node: mm, epilogue, outputs: storedValues(ctx, mm, epilogue) });
        continue;
      }
      if (mm.op !== Op.MatMul) continue;
      const a = bareOperand(mm.inputs[0]!, absorbed, prologue, order);
      const b = bareOperand(mm.inputs[1]!, absorbed, prologue, order);
      const buffers = (e: Node[], outputs: Node[]) => kernelBuffers(ctx, { kind: "matmul", node: mm, a, b, epilogue: e, outputs }).length;
      const epilogue = trimEpilogue(ctx, mm, [...a.prologue, ...b.prologue, mm], buffers, growEpilogue(ctx, mm, epilogueOf, prologue, latest, index.get(mm.id)!));
      epilogue.forEach((n) => epilogueOf.set(n.id, mm));
      kernels.set(mm.id, { kind: "matmul", node: mm, a, b, epilogue, outputs: storedValues(ctx, mm, epilogue) });
    }
    return { kernels, absorbed, prologue, epilogueOf, convs };
  };
  // A value an epilogue can compute once per element is not recomputed in a consumer's prologue
  // once per tile (`sign(h / 28)` before the next layer, an estimator's backward chain between
  // `ct @ wᵀ` and the two products that read it): epilogues are planned first, without prologues,
  // then prologues from what is left, then the epilogues again around the final prologues.
  const first = plan(new Set());
  return plan(prologueNodes(ctx, absorbed, new Set(first.epilogueOf.keys())));
}

/**
 * The nodes prologues recompute. A node qualifies when every user is a product, an absorbed
 * transpose or a qualifying node of its shape. Then any product whose prologues alone would bind
 * more than `maxBuffers` buffers, or compute more than MAX_FUSED_OPS nodes, gives its widest
 * (longest) operand's chain back to the fused kernels, and the set is recomputed without it,
 * until every product fits.
 */
function prologueNodes(ctx: MatMulContext, absorbed: ReadonlySet<number>, inEpilogues: ReadonlySet<number>): Set<number> {
  const { order, users, rootIds } = ctx;
  const demoted = new Set(inEpilogues);
  for (;;) {
    const prologue = new Set<number>();
    for (let k = order.length - 1; k >= 0; k--) {
      const n = order[k]!;
      const us = users.get(n.id) ?? [];
      if (!ctx.fuse || demoted.has(n.id) || !ctx.free(n) || n.op === Op.Random || n.op === Op.Input || rootIds.has(n.id) || us.length === 0) continue;
      const ok = us.every((u) => u.op === Op.MatMul || absorbed.has(u.id) || (prologue.has(u.id) && sameShape(u.shape, n.shape)));
      if (ok) prologue.add(n.id);
    }
    const wide = order.find((mm) => {
      if (mm.op !== Op.MatMul) return false;
      const [a, b] = mm.inputs.map((x) => bareOperand(x, absorbed, prologue, order));
      return long(a!, b!, mm) || kernelBuffers(ctx, { kind: "matmul", node: mm, a: a!, b: b!, epilogue: [], outputs: [mm] }).length + 1 > ctx.maxBuffers;
    });
    if (wide === undefined) return prologue;
    const [a, b] = wide.inputs.map((x) => bareOperand(x, absorbed, prologue, order));
    const reads = (o: MatMulOperand) => kernelBuffers(ctx, { kind: "matmul", node: wide, a: o, b: o, epilogue: [], outputs: [] }).length;
    const widest = (long(a!, b!, wide) ? a!.prologue.length >= b!.prologue.length : reads(a!) >= reads(b!) && a!.prologue.length > 0) ? a! : b!;
    widest.prologue.forEach((n) => demoted.add(n.id));
  }
}

/** Whether a product with these operands' prologues would compute more than MAX_FUSED_OPS nodes. */
function long(a: MatMulOperand, b: MatMulOperand, mm: Node): boolean {
  return loopSize([...a.prologue, ...b.prologue, mm]) > MAX_FUSED_OPS;
}

function bareOperand(x: Node, absorbed: ReadonlySet<number>, prologue: ReadonlySet<number>, order: readonly Node[]): MatMulOperand {
  const transposed = absorbed.has(x.id);
  const value = transposed ? x.inputs[0]! : x;
  return { value, transposed, prologue: prologueOf(value, prologue, order) };
}

/** The prologue nodes `value` is computed from (itself included), topological. */
function prologueOf(value: Node, prologue: ReadonlySet<number>, order: readonly Node[]): Node[] {
  if (!prologue.has(value.id)) return [];
  const keep = new Set<number>();
  const stack = [value];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (keep.has(n.id) || !prologue.has(n.id)) continue;
    keep.add(n.id);
    stack.push(...n.inputs);
  }
  return order.filter((n) => keep.has(n.id));
}

/**
 * Elementwise nodes after `mm` (a product or a convolution) of its shape that only it, earlier
 * epilogue nodes and safe values feed, and that `accepts` (a convolution's operand rules).
 */
function growEpilogue(
  ctx: MatMulContext,
  mm: Node,
  taken: ReadonlyMap<number, Node>,
  prologue: ReadonlySet<number>,
  latest: ReadonlyMap<number, number>,
  at: number,
  accepts: (n: Node) => boolean = () => true,
): Node[] {
  const inKernel = new Set<number>([mm.id]);
  const epilogue: Node[] = [];
  for (let k = at + 1; k < ctx.order.length; k++) {
    const n = ctx.order[k]!;
    if (!ctx.fuse || !ctx.free(n) || prologue.has(n.id) || taken.has(n.id) || !sameShape(n.shape, mm.shape)) continue;
    if (!n.inputs.some((i) => inKernel.has(i.id))) continue;
    const safe = n.inputs.every((i) => inKernel.has(i.id) || ctx.isInlineLeaf(i) || (latest.get(i.id) ?? -1) < at);
    if (!safe || !accepts(n)) continue;
    inKernel.add(n.id);
    epilogue.push(n);
  }
  return epilogue;
}

/**
 * `epilogue` cut until no stored value is bool and the kernel's buffers and size fit; `base` is
 * what the kernel computes besides the epilogue, `buffers(e, stored)` how many buffers it reads.
 */
function trimEpilogue(ctx: MatMulContext, mm: Node, base: Node[], buffers: (e: Node[], stored: Node[]) => number, epilogue: Node[]): Node[] {
  let e = epilogue.slice(0, MAX_FUSED_OPS);
  while (e.length > 0 && loopSize([...base, ...e]) > MAX_FUSED_OPS) e = e.slice(0, -1);
  for (;;) {
    const stored = storedValues(ctx, mm, e);
    const bool = stored.find((n) => n.dtype === "bool");
    if (bool !== undefined) {
      e = withoutDescendants(e, bool);
      continue;
    }
    if (e.length > 0 && buffers(e, stored) + stored.length > ctx.maxBuffers) {
      e = e.slice(0, -1);
      continue;
    }
    return e;
  }
}

function withoutDescendants(nodes: Node[], root: Node): Node[] {
  const gone = new Set<number>([root.id]);
  return nodes.filter((n) => {
    if (gone.has(n.id) || n.inputs.some((i) => gone.has(i.id))) {
      gone.add(n.id);
      return false;
    }
    return true;
  });
}

/** The product and epilogue values read outside the kernel, or roots. */
function storedValues(ctx: MatMulContext, mm: Node, epilogue: Node[]): Node[] {
  const inKernel = new Set(epilogue.map((n) => n.id));
  const stored = (n: Node) => ctx.rootIds.has(n.id) || (ctx.users.get(n.id) ?? []).some((u) => !inKernel.has(u.id));
  return [mm, ...epilogue].filter(stored);
}

/** The buffers a matmul kernel reads: operand values without a prologue, prologue and epilogue inputs from elsewhere. */
export function kernelBuffers(ctx: Pick<MatMulContext, "isInlineLeaf">, k: MatMulKernel): Node[] {
  const reads = new Map<number, Node>();
  const from = (nodes: readonly Node[], computed: ReadonlySet<number>) => {
    for (const n of nodes) {
      for (const i of n.inputs) if (!computed.has(i.id) && !ctx.isInlineLeaf(i)) reads.set(i.id, i);
    }
  };
  for (const op of [k.a, k.b]) {
    if (op.prologue.length === 0) reads.set(op.value.id, op.value);
    else from(op.prologue, new Set(op.prologue.map((n) => n.id)));
  }
  from(k.epilogue, new Set([k.node.id, ...k.epilogue.map((n) => n.id)]));
  return [...reads.values()];
}

function sameShape(a: readonly DimT[], b: readonly DimT[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
