/**
 * Hand-written FunctionSpecs — the plans a generated module would carry, with kernels written
 * out by hand — for the runtime tests that must not depend on the compiler (execute, memory,
 * call validation), and the helpers those tests share.
 */
import { expect } from "vitest";
import { runPlan, type CpuDevice, type CpuKernel, type FunctionSpec, type Tensor } from "../../runtime/index.js";

export const withCode = (code: string) => expect.objectContaining({ code });

/** The expected rejection of a call: its code and (part of) its message. */
export async function rejects(call: () => Promise<unknown>, code: string, message: string): Promise<void> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toEqual(withCode(code));
  expect((error as Error).message).toContain(message);
}

export const values = (t: Tensor) => [...t.dataSync()];

/** `runPlan` of a spec's forward plan with one named input and no dims, scalars or seed. */
export function runForward(spec: FunctionSpec, name: string, input: Tensor, device: CpuDevice): Tensor[] {
  return runPlan(spec, spec.forward, new Map([[name, input]]), new Int32Array(0), new Float64Array(0), 0, device);
}

// ---------------------------------------------------------------------------------------------
// y = relu(x) * s, x: f32[B, N], s: f32 = 2.0

/** Arguments each kernel call saw, so tests can look at dims, scalars, seed and buffers. */
export const seen: { dims: number[]; scalars: number[]; seed: number }[] = [];

const reluScaleForward: CpuKernel = (dims, scalars, seed, x, y) => {
  seen.push({ dims: [...dims], scalars: [...scalars], seed });
  const s = scalars[0]!;
  for (let i = 0; i < dims[0]! * dims[1]!; i++) y![i] = Math.max(x![i]!, 0) * s;
};

const reluScaleBackward: CpuKernel = (dims, scalars, _seed, x, ct, gx) => {
  const s = scalars[0]!;
  for (let i = 0; i < dims[0]! * dims[1]!; i++) gx![i] = x![i]! > 0 ? ct![i]! * s : 0;
};

export const reluScale: FunctionSpec = {
  name: "relu_scale",
  source: "test.est:1",
  inputs: [{ name: "x", dtype: "f32", shape: ["B", "N"] }],
  scalars: [{ name: "s", dtype: "f32", default: 2.0 }],
  dims: ["B", "N"],
  outputs: [{ dtype: "f32", shape: ["B", "N"] }],
  tuple: false,
  gradInputs: ["x"],
  kernels: [reluScaleForward, reluScaleBackward],
  forward: {
    buffers: [
      { dtype: "f32", shape: ["B", "N"] },
      { dtype: "f32", shape: ["B", "N"] },
    ],
    inputs: [{ name: "x", buffer: 0 }],
    outputs: [1],
    steps: [{ op: "kernel", kernel: 0, args: [0, 1] }],
  },
  vjp: {
    buffers: [
      { dtype: "f32", shape: ["B", "N"] },
      { dtype: "f32", shape: ["B", "N"] },
      { dtype: "f32", shape: ["B", "N"] },
    ],
    inputs: [
      { name: "x", buffer: 0 },
      { name: "$ct0", buffer: 1 },
    ],
    outputs: [2],
    steps: [{ op: "kernel", kernel: 1, args: [0, 1, 2] }],
  },
};

// ---------------------------------------------------------------------------------------------
// y = sum(x * x), x: f32[N]: a scalar result, so it has valueAndGrad

export const sumSquares: FunctionSpec = {
  name: "sum_squares",
  source: "test.est:5",
  inputs: [{ name: "x", dtype: "f32", shape: ["N"] }],
  scalars: [],
  dims: ["N"],
  outputs: [{ dtype: "f32", shape: [] }],
  tuple: false,
  gradInputs: ["x"],
  kernels: [
    (dims, _s, _seed, x, y) => {
      let sum = 0;
      for (let i = 0; i < dims[0]!; i++) sum += x![i]! * x![i]!;
      y![0] = sum;
    },
    (dims, _s, _seed, x, ct, gx) => {
      for (let i = 0; i < dims[0]!; i++) gx![i] = 2 * x![i]! * ct![0]!;
    },
    (dims, _s, _seed, x, y, gx) => {
      let sum = 0;
      for (let i = 0; i < dims[0]!; i++) {
        sum += x![i]! * x![i]!;
        gx![i] = 2 * x![i]!;
      }
      y![0] = sum;
    },
  ],
  forward: {
    buffers: [
      { dtype: "f32", shape: ["N"] },
      { dtype: "f32", shape: [] },
    ],
    inputs: [{ name: "x", buffer: 0 }],
    outputs: [1],
    steps: [{ op: "kernel", kernel: 0, args: [0, 1] }],
  },
  vjp: {
    buffers: [
      { dtype: "f32", shape: ["N"] },
      { dtype: "f32", shape: [] },
      { dtype: "f32", shape: ["N"] },
    ],
    inputs: [
      { name: "x", buffer: 0 },
      { name: "$ct0", buffer: 1 },
    ],
    outputs: [2],
    steps: [{ op: "kernel", kernel: 1, args: [0, 1, 2] }],
  },
  valueAndGrad: {
    buffers: [
      { dtype: "f32", shape: ["N"] },
      { dtype: "f32", shape: [] },
      { dtype: "f32", shape: ["N"] },
    ],
    inputs: [{ name: "x", buffer: 0 }],
    outputs: [1, 2],
    steps: [{ op: "kernel", kernel: 2, args: [0, 1, 2] }],
  },
};

// ---------------------------------------------------------------------------------------------
// binary_dense(x: f32[B, I], w: f32[I, O], o: f32 = 3.0) -> f32[B, O] = x @ w, with its vjp
// written with structural steps only: gx = ct @ wᵀ, gw = xᵀ @ ct.

export const binaryDense: FunctionSpec = {
  name: "binary_dense",
  source: "test.est:9",
  inputs: [
    { name: "x", dtype: "f32", shape: ["B", "I"] },
    { name: "w", dtype: "f32", shape: ["I", "O"] },
  ],
  scalars: [{ name: "o", dtype: "f32", default: 3.0 }],
  dims: ["B", "I", "O"],
  outputs: [{ dtype: "f32", shape: ["B", "O"] }],
  tuple: false,
  gradInputs: ["x", "w"],
  kernels: [],
  forward: {
    buffers: [
      { dtype: "f32", shape: ["B", "I"] },
      { dtype: "f32", shape: ["I", "O"] },
      { dtype: "f32", shape: ["B", "O"] },
    ],
    inputs: [
      { name: "x", buffer: 0 },
      { name: "w", buffer: 1 },
    ],
    outputs: [2],
    steps: [{ op: "matmul", a: 0, b: 1, out: 2 }],
  },
  vjp: {
    buffers: [
      { dtype: "f32", shape: ["B", "I"] }, // 0 x
      { dtype: "f32", shape: ["I", "O"] }, // 1 w
      { dtype: "f32", shape: ["B", "O"] }, // 2 ct
      { dtype: "f32", shape: ["O", "I"] }, // 3 wᵀ
      { dtype: "f32", shape: ["B", "I"] }, // 4 gx
      { dtype: "f32", shape: ["I", "B"] }, // 5 xᵀ
      { dtype: "f32", shape: ["I", "O"] }, // 6 gw
    ],
    inputs: [
      { name: "x", buffer: 0 },
      { name: "w", buffer: 1 },
      { name: "$ct0", buffer: 2 },
    ],
    outputs: [4, 6],
    steps: [
      { op: "transpose", x: 1, out: 3, perm: [1, 0] },
      { op: "matmul", a: 2, b: 3, out: 4 },
      { op: "transpose", x: 0, out: 5, perm: [1, 0] },
      { op: "matmul", a: 5, b: 2, out: 6 },
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// embed(table: f32[V, D], idx: i32[K]) -> f32[K, D] = gather(table, idx), vjp by gather_grad

export const embed: FunctionSpec = {
  name: "embed",
  source: "test.est:14",
  inputs: [
    { name: "table", dtype: "f32", shape: ["V", "D"] },
    { name: "idx", dtype: "i32", shape: ["K"] },
  ],
  scalars: [],
  dims: ["V", "D", "K"],
  outputs: [{ dtype: "f32", shape: ["K", "D"] }],
  tuple: false,
  gradInputs: ["table"],
  kernels: [],
  forward: {
    buffers: [
      { dtype: "f32", shape: ["V", "D"] },
      { dtype: "i32", shape: ["K"] },
      { dtype: "f32", shape: ["K", "D"] },
    ],
    inputs: [
      { name: "table", buffer: 0 },
      { name: "idx", buffer: 1 },
    ],
    outputs: [2],
    steps: [{ op: "gather", x: 0, idx: 1, out: 2, axis: 0 }],
  },
  vjp: {
    buffers: [
      { dtype: "i32", shape: ["K"] },
      { dtype: "f32", shape: ["K", "D"] },
      { dtype: "f32", shape: ["V", "D"] },
    ],
    inputs: [
      { name: "idx", buffer: 0 },
      { name: "$ct0", buffer: 1 },
    ],
    outputs: [2],
    steps: [{ op: "gather_grad", ct: 1, idx: 0, out: 2, axis: 0 }],
  },
};
