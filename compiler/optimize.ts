/**
 * optimize: after autodiff, rewrites the graph bottom-up with a table of simplification rules
 * applied to a fixpoint (each rule one entry), folds scalar constant subexpressions, and drops
 * what autodiff no longer needs (estimator wrappers, stop-gradients). CSE is structural
 * (hash-consing) and DCE is reachability from the roots. Guarantees: same values, same shapes.
 */
import { evaluate } from "./interpret.js";
import { Graph, Op, isElementwise, topoSort, type Node } from "./ir.js";
import { isInlineValue } from "./schedule.js";

type Rule = (n: Node, g: Graph) => Node | undefined;

const isConst = (n: Node, v?: number) => n.op === Op.Const && (v === undefined || n.attrs["value"] === v);
const sameShape = (a: Node, b: Node) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
/** `x` may stand for `n` only if it has n's shape and dtype (no implicit broadcast lost). */
const fits = (x: Node, n: Node) => sameShape(x, n) && x.dtype === n.dtype;

/** Simplification rules, tried in order; each returns a replacement or undefined. */
const rules: Rule[] = [
  (n) => (n.op === Op.Custom || n.op === Op.StopGradient ? n.inputs[0] : undefined),
  (n) => (n.op === Op.Cast && n.inputs[0]!.dtype === n.dtype ? n.inputs[0] : undefined),
  (n) => ((n.op === Op.Broadcast || n.op === Op.Reshape) && fits(n.inputs[0]!, n) ? n.inputs[0] : undefined),
  // A reshape of a literal, runtime scalar, dim or scalar constant (to [1], as the VJP of sum
  // makes) is a broadcast: those are computed inside kernels and have no buffer a step could alias.
  (n, g) => (n.op === Op.Reshape && isInlineValue(n.inputs[0]!) ? g.node(Op.Broadcast, n.dtype, n.shape, [n.inputs[0]!]) : undefined),
  (n, g) =>
    n.op === Op.Broadcast && n.inputs[0]!.op === Op.Broadcast ? g.node(Op.Broadcast, n.dtype, n.shape, [n.inputs[0]!.inputs[0]!]) : undefined,
  (n) => (n.op === Op.Neg && n.inputs[0]!.op === Op.Neg && fits(n.inputs[0]!.inputs[0]!, n) ? n.inputs[0]!.inputs[0] : undefined),
  (n) => (n.op === Op.Mul && isConst(n.inputs[1]!, 1) && fits(n.inputs[0]!, n) ? n.inputs[0] : undefined),
  (n) => (n.op === Op.Mul && isConst(n.inputs[0]!, 1) && fits(n.inputs[1]!, n) ? n.inputs[1] : undefined),
  (n) => ((n.op === Op.Add || n.op === Op.Sub) && isConst(n.inputs[1]!, 0) && fits(n.inputs[0]!, n) ? n.inputs[0] : undefined),
  (n) => (n.op === Op.Add && isConst(n.inputs[0]!, 0) && fits(n.inputs[1]!, n) ? n.inputs[1] : undefined),
  (n) => (n.op === Op.Div && isConst(n.inputs[1]!, 1) && fits(n.inputs[0]!, n) ? n.inputs[0] : undefined),
  (n) => (n.op === Op.Pow && isConst(n.inputs[1]!, 1) && fits(n.inputs[0]!, n) ? n.inputs[0] : undefined),
  (n, g) => (n.op === Op.Pow && isConst(n.inputs[1]!, 2) ? g.node(Op.Mul, n.dtype, n.shape, [n.inputs[0]!, n.inputs[0]!]) : undefined),
  (n, g) => (n.op === Op.Sub && isConst(n.inputs[0]!, 0) && fits(n.inputs[1]!, n) ? g.node(Op.Neg, n.dtype, n.shape, [n.inputs[1]!]) : undefined),
  (n, g) => {
    if (n.op !== Op.Transpose || n.inputs[0]!.op !== Op.Transpose) return undefined;
    const inner = n.inputs[0]!.attrs["perm"] as number[];
    const outer = n.attrs["perm"] as number[];
    const perm = outer.map((p) => inner[p]!);
    const x = n.inputs[0]!.inputs[0]!;
    return perm.every((p, i) => p === i) ? x : g.node(Op.Transpose, n.dtype, n.shape, [x], { perm });
  },
  foldConstants,
];

/** Folds a scalar elementwise op whose inputs are all constants. */
function foldConstants(n: Node, g: Graph): Node | undefined {
  if (!isElementwise(n.op) || n.op === Op.Const || n.op === Op.Random || n.op === Op.Iota || n.shape.length > 0) return undefined;
  if (n.inputs.length === 0 || !n.inputs.every((i) => i.op === Op.Const)) return undefined;
  const [v] = evaluate([n], { inputs: {}, scalars: {}, dims: {}, seed: 0 });
  const value = n.dtype === "f32" ? Math.fround(v!.data[0]!) : v!.data[0]!;
  return g.node(Op.Const, n.dtype, [], [], { value });
}

/** Rewrites `roots` with the rules to a fixpoint; returns the new roots (same order). */
export function optimize(g: Graph, roots: readonly Node[], provenance?: Map<number, unknown>): Node[] {
  const mapped = new Map<number, Node>();
  for (const n of topoSort(roots)) {
    let cur = g.node(n.op, n.dtype, n.shape, n.inputs.map((i) => mapped.get(i.id)!), n.attrs);
    for (let changed = true; changed; ) {
      changed = false;
      for (const rule of rules) {
        const next = rule(cur, g);
        if (next !== undefined && next !== cur) {
          cur = next;
          changed = true;
          break;
        }
      }
    }
    mapped.set(n.id, cur);
    if (provenance !== undefined && !provenance.has(cur.id) && provenance.has(n.id)) provenance.set(cur.id, provenance.get(n.id));
  }
  return roots.map((r) => mapped.get(r.id)!);
}
