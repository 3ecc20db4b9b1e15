/**
 * The executor on a hand-written fused FunctionSpec (WGSL written by hand to the contract in
 * runtime/plan.ts): forward, vjp, valueAndGrad and vjpFn on webgpu against the same spec on the
 * cpu, the uniform block word for word, and device tensors chained between calls with no readback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import type { FunctionSpec } from "../../runtime/plan.js";
import { tensor, type Tensor } from "../../runtime/tensor.js";
import type { WebGpuDevice } from "../../runtime/webgpu/device.js";
import { toDevice } from "../../runtime/webgpu/transfer.js";
import { openDevice, probeSpec, randomIndices, randomTensor, rng, stepSpec, steLayerSpec, values } from "./helpers.js";

let device: WebGpuDevice;
beforeAll(async () => {
  device = await openDevice();
});
afterAll(() => device?.destroy());

/** Largest |a - b| / max(1, |b|): 1e-5 relative, values below 1 compared absolutely. */
function worst(gpu: number[], cpu: number[]): number {
  expect(gpu.length).toBe(cpu.length);
  return Math.max(0, ...cpu.map((c, i) => Math.abs(gpu[i]! - c) / Math.max(1, Math.abs(c))));
}

function layerInputs(seed: number) {
  const random = rng(seed);
  const [B, I, O, K] = [5, 12, 8, 7];
  return {
    x: randomTensor([B, I], random),
    w: randomTensor([I, O], random),
    idx: randomIndices([K], O, random),
    ct: randomTensor([K, B, 1], random),
  };
}

describe("uniform block (runtime/plan.ts contract)", () => {
  it("packs 5 dims, 5 scalars and a 2^40 seed as the kernel reads them", async () => {
    const f = defineFunction(probeSpec());
    const t = tensor(new Float32Array(12), [1, 2, 3, 1, 2]);
    const seed = 2 ** 40 + 5;
    const out = (await f.forward({ t }, { device, seed, s3: -7.25 })) as Tensor;
    expect(out.device).toBe("webgpu");
    const bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0]!;
    expect(await values(out)).toEqual([1, 2, 3, 1, 2, bits(0.5), bits(1.5), bits(2.5), bits(-7.25), bits(4.5), 5, 256]);
  });
});

describe("a fused spec with every step kind", () => {
  const f = defineFunction<"x" | "w" | "idx", "o">(steLayerSpec());

  it("forward matches the cpu and stays on the device", async () => {
    const { x, w, idx } = layerInputs(1);
    for (const o of [2, 0.75]) {
      const cpu = (await f.forward({ x, w, idx }, { o })) as Tensor;
      const gpu = (await f.forward({ x, w, idx }, { o, device })) as Tensor;
      expect(gpu.device).toBe("webgpu");
      expect(gpu.shape).toEqual([7, 5, 1]);
      expect(await values(gpu)).toEqual(await values(cpu));
      gpu.dispose();
    }
  });

  it("vjp matches the cpu to 1e-5 relative", async () => {
    const { x, w, idx, ct } = layerInputs(2);
    const cpu = await f.vjp({ x, w, idx }, ct, { o: 0.75 });
    const gpu = await f.vjp({ x, w, idx }, ct, { o: 0.75, device });
    expect(Object.keys(gpu)).toEqual(["x", "w"]);
    for (const name of ["x", "w"]) {
      expect(gpu[name]!.device).toBe("webgpu");
      expect(worst(await values(gpu[name]!), await values(cpu[name]!))).toBeLessThanOrEqual(1e-5);
      expect((await values(cpu[name]!)).some((v) => v !== 0)).toBe(true);
    }
  });

  it("vjpFn keeps its residuals (a bit mask and wp) on the device until the pullback", async () => {
    const { x, w, idx, ct } = layerInputs(3);
    const expected = await f.vjp({ x, w, idx }, ct);
    const before = device.memory.bytesSavedForBackward;
    const { out, pullback } = await f.vjpFn({ x, w, idx }, { device });
    expect((out as Tensor).device).toBe("webgpu");
    expect(device.memory.bytesSavedForBackward).toBeGreaterThan(before);
    const readbacks = device.transfers.readbacks;
    const grads = await pullback(ct);
    expect(device.transfers.readbacks).toBe(readbacks);
    expect(device.memory.bytesSavedForBackward).toBe(before);
    for (const name of ["x", "w"]) {
      expect(worst(await values(grads[name]!), await values(expected[name]!))).toBeLessThanOrEqual(1e-5);
    }
    await expect(pullback(ct)).rejects.toMatchObject({ code: "E6004" });
  });

  it("chains device tensors between calls without a readback or an upload", async () => {
    const { x, w, idx } = layerInputs(4);
    const xd = toDevice(x, device);
    const wd = toDevice(w, device);
    const idxd = toDevice(idx, device);
    const [uploads, readbacks] = [device.transfers.uploads, device.transfers.readbacks];
    const y = (await f.forward({ x: xd, w: wd, idx: idxd }, { device })) as Tensor;
    // The forward result is the cotangent of the vjp; then a transpose of it in a second fn.
    const grads = await f.vjp({ x: xd, w: wd, idx: idxd }, y, { device });
    const flip = defineFunction(stepSpec("flip", [{ name: "y", dtype: "f32", shape: [7, 5, 1] }], { dtype: "f32", shape: [5, 7, 1] }, (o) => ({ op: "transpose", x: 0, out: o, perm: [1, 0, 2] })));
    const z = (await flip.forward({ y }, { device })) as Tensor;
    expect(device.transfers.uploads).toBe(uploads);
    expect(device.transfers.readbacks).toBe(readbacks);

    const yc = (await f.forward({ x, w, idx })) as Tensor;
    const gc = await f.vjp({ x, w, idx }, yc);
    const zc = (await flip.forward({ y: yc })) as Tensor;
    expect(await values(z)).toEqual(await values(zc));
    expect(worst(await values(grads["w"]!), await values(gc["w"]!))).toBeLessThanOrEqual(1e-5);
    expect(device.transfers.readbacks).toBe(readbacks + 2);
    for (const t of [xd, wd, idxd, y, z, grads["x"]!, grads["w"]!]) t.dispose();
  });

  it("uploads a bool tensor as bits and reads bits back as bools", async () => {
    const bools = Uint8Array.from({ length: 70 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    const t = toDevice(tensor(bools, [70]), device);
    expect(t.device).toBe("webgpu");
    expect(Array.from(await t.data())).toEqual(Array.from(bools));
    t.dispose();
  });
});

/** `sumsq(x: f32[N], o = 1.5) -> f32`: o * sum(x^2), with a hand-written single-invocation reduction. */
function sumsqSpec(): FunctionSpec {
  const head = `struct Uniforms { dims: array<vec4<u32>, 1>, scalars: array<vec4<f32>, 1>, seed: vec4<u32> }
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;`;
  const main = `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * (nwg.x * 64u);`;
  const sum = `${head}
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
${main}
  if (i >= 1u) { return; }
  var acc = 0.0;
  for (var j = 0u; j < u.dims[0][0]; j = j + 1u) { acc = acc + x[j] * x[j]; }
  v[0] = acc * u.scalars[0][0];
}
`;
  const grad = `${head}
@group(0) @binding(2) var<storage, read> ct: array<f32>;
@group(0) @binding(3) var<storage, read_write> g: array<f32>;
${main}
  if (i >= u.dims[0][0]) { return; }
  g[i] = 2.0 * u.scalars[0][0] * x[i] * ct[0];
}
`;
  const one = { dtype: "f32" as const, shape: [] };
  const n = { dtype: "f32" as const, shape: ["N"] };
  return {
    name: "sumsq",
    source: "tests/webgpu/sumsq.est:1",
    inputs: [{ name: "x", dtype: "f32", shape: ["N"] }],
    scalars: [{ name: "o", dtype: "f32", default: 1.5 }],
    dims: ["N"],
    outputs: [one],
    tuple: false,
    gradInputs: ["x"],
    kernels: [
      (d, s, _seed, x, v) => {
        let acc = 0;
        for (let j = 0; j < d[0]!; j++) acc = Math.fround(acc + Math.fround((x as Float32Array)[j]! * (x as Float32Array)[j]!));
        (v as Float32Array)[0] = Math.fround(acc * Math.fround(s[0]!));
      },
      (d, s, _seed, x, ct, g) => {
        for (let i = 0; i < d[0]!; i++) (g as Float32Array)[i] = Math.fround(Math.fround(Math.fround(2 * Math.fround(s[0]!)) * (x as Float32Array)[i]!) * (ct as Float32Array)[0]!);
      },
      (_d, _s, _seed, out) => {
        (out as Float32Array)[0] = 1;
      },
    ],
    wgsl: [
      { name: "sumsq_k0", code: sum, workgroupSize: 64, invocations: { shape: [], perInvocation: 1 } },
      { name: "sumsq_k1", code: grad, workgroupSize: 64, invocations: { shape: ["N"], perInvocation: 1 } },
      { name: "sumsq_k2", code: `${head.split("\n")[0]}\n@group(0) @binding(0) var<uniform> u: Uniforms;\n@group(0) @binding(1) var<storage, read_write> out: array<f32>;\n${main}\n  if (i >= 1u) { return; }\n  out[0] = 1.0;\n}\n`, workgroupSize: 64, invocations: { shape: [], perInvocation: 1 } },
    ],
    forward: { buffers: [n, one], inputs: [{ name: "x", buffer: 0 }], outputs: [1], steps: [{ op: "kernel", kernel: 0, args: [0, 1] }] },
    vjp: { buffers: [n, one, n], inputs: [{ name: "x", buffer: 0 }, { name: "$ct0", buffer: 1 }], outputs: [2], steps: [{ op: "kernel", kernel: 1, args: [0, 1, 2] }] },
    valueAndGrad: {
      buffers: [n, one, one, n],
      inputs: [{ name: "x", buffer: 0 }],
      outputs: [1, 3],
      steps: [
        { op: "kernel", kernel: 0, args: [0, 1] },
        { op: "kernel", kernel: 2, args: [2] },
        { op: "kernel", kernel: 1, args: [0, 2, 3] },
      ],
    },
  };
}

describe("valueAndGrad on webgpu", () => {
  it("returns the value and gradient the cpu returns", async () => {
    const f = defineFunction<"x", "o">(sumsqSpec());
    const x = randomTensor([300], rng(9));
    const cpu = await f.valueAndGrad({ x }, { o: 0.5 });
    const gpu = await f.valueAndGrad({ x }, { o: 0.5, device });
    expect(gpu.value.device).toBe("webgpu");
    expect(gpu.value.shape).toEqual([]);
    expect(worst(await values(gpu.value), await values(cpu.value))).toBeLessThanOrEqual(1e-5);
    expect(await values(gpu.grads["x"]!)).toEqual(await values(cpu.grads["x"]!));
  });
});
