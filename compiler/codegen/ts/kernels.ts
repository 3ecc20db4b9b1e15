/**
 * TypeScript source for scheduled kernels: a fused elementwise loop (flat when every operand has
 * the loop's shape, otherwise a loop nest with per-operand strides so broadcast reads need no
 * division), and reductions with their elementwise prologue inside the loop.
 */
import { isDimExpr } from "../../dims.js";
import { Op, type Node } from "../../ir.js";
import type { DimT } from "../../types.js";
import type { FusedKernel, MatMulKernel, ReduceKernel } from "../../schedule.js";
import { isInlineValue, isScalarConst } from "../../schedule.js";
import type { KernelContext } from "../kernel-context.js";
import { constLiteral, nodeExpr } from "./node.js";

export type { KernelContext };


/** A kernel's TypeScript: the body statements and the buffers it takes, reads then writes. */
export interface KernelSource {
  params: { name: string; type: string }[];
  body: string;
  reads: Node[];
  writes: Node[];
}

/** Bool buffers are bit-packed: 32 elements per Int32Array word, 32x smaller than f32. */
const arrayType = (n: Node) => (n.dtype === "f32" ? "Float32Array" : "Int32Array");

/** Reads element `at` of the buffer holding `n` (unpacking a bit for bool). */
export function readAt(w: KernelWriter, n: Node, at: string): string {
  const b = w.buffer(n);
  return n.dtype === "bool" ? `((${b}[${at} >>> 5]! >>> (${at} & 31)) & 1)` : `${b}[${at}]!`;
}

/** Statements storing `value` at element `at` of output `n`; bools gather 32 bits per word. */
function writeAt(w: KernelWriter, n: Node, at: string, value: string): string[] {
  const b = w.buffer(n);
  if (n.dtype !== "bool") return [`${b}[${at}] = ${value};`];
  return [`bits${n.id} |= ${value} << (${at} & 31);`, `if ((${at} & 31) === 31) {`, `  ${b}[${at} >>> 5] = bits${n.id};`, `  bits${n.id} = 0;`, "}"];
}

/** Declarations before the loop and the final partial-word store after it, for bool outputs. */
function bitsAround(w: KernelWriter, outputs: Node[], size: string): { before: string[]; after: string[] } {
  const packed = outputs.filter((o) => o.dtype === "bool");
  return {
    before: packed.map((o) => `let bits${o.id} = 0;`),
    after: packed.map((o) => `if ((${size} & 31) !== 0) ${w.buffer(o)}[${size} >>> 5] = bits${o.id};`),
  };
}

/** Shared state of one kernel's code: hoisted declarations and names. */
export class KernelWriter {
  readonly hoisted: string[] = [];
  private readonly dimVars = new Map<string, string>();
  private readonly scalarVars = new Map<string, string>();
  private readonly constVars = new Map<number, string>();
  readonly bufferNames = new Map<number, string>();

  constructor(readonly ctx: KernelContext) {}

  dim(d: DimT): string {
    if (typeof d === "number") return String(d);
    let v = this.dimVars.get(d);
    if (v === undefined) {
      // A computed dim (`C*H*W`) is not a name: its local is named by its place in spec.dims.
      v = isDimExpr(d) ? `nc${this.ctx.dimIndex(d)}` : `n_${d}`;
      this.dimVars.set(d, v);
      this.hoisted.push(`const ${v} = dims[${this.ctx.dimIndex(d)}]!;`);
    }
    return v;
  }

  /** A runtime scalar, rounded to its dtype once (the options arrive as f64; WGSL reads f32 or i32). */
  scalar(name: string, dtype = "f32"): string {
    let v = this.scalarVars.get(name);
    if (v === undefined) {
      v = `s_${name}`;
      this.scalarVars.set(name, v);
      const raw = `scalars[${this.ctx.scalarIndex(name)}]!`;
      this.hoisted.push(`const ${v} = ${dtype === "f32" ? `Math.fround(${raw})` : dtype === "i32" ? `${raw} | 0` : raw};`);
    }
    return v;
  }

  /**
   * The variable holding scalar constant `n` (schedule.ts `isScalarConst`), declared with the
   * hoisted lines on first use: computed once per kernel, from its hoisted inputs, and rounded
   * to f32 as every f32 op of a kernel is.
   */
  constant(n: Node): string {
    let v = this.constVars.get(n.id);
    if (v === undefined) {
      const expr = nodeExpr(n, n.inputs.map((i) => leafValue(this, i)), () => "0", "0", true);
      v = `h${n.id}`;
      this.constVars.set(n.id, v);
      this.hoisted.push(`const ${v} = ${expr};`);
    }
    return v;
  }

  buffer(n: Node): string {
    let b = this.bufferNames.get(n.id);
    if (b === undefined) {
      b = `b${this.bufferNames.size}`;
      this.bufferNames.set(n.id, b);
    }
    return b;
  }

  /** The product of dims as an expression ("1" for none). */
  product(dims: readonly DimT[]): string {
    const parts = dims.filter((d) => d !== 1).map((d) => this.dim(d));
    return parts.length === 0 ? "1" : parts.join(" * ");
  }
}

/** Whether `n` holds one element (read once, before a kernel's loop). */
export function isScalarLike(n: Node): boolean {
  return n.shape.every((d) => d === 1);
}

function sameShape(a: readonly DimT[], b: readonly DimT[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Prints the computation of `nodes` (topological) as `const v = …;` lines. `read(n)` gives the
 * expression for a buffer operand; `index(axis)` the loop index along an axis of the loop shape;
 * `flat` the row-major index of the current element (for Random).
 */
export function computeLines(
  w: KernelWriter,
  nodes: readonly Node[],
  read: (n: Node) => string,
  index: (axis: number) => string,
  flat: string,
): { lines: string[]; value: (n: Node) => string } {
  const own = new Set(nodes.map((n) => n.id));
  const value = (n: Node): string => (own.has(n.id) ? `v${n.id}` : isInlineValue(n) ? leafValue(w, n) : read(n));
  // A select of two equal literals (`c !== 0 ? 1 : 1`) has a literal type, and comparing it with
  // 0 later is TS2367 in a user's tsc: a select's value is declared a number.
  const typed = (n: Node) => (n.op === Op.Select ? `v${n.id}: number` : `v${n.id}`);
  const lines = nodes.flatMap((n) => {
    // An operand the printed expression uses twice (sign's NaN test) that is a buffer read is
    // read once into a const: V8 does not merge the two loads and their bounds checks.
    const ins = n.inputs.map(value);
    const marks = ins.map((_, k) => `\u0000${k}\u0000`);
    const shape = nodeExpr(n, marks, index, flat);
    const once: string[] = [];
    const bound = ins.map((x, k) => {
      if ((/^[\w$.()-]+$/.test(x) && !x.includes("[")) || shape.split(marks[k]!).length <= 2) return x;
      once.push(`const a${n.id}_${k} = ${x};`);
      return `a${n.id}_${k}`;
    });
    return [...once, `const ${typed(n)} = ${nodeExpr(n, bound, index, flat)};`];
  });
  return { lines, value };
}

/** A literal, runtime scalar, dim or scalar constant, as the (hoisted) expression for it. */
function leafValue(w: KernelWriter, n: Node): string {
  if (n.op === Op.Const) return constLiteral(n);
  if (n.op === Op.Scalar) return w.scalar(n.attrs["name"] as string, n.dtype);
  if (n.op === Op.Dim) return w.dim(n.attrs["name"] as string);
  if (isScalarConst(n)) return w.constant(n);
  throw new Error(`codegen/ts: ${n.op} is not computed inline`);
}

interface Strided {
  node: Node;
  /** Stride of this operand along each axis of the loop shape (0 where it broadcasts). */
  strides: string[];
}

/** Strides of `n` (aligned right) along each axis of the loop shape `shape`. */
export function stridesFor(w: KernelWriter, n: Node, shape: readonly DimT[]): string[] {
  const off = shape.length - n.shape.length;
  return shape.map((_, k) => {
    const j = k - off;
    if (j < 0 || n.shape[j] === 1) return "0";
    return w.product(n.shape.slice(j + 1));
  });
}

/**
 * A loop nest over `shape` visiting axes in `order`; each strided operand gets an offset
 * variable updated at every level. `head`/`tail` run around the innermost `split` levels.
 */
function loopNest(
  w: KernelWriter,
  shape: readonly DimT[],
  order: number[],
  operands: Strided[],
  body: (offset: (n: Node) => string) => string[],
  around?: { split: number; head: string[]; tail: string[] },
): string[] {
  const lines: string[] = [];
  let indent = "";
  const offsets = new Map<number, string>();
  operands.forEach((o) => offsets.set(o.node.id, "0"));
  const closers: string[] = [];
  order.forEach((axis, level) => {
    if (around !== undefined && level === around.split) {
      lines.push(...around.head.map((l) => indent + l));
      closers.push("@tail");
    }
    const i = `i${axis}`;
    lines.push(`${indent}for (let ${i} = 0; ${i} < ${w.dim(shape[axis]!)}; ${i}++) {`);
    indent += "  ";
    for (const o of operands) {
      const s = o.strides[axis]!;
      if (s === "0") continue;
      const prev = offsets.get(o.node.id)!;
      const v = `p${o.node.id < 0 ? "self" : o.node.id}_${level}`;
      lines.push(`${indent}const ${v} = ${prev === "0" ? "" : `${prev} + `}${i}${s === "1" ? "" : ` * ${s}`};`);
      offsets.set(o.node.id, v);
    }
    closers.push("}");
  });
  if (around !== undefined && order.length === around.split) {
    lines.push(...around.head.map((l) => indent + l));
    closers.push("@tail");
  }
  lines.push(...body((n) => offsets.get(n.id) ?? "0").map((l) => indent + l));
  for (let k = closers.length - 1; k >= 0; k--) {
    if (closers[k] === "@tail") {
      lines.push(...around!.tail.map((l) => indent + l));
      continue;
    }
    indent = indent.slice(2);
    lines.push(`${indent}}`);
  }
  return lines;
}

/** A kernel's parameters: its reads, then its writes, as typed arrays. */
export function params(w: KernelWriter, reads: Node[], writes: Node[]): { name: string; type: string }[] {
  return [...reads, ...writes].map((n) => ({ name: w.buffer(n), type: arrayType(n) }));
}

/** A fused elementwise kernel. */
export function fusedKernelTs(k: FusedKernel, reads: Node[], ctx: KernelContext): KernelSource {
  const w = new KernelWriter(ctx);
  const ps = params(w, reads, k.outputs);
  const loop = fusedLoop(w, k.shape, k.nodes, k.outputs, reads);
  const body = [...w.hoisted, ...loop].join("\n");
  return { params: ps, body, reads, writes: k.outputs };
}

/**
 * The statements of a fused loop over `shape` computing `nodes` and storing `outputs` into the
 * buffers `w` names for them, reading `reads` (scalar-like ones hoisted out of the loop).
 */
export function fusedLoop(w: KernelWriter, shape: readonly DimT[], nodes: readonly Node[], outputs: readonly Node[], reads: readonly Node[]): string[] {
  const hoistedReads = reads.filter(isScalarLike);
  const strided = reads.filter((n) => !isScalarLike(n));
  const readLines = hoistedReads.map((n) => `const r${n.id} = ${readAt(w, n, "0")};`);
  const flatOk = strided.every((n) => sameShape(n.shape, shape)) && !nodes.some((n) => n.op === Op.Iota);
  if (flatOk) {
    const read = (n: Node) => (isScalarLike(n) ? `r${n.id}` : readAt(w, n, "i"));
    const c = computeLines(w, nodes, read, () => "0", "i");
    const writes = outputs.flatMap((o) => writeAt(w, o, "i", c.value(o)));
    const bits = bitsAround(w, [...outputs], "size");
    return [...readLines, `const size = ${w.product(shape)};`, ...bits.before, "for (let i = 0; i < size; i++) {", ...[...c.lines, ...writes].map((l) => "  " + l), "}", ...bits.after];
  }
  const ops: Strided[] = strided.map((n) => ({ node: n, strides: stridesFor(w, n, shape) }));
  const bits = bitsAround(w, [...outputs], "o");
  return [...readLines, "let o = 0;", ...bits.before, ...loopNest(w, shape, [...shape.keys()], ops, (off) => {
    const read = (n: Node) => (isScalarLike(n) ? `r${n.id}` : readAt(w, n, off(n)));
    const c = computeLines(w, nodes, read, (axis) => `i${axis}`, "o");
    return [...c.lines, ...outputs.flatMap((out) => writeAt(w, out, "o", c.value(out))), "o++;"];
  }), ...bits.after];
}

/**
 * A matrix product kernel: each operand with a prologue (or stored transposed) is computed into
 * a local array over its own shape, `gemm` (runtime/kernels.ts) multiplies, and the epilogue is a
 * fused loop over the product. The operands and the product are rounded to f32 as stored
 * buffers would be; the epilogue rounds each op to f32 as any fused loop does.
 */
export function matmulKernelTs(k: MatMulKernel, reads: Node[], ctx: KernelContext): KernelSource {
  const w = new KernelWriter(ctx);
  const ps = params(w, reads, k.outputs);
  const lines: string[] = [];
  const local = (n: Node) => lines.push(`const ${w.buffer(n)} = new Float32Array(${w.product(n.shape)});`);
  const shapeOf = (n: Node) => `[${n.shape.map((d) => w.dim(d)).join(", ")}]`;
  const computed = new Set<number>();
  for (const op of [k.a, k.b]) {
    // Both operands may be one value (`tanh(x) @ transpose(tanh(x))`): it is computed once.
    if (op.prologue.length === 0 || computed.has(op.value.id)) continue;
    computed.add(op.value.id);
    local(op.value);
    const outside = new Set(op.prologue.map((n) => n.id));
    const opReads = uniqueInputs(op.prologue).filter((i) => !outside.has(i.id) && !isInlineValue(i));
    const what = `${op === k.a ? "a" : "b"}${op.transposed ? " (stored transposed)" : ""}`;
    lines.push(`// operand ${what}: its ${op.prologue.length}-op prologue, computed here instead of in a kernel of its own`, "{", ...indentTs(fusedLoop(w, op.value.shape, op.prologue, [op.value], opReads)), "}");
  }
  const stored = k.outputs.includes(k.node);
  if (!stored) local(k.node);
  lines.push(`gemm(${w.buffer(k.a.value)}, ${shapeOf(k.a.value)}, ${k.a.transposed}, ${w.buffer(k.b.value)}, ${shapeOf(k.b.value)}, ${k.b.transposed}, ${w.buffer(k.node)});`);
  const tail = k.outputs.filter((o) => o !== k.node);
  if (tail.length > 0) {
    const inside = new Set([k.node.id, ...k.epilogue.map((n) => n.id)]);
    const epiReads = [k.node, ...uniqueInputs(k.epilogue).filter((i) => !inside.has(i.id) && !isInlineValue(i))];
    lines.push("{", ...indentTs(fusedLoop(w, k.node.shape, k.epilogue, tail, epiReads)), "}");
  }
  return { params: ps, body: [...w.hoisted, ...lines].join("\n"), reads, writes: k.outputs };
}

/** The distinct inputs of `nodes`. */
export function uniqueInputs(nodes: readonly Node[]): Node[] {
  const m = new Map<number, Node>();
  for (const n of nodes) for (const i of n.inputs) m.set(i.id, i);
  return [...m.values()];
}

/** `lines` indented one level. */
export function indentTs(lines: string[]): string[] {
  return lines.map((l) => "  " + l);
}

/** A reduction kernel with its prologue computed in the innermost loop. */
export function reduceKernelTs(k: ReduceKernel, reads: Node[], ctx: KernelContext): KernelSource {
  const w = new KernelWriter(ctx);
  const r = k.node;
  const x = r.inputs[0]!;
  const shape = x.shape;
  const axes = ((r.attrs["axes"] as number[] | undefined) ?? []).length === 0 ? [...shape.keys()] : (r.attrs["axes"] as number[]);
  const kept = [...shape.keys()].filter((a) => !axes.includes(a));
  const ps = params(w, reads, [r]);
  const hoistedReads = reads.filter(isScalarLike);
  const strided = reads.filter((n) => !isScalarLike(n));
  const self: Node = { ...x, id: -1 } as Node;
  const needsIndex = k.prologue.some((n) => n.op === Op.Random);
  const ops: Strided[] = strided.map((n) => ({ node: n, strides: stridesFor(w, n, shape) }));
  if (needsIndex) ops.push({ node: self, strides: stridesFor(w, self, shape) });
  const init = { [Op.Sum]: "0", [Op.Max]: "-Infinity", [Op.Min]: "Infinity", [Op.ArgMax]: "-Infinity", [Op.ArgMin]: "Infinity" }[r.op as Op.Sum]!;
  const arg = r.op === Op.ArgMax || r.op === Op.ArgMin;
  const head = [`let acc = ${init};`, ...(arg ? ["let best = 0;", "let count = 0;"] : [])];
  const tail = [`${w.buffer(r)}[o] = ${arg ? "best" : "acc"};`, "o++;"];
  const loop = ["let o = 0;", ...loopNest(w, shape, [...kept, ...axes], ops, (off) => {
    const read = (n: Node) => (isScalarLike(n) ? `r${n.id}` : readAt(w, n, off(n)));
    const c = computeLines(w, k.prologue, read, (axis) => `i${axis}`, off(self));
    const v = c.value(x);
    const step =
      r.op === Op.Sum ? [`acc += ${v};`]
      : r.op === Op.Max ? [`acc = Math.max(acc, ${v});`]
      : r.op === Op.Min ? [`acc = Math.min(acc, ${v});`]
      : [`const cand = ${v};`, `if (cand ${r.op === Op.ArgMax ? ">" : "<"} acc) { acc = cand; best = count; }`, "count++;"];
    return [...c.lines, ...step];
  }, { split: kept.length, head, tail })];
  const body = [...w.hoisted, ...hoistedReads.map((n) => `const r${n.id} = ${readAt(w, n, "0")};`), ...loop].join("\n");
  return { params: ps, body, reads, writes: [r] };
}

export { isInlineLeaf } from "../../schedule.js";
