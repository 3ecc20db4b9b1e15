/**
 * IR invariants, checked after every stage in the tests (tinygrad's type_verify idea), so a
 * broken pass fails where it broke: elementwise shapes are the broadcast of their inputs,
 * reductions drop exactly their axes, matmul dims agree, casts and comparisons have the right
 * dtypes, and every attribute a back end reads is present.
 */
import { Op, binaryOps, isElementwise, topoSort, unaryOps, type Node } from "./ir.js";
import { broadcastShapes, elementCount, type DimT } from "./types.js";
import { convNodeProblem, convOps } from "./conv-derivatives.js";

/** Every invariant violation among the nodes reachable from `roots` (empty when all hold). */
export function verifyGraph(roots: readonly Node[]): string[] {
  const problems: string[] = [];
  for (const n of topoSort(roots)) {
    const p = check(n);
    if (p !== undefined) problems.push(`%${n.id} ${n.op} ${n.dtype}[${n.shape.join(", ")}]: ${p}`);
  }
  return problems;
}

const same = (a: readonly DimT[], b: readonly DimT[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const comparisons = new Set([Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne, Op.And, Op.Or, Op.Not]);

function check(n: Node): string | undefined {
  const ins = n.inputs;
  if (unaryOps.has(n.op) && ins.length !== 1) return "a unary op needs one input";
  if (binaryOps.has(n.op) && ins.length !== 2) return "a binary op needs two inputs";
  if (comparisons.has(n.op) && n.dtype !== "bool") return "comparisons and logic yield bool";
  if (isElementwise(n.op) && ins.length > 0 && n.op !== Op.Broadcast) {
    let shape: DimT[] | null = [];
    for (const i of ins.slice(0, n.op === Op.Custom ? 1 : ins.length)) {
      const b = broadcastShapes(shape, [...i.shape]);
      if ("clash" in b) return `inputs do not broadcast (${b.clash[0]} vs ${b.clash[1]})`;
      shape = b.shape;
    }
    if (shape === null || !same(shape, n.shape)) return `shape should be the broadcast of the inputs: [${shape?.join(", ")}]`;
    if ([Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Pow, Op.Minimum, Op.Maximum].includes(n.op) && ins.some((i) => i.dtype !== n.dtype)) {
      return "arithmetic inputs must have the result's dtype (lower inserts casts)";
    }
  }
  if (convOps.has(n.op)) return convNodeProblem(n);
  switch (n.op) {
    case Op.Broadcast: {
      const b = broadcastShapes([...ins[0]!.shape], [...n.shape]);
      return "clash" in b || !same(b.shape ?? [], n.shape) ? "cannot broadcast the input to this shape" : undefined;
    }
    case Op.Sum:
    case Op.Max:
    case Op.Min:
    case Op.ArgMax:
    case Op.ArgMin: {
      const x = ins[0]!;
      const axes = (n.attrs["axes"] as number[] | undefined) ?? [];
      const all = axes.length === 0 ? [...x.shape.keys()] : axes;
      const keep = n.attrs["keepdims"] === true;
      const want = x.shape.flatMap((d, i) => (all.includes(i) ? (keep ? [1] : []) : [d]));
      return same(want, n.shape) ? undefined : `a reduction over axes [${all}] of [${x.shape}] has shape [${want}]`;
    }
    case Op.MatMul: {
      const [a, b] = ins as [Node, Node];
      if (a.shape.length < 2 || b.shape.length < 2) return "matmul operands need rank >= 2 (lower reshapes 1-D operands)";
      const k1 = a.shape[a.shape.length - 1];
      const k2 = b.shape[b.shape.length - 2];
      return k1 === k2 ? undefined : `inner dims differ: ${k1} vs ${k2}`;
    }
    case Op.Transpose: {
      const perm = n.attrs["perm"] as number[] | undefined;
      if (perm === undefined || perm.length !== ins[0]!.shape.length) return "transpose needs a perm of the input's rank";
      return same(perm.map((p) => ins[0]!.shape[p]!), n.shape) ? undefined : "the shape is not the permuted input shape";
    }
    case Op.Reshape: {
      const a = elementCount([...ins[0]!.shape]);
      const b = elementCount([...n.shape]);
      return a !== null && b !== null && a !== b ? "reshape changes the element count" : undefined;
    }
    case Op.Random:
      return n.attrs["site"] === undefined || n.attrs["stream"] === undefined ? "random needs site and stream" : undefined;
    case Op.Custom:
      return typeof n.attrs["rule"] === "number" ? undefined : "custom needs a rule";
    case Op.NmMask:
      return typeof n.attrs["n"] === "number" && typeof n.attrs["m"] === "number" ? undefined : "nm_mask needs n and m";
    default:
      return undefined;
  }
}
