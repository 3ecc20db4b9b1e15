/**
 * codegen/torch/graph: the statements of one graph (a forward with its residuals, or a pullback)
 * as straight-line Python, one assignment per IR node in topological order, with the `.est` line
 * a run of statements came from in a comment above it.
 */
import { neededIds, Op, topoSort, type DimT, type Node } from "../../ir.js";
import type { Span } from "../../diagnostics.js";
import type { SourceMap } from "../../source.js";
import { commentText } from "../../escape.js";
import { broadcasts, broadcastShape, torchExpr, type ExprContext } from "./ops.js";

/** The Python of a graph: its statements (unindented) and the expression of each root. */
export interface PrintedGraph {
  lines: string[];
  roots: string[];
}

/** `torch.float32`-like dtype expressions: f32 is the call's float dtype `F`, i32 int64 (torch's index type). */
export function dtypeExpr(d: string): string {
  return d === "f32" ? "F" : d === "i32" ? "torch.int64" : "torch.bool";
}

/**
 * The Python expression of one dim: `3`, `dims["B"]`, or a computed dim's text over the symbols
 * (`(49 * C)` → `(49*dims["C"])`; the text's `/` is floor division, Python's `//`).
 */
export function dimExpr(d: DimT | string): string {
  if (typeof d === "number") return String(d);
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(d)) return `dims[${JSON.stringify(d)}]`;
  return `(${d.replace(/[A-Za-z_][A-Za-z0-9_]*/g, (sym) => `dims[${JSON.stringify(sym)}]`).replaceAll("/", "//")})`;
}

/** `[dims["B"], 3]`. */
export function shapeExpr(dims: readonly DimT[]): string {
  return `[${dims.map(dimExpr).join(", ")}]`;
}

/** Ops whose torch result already has the node's dtype (comparisons give bool, casts their target). */
const typed = new Set([Op.Lt, Op.Le, Op.Gt, Op.Ge, Op.Eq, Op.Ne, Op.And, Op.Or, Op.Not, Op.Cast, Op.Step, Op.Const, Op.Dim, Op.Random, Op.Iota, Op.ArgMax, Op.ArgMin, Op.NmMask, Op.Custom, Op.StopGradient]);

/**
 * Prints `roots`, reading the Input nodes through `inputs` (name → Python expression) and
 * Scalar nodes through `scalars`. A Custom node's value is its inputs[0]: its other inputs (the
 * estimator's operands) are not computed, as in compiler/interpret.ts.
 */
export function printGraph(roots: readonly Node[], inputs: (name: string) => string, scalars: (name: string) => string, provenance: ReadonlyMap<number, Span>, sources: SourceMap): PrintedGraph {
  const names = new Map<number, string>();
  const needed = neededIds(roots);
  const ctx: ExprContext = { ref: (n) => names.get(n.id)!, shape: shapeExpr, dim: dimExpr, dtype: dtypeExpr };
  const lines: string[] = [];
  let lastLine = "";
  let count = 0;
  for (const n of topoSort(roots)) {
    if (!needed.has(n.id)) continue;
    if (n.op === Op.Input) {
      names.set(n.id, inputs(String(n.attrs["name"])));
      continue;
    }
    if (n.op === Op.Scalar) {
      names.set(n.id, scalars(String(n.attrs["name"])));
      continue;
    }
    const where = sourceLine(provenance.get(n.id), sources);
    if (where !== undefined && where !== lastLine) {
      lines.push(`# ${where}`);
      lastLine = where;
    }
    let expr = torchExpr(n, ctx);
    const operands = n.op === Op.Select ? n.inputs.slice(1) : n.inputs;
    if (!typed.has(n.op) && operands.some((i) => i.dtype !== n.dtype)) expr = `(${expr}).to(${dtypeExpr(n.dtype)})`;
    if (broadcasts(n.op) && n.inputs.length > 0 && n.op !== Op.Gather && !sameShape(broadcastShape(n.inputs.map((i) => i.shape)), n.shape) && isElementwiseLike(n.op)) {
      expr = `(${expr}).expand(${shapeExpr(n.shape)})`;
    }
    const name = `t${count++}`;
    lines.push(`${name} = ${expr}`);
    names.set(n.id, name);
  }
  return { lines, roots: roots.map((r) => names.get(r.id)!) };
}

/** Elementwise ops, whose node shape is the broadcast of their inputs' unless it is wider. */
function isElementwiseLike(op: Op): boolean {
  return ![Op.Sum, Op.Max, Op.Min, Op.ArgMax, Op.ArgMin, Op.MatMul, Op.Transpose, Op.Reshape, Op.GatherGrad, Op.NmMask, Op.Conv2d, Op.Conv2dInputGrad, Op.Conv2dWeightGrad, Op.MaxPool2d, Op.MaxPool2dGrad, Op.AvgPool2d, Op.AvgPool2dGrad].includes(op);
}

function sameShape(a: readonly DimT[] | undefined, b: readonly DimT[]): boolean {
  return a !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);
}


/** `file.est:12: source text` of a span, for the comment above the statements it produced. */
function sourceLine(span: Span | undefined, sources: SourceMap): string | undefined {
  if (span === undefined) return undefined;
  const src = sources.get(span.file);
  if (src === undefined) return commentText(span.file);
  const p = src.position(span.start);
  return commentText(`${span.file}:${p.line}: ${src.lineText(p.line).trim()}`);
}
