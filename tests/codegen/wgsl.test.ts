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
import type { BufferSpec, FunctionSpec, WgslKernel } from "../../runtime/plan.js";
import { fillUniform } from "../../runtime/philox.js";
import { buildModule } from "../helpers/build.js";
import { rng } from "../helpers/gradcheck.js";

Object.assign(globalThis, globals);
process.env.EGL_PLATFORM ??= "surfaceless";

interface Case {
  name: string;
  src: string;
  dims: Record<string, number>;
}

// The programs of tests/codegen/cpu-vs-oracle.test.ts, then the quickstart and a few of our own.
const cases: Case[] = [
  { name: "ReSTE sign", dims: { N: 37 }, src: `import { ReSTE } from "std/binary"\nfn f(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ReSTE(o = o) }` },
  { name: "broadcast chain", dims: { B: 3, N: 5 }, src: `fn f(x: f32[B, N], y: f32[N], s: f32[B, 1]) -> f32[B, N] { return tanh(clamp(x * 1.5, -1, 1)) * y + s }` },
  { name: "softmax CE MLP", dims: { B: 4, I: 6, H: 5, K: 3 }, src: `fn loss(x: f32[B, I], w1: f32[I, H], w2: f32[H, K], labels: i32[B]) -> f32 {
      let h = relu(x @ w1)
      return -mean(sum(one_hot(labels, K) * log_softmax(h @ w2, axis = 1), axis = 1))
    }` },
  { name: "reductions over axis 0 with keepdims", dims: { B: 4, N: 3 }, src: `fn f(x: f32[B, N]) -> f32[1, N] { return max(x, axis = 0, keepdims = true) + sum(exp(x), axis = 0, keepdims = true) + logsumexp(x, axis = 0, keepdims = true) }` },
  { name: "transpose, reshape, gather", dims: { A: 2, B: 3 }, src: `fn f(x: f32[A, B], idx: i32[A]) -> f32[A, A] { return gather(transpose(x) * 2, idx, axis = 0) + sum(reshape(x, [B, A]), axis = 0) }` },
  { name: "nm_prune 2:4 and pow", dims: { R: 2 }, src: `fn f(w: f32[R, 8]) -> f32[R, 8] { return nm_prune(w, 2, 4) + pow(abs(w) + 1, 1.5) }` },
  { name: "every unary primitive", dims: { N: 23 }, src: `fn f(x: f32[N]) -> (f32[N], f32[N], f32[N], f32[N]) {
      let a = abs(x) + 0.5
      return (neg(x) + abs(x) + sign(x) + signum(x) + exp(x) + log(a) + log1p(a) + sqrt(a) + rsqrt(a),
              sin(x) + cos(x) + tanh(x) + sigmoid(x) + softplus(x) + relu(x),
              floor(x) + ceil(x) + round(x * 2) + step(x) + (x > 0.5) + (x != 0.25) + !(x < 0),
              min(x, 0.3) + max(x, -0.3) + clamp(x, -1, 1) + select(x > 0, x, x * x) + pow(a, x) + (x % 0.7))
    }` },
  { name: "softmax, argmax, one_hot, categorical, gumbel", dims: { B: 5, K: 4 }, src: `fn f(x: f32[B, K]) -> (f32[B, K], i32[B], f32[B, K], f32[B, K], f32[B]) {
      return (softmax(x, axis = 1), argmax(x, axis = 1), one_hot(categorical(x), K), gumbel([B, K]) + x, min(x, axis = 1) + mean(x, axis = 1))
    }` },
  { name: "sampling draws", dims: { N: 9 }, src: `fn f(p: f32[N]) -> (f32[N], f32[N], f32[N]) { return (bernoulli(sigmoid(p)), uniform([N]) + p, normal(p, 0.5)) }` },
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
  device = await adapter.requestDevice();
  for (const c of cases) {
    const { mod } = await buildModule(c.src);
    built.set(c.name, { spec: Object.fromEntries(Object.entries(mod).map(([k, f]) => [k, f.spec as FunctionSpec])) });
  }
});

afterAll(() => device?.destroy());

/** A kernel's WGSL, or undefined for one codegen refused (its `code` throws why). */
function codeOf(k: WgslKernel): string | undefined {
  try {
    return k.code;
  } catch {
    return undefined;
  }
}

/** How many kernels of a case codegen refuses (single outputs reading 9 buffers); explicit so it cannot grow unnoticed. */
const refusedCount: Record<string, number> = { "softmax, argmax, one_hot, categorical, gumbel": 2 };

/** Cases whose kernels must include a packed-bool writer, a packed-bool reader, an argmax. */
const mustHave: Record<string, RegExp[]> = {
  "packed bool residual": [/select\(0u, 1u << j/, /array<u32>;[^]*>> 5u/],
  "argmax and argmin ties": [/best = count/],
  "uniform draws": [/rand01_\(/],
};

/** Compiles `code` into a pipeline; the error messages, none when it is valid. */
async function compile(code: string): Promise<string[]> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const error = await device.popErrorScope();
  return [...info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos} ${m.message}`), ...(error === null ? [] : [error.message])];
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
  const writes = [...kernel.code.matchAll(/@binding\((\d+)\) var<storage, (read_write|read)>/g)].map((m) => m[2] === "read_write");
  const nd = Math.max(1, Math.ceil(spec.dims.length / 4));
  const ns = Math.max(1, Math.ceil(spec.scalars.length / 4));
  const uniformData = new ArrayBuffer(16 * (nd + ns + 1));
  new Uint32Array(uniformData, 0, 4 * nd).set(dims);
  new Float32Array(uniformData, 16 * nd, 4 * ns).set(scalars);
  new Uint32Array(uniformData, 16 * (nd + ns), 4).set([SEED % 2 ** 32, Math.floor(SEED / 2 ** 32), 0, 0]);
  const uniforms = device.createBuffer({ size: uniformData.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniforms, 0, uniformData);
  const buffers = arrays.map((a) => {
    const b = device.createBuffer({ size: Math.max(16, a.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    if (a.byteLength > 0) device.queue.writeBuffer(b, 0, a);
    return b;
  });
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
      ...writes.map((w, i) => ({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: w ? ("storage" as const) : ("read-only-storage" as const) } })),
    ],
  });
  const pipeline = device.createComputePipeline({ layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module: device.createShaderModule({ code: kernel.code }), entryPoint: "main" } });
  const bindGroup = device.createBindGroup({ layout, entries: [uniforms, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const size = kernel.invocations.shape.reduce<number>((p, d) => p * (typeof d === "number" ? d : dims[spec.dims.indexOf(d)]!), 1);
  const invocations = Math.ceil(size / kernel.invocations.perInvocation);
  const staging = arrays.map((a) => device.createBuffer({ size: Math.max(16, a.byteLength), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  if (invocations > 0) pass.dispatchWorkgroups(Math.ceil(invocations / kernel.workgroupSize));
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
function close(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= 1e-5 * Math.abs(want) + 1e-7;
}

describe("every generated WGSL kernel compiles into a compute pipeline", () => {
  for (const c of cases) {
    it(c.name, async () => {
      let refusals = 0;
      for (const spec of Object.values(built.get(c.name)!.spec)) {
        expect(spec.wgsl?.length).toBe(spec.kernels.length);
        for (const k of spec.wgsl!) {
          const code = codeOf(k);
          if (code === undefined) refusals++;
          else expect({ kernel: k.name, errors: await compile(code) }).toEqual({ kernel: k.name, errors: [] });
        }
      }
      expect(refusals).toBe(refusedCount[c.name] ?? 0);
      const all = Object.values(built.get(c.name)!.spec).flatMap((spec) => spec.wgsl!.map(codeOf));
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
          if (codeOf(spec.wgsl![k]!) === undefined) continue;
          const args = kernelArgs(spec, k);
          const arrays = arguments_(args, c.dims, random);
          const cpu = arrays.map((a) => a.slice());
          spec.kernels[k]!(dims, scalars, SEED, ...cpu);
          const gpu = await runWgsl(spec.wgsl![k]!, spec, dims, scalars, arrays);
          const label = `${spec.wgsl![k]!.name}`;
          args.forEach((b, i) => {
            const want = cpu[i]!;
            const got = gpu[i]!;
            const bad = [...want.keys()].filter((j) => (b.dtype === "f32" ? !close(got[j]!, want[j]!) : got[j] !== want[j]));
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
  it("refuses a kernel that would bind more than 7 storage buffers, naming it, and keeps its CPU kernel", async () => {
    const src = `fn wide(a: f32[N], b: f32[N], c: f32[N], d: f32[N], e: f32[N], f: f32[N], g: f32[N], h: f32[N]) -> f32[N] { return a + b + c + d + e + f + g + h }`;
    const { mod } = await buildModule(src);
    const spec = mod["wide"].spec as FunctionSpec;
    expect(() => spec.wgsl![0]!.code).toThrow(/kernel wide_k0 \(main\.est:1\) needs 9 storage buffers/);
    const ones = new Float32Array(3).fill(1);
    const out = new Float32Array(3);
    spec.kernels[0]!(Int32Array.from([3]), new Float64Array(0), 0, ...Array.from({ length: 8 }, () => ones), out);
    expect(Array.from(out)).toEqual([8, 8, 8]);
  });
});
