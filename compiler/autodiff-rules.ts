/**
 * The derivative table (STYLE.md §4): op → (node, cotangent) → one cotangent per input, null for
 * a non-differentiable input. Piecewise-constant ops (sign, round, step, nm_mask, comparisons)
 * have zero derivative here; estimators exist to replace exactly that. Ties in max/min and
 * maximum/minimum share the cotangent equally, as JAX does.
 */
import { Op, type Graph, type Node } from "./ir.js";
import { broadcastShapes, type DimT } from "./types.js";
import { convDerivative, convOps } from "./conv-derivatives.js";

/** Node constructors the rules use (elementwise ops broadcast their inputs). */
export interface Builder {
  graph: Graph;
  c(v: number): Node;
  add(a: Node, b: Node): Node;
  sub(a: Node, b: Node): Node;
  mul(a: Node, b: Node): Node;
  div(a: Node, b: Node): Node;
  neg(a: Node): Node;
  un(op: Op, a: Node): Node;
  /** A comparison as 0/1 f32. */
  cmp(op: Op, a: Node, b: Node): Node;
  ew(op: Op, ...inputs: Node[]): Node;
  zeros(shape: readonly DimT[]): Node;
  dimValue(d: DimT): Node;
}

/** Sums a cotangent over broadcast axes so it has exactly `shape` (NumPy unbroadcasting). */
export function sumTo(b: Builder, ct: Node, shape: readonly DimT[]): Node {
  if (sameShape(ct.shape, shape)) return ct;
  const g = b.graph;
  let cur = ct;
  const lead = cur.shape.length - shape.length;
  if (lead > 0) {
    const axes = [...Array(lead).keys()];
    cur = g.node(Op.Sum, "f32", cur.shape.slice(lead), [cur], { axes, keepdims: false });
  }
  const off = shape.length - cur.shape.length;
  const ones = cur.shape.flatMap((d, i) => (shape[i + off] === 1 && d !== 1 ? [i] : []));
  if (ones.length > 0) cur = g.node(Op.Sum, "f32", cur.shape.map((d, i) => (ones.includes(i) ? 1 : d)), [cur], { axes: ones, keepdims: true });
  return sameShape(cur.shape, shape) ? cur : g.node(Op.Broadcast, "f32", shape, [cur]);
}

function sameShape(a: readonly DimT[], b: readonly DimT[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Reinserts reduced axes (size 1) so a reduction's cotangent broadcasts against its input. */
function keepDims(b: Builder, ct: Node, x: Node, n: Node): Node {
  if (n.attrs["keepdims"] === true) return ct;
  const axes = (n.attrs["axes"] as number[] | undefined) ?? [];
  const shape = x.shape.map((d, i) => (axes.length === 0 || axes.includes(i) ? 1 : d));
  return b.graph.node(Op.Reshape, "f32", shape, [ct]);
}

function transposeLast(b: Builder, x: Node): Node {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return b.graph.node(Op.Transpose, "f32", perm.map((p) => x.shape[p]!), [x], { perm });
}

function matmul(b: Builder, x: Node, y: Node): Node {
  // Batch dims broadcast NumPy-style ([M, 1] with [M, 3] is [M, 3]), not the longer of the two.
  const bs = broadcastShapes(x.shape.slice(0, -2), y.shape.slice(0, -2));
  const batch = "clash" in bs || bs.shape === null ? x.shape.slice(0, -2) : bs.shape;
  return b.graph.node(Op.MatMul, "f32", [...batch, x.shape[x.shape.length - 2]!, y.shape[y.shape.length - 1]!], [x, y]);
}

/** Cotangents of n's inputs; `needs(i)` says whether input i wants one (skips dead work). */
export function derivativeRule(b: Builder, n: Node, ct: Node, needs: (i: number) => boolean): (Node | null)[] {
  const [x, y, z] = n.inputs as Node[];
  if (convOps.has(n.op)) return convDerivative(b, n, ct, needs);
  switch (n.op) {
    case Op.Neg:
      return [b.neg(ct)];
    case Op.Abs:
      return [b.mul(ct, b.un(Op.Signum, x!))];
    case Op.Exp:
      return [b.mul(ct, n)];
    case Op.Log:
      return [b.div(ct, x!)];
    case Op.Log1p:
      return [b.div(ct, b.add(b.c(1), x!))];
    case Op.Sqrt:
      return [b.div(b.mul(ct, b.c(0.5)), n)];
    case Op.Rsqrt:
      return [b.mul(ct, b.div(b.mul(b.c(-0.5), n), x!))];
    case Op.Sin:
      return [b.mul(ct, b.un(Op.Cos, x!))];
    case Op.Cos:
      return [b.neg(b.mul(ct, b.un(Op.Sin, x!)))];
    case Op.Tanh:
      return [b.mul(ct, b.sub(b.c(1), b.mul(n, n)))];
    case Op.Sigmoid:
      return [b.mul(ct, b.mul(n, b.sub(b.c(1), n)))];
    case Op.Softplus:
      return [b.mul(ct, b.un(Op.Sigmoid, x!))];
    case Op.Relu:
      return [b.mul(ct, b.cmp(Op.Gt, x!, b.c(0)))];
    case Op.Add:
      return [ct, ct];
    case Op.Sub:
      return [ct, needs(1) ? b.neg(ct) : null];
    case Op.Mul:
      return [needs(0) ? b.mul(ct, y!) : null, needs(1) ? b.mul(ct, x!) : null];
    case Op.Div:
      return [needs(0) ? b.div(ct, y!) : null, needs(1) ? b.neg(b.div(b.mul(ct, n), y!)) : null];
    case Op.Mod:
      return [ct, needs(1) ? b.neg(b.mul(ct, b.un(Op.Floor, b.div(x!, y!)))) : null];
    case Op.Pow:
      return [
        needs(0) ? b.mul(ct, b.mul(y!, b.ew(Op.Pow, x!, b.sub(y!, b.c(1))))) : null,
        needs(1) ? b.mul(ct, b.mul(n, b.un(Op.Log, x!))) : null,
      ];
    case Op.Minimum:
    case Op.Maximum: {
      // The winner takes the cotangent; a tie splits it in half.
      const wins = b.cmp(n.op === Op.Maximum ? Op.Gt : Op.Lt, x!, y!);
      const tie = b.mul(b.cmp(Op.Eq, x!, y!), b.c(0.5));
      return [b.mul(ct, b.add(wins, tie)), b.mul(ct, b.sub(b.sub(b.c(1), wins), tie))];
    }
    case Op.Select:
      return [null, needs(1) ? b.ew(Op.Select, x!, ct, b.c(0)) : null, needs(2) ? b.ew(Op.Select, x!, b.c(0), ct) : null];
    case Op.Clamp: {
      const inside = b.mul(b.cmp(Op.Ge, x!, y!), b.cmp(Op.Le, x!, z!));
      return [b.mul(ct, inside), needs(1) ? b.mul(ct, b.cmp(Op.Lt, x!, y!)) : null, needs(2) ? b.mul(ct, b.cmp(Op.Gt, x!, z!)) : null];
    }
    case Op.Sum:
      return [b.graph.node(Op.Broadcast, "f32", x!.shape, [keepDims(b, ct, x!, n)])];
    case Op.Max:
    case Op.Min: {
      const kept = keepDims(b, n, x!, n);
      const mask = b.cmp(Op.Eq, x!, kept);
      const count = b.graph.node(Op.Sum, "f32", kept.shape, [mask], { axes: (n.attrs["axes"] as number[]) ?? [], keepdims: true });
      return [b.mul(b.div(mask, count), keepDims(b, ct, x!, n))];
    }
    case Op.MatMul:
      return [needs(0) ? matmul(b, ct, transposeLast(b, y!)) : null, needs(1) ? matmul(b, transposeLast(b, x!), ct) : null];
    case Op.Transpose: {
      const perm = n.attrs["perm"] as number[];
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [b.graph.node(Op.Transpose, "f32", x!.shape, [ct], { perm: inv })];
    }
    case Op.Reshape:
      return [b.graph.node(Op.Reshape, "f32", x!.shape, [ct])];
    case Op.Broadcast:
      return [ct];
    case Op.Gather:
      return [b.graph.node(Op.GatherGrad, "f32", x!.shape, [ct, y!], { axis: n.attrs["axis"] as number }), null];
    case Op.GatherGrad: {
      const axis = n.attrs["axis"] as number;
      const shape = [...n.shape.slice(0, axis), ...y!.shape, ...n.shape.slice(axis + 1)];
      return [b.graph.node(Op.Gather, "f32", shape, [ct, y!], { axis }), null];
    }
    case Op.StopGradient:
      return [null];
    default:
      // Piecewise-constant ops, comparisons, casts, argmax/argmin, sampling and leaves.
      return n.inputs.map(() => null);
  }
}
