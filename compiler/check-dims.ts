/**
 * The checker's use of dim arithmetic (compiler/dims.ts): computed dims written in types
 * (`f32[B, C * H * W]`), which symbols a fn's parameter types bind, binding a callee's symbols
 * from the caller's dims, and a reshape's `-1`.
 *
 * Binding rule (docs/language.md §4): a symbol written alone as a dim of a parameter is bound
 * by that dim; a symbol that appears only inside computed dims is bound when some computed dim
 * is linear in it with a numeric coefficient and mentions no other unbound symbol
 * (`f32[2 * N]` binds N as half the size, which must be even; `f32[N + 1]` binds N as one less).
 * Any other computed dim is checked against the sizes once its symbols are bound.
 */
import type * as A from "../grammar/ast.js";
import type { Span } from "./diagnostics.js";
import { dimAdd, dimExactDiv, dimFloorDiv, dimMul, dimProduct, dimSub, dimSymbols, isDimExpr, solveLinear, substituteDim } from "./dims.js";
import type { DimT } from "./types.js";

type Report = (code: string, span: Span, message: string, extra?: { hint?: string }) => void;

/**
 * The dim a type's dim denotes: a size, a symbol (or an integer const's value, from `constOf`),
 * or the canonical form of its arithmetic; `?` after reporting E3009.
 */
export function typeDim(d: A.Dim, constOf: (name: string) => number | undefined, report: Report): DimT {
  const bad = (message: string, hint?: string): DimT => {
    report("E3009", d.span, message, hint === undefined ? undefined : { hint });
    return "?";
  };
  switch (d.kind) {
    case "DimSymbol":
      return constOf(d.name) ?? d.name;
    case "DimSize":
      if (!Number.isInteger(d.value) || d.value < 0) return bad(`a dimension must be a whole number or a name, got ${Number.isNaN(d.value) ? "nothing" : d.value}`);
      return d.value;
    case "DimEllipsis":
      return bad("an ellipsis stands for a run of dims and cannot be part of dim arithmetic", "write it as a dim of its own: f32[..., C * H]");
    case "DimBinary": {
      const a = typeDim(d.left, constOf, report);
      const b = typeDim(d.right, constOf, report);
      if (a === "?" || b === "?") return "?";
      if (d.op === "/") {
        if (typeof b !== "number" || b < 1) return bad(`a dimension can be divided only by a whole number of at least 1, not by ${b}`, "`/` in a dim is floor division by a constant: (H + 1) / 2");
        return dimFloorDiv(a, b);
      }
      const r = d.op === "+" ? dimAdd(a, b) : d.op === "-" ? dimSub(a, b) : dimMul(a, b);
      if (typeof r === "number" && r < 0) return bad(`this dimension is ${r}, and a dimension cannot be negative`);
      return r;
    }
  }
}

/**
 * Which symbols the parameter shapes bind (see the header), and the computed dims whose
 * symbols they leave unbound (each with the symbols it lacks).
 */
export function boundSymbols(shapes: readonly (readonly DimT[])[]): { bound: Set<string>; unbindable: { dim: string; missing: string[] }[] } {
  const bound = new Set<string>();
  for (const s of shapes) for (const d of s) if (typeof d === "string" && d !== "?" && !isDimExpr(d)) bound.add(d);
  const computed = shapes.flat().filter(isDimExpr);
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of computed) {
      const solved = solveLinear(d, "?", (s) => bound.has(s));
      if (solved !== undefined && !bound.has(solved.symbol)) {
        bound.add(solved.symbol);
        grew = true;
      }
    }
  }
  const unbindable = computed.flatMap((dim) => {
    const missing = dimSymbols(dim).filter((s) => !bound.has(s));
    return missing.length === 0 ? [] : [{ dim, missing }];
  });
  return { bound, unbindable };
}

/**
 * Settles the computed dims of a call's parameter types (`2 * N`), which ellipsis.ts's
 * `bindShape` binds like symbols, keyed by their text, to the caller's dims: each is taken out
 * of `dims`; a linear one solves its one unbound symbol (repeated while that binds more, the
 * new entry a copy of the computed dim's with the solved dim), and every one must then equal
 * the caller's dim with its symbols substituted. Returns an error message and the computed
 * dim's entry for the first that fails.
 */
export function settleComputedDims<T extends { dim: DimT }>(dims: Map<string, T>): { message: string; entry: T } | undefined {
  const pending = [...dims].filter(([k]) => isDimExpr(k));
  for (const [k] of pending) dims.delete(k);
  const value = (s: string) => dims.get(s)?.dim;
  for (let grew = true; grew; ) {
    grew = false;
    for (const [want, entry] of pending) {
      const solved = solveLinear(substituteDim(want, value), entry.dim, (s) => dims.has(s));
      if (solved === undefined || dims.has(solved.symbol)) continue;
      dims.set(solved.symbol, { ...entry, dim: solved.dim });
      grew = true;
    }
  }
  for (const [text, entry] of pending) {
    const want = substituteDim(text, value);
    const got = entry.dim;
    if (want === got || want === "?" || got === "?") continue;
    const lacking = dimSymbols(want).filter((s) => !dims.has(s));
    if (lacking.length > 0) {
      const every = typeof got === "number" ? "" : ` at every size of ${dimSymbols(got).join(", ")}`;
      return { message: `the argument's dim ${got} is not ${want} for a whole ${lacking.join(", ")}${every}`, entry };
    }
    return { message: `the dim ${text} is ${want} here, but the argument has ${got}`, entry };
  }
  return undefined;
}

/**
 * A reshape target with its one `-1` (if any) replaced by the element count of `from` divided
 * by the others', or an error message: two `-1`s, a negative size, or a count that the other
 * dims do not divide for every value of the symbols.
 */
export function inferReshape(from: readonly DimT[] | null, target: readonly DimT[]): { shape: DimT[] } | { error: string } {
  const holes = target.flatMap((d, i) => (d === -1 ? [i] : []));
  const negative = target.find((d) => typeof d === "number" && d < -1);
  if (negative !== undefined) return { error: `a reshape size cannot be negative (${negative}); only one -1, for a size to infer` };
  if (holes.length === 0) return { shape: [...target] };
  if (holes.length > 1) return { error: "only one size of a reshape can be -1 (the one inferred)" };
  if (from === null || from.includes("?")) return { shape: target.map((d) => (d === -1 ? "?" : d)) };
  const rest = target.filter((d) => d !== -1);
  if (rest.includes("?")) return { shape: target.map((d) => (d === -1 ? "?" : d)) };
  const count = dimProduct(from);
  const other = dimProduct(rest);
  const inferred = dimExactDiv(count, other);
  if (inferred === undefined) {
    return { error: `cannot infer the -1: ${count} elements are not a whole number of rows of ${other}${typeof count === "number" && typeof other === "number" ? "" : " for every value of the symbols"}` };
  }
  return { shape: target.map((d) => (d === -1 ? inferred : d)) };
}

/**
 * The dim a list element denotes (`C * H * W`, `2 * N`, `(H + 1) / 2`, with `/` floor division
 * by a whole number as in types): arithmetic over what `leaf` makes of names and numbers;
 * undefined when it is not dim arithmetic.
 */
export function dimOfExpr(e: A.Expr, leaf: (e: A.Expr) => DimT | undefined): DimT | undefined {
  if (e.kind !== "Binary" || !["+", "-", "*", "/"].includes(e.op)) return leaf(e);
  const a = dimOfExpr(e.left, leaf);
  const b = dimOfExpr(e.right, leaf);
  if (a === undefined || b === undefined) return undefined;
  if (e.op === "/") return typeof b === "number" && b >= 1 ? dimFloorDiv(a, b) : b === "?" ? "?" : undefined;
  return e.op === "+" ? dimAdd(a, b) : e.op === "-" ? dimSub(a, b) : dimMul(a, b);
}

/** The shape symbols a type's dim names, with their spans (`C * H` names C and H). */
export function dimNames(d: A.Dim): A.DimSymbol[] {
  return d.kind === "DimSymbol" ? [d] : d.kind === "DimBinary" ? [...dimNames(d.left), ...dimNames(d.right)] : [];
}
