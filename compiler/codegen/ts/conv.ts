/**
 * TypeScript for a convolution kernel with its fused epilogue (compiler/schedule-conv.ts): the
 * runtime's convolution (`conv2dEpilogue`, runtime/conv.ts: im2col + the Wasm SIMD gemm when it
 * is active, the TypeScript gemm otherwise) calls the epilogue printed here on each run of output
 * elements as the product hands it over, so the epilogue reads the convolution's value where the
 * product left it (in cache) and the convolution's own value is stored only when something
 * outside the kernel reads it. An operand is read at one offset per run — per image and channel —
 * plus the position for one of the output's spatial shape (schedule-conv.ts `convOperandLayout`),
 * and one that is the same along the run is read once before it.
 */
import type { Node } from "../../ir.js";
import { convOperandLayout, type ConvKernel } from "../../schedule-conv.js";
import { isInlineValue } from "../../schedule.js";
import type { KernelContext } from "../kernel-context.js";
import { KernelWriter, computeLines, indentTs, isScalarLike, params, readAt, stridesFor, uniqueInputs, type KernelSource } from "./kernels.js";

/** The convolution kernel's TypeScript. */
export function convKernelTs(k: ConvKernel, reads: Node[], ctx: KernelContext): KernelSource {
  const w = new KernelWriter(ctx);
  const ps = params(w, reads, k.outputs);
  const conv = k.node;
  const [x, wt] = conv.inputs as [Node, Node];
  const out = conv.shape;
  const shapeOf = (n: Node) => `[${n.shape.map((d) => w.dim(d)).join(", ")}]`;
  const pair = (key: string) => `[${(conv.attrs[key] as readonly number[]).join(", ")}]`;
  const inside = new Set([conv.id, ...k.epilogue.map((n) => n.id)]);
  const operands = uniqueInputs(k.epilogue).filter((i) => !inside.has(i.id) && !isInlineValue(i));
  const before: string[] = [];
  const perRun: string[] = [];
  const reader = new Map<number, string>();
  for (const n of operands) {
    if (isScalarLike(n)) {
      before.push(`const r${n.id} = ${readAt(w, n, "0")};`);
      reader.set(n.id, `r${n.id}`);
      continue;
    }
    const layout = convOperandLayout(n, out);
    if (layout === undefined) throw new Error(`codegen/ts: operand [${n.shape.join(", ")}] of a conv2d epilogue is neither per plane nor per point`);
    const [sb, so] = stridesFor(w, n, out) as [string, string];
    const terms = [...(sb === "0" ? [] : [sb === "1" ? "bi" : `bi * ${sb}`]), ...(so === "0" ? [] : [so === "1" ? "oc" : `oc * ${so}`]), ...(layout === "plane" ? ["pos"] : [])];
    const offset = terms.length === 0 ? "0" : terms.join(" + ");
    if (layout === "point") {
      // The same element along the whole run: read once.
      perRun.push(`const r${n.id} = ${readAt(w, n, offset)};`);
      reader.set(n.id, `r${n.id}`);
    } else {
      perRun.push(`const q${n.id} = ${offset};`);
      reader.set(n.id, readAt(w, n, `q${n.id} + e`));
    }
  }
  const read = (n: Node) => (n.id === conv.id ? "src[at + e]!" : reader.get(n.id)!);
  const c = computeLines(w, k.epilogue, read, (axis) => (axis === 0 ? "bi" : axis === 1 ? "oc" : "0"), "(base + e)");
  const tail = k.outputs.filter((o) => o !== conv);
  const plane = w.product(out.slice(2));
  const stored = k.outputs.includes(conv) ? w.buffer(conv) : "null";
  const geometry = `${pair("stride")}, ${pair("padding")}, ${pair("dilation")}, ${conv.attrs["groups"] as number}`;
  const lines = [
    ...before,
    `conv2dEpilogue(${w.buffer(x)}, ${shapeOf(x)}, ${w.buffer(wt)}, ${shapeOf(wt)}, ${stored}, ${shapeOf(conv)}, ${geometry}, (src, at, bi, oc, pos, len) => {`,
    ...indentTs([
      `const base = (bi * ${w.dim(out[1]!)} + oc) * ${plane} + pos;`,
      ...perRun,
      "for (let e = 0; e < len; e++) {",
      ...indentTs([...c.lines, ...tail.map((o) => `${w.buffer(o)}[base + e] = ${c.value(o)};`)]),
      "}",
    ]),
    "});",
  ];
  return { params: ps, body: [...w.hoisted, ...lines].join("\n"), reads, writes: k.outputs };
}
