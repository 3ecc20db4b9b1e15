/**
 * Values every kernel computes itself instead of reading a buffer: literals, runtime scalars and
 * dims (inline leaves), and scalar constants — one-element values computed from those alone —
 * which a kernel computes once before its loop (codegen hoists them). schedule.ts re-exports these.
 */
import { Op, isElementwise, type Node } from "./ir.js";

/**
 * The most nodes a scalar constant may be computed from (itself included). A larger one-element
 * value is scheduled as any other value (computed once, stored, read): every kernel that used it
 * would otherwise repeat the whole computation in its preamble, and a 7,000-op chain of `sin`
 * on a runtime scalar would make each of those kernels 7,000 ops long. Three such inputs and the
 * node reading them stay under MAX_FUSED_OPS, so one node always fits a kernel.
 */
export const MAX_SCALAR_CONST_OPS = 64;

const inlineLeaves: ReadonlySet<Op> = new Set([Op.Const, Op.Scalar, Op.Dim]);

/** Values computed inside any kernel for free: literals, runtime scalars and dims. */
export function isInlineLeaf(n: Node): boolean {
  return inlineLeaves.has(n.op);
}

const notScalarConst: ReadonlySet<Op> = new Set([Op.Const, Op.Scalar, Op.Dim, Op.Random, Op.Iota, Op.Input]);
const closureCache = new WeakMap<Node, readonly Node[] | null>();

/**
 * The nodes a scalar constant is computed from (itself included, inline leaves left out), or
 * null when `n` is no scalar constant. Iterative, and it stops past MAX_SCALAR_CONST_OPS nodes,
 * so a long chain costs neither stack depth nor time.
 */
export function scalarConstNodes(n: Node): readonly Node[] | null {
  const known = closureCache.get(n);
  if (known !== undefined) return known;
  if (isInlineLeaf(n)) return null;
  const seen = new Map<number, Node>();
  const stack = [n];
  let ok = true;
  while (stack.length > 0 && ok) {
    const m = stack.pop()!;
    if (seen.has(m.id) || isInlineLeaf(m)) continue;
    const cached = closureCache.get(m);
    if (cached === null || !isElementwise(m.op) || notScalarConst.has(m.op) || !m.shape.every((d) => d === 1)) ok = false;
    else if (cached !== undefined) cached.forEach((c) => seen.set(c.id, c));
    else {
      seen.set(m.id, m);
      stack.push(...m.inputs);
    }
    if (seen.size > MAX_SCALAR_CONST_OPS) ok = false;
  }
  const closure = ok ? [...seen.values()] : null;
  closureCache.set(n, closure);
  return closure;
}

/**
 * A one-element elementwise value computed from literals, runtime scalars and dims only (ReSTE's
 * `(1 - o) / o`, `sqrt(I)`), from at most MAX_SCALAR_CONST_OPS nodes: the same in every element
 * of every kernel, so a kernel computes it once up front instead of reading it from a buffer
 * another dispatch wrote.
 */
export function isScalarConst(n: Node): boolean {
  return scalarConstNodes(n) !== null;
}

/** Values a kernel computes itself instead of reading a buffer: inline leaves and scalar constants. */
export function isInlineValue(n: Node): boolean {
  return isInlineLeaf(n) || isScalarConst(n);
}
