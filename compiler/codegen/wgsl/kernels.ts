/**
 * WGSL source for scheduled kernels, printed from the same Node lists as ../ts/kernels.ts and under
 * the binding/uniform contract of `WgslKernel` (runtime/plan.ts). One invocation computes one
 * element of a fused kernel (32 consecutive elements, one packed word, when it writes a bool
 * buffer; four, as vec4 loads and stores, when every operand is contiguous f32/i32 of the
 * kernel's shape or a scalar). Reductions are in ./reduce.ts.
 * Broadcast operands are read through per-axis strides applied to the coordinates of the linear
 * index (div/mod by the loop dims, which travel in the uniform). i32 values are WGSL i32 (exact
 * and wrapping as on the CPU), f32 and bool values f32 (bool as 0.0/1.0).
 */
import { isDimExpr } from "../../dims.js";
import { GENERATED_WORKGROUP, type Dim, type WgslKernel } from "../../../runtime/plan.js";
import { Op, type Node } from "../../ir.js";
import type { DimT } from "../../types.js";
import { isInlineValue, isScalarConst, type FusedKernel } from "../../schedule.js";
import type { KernelContext } from "../kernel-context.js";
import { wgslCast, wgslComparison, wgslIntComparisons, wgslIntLiteral, wgslIntOps, wgslLiteral, wgslOps } from "../expr.js";
import { helpersFor, type WgslHelper } from "./helpers.js";

/** A KernelContext that also knows how many dims and scalars the uniform block holds. */
export interface WgslContext extends KernelContext {
  dimCount: number;
  scalarCount: number;
}

/** Workgroup size of every generated kernel (Mesa's compat limit for x is 128); the runtime pads buffers for it. */
export const WGSL_WORKGROUP_SIZE = GENERATED_WORKGROUP;
/**
 * The storage buffers a generated kernel binds when it can: compatibility mode guarantees 8
 * per stage and one is kept in reserve. The schedule splits fused kernels to fit; a kernel one
 * output of which needs more keeps them, and runs where the adapter allows it (E6017 otherwise).
 */
export const MAX_STORAGE_BUFFERS = 7;

/** Shared state of one kernel's WGSL: bindings, hoisted lets, helpers it calls. */
export class WgslWriter {
  readonly hoisted: string[] = [];
  readonly bindings: string[] = [];
  private readonly dimVars = new Map<string, string>();
  private readonly scalarVars = new Map<string, string>();
  private readonly constVars = new Map<number, string>();
  private readonly bufferNames = new Map<number, string>();

  constructor(
    readonly name: string,
    readonly ctx: WgslContext,
  ) {}

  /** A dim as a u32 expression. */
  dim(d: DimT): string {
    if (typeof d === "number") return `${d}u`;
    let v = this.dimVars.get(d);
    if (v === undefined) {
      // A computed dim (`C*H*W`) is not a name: its local is named by its place in spec.dims.
      v = isDimExpr(d) ? `nc${this.ctx.dimIndex(d)}` : `n_${d}`;
      const k = this.ctx.dimIndex(d);
      this.dimVars.set(d, v);
      this.hoisted.push(`let ${v} = u.dims[${k >> 2}][${k & 3}];`);
    }
    return v;
  }

  /** A runtime scalar: an f32, or for an i32 scalar its bits, which the runtime stores as such. */
  scalar(name: string, dtype = "f32"): string {
    let v = this.scalarVars.get(name);
    if (v === undefined) {
      v = `s_${name}`;
      const k = this.ctx.scalarIndex(name);
      this.scalarVars.set(name, v);
      const slot = `u.scalars[${k >> 2}][${k & 3}]`;
      this.hoisted.push(`let ${v} = ${dtype === "i32" ? `bitcast<i32>(${slot})` : slot};`);
    }
    return v;
  }

  /**
   * The variable holding scalar constant `n` (schedule.ts `isScalarConst`), a hoisted `let` on
   * first use: computed once per invocation, before the guard, from its hoisted inputs.
   */
  constant(n: Node): string {
    let v = this.constVars.get(n.id);
    if (v === undefined) {
      const expr = nodeExpr(n, n.inputs.map((i) => leafValue(this, i)), () => "0u", "0u");
      v = `h${n.id}`;
      this.constVars.set(n.id, v);
      this.hoisted.push(`let ${v} = ${expr};`);
    }
    return v;
  }

  /** Declares the next binding (reads first, then writes, as the step's args). */
  bind(n: Node, write: boolean, vec4 = false): void {
    const b = `b${this.bufferNames.size}`;
    this.bufferNames.set(n.id, b);
    const scalar = n.dtype === "f32" ? "f32" : n.dtype === "i32" ? "i32" : "u32";
    const type = vec4 ? `vec4<${scalar}>` : scalar;
    this.bindings.push(`@group(0) @binding(${this.bufferNames.size}) var<storage, ${write ? "read_write" : "read"}> ${b}: array<${type}>;`);
  }

  buffer(n: Node): string {
    return this.bufferNames.get(n.id)!;
  }

  /** The product of dims as a u32 expression ("1u" for none). */
  product(dims: readonly DimT[]): string {
    const parts = dims.filter((d) => d !== 1).map((d) => this.dim(d));
    return parts.length === 0 ? "1u" : parts.join(" * ");
  }

  /** Element `at` (a u32 expression) of the buffer holding `n`: an i32 for i32, else an f32. */
  read(n: Node, at: string): string {
    const b = this.buffer(n);
    if (n.dtype === "f32" || n.dtype === "i32") return `${b}[${at}]`;
    const i = /^[\w.]+$/.test(at) ? at : `(${at})`;
    return `f32((${b}[${i} >> 5u] >> (${i} & 31u)) & 1u)`;
  }

  /** Storing a value of `n`'s own type (see `read`) into its non-bool buffer. */
  store(n: Node, at: string, value: string): string {
    return `${this.buffer(n)}[${at}] = ${value};`;
  }

  /**
   * The whole shader around `body`, the statements after the bounds guard. `total` is the element
   * count; with `per` elements per invocation (32 for a packed word, 4 for vec4) the guard
   * counts invocations. `guarded` false leaves out `total` and the guard (`WgslKernel.unguarded`),
   * so `body` must not read `total`.
   */
  module(total: string, body: string[], per = 1, guarded = true): string {
    const guard = per === 1 ? "if (idx >= total) { return; }" : `if (idx >= (total + ${per - 1}u) / ${per}u) { return; }`;
    const main = [...this.hoisted, ...(guarded ? [`let total = ${total};`, guard] : []), ...body];
    return this.shader(["@builtin(global_invocation_id) gid: vec3<u32>"], [`let idx = gid.x + gid.y * (nwg.x * ${WGSL_WORKGROUP_SIZE}u);`, ...main], WGSL_WORKGROUP_SIZE);
  }

  /** Uniforms, bindings, `extra` module-scope declarations, the helpers `main` calls, and `main`. */
  shader(builtins: string[], main: string[], size: number, extra: string[] = [], helpers: WgslHelper[] = []): string {
    const chosen = helpersFor([...main, ...extra].join("\n"), helpers);
    return [
      "struct Uniforms {",
      `  dims: array<vec4<u32>, ${Math.max(1, Math.ceil(this.ctx.dimCount / 4))}>,`,
      `  scalars: array<vec4<f32>, ${Math.max(1, Math.ceil(this.ctx.scalarCount / 4))}>,`,
      "  seed: vec4<u32>,",
      "}",
      "@group(0) @binding(0) var<uniform> u: Uniforms;",
      ...this.bindings,
      ...extra,
      ...chosen.map((h) => h.code),
      `@compute @workgroup_size(${size})`,
      `fn main(${[...builtins, "@builtin(num_workgroups) nwg: vec3<u32>"].join(", ")}) {`,
      ...indent(main, "  "),
      "}",
      "",
    ].join("\n");
  }
}

export function indent(lines: string[], by: string): string[] {
  return lines.flatMap((l) => l.split("\n")).map((l) => (l === "" ? l : by + l));
}

export function isScalarLike(n: Node): boolean {
  return n.shape.every((d) => d === 1);
}

export function sameShape(a: readonly DimT[], b: readonly DimT[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A note for a kernel that binds more than MAX_STORAGE_BUFFERS storage buffers (it runs only on
 * adapters whose maxStorageBuffersPerShaderStage allows it), or undefined.
 */
export function wgslBindingNote(k: WgslKernel, where: string): string | undefined {
  const count = k.code.match(/var<storage/g)?.length ?? 0;
  if (count <= MAX_STORAGE_BUFFERS) return undefined;
  return `kernel ${k.name} (${where}) binds ${count} storage buffers: it needs an adapter with maxStorageBuffersPerShaderStage >= ${count} (compatibility mode guarantees 8)`;
}

/**
 * `let v = …;` lines computing `nodes` (topological). `read(n)` gives a buffer operand, `coord(axis)`
 * the loop coordinate (u32) along an axis, `flat` the row-major element index (u32, for Random).
 */
export function computeLines(w: WgslWriter, nodes: readonly Node[], read: (n: Node) => string, coord: (axis: number) => string, flat: string): { lines: string[]; value: (n: Node) => string } {
  const own = new Set(nodes.map((n) => n.id));
  const value = (n: Node): string => (own.has(n.id) ? `v${n.id}` : isInlineValue(n) ? leafValue(w, n) : read(n));
  const lines = nodes.map((n) => `let v${n.id} = ${nodeExpr(n, n.inputs.map(value), coord, flat)};`);
  return { lines, value };
}

/** A literal, runtime scalar, dim or scalar constant, as the (hoisted) expression for it, of its own type. */
function leafValue(w: WgslWriter, n: Node): string {
  if (n.op === Op.Const) return n.dtype === "i32" ? wgslIntLiteral(n.attrs["value"] as number) : wgslLiteral(n.attrs["value"] as number);
  if (n.op === Op.Scalar) return w.scalar(n.attrs["name"] as string, n.dtype);
  if (n.op === Op.Dim) return `${n.dtype === "i32" ? "i32" : "f32"}(${w.dim(n.attrs["name"] as string)})`;
  if (isScalarConst(n)) return w.constant(n);
  throw new Error(`codegen/wgsl: ${n.op} is not computed inline`);
}

/** `expr`, a value of `from`'s WGSL type (i32 for i32, f32 otherwise), as an f32. */
export function asF32(expr: string, from: string): string {
  return from === "i32" ? `f32(${expr})` : expr;
}

/**
 * The expression for elementwise node `n` over its inputs' expressions `ins`, of `n`'s type: i32
 * ops compute in i32, comparisons of two i32s compare i32s, f32 ops take their i32 operands
 * through f32() (lowering casts them already; this keeps a stray one type-correct).
 */
function nodeExpr(n: Node, ins: string[], coord: (axis: number) => string, flat: string): string {
  if (n.op === Op.Random) {
    if (n.attrs["gumbel"] === true) return `rand_gumbel_(${flat}, ${n.attrs["site"]}u)`;
    return n.attrs["normal"] === true ? `rand_normal_(${flat}, ${n.attrs["site"]}u)` : `${n.attrs["open"] ? "rand_open01_" : "rand01_"}(${flat}, ${n.attrs["site"]}u, ${n.attrs["stream"]}u)`;
  }
  if (n.op === Op.Iota) return `i32(${coord(n.attrs["axis"] as number)})`;
  if (n.op === Op.Cast) return wgslCast(ins[0]!, n.inputs[0]!.dtype, n.dtype);
  if (n.dtype === "i32") {
    const p = wgslIntOps[n.op];
    if (p === undefined) throw new Error(`codegen/wgsl: no WGSL for i32 op ${n.op}`);
    return p(n.op === Op.Select ? [asF32(ins[0]!, n.inputs[0]!.dtype), ...ins.slice(1)] : ins);
  }
  const ints = n.inputs.map((i) => i.dtype === "i32");
  if (ints.length > 0 && ints.every(Boolean) && wgslIntComparisons[n.op] !== undefined) return wgslIntComparisons[n.op]!(ins);
  const comparison = wgslComparison(n, ins);
  if (comparison !== undefined) return comparison;
  const p = wgslOps[n.op];
  if (p === undefined) throw new Error(`codegen/wgsl: no WGSL for op ${n.op}`);
  return p(ins.map((x, k) => opaque(n, k, asF32(x, n.inputs[k]!.dtype))));
}

/**
 * Operand `k` of `n`, hidden from the shader compiler's algebra (rnd_) where an inexact rewrite
 * would drop IEEE's answer: NIR turns `x * 0.0` into 0 and `x - x` into 0, which are NaN for an
 * infinite or NaN x on the CPU.
 */
function opaque(n: Node, k: number, x: string): string {
  const c = n.inputs[k]!;
  const zero = n.op === Op.Mul && c.op === Op.Const && (c.attrs["value"] === 0 || !Number.isFinite(c.attrs["value"] as number));
  const self = n.op === Op.Sub && k === 1 && n.inputs[0] === c;
  return zero || self ? `rnd_(${x})` : x;
}

/** Strides (u32 expressions, "0" where it broadcasts) of `n`, aligned right, along each axis of `shape`. */
export function stridesFor(w: WgslWriter, n: Node, shape: readonly DimT[]): string[] {
  const off = shape.length - n.shape.length;
  return shape.map((_, k) => {
    const j = k - off;
    if (j < 0 || n.shape[j] === 1) return "0";
    return w.product(n.shape.slice(j + 1));
  });
}

/** `let c{axis} = …;` lines splitting the linear index `i` over `axes` of `shape` (row-major). */
export function coordLines(w: WgslWriter, shape: readonly DimT[], axes: number[], i: string): string[] {
  const lines: string[] = [];
  let q = i;
  for (let k = axes.length - 1; k >= 0; k--) {
    const a = axes[k]!;
    if (shape[a] === 1) lines.push(`let c${a} = 0u;`);
    else if (k === 0) lines.push(`let c${a} = ${q};`);
    else {
      lines.push(`let c${a} = ${q} % ${w.dim(shape[a]!)};`, `let q${a} = ${q} / ${w.dim(shape[a]!)};`);
      q = `q${a}`;
    }
  }
  return lines;
}

/** Σ c_axis * stride over `axes` (a u32 expression, "0u" when nothing moves). */
export function offsetExpr(strides: string[], axes: number[], base?: string): string {
  const terms = axes.filter((a) => strides[a] !== "0").map((a) => (strides[a] === "1u" ? `c${a}` : `c${a} * ${strides[a]}`));
  if (base !== undefined) terms.unshift(base);
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

/** A fused elementwise kernel. */
export function fusedKernelWgsl(name: string, k: FusedKernel, reads: Node[], ctx: WgslContext): WgslKernel {
  const vec = vec4Kernel(name, k, reads, ctx);
  if (vec !== undefined) return vec;
  const w = new WgslWriter(name, ctx);
  reads.forEach((n) => w.bind(n, false));
  k.outputs.forEach((n) => w.bind(n, true));
  const shape = k.shape;
  const axes = [...shape.keys()];
  const hoistedReads = reads.filter(isScalarLike);
  const strided = reads.filter((n) => !isScalarLike(n));
  const flat = strided.every((n) => sameShape(n.shape, shape)) && !k.nodes.some((n) => n.op === Op.Iota);
  const packed = k.outputs.filter((o) => o.dtype === "bool");
  // The statements for element `i`: coordinates, operand offsets, values, stores.
  const element: string[] = [];
  if (!flat) element.push(...coordLines(w, shape, axes, "i"));
  const offsets = new Map<number, string>();
  for (const n of strided) {
    if (flat || sameShape(n.shape, shape)) offsets.set(n.id, "i");
    else {
      element.push(`let p${n.id} = ${offsetExpr(stridesFor(w, n, shape), axes)};`);
      offsets.set(n.id, `p${n.id}`);
    }
  }
  const read = (n: Node) => (isScalarLike(n) ? `r${n.id}` : w.read(n, offsets.get(n.id)!));
  const c = computeLines(w, k.nodes, read, (axis) => `c${axis}`, "i");
  element.push(...c.lines);
  for (const o of k.outputs) {
    if (o.dtype === "bool") element.push(`bits${o.id} = bits${o.id} | select(0u, 1u << j, ${c.value(o)} != 0.0);`);
    else element.push(w.store(o, "i", c.value(o)));
  }
  const total = w.product(shape);
  const readLines = hoistedReads.map((n) => `let r${n.id} = ${w.read(n, "0u")};`);
  if (packed.length === 0) {
    const code = w.module(total, [...readLines, "let i = idx;", ...element]);
    return { name, code, workgroupSize: WGSL_WORKGROUP_SIZE, invocations: { shape: [...shape] as Dim[], perInvocation: 1 } };
  }
  // One packed word per invocation: elements 32 * idx … 32 * idx + 31.
  const body = [
    ...readLines,
    ...packed.map((o) => `var bits${o.id} = 0u;`),
    "for (var j = 0u; j < 32u; j++) {",
    "  let i = idx * 32u + j;",
    "  if (i >= total) { break; }",
    ...indent(element, "  "),
    "}",
    ...packed.map((o) => `${w.buffer(o)}[idx] = bits${o.id};`),
  ];
  return { name, code: w.module(total, body, 32), workgroupSize: WGSL_WORKGROUP_SIZE, invocations: { shape: [...shape] as Dim[], perInvocation: 32 } };
}

/**
 * A fused kernel over contiguous same-shape operands (scalar ones hoisted) with no packed bool
 * buffer and no coordinate-dependent op: each invocation loads one vec4 of every operand, computes
 * its four elements (the same scalar statements, per lane) and stores one vec4 per output. The
 * pool pads every buffer to 16 bytes at least, so the guarded `code`'s last vec4 stays inside it;
 * `unguarded` drops the guard for buffers padded to the grid's vec4 coverage (runtime/plan.ts).
 * Either way the lanes past the end compute on padding and write padding, which nothing reads:
 * kernels, reductions and library kernels index below their element counts, a buffer copy carries
 * padding into padding and readback keeps the first n elements. Undefined when the kernel does not
 * qualify.
 */
function vec4Kernel(name: string, k: FusedKernel, reads: Node[], ctx: WgslContext): WgslKernel | undefined {
  const shape = k.shape;
  const strided = reads.filter((n) => !isScalarLike(n));
  const ok =
    strided.every((n) => sameShape(n.shape, shape) && n.dtype !== "bool") &&
    k.outputs.every((o) => o.dtype !== "bool") &&
    !k.nodes.some((n) => n.op === Op.Iota) &&
    reads.every((n) => n.dtype !== "bool" || isScalarLike(n));
  if (!ok) return undefined;
  const w = new WgslWriter(name, ctx);
  const isVec = new Set(strided.map((n) => n.id));
  reads.forEach((n) => w.bind(n, false, isVec.has(n.id)));
  k.outputs.forEach((n) => w.bind(n, true, true));
  const read = (n: Node) => (isScalarLike(n) ? `r${n.id}` : `x${n.id}[l]`);
  const c = computeLines(w, k.nodes, read, () => "0u", "i");
  const lanes = [
    "let i = idx * 4u + l;",
    ...c.lines,
    ...k.outputs.map((o) => `o${o.id}[l] = ${c.value(o)};`),
  ];
  const body = [
    ...reads.filter(isScalarLike).map((n) => `let r${n.id} = ${w.read(n, "0u")};`),
    ...strided.map((n) => `let x${n.id} = ${w.buffer(n)}[idx];`),
    ...k.outputs.map((o) => `var o${o.id}: vec4<${o.dtype === "i32" ? "i32" : "f32"}>;`),
    "for (var l = 0u; l < 4u; l++) {",
    ...indent(lanes, "  "),
    "}",
    ...k.outputs.map((o) => `${w.buffer(o)}[idx] = o${o.id};`),
  ];
  const total = w.product(shape);
  const code = w.module(total, body, 4);
  const unguarded = w.module(total, body, 4, false);
  return { name, code, unguarded, workgroupSize: WGSL_WORKGROUP_SIZE, invocations: { shape: [...shape] as Dim[], perInvocation: 4 } };
}
