/**
 * Error codes of the WebGPU back end, each asserted by code and by what the message names:
 * E6017 (adapter limits), E6018 (GPU errors and device loss, naming the kernel and the .est
 * source), E6019 (another device's tensor), and the cpu's E6008 / E6016 / E6015 on the GPU path.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import type { FunctionSpec } from "../../runtime/plan.js";
import { tensor, type Tensor } from "../../runtime/tensor.js";
import type { WebGpuDevice } from "../../runtime/webgpu/device.js";
import { toDevice } from "../../runtime/webgpu/transfer.js";
import { openDevice, stepSpec, steLayerSpec } from "./helpers.js";

let device: WebGpuDevice;
beforeAll(async () => {
  device = await openDevice();
});
afterAll(() => device?.destroy());

const header = `struct Uniforms { dims: array<vec4<u32>, 1>, scalars: array<vec4<f32>, 1>, seed: vec4<u32> }
@group(0) @binding(0) var<uniform> u: Uniforms;`;
const main = `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * (nwg.x * 64u);`;

/** `name(x: f32[N]) -> f32[N]` through one hand-written kernel reading x and writing the result. */
function oneKernel(name: string, code: string, extra: FunctionSpec["forward"]["buffers"] = []): FunctionSpec {
  const n = { dtype: "f32" as const, shape: ["N"] };
  const buffers = [n, ...extra, n];
  return {
    name,
    source: `tests/webgpu/${name}.est:2`,
    inputs: [{ name: "x", dtype: "f32", shape: ["N"] }],
    scalars: [],
    dims: ["N"],
    outputs: [n],
    tuple: false,
    gradInputs: [],
    kernels: [() => undefined],
    wgsl: [{ name: `${name}_k0`, code, workgroupSize: 64, invocations: { shape: ["N"], perInvocation: 1 } }],
    forward: { buffers, inputs: [{ name: "x", buffer: 0 }], outputs: [buffers.length - 1], steps: [{ op: "kernel", kernel: 0, args: buffers.map((_, b) => b) }] },
    vjp: { buffers: [], inputs: [], outputs: [], steps: [] },
  };
}

const x = tensor([1, 2, 3, 4], [4]);

describe("E6017: the adapter's limits", () => {
  it("a kernel binding more storage buffers than maxStorageBuffersPerShaderStage", async () => {
    const limit = device.limits.maxStorageBuffersPerShaderStage;
    const decls = Array.from({ length: limit + 1 }, (_, k) => `@group(0) @binding(${k + 1}) var<storage, read_write> b${k}: array<f32>;`);
    const uses = Array.from({ length: limit + 1 }, (_, k) => `  b${k}[i] = 0.0;`);
    const code = `${header}\n${decls.join("\n")}\n${main}\n  if (i >= u.dims[0][0]) { return; }\n${uses.join("\n")}\n}\n`;
    const extra = Array.from({ length: limit - 1 }, () => ({ dtype: "f32" as const, shape: ["N"] }));
    const f = defineFunction(oneKernel("wide", code, extra));
    await expect(f.forward({ x }, { device })).rejects.toMatchObject({
      code: "E6017",
      message: expect.stringMatching(new RegExp(`wide_k0.*binds ${limit + 1} storage buffers.*allows ${limit}.*maxStorageBuffersPerShaderStage`)),
    });
  });

  it("a buffer larger than maxStorageBufferBindingSize, before anything is allocated", async () => {
    const huge = Math.ceil(device.limits.maxStorageBufferBindingSize / 4) + 1;
    const spec = oneKernel("huge", `${header}\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read_write> big: array<f32>;\n@group(0) @binding(3) var<storage, read_write> y: array<f32>;\n${main}\n}\n`, [{ dtype: "f32", shape: ["N", huge] }]);
    const created = device.pool.stats.buffersCreated;
    await expect(defineFunction(spec).forward({ x: tensor([1], [1]) }, { device })).rejects.toMatchObject({
      code: "E6017",
      message: expect.stringMatching(/huge \(tests\/webgpu\/huge\.est:2\): buffer 1 \[N, \d+\] needs \d+ bytes.*maxStorageBufferBindingSize/),
    });
    expect(device.pool.stats.buffersCreated).toBe(created);
  });
});

describe("E6018: GPU errors and device loss", () => {
  it("a kernel that does not compile names the kernel, the .est source and the WGSL error", async () => {
    const f = defineFunction(oneKernel("broken", `${header}\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read_write> y: array<f32>;\n${main}\n  y[i] = x[i] + undefined_name;\n}\n`));
    const failure = f.forward({ x }, { device });
    await expect(failure).rejects.toMatchObject({ code: "E6018" });
    const message = (await failure.catch((e: Error) => e.message)) as string;
    expect(message).toContain("broken_k0");
    expect(message).toContain("tests/webgpu/broken.est:2");
    expect(message).toContain("undefined_name");
    // The device is still usable afterwards.
    const ok = defineFunction(stepSpec("ok", [{ name: "x", dtype: "f32", shape: [4] }], { dtype: "f32", shape: [4] }, (o) => ({ op: "transpose", x: 0, out: o, perm: [0] })));
    expect(Array.from(await ((await ok.forward({ x }, { device })) as Tensor).data())).toEqual([1, 2, 3, 4]);
  });

  it("a destroyed device: calls and reads fail with E6018 instead of hanging; E6019 for its tensors elsewhere", async () => {
    const other = await openDevice();
    const f = defineFunction(steLayerSpec());
    const inputs = { x: tensor(new Float32Array(8), [2, 4]), w: tensor(new Float32Array(16), [4, 4]), idx: tensor(new Int32Array([0]), [1]) };
    const y = (await f.forward(inputs, { device: other })) as Tensor;
    await expect(f.forward({ ...inputs, x: toDevice(inputs.x, other) }, { device })).rejects.toMatchObject({
      code: "E6019",
      message: expect.stringContaining("input 'x' lives on another webgpu device"),
    });
    other.destroy();
    await expect(y.data()).rejects.toMatchObject({ code: "E6018", message: expect.stringContaining("destroyed") });
    await expect(f.forward(inputs, { device: other })).rejects.toMatchObject({
      code: "E6018",
      message: expect.stringContaining("ste_layer (tests/webgpu/ste_layer.est:3): the WebGPU device was destroyed"),
    });
  });
});

describe("cpu error codes on the GPU path", () => {
  const gatherSpec = (axisSize: number) =>
    stepSpec("pick", [{ name: "x", dtype: "f32", shape: [axisSize, 3] }, { name: "idx", dtype: "i32", shape: [2] }], { dtype: "f32", shape: [2, 3] }, (o) => ({ op: "gather", x: 0, idx: 1, out: o, axis: 0 }));

  it("E6008 for an index from the host, before anything runs (the cpu's message)", async () => {
    const f = defineFunction(gatherSpec(4));
    const args = { x: tensor(new Float32Array(12), [4, 3]), idx: tensor(new Int32Array([1, 4]), [2]) };
    const onCpu = await f.forward(args).catch((e: Error) => e);
    await expect(f.forward(args, { device })).rejects.toMatchObject({ code: "E6008", message: (onCpu as Error).message });
  });

  it("E6008 for an index computed on the GPU (read back from the kernel's flag)", async () => {
    const copy = `${header}\n@group(0) @binding(1) var<storage, read> a: array<i32>;\n@group(0) @binding(2) var<storage, read_write> b: array<i32>;\n${main}\n  if (i >= 2u) { return; }\n  b[i] = a[i] * 3;\n}\n`;
    const spec: FunctionSpec = {
      ...gatherSpec(4),
      name: "pick3",
      wgsl: [{ name: "pick3_k0", code: copy, workgroupSize: 64, invocations: { shape: [2], perInvocation: 1 } }],
      kernels: [() => undefined],
      forward: {
        buffers: [{ dtype: "f32", shape: [4, 3] }, { dtype: "i32", shape: [2] }, { dtype: "i32", shape: [2] }, { dtype: "f32", shape: [2, 3] }],
        inputs: [{ name: "x", buffer: 0 }, { name: "idx", buffer: 1 }],
        outputs: [3],
        steps: [{ op: "kernel", kernel: 0, args: [1, 2] }, { op: "gather", x: 0, idx: 2, out: 3, axis: 0 }],
      },
    };
    const f = defineFunction(spec);
    const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3]);
    const ok = (await f.forward({ x, idx: tensor(new Int32Array([1, 0]), [2]) }, { device })) as Tensor;
    expect(Array.from(await ok.data())).toEqual([9, 10, 11, 0, 1, 2]);
    const inUse = device.pool.stats.bytesInUse;
    await expect(f.forward({ x, idx: tensor(new Int32Array([0, 2]), [2]) }, { device })).rejects.toMatchObject({
      code: "E6008",
      message: expect.stringContaining("pick3 (tests/webgpu/pick.est:1): the gather index at position 1"),
    });
    expect(device.pool.stats.bytesInUse).toBe(inUse);
  });

  it("E6016 for an nm_mask whose last axis is not whole groups", async () => {
    const f = defineFunction(stepSpec("nm", [{ name: "w", dtype: "f32", shape: [2, 6] }], { dtype: "f32", shape: [2, 6] }, (o) => ({ op: "nm_mask", w: 0, out: o, n: 2, m: 4 })));
    await expect(f.forward({ w: tensor(new Float32Array(12), [2, 6]) }, { device })).rejects.toMatchObject({ code: "E6016" });
  });

  it("E6015 for a module built without WGSL, and for a device that is not from webgpu()", async () => {
    const { wgsl: _, ...spec } = steLayerSpec();
    const inputs = { x: tensor(new Float32Array(8), [2, 4]), w: tensor(new Float32Array(16), [4, 4]), idx: tensor(new Int32Array([0]), [1]) };
    await expect(defineFunction(spec).forward(inputs, { device })).rejects.toMatchObject({
      code: "E6015",
      message: expect.stringContaining("built without WGSL kernels"),
    });
    await expect(defineFunction(spec).forward(inputs, { device: { kind: "webgpu" } })).rejects.toMatchObject({ code: "E6015" });
  });
});
