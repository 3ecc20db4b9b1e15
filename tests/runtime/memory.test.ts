/**
 * The CPU device's memory accounting over hand-written FunctionSpecs (tests/helpers/specs.ts):
 * intermediates released after their last use and on errors, outputs handed over, byte counters.
 */
import { describe, expect, it } from "vitest";
import { type FunctionSpec, type Tensor, createCpuDevice, defineFunction, tensor } from "../../runtime/index.js";
import { rejects, values, reluScale, binaryDense, embed, runForward } from "../helpers/specs.js";

describe("memory", () => {
  const f = defineFunction(reluScale);
  const dense = defineFunction(binaryDense);

  it("counts only the outputs after a call, and nothing once they are disposed", async () => {
    const device = createCpuDevice();
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const w = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const ct = tensor([1, 2, 3, 4], [2, 2]);
    const grads = await dense.vjp({ x, w }, ct, { device });
    // Inputs are read in place: only gx (24 bytes) and gw (24 bytes) are left.
    expect(device.memory.bytesAllocated).toBe(48);
    // wᵀ is released after its matmul, before xᵀ is allocated; the peak holds gx, gw and one of them.
    expect(device.memory.peakBytesAllocated).toBe(72);
    for (const g of Object.values(grads)) g.dispose();
    expect(device.memory.bytesAllocated).toBe(0);
    const y = (await f.forward({ x }, { device })) as Tensor;
    expect(device.memory.bytesAllocated).toBe(24);
    y.dispose();
    expect(device.memory.bytesAllocated).toBe(0);
  });

  it("releases what a failing plan allocated", async () => {
    const device = createCpuDevice();
    const spec: FunctionSpec = {
      ...embed,
      forward: {
        ...embed.forward,
        buffers: [...embed.forward.buffers, { dtype: "f32", shape: ["K", "D"] }],
        outputs: [3],
        steps: [
          { op: "gather", x: 0, idx: 1, out: 2, axis: 0 },
          { op: "gather", x: 2, idx: 1, out: 3, axis: 0 },
        ],
      },
    };
    const g = defineFunction(spec);
    const table = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    // The first gather succeeds (and allocates), the second reads a 3-row result at index 7.
    const idx = tensor([0, 1, 2], [3], "i32");
    await expect(g.forward({ table, idx }, { device })).resolves.toBeDefined();
    const before = device.memory.bytesAllocated;
    await rejects(
      () =>
        g.forward(
          { table: tensor(new Float32Array(16), [8, 2]), idx: tensor([7, 0, 1], [3], "i32") },
          { device },
        ),
      "E6008",
      "gather index 7 is out of range for axis 0 of size 3",
    );
    expect(device.memory.bytesAllocated).toBe(before);
  });

  it("an alias step shares its input's array instead of allocating", () => {
    const arrays: unknown[] = [];
    const spec: FunctionSpec = {
      ...reluScale,
      name: "reshaped",
      inputs: [{ name: "x", dtype: "f32", shape: [2, 3] }],
      scalars: [],
      dims: [],
      outputs: [{ dtype: "f32", shape: [3, 2] }],
      kernels: [
        (_d, _s, _seed, x, t) => {
          arrays.push(t);
          for (let i = 0; i < 6; i++) t![i] = 2 * x![i]!;
        },
        (_d, _s, _seed, t, y) => {
          arrays.push(t);
          for (let i = 0; i < 6; i++) y![i] = t![i]! + 1;
        },
      ],
      forward: {
        buffers: [
          { dtype: "f32", shape: [2, 3] },
          { dtype: "f32", shape: [2, 3] },
          { dtype: "f32", shape: [6] },
          { dtype: "f32", shape: [3, 2] },
        ],
        inputs: [{ name: "x", buffer: 0 }],
        outputs: [3],
        steps: [
          { op: "kernel", kernel: 0, args: [0, 1] },
          { op: "alias", x: 1, out: 2 },
          { op: "kernel", kernel: 1, args: [2, 3] },
        ],
      },
    };
    const device = createCpuDevice();
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const [y] = runForward(spec, "x", x, device);
    expect(arrays[0]).toBe(arrays[1]);
    expect(values(y!)).toEqual([3, 5, 7, 9, 11, 13]);
    // t and its alias are one 24-byte array, never two, and it is released after its last reader.
    expect(device.memory.peakBytesAllocated).toBe(48);
    expect(device.memory.bytesAllocated).toBe(24);
  });

  it("an output that aliases an input is a copy, so disposing it leaves the input alone", () => {
    const spec: FunctionSpec = {
      ...reluScale,
      inputs: [{ name: "x", dtype: "f32", shape: [2, 3] }],
      scalars: [],
      dims: [],
      outputs: [{ dtype: "f32", shape: [6] }],
      kernels: [],
      forward: {
        buffers: [
          { dtype: "f32", shape: [2, 3] },
          { dtype: "f32", shape: [6] },
        ],
        inputs: [{ name: "x", buffer: 0 }],
        outputs: [1, 1],
        steps: [{ op: "alias", x: 0, out: 1 }],
      },
    };
    const device = createCpuDevice();
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const [a, b] = runForward(spec, "x", x, device);
    const storage = (t: Tensor) => (t.storage.kind === "cpu" ? t.storage.array : undefined);
    expect(storage(a!)).not.toBe(storage(x));
    expect(storage(b!)).not.toBe(storage(a!));
    expect(values(a!)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(device.memory.bytesAllocated).toBe(48);
    a!.dispose();
    b!.dispose();
    expect(device.memory.bytesAllocated).toBe(0);
    expect(values(x)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
