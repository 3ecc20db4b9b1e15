/**
 * Rank-generic fns (language.md §5): an ellipsis `...` or `...B` in a parameter type stands for a
 * run of zero or more dims. A generic type carries the ellipsis as one marker dim ("..." or
 * "...B"); at a call, each ellipsis gets a length from the arguments' ranks and the fn is
 * instantiated (checked, and inlined by lower) with that many placeholder dims ("...B[0]", …),
 * which the caller's dims then replace like any shape symbol. Shared by check and lower, so both
 * bind a call the same way.
 */
import type { DimT } from "./types.js";
import { broadcastDim } from "./types.js";
import { isDimExpr, substituteDim } from "./dims.js";

/** The marker dim of an ellipsis in a generic type: "..." or "...B". */
export function ellipsisMarker(name?: string): string {
  return `...${name ?? ""}`;
}

/** True for an ellipsis marker (not a placeholder of one). */
export function isEllipsis(d: DimT): d is string {
  return typeof d === "string" && d.startsWith("...") && !d.endsWith("]");
}

/** The k-th dim an ellipsis stands for in one instance: "...[0]", "...B[1]". */
export function placeholder(marker: string, k: number): string {
  return `${marker}[${k}]`;
}

/** How long each ellipsis is in one instance of a rank-generic fn, by marker. */
export type Lengths = ReadonlyMap<string, number>;

/** The ellipsis markers of some generic shapes, in order of first use. */
export function markersOf(shapes: readonly (readonly DimT[] | null | undefined)[]): string[] {
  const out: string[] = [];
  for (const s of shapes) for (const d of s ?? []) if (isEllipsis(d) && !out.includes(d)) out.push(d);
  return out;
}

/**
 * Each ellipsis's length at a call: the most dims any argument has beyond its parameter's fixed
 * dims (NumPy gufunc loop dims: the arguments' batches broadcast, so a shorter one is padded
 * with leading 1s). An ellipsis no argument lengthens is empty.
 */
export function callLengths(params: readonly (readonly DimT[] | null)[], argRanks: readonly (number | undefined)[]): Map<string, number> {
  const lengths = new Map<string, number>();
  params.forEach((shape, i) => {
    if (shape === null) return;
    const marker = shape.find(isEllipsis);
    if (marker === undefined) return;
    const rank = argRanks[i];
    const extra = rank === undefined ? 0 : Math.max(0, rank - (shape.length - 1));
    lengths.set(marker, Math.max(lengths.get(marker) ?? 0, extra));
  });
  return lengths;
}

/** A generic shape with each ellipsis replaced by its instance's placeholder dims. */
export function expandShape(shape: readonly DimT[], lengths: Lengths): DimT[] {
  return shape.flatMap<DimT>((d) => (isEllipsis(d) ? Array.from({ length: lengths.get(d) ?? 1 }, (_, k) => placeholder(d, k)) : [d]));
}

/** A stable name for one instance ("" for a fn without ellipsis): its ellipses' lengths. */
export function instanceKey(lengths: Lengths): string {
  return [...lengths].map(([m, n]) => `${m}=${n}`).join(",");
}

/** Where one argument's shape cannot be bound to its parameter's (expanded) shape. */
export type ShapeClash =
  | { kind: "rank"; want: number; got: number }
  | { kind: "dim"; axis: number; want: DimT; got: DimT }
  | { kind: "symbol"; symbol: string; got: DimT; prev: DimT; prevAt: number };

/**
 * Binds an argument's shape to a parameter's expanded shape with NumPy broadcasting: the
 * argument may have fewer dims (padded with leading 1s) and a 1 wherever the parameter has a
 * dim; a symbol binds to the broadcast of all its uses (`dims`, keyed by symbol, with the index
 * of the argument that bound it). More dims than the parameter, a literal dim other than the
 * parameter's (or 1), or a symbol whose uses are two different sizes is a clash.
 */
export function bindShape(want: readonly DimT[], got: readonly DimT[], dims: Map<string, { dim: DimT; at: number }>, at: number): ShapeClash | undefined {
  if (got.length > want.length) return { kind: "rank", want: want.length, got: got.length };
  const padded = [...Array<DimT>(want.length - got.length).fill(1), ...got];
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = padded[i]!;
    if (typeof w === "number") {
      if (g !== w && g !== 1 && g !== "?") return { kind: "dim", axis: i - (want.length - got.length), want: w, got: g };
      continue;
    }
    if (w === "?") continue;
    const prev = dims.get(w);
    if (prev === undefined) {
      dims.set(w, { dim: g, at });
      continue;
    }
    const b = prev.dim === "?" ? g : g === "?" ? prev.dim : broadcastDim(prev.dim, g);
    if (b === undefined) return { kind: "symbol", symbol: w, got: g, prev: prev.dim, prevAt: prev.at };
    if (b !== prev.dim) dims.set(w, { dim: b, at });
  }
  return undefined;
}

/** A shape with symbols replaced by their bound dims ("?" for an unbound one). */
export function substituteShape(shape: readonly DimT[], dims: ReadonlyMap<string, { dim: DimT }>): DimT[] {
  // A computed dim (`2*N`) is its arithmetic on the bound dims.
  return shape.map((d) => (isDimExpr(d) ? substituteDim(d, (s) => dims.get(s)?.dim ?? "?") : typeof d === "string" && d !== "?" ? (dims.get(d)?.dim ?? "?") : d));
}
