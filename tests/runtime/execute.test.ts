/**
 * runPlan and defineFunction over hand-written FunctionSpecs: the plans a generated module
 * would carry, with kernels written out by hand, so these tests do not depend on the compiler.
 */
import { describe, expect, it } from "vitest";
import {
  type CpuDevice,
  type CpuKernel,
  type FunctionSpec,
  type Tensor,
  createCpuDevice,
  defineFunction,
  runPlan,
  tensor,
} from "../../runtime/index.js";

const withCode = (code: string) => expect.objectContaining({ code });

/** The expected rejection of a call: its code and (part of) its message. */
async function rejects(call: () => Promise<unknown>, code: string, message: string): Promise<void> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toEqual(withCode(code));
  expect((error as Error).message).toContain(message);
}

const values = (t: Tensor) => [...t.dataSync()];

// ---------------------------------------------------------------------------------------------
// y = relu(x) * s, x: f32[B, N], s: f32 = 2.0

/** Arguments each kernel call saw, so tests can look at dims, scalars, seed and buffers. */
const seen: { dims: number[]; scalars: number[]; seed: number }[] = [];

const reluScaleForward: CpuKernel = (dims, scalars, seed, x, y) => {
  seen.push({ dims: [...dims], scalars: [...scalars], seed });
  const s = scalars[0]!;
  for (let i = 0; i < dims[0]! * dims[1]!; i++) y![i] = Math.max(x![i]!, 0) * s;
};

const reluScaleBackward: CpuKernel = (dims, scalars, _seed, x, ct, gx) => {
  const s = scalars[0]!;
  for (let i = 0; i < dims[0]! * dims[1]!; i++) gx![i] = x![i]! > 0 ? ct![i]! * s : 0;
};

const reluScale: FunctionSpec = {
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

const sumSquares: FunctionSpec = {
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

const binaryDense: FunctionSpec = {
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

const embed: FunctionSpec = {
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

describe("forward, vjp and valueAndGrad of relu(x) * s", () => {
  const f = defineFunction<"x", "s", Tensor>(reluScale);
  const x = tensor([-1, 2, 0, 3, -4, 0.5], [2, 3]);

  it("runs the forward with the scalar's default, the dims in spec order and seed 0", async () => {
    seen.length = 0;
    const y = await f.forward({ x });
    expect(y.shape).toEqual([2, 3]);
    expect(values(y)).toEqual([0, 4, 0, 6, 0, 1]);
    expect(seen).toEqual([{ dims: [2, 3], scalars: [2], seed: 0 }]);
  });

  it("passes scalar options and the seed to the kernels", async () => {
    seen.length = 0;
    const y = await f.forward({ x }, { s: 0.5, seed: 42 });
    expect(values(y)).toEqual([0, 1, 0, 1.5, 0, 0.25]);
    expect(seen).toEqual([{ dims: [2, 3], scalars: [0.5], seed: 42 }]);
  });

  it("vjp gives ct * s where x > 0, keyed by gradInputs", async () => {
    const ct = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const grads = await f.vjp({ x }, ct, { s: 3 });
    expect(Object.keys(grads)).toEqual(["x"]);
    expect(grads["x"]!.shape).toEqual([2, 3]);
    expect(values(grads["x"]!)).toEqual([0, 6, 0, 12, 0, 18]);
    // A one-element array is the same single cotangent.
    expect(values((await f.vjp({ x }, [ct], { s: 3 }))["x"]!)).toEqual([0, 6, 0, 12, 0, 18]);
  });

  it("vjpFn returns the forward result and a pullback that agrees with vjp", async () => {
    const { out, pullback } = await f.vjpFn({ x }, { s: 2 });
    expect(values(out)).toEqual([0, 4, 0, 6, 0, 1]);
    const ct = tensor([1, 1, 1, 1, 1, 1], [2, 3]);
    expect(values((await pullback(ct))["x"]!)).toEqual([0, 2, 0, 2, 0, 2]);
    await rejects(
      () => pullback(tensor([1], [1])),
      "E6014",
      "cotangent 0: expected f32[B=2, N=3], got f32[1]",
    );
  });

  it("refuses valueAndGrad for a non-scalar result with E6009", async () => {
    await rejects(
      () => f.valueAndGrad({ x }),
      "E6009",
      "relu_scale: valueAndGrad needs a scalar result; relu_scale returns f32[B, N]",
    );
  });
});

describe("sum(x * x)", () => {
  const f = defineFunction<"x", never, Tensor>(sumSquares);
  const x = tensor([1, -2, 3], [3]);

  it("forward gives a rank-0 tensor", async () => {
    const y = await f.forward({ x });
    expect(y.shape).toEqual([]);
    expect(values(y)).toEqual([14]);
  });

  it("valueAndGrad gives the value and 2x", async () => {
    const { value, grads } = await f.valueAndGrad({ x });
    expect(values(value)).toEqual([14]);
    expect(values(grads["x"]!)).toEqual([2, -4, 6]);
  });

  it("vjp scales 2x by the cotangent", async () => {
    const grads = await f.vjp({ x }, tensor([0.5], []));
    expect(values(grads["x"]!)).toEqual([1, -2, 3]);
  });

  it("rejects options on a fn without scalars, saying it has none", async () => {
    await rejects(
      () => f.forward({ x }, { s: 1 } as never),
      "E6012",
      "sum_squares: unknown option 's'; the options are 'device', 'seed', 'wrt'; it has no scalars",
    );
  });
});

describe("plans of structural steps", () => {
  const dense = defineFunction<"x" | "w", "o", Tensor>(binaryDense);

  it("matmul: x @ w, and the vjp ct @ wᵀ and xᵀ @ ct against the closed form", async () => {
    const xs = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5]);
    const ws = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [5, 3]);
    const y = await dense.forward({ x: xs, w: ws });
    expect(values(y)).toEqual([135, 150, 165, 310, 350, 390]);
    const ct = tensor([1, 0, 2, 0, 1, 1], [2, 3]);
    const grads = await dense.vjp({ x: xs, w: ws }, ct);
    // gx[b, i] = Σ_o ct[b, o] w[i, o];  gw[i, o] = Σ_b x[b, i] ct[b, o]
    expect(values(grads["x"]!)).toEqual([7, 16, 25, 34, 43, 5, 11, 17, 23, 29]);
    expect(values(grads["w"]!)).toEqual([1, 6, 8, 2, 7, 11, 3, 8, 14, 4, 9, 17, 5, 10, 20]);
    expect(Object.keys(grads)).toEqual(["x", "w"]);
  });

  it("gather and gather_grad: an embedding lookup and its scatter-add gradient", async () => {
    const f = defineFunction<"table" | "idx", never, Tensor>(embed);
    const table = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const idx = tensor([2, 0, 2], [3], "i32");
    expect(values(await f.forward({ table, idx }))).toEqual([5, 6, 1, 2, 5, 6]);
    const grads = await f.vjp({ table, idx }, tensor([1, 1, 1, 1, 1, 1], [3, 2]));
    expect(values(grads["table"]!)).toEqual([1, 1, 0, 0, 2, 2]);
  });

  it("nm_mask and an alias step", () => {
    const spec: FunctionSpec = {
      ...reluScale,
      name: "prune",
      inputs: [{ name: "w", dtype: "f32", shape: [2, 4] }],
      scalars: [],
      dims: [],
      outputs: [{ dtype: "f32", shape: [8] }],
      kernels: [],
      forward: {
        buffers: [
          { dtype: "f32", shape: [2, 4] },
          { dtype: "f32", shape: [2, 4] },
          { dtype: "f32", shape: [8] },
        ],
        inputs: [{ name: "w", buffer: 0 }],
        outputs: [2],
        steps: [
          { op: "nm_mask", w: 0, out: 1, n: 1, m: 4 },
          { op: "alias", x: 1, out: 2 },
        ],
      },
    };
    const device = createCpuDevice();
    const w = tensor([1, -3, 2, 0, 0, 0, 5, 5], [2, 4]);
    const [mask] = runPlan(
      spec,
      spec.forward,
      new Map([["w", w]]),
      new Int32Array(0),
      new Float64Array(0),
      0,
      device,
    );
    expect(mask!.shape).toEqual([8]);
    expect(values(mask!)).toEqual([0, 1, 0, 0, 0, 0, 1, 0]);
    expect(device.memory.bytesAllocated).toBe(32);
    mask!.dispose();
    expect(device.memory.bytesAllocated).toBe(0);
  });
});

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
    const [y] = runPlan(
      spec,
      spec.forward,
      new Map([["x", x]]),
      new Int32Array(0),
      new Float64Array(0),
      0,
      device,
    );
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
    const [a, b] = runPlan(
      spec,
      spec.forward,
      new Map([["x", x]]),
      new Int32Array(0),
      new Float64Array(0),
      0,
      device,
    );
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

describe("call validation", () => {
  const dense = defineFunction<"x" | "w", "o", Tensor>(binaryDense);
  const x = tensor(new Float32Array(6), [2, 3]);
  const w = tensor(new Float32Array(15), [3, 5]);
  const call = (inputs: Record<string, unknown>, options?: Record<string, unknown>) => () =>
    dense.forward(inputs as never, options as never);

  it("E6010: a missing input, with its declared type", async () => {
    await rejects(call({ x }), "E6010", "binary_dense: missing input 'w' (expected f32[I, O])");
    await rejects(
      call(undefined as never),
      "E6010",
      "binary_dense: inputs must be an object of tensors { x, w }, got undefined",
    );
  });

  it("E6011: an unknown input, with a did-you-mean when one is close", async () => {
    await rejects(
      call({ x, W: w }),
      "E6011",
      "binary_dense: unknown input 'W' (did you mean 'w'?); the inputs are 'x', 'w'",
    );
    await rejects(
      call({ x, w, bias: w }),
      "E6011",
      "binary_dense: unknown input 'bias'; the inputs are 'x', 'w'",
    );
  });

  it("E6005: a wrong dtype", async () => {
    const wi = tensor(new Int32Array(15), [3, 5]);
    await rejects(
      call({ x, w: wi }),
      "E6005",
      "binary_dense: input 'w': expected f32[I=3, O], got i32[3, 5]",
    );
  });

  it("E6007: a symbol bound to another size by an earlier input, a wrong rank, a wrong literal, a non-tensor", async () => {
    await rejects(
      call({ x, w: tensor(new Float32Array(20), [4, 5]) }),
      "E6007",
      "binary_dense: input 'w': expected f32[I=3, O], got f32[4, 5] — I is 3 from input 'x'",
    );
    await rejects(
      call({ x, w: tensor(new Float32Array(15), [3, 5, 1]) }),
      "E6007",
      "binary_dense: input 'w': expected f32[I=3, O], got f32[3, 5, 1] — rank 3, not 2",
    );
    await rejects(
      call({ x: [1, 2], w }),
      "E6007",
      "binary_dense: input 'x': expected f32[B, I], got an array of 2",
    );
    const square = defineFunction({
      ...reluScale,
      inputs: [{ name: "m", dtype: "f32", shape: ["N", "N", 4] }],
      dims: ["N"],
    });
    await rejects(
      () => square.forward({ m: tensor(new Float32Array(24), [2, 3, 4]) }),
      "E6007",
      "relu_scale: input 'm': expected f32[N, N, 4], got f32[2, 3, 4] — N is 2 from axis 0 of input 'm'",
    );
    await rejects(
      () => square.forward({ m: tensor(new Float32Array(12), [2, 2, 3]) }),
      "E6007",
      "input 'm': expected f32[N, N, 4], got f32[2, 2, 3] — dim 2 must be 4",
    );
  });

  it("E6004: a disposed input", async () => {
    const gone = tensor(new Float32Array(15), [3, 5]);
    gone.dispose();
    await rejects(
      call({ x, w: gone }),
      "E6004",
      "binary_dense: input 'w' was used after dispose()",
    );
  });

  it("E6012: an unknown option, listing the scalars", async () => {
    await rejects(
      call({ x, w }, { sed: 1 }),
      "E6012",
      "binary_dense: unknown option 'sed' (did you mean 'seed'?); the options are 'device', 'seed', 'wrt' and the scalars 'o'",
    );
    await rejects(
      call({ x, w }, { temperature: 1 }),
      "E6012",
      "unknown option 'temperature'; the options are",
    );
    await rejects(
      call({ x, w }, 3 as never),
      "E6012",
      "binary_dense: options must be an object, got 3",
    );
  });

  it("E6013: a scalar that is not a finite number of its dtype", async () => {
    await rejects(
      call({ x, w }, { o: NaN }),
      "E6013",
      "binary_dense: option 'o' must be a finite number (f32), got NaN",
    );
    await rejects(call({ x, w }, { o: Infinity }), "E6013", "got Infinity");
    await rejects(call({ x, w }, { o: "3" }), "E6013", 'got "3"');
    const counted = defineFunction({
      ...binaryDense,
      scalars: [{ name: "k", dtype: "i32", default: 1 }],
    });
    await rejects(
      () => counted.forward({ x, w }, { k: 1.5 }),
      "E6013",
      "option 'k' must be an integer in the i32 range, got 1.5",
    );
  });

  it("E6003: a seed that is not an integer in [0, 2^53)", async () => {
    for (const seed of [1.5, -1, 2 ** 53, NaN, "1"]) {
      await rejects(
        call({ x, w }, { seed }),
        "E6003",
        "binary_dense: seed must be an integer in [0, 2^53), got",
      );
    }
    await expect(call({ x, w }, { seed: 2 ** 53 - 1 })()).resolves.toBeDefined();
  });

  it("E6014: a cotangent count or shape that does not match the outputs", async () => {
    const ct = tensor(new Float32Array(10), [2, 5]);
    await expect(dense.vjp({ x, w }, ct)).resolves.toBeDefined();
    await rejects(
      () => dense.vjp({ x, w }, [ct, ct]),
      "E6014",
      "binary_dense: vjp takes 1 cotangent (one per output), got 2",
    );
    await rejects(
      () => dense.vjp({ x, w }, tensor(new Float32Array(8), [2, 4])),
      "E6014",
      "binary_dense: cotangent 0: expected f32[B=2, O=5], got f32[2, 4]",
    );
    await rejects(
      () => dense.vjp({ x, w }, tensor(new Int32Array(10), [2, 5])),
      "E6014",
      "cotangent 0: expected f32[B=2, O=5], got i32[2, 5]",
    );
    await rejects(
      () => dense.vjp({ x, w }, undefined as never),
      "E6014",
      "cotangent 0: expected f32[B=2, O=5], got undefined",
    );
  });

  it("E6015: a device whose back end is not wired yet", async () => {
    await rejects(
      call({ x, w }, { device: { kind: "webgpu" } }),
      "E6015",
      "binary_dense: the webgpu back end is not available yet",
    );
    await rejects(
      call({ x, w }, { device: "gpu" }),
      "E6015",
      "option 'device' must be a device such as cpu()",
    );
  });

  it("checks everything before any kernel runs", async () => {
    seen.length = 0;
    const f = defineFunction(reluScale);
    await rejects(() => f.forward({ x }, { s: NaN }), "E6013", "option 's'");
    expect(seen).toEqual([]);
  });

  it("accepts a device from createCpuDevice and allocates the result there", async () => {
    const device: CpuDevice = createCpuDevice();
    const y = await dense.forward({ x, w }, { device, o: 1 });
    expect(y.storage.kind === "cpu" && y.storage.device).toBe(device);
    expect(device.memory.bytesAllocated).toBe(40);
  });
});
