/**
 * schedule: partitions one entry point's IR into kernels. Elementwise nodes of one shape between
 * the same barriers fuse into one loop (several outputs allowed: a forward and its backward share
 * the loop); an elementwise chain feeding only a reduction becomes that reduction's prologue;
 * matmul, transpose, gather, nm_mask and reshape are steps of their own. Guarantees: kernels are
 * in dependency order; a value gets a buffer only if something outside its kernel reads it.
 * A scalar constant (see `isScalarConst`) gets neither kernel nor buffer unless it is a root or a
 * runtime step reads it: each kernel using it computes it once before its loop (codegen hoists it).
 */
import { Op, isElementwise, topoSort, type Node } from "./ir.js";
import type { DimT } from "./types.js";
import { kernelBuffers, planMatMuls, type MatMulKernel } from "./schedule-matmul.js";

export type { MatMulKernel, MatMulOperand } from "./schedule-matmul.js";

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

export type ScheduledKernel = FusedKernel | ReduceKernel | MatMulKernel | StructuralStep;

/** The schedule of one entry point. */
export interface Schedule {
  kernels: ScheduledKernel[];
  /** Nodes that live in buffers: entry inputs, kernel outputs read elsewhere, and the roots. */
  materialized: Set<number>;
  roots: Node[];
}

/**
 * The most IR nodes one fused loop or reduction prologue computes. Fusion has no other limit on
 * a long elementwise chain, and one 7,000-op kernel crashed Mesa's shader compiler (SIGSEGV); a
 * longer group is cut into kernels of at most this many nodes, in dependency order, each
 * storing what a later one reads (one buffer per cut for a chain). Real kernels stay far below
 * it (an estimator's forward and backward fused: tens of nodes).
 */
export const MAX_FUSED_OPS = 256;

const inlineLeaves: ReadonlySet<Op> = new Set([Op.Const, Op.Scalar, Op.Dim]);
const reductions: ReadonlySet<Op> = new Set([Op.Sum, Op.Max, Op.Min, Op.ArgMax, Op.ArgMin]);

/** Values computed inside any kernel for free: literals, runtime scalars and dims. */
export function isInlineLeaf(n: Node): boolean {
  return inlineLeaves.has(n.op);
}

const notScalarConst: ReadonlySet<Op> = new Set([Op.Const, Op.Scalar, Op.Dim, Op.Random, Op.Iota, Op.Input]);
const scalarConstCache = new WeakMap<Node, boolean>();

/**
 * A one-element elementwise value computed from literals, runtime scalars and dims only (ReSTE's
 * `(1 - o) / o`, `sqrt(I)`): the same in every element of every kernel, so a kernel computes it
 * once up front instead of reading it from a buffer another dispatch wrote.
 */
export function isScalarConst(n: Node): boolean {
  const known = scalarConstCache.get(n);
  if (known !== undefined) return known;
  const yes =
    isElementwise(n.op) &&
    !notScalarConst.has(n.op) &&
    n.shape.every((d) => d === 1) &&
    n.inputs.every((i) => isInlineLeaf(i) || isScalarConst(i));
  scalarConstCache.set(n, yes);
  return yes;
}

/** Values a kernel computes itself instead of reading a buffer: inline leaves and scalar constants. */
export function isInlineValue(n: Node): boolean {
  return isInlineLeaf(n) || isScalarConst(n);
}

/** Schedules the computation of `roots`; `fuseMatMuls` false keeps products bare (a fallback). */
export function schedule(roots: readonly Node[], maxBuffers = 7, fuseMatMuls = true): Schedule {
  const order = topoSort(roots);
  const users = new Map<number, Node[]>();
  for (const n of order) for (const i of n.inputs) users.set(i.id, [...(users.get(i.id) ?? []), n]);
  const rootIds = new Set(roots.map((r) => r.id));
  // A scalar constant that is no root and feeds only kernels is computed where it is used; one
  // that is a root or that a product or runtime step reads as a buffer is scheduled as any value.
  const readsInline = (u: Node) => isElementwise(u.op) || reductions.has(u.op);
  const hoisted = (n: Node) => isScalarConst(n) && !rootIds.has(n.id) && (users.get(n.id) ?? []).every(readsInline);
  const fusable = (n: Node) => isElementwise(n.op) && !isInlineLeaf(n) && n.op !== Op.Input && !hoisted(n);
  const inline = (n: Node) => isInlineLeaf(n) || hoisted(n);

  // 1. Reduction prologues: elementwise chains that only a reduction consumes.
  const owner = new Map<number, Node>();
  for (const r of order) {
    if (!reductions.has(r.op)) continue;
    const stack = [r.inputs[0]!];
    let owned = 0;
    while (stack.length > 0 && owned < MAX_FUSED_OPS - 1) {
      const n = stack.pop()!;
      if (!fusable(n) || rootIds.has(n.id) || owner.has(n.id) || !sameShape(n.shape, r.inputs[0]!.shape)) continue;
      const us = users.get(n.id) ?? [];
      if (!us.every((u) => u === r || owner.get(u.id) === r)) continue;
      owner.set(n.id, r);
      owned++;
      stack.push(...n.inputs);
    }
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
  for (const n of effectiveOrder(order, mm.kernels, isInlineValue)) {
    if (hoisted(n)) {
      level.set(n.id, 1); // as an inline leaf's: hoisting puts no barrier between its users
      continue;
    }
    const product = mm.epilogueOf.get(n.id);
    if (product !== undefined) {
      level.set(n.id, level.get(product.id)!);
      continue;
    }
    const k = n.op === Op.MatMul ? mm.kernels.get(n.id) : undefined;
    const ins = k !== undefined ? kernelBuffers({ isInlineLeaf: isInlineValue }, k) : n.inputs;
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
  const groups = new Map<string, Node[]>();
  for (const [key, ns] of whole) boundedParts(ns, users).forEach((part, i) => groups.set(`${key}|${i}`, part));
  const groupOf = new Map<number, string>();
  for (const [k, ns] of groups) for (const n of ns) groupOf.set(n.id, k);

  // 4. Buffers: a value read outside the kernel that computes it, and every root.
  const materialized = new Set<number>();
  for (const k of mm.kernels.values()) k.outputs.forEach((n) => materialized.add(n.id));
  for (const n of order) {
    if (n.op === Op.Input || rootIds.has(n.id)) materialized.add(n.id);
    if (n.op === Op.MatMul || mm.absorbed.has(n.id) || inMatMul(n)) continue;
    if (!fusable(n) && !inline(n)) materialized.add(n.id);
    if (grouped(n)) {
      const g = groupOf.get(n.id);
      const readElsewhere = (users.get(n.id) ?? []).some((u) => !grouped(u) || groupOf.get(u.id) !== g);
      if (readElsewhere) materialized.add(n.id);
    }
  }

  // 5. Kernels, then dependency order.
  const kernels: ScheduledKernel[] = [];
  const producer = new Map<number, ScheduledKernel>();
  for (const ns of groups.values()) {
    const k: FusedKernel = { kind: "fused", shape: ns[0]!.shape, nodes: ns, outputs: ns.filter((n) => materialized.has(n.id)) };
    if (k.outputs.length === 0) continue;
    for (const part of splitByBindings(k, maxBuffers)) {
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
    } else if (n.op === Op.MatMul) {
      const k = mm.kernels.get(n.id)!;
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

/**
 * `order` rearranged so each product comes after every buffer its kernel reads (epilogue inputs
 * may come after the product in `order`; none of them depends on it, see schedule-matmul.ts).
 */
function effectiveOrder(order: readonly Node[], kernels: ReadonlyMap<number, MatMulKernel>, leaf: (n: Node) => boolean): Node[] {
  const out: Node[] = [];
  const state = new Map<number, 1 | 2>();
  const inputsOf = (n: Node): readonly Node[] => {
    const k = n.op === Op.MatMul ? kernels.get(n.id) : undefined;
    return k === undefined ? n.inputs : [...n.inputs, ...kernelBuffers({ isInlineLeaf: leaf }, k)];
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
  return k.kind === "fused" || k.kind === "matmul" ? k.outputs : [k.node];
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
    case "structural":
      return [k.node];
  }
}

/**
 * The nodes a kernel reads from buffers (materialized inputs of what it computes). A kernel
 * computes every scalar constant it uses itself; a runtime step reads one from its buffer.
 */
export function kernelReads(k: ScheduledKernel): Node[] {
  if (k.kind === "matmul") return kernelBuffers({ isInlineLeaf: isInlineValue }, k);
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
 * Splits a fused kernel whose buffers (reads + writes) exceed `max` — WebGPU's compatibility
 * mode binds 8 storage buffers per stage, one goes to the uniforms' neighbours — into kernels
 * over subsets of its outputs, each recomputing the values it needs. An output that alone needs
 * more buffers stays as it is (codegen/wgsl reports it).
 */
function splitByBindings(k: FusedKernel, max: number): FusedKernel[] {
  if (kernelReads(k).length + k.outputs.length <= max) return [k];
  const inGroup = new Set(k.nodes.map((n) => n.id));
  const needed = (outs: Node[]): Node[] => {
    const keep = new Set<number>();
    const stack = [...outs];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (keep.has(n.id) || !inGroup.has(n.id)) continue;
      keep.add(n.id);
      stack.push(...n.inputs);
    }
    return k.nodes.filter((n) => keep.has(n.id));
  };
  const part = (outs: Node[]): FusedKernel => ({ kind: "fused", shape: k.shape, nodes: needed(outs), outputs: outs });
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

/**
 * A fusion group (topological) cut into parts of at least MAX_FUSED_OPS nodes, each cut where at
 * most MAX_CUT_VALUES values cross it, so a part reads few buffers (one for a chain). `order` is
 * topological, so a later part only reads earlier ones, and what it reads is stored (step 4). A
 * group with no narrow point past the bound — a forward chain fused with its backward, which
 * reads every forward value — stays whole, as before.
 */
function boundedParts(ns: Node[], users: ReadonlyMap<number, Node[]>): Node[][] {
  if (ns.length <= MAX_FUSED_OPS) return [ns];
  const at = new Map(ns.map((n, i) => [n.id, i]));
  // crossing[p]: values computed before position p and read at p or later (in the group).
  const delta = new Int32Array(ns.length + 1);
  ns.forEach((n, i) => {
    const last = Math.max(i, ...(users.get(n.id) ?? []).map((u) => at.get(u.id) ?? -1));
    if (last > i) {
      delta[i + 1]!++;
      delta[last + 1]!--;
    }
  });
  const parts: Node[][] = [];
  let start = 0;
  let crossing = 0;
  for (let p = 1; p < ns.length; p++) {
    crossing += delta[p]!;
    if (p - start >= MAX_FUSED_OPS && crossing <= MAX_CUT_VALUES) {
      parts.push(ns.slice(start, p));
      start = p;
    }
  }
  parts.push(ns.slice(start));
  return parts;
}

/** The most values a cut of a fused group may pass on, each a buffer the next part reads. */
const MAX_CUT_VALUES = 2;

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
