/**
 * Residual selection for `vjpFn`: which forward values the pullback reads, and in what form.
 * A value the pullback can recompute from the inputs with a short elementwise chain is
 * recomputed (inputs are held anyway). Otherwise it is saved in its cheapest form: a predicate
 * (or a cast of one) as a bit mask, 32x smaller than f32; a two-valued sign as the bit mask of
 * x >= 0; anything else as is. Transposes and reshapes are redone in the pullback, not saved.
 */
import { Graph, Op, isElementwise, topoSort, type Node } from "./ir.js";

/** The forward's extra outputs and the pullback's roots that read them as `$res{k}` inputs. */
export interface ResidualSplit {
  saved: Node[];
  pullback: Node[];
}

const leaves = new Set([Op.Input, Op.Const, Op.Scalar, Op.Dim]);
const reshaping = new Set([Op.Transpose, Op.Reshape, Op.Broadcast]);
/** Longest elementwise chain the pullback recomputes rather than saves. */
const recomputeLimit = 24;

/** Splits `grads` (already optimized) into what the forward saves and what the pullback computes. */
export function selectResiduals(g: Graph, grads: readonly Node[]): ResidualSplit {
  const order = topoSort(grads);
  const needsCt = new Set<number>();
  for (const n of order) {
    if ((n.op === Op.Input && String(n.attrs["name"]).startsWith("$ct")) || n.inputs.some((i) => needsCt.has(i.id))) needsCt.add(n.id);
  }
  const frontier = new Map<number, Node>();
  const visitFrontier = (f: Node) => {
    if (leaves.has(f.op) || frontier.has(f.id)) return;
    if (reshaping.has(f.op)) return f.inputs.forEach(visitFrontier);
    if (recomputable(f)) return;
    frontier.set(f.id, f);
  };
  for (const n of order) {
    if (!needsCt.has(n.id)) continue;
    for (const i of n.inputs) if (!needsCt.has(i.id)) visitFrontier(i);
  }
  for (const r of grads) if (!needsCt.has(r.id)) visitFrontier(r);

  // Each frontier value becomes a residual input; predicates and signs travel as bits.
  const saved: Node[] = [];
  const replace = new Map<number, Node>();
  for (const f of frontier.values()) {
    const k = saved.length;
    const input = (like: Node) => g.node(Op.Input, like.dtype, like.shape, [], { name: `$res${k}` });
    if (f.dtype === "bool") {
      saved.push(f);
      replace.set(f.id, input(f));
    } else if (f.op === Op.Cast && f.inputs[0]!.dtype === "bool") {
      const p = f.inputs[0]!;
      saved.push(p);
      replace.set(f.id, g.node(Op.Cast, f.dtype, f.shape, [input(p)]));
    } else if (f.op === Op.Sign) {
      const zero = g.node(Op.Const, "f32", [], [], { value: 0 });
      const p = g.node(Op.Ge, "bool", f.shape, [f.inputs[0]!, zero]);
      saved.push(p);
      const one = g.node(Op.Const, "f32", [], [], { value: 1 });
      replace.set(f.id, g.node(Op.Select, "f32", f.shape, [input(p), one, g.node(Op.Neg, "f32", [], [one])]));
    } else {
      saved.push(f);
      replace.set(f.id, input(f));
    }
  }
  return { saved, pullback: substitute(g, grads, replace) };
}

/** True when `n` is cheap to recompute from the inputs: a short purely elementwise chain. */
function recomputable(n: Node): boolean {
  let count = 0;
  for (const a of topoSort([n])) {
    if (leaves.has(a.op)) continue;
    if (!isElementwise(a.op) || ++count > recomputeLimit) return false;
  }
  return true;
}

/** Rebuilds `roots` with the nodes in `replace` swapped for their replacements. */
function substitute(g: Graph, roots: readonly Node[], replace: Map<number, Node>): Node[] {
  const mapped = new Map<number, Node>();
  for (const n of topoSort(roots)) {
    const r = replace.get(n.id);
    mapped.set(n.id, r ?? g.node(n.op, n.dtype, n.shape, n.inputs.map((i) => mapped.get(i.id)!), n.attrs));
  }
  return roots.map((r) => mapped.get(r.id)!);
}
