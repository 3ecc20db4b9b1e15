/**
 * Completion. After `backward` (with or without the start of a name): the estimators whose
 * target is the primitive or fn the `backward` is attached to — those in scope first, then the
 * stdlib's, each with the import it needs as an additional edit. Elsewhere: the names bound
 * before the cursor in the enclosing fn or estimator, the module's items and imports, the
 * primitives and the keywords.
 */
import type { IToken } from "chevrotain";
import { CompletionItemKind, type CompletionItem, type TextEdit } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type * as A from "../grammar/ast.js";
import { printItemHead } from "../grammar/print.js";
import * as T from "../grammar/tokens.js";
import { primitives } from "../compiler/primitives.js";
import { Resolver, stdlibModuleIds, type CompilerHost, type ItemSymbol, type ModuleInfo } from "../compiler/resolve.js";
import { SourceMap } from "../compiler/source.js";
import { showTy } from "../compiler/types.js";
import type { Analysis } from "./analysis.js";

const keywords = ["import", "from", "as", "const", "estimator", "for", "fn", "let", "return", "grad", "surrogate", "backward", "detach", "true", "false", "f32", "i32", "bool"];

/**
 * Completion items at `offset` of `doc`, whose latest analysis is `a`. `bySpace`: the editor asked
 * because a space was typed (the trigger character), which only `backward ` answers, so a list
 * does not pop up after every space.
 */
export function completions(a: Analysis, doc: TextDocument, offset: number, bySpace = false): CompletionItem[] {
  const tokens = T.lexer.tokenize(doc.getText().slice(0, offset)).tokens;
  const target = backwardTarget(tokens, offset);
  if (target !== undefined) return a.entry === undefined ? [] : estimatorsFor(a, a.entry, target, doc);
  return a.entry === undefined || bySpace ? [] : namesInScope(a, a.entry, offset);
}

/**
 * The callee a `backward` right before the cursor is attached to (`sign` in `sign x backward |`
 * and in `sign(abs(x)) backward Re|`), or undefined when the cursor does not follow `backward`.
 */
export function backwardTarget(tokens: IToken[], offset: number): string | undefined {
  let i = tokens.length - 1;
  const last = tokens[i];
  if (last !== undefined && last.tokenType === T.Ident && last.startOffset + last.image.length === offset) i--;
  if (tokens[i]?.tokenType !== T.Backward) return undefined;
  i--;
  let callee: string | undefined;
  while (i >= 0) {
    const t = tokens[i]!;
    if (t.tokenType === T.RParen || t.tokenType === T.RBracket) {
      i = matching(tokens, i) - 1;
      continue;
    }
    if (t.tokenType !== T.Ident && t.tokenType !== T.NumberLit && t.tokenType !== T.True && t.tokenType !== T.False) break;
    if (t.tokenType === T.Ident) callee = t.image;
    i--;
  }
  return callee;
}

/** The index of the `(` or `[` that the closing token at `i` matches (0 when unbalanced). */
function matching(tokens: IToken[], i: number): number {
  let depth = 0;
  for (let j = i; j >= 0; j--) {
    const t = tokens[j]!.tokenType;
    if (t === T.RParen || t === T.RBracket) depth++;
    else if (t === T.LParen || t === T.LBracket) depth--;
    if (depth === 0) return j;
  }
  return 0;
}

function estimatorsFor(a: Analysis, m: ModuleInfo, target: string, doc: TextDocument): CompletionItem[] {
  const items: CompletionItem[] = [];
  for (const [name, entry] of m.scope) {
    if (entry.symbol.kind !== "estimator" || entry.symbol.decl.target.name !== target) continue;
    items.push(estimatorItem(name, entry.symbol.decl, entry.via?.from, "0"));
  }
  for (const { name, decl, id } of stdEstimators(a.host)) {
    if (decl.target.name !== target || m.scope.has(name)) continue;
    const item = estimatorItem(name, decl, id, "1");
    item.additionalTextEdits = [importEdit(m, name, id, doc)];
    items.push(item);
  }
  return items;
}

/** The stdlib's estimators, parsed once per stdlib folder (the stdlib does not change under a running server). */
const stdCache = new Map<string, { name: string; decl: A.EstimatorDecl; id: string }[]>();

function stdEstimators(host: CompilerHost): { name: string; decl: A.EstimatorDecl; id: string }[] {
  const known = stdCache.get(host.stdlibDir);
  if (known !== undefined) return known;
  const resolver = new Resolver(host, new SourceMap());
  const found = stdlibModuleIds(host).flatMap((id) =>
    [...(resolver.loadStd(id)?.items ?? [])].flatMap(([name, sym]) => (sym.kind === "estimator" ? [{ name, decl: sym.decl, id }] : [])),
  );
  stdCache.set(host.stdlibDir, found);
  return found;
}

function estimatorItem(name: string, decl: A.EstimatorDecl, from: string | undefined, rank: string): CompletionItem {
  const item: CompletionItem = { label: name, kind: CompletionItemKind.Class, detail: printItemHead(decl) + (from === undefined ? "" : `  (${from})`), sortText: `${rank}${name}` };
  if (decl.doc !== undefined) item.documentation = { kind: "markdown", value: decl.doc };
  return item;
}

/** `import { Name } from "std/x"`: into an existing import of that module, or as a new line after the imports. */
function importEdit(m: ModuleInfo, name: string, id: string, doc: TextDocument): TextEdit {
  const imports = m.ast.items.filter((i): i is A.ImportDecl => i.kind === "Import");
  const same = imports.find((i) => i.from === id && i.names.length > 0);
  if (same !== undefined) {
    const end = same.names[same.names.length - 1]!.span.end;
    return { range: { start: doc.positionAt(end), end: doc.positionAt(end) }, newText: `, ${name}` };
  }
  const after = imports.length === 0 ? 0 : imports[imports.length - 1]!.span.end;
  const at = imports.length === 0 ? { line: 0, character: 0 } : { line: doc.positionAt(after).line + 1, character: 0 };
  return { range: { start: at, end: at }, newText: `import { ${name} } from "${id}"\n` };
}

function namesInScope(a: Analysis, m: ModuleInfo, offset: number): CompletionItem[] {
  const items = new Map<string, CompletionItem>();
  const add = (item: CompletionItem) => {
    if (!items.has(item.label)) items.set(item.label, item);
  };
  const enclosing = m.ast.items.find((i) => offset >= i.span.start && offset <= i.span.end);
  if (enclosing !== undefined) {
    // A let's own names are not in scope in its value.
    const stmt = enclosing.kind === "Fn" || enclosing.kind === "Estimator" ? enclosing.body.find((s) => offset >= s.span.start && offset <= s.span.end) : undefined;
    for (const l of a.locals) {
      const s = l.binding.span;
      if (s.file !== enclosing.span.file || s.start < enclosing.span.start || s.end > enclosing.span.end || s.end > offset) continue;
      if (stmt !== undefined && s.start >= stmt.span.start) continue;
      add({ label: l.name, kind: CompletionItemKind.Variable, detail: `${l.binding.kind} ${l.name}: ${showTy(l.binding.ty)}`, sortText: `0${l.name}` });
    }
    if (enclosing.kind === "Estimator") for (const b of ["g", "cost", enclosing.outName?.name ?? "out"]) add({ label: b, kind: CompletionItemKind.Variable, detail: "estimator built-in", sortText: `0${b}` });
  }
  for (const [name, entry] of m.scope) add(symbolItem(name, entry.symbol, entry.via?.from));
  for (const [name, overloads] of primitives) {
    add({ label: name, kind: CompletionItemKind.Function, detail: `primitive (${overloads[0]!.category})`, documentation: overloads.map((p) => p.doc).join("\n\n"), sortText: `2${name}` });
  }
  for (const k of keywords) add({ label: k, kind: CompletionItemKind.Keyword, sortText: `3${k}` });
  return [...items.values()];
}

function symbolItem(name: string, sym: ItemSymbol, from: string | undefined): CompletionItem {
  const kind = sym.kind === "fn" ? CompletionItemKind.Function : sym.kind === "estimator" ? CompletionItemKind.Class : CompletionItemKind.Constant;
  const item: CompletionItem = { label: name, kind, detail: printItemHead(sym.decl) + (from === undefined ? "" : `  (${from})`), sortText: `1${name}` };
  if (sym.decl.doc !== undefined) item.documentation = { kind: "markdown", value: sym.decl.doc };
  return item;
}
