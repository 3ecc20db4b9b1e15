/**
 * Derivative rules of the convolution and pooling ops, for the table in autodiff-rules.ts. Each
 * op is linear in the inputs that take a cotangent, so its rule is another op of the family and
 * higher orders close: with y = conv(x, w),
 *   conv(x, w):            dx = inputGrad(ct, w),    dw = weightGrad(x, ct)
 *   inputGrad(g, w) (→ x): dg = conv(ct, w),         dw = weightGrad(ct, g)
 *   weightGrad(x, g) (→ w): dx = inputGrad(g, ct),   dg = conv(x, ct)
 * Max pooling is pick(x, v) — v at the winner of each window of x — piecewise constant in x:
 *   pick(x, v): dv = maxGrad(x, ct);   maxGrad(x, g): dg = pick(x, ct)
 * and average pooling is linear: avg(x): dx = avgGrad(ct);   avgGrad(g): dg = avg(ct).
 */
import type { Builder } from "./autodiff-rules.js";
import { Op, type Node } from "./ir.js";

/** The ops this file differentiates. */
export const convOps: ReadonlySet<Op> = new Set([
  Op.Conv2d, Op.Conv2dInputGrad, Op.Conv2dWeightGrad, Op.MaxPool2d, Op.MaxPool2dGrad, Op.AvgPool2d, Op.AvgPool2dGrad,
]);

/** Cotangents of n's inputs (n's op in {@link convOps}); `needs(i)` skips the unwanted ones. */
export function convDerivative(b: Builder, n: Node, ct: Node, needs: (i: number) => boolean): (Node | null)[] {
  const g = b.graph;
  const [p, q] = n.inputs as [Node, Node | undefined];
  const node = (op: Op, like: Node, inputs: Node[]) => g.node(op, "f32", like.shape, inputs, n.attrs);
  const when = (i: number, make: () => Node) => (needs(i) ? make() : null);
  switch (n.op) {
    case Op.Conv2d:
      return [when(0, () => node(Op.Conv2dInputGrad, p, [ct, q!])), when(1, () => node(Op.Conv2dWeightGrad, q!, [p, ct]))];
    case Op.Conv2dInputGrad:
      return [when(0, () => node(Op.Conv2d, p, [ct, q!])), when(1, () => node(Op.Conv2dWeightGrad, q!, [ct, p]))];
    case Op.Conv2dWeightGrad:
      return [when(0, () => node(Op.Conv2dInputGrad, p, [q!, ct])), when(1, () => node(Op.Conv2d, q!, [p, ct]))];
    case Op.MaxPool2d:
      return [null, when(1, () => node(Op.MaxPool2dGrad, q!, [p, ct]))];
    case Op.MaxPool2dGrad:
      return [null, when(1, () => node(Op.MaxPool2d, q!, [p, ct]))];
    case Op.AvgPool2d:
      return [node(Op.AvgPool2dGrad, p, [ct])];
    case Op.AvgPool2dGrad:
      return [node(Op.AvgPool2d, p, [ct])];
    default:
      return n.inputs.map(() => null);
  }
}

/**
 * What is wrong with a convolution or pooling node, for compiler/verify.ts: its geometry attrs,
 * operand count and ranks (the shape arithmetic is the interpreter's and the runtime's to check).
 */
export function convNodeProblem(n: Node): string | undefined {
  const pool = n.op === Op.MaxPool2d || n.op === Op.MaxPool2dGrad || n.op === Op.AvgPool2d || n.op === Op.AvgPool2dGrad;
  const keys = pool ? ["kernel", "stride", "padding"] : ["stride", "padding", "dilation"];
  for (const k of keys) {
    const v = n.attrs[k];
    if (!Array.isArray(v) || v.length !== 2) return `needs attrs.${k} as [h, w]`;
  }
  if (!pool && typeof n.attrs["groups"] !== "number") return "needs attrs.groups";
  if ([n, ...n.inputs].some((i) => i.shape.length !== 4)) return "operands and result must be rank 4 (NCHW)";
  const expected = { [Op.Conv2d]: 2, [Op.Conv2dInputGrad]: 2, [Op.Conv2dWeightGrad]: 2, [Op.MaxPool2d]: 2, [Op.MaxPool2dGrad]: 2, [Op.AvgPool2d]: 1, [Op.AvgPool2dGrad]: 1 } as Partial<Record<Op, number>>;
  return n.inputs.length === expected[n.op] ? undefined : `takes ${expected[n.op]} inputs`;
}
