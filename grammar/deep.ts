/**
 * Recursion over deep trees on a bounded stack. The passes over an expression (check, lower,
 * print) recurse once per level, so a 10,000-operator chain (a left-nested tree) or 1,000 nested
 * calls went as deep as the tree, past a library caller's ~1 MB stack. With a DepthGuard, a pass
 * that finds itself DEEP levels down first computes, from a loop over an explicit stack, the
 * nodes below at depths STRIDE, 2·STRIDE, …, innermost first, each from a shallow stack; its own
 * recursion then meets a ready result at most STRIDE levels down. Each node is still computed by
 * the pass's own code, once, after the children the pass computes before it; only the order in
 * which separate subtrees are taken changes, and only for trees deeper than DEEP.
 */

import type * as A from "./ast.js";

/** Nested visits after which a pass computes ahead. */
export const DEEP = 64;
/** Levels between nodes computed ahead. */
export const STRIDE = 32;

/**
 * Wraps one recursive step `step(node, ctx)` of a pass. `children(node, ctx)` must list, in the
 * order the step visits them, children that the step always visits through {@link visit} with
 * the same `ctx` (a child it may skip, or visit with another context, must be left out: it
 * would be computed for nothing, or wrongly).
 */
export class DepthGuard<N, R, C> {
  private readonly ready = new Map<N, R>();
  private depth = 0;

  /** `memo`: keep every result for later visits of the same node (a pass that visits a node twice), not only those computed ahead. */
  constructor(
    private readonly step: (node: N, ctx: C) => R,
    private readonly children: (node: N, ctx: C) => readonly N[],
    private readonly memo = false,
  ) {}

  /** The step's result for `node`: taken (once, unless `memo`) from those computed ahead, or computed now. */
  visit(node: N, ctx: C): R {
    if (this.ready.size > 0 && this.ready.has(node)) {
      const r = this.ready.get(node) as R;
      if (!this.memo) this.ready.delete(node);
      return r;
    }
    const outer = this.depth;
    if (outer < DEEP) {
      this.depth = outer + 1;
      try {
        return this.computed(node, ctx);
      } finally {
        this.depth = outer;
      }
    }
    const ahead = checkpoints(node, ctx, this.children);
    try {
      for (const m of ahead) {
        this.depth = 1;
        if (!this.ready.has(m)) this.ready.set(m, this.step(m, ctx));
      }
      this.depth = 1;
      return this.computed(node, ctx);
    } finally {
      this.depth = outer;
      // A result nobody took (the step skipped a listed child, or threw) must not serve a later visit.
      if (!this.memo) for (const m of ahead) this.ready.delete(m);
    }
  }

  private computed(node: N, ctx: C): R {
    const r = this.step(node, ctx);
    if (this.memo) this.ready.set(node, r);
    return r;
  }
}

/** The nodes below `root` at depths STRIDE, 2·STRIDE, … in post-order, found with an explicit stack. */
export function checkpoints<N, C>(root: N, ctx: C, children: (node: N, ctx: C) => readonly N[]): N[] {
  const out: N[] = [];
  const nodes: N[] = [root];
  const kids: (readonly N[])[] = [children(root, ctx)];
  const next: number[] = [0];
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const ks = kids[top]!;
    const i = next[top]!;
    if (i < ks.length) {
      next[top] = i + 1;
      const child = ks[i]!;
      nodes.push(child);
      kids.push(children(child, ctx));
      next.push(0);
      continue;
    }
    const node = nodes.pop()!;
    kids.pop();
    next.pop();
    if (top > 0 && top % STRIDE === 0) out.push(node);
  }
  return out;
}

/** Children of an AST expression, in source order. */
export function exprChildren(e: A.Expr): readonly A.Expr[] {
  switch (e.kind) {
    case "Unary":
    case "Detach":
      return [e.operand];
    case "Binary":
      return [e.left, e.right];
    case "Ternary":
      return [e.cond, e.then, e.else];
    case "Call":
      return e.args.map((a) => a.value);
    case "Index":
      return [e.target, ...e.indices];
    case "Backward":
      return [e.call, ...e.args.map((a) => a.value)];
    case "Tuple":
    case "List":
      return e.elements;
    default:
      return none;
  }
}

const none: readonly never[] = [];
