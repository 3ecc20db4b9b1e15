/**
 * The plan step of a convolution or pooling node: the runtime's `conv2d` / `pool2d` library step
 * (runtime/conv.ts and runtime/pool2d.ts on the CPU, runtime/webgpu/conv-kernels.ts on WebGPU)
 * with the node's geometry copied from its attrs.
 */
import type { Step } from "../../runtime/plan.js";
import { Op, type Node } from "../ir.js";

const pair = (n: Node, k: string): number[] => [...(n.attrs[k] as readonly number[])];

/** The step computing `n` (an op of compiler/conv-derivatives.ts's `convOps`). */
export function convStep(n: Node, buffer: (n: Node) => number): Step {
  const [a, b] = n.inputs as [Node, Node | undefined];
  const conv = (mode: "forward" | "input_grad" | "weight_grad"): Step => ({
    op: "conv2d",
    mode,
    a: buffer(a),
    b: buffer(b!),
    out: buffer(n),
    stride: pair(n, "stride"),
    padding: pair(n, "padding"),
    dilation: pair(n, "dilation"),
    groups: n.attrs["groups"] as number,
  });
  const pool = (mode: "max" | "max_grad" | "avg" | "avg_grad"): Step => ({
    op: "pool2d",
    mode,
    a: buffer(a),
    ...(b === undefined ? {} : { b: buffer(b) }),
    out: buffer(n),
    kernel: pair(n, "kernel"),
    stride: pair(n, "stride"),
    padding: pair(n, "padding"),
  });
  switch (n.op) {
    case Op.Conv2d:
      return conv("forward");
    case Op.Conv2dInputGrad:
      return conv("input_grad");
    case Op.Conv2dWeightGrad:
      return conv("weight_grad");
    case Op.MaxPool2d:
      return pool("max");
    case Op.MaxPool2dGrad:
      return pool("max_grad");
    case Op.AvgPool2d:
      return pool("avg");
    case Op.AvgPool2dGrad:
      return pool("avg_grad");
    default:
      throw new Error(`schedule: ${n.op} is not a convolution or pooling`);
  }
}
