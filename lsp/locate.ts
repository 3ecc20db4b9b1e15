/**
 * Which name stands at a cursor: walks one module's AST to the innermost identifier whose span
 * holds the offset (the end counts, so a cursor just after a word still finds it), and says
 * what role it plays: an item's own name, a parameter, a let, a use in an expression, a callee,
 * the estimator after `backward`, an estimator's target or input, an imported name, a module path.
 */
import type * as A from "../grammar/ast.js";

/** A name under the cursor, with the item it is in (when inside one). */
export type Target =
  | { kind: "item"; item: Exclude<A.Item, A.ImportDecl>; span: A.Span }
  | { kind: "param"; param: A.Param; item: A.Item; span: A.Span }
  | { kind: "let"; name: A.Ident; item: A.Item; span: A.Span }
  | { kind: "name"; name: string; item: A.Item; span: A.Span }
  | { kind: "callee"; call: A.CallExpr; item: A.Item; span: A.Span }
  | { kind: "estimatorRef"; name: string; item: A.Item; span: A.Span }
  | { kind: "target"; item: A.EstimatorDecl; span: A.Span }
  | { kind: "input"; name: A.Ident; item: A.EstimatorDecl; span: A.Span }
  | { kind: "grad"; name: A.Ident; item: A.EstimatorDecl; span: A.Span }
  | { kind: "dim"; name: string; item: A.Item; span: A.Span }
  | { kind: "importName"; name: A.ImportName; decl: A.ImportDecl; span: A.Span }
  | { kind: "importPath"; decl: A.ImportDecl; span: A.Span };

function holds(span: A.Span, offset: number): boolean {
  return offset >= span.start && offset <= span.end && span.end > span.start;
}

/** The target at `offset` in `ast`, or undefined over whitespace, keywords and literals. */
export function targetAt(ast: A.Module, offset: number): Target | undefined {
  for (const item of ast.items) {
    if (!holds(item.span, offset)) continue;
    return item.kind === "Import" ? inImport(item, offset) : inItem(item, offset);
  }
  return undefined;
}

function inImport(decl: A.ImportDecl, offset: number): Target | undefined {
  if (holds(decl.fromSpan, offset)) return { kind: "importPath", decl, span: decl.fromSpan };
  for (const n of decl.names) {
    const id = n.alias !== undefined && holds(n.alias.span, offset) ? n.alias : n.name;
    if (holds(id.span, offset)) return { kind: "importName", name: n, decl, span: id.span };
  }
  return undefined;
}

function inItem(item: Exclude<A.Item, A.ImportDecl>, offset: number): Target | undefined {
  if (holds(item.name.span, offset)) return { kind: "item", item, span: item.name.span };
  if (item.kind === "Const") return inExpr(item.value, item, offset);
  for (const p of item.params) {
    if (holds(p.name.span, offset)) return { kind: "param", param: p, item, span: p.name.span };
    for (const d of p.type?.dims ?? []) if (d.kind === "DimSymbol" && holds(d.span, offset)) return { kind: "dim", name: d.name, item, span: d.span };
    if (p.default !== undefined && holds(p.default.span, offset)) return inExpr(p.default, item, offset);
  }
  if (item.kind === "Fn") {
    const result = item.result === undefined ? [] : item.result.kind === "TupleType" ? item.result.elements : [item.result];
    for (const t of result) for (const d of t.dims ?? []) if (d.kind === "DimSymbol" && holds(d.span, offset)) return { kind: "dim", name: d.name, item, span: d.span };
  } else {
    if (holds(item.target.span, offset)) return { kind: "target", item, span: item.target.span };
    if (item.outName !== undefined && holds(item.outName.span, offset)) return { kind: "name", name: item.outName.name, item, span: item.outName.span };
    for (const x of item.inputs) if (holds(x.span, offset)) return { kind: "input", name: x, item, span: x.span };
  }
  for (const s of item.body) {
    if (!holds(s.span, offset)) continue;
    if (s.kind === "Let") for (const n of s.names) if (holds(n.span, offset)) return { kind: "let", name: n, item, span: n.span };
    if (s.kind === "Grad" && item.kind === "Estimator" && holds(s.name.span, offset)) return { kind: "grad", name: s.name, item, span: s.name.span };
    return inExpr(s.value, item, offset);
  }
  return undefined;
}

function inExpr(e: A.Expr, item: A.Item, offset: number): Target | undefined {
  if (!holds(e.span, offset)) return undefined;
  switch (e.kind) {
    case "Name":
      return { kind: "name", name: e.name, item, span: e.span };
    case "Call":
      if (holds(e.callee.span, offset) && e.callee.name !== "") return { kind: "callee", call: e, item, span: e.callee.span };
      return first(e.args.map((a) => a.value), item, offset);
    case "Backward":
      if (holds(e.estimator.span, offset)) return { kind: "estimatorRef", name: e.estimator.name, item, span: e.estimator.span };
      return first([e.call, ...e.args.map((a) => a.value)], item, offset);
    case "Unary":
      return inExpr(e.operand, item, offset);
    case "Detach":
      return inExpr(e.operand, item, offset);
    case "Binary":
      return first([e.left, e.right], item, offset);
    case "Ternary":
      return first([e.cond, e.then, e.else], item, offset);
    case "Index":
      return first([e.target, ...e.indices], item, offset);
    case "Tuple":
    case "List":
      return first(e.elements, item, offset);
    default:
      return undefined;
  }
}

function first(es: A.Expr[], item: A.Item, offset: number): Target | undefined {
  for (const e of es) {
    const t = inExpr(e, item, offset);
    if (t !== undefined) return t;
  }
  return undefined;
}
