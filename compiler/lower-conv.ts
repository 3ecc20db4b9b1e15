/**
 * Lowering of conv2d, max_pool2d and avg_pool2d (compiler/conv-shapes.ts checked them): one IR
 * node each, with the geometry as [h, w] attrs. Max pooling is `MaxPool2d(x, x)`: the value at
 * each window's winner, so its own gradient (MaxPool2dGrad) and that gradient's gradient (the
 * pick again) stay in the IR (compiler/conv-derivatives.ts).
 */
import type * as A from "../grammar/ast.js";
import type { Span } from "./diagnostics.js";
import { convOutDim } from "./dims.js";
import { Op, type DimT, type Node } from "./ir.js";
import type { Lowerer } from "./lower.js";
import { LowerError, isValue, type Env, type Value } from "./lower-values.js";

type Args = Record<string, Value | A.Expr | undefined>;

/** Lowers `name` (conv2d, max_pool2d or avg_pool2d); `t(k)` is tensor argument k as f32. */
export function lowerConv(L: Lowerer, name: string, t: (k: string) => Node, args: Args, env: Env, span: Span): Node {
  const pair = (k: string, fallback: number[]): number[] => {
    const v = args[k];
    if (v === undefined) return fallback;
    if (isValue(v)) throw new LowerError("E5001", span, `${name}: '${k}' must be a constant`);
    if (v.kind === "List") return v.elements.map((e) => Number(L.constValue(env.module, e)));
    const n = Number(L.constValue(env.module, v));
    return [n, n];
  };
  const g = L.graph;
  const x = t("x");
  const [b, c, h, w] = x.shape as DimT[];
  if (name === "conv2d") {
    const wt = t("w");
    const [o, , kh, kw] = wt.shape as [DimT, DimT, number, number];
    const groupsArg = args["groups"];
    const groups = groupsArg === undefined || isValue(groupsArg) ? 1 : Number(L.constValue(env.module, groupsArg));
    const attrs = { stride: pair("stride", [1, 1]), padding: pair("padding", [0, 0]), dilation: pair("dilation", [1, 1]), groups };
    const shape = [b!, o, outDim(h!, kh, attrs, 0), outDim(w!, kw, attrs, 1)];
    return g.node(Op.Conv2d, "f32", shape, [x, wt], attrs);
  }
  const kernel = pair("kernel", [1, 1]);
  const attrs = { kernel, stride: pair("stride", kernel), padding: pair("padding", [0, 0]) };
  const geometry = { ...attrs, dilation: [1, 1] };
  const shape = [b!, c!, outDim(h!, kernel[0]!, geometry, 0), outDim(w!, kernel[1]!, geometry, 1)];
  return name === "max_pool2d" ? g.node(Op.MaxPool2d, "f32", shape, [x, x], attrs) : g.node(Op.AvgPool2d, "f32", shape, [x], attrs);
}

/** One output size: a number, or the computed dim compiler/conv-shapes.ts gave the checker. */
function outDim(size: DimT, k: number, g: { stride: number[]; padding: number[]; dilation: number[] }, axis: 0 | 1): DimT {
  return convOutDim(size, k, g.stride[axis]!, g.padding[axis]!, g.dilation[axis]!);
}
