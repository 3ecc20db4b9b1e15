/**
 * Stack depth as a property of the input. The passes over an expression recurse once per level,
 * but compute ahead past a fixed depth (grammar/deep.ts), so nesting costs them no stack; the
 * parser takes deep bracket nests bottom-up (grammar/nesting.ts). What is left, a stack overflow
 * in some other recursion (a very deep chain of fns calling fns, say), is reported as E1002,
 * never as an internal error.
 */
import type * as A from "../grammar/ast.js";
import { error, type Diagnostic, type Span } from "./diagnostics.js";
import type { Primitive } from "./primitives.js";

/** Whether `e` is V8's "Maximum call stack size exceeded". */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/** E1002 for an expression too deep for `stage` on this thread's stack. */
export function tooDeep(span: Span, stage: string): Diagnostic {
  return error("E1002", span, `this nests too deeply to ${stage} on this thread's stack`, {
    hint: "split long or deeply nested expressions with let bindings; the estc command runs with a deeper stack than a library call",
  });
}

/**
 * The arguments of a call bound to `params` (positional ones in order, then by name), in the
 * order of `params`, keeping those whose parameter `keep` accepts: the order in which the
 * checker and lowering visit a call's arguments.
 */
export function boundArguments<P extends { name: string }>(args: readonly A.Arg[], params: readonly P[], keep: (p: P) => boolean): A.Expr[] {
  const byName = new Map<string, A.Expr>();
  let next = 0;
  for (const a of args) {
    const name = a.name?.name ?? params[next++]?.name;
    if (name !== undefined && !byName.has(name)) byName.set(name, a.value);
  }
  const out: A.Expr[] = [];
  for (const p of params) {
    const e = byName.get(p.name);
    if (e !== undefined && keep(p)) out.push(e);
  }
  return out;
}

/** The tensor arguments of a primitive call, which both the checker and lowering always visit. */
export function tensorArguments(prim: Primitive, args: readonly A.Arg[]): A.Expr[] {
  return boundArguments(args, prim.params, (p) => p.kind === "tensor");
}
