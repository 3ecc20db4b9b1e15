/**
 * The checker's side of conv2d, max_pool2d and avg_pool2d (docs/language.md §7): their
 * parameters and shape rules. Layout is NCHW (PyTorch's): x is [B, C, H, W], w is
 * [O, C/groups, KH, KW]; geometry is compile-time, each of stride/padding/dilation an int (both
 * axes) or a list [h, w]. The output size is floor((H + 2p − d(KH − 1) − 1) / s) + 1: a number
 * when H is one (a window that does not fit is E3003 with that arithmetic), else a computed dim.
 */
import { convOutSize } from "../runtime/conv-geometry.js";
import { convOutDim } from "./dims.js";
import type { ArgValue, PrimParam, Primitive, RuleResult } from "./primitives.js";
import { showDim, showTy, tensor, type DimT, type TensorTy } from "./types.js";

type Args = Record<string, ArgValue | undefined>;
type Failure = { error: string; arg?: string; hint?: string };

const x: PrimParam = { name: "x", kind: "tensor", dtype: "f32", differentiable: true };
const pair = (name: string, optional = true): PrimParam => ({ name, kind: "pair", optional });

function tensorArg(v: ArgValue | undefined): TensorTy | undefined {
  return v?.ty.kind === "tensor" ? v.ty : undefined;
}

/** A geometry argument as [h, w]: an int for both axes or a two-element list; `fallback` when absent. */
export function pairOf(args: Args, name: string, fallback: readonly number[] | undefined, min: number): number[] | Failure {
  const v = args[name];
  if (v === undefined) {
    if (fallback === undefined) return { error: `needs '${name}'`, arg: name };
    return [...fallback];
  }
  const got = v.ints ?? (v.int !== undefined ? [v.int, v.int] : undefined);
  if (got === undefined || got.length !== 2) {
    return { error: `'${name}' must be a compile-time integer or a list [h, w] of two`, arg: name, hint: `e.g. ${name} = 2 or ${name} = [2, 1]` };
  }
  if (got.some((n) => n < min)) return { error: `'${name}' must be ${min === 0 ? "non-negative" : `at least ${min}`}, got [${got.join(", ")}]`, arg: name };
  return got;
}

const failed = (r: unknown): r is Failure => typeof r === "object" && r !== null && "error" in r;

/**
 * One spatial output size. A known size gives a number (E3003 when no window fits); a symbolic
 * one the computed dim floor((H + 2p − d(K − 1) − 1) / s) + 1 (compiler/dims.ts's canonical form:
 * `H` for a "same" geometry, `H/2` for a 2x2 pooling, `(H+1)/2` for a stride-2 3x3 convolution
 * with padding 1), whose window is checked at run time once H is known (E6007).
 */
function outDim(axis: string, size: DimT, k: number, s: number, p: number, d: number, arg: string): DimT | Failure {
  if (typeof size === "number") {
    const n = size + 2 * p - d * (k - 1) - 1;
    if (n < 0) {
      return {
        error: `the window does not fit the ${axis}: ${size} + 2·${p} − ${d}·(${k} − 1) − 1 = ${n} < 0, so no output position remains`,
        arg,
        hint: "pad the input, or use a smaller kernel, dilation or stride",
      };
    }
    return convOutSize(size, k, s, p, d);
  }
  return convOutDim(size, k, s, p, d);
}

function rank4(t: TensorTy, arg: string, what: string): Failure | undefined {
  if (t.shape !== null && t.shape.length !== 4) return { error: `'${arg}' must be ${what}, got ${showTy(t)}`, arg, hint: "layout is NCHW, as PyTorch's" };
  return undefined;
}

function convRule(args: Args): RuleResult {
  const stride = pairOf(args, "stride", [1, 1], 1);
  if (failed(stride)) return stride;
  const padding = pairOf(args, "padding", [0, 0], 0);
  if (failed(padding)) return padding;
  const dilation = pairOf(args, "dilation", [1, 1], 1);
  if (failed(dilation)) return dilation;
  const groups = args["groups"]?.int ?? 1;
  if (groups < 1) return { error: `'groups' must be at least 1, got ${groups}`, arg: "groups" };
  const xt = tensorArg(args["x"]);
  const wt = tensorArg(args["w"]);
  if (xt?.shape == null || wt?.shape == null) return tensor("f32", null);
  const bad = rank4(xt, "x", "[B, C, H, W]") ?? rank4(wt, "w", "[O, C / groups, KH, KW]");
  if (bad !== undefined) return bad;
  const [b, c, h, w] = xt.shape as DimT[];
  const [o, cw, kh, kw] = wt.shape as DimT[];
  if (typeof kh !== "number" || typeof kw !== "number") return { error: `the kernel size of w (${showDim(kh!)} × ${showDim(kw!)}) must be known numbers`, arg: "w" };
  if (typeof c === "number" && typeof cw === "number") {
    if (c !== cw * groups) {
      return { error: `x has ${c} channels but w takes ${cw} per group × ${groups} group${groups > 1 ? "s" : ""} = ${cw * groups}`, arg: "w", hint: "w is [O, C / groups, KH, KW]" };
    }
  } else if (groups !== 1 || c !== cw) {
    return {
      error: `cannot tell that x's ${showDim(c!)} channels match w's ${showDim(cw!)}${groups > 1 ? ` × ${groups} groups` : ""}`,
      arg: "w",
      hint: groups > 1 ? "with groups, write the channel counts as numbers" : `use the same shape symbol for both, e.g. x: f32[B, ${showDim(cw!)}, H, W]`,
    };
  }
  if (groups > 1 && (typeof o !== "number" || o % groups !== 0)) {
    return { error: `the ${showDim(o!)} output channels of w must be a known multiple of groups = ${groups}`, arg: "w" };
  }
  const ho = outDim("height", h!, kh, stride[0]!, padding[0]!, dilation[0]!, "padding");
  if (failed(ho)) return ho;
  const wo = outDim("width", w!, kw, stride[1]!, padding[1]!, dilation[1]!, "padding");
  if (failed(wo)) return wo;
  return tensor("f32", [b!, o!, ho, wo]);
}

function poolRule(args: Args): RuleResult {
  const kernel = pairOf(args, "kernel", undefined, 1);
  if (failed(kernel)) return kernel;
  const stride = pairOf(args, "stride", kernel, 1);
  if (failed(stride)) return stride;
  const padding = pairOf(args, "padding", [0, 0], 0);
  if (failed(padding)) return padding;
  if (padding.some((p, i) => 2 * p > kernel[i]!)) {
    return { error: `padding [${padding.join(", ")}] is more than half the kernel [${kernel.join(", ")}]`, arg: "padding", hint: "as in PyTorch, every window must hold an element of x" };
  }
  const xt = tensorArg(args["x"]);
  if (xt?.shape == null) return tensor("f32", null);
  const bad = rank4(xt, "x", "[B, C, H, W]");
  if (bad !== undefined) return bad;
  const [b, c, h, w] = xt.shape as DimT[];
  const ho = outDim("height", h!, kernel[0]!, stride[0]!, padding[0]!, 1, "kernel");
  if (failed(ho)) return ho;
  const wo = outDim("width", w!, kernel[1]!, stride[1]!, padding[1]!, 1, "kernel");
  if (failed(wo)) return wo;
  return tensor("f32", [b!, c!, ho, wo]);
}

/** conv2d, max_pool2d and avg_pool2d, for the registry in primitives.ts. */
export const convPrimitives: Primitive[] = [
  {
    name: "conv2d",
    category: "convolution",
    params: [x, { name: "w", kind: "tensor", dtype: "f32", differentiable: true }, pair("stride"), pair("padding"), pair("dilation"), { name: "groups", kind: "int", optional: true }],
    result: convRule,
    doc: "2-D cross-correlation of x [B, C, H, W] with w [O, C / groups, KH, KW] (NCHW, as PyTorch), giving [B, O, Ho, Wo]",
  },
  {
    name: "max_pool2d",
    category: "convolution",
    params: [x, pair("kernel", false), pair("stride"), pair("padding")],
    result: poolRule,
    doc: "the maximum of each window of x [B, C, H, W] (stride defaults to the kernel; padding never wins)",
  },
  {
    name: "avg_pool2d",
    category: "convolution",
    params: [x, pair("kernel", false), pair("stride"), pair("padding")],
    result: poolRule,
    doc: "the mean of each window of x [B, C, H, W], padding counted as zeros (stride defaults to the kernel)",
  },
];
