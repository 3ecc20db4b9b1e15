/**
 * Checking a call's arguments, for the expression checker (check-expr.ts): binding them to
 * parameters by position then by name, evaluating a primitive's compile-time parameters (ints,
 * axes, dims, shapes, perms, flags) and tensors, and unifying an fn argument with its declared
 * parameter type, shape symbols included.
 */
import type * as A from "../grammar/ast.js";
import type { RelatedInfo, Span } from "./diagnostics.js";
import type { ArgValue, PrimParam } from "./primitives.js";
import type { Scope } from "./scope.js";
import { closest } from "./suggest.js";
import { dtypeAssignable, showTy, tensor, type DimT, type TensorTy, type Ty } from "./types.js";
import { bindShape, isEllipsis } from "./ellipsis.js";

/** What argument checking needs from the expression checker. */
export interface ArgContext {
  /** Records a diagnostic; returns the error type. */
  report(code: string, span: Span, message: string, extra?: { hint?: string; related?: RelatedInfo[] }): Ty;
  typeOf(e: A.Expr, scope: Scope): Ty;
  intOf(e: A.Expr): number | undefined;
  dimOf(e: A.Expr, scope: Scope): DimT | undefined;
  constOf(name: string): number | boolean | undefined;
  tensorOperand(e: A.Expr, scope: Scope, what: string): TensorTy | undefined;
  /** Records the axes a named ellipsis denotes in this instance (for lower). */
  recordAxes(e: A.Expr, axes: number[]): void;
}

/** One argument as bound to a parameter. */
export interface BoundArg {
  expr: A.Expr;
  span: Span;
}

/** Binds call arguments to parameters by position, then by name. */
export function bindArgs(
  c: ArgContext,
  args: A.Arg[],
  params: { name: string; required: boolean }[],
  callee: string,
  at: Span,
): Map<string, BoundArg> | undefined {
  const bound = new Map<string, BoundArg>();
  let ok = true;
  let next = 0;
  let named: A.Arg | undefined;
  let misplaced = false;
  for (const a of args) {
    if (a.name === undefined && named !== undefined) {
      c.report("E3035", a.span, "a positional argument cannot follow a named one", {
        hint: `name it too, or move it before '${named.name!.name} = …'`,
      });
      ok = false;
      misplaced = true;
      continue;
    }
    if (a.name !== undefined) named = a;
    if (a.name === undefined) {
      const p = params[next++];
      if (p === undefined) {
        c.report("E3030", a.span, `too many arguments: ${callee} takes ${params.length}`);
        ok = false;
        continue;
      }
      bound.set(p.name, { expr: a.value, span: a.span });
      continue;
    }
    const p = params.find((q) => q.name === a.name!.name);
    if (p === undefined) {
      const guess = closest(a.name.name, params.map((q) => q.name));
      c.report("E3031", a.name.span, `${callee} has no parameter '${a.name.name}'`, {
        hint: guess !== undefined ? `did you mean '${guess}'?` : `its parameters: ${params.map((q) => q.name).join(", ") || "none"}`,
      });
      ok = false;
    } else if (bound.has(p.name)) {
      c.report("E3032", a.span, `'${p.name}' is given twice`, { related: [{ span: bound.get(p.name)!.span, message: "first given here" }] });
      ok = false;
    } else {
      bound.set(p.name, { expr: a.value, span: a.span });
    }
  }
  const missing = params.filter((p) => p.required && !bound.has(p.name));
  // A misplaced positional argument was meant for one of the missing parameters.
  if (missing.length > 0 && !misplaced) {
    c.report("E3033", at, `missing argument${missing.length > 1 ? "s" : ""} ${missing.map((m) => `'${m.name}'`).join(", ")} for ${callee}`);
    ok = false;
  }
  return ok ? bound : undefined;
}

/**
 * `axis = B` or `axis = [B, -1]` where B names an ellipsis (`...B`) of the rank-generic fn being
 * checked: the axes of `operand` that B's dims occupy in this instance. null when no element
 * names an ellipsis.
 */
function ellipsisAxes(c: ArgContext, e: A.Expr, scope: Scope, operand: TensorTy | undefined, callee: string): ArgValue | undefined | null {
  const elements = e.kind === "List" ? e.elements : [e];
  const named = (x: A.Expr) => (x.kind === "Name" ? scope.lookup(x.name) : undefined);
  if (!elements.some((x) => named(x)?.kind === "ellipsis")) return null;
  const axes: number[] = [];
  for (const x of elements) {
    const b = named(x);
    if (b?.kind !== "ellipsis") {
      const v = c.intOf(x);
      if (v === undefined) {
        c.report("E3034", x.span, `${callee}: an axis must be a compile-time integer or a named ellipsis`);
        return undefined;
      }
      axes.push(v);
      continue;
    }
    const ph = b.placeholders ?? [];
    const shape = operand?.shape ?? null;
    const first = shape === null ? -1 : ph.length === 0 ? 0 : shape.indexOf(ph[0]!);
    if (shape === null || first < 0 || ph.some((d, k) => shape[first + k] !== d)) {
      c.report("E3061", x.span, `${callee}: the operand ${operand === undefined ? "" : `(${showTy(operand)}) `}does not carry the dims of ...${(x as A.NameExpr).name}, so axis = ${(x as A.NameExpr).name} names no axes of it`, {
        hint: "a named ellipsis stands for the axes it covers in a value whose type still has them in a row, such as a parameter typed with it",
      });
      return undefined;
    }
    axes.push(...ph.map((_, k) => first + k));
  }
  c.recordAxes(e, axes);
  return { ty: { kind: "list", dims: axes }, ints: axes };
}

/** Evaluates one primitive argument according to its parameter kind (`operand`: the prim's x). */
export function argValue(c: ArgContext, p: PrimParam, e: A.Expr, scope: Scope, callee: string, operand?: TensorTy): ArgValue | undefined {
  if (p.kind === "axis") {
    const spread = ellipsisAxes(c, e, scope, operand, callee);
    if (spread !== null) return spread;
  }
  switch (p.kind) {
    case "tensor": {
      const t = c.tensorOperand(e, scope, callee);
      if (t === undefined) return undefined;
      if (p.dtype === "i32" && t.dtype !== "i32") {
        c.report("E3005", e.span, `${callee}: '${p.name}' must be an i32 tensor, got ${showTy(t)}`, { hint: "indices and labels are i32" });
        return undefined;
      }
      return { ty: t };
    }
    case "int":
    case "axis":
    case "pair": {
      const ints = e.kind === "List" && p.kind !== "int" ? e.elements.map((x) => c.intOf(x)) : undefined;
      if (ints !== undefined && ints.every((i) => i !== undefined)) return { ty: { kind: "list", dims: ints as number[] }, ints: ints as number[] };
      const v = c.intOf(e);
      if (v === undefined && e.kind === "Name" && scope.lookup(e.name)?.compileTime === true) return { ty: tensor("i32", [], true), symbolic: true };
      if (v === undefined) {
        c.report("E3034", e.span, `${callee}: '${p.name}' must be a compile-time integer`, { hint: "write a literal such as 1 or -1, or a const" });
        return undefined;
      }
      return { ty: tensor("i32", [], true), int: v };
    }
    case "dim": {
      const d = c.dimOf(e, scope);
      if (typeof d === "number" && d < 0 && p.signed !== true) {
        c.report("E3034", e.span, `${callee}: '${p.name}' must not be negative, got ${d}`);
        return undefined;
      }
      if (d === undefined) {
        c.report("E3034", e.span, `${callee}: '${p.name}' must be a size or a shape symbol such as K`);
        return undefined;
      }
      return typeof d === "number" ? { ty: tensor("i32", [], true), dim: d, int: d } : { ty: tensor("i32", []), dim: d };
    }
    case "shape":
    case "perm": {
      if (e.kind !== "List") {
        c.report("E3034", e.span, `${callee}: '${p.name}' must be a list such as [B, K]`);
        return undefined;
      }
      const ty = c.typeOf(e, scope);
      const ints = e.elements.map((x) => c.intOf(x));
      if (p.kind === "shape" && ty.kind === "list" && ty.dims.some((d) => typeof d === "number" && d < 0 && !(d === -1 && p.infer === true))) {
        c.report("E3034", e.span, `${callee}: a size in '${p.name}' is negative`);
        return undefined;
      }
      if (p.kind === "shape" && ty.kind === "list" && ty.dims.some((d, i) => d === "?" && c.dimOf(e.elements[i]!, scope) === undefined)) {
        c.report("E3034", e.span, `${callee}: every dim of '${p.name}' must be a size, a shape symbol or an i32 scalar`);
        return undefined;
      }
      return ints.every((i) => i !== undefined) ? { ty, ints: ints as number[] } : { ty };
    }
    case "flag": {
      const folded = e.kind === "Name" ? c.constOf(e.name) : undefined;
      if (typeof folded === "boolean") return { ty: tensor("bool", []), bool: folded };
      if (e.kind !== "Bool") {
        c.report("E3034", e.span, `${callee}: '${p.name}' must be true or false`);
        return undefined;
      }
      return { ty: tensor("bool", []), bool: e.value };
    }
  }
}

/** The symbols a call has bound so far: the dim (broadcast over its uses) and where it was bound. */
export type CallDims = Map<string, { dim: DimT; span: Span }>;

/**
 * Checks one argument against its parameter's type (ellipses already expanded for this call),
 * binding shape symbols with NumPy broadcasting (ellipsis.ts `bindShape`).
 */
export function unifyArg(c: Pick<ArgContext, "report">, param: string, want: TensorTy, got: TensorTy, span: Span, dims: CallDims, callee: string, generic: TensorTy = want): boolean {
  if (!dtypeAssignable(got, want.dtype)) {
    c.report("E3005", span, `${callee}: '${param}' expects ${showTy(generic)}, got ${showTy(got)}`);
    return false;
  }
  if (want.shape === null || got.shape === null) return true;
  const bound = new Map([...dims].map(([k, v]) => [k, { dim: v.dim, at: 0 }]));
  const clash = bindShape(want.shape, got.shape, bound, 0);
  if (clash === undefined) {
    for (const [k, v] of bound) if (dims.get(k)?.dim !== v.dim) dims.set(k, { dim: v.dim, span });
    return true;
  }
  // A placeholder "...B[1]" is shown as "dim 1 of ...B".
  const shown = (d: string) => (d.endsWith("]") ? `dim ${d.slice(d.lastIndexOf("[") + 1, -1)} of \`${d.slice(0, d.lastIndexOf("["))}\`` : `dim ${d}`);
  switch (clash.kind) {
    case "rank":
      c.report("E3002", span, `${callee}: '${param}' expects ${showTy(generic)} (rank ${clash.want}), got ${showTy(got)} (rank ${clash.got})`, {
        hint: generic.shape?.some(isEllipsis) ? undefined : `an argument may have fewer dims than its parameter (they broadcast), not more; for any number of leading dims, write the parameter as ${generic.dtype}[..., ${(generic.shape ?? []).join(", ")}]`,
      });
      return false;
    case "dim":
      c.report("E3002", span, `${callee}: '${param}' expects ${showTy(generic)}, got ${showTy(got)} (dim ${clash.axis}: ${clash.got} vs ${clash.want})`, {
        hint: "a dim must equal the parameter's or be 1 (it broadcasts)",
      });
      return false;
    case "symbol": {
      const prev = dims.get(clash.symbol)!;
      const label = shown(clash.symbol);
      const name = clash.symbol.endsWith("]") ? label : clash.symbol;
      c.report("E3002", span, `${callee}: ${label} is bound twice and disagrees: ${name} = ${clash.got} for '${param}' (${showTy(got)}), but ${name} = ${clash.prev} before`, {
        hint: `every use of ${name} in ${callee}'s parameter types must have the same size, or 1 (it broadcasts)`,
        related: [{ span: prev.span, message: `${name} = ${clash.prev} here` }],
      });
      return false;
    }
  }
}
