/**
 * Document symbols (the outline): imports, consts, estimators and fns in written order; an fn's
 * or estimator's parameters and lets (and an estimator's inputs) as its children.
 */
import { SymbolKind, type DocumentSymbol } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type * as A from "../grammar/ast.js";
import { printItemHead } from "../grammar/print.js";

/** The outline of one module. */
export function documentSymbols(ast: A.Module, doc: TextDocument): DocumentSymbol[] {
  const range = (s: A.Span) => ({ start: doc.positionAt(s.start), end: doc.positionAt(s.end) });
  const symbol = (name: string, kind: SymbolKind, whole: A.Span, at: A.Span, detail?: string, children?: DocumentSymbol[]): DocumentSymbol => {
    const s: DocumentSymbol = { name, kind, range: range(whole), selectionRange: range(at) };
    if (detail !== undefined) s.detail = detail;
    if (children !== undefined) s.children = children;
    return s;
  };
  const out: DocumentSymbol[] = [];
  for (const item of ast.items) {
    if (item.kind === "Import") {
      for (const n of item.names) {
        const local = n.alias ?? n.name;
        if (local.name !== "") out.push(symbol(local.name, SymbolKind.Module, item.span, local.span, `from "${item.from}"`));
      }
      continue;
    }
    if (item.name.name === "") continue;
    if (item.kind === "Const") {
      out.push(symbol(item.name.name, SymbolKind.Constant, item.span, item.name.span, printItemHead(item)));
      continue;
    }
    const children: DocumentSymbol[] = item.params.map((p) => symbol(p.name.name, SymbolKind.Variable, p.span, p.name.span, "parameter"));
    if (item.kind === "Estimator") for (const x of item.inputs) children.push(symbol(x.name, SymbolKind.Variable, x.span, x.span, `input of ${item.target.name}`));
    for (const s of item.body) {
      if (s.kind === "Let") for (const n of s.names) if (n.name !== "") children.push(symbol(n.name, SymbolKind.Variable, s.span, n.span, "let"));
    }
    const kind = item.kind === "Fn" ? SymbolKind.Function : SymbolKind.Operator;
    out.push(symbol(item.name.name, kind, item.span, item.name.span, printItemHead(item), children));
  }
  return out;
}
