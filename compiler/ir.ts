/**
 * The IR: one immutable, hash-consed node type `{ op, dtype, shape, inputs, attrs }` (STYLE.md §4).
 * A program is a DAG of tensor ops over symbolic shapes; both back ends print the same
 * scheduled IR. Elementwise ops broadcast their inputs implicitly (NumPy rules) to `shape`.
 */
import type { DType } from "../grammar/ast.js";
import type { DimT } from "./types.js";

export type { DType, DimT };

export enum Op {
  // ---------------------------------------------------------------- leaves
  /** A tensor input of the function, by name (attrs.name). */
  Input = "input",
  /** A runtime scalar option (attrs.name), such as ReSTE's `o`. */
  Scalar = "scalar",
  /** A literal scalar (attrs.value). */
  Const = "const",
  /** The runtime size of a shape symbol (attrs.name), as a scalar. */
  Dim = "dim",
  /** Philox draws: attrs { site, stream, open } — uniform in [0,1) or (0,1) when `open`. */
  Random = "random",
  /** 0, 1, 2, … along attrs.axis, broadcast to `shape`. */
  Iota = "iota",

  // ---------------------------------------------------------------- elementwise unary
  Neg = "neg",
  Abs = "abs",
  Sign = "sign",
  Signum = "signum",
  Exp = "exp",
  Log = "log",
  Log1p = "log1p",
  Sqrt = "sqrt",
  Rsqrt = "rsqrt",
  Sin = "sin",
  Cos = "cos",
  Tanh = "tanh",
  Sigmoid = "sigmoid",
  Softplus = "softplus",
  Relu = "relu",
  Floor = "floor",
  Ceil = "ceil",
  Round = "round",
  Step = "step",
  Not = "not",
  /** Converts to `dtype` (bool → f32 gives 0/1; f32 → i32 truncates). */
  Cast = "cast",

  // ---------------------------------------------------------------- elementwise binary and ternary
  Add = "add",
  Sub = "sub",
  Mul = "mul",
  Div = "div",
  Mod = "mod",
  Pow = "pow",
  Minimum = "minimum",
  Maximum = "maximum",
  Lt = "lt",
  Le = "le",
  Gt = "gt",
  Ge = "ge",
  Eq = "eq",
  Ne = "ne",
  And = "and",
  Or = "or",
  /** select(c, a, b): a where c is nonzero. */
  Select = "select",
  /** clamp(x, lo, hi); its derivative in x is 1 on lo <= x <= hi (inclusive, as PyTorch). */
  Clamp = "clamp",

  // ---------------------------------------------------------------- reductions (attrs.axes, attrs.keepdims)
  Sum = "sum",
  Max = "max",
  Min = "min",
  ArgMax = "argmax",
  ArgMin = "argmin",

  // ---------------------------------------------------------------- structure
  MatMul = "matmul",
  /** attrs.perm */
  Transpose = "transpose",
  /** The same elements in `shape`. */
  Reshape = "reshape",
  /** Materialises implicit broadcasting of the input to `shape`. */
  Broadcast = "broadcast",
  /** attrs.axis: NumPy take(x, idx, axis). */
  Gather = "gather",
  /** Scatter-add of a gather's cotangent back into x's shape (attrs.axis). */
  GatherGrad = "gather_grad",
  /** attrs { n, m }: 1 where |w| is among the n largest of each group of m on the last axis. */
  NmMask = "nm_mask",
  /**
   * 2-D convolution, NCHW (compiler/interpret-conv.ts): conv2d(x, w), its input gradient
   * (ct, w) and weight gradient (x, ct); attrs { stride, padding, dilation: [h, w], groups }.
   */
  Conv2d = "conv2d",
  Conv2dInputGrad = "conv2d_input_grad",
  Conv2dWeightGrad = "conv2d_weight_grad",
  /**
   * max_pool(x, v): v at the winner of each window of x (max pooling is v = x); its gradient
   * (x, ct); average pooling (x) and its gradient (ct). attrs { kernel, stride, padding: [h, w] }.
   */
  MaxPool2d = "max_pool2d",
  MaxPool2dGrad = "max_pool2d_grad",
  AvgPool2d = "avg_pool2d",
  AvgPool2dGrad = "avg_pool2d_grad",

  // ---------------------------------------------------------------- gradients
  /** The value of its input, with no cotangent. */
  StopGradient = "stop_gradient",
  /**
   * An estimator attached with `backward`: the value of inputs[0] (the call's forward result);
   * inputs[1..] are the call's inputs then the estimator's parameters. attrs.rule indexes the
   * lowered program's rule table. Autodiff sends no cotangent into inputs[0]'s own derivative:
   * the call's inputs get the estimator's grads instead.
   */
  Custom = "custom",
}

/** Attributes of a node; plain JSON values so they hash and print. */
export type Attrs = Readonly<Record<string, string | number | boolean | readonly number[] | null>>;

/** One IR node. Built only through `Graph.node`, which hash-conses: equal nodes are identical. */
export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly dtype: DType;
  readonly shape: readonly DimT[];
  readonly inputs: readonly Node[];
  readonly attrs: Attrs;
  /** The hash-consing key: op, dtype, shape, input ids and attrs. */
  readonly key: string;
}

const noAttrs: Attrs = Object.freeze({});

/** A node factory with hash-consing, so CSE is structural and free. */
export class Graph {
  private readonly table = new Map<string, Node>();
  private nextId = 0;

  node(op: Op, dtype: DType, shape: readonly DimT[], inputs: readonly Node[], attrs: Attrs = noAttrs): Node {
    const key = `${op}|${dtype}|${shape.join(",")}|${inputs.map((n) => n.id).join(",")}|${attrsKey(attrs)}`;
    const existing = this.table.get(key);
    if (existing !== undefined) return existing;
    const n: Node = Object.freeze({ id: this.nextId++, op, dtype, shape: Object.freeze([...shape]), inputs: Object.freeze([...inputs]), attrs, key });
    this.table.set(key, n);
    return n;
  }

  /** Number of distinct nodes ever built. */
  get size(): number {
    return this.table.size;
  }
}

function attrsKey(a: Attrs): string {
  const keys = Object.keys(a);
  if (keys.length === 0) return "";
  return keys
    .sort()
    .map((k) => `${k}=${JSON.stringify(a[k])}`)
    .join(";");
}

/** Op groups used by autodiff, optimize and schedule. */
export const unaryOps: ReadonlySet<Op> = new Set([
  Op.Neg, Op.Abs, Op.Sign, Op.Signum, Op.Exp, Op.Log, Op.Log1p, Op.Sqrt, Op.Rsqrt, Op.Sin, Op.Cos, Op.Tanh,
  Op.Sigmoid, Op.Softplus, Op.Relu, Op.Floor, Op.Ceil, Op.Round, Op.Step, Op.Not, Op.Cast,
]);
export const binaryOps: ReadonlySet<Op> = new Set([
  Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Mod, Op.Pow, Op.Minimum, Op.Maximum,
  Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne, Op.And, Op.Or,
]);
export const reductionOps: ReadonlySet<Op> = new Set([Op.Sum, Op.Max, Op.Min, Op.ArgMax, Op.ArgMin]);

/** True for ops computed independently per output element (fusable into one loop). */
export function isElementwise(op: Op): boolean {
  return unaryOps.has(op) || binaryOps.has(op) || op === Op.Select || op === Op.Clamp || op === Op.Const ||
    op === Op.Scalar || op === Op.Dim || op === Op.Random || op === Op.Iota || op === Op.StopGradient || op === Op.Broadcast;
}

/** Nodes reachable from `roots`, inputs before users (a topological order). */
export function topoSort(roots: readonly Node[]): Node[] {
  const seen = new Set<number>();
  const order: Node[] = [];
  const stack: { n: Node; i: number }[] = roots.map((n) => ({ n, i: 0 })).reverse();
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (seen.has(top.n.id)) {
      stack.pop();
      continue;
    }
    if (top.i < top.n.inputs.length) {
      const child = top.n.inputs[top.i++]!;
      if (!seen.has(child.id)) stack.push({ n: child, i: 0 });
      continue;
    }
    seen.add(top.n.id);
    order.push(top.n);
    stack.pop();
  }
  return order;
}

/**
 * Ids of the nodes whose values the roots depend on. A Custom node's value is its inputs[0] (the
 * call's forward result); its other inputs feed only its backward, so they are not followed.
 */
export function neededIds(roots: readonly Node[]): Set<number> {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    stack.push(...(n.op === Op.Custom ? n.inputs.slice(0, 1) : n.inputs));
  }
  return seen;
}

/** Prints nodes reachable from the named roots, one SSA line each: `%3 = mul f32[B, I] %1, %2 {…}`. */
export function printGraph(roots: Record<string, Node>): string {
  const order = topoSort(Object.values(roots));
  const local = new Map(order.map((n, i) => [n.id, i]));
  const ref = (n: Node) => `%${local.get(n.id)}`;
  const lines = order.map((n) => {
    const attrs = attrsKey(n.attrs);
    const ins = n.inputs.map(ref).join(", ");
    return `${ref(n)} = ${n.op} ${n.dtype}[${n.shape.join(", ")}]${ins ? " " + ins : ""}${attrs ? ` {${attrs}}` : ""}`;
  });
  for (const [name, n] of Object.entries(roots)) lines.push(`${name} = ${ref(n)}`);
  return lines.join("\n");
}
