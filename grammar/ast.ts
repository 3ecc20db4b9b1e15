/**
 * The `.est` abstract syntax tree: plain objects, each with a `kind` and a `span`.
 * The parser builds it (grammar/to-ast.ts); resolve/check read it; the printer prints it back.
 * Where the parser recovered from a syntax error, an `ErrorExpr` stands for the missing part.
 */
import type { Span } from "../compiler/diagnostics.js";

export type { Span };

/** A name as written, with where it was written. */
export interface Ident {
  kind: "Ident";
  name: string;
  span: Span;
}

/**
 * A `//` line comment or a `///` doc comment as written, without its line break. The parser
 * ignores comments (a doc comment reaches the AST only as its item's `doc`); `estc fmt` and the
 * editor read them from `ParseResult.comments`.
 */
export interface Comment {
  kind: "Comment";
  /** The comment's text from its slashes to the end of its line, trailing blanks removed. */
  text: string;
  /** True for a `///` doc comment. */
  doc: boolean;
  span: Span;
}

// ---------------------------------------------------------------- modules and items

/** One `.est` file. */
export interface Module {
  kind: "Module";
  file: string;
  items: Item[];
  span: Span;
}

export type Item = ImportDecl | ConstDecl | EstimatorDecl | FnDecl;

/** `import { A, B as C } from "std/binary"` */
export interface ImportDecl {
  kind: "Import";
  names: ImportName[];
  /** The module path as written, without quotes. */
  from: string;
  fromSpan: Span;
  doc?: string;
  span: Span;
}

/** One imported name; `alias` is the local name when `as` is used. */
export interface ImportName {
  kind: "ImportName";
  name: Ident;
  alias?: Ident;
  span: Span;
}

/** `const NAME = expr` — a compile-time constant, folded. */
export interface ConstDecl {
  kind: "Const";
  name: Ident;
  value: Expr;
  doc?: string;
  span: Span;
}

/** `estimator NAME(params) for [out =] target(inputs) { body }` */
export interface EstimatorDecl {
  kind: "Estimator";
  name: Ident;
  params: Param[];
  /** The name the body uses for the forward value; `out` when not given. */
  outName?: Ident;
  /** The primitive or user `fn` the rule is for. */
  target: Ident;
  /** The names the body uses for the target's inputs, in the target's order. */
  inputs: Ident[];
  body: Stmt[];
  doc?: string;
  span: Span;
}

/** `fn NAME(params) -> result { body }` */
export interface FnDecl {
  kind: "Fn";
  name: Ident;
  params: Param[];
  /** Absent when no `->` is written (the result type is then inferred). */
  result?: TypeExpr | TupleType;
  body: Stmt[];
  doc?: string;
  span: Span;
}

/** A parameter of an `fn` or an `estimator`: `name: type = default`, type and default optional. */
export interface Param {
  kind: "Param";
  name: Ident;
  type?: TypeExpr;
  default?: Expr;
  doc?: string;
  span: Span;
}

// ---------------------------------------------------------------- types

export type DType = "f32" | "i32" | "bool";

/** `f32`, `i32[N]`, `f32[B, 784]`; `dims` is absent for a scalar. */
export interface TypeExpr {
  kind: "Type";
  dtype: DType;
  dims?: Dim[];
  span: Span;
}

/** One dimension in a tensor type: a symbol (`B`), a literal size (`784`), an ellipsis (`...`) or dim arithmetic. */
export type Dim = DimSymbol | DimSize | DimEllipsis | DimBinary;

/** `C * H * W`, `(H + 1) / 2` in a type; compiler/dims.ts normalises it (`/` is floor division). */
export interface DimBinary {
  kind: "DimBinary";
  op: "+" | "-" | "*" | "/";
  left: Dim;
  right: Dim;
  span: Span;
}

export interface DimSymbol {
  kind: "DimSymbol";
  name: string;
  span: Span;
}

/**
 * `...` or `...B` in a fn's parameter or result type: a run of zero or more dims, bound at the
 * call (a rank-generic fn, language.md §5). `name` is absent for the anonymous `...`.
 */
export interface DimEllipsis {
  kind: "DimEllipsis";
  name?: string;
  span: Span;
}

export interface DimSize {
  kind: "DimSize";
  value: number;
  span: Span;
}

/** `(f32[B], f32[])` as a result type. */
export interface TupleType {
  kind: "TupleType";
  elements: TypeExpr[];
  span: Span;
}

// ---------------------------------------------------------------- statements

export type Stmt = LetStmt | ReturnStmt | GradStmt | SurrogateStmt;

/** `let x = e` or `let (a, b) = e` (destructuring a tuple result). */
export interface LetStmt {
  kind: "Let";
  names: Ident[];
  /** True for the `let (a, b) = …` form, even with one name. */
  destructure: boolean;
  value: Expr;
  span: Span;
}

/** `return e` */
export interface ReturnStmt {
  kind: "Return";
  value: Expr;
  span: Span;
}

/** `grad x = e` inside an estimator body: the cotangent of input `x`. */
export interface GradStmt {
  kind: "Grad";
  name: Ident;
  value: Expr;
  span: Span;
}

/** `surrogate e` inside an estimator body: the backward is g * d(e)/d(input). */
export interface SurrogateStmt {
  kind: "Surrogate";
  value: Expr;
  span: Span;
}

// ---------------------------------------------------------------- expressions

export type Expr =
  | NumberLit
  | BoolLit
  | NameExpr
  | UnaryExpr
  | BinaryExpr
  | TernaryExpr
  | CallExpr
  | IndexExpr
  | BackwardExpr
  | DetachExpr
  | TupleExpr
  | ListExpr
  | ErrorExpr;

/** A number as written; `isInt` when it has neither a point nor an exponent. */
export interface NumberLit {
  kind: "Number";
  value: number;
  text: string;
  isInt: boolean;
  span: Span;
}

export interface BoolLit {
  kind: "Bool";
  value: boolean;
  span: Span;
}

/** A use of a name: a local, a parameter, a const, a shape symbol, `g`, `out`, `cost`. */
export interface NameExpr {
  kind: "Name";
  name: string;
  span: Span;
}

export type UnaryOp = "-" | "!";

export interface UnaryExpr {
  kind: "Unary";
  op: UnaryOp;
  operand: Expr;
  span: Span;
}

export type BinaryOp =
  | "||"
  | "&&"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "@"
  | "^";

export interface BinaryExpr {
  kind: "Binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
  /** Where the operator itself stands. */
  opSpan: Span;
  span: Span;
}

/** `c ? a : b` */
export interface TernaryExpr {
  kind: "Ternary";
  cond: Expr;
  then: Expr;
  else: Expr;
  span: Span;
}

/** `f(a, name = b)` or, by juxtaposition, `f a` (`juxtaposed` is then true). */
export interface CallExpr {
  kind: "Call";
  callee: Ident;
  args: Arg[];
  juxtaposed: boolean;
  span: Span;
}

/** A call argument, positional or named (`o = 3`). */
export interface Arg {
  kind: "Arg";
  name?: Ident;
  value: Expr;
  span: Span;
}

/** `e[i, j]`: picks an element of a tuple result. */
export interface IndexExpr {
  kind: "Index";
  target: Expr;
  /** Every expression written in the brackets (slice bounds included), in order. */
  indices: Expr[];
  /** When a `:` appears: one entry per position (`x[:, 0:K]`), a plain index having no colon. */
  slices?: SliceItem[];
  span: Span;
}

/** One position of a tensor index: `start:end:step` (each part optional), or a plain `start`. */
export interface SliceItem {
  start?: Expr;
  end?: Expr;
  step?: Expr;
  colon: boolean;
  span: Span;
}

/** `call backward E(args)`: attaches estimator E to the call's derivative. */
export interface BackwardExpr {
  kind: "Backward";
  call: Expr;
  estimator: Ident;
  args: Arg[];
  /** False for `backward STE` written without parentheses. */
  hasParens: boolean;
  span: Span;
}

/** `e detach` (the postfix form of `sg(e)`). */
export interface DetachExpr {
  kind: "Detach";
  operand: Expr;
  span: Span;
}

/** `(a, b)` */
export interface TupleExpr {
  kind: "Tuple";
  elements: Expr[];
  span: Span;
}

/** `[B, K]`: a shape or a list of axes. */
export interface ListExpr {
  kind: "List";
  elements: Expr[];
  span: Span;
}

/** Stands where the parser recovered from a syntax error; later stages stay silent about it. */
export interface ErrorExpr {
  kind: "Error";
  span: Span;
}

export type Node = Module | Item | ImportName | Param | TypeExpr | TupleType | Stmt | Expr | Arg | Ident | Dim;
