/**
 * Which item of a program the cursor is on, for the plot: an estimator or fn declared in the
 * file, an imported name under the cursor, or the estimator named by a `backward E` inside a fn
 * body. Works on the AST alone (no check), so it answers while the program still has errors.
 */
import type * as A from "../../../grammar/ast.js";

/** The item the cursor picks: its local name (an import's alias) and the span to highlight. */
export type CursorPick =
  | { kind: "estimator" | "fn" | "name"; name: string; start: number; end: number }
  | { kind: "none"; reason: string };

/**
 * The item at `offset` in `module`:
 * - inside an estimator or fn declaration: that item, unless the cursor is on the estimator name
 *   of a `backward E(…)` in a fn body, which picks E;
 * - inside an import: the imported name under the cursor (the first one when between names);
 *   `kind: "name"`, since only the check knows whether it is an estimator or a fn;
 * - between items: the next item when the cursor is in (or right above) its `///` doc comment,
 *   else the item before the cursor (the one just written), else the first item.
 */
export function itemAtOffset(module: A.Module, text: string, offset: number): CursorPick {
  const items = module.items;
  if (items.length === 0) return { kind: "none", reason: "the program declares nothing to plot yet: write an estimator or a fn" };
  const inside = items.find((i) => i.span.start <= offset && offset <= i.span.end);
  if (inside !== undefined) return pickIn(inside, offset);
  const next = items.find((i) => i.span.start > offset);
  if (next !== undefined && onlyDocBetween(text, offset, next.span.start)) return pickIn(next, next.span.start);
  const before = [...items].reverse().find((i) => i.span.end < offset);
  return pickIn(before ?? items[0]!, (before ?? items[0]!).span.start);
}

function pickIn(item: A.Item, offset: number): CursorPick {
  const whole = { start: item.span.start, end: item.span.end };
  switch (item.kind) {
    case "Estimator":
      return { kind: "estimator", name: item.name.name, ...whole };
    case "Fn": {
      const named = backwardAt(item.body, offset);
      return named !== undefined ? { kind: "estimator", name: named.name, start: named.span.start, end: named.span.end } : { kind: "fn", name: item.name.name, ...whole };
    }
    case "Import": {
      if (item.names.length === 0) return { kind: "none", reason: `the import from "${item.from}" names nothing` };
      const n = item.names.find((x) => x.span.start <= offset && offset <= x.span.end) ?? item.names[0]!;
      const local = n.alias ?? n.name;
      return { kind: "name", name: local.name, start: n.span.start, end: n.span.end };
    }
    case "Const":
      return { kind: "none", reason: `'${item.name.name}' is a const: put the cursor on an estimator or a fn to plot it` };
  }
}

/** The estimator identifier of a `backward E` whose span holds `offset`, searched through a fn body. */
function backwardAt(body: A.Stmt[], offset: number): A.Ident | undefined {
  let found: A.Ident | undefined;
  const visit = (node: unknown): void => {
    if (found !== undefined || node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const n = node as { kind?: string; span?: A.Span };
    if (n.span !== undefined && (offset < n.span.start || offset > n.span.end)) return;
    if (n.kind === "Backward") {
      const b = node as A.BackwardExpr;
      // The estimator's name and its argument list both pick it; the call before `backward` does not.
      const argsEnd = b.args.length > 0 ? b.args[b.args.length - 1]!.span.end + 1 : b.estimator.span.end;
      if (offset >= b.estimator.span.start && offset <= Math.max(argsEnd, b.span.end)) {
        visit(b.args);
        if (found === undefined) found = b.estimator;
        return;
      }
    }
    for (const [key, value] of Object.entries(node)) if (key !== "span") visit(value);
  };
  visit(body);
  return found;
}

/**
 * True when the cursor at `from` sits in or right above the doc comment of the item at `to`:
 * every line after the cursor's, up to the item, is a `///` line (no blank line between), and the
 * rest of the cursor's own line is blank or a comment.
 */
function onlyDocBetween(text: string, from: number, to: number): boolean {
  const lines = text.slice(from, to).split("\n");
  const lineStart = text.lastIndexOf("\n", from - 1) + 1;
  const own = text.slice(lineStart, from + lines[0]!.length).trim();
  if (own !== "" && !own.startsWith("///")) return false;
  const between = lines.slice(1, -1);
  if (lines.length > 1 && lines[lines.length - 1]!.trim() !== "") return false;
  return between.every((l) => l.trim().startsWith("///"));
}
