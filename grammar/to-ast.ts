/**
 * CST → AST: a Chevrotain CST visitor that builds the plain objects of ast.ts.
 * It never throws on a CST the parser recovered from: a missing piece becomes an `Error`
 * expression or an empty list, and the syntax error itself was already reported by the parser.
 */
import type { CstNode, IToken, CstElement } from "chevrotain";
import type * as A from "./ast.js";
import type { NestedToken } from "./nesting.js";
import { parser } from "./parser.js";

type Children = Record<string, CstElement[] | undefined>;

const BaseVisitor = parser.getBaseCstVisitorConstructorWithDefaults();

function isToken(e: CstElement | undefined): e is IToken {
  return e !== undefined && (e as IToken).image !== undefined;
}

function isNode(e: CstElement | undefined): e is CstNode {
  return e !== undefined && (e as CstNode).children !== undefined;
}

/** Start offset of a CST element, or NaN when recovery inserted it. */
function startOf(e: CstElement): number {
  return isToken(e) ? e.startOffset : (e.location?.startOffset ?? NaN);
}

function isRealToken(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

/** The first child node of a CST node (an item's, a statement's or a primary's one alternative). */
function firstNode(c: Children): CstNode | undefined {
  for (const key in c) {
    for (const e of c[key] ?? []) if (isNode(e)) return e;
  }
  return undefined;
}

/** Builds AST nodes for one file. */
export class AstBuilder extends BaseVisitor {
  constructor(
    readonly file: string,
    private readonly docs: IToken[],
  ) {
    super();
    this.validateVisitor();
  }

  // ---------------------------------------------------------------- spans

  private tokenSpan(t: IToken | undefined, fallback?: A.Span): A.Span {
    if (isRealToken(t)) return { file: this.file, start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 };
    return fallback ?? { file: this.file, start: 0, end: 0 };
  }

  private nodeSpan(n: CstNode): A.Span {
    const loc = n.location;
    if (loc !== undefined && Number.isFinite(loc.startOffset)) {
      const end = Number.isFinite(loc.endOffset) ? (loc.endOffset as number) + 1 : loc.startOffset + 1;
      return { file: this.file, start: loc.startOffset, end: Math.max(end, loc.startOffset) };
    }
    // A node recovery built from nothing: use the first real token inside it, if any.
    for (const list of Object.values(n.children)) {
      for (const e of list ?? []) {
        if (isToken(e) && isRealToken(e)) return this.tokenSpan(e);
        if (isNode(e)) {
          const s = this.nodeSpan(e);
          if (s.end > 0) return s;
        }
      }
    }
    return { file: this.file, start: 0, end: 0 };
  }

  private join(a: A.Span, b: A.Span): A.Span {
    if (a.end === 0 && a.start === 0) return b;
    if (b.end === 0 && b.start === 0) return a;
    return { file: this.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
  }

  /**
   * The span of a CST node, which covers parentheses around the expression it yields: `(a) + b`
   * must span from `(`, while the AST of `(a)` is just `a` with `a`'s span.
   */
  private cstSpan(n: CstNode | undefined, fallback: A.Span): A.Span {
    const s = n === undefined ? undefined : this.nodeSpan(n);
    return s === undefined || (s.start === 0 && s.end === 0) ? fallback : s;
  }

  private ident(t: IToken | undefined, fallback: A.Span): A.Ident {
    return { kind: "Ident", name: isRealToken(t) ? t.image : "", span: this.tokenSpan(t, fallback) };
  }

  private tokens(c: Children, key: string): IToken[] {
    return (c[key] ?? []).filter(isToken);
  }

  private nodes(c: Children, key: string): CstNode[] {
    return (c[key] ?? []).filter(isNode);
  }

  private errorExpr(span: A.Span): A.ErrorExpr {
    return { kind: "Error", span };
  }

  private expr(n: CstNode | undefined, fallback: A.Span): A.Expr {
    return n === undefined ? this.errorExpr(fallback) : (this.visit(n) as A.Expr);
  }

  /** Index of the first doc comment not yet attached; items arrive in source order. */
  private nextDoc = 0;
  /** End of the previous item: a `///` before it (inside it or above it) is not this item's. */
  private prevEnd = 0;

  /**
   * The `///` lines directly above `start` and after `after`, without the slashes. The cursor
   * moves forward only, so attaching docs to n items costs O(n + docs), not O(n × docs).
   */
  private docBefore(after: number, start: number): string | undefined {
    const lines: string[] = [];
    while (this.nextDoc < this.docs.length && this.docs[this.nextDoc]!.startOffset < start) {
      const d = this.docs[this.nextDoc++]!;
      if (d.startOffset >= after) lines.push(d.image.replace(/^\/\/\/ ?/, "").trimEnd());
    }
    return lines.length > 0 ? lines.join("\n") : undefined;
  }

  /** The AST of one top-level item's CST (with the doc comment above it), or undefined. */
  topLevelItem(n: CstNode): A.Item | undefined {
    const item = this.visit(n) as A.Item | undefined;
    if (item === undefined) return undefined;
    const doc = this.docBefore(this.prevEnd, item.span.start);
    if (doc !== undefined) item.doc = doc;
    this.prevEnd = item.span.end;
    return item;
  }

  // ---------------------------------------------------------------- items

  module(c: Children, span: A.Span): A.Module {
    const items: A.Item[] = [];
    for (const n of this.nodes(c, "item")) {
      const item = this.topLevelItem(n);
      if (item !== undefined) items.push(item);
    }
    return { kind: "Module", file: this.file, items, span };
  }

  item(c: Children): A.Item | undefined {
    const inner = firstNode(c);
    return inner === undefined ? undefined : (this.visit(inner) as A.Item);
  }

  importDecl(c: Children, span: A.Span): A.ImportDecl {
    const names = this.nodes(c, "importName").map((n) => this.visit(n) as A.ImportName);
    const str = this.tokens(c, "StringLit")[0];
    const fromSpan = this.tokenSpan(str, span);
    const from = isRealToken(str) ? str.image.slice(1, -1) : "";
    return { kind: "Import", names, from, fromSpan, span };
  }

  importName(c: Children, span: A.Span): A.ImportName {
    const ids = this.tokens(c, "Ident");
    const node: A.ImportName = { kind: "ImportName", name: this.ident(ids[0], span), span };
    if (ids[1] !== undefined) node.alias = this.ident(ids[1], span);
    return node;
  }

  constDecl(c: Children, span: A.Span): A.ConstDecl {
    return {
      kind: "Const",
      name: this.ident(this.tokens(c, "Ident")[0], span),
      value: this.expr(this.nodes(c, "expression")[0], span),
      span,
    };
  }

  estimatorDecl(c: Children, span: A.Span): A.EstimatorDecl {
    const paramList = this.nodes(c, "paramList")[0];
    const outName = this.tokens(c, "outName")[0];
    const node: A.EstimatorDecl = {
      kind: "Estimator",
      name: this.ident(this.tokens(c, "Ident")[0], span),
      params: paramList === undefined ? [] : (this.visit(paramList) as A.Param[]),
      target: this.ident(this.tokens(c, "target")[0], span),
      inputs: this.tokens(c, "input").map((t) => this.ident(t, span)),
      body: this.body(c, span),
      span,
    };
    if (outName !== undefined) node.outName = this.ident(outName, span);
    return node;
  }

  fnDecl(c: Children, span: A.Span): A.FnDecl {
    const paramList = this.nodes(c, "paramList")[0];
    const result = this.nodes(c, "resultType")[0];
    const node: A.FnDecl = {
      kind: "Fn",
      name: this.ident(this.tokens(c, "Ident")[0], span),
      params: paramList === undefined ? [] : (this.visit(paramList) as A.Param[]),
      body: this.body(c, span),
      span,
    };
    if (result !== undefined) node.result = this.visit(result) as A.TypeExpr | A.TupleType;
    return node;
  }

  private body(c: Children, span: A.Span): A.Stmt[] {
    const block = this.nodes(c, "block")[0];
    return block === undefined ? [] : (this.visit(block) as A.Stmt[]);
  }

  paramList(c: Children): A.Param[] {
    return this.nodes(c, "param").map((n) => this.visit(n) as A.Param);
  }

  param(c: Children, span: A.Span): A.Param {
    const node: A.Param = { kind: "Param", name: this.ident(this.tokens(c, "Ident")[0], span), span };
    const type = this.nodes(c, "typeExpr")[0];
    if (type !== undefined) node.type = this.visit(type) as A.TypeExpr;
    if (this.tokens(c, "Assign").length > 0) node.default = this.expr(this.nodes(c, "expression")[0], span);
    return node;
  }

  // ---------------------------------------------------------------- types

  typeExpr(c: Children, span: A.Span): A.TypeExpr {
    const dtype: A.DType = c["I32"] ? "i32" : c["Bool"] ? "bool" : "f32";
    const node: A.TypeExpr = { kind: "Type", dtype, span };
    if (c["LBracket"] !== undefined) node.dims = this.nodes(c, "dim").map((n) => this.visit(n) as A.Dim);
    return node;
  }

  /** `a + b - c` (and `dimTerm`'s `a * b / c`) folded to the left. */
  dim(c: Children, span: A.Span): A.Dim {
    const operands = this.nodes(c, "operand").map((n) => this.visit(n) as A.Dim);
    const operators = this.tokens(c, "operator");
    let acc = operands[0] ?? { kind: "DimSize", value: NaN, span };
    for (let i = 0; i < operators.length; i++) {
      const right = operands[i + 1] ?? { kind: "DimSize", value: NaN, span: this.tokenSpan(operators[i], span) };
      acc = { kind: "DimBinary", op: operators[i]!.image as A.DimBinary["op"], left: acc, right, span: this.join(acc.span, right.span) };
    }
    return acc;
  }

  dimTerm(c: Children, span: A.Span): A.Dim {
    return this.dim(c, span);
  }

  dimAtom(c: Children, span: A.Span): A.Dim {
    const inner = this.nodes(c, "dim")[0];
    if (inner !== undefined) return this.visit(inner) as A.Dim;
    const id = this.tokens(c, "Ident")[0];
    if (c["Ellipsis"] !== undefined) return id !== undefined ? { kind: "DimEllipsis", name: id.image, span } : { kind: "DimEllipsis", span };
    if (id !== undefined) return { kind: "DimSymbol", name: id.image, span };
    const num = this.tokens(c, "NumberLit")[0];
    return { kind: "DimSize", value: num === undefined ? NaN : Number(num.image), span };
  }

  resultType(c: Children, span: A.Span): A.TypeExpr | A.TupleType {
    const types = this.nodes(c, "typeExpr").map((n) => this.visit(n) as A.TypeExpr);
    if (c["LParen"] === undefined && types.length === 1) return types[0]!;
    return { kind: "TupleType", elements: types, span };
  }

  // ---------------------------------------------------------------- statements

  block(c: Children): A.Stmt[] {
    return this.nodes(c, "statement")
      .map((n) => this.visit(n) as A.Stmt | undefined)
      .filter((s): s is A.Stmt => s !== undefined);
  }

  statement(c: Children): A.Stmt | undefined {
    const inner = firstNode(c);
    return inner === undefined ? undefined : (this.visit(inner) as A.Stmt);
  }

  letStmt(c: Children, span: A.Span): A.LetStmt {
    return {
      kind: "Let",
      names: this.tokens(c, "Ident").map((t) => this.ident(t, span)),
      destructure: c["LParen"] !== undefined,
      value: this.expr(this.nodes(c, "expression")[0], span),
      span,
    };
  }

  returnStmt(c: Children, span: A.Span): A.ReturnStmt {
    return { kind: "Return", value: this.expr(this.nodes(c, "expression")[0], span), span };
  }

  gradStmt(c: Children, span: A.Span): A.GradStmt {
    return {
      kind: "Grad",
      name: this.ident(this.tokens(c, "Ident")[0], span),
      value: this.expr(this.nodes(c, "expression")[0], span),
      span,
    };
  }

  surrogateStmt(c: Children, span: A.Span): A.SurrogateStmt {
    return { kind: "Surrogate", value: this.expr(this.nodes(c, "expression")[0], span), span };
  }

  // ---------------------------------------------------------------- expressions

  /** Folds `c ? a : d ? b : e` from the right: each `?:` spans from its condition to the end. */
  expression(c: Children, span: A.Span): A.Expr {
    const firstNode = this.nodes(c, "logicOr")[0];
    const first = this.expr(firstNode, span);
    if (c["Question"] === undefined) return first;
    const thens = this.nodes(c, "then");
    const elseNodes = this.nodes(c, "else");
    const conds = [first, ...elseNodes.map((n) => this.visit(n) as A.Expr)];
    const starts = [this.cstSpan(firstNode, first.span), ...elseNodes.map((n, i) => this.cstSpan(n, conds[i + 1]!.span))];
    // Recovery may leave a `?` without its branches: as many ternaries as `?` tokens.
    const count = (c["Question"] ?? []).length;
    let acc: A.Expr = count < conds.length ? conds[count]! : this.errorExpr(span);
    for (let i = count - 1; i >= 0; i--) {
      const whole = i === 0 ? span : this.join(starts[i]!, { file: this.file, start: starts[i]!.start, end: span.end });
      acc = { kind: "Ternary", cond: conds[i] ?? this.errorExpr(span), then: this.expr(thens[i], span), else: acc, span: whole };
    }
    return acc;
  }

  /** Folds `a op b op c` to the left. */
  private binaryChain(c: Children, span: A.Span): A.Expr {
    const operands = this.nodes(c, "operand");
    const operators = this.tokens(c, "operator");
    let acc = this.expr(operands[0], span);
    let whole = this.cstSpan(operands[0], acc.span);
    for (let i = 0; i < operators.length; i++) {
      const op = operators[i]!;
      const right = this.expr(operands[i + 1], this.tokenSpan(op, span));
      whole = this.join(whole, this.cstSpan(operands[i + 1], right.span));
      acc = {
        kind: "Binary",
        op: op.image as A.BinaryOp,
        left: acc,
        right,
        opSpan: this.tokenSpan(op, span),
        span: whole,
      };
    }
    return acc;
  }

  logicOr(c: Children, span: A.Span): A.Expr {
    return this.binaryChain(c, span);
  }
  logicAnd(c: Children, span: A.Span): A.Expr {
    return this.binaryChain(c, span);
  }
  equality(c: Children, span: A.Span): A.Expr {
    return this.binaryChain(c, span);
  }
  relational(c: Children, span: A.Span): A.Expr {
    return this.binaryChain(c, span);
  }
  additive(c: Children, span: A.Span): A.Expr {
    return this.binaryChain(c, span);
  }
  multiplicative(c: Children, span: A.Span): A.Expr {
    return this.binaryChain(c, span);
  }

  /** `- ! x`: the operators nest from the innermost out, each spanning from itself to the operand's end. */
  unary(c: Children, span: A.Span): A.Expr {
    const operandNode = this.nodes(c, "power")[0];
    const operand = this.expr(operandNode, span);
    return this.prefixed(this.tokens(c, "operator"), operand, this.cstSpan(operandNode, operand.span), span);
  }

  private prefixed(ops: IToken[], operand: A.Expr, operandSpan: A.Span, span: A.Span): A.Expr {
    let acc = operand;
    for (let i = ops.length - 1; i >= 0; i--) {
      acc = { kind: "Unary", op: ops[i]!.image as A.UnaryOp, operand: acc, span: this.join(this.tokenSpan(ops[i], span), operandSpan) };
    }
    return acc;
  }

  /**
   * `a ^ b ^ -c ^ d` is `a ^ (b ^ (-(c ^ d)))`, folded from the right: each `^` spans from its
   * base to the end of the chain, and an exponent's `-` wraps the rest of the chain after it.
   */
  power(c: Children, span: A.Span): A.Expr {
    const exponents = this.nodes(c, "exponent");
    const carets = this.tokens(c, "Caret");
    const bases = [this.nodes(c, "suffixed")[0], ...exponents.map((n) => this.nodes(n.children as Children, "suffixed")[0])];
    const ops = [[], ...exponents.map((n) => this.tokens(n.children as Children, "operator"))];
    const n = exponents.length;
    let acc = this.expr(bases[n], span);
    // The source of the chain from bases[i] (with the operators before it) to the end.
    let tail = this.cstSpan(bases[n], acc.span);
    acc = this.prefixed(ops[n]!, acc, tail, span);
    if (n > 0) tail = this.join(this.cstSpan(exponents[n - 1], acc.span), tail);
    for (let i = n - 1; i >= 0; i--) {
      const base = this.expr(bases[i], span);
      const whole = this.join(this.cstSpan(bases[i], base.span), tail);
      acc = { kind: "Binary", op: "^", left: base, right: acc, opSpan: this.tokenSpan(carets[i], span), span: whole };
      acc = this.prefixed(ops[i]!, acc, whole, span);
      if (i > 0) tail = this.join(this.cstSpan(exponents[i - 1], acc.span), whole);
    }
    return acc;
  }

  exponent(c: Children, span: A.Span): A.Expr {
    const operandNode = this.nodes(c, "suffixed")[0];
    const operand = this.expr(operandNode, span);
    return this.prefixed(this.tokens(c, "operator"), operand, this.cstSpan(operandNode, operand.span), span);
  }

  suffixed(c: Children, span: A.Span): A.Expr {
    const first = this.nodes(c, "application")[0];
    let acc = this.expr(first, span);
    let whole = this.cstSpan(first, acc.span);
    const suffixes = [...(c["backwardSuffix"] ?? []), ...(c["Detach"] ?? [])].sort((a, b) => startOf(a) - startOf(b));
    for (const s of suffixes) {
      if (isToken(s)) {
        whole = this.join(whole, this.tokenSpan(s, whole));
        acc = { kind: "Detach", operand: acc, span: whole };
        continue;
      }
      const sc = s.children as Children;
      const estimator = this.ident(this.tokens(sc, "Ident")[0], this.nodeSpan(s));
      const argList = this.nodes(sc, "argList")[0];
      whole = this.join(whole, this.nodeSpan(s));
      acc = {
        kind: "Backward",
        call: acc,
        estimator,
        args: argList === undefined ? [] : (this.visit(argList) as A.Arg[]),
        hasParens: sc["LParen"] !== undefined,
        span: whole,
      };
    }
    return acc;
  }

  /** `sign abs x`: the callees nest from the innermost out, each call spanning from its callee to the end. */
  application(c: Children, span: A.Span): A.Expr {
    const argumentNode = this.nodes(c, "postfix")[0];
    let acc = this.expr(argumentNode, span);
    const end = this.cstSpan(argumentNode, acc.span);
    const callees = this.tokens(c, "callee");
    for (let i = callees.length - 1; i >= 0; i--) {
      const whole = i === 0 ? span : this.join(this.tokenSpan(callees[i], span), end);
      acc = { kind: "Call", callee: this.ident(callees[i], span), args: [{ kind: "Arg", value: acc, span: acc.span }], juxtaposed: true, span: whole };
    }
    return acc;
  }

  /** One index position; postfix reads `indexItem` nodes here rather than through `visit`. */
  private sliceItemOf(n: CstNode): A.SliceItem {
    const c = n.children as Children;
    const span = this.nodeSpan(n);
    const tail = this.nodes(c, "sliceTail")[0];
    const part = (from: Children | undefined, label: string) => {
      const node = from === undefined ? undefined : this.nodes(from, label)[0];
      return node === undefined ? undefined : (this.visit(node) as A.Expr);
    };
    const t = tail?.children as Children | undefined;
    const item: A.SliceItem = { colon: tail !== undefined, span };
    const [start, end, step] = [part(c, "start"), part(t, "end"), part(t, "step")];
    if (start !== undefined) item.start = start;
    if (end !== undefined) item.end = end;
    if (step !== undefined) item.step = step;
    // Recovery can leave an item with nothing in it; the parser has reported that already.
    if (!item.colon && start === undefined) item.start = this.errorExpr(span);
    return item;
  }

  /** Never visited (postfix reads index items with sliceItemOf); Chevrotain wants every rule here. */
  indexItem(_c: Children, span: A.Span): A.Expr {
    return this.errorExpr(span);
  }

  /** Never visited, as indexItem. */
  sliceTail(_c: Children, span: A.Span): A.Expr {
    return this.errorExpr(span);
  }

  postfix(c: Children, span: A.Span): A.Expr {
    const first = this.nodes(c, "primary")[0];
    let acc = this.expr(first, span);
    let whole = this.cstSpan(first, acc.span);
    const suffixes = [...this.nodes(c, "callSuffix"), ...this.nodes(c, "indexSuffix")].sort(
      (a, b) => startOf(a) - startOf(b),
    );
    for (const s of suffixes) {
      const sc = s.children as Children;
      whole = this.join(whole, this.nodeSpan(s));
      if (s.name === "indexSuffix") {
        const items = this.nodes(sc, "indexItem").map((n) => this.sliceItemOf(n));
        const indices = items.flatMap((i) => [i.start, i.end, i.step].filter((x): x is A.Expr => x !== undefined));
        acc = items.some((i) => i.colon) ? { kind: "Index", target: acc, indices, slices: items, span: whole } : { kind: "Index", target: acc, indices, span: whole };
        continue;
      }
      const argList = this.nodes(sc, "argList")[0];
      const args = argList === undefined ? [] : (this.visit(argList) as A.Arg[]);
      // Only a name can be called; check.ts reports other callees (E2010).
      const callee: A.Ident =
        acc.kind === "Name" ? { kind: "Ident", name: acc.name, span: acc.span } : { kind: "Ident", name: "", span: acc.span };
      acc = { kind: "Call", callee, args, juxtaposed: false, span: whole };
    }
    return acc;
  }

  callSuffix(): undefined {
    return undefined;
  }

  indexSuffix(): undefined {
    return undefined;
  }

  backwardSuffix(): undefined {
    return undefined;
  }

  argList(c: Children): A.Arg[] {
    return this.nodes(c, "arg").map((n) => this.visit(n) as A.Arg);
  }

  arg(c: Children, span: A.Span): A.Arg {
    const node: A.Arg = { kind: "Arg", value: this.expr(this.nodes(c, "expression")[0], span), span };
    const name = this.tokens(c, "name")[0];
    if (name !== undefined) node.name = this.ident(name, span);
    return node;
  }

  primary(c: Children, span: A.Span): A.Expr {
    const num = this.tokens(c, "NumberLit")[0];
    if (num !== undefined) {
      return { kind: "Number", value: Number(num.image), text: num.image, isInt: /^\d+$/.test(num.image), span };
    }
    if (c["True"] !== undefined) return { kind: "Bool", value: true, span };
    if (c["False"] !== undefined) return { kind: "Bool", value: false, span };
    const id = this.tokens(c, "Ident")[0];
    if (id !== undefined) {
      return isRealToken(id) ? { kind: "Name", name: id.image, span } : this.errorExpr(span);
    }
    const nested = c["Nested"]?.[0];
    if (nested !== undefined) return (nested as NestedToken).expr;
    const inner = firstNode(c);
    return inner === undefined ? this.errorExpr(span) : (this.visit(inner) as A.Expr);
  }

  parenExpr(c: Children, span: A.Span): A.Expr {
    const elements = this.nodes(c, "expression").map((n) => this.visit(n) as A.Expr);
    if (elements.length === 1 && c["Comma"] === undefined) return elements[0]!;
    return { kind: "Tuple", elements, span };
  }

  listExpr(c: Children, span: A.Span): A.ListExpr {
    return { kind: "List", elements: this.nodes(c, "expression").map((n) => this.visit(n) as A.Expr), span };
  }

  /** Every rule method gets the node's span as its second argument. */
  override visit(cstNode: CstNode | CstNode[]): unknown {
    const node = Array.isArray(cstNode) ? cstNode[0] : cstNode;
    if (node === undefined) return undefined;
    const method = (this as unknown as Record<string, (c: Children, s: A.Span) => unknown>)[node.name];
    if (typeof method !== "function") return undefined;
    return method.call(this, node.children as Children, this.nodeSpan(node));
  }
}
