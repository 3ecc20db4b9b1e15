/**
 * The checker's types: tensors with a dtype and a symbolic shape, tuples of tensors, and
 * shape lists. A dim is a known size (number), a symbol bound by a parameter type (string), a
 * computed dim (a canonical string such as `C*H*W`, built only by compiler/dims.ts, so equal
 * dims are equal strings) or "?" when it cannot be known at compile time; a shape of `null` has unknown rank
 * (inside estimator bodies, whose inputs take the shape of whatever they are attached to).
 */
import type { DType } from "../grammar/ast.js";
import { dimProduct } from "./dims.js";

export type { DType };

/** One dimension: a size, a symbol such as "B", a canonical computed dim ("C*H*W"), or "?" (unknown). */
export type DimT = number | string;

/** A shape, or null for "any rank". */
export type Shape = DimT[] | null;

export interface TensorTy {
  kind: "tensor";
  dtype: DType;
  shape: Shape;
  /** An integer literal: adopts the other operand's dtype, like JAX's weak types. */
  weak?: boolean;
}

export interface TupleTy {
  kind: "tuple";
  elements: Ty[];
}

/** `[B, K]`: a list of dims (a shape, a permutation, a list of axes). */
export interface ListTy {
  kind: "list";
  dims: DimT[];
}

/** A value whose error was already reported; it silences follow-on errors. */
export interface ErrorTy {
  kind: "error";
}

export type Ty = TensorTy | TupleTy | ListTy | ErrorTy;

export const errorTy: ErrorTy = { kind: "error" };

export function tensor(dtype: DType, shape: Shape, weak = false): TensorTy {
  return weak ? { kind: "tensor", dtype, shape, weak } : { kind: "tensor", dtype, shape };
}

export const f32Scalar: TensorTy = tensor("f32", []);
export const i32Scalar: TensorTy = tensor("i32", []);

/** True for a tensor of rank 0. */
export function isScalar(t: Ty): t is TensorTy {
  return t.kind === "tensor" && t.shape !== null && t.shape.length === 0;
}

export function showDim(d: DimT): string {
  return String(d);
}

export function showShape(s: Shape): string {
  return s === null ? "[…]" : `[${s.map(showDim).join(", ")}]`;
}

/** `f32[B, I]`, `f32` for a scalar, `(f32[B], f32)` for a tuple. */
export function showTy(t: Ty): string {
  switch (t.kind) {
    case "tensor":
      return t.shape !== null && t.shape.length === 0 ? t.dtype : `${t.dtype}${showShape(t.shape)}`;
    case "tuple":
      return `(${t.elements.map(showTy).join(", ")})`;
    case "list":
      return `[${t.dims.map(showDim).join(", ")}] (a list)`;
    case "error":
      return "<error>";
  }
}

/** Two dims that can stand in the same place of two shapes (no broadcasting). */
export function dimsEqual(a: DimT, b: DimT): boolean {
  return a === b || a === "?" || b === "?";
}

/** NumPy broadcasting of two dims; undefined when they conflict. */
export function broadcastDim(a: DimT, b: DimT): DimT | undefined {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === "?") return b;
  if (b === "?") return a;
  return undefined;
}

/** NumPy broadcasting of two shapes, aligned at the right; on conflict, the dims that clash. */
export function broadcastShapes(a: Shape, b: Shape): { shape: Shape } | { clash: [DimT, DimT] } {
  if (a === null || b === null) return { shape: null };
  const n = Math.max(a.length, b.length);
  const out: DimT[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    const d = broadcastDim(da, db);
    if (d === undefined) return { clash: [da, db] };
    out.push(d);
  }
  return { shape: out };
}

/** The dtype arithmetic on two operands yields: bool counts as f32; i32 with f32 is f32. */
export function promote(a: TensorTy, b: TensorTy): { dtype: DType; weak: boolean } {
  const da = a.dtype === "bool" ? "f32" : a.dtype;
  const db = b.dtype === "bool" ? "f32" : b.dtype;
  if (a.weak && b.weak) return { dtype: da === "f32" || db === "f32" ? "f32" : "i32", weak: true };
  if (a.weak) return { dtype: db, weak: false };
  if (b.weak) return { dtype: da, weak: false };
  return { dtype: da === "f32" || db === "f32" ? "f32" : "i32", weak: false };
}

/** Whether a value of type `from` may be passed where `to` is declared (dtype only). */
export function dtypeAssignable(from: TensorTy, to: DType): boolean {
  if (from.dtype === to) return true;
  if (to === "f32") return from.dtype === "bool" || from.weak === true;
  return false;
}

/**
 * Symbolic element count: the canonical product of the dims (compiler/dims.ts), so two shapes
 * hold as many elements exactly when their counts are equal (`[B, C*H*W]` and `[B, C, H, W]`);
 * null when the rank or a dim is unknown.
 */
export function elementCount(shape: Shape): DimT | null {
  if (shape === null || shape.includes("?")) return null;
  return dimProduct(shape);
}
