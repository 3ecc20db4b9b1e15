/**
 * The browser path of `webgpu()`: when `navigator.gpu` exists the runtime asks it for an adapter
 * (core, then compatibility) and never loads Dawn's own search. In Node a Dawn GLES instance
 * stands in for a browser's `navigator.gpu` (as jax-js is run in the bench), without Dawn's
 * globals (GPUBufferUsage, ...) installed, which a browser has but the runtime must not need.
 * Results are compared with the CPU back end. This file runs in its own worker, so the
 * `navigator` it sets reaches no other test file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpu, defineFunction, type Tensor } from "../../runtime/index.js";
import { webgpu, type WebGpuDevice } from "../../runtime/webgpu/device.js";
import { randomIndices, randomTensor, rng, steLayerSpec } from "./helpers.js";

interface DawnModule {
  create(options: string[]): GPU;
}

let device: WebGpuDevice;
const previous = Object.getOwnPropertyDescriptor(globalThis, "navigator");

beforeAll(async () => {
  const dawn = (await import("webgpu")) as unknown as DawnModule;
  process.env["EGL_PLATFORM"] ??= "surfaceless";
  Object.defineProperty(globalThis, "navigator", { value: { gpu: dawn.create(["backend=opengles"]), userAgent: "estc-test" }, configurable: true, writable: true });
  device = await webgpu();
});

afterAll(() => {
  device?.destroy();
  if (previous === undefined) delete (globalThis as { navigator?: unknown }).navigator;
  else Object.defineProperty(globalThis, "navigator", previous);
});

describe("webgpu() through navigator.gpu", () => {
  it("takes the browser path and tries nothing else", () => {
    const report = device.adapter;
    expect(report.path).toBe("browser");
    expect(report.backend).toBe("browser's choice");
    expect(report.attempts.every((a) => a.path === "browser")).toBe(true);
    expect(report.attempts.at(-1)).toMatchObject({ ok: true });
    expect(report.attempts.at(-1)!.what).toMatch(/^navigator\.gpu\.requestAdapter\(featureLevel (core|compatibility)\)$/);
    // No Dawn globals were installed along the way: the runtime used none.
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBeUndefined();
  });

  it("runs a function's forward and vjp and matches the CPU back end", async () => {
    const f = defineFunction(steLayerSpec());
    const random = rng(11);
    const inputs = { x: randomTensor([6, 8], random), w: randomTensor([8, 4], random), idx: randomIndices([3], 4, random) };
    const onCpu = (await f.forward(inputs, { device: cpu() })) as Tensor;
    const onGpu = (await f.forward(inputs, { device })) as Tensor;
    expect(onGpu.shape).toEqual(onCpu.shape);
    const [want, got] = [await onCpu.data(), await onGpu.data()];
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    const gradsCpu = await f.vjp(inputs, onCpu, { device: cpu() });
    const gradsGpu = await f.vjp(inputs, onCpu, { device });
    for (const name of Object.keys(gradsCpu)) {
      const [w, g] = [await gradsCpu[name]!.data(), await gradsGpu[name]!.data()];
      expect(g.length, name).toBe(w.length);
      for (let i = 0; i < w.length; i++) expect(Math.abs(g[i]! - w[i]!), `${name}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[i]!)));
    }
    expect(device.transfers.readbacks).toBeGreaterThan(0);
  });
});
