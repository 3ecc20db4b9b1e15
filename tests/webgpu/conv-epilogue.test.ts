/**
 * Convolutions with a fused epilogue on WebGPU (compiler/codegen/wgsl/conv.ts: the implicit GEMM
 * with the epilogue at its store): the plan runs one generated conv kernel where the unfused one
 * runs a conv2d step and a fused kernel, and its numbers — forward, vjp and vjpFn's pullback,
 * ClippedSTE's bit mask included — equal the naive f64 reference of
 * tests/helpers/conv-epilogue.ts and the same module on the CPU within f32 rounding, saving as
 * many bytes for the backward. The schedule side is tests/compiler/conv-epilogue.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { FunctionSpec, WgslKernel } from "estc/runtime";
import { sharedDevice } from "../helpers/backends.js";
import { CONV_EPI, EPILOGUE_CASES, buildVariants, naiveEpilogue, randomInputs, runModule } from "../helpers/conv-epilogue.js";
import { compileFn } from "../helpers/compile.js";
import { expectClose } from "../helpers/expect.js";

afterAll(async () => (await sharedDevice()).destroy());

describe("conv2d with its epilogue on webgpu", () => {
  it("bias_sign's forward plan: one generated conv kernel (grid from `conv`), no conv2d step; unfused: a conv2d step and a kernel", async () => {
    const { fused, unfused } = await buildVariants(CONV_EPI);
    const stepsOf = (spec: FunctionSpec) => spec.forward.steps.map((s) => (s.op === "kernel" ? (spec.wgsl![s.kernel]!.conv !== undefined ? "conv kernel" : "kernel") : s.op));
    expect(stepsOf(fused["bias_sign"].spec)).toEqual(["alias", "conv kernel"]);
    expect(stepsOf(unfused["bias_sign"].spec)).toEqual(["conv2d", "alias", "kernel"]);
    const kernel = (fused["bias_sign"].spec as FunctionSpec).wgsl!.find((k: WgslKernel) => k.conv !== undefined)!;
    // The epilogue is computed where the product is stored: sign of (v + b) stored, nothing else.
    expect(kernel.code).toMatch(/let v\d+ = sign_\(v\d+\);/);
    expect(kernel.code.match(/var<storage, read_write>/g)?.length).toBe(1);
  });

  it.each(EPILOGUE_CASES)("$fn: forward and vjp against the naive reference and the cpu", async ({ fn, dims }) => {
    const { fused, unfused } = await buildVariants(CONV_EPI);
    const device = await sharedDevice();
    const inputs = randomInputs(compileFn(CONV_EPI, fn), dims, 7);
    const want = naiveEpilogue(fn, inputs);
    const gpu = await runModule(fused, fn, inputs, want.ct, device);
    const plain = await runModule(unfused, fn, inputs, want.ct, device);
    const cpu = await runModule(fused, fn, inputs, want.ct, "ts");
    want.outputs.forEach((o, i) => expectClose(gpu.outputs[i], o, 1e-4, `${fn}: webgpu output ${i} vs the naive loop`));
    expectClose(gpu.outputs[0], cpu.outputs[0]!, 1e-5, `${fn}: webgpu vs cpu forward`);
    expectClose(gpu.outputs[0], plain.outputs[0]!, 1e-5, `${fn}: webgpu fused vs unfused forward`);
    for (const [g, v] of Object.entries(want.grads)) expectClose(gpu.grads[g], v, 1e-4, `${fn}: webgpu d${g} vs the hand-derived gradient`);
    for (const [g, v] of Object.entries(want.grads)) expectClose(gpu.pulled[g], v, 1e-4, `${fn}: webgpu pullback d${g} vs the hand-derived gradient`);
    expect(gpu.savedBytes, `${fn}: bytes saved for the backward on webgpu, fused vs the cpu`).toBe(cpu.savedBytes);
    for (const g of Object.keys(cpu.grads)) {
      expectClose(gpu.grads[g], cpu.grads[g]!, 1e-4, `${fn}: webgpu vs cpu d${g}`);
      expectClose(gpu.grads[g], plain.grads[g]!, 1e-4, `${fn}: webgpu fused vs unfused d${g}`);
    }
  });
});
