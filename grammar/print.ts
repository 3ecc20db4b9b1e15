/**
 * AST → canonical `.est` source: 2-space indentation, a blank line between items (consecutive
 * imports stay together), `///` doc comments above their items, and parentheses exactly where
 * precedence or associativity needs them, so `parse(printModule(ast))` gives back `ast`.
 */
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

function precOf(e: A.Expr): Prec {
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
    case "Call":
      return juxtaposedArgument(e) === undefined ? Prec.Postfix : Prec.Application;
    case "Index":
      return Prec.Postfix;
    default:
      return Prec.Primary;
  }
}

/** The argument's text when `e` prints as `f x`; undefined when it prints as `f(…)`. */
function juxtaposedArgument(e: A.CallExpr): string | undefined {
  const only = e.args[0];
  if (!e.juxtaposed || e.args.length !== 1 || only === undefined || only.name !== undefined) return undefined;
  const text = expr(only.value, Prec.Application);
  return juxtapositionStart.test(text) ? text : undefined;
}

// ---------------------------------------------------------------- expressions

/** `e` printed for a slot that accepts level `min` or tighter; parenthesised otherwise. */
function expr(e: A.Expr, min: Prec): string {
  const text = bare(e);
  return precOf(e) < min ? `(${text})` : text;
}

function list(es: readonly A.Expr[]): string {
  return es.map((e) => expr(e, Prec.Ternary)).join(", ");
}

function args(as: readonly A.Arg[]): string {
  return as.map((a) => (a.name === undefined ? "" : `${a.name.name} = `) + expr(a.value, Prec.Ternary)).join(", ");
}

function binary(e: A.BinaryExpr): string {
  const p = binaryPrec[e.op];
  // `^` is right-assoc with a suffixed base and a unary exponent (`2 ^ -x`); the rest fold left.
  const [left, right] = e.op === "^" ? [Prec.Suffixed, Prec.Unary] : [p, p + 1];
  return `${expr(e.left, left)} ${e.op} ${expr(e.right, right)}`;
}

function call(e: A.CallExpr): string {
  const jux = juxtaposedArgument(e);
  return jux === undefined ? `${e.callee.name}(${args(e.args)})` : `${e.callee.name} ${jux}`;
}

/** `e` without parentheses around itself. */
function bare(e: A.Expr): string {
  switch (e.kind) {
    case "Number":
      return e.text;
    case "Bool":
      return e.value ? "true" : "false";
    case "Name":
      return e.name;
    case "Unary":
      return `${e.op}${expr(e.operand, Prec.Unary)}`;
    case "Binary":
      return binary(e);
    case "Ternary":
      return `${expr(e.cond, Prec.Or)} ? ${expr(e.then, Prec.Ternary)} : ${expr(e.else, Prec.Ternary)}`;
    case "Call":
      return call(e);
    case "Index":
      return `${expr(e.target, Prec.Postfix)}[${list(e.indices)}]`;
    case "Backward": {
      const params = e.hasParens || e.args.length > 0 ? `(${args(e.args)})` : "";
      return `${expr(e.call, Prec.Suffixed)} backward ${e.estimator.name}${params}`;
    }
    case "Detach":
      return `${expr(e.operand, Prec.Suffixed)} detach`;
    case "Tuple":
      return e.elements.length === 1 ? `(${list(e.elements)},)` : `(${list(e.elements)})`;
    case "List":
      return `[${list(e.elements)}]`;
    case "Error":
      return "<error>";
  }
}

/** Prints one expression with the fewest parentheses that keep its tree (`(a + b) * c`). */
export function printExpr(e: A.Expr): string {
  return expr(e, Prec.Ternary);
}

// ---------------------------------------------------------------- types and parameters

function dim(d: A.Dim): string {
  return d.kind === "DimSymbol" ? d.name : String(d.value);
}

/** `f32`, `f32[]`, `i32[B, 784]`. */
function type(t: A.TypeExpr): string {
  return t.dims === undefined ? t.dtype : `${t.dtype}[${t.dims.map(dim).join(", ")}]`;
}

function resultType(t: A.TypeExpr | A.TupleType): string {
  return t.kind === "Type" ? type(t) : `(${t.elements.map(type).join(", ")})`;
}

function param(p: A.Param): string {
  const typed = p.type === undefined ? "" : `: ${type(p.type)}`;
  const dflt = p.default === undefined ? "" : ` = ${printExpr(p.default)}`;
  return `${p.name.name}${typed}${dflt}`;
}

// ---------------------------------------------------------------- statements and items

function stmt(s: A.Stmt): string {
  switch (s.kind) {
    case "Let": {
      const names = s.names.map((n) => n.name).join(", ");
      return `let ${s.destructure ? `(${names})` : names} = ${printExpr(s.value)}`;
    }
    case "Return":
      return `return ${printExpr(s.value)}`;
    case "Grad":
      return `grad ${s.name.name} = ${printExpr(s.value)}`;
    case "Surrogate":
      return `surrogate ${printExpr(s.value)}`;
  }
}

function block(body: readonly A.Stmt[]): string {
  if (body.length === 0) return "{}";
  return `{\n${body.map((s) => indentUnit + stmt(s) + "\n").join("")}}`;
}

function importDecl(d: A.ImportDecl): string {
  const names = d.names.map((n) => (n.alias === undefined ? n.name.name : `${n.name.name} as ${n.alias.name}`));
  return `import { ${names.join(", ")} } from "${d.from}"`;
}

function estimatorDecl(d: A.EstimatorDecl): string {
  const params = d.params.length === 0 ? "" : `(${d.params.map(param).join(", ")})`;
  const out = d.outName === undefined ? "" : `${d.outName.name} = `;
  const inputs = d.inputs.map((i) => i.name).join(", ");
  return `estimator ${d.name.name}${params} for ${out}${d.target.name}(${inputs}) ${block(d.body)}`;
}

function fnDecl(d: A.FnDecl): string {
  const result = d.result === undefined ? "" : ` -> ${resultType(d.result)}`;
  return `fn ${d.name.name}(${d.params.map(param).join(", ")})${result} ${block(d.body)}`;
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
  switch (item.kind) {
    case "Import":
      return doc + importDecl(item);
    case "Const":
      return `${doc}const ${item.name.name} = ${printExpr(item.value)}`;
    case "Estimator":
      return doc + estimatorDecl(item);
    case "Fn":
      return doc + fnDecl(item);
  }
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
