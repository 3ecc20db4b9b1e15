/**
 * A forward convolution with the elementwise chain that consumes it fused in as an epilogue
 * (`sign(conv2d(x, w) + b)`, inference batch norm's `· scale + shift`, an estimator's forward):
 * schedule-matmul.ts grows and trims the epilogue with the product's rules (the nodes have the
 * convolution's shape, read besides it only values that depend on no product or convolution at
 * or after it, store no bool, fit MAX_FUSED_OPS and the buffer limit), and this file adds the
 * convolution's own: every other operand broadcasts over the output [B, O, Ho, Wo] either along
 * both spatial axes or along neither (a per-channel `[O, 1, 1]` / `[1, O, 1, 1]` bias, a
 * `[B, O, 1, 1]` scale, a value of the output's shape, a scalar), and no node is an `iota`. The
 * CPU runs the epilogue on each run of one output row of one image as the im2col product hands it
 * over (runtime/conv.ts `ConvEpilogue`), where a run's operands sit at one offset per operand plus
 * the position, which that rule guarantees. A convolution nothing fuses into stays a runtime step.
 */
import { Op, type Node } from "./ir.js";

/** A forward convolution kernel: out = conv2d(x, w) (the node's geometry), then the epilogue. */
export interface ConvKernel {
  kind: "conv";
  node: Node;
  /** Elementwise nodes over `node.shape` computed from the convolution (topological). */
  epilogue: Node[];
  /** The values of [node, ...epilogue] that are stored (read elsewhere or roots). */
  outputs: Node[];
}

/** How an epilogue operand is laid out over one output row run: per-image/per-channel offset, plus the position or not. */
export type ConvOperandLayout = "plane" | "point";

/**
 * An operand's layout over the output shape `out` ([B, O, Ho, Wo], operand aligned right as
 * NumPy broadcasting does): "plane" when it has the output's Ho and Wo (each run reads it at
 * consecutive positions), "point" when it broadcasts along both (one element per image and
 * channel), undefined otherwise (say `[Wo]`, which varies along a run's row but not its column).
 */
export function convOperandLayout(n: Node, out: readonly (string | number)[]): ConvOperandLayout | undefined {
  const r = n.shape.length;
  if (r > 4) return undefined;
  const h = r >= 2 ? n.shape[r - 2]! : 1;
  const w = r >= 1 ? n.shape[r - 1]! : 1;
  if (h === 1 && w === 1) return "point";
  return h === out[2] && w === out[3] ? "plane" : undefined;
}

/** Whether node `n` may join convolution `conv`'s epilogue (besides the product's rules). */
export function convEpilogueAccepts(ctx: { isInlineLeaf: (n: Node) => boolean }, conv: Node, n: Node): boolean {
  if (n.op === Op.Iota) return false;
  return n.inputs.every((i) => i === conv || ctx.isInlineLeaf(i) || convOperandLayout(i, conv.shape) !== undefined);
}

/** The buffers a convolution kernel reads: x, w, and what its epilogue reads from elsewhere. */
export function convKernelBuffers(ctx: { isInlineLeaf: (n: Node) => boolean }, k: ConvKernel): Node[] {
  const reads = new Map<number, Node>();
  for (const i of k.node.inputs) reads.set(i.id, i);
  const computed = new Set([k.node.id, ...k.epilogue.map((n) => n.id)]);
  for (const n of k.epilogue) for (const i of n.inputs) if (!computed.has(i.id) && !ctx.isInlineLeaf(i)) reads.set(i.id, i);
  return [...reads.values()];
}
