/**
 * runPlan and defineFunction over hand-written FunctionSpecs (tests/helpers/specs.ts): forward,
 * vjp and valueAndGrad, reductions and the structural steps, without the compiler.
 */
import { describe, expect, it } from "vitest";
import { type FunctionSpec, type Tensor, createCpuDevice, defineFunction, tensor } from "../../runtime/index.js";
import { rejects, values, seen, reluScale, sumSquares, binaryDense, embed, runForward } from "../helpers/specs.js";

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
      "the cotangent: expected f32[B=2, N=3], got f32[1]",
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
      "sum_squares: unknown option 's'; the options are 'device', 'seed', 'wrt', 'checkNumerics'; it has no scalars",
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
    const [mask] = runForward(spec, "w", w, device);
    expect(mask!.shape).toEqual([8]);
    expect(values(mask!)).toEqual([0, 1, 0, 0, 0, 0, 1, 0]);
    expect(device.memory.bytesAllocated).toBe(32);
    mask!.dispose();
    expect(device.memory.bytesAllocated).toBe(0);
  });
});
