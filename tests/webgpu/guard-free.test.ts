/**
 * Guard-free vec4 kernels (WgslKernel.unguarded, runtime/plan.ts): the grid and coverage
 * arithmetic, the generated WGSL with and without its bounds guard, results against the CPU back
 * end at sizes around every vec4 and workgroup edge (the runtime picking the unguarded kernel),
 * the guarded kernel on a caller's buffer that is not padded to the coverage, and the pool's
 * padding and byte counters.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { defineFunction } from "../../runtime/define.js";
import { linearWorkgroupGrid, MAX_WORKGROUPS_PER_DIMENSION, vec4Coverage, type FunctionSpec, type WgslKernel } from "../../runtime/plan.js";
import { tensor, type Tensor } from "../../runtime/tensor.js";
import type { WebGpuDevice } from "../../runtime/webgpu/device.js";
import { paddedBytes, storageBytes } from "../../runtime/webgpu/pool.js";
import { acquireStorage, deviceTensor, releaseStorage, STORAGE_USAGE, toDevice, upload } from "../../runtime/webgpu/transfer.js";
import { run, sharedDevice, type Input } from "../helpers/backends.js";
import { buildModule } from "../helpers/build.js";
import { openDevice, rng } from "./helpers.js";

/** An elementwise result that also feeds a reduction (so padding a reduction read would show), and a scalar operand. */
const SRC = `fn f(x: f32[N], y: f32[N]) -> (f32[N], f32) {
  let z = x * y + cos(x) - 0.75
  return (z, sum(z))
}
fn g(x: f32[N], k: i32[N]) -> (f32[N], i32[N]) {
  return (x - mean(x), k * 3 - 1)
}
fn h(x: f32[N]) -> f32[N] { return x * 2 + cos(x) }
`;

/** Largest |a - b| / max(1, |b|). */
function worst(got: number[], want: number[]): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < want.length; i++) w = Math.max(w, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return w;
}

function inputs(n: number, seed: number): Record<string, Input> {
  const random = rng(seed);
  const uniform = () => Float32Array.from({ length: n }, () => random() * 2 - 1);
  return { x: { data: uniform(), shape: [n] }, y: { data: uniform(), shape: [n] }, k: { data: Int32Array.from({ length: n }, () => Math.floor(random() * 2000) - 1000), shape: [n], dtype: "i32" } };
}

/** The generated specs of SRC, by fn name. */
async function specs(): Promise<Record<string, FunctionSpec>> {
  const { mod } = await buildModule(SRC);
  return Object.fromEntries(Object.entries(mod).map(([k, f]) => [k, (f as { spec: FunctionSpec }).spec]));
}

/** The GPU buffer behind a device tensor. */
const bufferOf = (t: Tensor): GPUBuffer => (t.storage as { handle: { buffer: GPUBuffer } }).handle.buffer;

const vec4Kernels = (spec: FunctionSpec): WgslKernel[] => spec.wgsl!.filter((k) => k.invocations.perInvocation === 4);

/** The vec4 kernels the steps of `entries` run. */
function planVec4Kernels(spec: FunctionSpec, entries: ("forward" | "vjp")[]): WgslKernel[] {
  const used = new Set(entries.flatMap((e) => spec[e].steps.flatMap((s) => (s.op === "kernel" ? [s.kernel] : []))));
  const kernels = [...used].map((k) => spec.wgsl![k]!).filter((k) => k.invocations.perInvocation === 4);
  expect(kernels.length).toBeGreaterThan(0);
  return kernels;
}

describe("linearWorkgroupGrid and vec4Coverage", () => {
  const check = (groups: number, max: number) => {
    const [x, y] = linearWorkgroupGrid(groups, max);
    const cap = Math.min(max, MAX_WORKGROUPS_PER_DIMENSION);
    const what = `${groups} groups, max ${max}: [${x}, ${y}]`;
    expect(x * y, what).toBeGreaterThanOrEqual(groups);
    expect(x, what).toBeLessThanOrEqual(cap);
    expect(y, what).toBeLessThanOrEqual(cap);
    expect(x * y - groups, what).toBeLessThan(y);
  };

  it("covers every count up to max² with x, y <= max and fewer than y extra workgroups (small maxima, exhaustively)", () => {
    for (const max of [1, 2, 3, 7, 16]) for (let g = 1; g <= max * max; g++) check(g, max);
  });

  it("holds at the edges of WebGPU's 65535 and caps a larger adapter limit at 65535", () => {
    const M = MAX_WORKGROUPS_PER_DIMENSION;
    for (const g of [1, 2, 63, 64, 65534, M, M + 1, M + 2, 2 * M - 1, 2 * M, 2 * M + 1, 123456789, M * M - 1, M * M]) {
      check(g, M);
      check(g, 2 ** 31 - 1);
      expect(linearWorkgroupGrid(g, 2 ** 31 - 1)).toEqual(linearWorkgroupGrid(g, M));
    }
    expect(linearWorkgroupGrid(M, M)).toEqual([M, 1]);
    // x = max would dispatch 2·65535 workgroups here; the grid dispatches one extra.
    expect(linearWorkgroupGrid(M + 2, M)).toEqual([32769, 2]);
    expect(linearWorkgroupGrid(0, M)).toEqual([0, 0]);
  });

  it("gives a vec4 kernel's coverage: whole workgroups of 64 invocations x 4 elements on that grid", () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 256],
      [4, 256],
      [256, 256],
      [257, 512],
      [1025, 1280],
      [65536 * 4 + 5, 1025 * 256],
      [65535 * 256, 65535 * 256],
      [65535 * 256 + 1, 65536 * 256], // two rows of 32768
      [65535 * 256 + 257, 2 * 32769 * 256], // 65537 workgroups on a 32769 x 2 grid
    ];
    for (const [n, want] of cases) expect(vec4Coverage(n), `n = ${n}`).toBe(want);
  });
});

describe("generated vec4 kernels", () => {
  it("emit `unguarded`: the same WGSL as `code` without the bounds guard; other kernels have none", async () => {
    const all = await specs();
    const kernels = Object.values(all).flatMap((s) => s.wgsl!);
    const vec4 = kernels.filter((k) => k.invocations.perInvocation === 4);
    expect(vec4.length).toBeGreaterThanOrEqual(4);
    for (const k of vec4) {
      expect(k.code, k.name).toMatch(/if \(idx >= \(total \+ 3u\) \/ 4u\) \{ return; \}/);
      expect(k.unguarded, k.name).toBeDefined();
      expect(k.unguarded, k.name).not.toMatch(/return;|total/);
      const withoutGuard = k.code.split("\n").filter((l) => !/^\s*(let total = |if \(idx >= )/.test(l)).join("\n");
      expect(k.unguarded, k.name).toBe(withoutGuard);
    }
    const others = kernels.filter((k) => k.invocations.perInvocation !== 4);
    expect(others.length).toBeGreaterThan(0);
    for (const k of others) expect(k.unguarded, k.name).toBeUndefined();
  });
});

describe("guard-free kernels on webgpu against the cpu", () => {
  let all: Record<string, FunctionSpec>;
  beforeAll(async () => {
    all = await specs();
  });

  /** Runs `body` recording the WGSL the WebGPU device was asked to compile or look up. */
  async function requested(body: () => Promise<void>): Promise<string[]> {
    const device = await sharedDevice();
    const spy = vi.spyOn(device.pipelines, "get");
    try {
      await body();
      return spy.mock.calls.map((c) => c[0]);
    } finally {
      spy.mockRestore();
    }
  }

  for (const n of [1, 3, 4, 255, 256, 257, 1023, 1025, 65536 * 4 + 5]) {
    it(`n = ${n}: forward and vjp of f, forward of g, equal to the cpu's, every vec4 kernel unguarded`, async () => {
      const ins = inputs(n, n);
      const random = rng(n + 1);
      const opts = { ct: [Array.from({ length: n }, () => random() * 2 - 1), [0.5]] };
      const fIns = { x: ins.x!, y: ins.y! };
      const gIns = { x: ins.x!, k: ins.k! };
      const cpuF = await run("cpu", SRC, "f", fIns, opts);
      const cpuG = await run("cpu", SRC, "g", gIns);
      let gpuF!: Awaited<ReturnType<typeof run>>;
      let gpuG!: Awaited<ReturnType<typeof run>>;
      const codes = await requested(async () => {
        gpuF = await run("webgpu", SRC, "f", fIns, opts);
        gpuG = await run("webgpu", SRC, "g", gIns);
      });
      expect(worst(gpuF.outputs[0]!, cpuF.outputs[0]!)).toBeLessThanOrEqual(1e-5);
      // A sum reading padding would add cos(0) - 0.75 per zero lane (or garbage); f32 order differs by far less.
      const scale = cpuF.outputs[0]!.reduce((s, v) => s + Math.abs(v), 0);
      expect(Math.abs(gpuF.outputs[1]![0]! - cpuF.outputs[1]![0]!)).toBeLessThanOrEqual(Math.max(1e-5, 1e-5 * scale));
      for (const name of ["x", "y"]) expect(worst(gpuF.grads[name]!, cpuF.grads[name]!), `grad ${name}`).toBeLessThanOrEqual(1e-5);
      expect(worst(gpuG.outputs[0]!, cpuG.outputs[0]!)).toBeLessThanOrEqual(1e-5);
      expect(gpuG.outputs[1]).toEqual(cpuG.outputs[1]);
      for (const k of [...planVec4Kernels(all.f!, ["forward", "vjp"]), ...planVec4Kernels(all.g!, ["forward"])]) {
        expect(codes.includes(k.unguarded!), `${k.name} unguarded`).toBe(true);
        expect(codes.includes(k.code), `${k.name} guarded`).toBe(false);
      }
    });
  }

  it("n = 65535·256 + 257: a 2-row grid over-dispatching by one workgroup, unguarded, equal to the cpu's", async () => {
    const n = 65535 * 256 + 257;
    const ins = { x: inputs(n, 9).x! };
    const cpu = await run("cpu", SRC, "h", ins);
    let gpu!: Awaited<ReturnType<typeof run>>;
    const codes = await requested(async () => {
      gpu = await run("webgpu", SRC, "h", ins);
    });
    expect(worst(gpu.outputs[0]!, cpu.outputs[0]!)).toBeLessThanOrEqual(1e-5);
    expect(codes).toContain(vec4Kernels(all.h!)[0]!.unguarded);
  });
});

describe("buffers not padded to the coverage, and the pool's padding", () => {
  let device: WebGpuDevice;
  let f: ReturnType<typeof defineFunction>;
  let kernel: WgslKernel;
  beforeAll(async () => {
    device = await openDevice();
    const spec = (await specs()).f!;
    f = defineFunction(spec);
    kernel = vec4Kernels(spec).find((k) => k.name === "f$k0")!;
    expect(kernel).toBeDefined();
  });
  afterAll(() => device?.destroy());

  /** A device tensor in a pool buffer padded only to 16 bytes, as a caller's buffer may be. */
  function unpadded(data: Float32Array, shape: number[]): Tensor {
    const got = device.pool.acquire(data.byteLength, STORAGE_USAGE, "unpadded", "bytes");
    device.memory.track(got.buffer.size);
    upload(device, got.buffer, data);
    return deviceTensor(device, got.buffer, shape, "f32");
  }

  async function forward(x: Tensor, y: Tensor): Promise<{ z: number[]; sum: number; codes: string[] }> {
    const spy = vi.spyOn(device.pipelines, "get");
    try {
      const [z, sum] = (await f.forward({ x, y }, { device })) as Tensor[];
      const out = { z: Array.from(await z!.data()), sum: (await sum!.data())[0]!, codes: spy.mock.calls.map((c) => c[0]) };
      z!.dispose();
      sum!.dispose();
      return out;
    } finally {
      spy.mockRestore();
    }
  }

  it("a caller's device tensor smaller than the coverage runs the guarded kernel, with the cpu's results", async () => {
    const n = 1025;
    const random = rng(3);
    const xs = Float32Array.from({ length: n }, () => random() * 2 - 1);
    const y = tensor(Float32Array.from({ length: n }, () => random() * 2 - 1), [n]);
    const [wantZ, wantSum] = (await f.forward({ x: tensor(xs, [n]), y })) as Tensor[];
    const x = unpadded(xs, [n]);
    expect(bufferOf(x).size).toBe(paddedBytes(4 * n));
    expect(paddedBytes(4 * n)).toBeLessThan(4 * vec4Coverage(n));
    const small = await forward(x, y);
    expect(small.codes).toContain(kernel.code);
    expect(small.codes).not.toContain(kernel.unguarded);
    expect(worst(small.z, Array.from(await wantZ!.data()))).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(small.sum - (await wantSum!.data())[0]!)).toBeLessThanOrEqual(1e-5 * small.z.reduce((s, v) => s + Math.abs(v), 0));
    x.dispose();
    // The same values uploaded by toDevice are padded, so the same call goes guard-free.
    const padded = toDevice(tensor(xs, [n]), device);
    const big = await forward(padded, y);
    expect(big.codes).toContain(kernel.unguarded);
    expect(big.codes).not.toContain(kernel.code);
    expect(big.z).toEqual(small.z);
    padded.dispose();
  });

  it("storage buffers are padded to the vec4 coverage of their words, other requests to 16 bytes; the counters follow", () => {
    const stats = device.pool.stats;
    device.pool.trim();
    const before = { ...stats };
    const memory = device.memory.bytesAllocated;
    const n = 1_000_003;
    const size = 4 * vec4Coverage(n);
    expect(size).toBe(4 * 3907 * 256);
    expect(storageBytes(4 * n)).toBe(size);
    const a = acquireStorage(device, 4 * n, "a");
    expect(a.fresh).toBe(true);
    expect(a.buffer.size).toBe(size);
    expect(stats.bytesCreated - before.bytesCreated).toBe(size);
    expect(stats.bytesInUse - before.bytesInUse).toBe(size);
    expect(device.memory.bytesAllocated - memory).toBe(size);
    releaseStorage(device, a.buffer);
    expect(stats.bytesPooled - before.bytesPooled).toBe(size);
    expect(stats.bytesInUse).toBe(before.bytesInUse);
    // 1_000_100 elements round up to the same 3907 workgroups: the pooled buffer serves them.
    const b = acquireStorage(device, 4 * 1_000_100, "b");
    expect(b.fresh).toBe(false);
    expect(b.buffer).toBe(a.buffer);
    expect(stats.bytesCreated - before.bytesCreated).toBe(size);
    releaseStorage(device, b.buffer);
    // Uniforms, staging and scratch keep the 16-byte padding.
    expect(device.pool.sizeFor(48)).toBe(48);
    expect(device.pool.sizeFor(4 * n, "vec4")).toBe(size);
    // A buffer whose coverage would pass the binding limit stays at 16-byte padding (it runs guarded).
    expect(storageBytes(4 * 1025, 4 * 1025 + 12)).toBe(paddedBytes(4 * 1025));
    expect(storageBytes(0)).toBe(16);
    device.pool.trim();
    expect(stats.bytesCreated).toBe(before.bytesCreated);
    expect(stats.bytesPooled).toBe(0);
  });

  it("a call's plan buffers and outputs are created at the padded sizes and all return to the pool", async () => {
    const stats = device.pool.stats;
    device.pool.trim();
    const memory = device.memory.bytesAllocated;
    const inUse = stats.bytesInUse;
    const n = 257;
    const random = rng(4);
    const x = tensor(Float32Array.from({ length: n }, () => random() * 2 - 1), [n]);
    const [z, sum] = (await f.forward({ x, y: x }, { device })) as Tensor[];
    const sizeOf = (t: Tensor) => bufferOf(t).size;
    expect(sizeOf(z!)).toBe(4 * vec4Coverage(n));
    expect(sizeOf(sum!)).toBe(4 * vec4Coverage(1));
    expect(device.memory.bytesAllocated - memory).toBe(4 * (vec4Coverage(n) + vec4Coverage(1)));
    expect(stats.bytesInUse - inUse).toBe(4 * (vec4Coverage(n) + vec4Coverage(1)));
    z!.dispose();
    sum!.dispose();
    expect(stats.bytesInUse).toBe(inUse);
    expect(device.memory.bytesAllocated).toBe(memory);
    expect(stats.bytesPooled + stats.bytesInUse).toBe(stats.bytesCreated);
  });
});
