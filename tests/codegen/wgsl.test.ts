/**
 * The generated WGSL kernels on a real WebGPU device (Dawn from the `webgpu` package; on a
 * machine without a GPU, Mesa's llvmpipe through GLES in compatibility mode, DESIGN.md): every
 * kernel of the cpu-vs-oracle programs and of the quickstart compiles into a pipeline, and every
 * one of them, run on hand-built buffers, writes what the generated TypeScript kernel writes
 * (f32 to 1e-5 relative, i32 and packed bools exactly, uniform draws bit for bit).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, globals } from "webgpu";
import { matmulGrid, wgslDispatch, type BufferSpec, type FunctionSpec, type WgslKernel } from "../../runtime/plan.js";
import { paddedBytes } from "../../runtime/webgpu/pool.js";
import { fillUniform } from "../../runtime/philox.js";
import { tensor, type Tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { rng } from "../helpers/gradcheck.js";
import { programs } from "../helpers/programs.js";
import { wgslBindingNote } from "../../compiler/codegen/wgsl/kernels.js";

Object.assign(globalThis, globals);
process.env.EGL_PLATFORM ??= "surfaceless";

interface Case {
  name: string;
  src: string;
  dims: Record<string, number>;
}

// The programs of tests/codegen/cpu-vs-oracle.test.ts, then the quickstart and a few of our own.
const cases: Case[] = [
  ...programs.map(({ name, src, dims }) => ({ name, src, dims })),
  { name: "quickstart", dims: { B: 3, I: 70, O: 4, K: 4 }, src: fs.readFileSync(path.resolve(import.meta.dirname, "../../examples/quickstart/binary.est"), "utf8") },
  { name: "uniform draws", dims: { N: 1001 }, src: `fn f(p: f32[N]) -> f32[N] { return uniform([N]) }` },
  // relu's mask is saved as packed bits (135 elements: 4 full words and a partial one), then read back.
  { name: "packed bool residual", dims: { B: 3, I: 4, N: 45 }, src: `fn f(x: f32[B, I], w: f32[I, N]) -> f32[B, N] { let y = relu(x @ w)\n return y @ transpose(w) @ w }` },
  // floor() makes ties, which must resolve to the first index; flat argmax over both axes too.
  { name: "argmax and argmin ties", dims: { B: 6, K: 5 }, src: `fn f(x: f32[B, K]) -> (i32[B], i32[K], i32) { return (argmax(floor(x), axis = 1), argmin(floor(x), axis = 0), argmax(floor(x))) }` },
];

const SEED = 2 ** 40 + 12345; // a key with a non-zero high word
let device: GPUDevice;
const built = new Map<string, { spec: Record<string, FunctionSpec> }>();

beforeAll(async () => {
  const gpu = create(["backend=opengles"]);
  const adapter = await gpu.requestAdapter({ featureLevel: "compatibility" });
  if (adapter === null) {
    throw new Error("no WebGPU adapter: Dawn found neither a GPU nor Mesa's llvmpipe through EGL (install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri; EGL_PLATFORM=surfaceless)");
  }
  // As the runtime does: ask for the adapter's own storage-buffer limit (16 on Mesa, 8 guaranteed).
  device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
  for (const c of cases) {
    const { mod } = await buildModule(c.src);
    built.set(c.name, { spec: Object.fromEntries(Object.entries(mod).map(([k, f]) => [k, f.spec as FunctionSpec])) });
  }
});

afterAll(() => device?.destroy());

/**
 * Reductions run here in their serial form, as the runtime does on this (software) adapter:
 * llvmpipe has crashed intermittently on the workgroup trees' barriers. The tree shaders (and a
 * split's two passes) are still validated by Dawn's WGSL compiler (Tint), without building a
 * llvmpipe pipeline; `ESTC_WEBGPU_REDUCE=tree` runs the trees instead.
 */
const SERIAL = process.env["ESTC_WEBGPU_REDUCE"] !== "tree";

/** The WGSL this harness runs for a kernel. */
function codeOf(k: WgslKernel): string {
  return SERIAL && k.reduce?.serial !== undefined ? k.reduce.serial : k.code;
}

/** The shaders of a kernel that are only validated (not run) here. */
function validatedOnly(k: WgslKernel): string[] {
  if (k.reduce === undefined) return [];
  return [...(SERIAL ? [k.code] : []), ...(k.reduce.partial !== undefined ? [k.reduce.partial] : []), ...(k.reduce.final !== undefined ? [k.reduce.final] : [])];
}



/** Cases whose kernels must include a packed-bool writer, a packed-bool reader, an argmax. */
const mustHave: Record<string, RegExp[]> = {
  "packed bool residual": [/select\(0u, 1u << j/, /array<u32>;[^]*>> 5u/],
  "argmax and argmin ties": [/best = j;/, /b == a && ib < sidx\[lid\]/, /workgroupBarrier\(\)/],
  "uniform draws": [/rand01_\(/],
  // Contiguous f32 operands: vec4 loads and stores, four lanes per invocation (N = 37 leaves a partial vec4).
  "ReSTE sign": [/array<vec4<f32>>/, /for \(var l = 0u; l < 4u; l\+\+\)/, /\(total \+ 3u\) \/ 4u/],
  "sampling draws": [/let i = idx \* 4u \+ l;[^]*rand01_\(i, /],
};

/** Compiles `code` into a shader module and, unless `pipeline` is false, a pipeline; the error messages, none when it is valid. */
async function compile(code: string, pipeline = true): Promise<string[]> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  // Awaited one at a time: Mesa's llvmpipe has crashed (a glibc mutex assertion) when many
  // pipelines with workgroup barriers were compiled back to back without waiting.
  // An async pipeline's failure rejects rather than landing in the error scope: keep its message.
  const failed = pipeline ? await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: "main" } }).then(() => [], (e: Error) => [e.message]) : [];
  const error = await device.popErrorScope();
  return [...info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos} ${m.message}`), ...(error === null ? [] : [error.message]), ...failed];
}

/** The buffers a kernel is called with, from the first plan step that runs it. */
function kernelArgs(spec: FunctionSpec, k: number): BufferSpec[] {
  const plans = [spec.forward, spec.vjp, spec.valueAndGrad, spec.forwardWithResiduals, spec.pullback];
  for (const plan of plans) {
    const step = plan?.steps.find((s) => s.op === "kernel" && s.kernel === k);
    if (step?.op === "kernel") return step.args.map((a) => plan!.buffers[a]!);
  }
  throw new Error(`kernel ${k} of ${spec.name} is in no plan`);
}

type Data = Float32Array | Int32Array;

/** Runs WGSL kernel `kernel` on the device over copies of `arrays`; returns the buffers after it ran. */
async function runWgsl(kernel: WgslKernel, spec: FunctionSpec, dims: Int32Array, scalars: Float64Array, arrays: Data[]): Promise<Data[]> {
  const code = codeOf(kernel);
  const writes = [...code.matchAll(/@binding\((\d+)\) var<storage, (read_write|read)>/g)].map((m) => m[2] === "read_write");
  const nd = Math.max(1, Math.ceil(spec.dims.length / 4));
  const ns = Math.max(1, Math.ceil(spec.scalars.length / 4));
  const uniformData = new ArrayBuffer(16 * (nd + ns + 1));
  new Uint32Array(uniformData, 0, 4 * nd).set(dims);
  new Float32Array(uniformData, 16 * nd, 4 * ns).set(scalars);
  new Uint32Array(uniformData, 16 * (nd + ns), 4).set([SEED % 2 ** 32, Math.floor(SEED / 2 ** 32), 0, 0]);
  const uniforms = device.createBuffer({ size: uniformData.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniforms, 0, uniformData);
  const buffers = arrays.map((a) => {
    const b = device.createBuffer({ size: paddedBytes(a.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    if (a.byteLength > 0) device.queue.writeBuffer(b, 0, a);
    return b;
  });
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
      ...writes.map((w, i) => ({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: w ? ("storage" as const) : ("read-only-storage" as const) } })),
    ],
  });
  const pipeline = await device.createComputePipelineAsync({ layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
  const bindGroup = device.createBindGroup({ layout, entries: [uniforms, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const { units, perGroup } = wgslDispatch(kernel, (d) => (typeof d === "number" ? d : dims[spec.dims.indexOf(d)]!), SERIAL);
  const staging = arrays.map((a) => device.createBuffer({ size: paddedBytes(a.byteLength), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  if (kernel.matmul !== undefined) {
    const grid = matmulGrid(kernel.matmul, (d) => (typeof d === "number" ? d : dims[spec.dims.indexOf(d)]!));
    if (grid.every((g) => g > 0)) pass.dispatchWorkgroups(...grid);
  } else if (units > 0) pass.dispatchWorkgroups(Math.ceil(units / perGroup));
  pass.end();
  buffers.forEach((b, i) => encoder.copyBufferToBuffer(b, 0, staging[i]!, 0, b.size));
  device.queue.submit([encoder.finish()]);
  const out = await Promise.all(
    staging.map(async (s, i) => {
      await s.mapAsync(GPUMapMode.READ);
      const copy = s.getMappedRange().slice(0, arrays[i]!.byteLength);
      s.unmap();
      return arrays[i] instanceof Float32Array ? new Float32Array(copy) : new Int32Array(copy);
    }),
  );
  [uniforms, ...buffers, ...staging].forEach((b) => b.destroy());
  return out;
}

const specials = [0, -0, 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1, 0.25, 0.1, 1.4];

/** Hand-built arguments for a kernel: random reads (f32 in [-2, 2) and boundary values, small i32, random bits), zeroed writes. */
function arguments_(args: BufferSpec[], dims: Record<string, number>, random: () => number): Data[] {
  return args.map((b) => {
    const n = b.shape.reduce<number>((p, d) => p * (typeof d === "number" ? d : dims[d]!), 1);
    if (b.packed) return Int32Array.from({ length: Math.ceil(n / 32) }, () => (random() * 2 ** 32) | 0);
    if (b.dtype === "i32") return Int32Array.from({ length: n }, () => Math.floor(random() * 3));
    // Every fourth value from the boundaries (sign(0), round half to even, comparisons at 0.5, …).
    return Float32Array.from({ length: n }, (_, j) => (j % 4 === 3 ? specials[Math.floor(random() * specials.length)]! : random() * 4 - 2));
  });
}

/** Relative agreement with NaN equal to NaN; the absolute floor only covers exact zeros' neighbours. */
function close(got: number, want: number, scale = 0): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= 1e-5 * Math.max(Math.abs(want), scale) + 1e-7;
}

describe("every generated WGSL kernel compiles into a compute pipeline", () => {
  for (const c of cases) {
    it(c.name, async () => {
      let wide = 0;
      for (const spec of Object.values(built.get(c.name)!.spec)) {
        expect(spec.wgsl?.length).toBe(spec.kernels.length);
        for (const k of spec.wgsl!) {
          if (wgslBindingNote(k, c.name) !== undefined) wide++;
          expect({ kernel: k.name, errors: await compile(codeOf(k)) }).toEqual({ kernel: k.name, errors: [] });
          for (const code of validatedOnly(k)) expect({ kernel: k.name, errors: await compile(code, false) }).toEqual({ kernel: k.name, errors: [] });
        }
      }
      // The schedule cuts every kernel to 7 storage buffers (schedule-bound.ts): none needs a note.
      expect(wide).toBe(0);
      const all = Object.values(built.get(c.name)!.spec).flatMap((spec) => spec.wgsl!.flatMap((k) => [k.code, ...validatedOnly(k), codeOf(k)]));
      for (const pattern of mustHave[c.name] ?? []) expect(all.some((code) => code !== undefined && pattern.test(code))).toBe(true);
    });
  }
});

describe("every generated WGSL kernel writes what its TypeScript kernel writes", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const random = rng(7);
      for (const spec of Object.values(built.get(c.name)!.spec)) {
        const dims = Int32Array.from(spec.dims, (d) => c.dims[d]!);
        const scalars = Float64Array.from(spec.scalars, (s) => Math.fround(s.default));
        for (let k = 0; k < spec.kernels.length; k++) {
          const args = kernelArgs(spec, k);
          const arrays = arguments_(args, c.dims, random);
          const cpu = arrays.map((a) => a.slice());
          spec.kernels[k]!(dims, scalars, SEED, ...cpu);
          const gpu = await runWgsl(spec.wgsl![k]!, spec, dims, scalars, arrays);
          const label = `${spec.wgsl![k]!.name}`;
          args.forEach((b, i) => {
            const want = cpu[i]!;
            const got = gpu[i]!;
            // A product's elements are f32 sums on the GPU (f64 on the CPU): with cancellation
            // (terms of 4.6 summing to 0.014 in the MLP) their error is relative to the terms, so
            // a matmul kernel's outputs are compared at the scale of the largest value it touches.
            const scale = /\bgemm\b/.test(String(spec.kernels[k])) ? Math.max(...cpu.flatMap((a) => (a instanceof Float32Array ? Array.from(a, Math.abs) : []))) : 0;
            const bad = [...want.keys()].filter((j) => (b.dtype === "f32" ? !close(got[j]!, want[j]!, scale) : got[j] !== want[j]));
            expect({ label, buffer: i, bad: bad.slice(0, 5).map((j) => ({ j, gpu: got[j], cpu: want[j] })) }).toEqual({ label, buffer: i, bad: [] });
          });
        }
      }
    });
  }

  it("draws the same uniforms as runtime/philox.ts, bit for bit", async () => {
    const spec = built.get("uniform draws")!.spec["f"]!;
    const dims = Int32Array.from([1001]);
    const k = spec.wgsl!.findIndex((w) => w.code.includes("rand01_("));
    expect(k).toBeGreaterThanOrEqual(0);
    const args = kernelArgs(spec, k);
    const arrays = arguments_(args, { N: 1001 }, rng(1));
    const gpu = await runWgsl(spec.wgsl![k]!, spec, dims, new Float64Array(0), arrays);
    const site = Number(/rand01_\(i, (\d+)u, 0u\)/.exec(spec.wgsl![k]!.code)![1]);
    const want = new Float32Array(1001);
    fillUniform(want, SEED, site);
    const out = gpu[gpu.length - 1] as Float32Array;
    expect(Array.from(new Uint32Array(out.buffer))).toEqual(Array.from(new Uint32Array(want.buffer)));
  });
});

describe("limits", () => {
  it("cuts a sum of 8 inputs (9 buffers in one loop) at a stored partial sum, so no kernel binds more than 7", async () => {
    const src = `fn wide(a: f32[N], b: f32[N], c: f32[N], d: f32[N], e: f32[N], f: f32[N], g: f32[N], h: f32[N]) -> f32[N] { return a + b + c + d + e + f + g + h }`;
    const { mod } = await buildModule(src);
    const spec = mod["wide"].spec as FunctionSpec;
    expect(spec.forward.steps.filter((st) => st.op === "kernel").length).toBe(2);
    for (const k of spec.wgsl!) {
      expect(k.code.match(/var<storage/g)!.length).toBeLessThanOrEqual(7);
      expect(wgslBindingNote(k, "main.est:1")).toBeUndefined();
    }
    const inputs = Object.fromEntries("abcdefgh".split("").map((x, i) => [x, tensor([i, 10 * i, 100 * i], [3])]));
    const y = (await mod["wide"].forward(inputs)) as Tensor;
    expect([...y.dataSync()]).toEqual([28, 280, 2800]);
  });

  it("notes a kernel that binds more than 7 storage buffers (none that estc schedules does)", () => {
    const bindings = Array.from({ length: 9 }, (_, i) => `@group(0) @binding(${i + 1}) var<storage, read> b${i}: array<f32>;`);
    const note = wgslBindingNote({ name: "wide$k0", code: bindings.join("\n") } as WgslKernel, "main.est:1");
    expect(note).toMatch(/kernel wide\$k0 \(main\.est:1\) binds 9 storage buffers: it needs an adapter with maxStorageBuffersPerShaderStage >= 9/);
  });
});
