/**
 * Shared pieces of the WebGPU tests: the device (no silent skip — without an adapter every test
 * fails with the doctor's explanation), seeded random tensors, one-step specs for the structural
 * kernels, and a hand-written fused FunctionSpec whose WGSL follows the contract in
 * runtime/plan.ts, so the executor is tested without the WGSL code generator.
 */
import type { CpuKernel, EntryPlan, FunctionSpec, Step, WgslKernel } from "../../runtime/plan.js";
import { tensor, type DType, type Tensor } from "../../runtime/tensor.js";
import { webgpu, type WebGpuDevice } from "../../runtime/webgpu/device.js";
import { mulberry32 } from "../helpers/random.js";

/** Opens the device the tests run on; E6015 (with every attempt's reason) when there is none. */
export function openDevice(): Promise<WebGpuDevice> {
  return webgpu();
}

/** A seeded generator (mulberry32), so a failure reproduces. */
export const rng = mulberry32;

/** An f32 tensor of uniform values in [-1, 1). */
export function randomTensor(shape: number[], random: () => number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float32Array.from({ length: n }, () => random() * 2 - 1), shape);
}

/** An i32 tensor of indices in [0, size). */
export function randomIndices(shape: number[], size: number, random: () => number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Int32Array.from({ length: n }, () => Math.floor(random() * size)), shape);
}

const emptyPlan: EntryPlan = { buffers: [], inputs: [], outputs: [], steps: [] };

/**
 * A fn of one structural step over literal shapes: inputs are buffers 0…, the result the last
 * buffer. Run on the cpu it calls runtime/kernels.ts, on webgpu the library shaders.
 */
export function stepSpec(
  name: string,
  inputs: { name: string; dtype: DType; shape: number[] }[],
  out: { dtype: DType; shape: number[] },
  step: (out: number) => Step,
): FunctionSpec {
  const o = inputs.length;
  const forward: EntryPlan = {
    buffers: [...inputs.map((i) => ({ dtype: i.dtype, shape: i.shape })), out],
    inputs: inputs.map((i, b) => ({ name: i.name, buffer: b })),
    outputs: [o],
    steps: [step(o)],
  };
  return {
    name,
    source: `tests/webgpu/${name}.est:1`,
    inputs,
    scalars: [],
    dims: [],
    outputs: [out],
    tuple: false,
    gradInputs: [],
    kernels: [],
    wgsl: [],
    forward,
    vjp: emptyPlan,
  };
}

/** The uniform block of the contract for 4 dims and 1 scalar: dims [B, I, O, K], scalars [o]. */
const uniforms = `struct Uniforms { dims: array<vec4<u32>, 1>, scalars: array<vec4<f32>, 1>, seed: vec4<u32> }
@group(0) @binding(0) var<uniform> u: Uniforms;`;

const linear = (size: number) => `@compute @workgroup_size(${size})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * (nwg.x * ${size}u);`;

/** k0: out = a * b over [I, O] (the N:M prune and the masking of its gradient). */
const mulWgsl: WgslKernel = {
  name: "ste_layer_k0",
  workgroupSize: 64,
  invocations: { shape: ["I", "O"], perInvocation: 1 },
  code: `${uniforms}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linear(64)}
  if (i >= u.dims[0][1] * u.dims[0][2]) { return; }
  out[i] = a[i] * b[i];
}
`,
};

/** k1: y = sign(o * h) and the residual keep = |o * h| <= 1 as packed bits, 32 elements per invocation. */
const steForwardWgsl: WgslKernel = {
  name: "ste_layer_k1",
  workgroupSize: 32,
  invocations: { shape: ["B", "O"], perInvocation: 32 },
  code: `${uniforms}
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> keep: array<u32>;
${linear(32)}
  let n = u.dims[0][0] * u.dims[0][2];
  if (i * 32u >= n) { return; }
  var bits = 0u;
  for (var j = 0u; j < 32u; j = j + 1u) {
    let e = i * 32u + j;
    if (e < n) {
      let v = h[e] * u.scalars[0][0];
      y[e] = sign(v);
      if (abs(v) <= 1.0) { bits = bits | (1u << j); }
    }
  }
  keep[i] = bits;
}
`,
};

/** k2: dh = keep ? o * dy : 0 (the clipped straight-through estimator's backward). */
const steBackwardWgsl: WgslKernel = {
  name: "ste_layer_k2",
  workgroupSize: 64,
  invocations: { shape: ["B", "O"], perInvocation: 1 },
  code: `${uniforms}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> keep: array<u32>;
@group(0) @binding(3) var<storage, read_write> dh: array<f32>;
${linear(64)}
  if (i >= u.dims[0][0] * u.dims[0][2]) { return; }
  let kept = (keep[i / 32u] >> (i % 32u)) & 1u;
  dh[i] = select(0.0, dy[i] * u.scalars[0][0], kept == 1u);
}
`,
};

type F = Float32Array;
const dimsOf = (d: Int32Array) => ({ B: d[0]!, I: d[1]!, O: d[2]! });
/** The same three kernels in TypeScript, as the CPU back end runs them (f32 rounding throughout). */
const cpuKernels: CpuKernel[] = [
  (d, _s, _seed, a, b, out) => {
    const { I, O } = dimsOf(d);
    for (let i = 0; i < I * O; i++) (out as F)[i] = Math.fround((a as F)[i]! * (b as F)[i]!);
  },
  (d, s, _seed, h, y, keep) => {
    const { B, O } = dimsOf(d);
    const o = Math.fround(s[0]!);
    (keep as Int32Array).fill(0);
    for (let e = 0; e < B * O; e++) {
      const v = Math.fround((h as F)[e]! * o);
      (y as F)[e] = Math.sign(v);
      if (Math.abs(v) <= 1) (keep as Int32Array)[e >>> 5]! |= 1 << (e & 31);
    }
  },
  (d, s, _seed, dy, keep, dh) => {
    const { B, O } = dimsOf(d);
    const o = Math.fround(s[0]!);
    for (let e = 0; e < B * O; e++) {
      const kept = ((keep as Int32Array)[e >>> 5]! >>> (e & 31)) & 1;
      (dh as F)[e] = kept ? Math.fround((dy as F)[e]! * o) : 0;
    }
  },
];

/**
 * `ste_layer(x: f32[B, I], w: f32[I, O], idx: i32[K], o = 2) -> f32[K, B, 1]`:
 * h = x @ (w * nm_mask(w, 2, 4)); y = sign(o h) with a clipped straight-through backward;
 * result gather(transpose(y), idx)[..., newaxis]. Every step kind appears in its plans.
 */
export function steLayerSpec(): FunctionSpec {
  const f32 = (...shape: (string | number)[]) => ({ dtype: "f32" as const, shape });
  const forwardBuffers = [
    f32("B", "I"), // 0 x
    f32("I", "O"), // 1 w
    { dtype: "i32" as const, shape: ["K"] }, // 2 idx
    f32("I", "O"), // 3 nm mask
    f32("I", "O"), // 4 wp = w * mask
    f32("B", "O"), // 5 h
    f32("B", "O"), // 6 y
    { dtype: "bool" as const, shape: ["B", "O"], packed: true }, // 7 keep
    f32("O", "B"), // 8 yᵀ
    f32("K", "B"), // 9 gathered
    f32("K", "B", 1), // 10 result
  ];
  const forwardSteps: Step[] = [
    { op: "nm_mask", w: 1, out: 3, n: 2, m: 4 },
    { op: "kernel", kernel: 0, args: [1, 3, 4] },
    { op: "matmul", a: 0, b: 4, out: 5 },
    { op: "kernel", kernel: 1, args: [5, 6, 7] },
    { op: "transpose", x: 6, out: 8, perm: [1, 0] },
    { op: "gather", x: 8, idx: 2, out: 9, axis: 0 },
    { op: "alias", x: 9, out: 10 },
  ];
  const inputs = [
    { name: "x", buffer: 0 },
    { name: "w", buffer: 1 },
    { name: "idx", buffer: 2 },
  ];
  /** The backward from buffers (x, w, idx, keep, wp, ct) numbered from `base`. */
  const backward = (x: number, w: number, idx: number, keep: number, wp: number, ct: number, base: number) => {
    const b = (k: number) => base + k;
    return {
      buffers: [
        f32("K", "B"), // b0 ct without its last axis
        f32("O", "B"), // b1 dyᵀ
        f32("B", "O"), // b2 dy
        f32("B", "O"), // b3 dh
        f32("O", "I"), // b4 wpᵀ
        f32("B", "I"), // b5 dx
        f32("I", "B"), // b6 xᵀ
        f32("I", "O"), // b7 dwp
        f32("I", "O"), // b8 nm mask
        f32("I", "O"), // b9 dw
      ],
      steps: [
        { op: "alias", x: ct, out: b(0) },
        { op: "gather_grad", ct: b(0), idx, out: b(1), axis: 0 },
        { op: "transpose", x: b(1), out: b(2), perm: [1, 0] },
        { op: "kernel", kernel: 2, args: [b(2), keep, b(3)] },
        { op: "transpose", x: wp, out: b(4), perm: [1, 0] },
        { op: "matmul", a: b(3), b: b(4), out: b(5) },
        { op: "transpose", x, out: b(6), perm: [1, 0] },
        { op: "matmul", a: b(6), b: b(3), out: b(7) },
        { op: "nm_mask", w, out: b(8), n: 2, m: 4 },
        { op: "kernel", kernel: 0, args: [b(7), b(8), b(9)] },
      ] as Step[],
      outputs: [b(5), b(9)],
    };
  };
  const vjpBack = backward(0, 1, 2, 7, 4, 8, 9);
  const vjp: EntryPlan = {
    buffers: [...forwardBuffers.slice(0, 8), f32("K", "B", 1), ...vjpBack.buffers],
    inputs: [...inputs, { name: "$ct0", buffer: 8 }],
    outputs: vjpBack.outputs,
    steps: [...forwardSteps.slice(0, 4), ...vjpBack.steps],
  };
  const pullBack = backward(0, 1, 2, 3, 4, 5, 6);
  const pullback: EntryPlan = {
    buffers: [f32("B", "I"), f32("I", "O"), { dtype: "i32", shape: ["K"] }, forwardBuffers[7]!, f32("I", "O"), f32("K", "B", 1), ...pullBack.buffers],
    inputs: [...inputs, { name: "$res0", buffer: 3 }, { name: "$res1", buffer: 4 }, { name: "$ct0", buffer: 5 }],
    outputs: pullBack.outputs,
    steps: pullBack.steps,
  };
  return {
    name: "ste_layer",
    source: "tests/webgpu/ste_layer.est:3",
    inputs: [
      { name: "x", dtype: "f32", shape: ["B", "I"] },
      { name: "w", dtype: "f32", shape: ["I", "O"] },
      { name: "idx", dtype: "i32", shape: ["K"] },
    ],
    scalars: [{ name: "o", dtype: "f32", default: 2 }],
    dims: ["B", "I", "O", "K"],
    outputs: [f32("K", "B", 1)],
    tuple: false,
    gradInputs: ["x", "w"],
    kernels: cpuKernels,
    wgsl: [mulWgsl, steForwardWgsl, steBackwardWgsl],
    forward: { buffers: forwardBuffers, inputs, outputs: [10], steps: forwardSteps },
    vjp,
    forwardWithResiduals: { buffers: forwardBuffers, inputs, outputs: [10, 7, 4], steps: forwardSteps },
    pullback,
  };
}

/**
 * `probe(t: f32[A, B, C, D, E], s0…s4) -> i32[12]`: one invocation writes back the dims, the
 * scalars' bits and the seed words it finds in the uniform block (5 dims and 5 scalars span two
 * vec4s each), so the packing is checked word for word.
 */
export function probeSpec(): FunctionSpec {
  const code = `struct Uniforms { dims: array<vec4<u32>, 2>, scalars: array<vec4<f32>, 2>, seed: vec4<u32> }
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
${linear(1)}
  if (i >= 1u) { return; }
  for (var k = 0u; k < 5u; k = k + 1u) {
    out[k] = i32(u.dims[k / 4u][k % 4u]);
    out[5u + k] = bitcast<i32>(u.scalars[k / 4u][k % 4u]);
  }
  out[10] = bitcast<i32>(u.seed.x);
  out[11] = bitcast<i32>(u.seed.y);
}
`;
  const dims = ["A", "B", "C", "D", "E"];
  return {
    name: "probe",
    source: "tests/webgpu/probe.est:1",
    inputs: [{ name: "t", dtype: "f32", shape: dims }],
    scalars: [0, 1, 2, 3, 4].map((k) => ({ name: `s${k}`, dtype: "f32" as const, default: k + 0.5 })),
    dims,
    outputs: [{ dtype: "i32", shape: [12] }],
    tuple: false,
    gradInputs: [],
    kernels: [() => undefined],
    wgsl: [{ name: "probe_k0", code, workgroupSize: 1, invocations: { shape: [12], perInvocation: 12 } }],
    forward: {
      buffers: [{ dtype: "f32", shape: dims }, { dtype: "i32", shape: [12] }],
      inputs: [{ name: "t", buffer: 0 }],
      outputs: [1],
      steps: [{ op: "kernel", kernel: 0, args: [0, 1] }],
    },
    vjp: emptyPlan,
  };
}

/** Reads any tensor (cpu or device) as a plain number array. */
export async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}
