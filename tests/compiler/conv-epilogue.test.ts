/**
 * A forward convolution with its elementwise consumers fused in as an epilogue
 * (compiler/schedule-conv.ts through schedule-matmul.ts and schedule.ts): which kernels the
 * schedule makes (one conv kernel and its epilogue ops; what stays out: bool residuals,
 * training-mode batch norm, operands that vary along one spatial axis only, `--fuse-matmul off`),
 * and the numbers the generated module computes with the fusion on the CPU — the Wasm path and
 * the TypeScript one — against the same module built without it, a naive f64 loop written here,
 * and the f64 interpreter, forward and gradients (ClippedSTE's gradient through its bit-mask
 * residual included). The WebGPU side is tests/webgpu/conv-epilogue.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Op, type Node } from "../../compiler/ir.js";
import { optimize } from "../../compiler/optimize.js";
import { selectResiduals } from "../../compiler/residuals.js";
import { schedule, type ConvKernel, type Schedule } from "../../compiler/schedule.js";
import { compileFn } from "../helpers/compile.js";
import { CONV_EPI, EPILOGUE_CASES, buildVariants, naiveEpilogue, randomInputs, runModule } from "../helpers/conv-epilogue.js";
import { run } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

type Entry = "forward" | "vjp" | "residuals";

/** The schedule of fn `name`'s forward, its vjp, or its forward with the residuals the pullback saves. */
function scheduled(text: string, name: string, entry: Entry, fuse = true): Schedule {
  const fn = compileFn(text, name);
  const g = fn.lowered.graph;
  const grads = optimize(g, Object.values(fn.grads));
  const roots = entry === "forward" ? fn.lowered.outputs : entry === "vjp" ? grads : [...fn.lowered.outputs, ...selectResiduals(g, grads).saved];
  return schedule(optimize(g, roots), 7, fuse);
}

const convKernels = (s: Schedule) => s.kernels.filter((k): k is ConvKernel => k.kind === "conv");
const convSteps = (s: Schedule) => s.kernels.filter((k) => k.kind === "structural" && k.node.op === Op.Conv2d);
const ops = (ns: readonly Node[]) => ns.map((n) => n.op);

describe("the schedule", () => {
  it("conv + per-channel bias + sign (STE): one conv kernel computing add and sign, nothing else over the output", () => {
    const s = scheduled(CONV_EPI, "bias_sign", "forward");
    const [k, ...more] = convKernels(s);
    expect(more).toEqual([]);
    expect(ops(k!.epilogue)).toEqual([Op.Add, Op.Sign]);
    expect(ops(k!.outputs)).toEqual([Op.Sign]);
    // The conv's own value has no buffer: only the epilogue reads it.
    expect(s.materialized.has(k!.node.id)).toBe(false);
    // The kernels: the bias's reshape (an alias step) and the conv kernel; no conv2d step, no fused loop.
    expect(s.kernels.map((x) => x.kind)).toEqual(["structural", "conv"]);
    expect(convSteps(s)).toEqual([]);
  });

  it("ClippedSTE: the saved mask stays a bool (bit-packed) buffer, written by a fused kernel from the |conv + b| the conv kernel stores", () => {
    const s = scheduled(CONV_EPI, "bias_clipped", "residuals");
    const [k, ...more] = convKernels(s);
    expect(more).toEqual([]);
    // The epilogue stops before the comparison: a stored bool is a packed word several GPU invocations would share.
    expect(ops(k!.epilogue)).toEqual([Op.Add, Op.Sign, Op.Abs]);
    expect(ops(k!.outputs)).toEqual([Op.Sign, Op.Abs]);
    const masks = s.roots.filter((r) => r.dtype === "bool");
    expect(ops(masks)).toEqual([Op.Le]);
    const maskKernel = s.kernels.find((x) => x.kind === "fused" && x.outputs.includes(masks[0]!));
    expect(maskKernel, "a fused kernel writes the bool mask").toBeDefined();
    expect(ops(maskKernel!.kind === "fused" ? maskKernel!.nodes : [])).toEqual([Op.Le]);
  });

  it("inference batch norm + relu: the conv kernel computes the scale, the shift and relu", () => {
    const s = scheduled(CONV_EPI, "bn_eval_relu", "forward");
    const [k, ...more] = convKernels(s);
    expect(more).toEqual([]);
    expect(ops(k!.epilogue)).toEqual([Op.Mul, Op.Add, Op.Relu]);
    expect(ops(k!.outputs)).toEqual([Op.Relu]);
    // What is left over the output's shape: nothing (the [C] scale and shift are computed apart).
    expect(s.kernels.filter((x) => x.kind === "fused" && x.shape.length === 4)).toEqual([]);
  });

  it("training batch norm needs the batch's statistics of the conv's output: nothing fuses into the conv", () => {
    const s = scheduled(CONV_EPI, "bn_train_sign", "forward");
    expect(convKernels(s)).toEqual([]);
    expect(convSteps(s).length).toBe(1);
  });

  it("an operand that varies along Wo only ([W]) is not fused; a [B, O, 1, 1] one is", () => {
    expect(convKernels(scheduled(CONV_EPI, "row_operand", "forward"))).toEqual([]);
    const [k] = convKernels(scheduled(CONV_EPI, "point_operand", "forward"));
    expect(ops(k!.epilogue)).toEqual([Op.Mul, Op.Tanh]);
  });

  it("a conv whose value a reduction also reads stores it and still runs the epilogue", () => {
    const s = scheduled(CONV_EPI, "shared", "forward");
    const [k] = convKernels(s);
    expect(ops(k!.epilogue)).toEqual([Op.Add, Op.Sign]);
    expect(ops(k!.outputs)).toEqual([Op.Conv2d, Op.Sign]);
  });

  it("--fuse-matmul off keeps the convolution a runtime step and the epilogue a fused kernel", () => {
    const s = scheduled(CONV_EPI, "bias_sign", "forward", false);
    expect(convKernels(s)).toEqual([]);
    expect(convSteps(s).length).toBe(1);
    expect(s.kernels.filter((x) => x.kind === "fused").length).toBe(1);
  });

  it("the vjp recomputes the conv with ClippedSTE's mask and the cotangent's product fused in: the mask is never stored", () => {
    const s = scheduled(CONV_EPI, "bias_clipped", "vjp");
    const [k, ...more] = convKernels(s);
    expect(more).toEqual([]);
    expect(ops(k!.epilogue)).toEqual([Op.Add, Op.Abs, Op.Le, Op.Cast, Op.Mul]);
    expect(ops(k!.outputs)).toEqual([Op.Mul]);
    expect([...s.materialized].some((id) => s.kernels.some((x) => x.kind !== "structural" && "outputs" in x && x.outputs.some((o) => o.id === id && o.dtype === "bool")))).toBe(false);
    // The input and weight gradients stay runtime steps.
    expect(s.kernels.filter((x) => x.kind === "structural").map((x) => (x as { node: Node }).node.op).sort()).toEqual([Op.Conv2dInputGrad, Op.Conv2dWeightGrad, Op.Reshape, Op.Reshape].sort());
  });
});

describe("numbers on the CPU: fused against unfused, a naive loop and the f64 interpreter", () => {
  it.each(EPILOGUE_CASES)("$fn: forward and vjp", async ({ fn, dims }) => {
    const { fused, unfused } = await buildVariants(CONV_EPI);
    const inputs = randomInputs(compileFn(CONV_EPI, fn), dims, 7);
    const want = naiveEpilogue(fn, inputs);
    const f64 = await run("f64", CONV_EPI, fn, inputs, { ct: [want.ct] });
    for (const kernels of ["wasm", "ts"] as const) {
      const a = await runModule(fused, fn, inputs, want.ct, kernels);
      const b = await runModule(unfused, fn, inputs, want.ct, kernels);
      // Fused and unfused run the same convolution and the same f32 ops in the same order: equal
      // bits on the TS kernels. On Wasm the unfused epilogue is a Wasm kernel whose tanh is the
      // vectorised one (docs/language.md §10: a few ulp from the TS kernel's, which the fused
      // epilogue runs), so there the two agree to 1e-6 of each result's largest value.
      const same = (x: ArrayLike<number> | undefined, y: ArrayLike<number> | undefined, what: string) => {
        if (kernels === "ts") return expect(x, what).toEqual(y);
        expect(x?.length, what).toBe(y?.length);
        const scale = Math.max(1e-30, ...Array.from(y!, (v) => Math.abs(v)));
        let worst = 0;
        for (let i = 0; i < y!.length; i++) worst = Math.max(worst, Math.abs(x![i]! - y![i]!) / scale);
        expect(worst, what).toBeLessThanOrEqual(1e-6);
      };
      a.outputs.forEach((o, i) => same(o, b.outputs[i], `${fn} on ${kernels}: fused vs unfused forward ${i}`));
      expect(a.outputs.length).toBe(b.outputs.length);
      for (const g of Object.keys(b.grads)) same(a.grads[g], b.grads[g], `${fn} on ${kernels}: fused vs unfused d${g}`);
      want.outputs.forEach((o, i) => expectClose(a.outputs[i], o, 1e-4, `${fn} on ${kernels}: output ${i} vs the naive loop`));
      for (const [g, v] of Object.entries(want.grads)) expectClose(a.grads[g], v, 1e-4, `${fn} on ${kernels}: d${g} vs the hand-derived gradient`);
      for (const [g, v] of Object.entries(f64.grads)) expectClose(a.grads[g], v, 1e-4, `${fn} on ${kernels}: d${g} vs the f64 interpreter`);
      // vjpFn: the forward with residuals (its conv kernel) and the pullback agree with the vjp.
      for (const [g, v] of Object.entries(want.grads)) expectClose(a.pulled[g], v, 1e-4, `${fn} on ${kernels}: pullback d${g} vs the hand-derived gradient`);
      expect(a.savedBytes, `${fn} on ${kernels}: bytes saved for the backward, fused vs unfused`).toBe(b.savedBytes);
    }
  });

  it("ClippedSTE's saved residual is its bit mask: one bit per output element, fused or not", async () => {
    const { fused } = await buildVariants(CONV_EPI);
    const inputs = randomInputs(compileFn(CONV_EPI, "bias_clipped"), { B: 3 }, 7);
    const want = naiveEpilogue("bias_clipped", inputs);
    const r = await runModule(fused, "bias_clipped", inputs, want.ct, "wasm");
    // 3 · 4 · 40 · 40 = 19,200 elements: 600 words of 32 bits; x and w are the caller's, not saved.
    expect(r.savedBytes).toBe(4 * Math.ceil((3 * 4 * 40 * 40) / 32));
  });
});
