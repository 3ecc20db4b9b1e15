/** What lowering binds names to, and its one error type. */
import type * as A from "../grammar/ast.js";
import type { RelatedInfo, Span } from "./diagnostics.js";
import type { Node } from "./ir.js";
import type { ModuleInfo } from "./resolve.js";
import type { DimT } from "./types.js";
import type { Lowerer } from "./lower.js";

/** A lowered value: a tensor node (weak for integer literals), a tuple, or a list of dims. */
export type Value =
  | { kind: "tensor"; node: Node; weak?: boolean }
  | { kind: "tuple"; items: Value[] }
  | { kind: "list"; dims: DimT[] };

export type TensorValue = Extract<Value, { kind: "tensor" }>;

/** The names visible while lowering one (possibly inlined) fn body. */
export interface Env {
  module: ModuleInfo;
  vars: Map<string, Value>;
  /** Shape symbols of this body → dims of the entry fn (a size or an entry symbol). */
  dims: Map<string, DimT>;
  lowerer: Lowerer;
  /** The instance of the rank-generic fn being inlined (ellipsis.ts `instanceKey`); "" otherwise. */
  instance?: string;
  /** Inside an estimator body: lowers `diff(expr, input)` (autodiff provides it). */
  diff?: (call: A.CallExpr, env: Env) => Value;
}

/**
 * A program that checked clean but that lowering cannot handle (E5xxx). Thrown inside
 * lowering only, and turned into a diagnostic by the pipeline.
 */
export class LowerError extends Error {
  constructor(
    readonly code: string,
    readonly span: Span,
    message: string,
    readonly extra: { hint?: string; related?: RelatedInfo[] } = {},
  ) {
    super(message);
  }
}

export function tensorValue(node: Node): TensorValue {
  return { kind: "tensor", node };
}

/** True for a lowered value (as opposed to an unevaluated argument expression). */
export function isValue(v: Value | A.Expr): v is Value {
  return v.kind === "tensor" || v.kind === "tuple" || v.kind === "list";
}

export function expectTensor(v: Value, span: Span): TensorValue {
  if (v.kind !== "tensor") throw new LowerError("E5001", span, `expected a tensor, got a ${v.kind}`);
  return v;
}
