/**
 * Call validation over hand-written FunctionSpecs (tests/helpers/specs.ts): inputs, shapes,
 * dtypes, options and cotangents, each mistake an EstcRuntimeError with its code and a message
 * that names the fn, the input, what was expected and what came.
 */
import { describe, expect, it } from "vitest";
import { type CpuDevice, type Tensor, createCpuDevice, defineFunction, tensor } from "../../runtime/index.js";
import { rejects, seen, reluScale, binaryDense } from "../helpers/specs.js";

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
      "binary_dense: unknown option 'sed' (did you mean 'seed'?); the options are 'device', 'seed', 'wrt', 'checkNumerics' and the scalars 'o'",
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
      "binary_dense: the cotangent: expected f32[B=2, O=5], got f32[2, 4]",
    );
    await rejects(
      () => dense.vjp({ x, w }, tensor(new Int32Array(10), [2, 5])),
      "E6014",
      "the cotangent: expected f32[B=2, O=5], got i32[2, 5]",
    );
    await rejects(
      () => dense.vjp({ x, w }, undefined as never),
      "E6014",
      "the cotangent: expected f32[B=2, O=5], got undefined",
    );
  });

  it("E6015: a device whose back end is not wired yet, or an object that only names a kind", async () => {
    await rejects(
      call({ x, w }, { device: { kind: "webgpu" } }),
      "E6015",
      "binary_dense: option 'device' has kind 'webgpu' but is not a device",
    );
    await rejects(
      call({ x, w }, { device: { kind: "wasm" } }),
      "E6015",
      "binary_dense: the wasm back end is not available yet",
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
