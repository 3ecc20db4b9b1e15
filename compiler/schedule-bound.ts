/**
 * Bounded fusion (schedule.ts calls this): no kernel computes more than MAX_FUSED_OPS nodes or
 * binds more than `maxBuffers` storage buffers, whatever the program. A 7,000-op elementwise
 * chain fused into one kernel crashed Mesa's shader compiler (SIGSEGV), and the fused forward and
 * backward of such a chain (21,000 nodes, every forward value read by the backward) took llvmpipe
 * minutes to compile.
 *
 * A fusion group past either bound is cut by checkpointing, as in gradient checkpointing (Chen et
 * al. 2016, "Training deep nets with sublinear memory cost"): some of its values are stored
 * (checkpoints), and each kernel recomputes what it needs from the nearest checkpoints instead of
 * reading every intermediate. Walking the group in topological order, a value's *cone* is what
 * computing it costs in a kernel — itself and, recursively, its inputs in the group that are not
 * stored, plus the scalar constants it hoists — and its *reads* the buffers that cone reads.
 * Two rules choose the checkpoints:
 *
 * - a value whose cone or reads would pass a bound stores its costliest inputs until it fits (a
 *   plain chain is cut every MAX_FUSED_OPS nodes, one buffer per cut, as before);
 * - a value with users far apart in the group (a forward value that its backward reads much
 *   later) is stored once its cone passes FAR_CHECKPOINT_OPS, so a backward kernel recomputes at
 *   most that much forward work per value it reads, instead of the whole chain back to the last
 *   cut — without this rule, each backward step past a cut would store a value of its own.
 *
 * A 7,000-op `sin` chain's gradient then stores one forward value and one cotangent in 65 (216
 * buffers), each backward kernel recomputing one forward segment: 1.33 times the nodes the
 * single fused loop computed.
 * Every rule only stores more, so the walk repeats until a pass stores nothing new, when every
 * cone and read set is exact. Kernels are then runs of consecutive stored values (topological),
 * merged while the union of their cones and their buffers fit: each reads only earlier runs.
 *
 * A backward that runs in a later group than its forward (past a product or a reduction) would
 * read every forward value from a buffer instead; `withRecomputed` lets such a group recompute
 * them, so the same checkpointing applies.
 */
import type { Node } from "./ir.js";
import { isInlineValue, scalarConstNodes } from "./schedule-inline.js";

/**
 * The most IR nodes one kernel computes: a fused loop, a reduction with its prologue, or a
 * product with its prologues and epilogue, counting the scalar constants it hoists. Real kernels
 * stay far below it (an estimator's forward and backward fused: tens of nodes).
 */
export const MAX_FUSED_OPS = 256;

/**
 * The storage buffers a WGSL kernel may bind on any WebGPU device: the default (and compatibility
 * mode's) maxStorageBuffersPerShaderStage. The uniform buffer counts against another limit. The
 * schedule prefers 7 where splitting a kernel over its outputs allows (its `maxBuffers`, as
 * before); no kernel it emits binds more than this.
 */
export const MAX_STORAGE_BUFFERS_PER_STAGE = 8;

/** The cone past which a value read far from where it is computed becomes a checkpoint. */
export const FAR_CHECKPOINT_OPS = MAX_FUSED_OPS / 4;

/** How many nodes a kernel computing `nodes` runs: them and the scalar constants it hoists. */
export function loopSize(nodes: readonly Node[]): number {
  const counted = new Set<number>(nodes.map((n) => n.id));
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (counted.has(i.id)) continue;
      scalarConstNodes(i)?.forEach((c) => counted.add(c.id));
    }
  }
  return counted.size;
}

/** The buffers a loop computing `nodes` reads: inputs it neither computes nor computes inline. */
export function loopReads(nodes: readonly Node[]): Node[] {
  const own = new Set<number>(nodes.map((n) => n.id));
  const reads = new Map<number, Node>();
  for (const n of nodes) for (const i of n.inputs) if (!own.has(i.id) && !isInlineValue(i)) reads.set(i.id, i);
  return [...reads.values()];
}

/** One kernel of a bounded group: `nodes` topological, `outputs` the values it stores. */
export interface BoundedPart {
  nodes: Node[];
  outputs: Node[];
}

/** A value's cost in a kernel: group positions (ascending), hoisted scalar constants, buffers read. */
interface Cone {
  at: Int32Array;
  hoisted: ReadonlySet<number>;
  reads: ReadonlySet<number>;
}

const size = (c: Cone) => c.at.length + c.hoisted.size;

/**
 * Cuts fusion group `ns` (topological, one shape) into kernels within MAX_FUSED_OPS nodes and
 * `maxBuffers` buffers. `stored(n)`: n is read outside the group or is a root; `users` the
 * schedule's. Returns the kernels (dependency order) and the checkpoints it stored besides.
 */
export function boundedParts(
  ns: readonly Node[],
  stored: (n: Node) => boolean,
  users: ReadonlyMap<number, readonly Node[]>,
  maxBuffers: number,
): { parts: BoundedPart[]; checkpoints: Node[] } {
  const pos = new Map<number, number>(ns.map((n, i) => [n.id, i]));
  const keep = new Set<number>();
  ns.forEach((n, p) => stored(n) && keep.add(p));
  const far = ns.map((n) => {
    const at = [...new Set((users.get(n.id) ?? []).map((u) => pos.get(u.id)).filter((p) => p !== undefined))];
    return at.length >= 2 && Math.max(...at) - Math.min(...at) > FAR_CHECKPOINT_OPS;
  });
  // A user per input position still to be walked; a cone nobody needs any more is dropped.
  const pending = new Int32Array(ns.length);
  for (const n of ns) for (const i of new Set(n.inputs)) if (pos.has(i.id)) pending[pos.get(i.id)!]!++;

  let cones: (Cone | undefined)[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    cones = new Array<Cone | undefined>(ns.length);
    const left = pending.slice();
    for (let p = 0; p < ns.length; p++) {
      const n = ns[p]!;
      let c = coneOf(n, p, pos, keep, cones);
      while (size(c) > MAX_FUSED_OPS || c.reads.size > maxBuffers - 1) {
        const costliest = n.inputs
          .map((i) => pos.get(i.id))
          .filter((q): q is number => q !== undefined && !keep.has(q))
          .sort((a, b) => size(cones[b]!) - size(cones[a]!))[0];
        if (costliest === undefined) break; // one node over inputs it only reads: always fits
        keep.add(costliest);
        grew = true;
        c = coneOf(n, p, pos, keep, cones);
      }
      cones[p] = c;
      if (far[p] && !keep.has(p) && size(c) > FAR_CHECKPOINT_OPS) {
        keep.add(p);
        grew = true;
      }
      for (const i of new Set(n.inputs)) {
        const q = pos.get(i.id);
        if (q !== undefined && --left[q]! === 0 && !keep.has(q)) cones[q] = undefined;
      }
    }
  }
  return { parts: mergeRuns(ns, [...keep].sort((a, b) => a - b), cones, maxBuffers), checkpoints: [...keep].filter((p) => !stored(ns[p]!)).map((p) => ns[p]!) };
}

/** The cone of `n` (at position `p`) given the values stored so far and its inputs' cones. */
function coneOf(n: Node, p: number, pos: ReadonlyMap<number, number>, keep: ReadonlySet<number>, cones: readonly (Cone | undefined)[]): Cone {
  const parts: Int32Array[] = [];
  const hoisted = new Set<number>();
  const reads = new Set<number>();
  for (const i of n.inputs) {
    const q = pos.get(i.id);
    if (q !== undefined && !keep.has(q)) {
      const c = cones[q]!;
      parts.push(c.at);
      c.hoisted.forEach((h) => hoisted.add(h));
      c.reads.forEach((r) => reads.add(r));
    } else if (isInlineValue(i)) scalarConstNodes(i)?.forEach((h) => hoisted.add(h.id));
    else reads.add(i.id);
  }
  return { at: withLast(union(parts), p), hoisted, reads };
}

/** Sorted union of sorted position lists. */
function union(lists: readonly Int32Array[]): Int32Array {
  if (lists.length === 0) return new Int32Array(0);
  return lists.reduce((a, b) => {
    if (a === b) return a;
    const out = new Int32Array(a.length + b.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length || j < b.length) {
      const x = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
      if (k === 0 || out[k - 1] !== x) out[k++] = x;
    }
    return out.subarray(0, k);
  });
}

/** `at` with `p` appended (p follows everything in it: topological order). */
function withLast(at: Int32Array, p: number): Int32Array {
  const out = new Int32Array(at.length + 1);
  out.set(at);
  out[at.length] = p;
  return out;
}

/** Kernels of consecutive stored values (positions ascending), each as long as it fits. */
function mergeRuns(ns: readonly Node[], stored: readonly number[], cones: readonly (Cone | undefined)[], maxBuffers: number): BoundedPart[] {
  const parts: BoundedPart[] = [];
  let run: { outs: number[]; cone: Cone } | undefined;
  const flush = () => {
    if (run === undefined) return;
    parts.push({ nodes: [...run.cone.at].map((p) => ns[p]!), outputs: run.outs.map((p) => ns[p]!) });
    run = undefined;
  };
  for (const p of stored) {
    const c = cones[p]!;
    if (run !== undefined) {
      const outs = [...run.outs, p];
      const mine = new Set(outs.map((q) => ns[q]!.id));
      const merged: Cone = {
        at: union([run.cone.at, c.at]),
        hoisted: new Set([...run.cone.hoisted, ...c.hoisted]),
        reads: new Set([...run.cone.reads, ...c.reads].filter((r) => !mine.has(r))),
      };
      if (size(merged) <= MAX_FUSED_OPS && merged.reads.size + outs.length <= maxBuffers) {
        run = { outs, cone: merged };
        continue;
      }
      flush();
    }
    run = { outs: [p], cone: c };
  }
  flush();
  return parts;
}

/**
 * The nodes each fusion group computes, with what it recomputes of other groups. A group that
 * reads more than FAR_CHECKPOINT_OPS values of its shape computed by other groups — a backward
 * past a matrix product or reduction, reading every value of the forward chain before it — takes
 * in their computation (back to values stored for another reader, or the groups' own inputs)
 * instead of having each stored: it is then cut by checkpointing like a forward fused with its
 * backward, and a 600-op chain stores a few checkpoints instead of 600 values. A group reading
 * fewer reads them, as before. `groups` maps a key to its nodes (topological), `index` gives
 * each node's topological position.
 */
export function withRecomputed(
  groups: ReadonlyMap<string, readonly Node[]>,
  groupOf: ReadonlyMap<number, string>,
  users: ReadonlyMap<number, readonly Node[]>,
  rootIds: ReadonlySet<number>,
  index: ReadonlyMap<number, number>,
): Map<string, readonly Node[]> {
  const out = new Map(groups);
  for (const [key, ns] of groups) {
    const across = new Map<number, Node>();
    for (const n of ns) {
      for (const i of n.inputs) {
        const g = groupOf.get(i.id);
        if (g !== undefined && g !== key) across.set(i.id, i);
      }
    }
    if (across.size <= FAR_CHECKPOINT_OPS) continue;
    // A value some third reader (or the caller) needs stays stored; this group reads it.
    const storedAnyway = (y: Node) =>
      rootIds.has(y.id) ||
      (users.get(y.id) ?? []).some((u) => {
        const g = groupOf.get(u.id);
        return g === undefined || (g !== key && g !== groupOf.get(y.id));
      });
    const pulled = new Map<number, Node>();
    const stack = [...across.values()];
    while (stack.length > 0) {
      const y = stack.pop()!;
      if (pulled.has(y.id) || storedAnyway(y)) continue;
      pulled.set(y.id, y);
      for (const i of y.inputs) if (groupOf.get(i.id) === groupOf.get(y.id)) stack.push(i);
    }
    if (pulled.size > 0) out.set(key, [...ns, ...pulled.values()].sort((a, b) => index.get(a.id)! - index.get(b.id)!));
  }
  return out;
}
