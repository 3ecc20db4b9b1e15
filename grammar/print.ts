/**
 * AST → canonical `.est` source: 2-space indentation, a blank line between items (consecutive
 * imports stay together), `///` doc comments above their items, and parentheses exactly where
 * precedence or associativity needs them, so `parse(printModule(ast))` gives back `ast`.
 */
import { DepthGuard, exprChildren } from "./deep.js";
import type * as A from "./ast.js";

// ---------------------------------------------------------------- precedence, loosest first

/** Binding strength of each expression level; a child printed below its slot's level gets parens. */
const Prec = {
  Ternary: 0,
  Or: 1,
  And: 2,
  Equality: 3,
  Relational: 4,
  Additive: 5,
  Multiplicative: 6,
  Unary: 7,
  Power: 8,
  Suffixed: 9,
  Application: 10,
  Postfix: 11,
  Primary: 12,
} as const;

type Prec = number;

const binaryPrec: Record<A.BinaryOp, Prec> = {
  "||": Prec.Or,
  "&&": Prec.And,
  "==": Prec.Equality,
  "!=": Prec.Equality,
  "<": Prec.Relational,
  "<=": Prec.Relational,
  ">": Prec.Relational,
  ">=": Prec.Relational,
  "+": Prec.Additive,
  "-": Prec.Additive,
  "*": Prec.Multiplicative,
  "/": Prec.Multiplicative,
  "%": Prec.Multiplicative,
  "@": Prec.Multiplicative,
  "^": Prec.Power,
};

/** The first token of a juxtaposed argument must be one of these (grammar/parser.ts). */
const juxtapositionStart = /^[A-Za-z_0-9.]/;

const indentUnit = "  ";

/** The level of every expression but a call (whose level depends on how it prints). */
function precOfKind(e: A.Expr): Prec {
  switch (e.kind) {
    case "Ternary":
      return Prec.Ternary;
    case "Binary":
      return binaryPrec[e.op];
    case "Unary":
      return Prec.Unary;
    case "Backward":
    case "Detach":
      return Prec.Suffixed;
    case "Index":
      return Prec.Postfix;
    default:
      return Prec.Primary;
  }
}

/**
 * Says whether the author wrote parentheses around `e` (estc fmt keeps those around compound
 * operands, `(a && b) || c`, though precedence does not need them).
 */
export type WrittenParens = (e: A.Expr) => boolean;

/** Expressions that `WrittenParens` may keep parenthesised: operators and suffixes, not names. */
const compound = new Set<A.Expr["kind"]>(["Binary", "Unary", "Ternary", "Backward", "Detach"]);

/** The expression printer; `written` keeps the author's parentheses around operands. */
class ExprPrinter {
  constructor(private readonly written?: WrittenParens) {}

  /** The argument's text when `e` prints as `f x`; undefined when it prints as `f(…)`. */
  private juxtaposedArgument(e: A.CallExpr): string | undefined {
    const only = e.args[0];
    if (!e.juxtaposed || e.args.length !== 1 || only === undefined || only.name !== undefined) return undefined;
    const text = this.expr(only.value, Prec.Application, false);
    return juxtapositionStart.test(text) ? text : undefined;
  }

  private precOf(e: A.Expr): Prec {
    if (e.kind === "Call") return this.juxtaposedArgument(e) === undefined ? Prec.Postfix : Prec.Application;
    return precOfKind(e);
  }

  /** `e` for a slot that accepts level `min` or tighter; parenthesised otherwise, or as written in an operand slot. */
  expr(e: A.Expr, min: Prec, operand = true): string {
    const text = this.bare(e);
    const keep = operand && this.written !== undefined && (compound.has(e.kind) || (e.kind === "Call" && e.juxtaposed)) && this.written(e);
    return keep || this.precOf(e) < min ? `(${text})` : text;
  }

  /** `start:end:step` with the parts written; a ternary bound is parenthesised (its `:` would read as the slice's). */
  private sliceItem(s: A.SliceItem): string {
    const part = (e: A.Expr | undefined) => (e === undefined ? "" : this.expr(e, Prec.Or, false));
    if (!s.colon) return part(s.start);
    return `${part(s.start)}:${part(s.end)}${s.step === undefined ? "" : `:${part(s.step)}`}`;
  }

  private list(es: readonly A.Expr[]): string {
    return es.map((e) => this.expr(e, Prec.Ternary, false)).join(", ");
  }

  args(as: readonly A.Arg[]): string {
    return as.map((a) => (a.name === undefined ? "" : `${a.name.name} = `) + this.expr(a.value, Prec.Ternary, false)).join(", ");
  }

  private binary(e: A.BinaryExpr): string {
    const p = binaryPrec[e.op];
    // `^` is right-assoc with a suffixed base and a unary exponent (`2 ^ -x`); the rest fold left.
    const [left, right] = e.op === "^" ? [Prec.Suffixed, Prec.Unary] : [p, p + 1];
    return `${this.expr(e.left, left)} ${e.op} ${this.expr(e.right, right)}`;
  }

  private call(e: A.CallExpr): string {
    const jux = this.juxtaposedArgument(e);
    return jux === undefined ? `${e.callee.name}(${this.args(e.args)})` : `${e.callee.name} ${jux}`;
  }

  /**
   * Each node's text, printed once (a juxtaposed call's argument is asked for twice, by its
   * level and by its text), with a bounded stack however deep the tree (deep.ts).
   */
  private readonly texts = new DepthGuard<A.Expr, string, undefined>((e) => this.bareLink(e), exprChildren, true);

  /** `e` without parentheses around itself. */
  bare(e: A.Expr): string {
    return this.texts.visit(e, undefined);
  }

  private bareLink(e: A.Expr): string {
    switch (e.kind) {
      case "Number":
        return e.text;
      case "Bool":
        return e.value ? "true" : "false";
      case "Name":
        return e.name;
      case "Unary":
        return `${e.op}${this.expr(e.operand, Prec.Unary)}`;
      case "Binary":
        return this.binary(e);
      case "Ternary":
        return `${this.expr(e.cond, Prec.Or)} ? ${this.expr(e.then, Prec.Ternary)} : ${this.expr(e.else, Prec.Ternary)}`;
      case "Call":
        return this.call(e);
      case "Index":
        return `${this.expr(e.target, Prec.Postfix)}[${e.slices === undefined ? this.list(e.indices) : e.slices.map((s) => this.sliceItem(s)).join(", ")}]`;
      case "Backward": {
        const params = e.hasParens || e.args.length > 0 ? `(${this.args(e.args)})` : "";
        return `${this.expr(e.call, Prec.Suffixed)} backward ${e.estimator.name}${params}`;
      }
      case "Detach":
        return `${this.expr(e.operand, Prec.Suffixed)} detach`;
      case "Tuple":
        return e.elements.length === 1 ? `(${this.list(e.elements)},)` : `(${this.list(e.elements)})`;
      case "List":
        return `[${this.list(e.elements)}]`;
      case "Error":
        return "<error>";
    }
  }
}

/** Prints one expression with the fewest parentheses that keep its tree (`(a + b) * c`). */
export function printExpr(e: A.Expr): string {
  return new ExprPrinter().expr(e, Prec.Ternary, false);
}

// ---------------------------------------------------------------- types and parameters

/** A dim with the fewest parentheses that keep its tree: `C * H * W`, `(H + 1) / 2`. */
function dim(d: A.Dim): string {
  if (d.kind === "DimSymbol") return d.name;
  if (d.kind === "DimSize") return String(d.value);
  if (d.kind === "DimEllipsis") return `...${d.name ?? ""}`;
  const prec = (x: A.Dim) => (x.kind !== "DimBinary" ? 3 : x.op === "+" || x.op === "-" ? 1 : 2);
  const side = (x: A.Dim, min: number) => (prec(x) < min ? `(${dim(x)})` : dim(x));
  return `${side(d.left, prec(d))} ${d.op} ${side(d.right, prec(d) + 1)}`;
}

/** `f32`, `f32[]`, `i32[B, 784]`. */
function type(t: A.TypeExpr): string {
  return t.dims === undefined ? t.dtype : `${t.dtype}[${t.dims.map(dim).join(", ")}]`;
}

function resultType(t: A.TypeExpr | A.TupleType): string {
  return t.kind === "Type" ? type(t) : `(${t.elements.map(type).join(", ")})`;
}

function param(p: A.Param, ep: ExprPrinter): string {
  const typed = p.type === undefined ? "" : `: ${type(p.type)}`;
  const dflt = p.default === undefined ? "" : ` = ${ep.expr(p.default, Prec.Ternary, false)}`;
  return `${p.name.name}${typed}${dflt}`;
}

// ---------------------------------------------------------------- statements and items

/** Prints one statement on one line, without indentation; `written`: see WrittenParens. */
export function printStmt(s: A.Stmt, written?: WrittenParens): string {
  const ep = new ExprPrinter(written);
  const value = ep.expr(s.value, Prec.Ternary, false);
  switch (s.kind) {
    case "Let": {
      const names = s.names.map((n) => n.name).join(", ");
      return `let ${s.destructure ? `(${names})` : names} = ${value}`;
    }
    case "Return":
      return `return ${value}`;
    case "Grad":
      return `grad ${s.name.name} = ${value}`;
    case "Surrogate":
      return `surrogate ${value}`;
  }
}

function block(body: readonly A.Stmt[]): string {
  if (body.length === 0) return "{}";
  return `{\n${body.map((s) => indentUnit + printStmt(s) + "\n").join("")}}`;
}

function importDecl(d: A.ImportDecl): string {
  const names = d.names.map((n) => (n.alias === undefined ? n.name.name : `${n.name.name} as ${n.alias.name}`));
  return `import { ${names.join(", ")} } from "${d.from}"`;
}

function estimatorHead(d: A.EstimatorDecl, ep: ExprPrinter): string {
  const params = d.params.length === 0 ? "" : `(${d.params.map((p) => param(p, ep)).join(", ")})`;
  const out = d.outName === undefined ? "" : `${d.outName.name} = `;
  const inputs = d.inputs.map((i) => i.name).join(", ");
  return `estimator ${d.name.name}${params} for ${out}${d.target.name}(${inputs})`;
}

function fnHead(d: A.FnDecl, ep: ExprPrinter): string {
  const result = d.result === undefined ? "" : ` -> ${resultType(d.result)}`;
  return `fn ${d.name.name}(${d.params.map((p) => param(p, ep)).join(", ")})${result}`;
}

/**
 * An item without its doc comment and without its body: the whole of an import or a const,
 * the header of an fn or estimator up to (not including) ` {` (estc fmt and hover use it);
 * `written`: see WrittenParens.
 */
export function printItemHead(item: A.Item, written?: WrittenParens): string {
  const ep = new ExprPrinter(written);
  switch (item.kind) {
    case "Import":
      return importDecl(item);
    case "Const":
      return `const ${item.name.name} = ${ep.expr(item.value, Prec.Ternary, false)}`;
    case "Estimator":
      return estimatorHead(item, ep);
    case "Fn":
      return fnHead(item, ep);
  }
}

/** `///` lines for a doc; to-ast.ts strips `/// ` or `///`, so an empty line prints bare. */
function docComment(doc: string): string {
  return doc
    .split("\n")
    .map((line) => (line === "" ? "///\n" : `/// ${line}\n`))
    .join("");
}

/** Prints one top-level item with its `///` doc comment, without a trailing newline. */
export function printItem(item: A.Item): string {
  const doc = item.doc === undefined ? "" : docComment(item.doc);
  const body = item.kind === "Fn" || item.kind === "Estimator" ? ` ${block(item.body)}` : "";
  return doc + printItemHead(item) + body;
}

/**
 * Prints a module as canonical `.est` source, items in their written order (imports are
 * conventionally first): one blank line between items, none between consecutive imports.
 */
export function printModule(ast: A.Module): string {
  let out = "";
  ast.items.forEach((item, i) => {
    const prev = ast.items[i - 1];
    const grouped = prev?.kind === "Import" && item.kind === "Import" && item.doc === undefined;
    if (prev !== undefined) out += grouped ? "\n" : "\n\n";
    out += printItem(item);
  });
  return out.length === 0 ? "" : out + "\n";
}
