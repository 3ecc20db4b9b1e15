/**
 * WGSL for a convolution kernel with its fused epilogue (compiler/schedule-conv.ts): the
 * runtime's forward implicit GEMM (runtime/webgpu/conv-kernels.ts: out[g] [O/G, B·Ho·Wo] =
 * w[g] @ col(x)[g], 64 x 64 output blocks, grid ceil(B·Ho·Wo / 64) x ceil((O/G) / 64) x G) with
 * the sizes read from the generated uniform's dims and the geometry as literals, and the epilogue
 * computed on each accumulated element where the library kernel stores it: the convolution's
 * value never goes through memory unless something outside the kernel reads it. No epilogue
 * output is bool (schedule-matmul.ts leaves those out: a packed word would span invocations).
 */
import type { Dim, WgslKernel } from "../../../runtime/plan.js";
import { IMPLICIT_GEMM_SHARED, IMPLICIT_GEMM_THREADS, colX, implicitGemmBody } from "../../../runtime/webgpu/conv-kernels.js";
import type { Node } from "../../ir.js";
import type { DimT } from "../../types.js";
import type { ConvKernel } from "../../schedule-conv.js";
import { computeLines, indent, isScalarLike, stridesFor, WgslWriter, type WgslContext } from "./kernels.js";

/** The convolution kernel's WGSL. */
export function convKernelWgsl(name: string, k: ConvKernel, reads: Node[], ctx: WgslContext): WgslKernel {
  const w = new WgslWriter(name, ctx);
  reads.forEach((n) => w.bind(n, false));
  k.outputs.forEach((n) => w.bind(n, true));
  const conv = k.node;
  const [x, wt] = conv.inputs as [Node, Node];
  const out = conv.shape;
  const groups = conv.attrs["groups"] as number;
  // The sizes as i32s for the module functions (main's hoisted lets are out of their scope).
  const size = (d: DimT) => (typeof d === "number" ? `${d}` : `i32(u.dims[${ctx.dimIndex(d) >> 2}][${ctx.dimIndex(d) & 3}])`);
  const pair = (key: string) => conv.attrs[key] as readonly number[];
  const [stride, padding, dilation] = [pair("stride"), pair("padding"), pair("dilation")];
  const sizes = [
    `  let B = ${size(x.shape[0]!)}; let C = ${size(x.shape[1]!)}; let H = ${size(x.shape[2]!)}; let W = ${size(x.shape[3]!)};`,
    `  let O = ${size(out[1]!)}; let Cg = ${size(wt.shape[1]!)}; let KH = ${size(wt.shape[2]!)}; let KW = ${size(wt.shape[3]!)};`,
    `  let Ho = ${size(out[2]!)}; let Wo = ${size(out[3]!)}; let Og = O / ${groups};`,
    `  let sh = ${stride[0]}; let sw = ${stride[1]}; let ph = ${padding[0]}; let pw = ${padding[1]}; let dh = ${dilation[0]}; let dw = ${dilation[1]};`,
  ].join("\n");
  const loads = [
    "fn loadA(g: i32, row: i32, k: i32) -> f32 {",
    sizes,
    `  { return ${w.buffer(wt)}[(g * Og + row) * Cg * KH * KW + k]; }`,
    "}",
    "fn loadB(g: i32, k: i32, col: i32) -> f32 {",
    sizes,
    `  ${colX("k", "col", w.buffer(x))}`,
    "}",
  ];
  // Output coordinates (u32) of element (g, row, col): image, channel, then the position's row and column.
  const [O, Ho, Wo] = [w.dim(out[1]!), w.dim(out[2]!), w.dim(out[3]!)];
  const og = groups === 1 ? O : `(${O} / ${groups}u)`;
  const coords = ["cb", "oc", `(pp / ${Wo})`, `(pp % ${Wo})`];
  const read = (n: Node) => (n.id === conv.id ? `v${n.id}` : w.read(n, isScalarLike(n) ? "0u" : linear(w, n, out, coords)));
  const c = computeLines(w, k.epilogue, read, (axis) => coords[axis]!, "o");
  const store = [
    `let v${conv.id} = v;`,
    `let cb = u32(col) / (${Ho} * ${Wo});`,
    `let pp = u32(col) % (${Ho} * ${Wo});`,
    `let oc = u32(g) * ${og} + u32(row);`,
    `let o = (cb * ${O} + oc) * ${Ho} * ${Wo} + pp;`,
    ...c.lines,
    ...k.outputs.map((n) => w.store(n, "o", n.id === conv.id ? `v${n.id}` : c.value(n))),
  ];
  const [m, n, kk] = [`i32(${og})`, `i32(${w.dim(out[0]!)} * ${Ho} * ${Wo})`, `i32(${w.product(wt.shape.slice(1))})`];
  const body = implicitGemmBody(m, n, kk, indent(store, "        ").join("\n")).split("\n").map((l) => l.replace(/^ {2}/, ""));
  const code = w.shader(["@builtin(local_invocation_index) lid: u32", "@builtin(workgroup_id) wid: vec3<u32>"], [...w.hoisted, ...body], IMPLICIT_GEMM_THREADS, [...IMPLICIT_GEMM_SHARED, ...loads]);
  return {
    name,
    code,
    workgroupSize: IMPLICIT_GEMM_THREADS,
    invocations: { shape: [...out] as Dim[], perInvocation: 1 },
    conv: { out: [...out] as Dim[], groups, k: wt.shape.slice(1) as Dim[] },
  };
}

/** Σ coord · stride of `n` read over `shape` (n aligned right, broadcast axes skipped). */
function linear(w: WgslWriter, n: Node, shape: readonly DimT[], coords: string[]): string {
  const strides = stridesFor(w, n, shape);
  const terms = strides.flatMap((s, axis) => (s === "0" ? [] : [s === "1u" ? coords[axis]! : `${coords[axis]} * ${s}`]));
  return terms.length === 0 ? "0u" : terms.join(" + ");
}
