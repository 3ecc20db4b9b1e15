/** The buffer pool and pipeline cache: a repeated call reuses released buffers and compiled pipelines. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import type { Tensor } from "../../runtime/tensor.js";
import type { WebGpuDevice } from "../../runtime/webgpu/device.js";
import { storageBytes } from "../../runtime/webgpu/pool.js";
import { openDevice, randomIndices, randomTensor, rng, steLayerSpec } from "./helpers.js";

let device: WebGpuDevice;
beforeAll(async () => {
  device = await openDevice();
});
afterAll(() => device?.destroy());

describe("buffer pool and pipeline cache", () => {
  it("a second identical call creates no buffer and compiles nothing; freed bytes return to the pool", async () => {
    const f = defineFunction(steLayerSpec());
    const random = rng(5);
    const inputs = { x: randomTensor([6, 8], random), w: randomTensor([8, 4], random), idx: randomIndices([3], 4, random) };
    const run = async () => {
      const y = (await f.forward(inputs, { device })) as Tensor;
      const data = Array.from(await y.data());
      y.dispose();
      return data;
    };
    const stats = device.pool.stats;
    const first = await run();
    const after1 = { ...stats, compiled: device.pipelines.stats.compiled, live: device.memory.bytesAllocated };
    expect(after1.bytesInUse).toBe(0);
    expect(device.memory.bytesAllocated).toBe(0);
    expect(after1.bytesPooled).toBe(after1.bytesCreated);
    expect(await run()).toEqual(first);
    expect(stats.buffersCreated).toBe(after1.buffersCreated);
    expect(stats.buffersReused).toBeGreaterThanOrEqual(after1.buffersReused + 8);
    expect(stats.bytesCreated).toBe(after1.bytesCreated);
    expect(device.pipelines.stats.compiled).toBe(after1.compiled);
    expect(device.pipelines.stats.hits).toBeGreaterThan(0);
    expect(device.memory.peakBytesAllocated).toBeGreaterThan(0);
    device.pool.trim();
    expect(stats.bytesPooled).toBe(0);
    expect(stats.bytesCreated).toBe(0);
  });

  it("a live device tensor is counted until disposed, and its buffer is reused afterwards", async () => {
    const f = defineFunction(steLayerSpec());
    const random = rng(6);
    const inputs = { x: randomTensor([2, 4], random), w: randomTensor([4, 4], random), idx: randomIndices([5], 4, random) };
    const y = (await f.forward(inputs, { device })) as Tensor;
    // The [K, B, 1] = [5, 2, 1] result, padded to the vec4 coverage of its 10 words: one workgroup's 256.
    expect(device.memory.bytesAllocated).toBe(storageBytes(5 * 2 * 4));
    expect(storageBytes(5 * 2 * 4)).toBe(256 * 4);
    y.dispose();
    expect(device.memory.bytesAllocated).toBe(0);
    y.dispose(); // harmless twice
    expect(device.pool.stats.bytesInUse).toBe(0);
  });
});
