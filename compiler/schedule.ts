/**
 * schedule: partitions one entry point's IR into kernels. Elementwise nodes of one shape between
 * the same barriers fuse into one loop (several outputs allowed: a forward and its backward share
 * the loop); an elementwise chain feeding only a reduction becomes that reduction's prologue;
 * matmul, transpose, gather, nm_mask and reshape are steps of their own; a product, and a forward
 * convolution, takes the elementwise chain after it as an epilogue (schedule-matmul.ts,
 * schedule-conv.ts; a convolution nothing fuses into stays a runtime step). Guarantees: kernels are
 * in dependency order; a value gets a buffer only if something outside its kernel reads it.
 * A scalar constant (see `isScalarConst`) gets neither kernel nor buffer unless it is a root or a
 * runtime step reads it: each kernel using it computes it once before its loop (codegen hoists it).
 * Every kernel is bounded: at most MAX_FUSED_OPS nodes and `maxBuffers` storage buffers; a fusion
 * group past that is cut by checkpointing (schedule-bound.ts).
 */
import { Op, isElementwise, topoSort, type Node } from "./ir.js";
import type { DimT } from "./types.js";
import { kernelBuffers, planMatMuls, type MatMulKernel } from "./schedule-matmul.js";
import { convKernelBuffers, type ConvKernel } from "./schedule-conv.js";
import { MAX_FUSED_OPS, MAX_STORAGE_BUFFERS_PER_STAGE, boundedParts, loopReads, loopSize, withRecomputed } from "./schedule-bound.js";
import { isInlineLeaf, isInlineValue, isScalarConst } from "./schedule-inline.js";

export type { MatMulKernel, MatMulOperand } from "./schedule-matmul.js";
export type { ConvKernel } from "./schedule-conv.js";
export { MAX_FUSED_OPS, MAX_STORAGE_BUFFERS_PER_STAGE, FAR_CHECKPOINT_OPS } from "./schedule-bound.js";
export { MAX_SCALAR_CONST_OPS, isInlineLeaf, isInlineValue, isScalarConst } from "./schedule-inline.js";

/** A fused elementwise loop over `shape`: computes `nodes` (topological), writes `outputs`. */
export interface FusedKernel {
  kind: "fused";
  shape: readonly DimT[];
  nodes: Node[];
  outputs: Node[];
}

/** A reduction whose input expression (`prologue`, topological) is computed inside its loop. */
export interface ReduceKernel {
  kind: "reduce";
  node: Node;
  prologue: Node[];
}

/** A structural step computed by a runtime routine (transpose, gather, nm_mask, reshape). */
export interface StructuralStep {
  kind: "structural";
  node: Node;
}

export type ScheduledKernel = FusedKernel | ReduceKernel | MatMulKernel | ConvKernel | StructuralStep;

/** The schedule of one entry point. */
export interface Schedule {
  kernels: ScheduledKernel[];
  /** Nodes that live in buffers: entry inputs, kernel outputs read elsewhere, and the roots. */
  materialized: Set<number>;
  roots: Node[];
}

const reductions: ReadonlySet<Op> = new Set([Op.Sum, Op.Max, Op.Min, Op.ArgMax, Op.ArgMin]);

/** Schedules the computation of `roots`; `fuseMatMuls` false keeps products bare (a fallback). */
export function schedule(roots: readonly Node[], maxBuffers = 7, fuseMatMuls = true): Schedule {
  const order = topoSort(roots);
  const users = new Map<number, Node[]>();
  for (const n of order) {
    for (const i of n.inputs) {
      const us = users.get(i.id);
      if (us === undefined) users.set(i.id, [n]);
      else us.push(n);
    }
  }
  const rootIds = new Set(roots.map((r) => r.id));
  // A scalar constant that is no root and feeds only kernels is computed where it is used; one
  // that is a root or that a product or runtime step reads as a buffer is scheduled as any value.
  const readsInline = (u: Node) => isElementwise(u.op) || reductions.has(u.op);
  const hoisted = (n: Node) => isScalarConst(n) && !rootIds.has(n.id) && (users.get(n.id) ?? []).every(readsInline);
  const fusable = (n: Node) => isElementwise(n.op) && !isInlineLeaf(n) && n.op !== Op.Input && !hoisted(n);
  const inline = (n: Node) => isInlineLeaf(n) || hoisted(n);

  // 1. Reduction prologues: elementwise chains that only a reduction consumes. A prologue that
  // would make the kernel pass MAX_FUSED_OPS nodes (hoisted constants counted) or bind more than
  // MAX_STORAGE_BUFFERS_PER_STAGE buffers is given back whole: the fused kernels take it, bounded
  // as any group.
  const owner = new Map<number, Node>();
  for (const r of order) {
    if (!reductions.has(r.op)) continue;
    const stack = [r.inputs[0]!];
    const owned: Node[] = [];
    while (stack.length > 0 && owned.length < MAX_FUSED_OPS - 1) {
      const n = stack.pop()!;
      if (!fusable(n) || rootIds.has(n.id) || owner.has(n.id) || !sameShape(n.shape, r.inputs[0]!.shape)) continue;
      const us = users.get(n.id) ?? [];
      if (!us.every((u) => u === r || owner.get(u.id) === r)) continue;
      owner.set(n.id, r);
      owned.push(n);
      stack.push(...n.inputs);
    }
    const loop = [...owned, r];
    if (owned.length > 0 && (loopSize(loop) > MAX_FUSED_OPS || loopReads(loop).length + 1 > MAX_STORAGE_BUFFERS_PER_STAGE)) owned.forEach((n) => owner.delete(n.id));
  }

  // 2. Matrix products with their transposes, prologues and epilogues (schedule-matmul.ts).
  const mm = planMatMuls({
    order,
    users,
    rootIds,
    free: (n) => fusable(n) && !owner.has(n.id),
    isInlineLeaf: isInlineValue,
    maxBuffers,
    fuse: fuseMatMuls,
  });
  const inMatMul = (n: Node) => mm.prologue.has(n.id) || mm.epilogueOf.has(n.id);
  const grouped = (n: Node) => fusable(n) && !owner.has(n.id) && !inMatMul(n);

  // 3. Fusion groups: elementwise nodes of one shape at one barrier level. A product's kernel
  // sits one level above everything it reads, epilogue inputs included, so no group can hold
  // both a value the kernel reads and one computed from it.
  const level = new Map<number, number>();
  for (const n of effectiveOrder(order, mm.kernels, mm.convs)) {
    if (hoisted(n)) {
      level.set(n.id, 1); // as an inline leaf's: hoisting puts no barrier between its users
      continue;
    }
    const product = mm.epilogueOf.get(n.id);
    if (product !== undefined) {
      level.set(n.id, level.get(product.id)!);
      continue;
    }
    const k = productKernel(n, mm.kernels, mm.convs);
    const ins = k !== undefined ? productBuffers(k) : n.inputs;
    const base = Math.max(0, ...ins.map((i) => level.get(i.id) ?? 0));
    level.set(n.id, fusable(n) ? base : base + 1);
  }
  // Sink an elementwise value to its consumers' level when they all fuse with it (same shape),
  // so it is recomputed in their loop instead of written to a buffer and read back.
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const us = users.get(n.id) ?? [];
    if (!grouped(n) || rootIds.has(n.id) || us.length === 0) continue;
    if (!us.every((u) => grouped(u) && sameShape(u.shape, n.shape))) continue;
    level.set(n.id, Math.min(...us.map((u) => level.get(u.id)!)));
  }
  const whole = new Map<string, Node[]>();
  for (const n of order) {
    if (!grouped(n)) continue;
    const key = `${level.get(n.id)}|${n.shape.join(",")}`;
    const group = whole.get(key);
    if (group === undefined) whole.set(key, [n]);
    else group.push(n);
  }
  const groups = whole;
  const groupOf = new Map<number, string>();
  for (const [k, ns] of groups) for (const n of ns) groupOf.set(n.id, k);
  // What each group computes: itself, and what it recomputes of other groups (schedule-bound.ts).
  const computes = withRecomputed(groups, groupOf, users, rootIds, new Map(order.map((n, i) => [n.id, i])));

  // 4. Buffers: a value read outside the kernel that computes it, and every root.
  const materialized = new Set<number>();
  for (const k of [...mm.kernels.values(), ...mm.convs.values()]) k.outputs.forEach((n) => materialized.add(n.id));
  for (const n of order) {
    if (n.op === Op.Input || rootIds.has(n.id)) materialized.add(n.id);
    if (n.op === Op.MatMul || mm.convs.has(n.id) || mm.absorbed.has(n.id) || inMatMul(n)) continue;
    if (!fusable(n) && !inline(n)) materialized.add(n.id);
    if (grouped(n) && (users.get(n.id) ?? []).some((u) => !grouped(u))) materialized.add(n.id);
  }
  for (const ns of computes.values()) {
    const own = new Set(ns.map((n) => n.id));
    for (const n of ns) for (const i of n.inputs) if (grouped(i) && !own.has(i.id)) materialized.add(i.id);
  }

  // 5. Kernels, then dependency order.
  const kernels: ScheduledKernel[] = [];
  const producer = new Map<number, ScheduledKernel>();
  for (const [key, ns] of groups) {
    const outputs = ns.filter((n) => materialized.has(n.id));
    if (outputs.length === 0) continue;
    const k: FusedKernel = { kind: "fused", shape: ns[0]!.shape, nodes: computedFor(outputs, computes.get(key)!), outputs };
    for (const part of fusedParts(k, users, materialized, maxBuffers)) {
      kernels.push(part);
      for (const n of part.outputs) producer.set(n.id, part);
      for (const n of part.nodes) if (!producer.has(n.id)) producer.set(n.id, part);
    }
  }
  for (const n of order) {
    if (reductions.has(n.op)) {
      const prologue = order.filter((p) => owner.get(p.id) === n);
      const k: ReduceKernel = { kind: "reduce", node: n, prologue };
      kernels.push(k);
      producer.set(n.id, k);
    } else if (n.op === Op.MatMul || mm.convs.has(n.id)) {
      const k = productKernel(n, mm.kernels, mm.convs)!;
      kernels.push(k);
      for (const o of [n, ...k.epilogue]) producer.set(o.id, k);
    } else if (!fusable(n) && !inline(n) && n.op !== Op.Input && !mm.absorbed.has(n.id)) {
      const k: StructuralStep = { kind: "structural", node: n };
      kernels.push(k);
      producer.set(n.id, k);
    }
  }
  const ordered = orderKernels(kernels, producer);
  if (fuseMatMuls && !inDependencyOrder(ordered, materialized)) return schedule(roots, maxBuffers, false);
  return { kernels: ordered, materialized, roots: [...roots] };
}

/** The kernel of product or convolution `n` (undefined for a convolution left as a runtime step). */
function productKernel(n: Node, kernels: ReadonlyMap<number, MatMulKernel>, convs: ReadonlyMap<number, ConvKernel>): MatMulKernel | ConvKernel | undefined {
  return n.op === Op.MatMul ? kernels.get(n.id) : convs.get(n.id);
}

/** The buffers a product or convolution kernel reads. */
function productBuffers(k: MatMulKernel | ConvKernel): Node[] {
  return k.kind === "matmul" ? kernelBuffers({ isInlineLeaf: isInlineValue }, k) : convKernelBuffers({ isInlineLeaf: isInlineValue }, k);
}

/**
 * `order` rearranged so each product (or convolution with an epilogue) comes after every buffer
 * its kernel reads (epilogue inputs may come after it in `order`; none of them depends on it,
 * see schedule-matmul.ts).
 */
function effectiveOrder(order: readonly Node[], kernels: ReadonlyMap<number, MatMulKernel>, convs: ReadonlyMap<number, ConvKernel>): Node[] {
  const out: Node[] = [];
  const state = new Map<number, 1 | 2>();
  const inputsOf = (n: Node): readonly Node[] => {
    const k = productKernel(n, kernels, convs);
    return k === undefined ? n.inputs : [...n.inputs, ...productBuffers(k)];
  };
  for (const root of order) {
    if (state.has(root.id)) continue;
    const stack: { n: Node; ins: readonly Node[]; i: number }[] = [{ n: root, ins: inputsOf(root), i: 0 }];
    state.set(root.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i < top.ins.length) {
        const next = top.ins[top.i++]!;
        if (state.has(next.id)) continue;
        state.set(next.id, 1);
        stack.push({ n: next, ins: inputsOf(next), i: 0 });
      } else {
        stack.pop();
        state.set(top.n.id, 2);
        out.push(top.n);
      }
    }
  }
  return out;
}

/** Whether every buffer a kernel reads is written by an earlier kernel or is an input. */
function inDependencyOrder(kernels: readonly ScheduledKernel[], materialized: ReadonlySet<number>): boolean {
  const written = new Set<number>();
  for (const k of kernels) {
    for (const r of kernelReads(k)) {
      if (r.op !== Op.Input && materialized.has(r.id) && !written.has(r.id)) return false;
    }
    for (const w of kernelWrites(k)) written.add(w.id);
  }
  return true;
}

/** The nodes a kernel stores. */
export function kernelWrites(k: ScheduledKernel): Node[] {
  return k.kind === "fused" || k.kind === "matmul" || k.kind === "conv" ? k.outputs : [k.node];
}

/** How many nodes a kernel computes: its own and the scalar constants it hoists (at most MAX_FUSED_OPS). */
export function kernelSize(k: ScheduledKernel): number {
  return k.kind === "structural" ? 1 : loopSize(ownNodes(k));
}

/** The nodes a kernel computes itself (for a product: its prologues and epilogue too). */
function ownNodes(k: ScheduledKernel): Node[] {
  switch (k.kind) {
    case "fused":
      return k.nodes;
    case "reduce":
      return [...k.prologue, k.node];
    case "matmul":
      return [...k.a.prologue, ...k.b.prologue, k.node, ...k.epilogue];
    case "conv":
      return [k.node, ...k.epilogue];
    case "structural":
      return [k.node];
  }
}

/**
 * The nodes a kernel reads from buffers (materialized inputs of what it computes). A kernel
 * computes every scalar constant it uses itself; a runtime step reads one from its buffer.
 */
export function kernelReads(k: ScheduledKernel): Node[] {
  if (k.kind === "matmul" || k.kind === "conv") return productBuffers(k);
  const own = ownNodes(k);
  const computed = new Set<number>(own.map((n) => n.id));
  const reads = new Map<number, Node>();
  const inline = k.kind === "structural" ? isInlineLeaf : isInlineValue;
  for (const n of own) {
    for (const i of n.inputs) {
      if (inline(i)) continue;
      if (!computed.has(i.id)) reads.set(i.id, i);
    }
  }
  return [...reads.values()];
}

/**
 * The kernels of one fusion group: the group as one loop, or split over its outputs to fit
 * `maxBuffers` (splitByBindings), unless that leaves a kernel past MAX_FUSED_OPS nodes or
 * MAX_STORAGE_BUFFERS_PER_STAGE buffers: then the group is cut by checkpointing into kernels
 * within MAX_FUSED_OPS and `maxBuffers` (schedule-bound.ts), and the checkpoints it stores join
 * `materialized`.
 */
function fusedParts(k: FusedKernel, users: ReadonlyMap<number, Node[]>, materialized: Set<number>, maxBuffers: number): FusedKernel[] {
  const fits = (part: FusedKernel) => loopSize(part.nodes) <= MAX_FUSED_OPS && kernelReads(part).length + part.outputs.length <= MAX_STORAGE_BUFFERS_PER_STAGE;
  if (k.nodes.length <= MAX_FUSED_OPS) {
    const parts = splitByBindings(k, maxBuffers);
    if (parts.every(fits)) return parts;
  }
  const out = new Set(k.outputs.map((n) => n.id));
  const { parts, checkpoints } = boundedParts(k.nodes, (n) => out.has(n.id), users, maxBuffers);
  checkpoints.forEach((n) => materialized.add(n.id));
  return parts.map((p) => ({ kind: "fused", shape: k.shape, nodes: p.nodes, outputs: p.outputs }));
}

/** The nodes of `nodes` (topological) that computing `outs` needs, in order. */
function computedFor(outs: readonly Node[], nodes: readonly Node[]): Node[] {
  const inGroup = new Set(nodes.map((n) => n.id));
  const keep = new Set<number>();
  const stack = [...outs];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (keep.has(n.id) || !inGroup.has(n.id)) continue;
    keep.add(n.id);
    stack.push(...n.inputs);
  }
  return nodes.filter((n) => keep.has(n.id));
}

/**
 * Splits a fused kernel whose buffers (reads + writes) exceed `max` — WebGPU's compatibility
 * mode binds 8 storage buffers per stage, one goes to the uniforms' neighbours — into kernels
 * over subsets of its outputs, each recomputing the values it needs. An output that alone needs
 * more buffers is left for fusedParts to cut.
 */
function splitByBindings(k: FusedKernel, max: number): FusedKernel[] {
  if (kernelReads(k).length + k.outputs.length <= max) return [k];
  const part = (outs: Node[]): FusedKernel => ({ kind: "fused", shape: k.shape, nodes: computedFor(outs, k.nodes), outputs: outs });
  const parts: FusedKernel[] = [];
  let current: Node[] = [];
  for (const o of k.outputs) {
    const trial = part([...current, o]);
    if (current.length > 0 && kernelReads(trial).length + trial.outputs.length > max) {
      parts.push(part(current));
      current = [o];
    } else current.push(o);
  }
  if (current.length > 0) parts.push(part(current));
  return parts;
}

function orderKernels(kernels: ScheduledKernel[], producer: Map<number, ScheduledKernel>): ScheduledKernel[] {
  const done = new Set<ScheduledKernel>();
  const out: ScheduledKernel[] = [];
  const visit = (k: ScheduledKernel) => {
    if (done.has(k)) return;
    done.add(k);
    for (const i of kernelReads(k)) {
      const p = producer.get(i.id);
      if (p !== undefined && p !== k) visit(p);
    }
    out.push(k);
  };
  kernels.forEach(visit);
  return out;
}

function sameShape(a: readonly DimT[], b: readonly DimT[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
