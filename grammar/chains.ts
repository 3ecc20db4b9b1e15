/**
 * Chains walked with a loop instead of recursion. `a + b + c + …` is a left-nested tree, and
 * `x detach detach …` and `- - x` nest through their operand, so a pass that recursed into the
 * nested side went as deep as the chain is long (10,000 operators, 3,000 `detach`). The checker
 * (compiler/check-expr.ts), lowering (compiler/lower.ts) and the printer (print.ts) first
 * handle the chain's inner links from the innermost out, remembering each result, so the
 * recursion into the nested side finds it ready and stops at once.
 */
import type * as A from "./ast.js";

/** The nested side of a chain link: a binary operator's left operand, a unary or `detach` operand. */
export function chainChild(e: A.Expr): A.Expr | undefined {
  return e.kind === "Binary" ? e.left : e.kind === "Unary" || e.kind === "Detach" ? e.operand : undefined;
}

/**
 * The links below `e` that are not in `done` yet, outermost first (`e` itself excluded), when
 * there are at least two; empty otherwise, so short expressions take the plain path.
 */
export function pendingLinks(e: A.Expr, done: ReadonlyMap<A.Expr, unknown>): readonly A.Expr[] {
  // Most expressions are no chain at all: answer those without allocating.
  const first = chainChild(e);
  if (first === undefined || chainChild(first) === undefined || done.has(first)) return none;
  const links: A.Expr[] = [];
  for (let x: A.Expr | undefined = first; x !== undefined && chainChild(x) !== undefined && !done.has(x); x = chainChild(x)) links.push(x);
  return links.length >= 2 ? links : none;
}

const none: readonly A.Expr[] = [];
