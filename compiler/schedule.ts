/**
 * schedule: partitions one entry point's IR into kernels. Elementwise nodes of one shape between
 * the same barriers fuse into one loop (several outputs allowed: a forward and its backward share
 * the loop); an elementwise chain feeding only a reduction becomes that reduction's prologue;
 * matmul, transpose, gather, nm_mask and reshape are steps of their own. Guarantees: kernels are
 * in dependency order; a value gets a buffer only if something outside its kernel reads it.
 */
import { Op, isElementwise, topoSort, type Node } from "./ir.js";
import type { DimT } from "./types.js";

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

/** A structural step computed by a runtime routine (matmul, transpose, gather, nm_mask, reshape). */
export interface StructuralStep {
  kind: "structural";
  node: Node;
}

export type ScheduledKernel = FusedKernel | ReduceKernel | StructuralStep;

/** The schedule of one entry point. */
export interface Schedule {
  kernels: ScheduledKernel[];
  /** Nodes that live in buffers: entry inputs, kernel outputs read elsewhere, and the roots. */
  materialized: Set<number>;
  roots: Node[];
}

const inlineLeaves: ReadonlySet<Op> = new Set([Op.Const, Op.Scalar, Op.Dim]);
const reductions: ReadonlySet<Op> = new Set([Op.Sum, Op.Max, Op.Min, Op.ArgMax, Op.ArgMin]);

/** Values computed inside any kernel for free: literals, runtime scalars and dims. */
export function isInlineLeaf(n: Node): boolean {
  return inlineLeaves.has(n.op);
}

/** Schedules the computation of `roots`. */
export function schedule(roots: readonly Node[], maxBuffers = 7): Schedule {
  const order = topoSort(roots);
  const users = new Map<number, Node[]>();
  for (const n of order) for (const i of n.inputs) users.set(i.id, [...(users.get(i.id) ?? []), n]);
  const rootIds = new Set(roots.map((r) => r.id));
  const fusable = (n: Node) => isElementwise(n.op) && !isInlineLeaf(n) && n.op !== Op.Input;

  // 1. Reduction prologues: elementwise chains that only a reduction consumes.
  const owner = new Map<number, Node>();
  for (const r of order) {
    if (!reductions.has(r.op)) continue;
    const stack = [r.inputs[0]!];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (!fusable(n) || rootIds.has(n.id) || owner.has(n.id) || !sameShape(n.shape, r.inputs[0]!.shape)) continue;
      const us = users.get(n.id) ?? [];
      if (!us.every((u) => u === r || owner.get(u.id) === r)) continue;
      owner.set(n.id, r);
      stack.push(...n.inputs);
    }
  }

  // 2. Fusion groups: elementwise nodes of one shape at one barrier level.
  const level = new Map<number, number>();
  for (const n of order) {
    const base = Math.max(0, ...n.inputs.map((i) => level.get(i.id) ?? 0));
    level.set(n.id, fusable(n) ? base : base + 1);
  }
  // Sink an elementwise value to its consumers' level when they all fuse with it (same shape),
  // so it is recomputed in their loop instead of written to a buffer and read back.
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const us = users.get(n.id) ?? [];
    if (!fusable(n) || owner.has(n.id) || rootIds.has(n.id) || us.length === 0) continue;
    if (!us.every((u) => fusable(u) && !owner.has(u.id) && sameShape(u.shape, n.shape))) continue;
    level.set(n.id, Math.min(...us.map((u) => level.get(u.id)!)));
  }
  const groups = new Map<string, Node[]>();
  for (const n of order) {
    if (!fusable(n) || owner.has(n.id)) continue;
    const key = `${level.get(n.id)}|${n.shape.join(",")}`;
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  const groupOf = new Map<number, string>();
  for (const [k, ns] of groups) for (const n of ns) groupOf.set(n.id, k);

  // 3. Buffers: a value read outside the kernel that computes it, and every root.
  const materialized = new Set<number>();
  for (const n of order) {
    if (n.op === Op.Input || rootIds.has(n.id)) materialized.add(n.id);
    if (!fusable(n) && !isInlineLeaf(n)) materialized.add(n.id);
    if (fusable(n) && !owner.has(n.id)) {
      const g = groupOf.get(n.id);
      const readElsewhere = (users.get(n.id) ?? []).some((u) => !fusable(u) || owner.has(u.id) || groupOf.get(u.id) !== g);
      if (readElsewhere) materialized.add(n.id);
    }
  }

  // 4. Kernels, then dependency order.
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
    } else if (!fusable(n) && !isInlineLeaf(n) && n.op !== Op.Input) {
      const k: StructuralStep = { kind: "structural", node: n };
      kernels.push(k);
      producer.set(n.id, k);
    }
  }
  return { kernels: orderKernels(kernels, producer), materialized, roots: [...roots] };
}

/** The nodes a kernel reads from buffers (materialized inputs of what it computes). */
export function kernelReads(k: ScheduledKernel): Node[] {
  const computed = new Set<number>(k.kind === "fused" ? k.nodes.map((n) => n.id) : k.kind === "reduce" ? [k.node.id, ...k.prologue.map((n) => n.id)] : [k.node.id]);
  const own = k.kind === "fused" ? k.nodes : k.kind === "reduce" ? [...k.prologue, k.node] : [k.node];
  const reads = new Map<number, Node>();
  for (const n of own) {
    for (const i of n.inputs) {
      if (isInlineLeaf(i)) continue;
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

function orderKernels(kernels: ScheduledKernel[], producer: Map<number, ScheduledKernel>): ScheduledKernel[] {
  const done = new Set<ScheduledKernel>();
  const out: ScheduledKernel[] = [];
  const visit = (k: ScheduledKernel) => {
    if (done.has(k)) return;
    done.add(k);
    const own = k.kind === "fused" ? k.nodes : k.kind === "reduce" ? [...k.prologue, k.node] : [k.node];
    for (const n of own) for (const i of n.inputs) {
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
