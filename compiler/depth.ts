/**
 * Stack depth as a property of the input: the passes recurse once per level of nesting (chains
 * are walked with loops, grammar/chains.ts), so a deep enough nest exhausts the JavaScript stack. That is
 * reported as E1002, never as an internal error. The CLI compiles on a 256 MB stack
 * (cli/main.ts), where the parser's bracket limit (E1002 past 20,000) comes first.
 */
import { error, type Diagnostic, type Span } from "./diagnostics.js";

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
