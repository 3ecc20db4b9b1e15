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

/** What argument checking needs from the expression checker. */
export interface ArgContext {
  /** Records a diagnostic; returns the error type. */
  report(code: string, span: Span, message: string, extra?: { hint?: string; related?: RelatedInfo[] }): Ty;
  typeOf(e: A.Expr, scope: Scope): Ty;
  intOf(e: A.Expr): number | undefined;
  dimOf(e: A.Expr, scope: Scope): DimT | undefined;
  constOf(name: string): number | boolean | undefined;
  tensorOperand(e: A.Expr, scope: Scope, what: string): TensorTy | undefined;
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

/** Evaluates one primitive argument according to its parameter kind. */
export function argValue(c: ArgContext, p: PrimParam, e: A.Expr, scope: Scope, callee: string): ArgValue | undefined {
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
    case "axis": {
      const ints = e.kind === "List" && p.kind === "axis" ? e.elements.map((x) => c.intOf(x)) : undefined;
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
      if (typeof d === "number" && d < 0) {
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
      if (p.kind === "shape" && ty.kind === "list" && ty.dims.some((d) => typeof d === "number" && d < 0)) {
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

/** Checks one argument against a declared parameter type, binding its shape symbols. */
export function unifyArg(c: Pick<ArgContext, "report">, param: string, want: TensorTy, got: TensorTy, span: Span, dims: Map<string, { dim: DimT; span: Span }>, callee: string): boolean {
  if (!dtypeAssignable(got, want.dtype)) {
    c.report("E3005", span, `${callee}: '${param}' expects ${showTy(want)}, got ${showTy(got)}`);
    return false;
  }
  if (want.shape === null || got.shape === null) return true;
  if (want.shape.length !== got.shape.length) {
    c.report("E3002", span, `${callee}: '${param}' expects ${showTy(want)} (rank ${want.shape.length}), got ${showTy(got)} (rank ${got.shape.length})`);
    return false;
  }
  for (let i = 0; i < want.shape.length; i++) {
    const w = want.shape[i]!;
    const g = got.shape[i]!;
    if (typeof w === "number") {
      if (g !== w && g !== "?") {
        c.report("E3002", span, `${callee}: '${param}' expects ${showTy(want)}, got ${showTy(got)} (dim ${i}: ${g} vs ${w})`);
        return false;
      }
      continue;
    }
    const prev = dims.get(w);
    if (prev === undefined) dims.set(w, { dim: g, span });
    else if (prev.dim !== g && prev.dim !== "?" && g !== "?") {
      c.report("E3002", span, `${callee}: dim ${w} is bound twice and disagrees: ${w} = ${g} for '${param}' (${showTy(got)}), but ${w} = ${prev.dim} before`, {
        hint: `every use of ${w} in ${callee}'s parameter types must have the same size`,
        related: [{ span: prev.span, message: `${w} = ${prev.dim} here` }],
      });
      return false;
    }
  }
  return true;
}
