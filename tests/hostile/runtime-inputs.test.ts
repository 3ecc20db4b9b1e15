/**
 * Hostile runtime inputs (issue 17, items 7 and 12): typed arrays of dtypes the language does not
 * have, bool bytes that are not 0/1, malformed shapes and data, huge shapes, tensor-like objects
 * and fake devices. Each must be an EstcRuntimeError with its code and a message that says what
 * to do — never a silent reinterpretation (0.5 read as a bool), a NaN, a RangeError or a TypeError.
 */
import { describe, expect, it } from "vitest";
import {
  EstcRuntimeError,
  Tensor,
  cpu,
  defineFunction,
  scalar,
  tensor,
  zeros,
  type DType,
} from "../../runtime/index.js";
import { buildModule } from "../helpers/build.js";
import { binaryDense, rejects } from "../helpers/specs.js";

/** The error `make` throws, which must be an EstcRuntimeError with `code` and `message` in it. */
function throwsCode(make: () => unknown, code: string, message: string): void {
  let caught: unknown;
  try {
    make();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(EstcRuntimeError);
  expect((caught as EstcRuntimeError).code).toBe(code);
  expect((caught as Error).message).toContain(message);
}

describe("tensor() takes exactly the typed arrays of the three dtypes", () => {
  it("keeps Float32Array as f32, Int32Array as i32 and a 0/1 Uint8Array as bool, values unchanged", () => {
    const f = tensor(new Float32Array([0.5, -1, 3]), [3]);
    expect([f.dtype, [...f.dataSync()]]).toEqual(["f32", [0.5, -1, 3]]);
    const i = tensor(new Int32Array([7, -1, 2 ** 31 - 1]), [3]);
    expect([i.dtype, [...i.dataSync()]]).toEqual(["i32", [7, -1, 2 ** 31 - 1]]);
    const b = tensor(new Uint8Array([0, 1, 1]), [3]);
    expect([b.dtype, [...b.dataSync()]]).toEqual(["bool", [0, 1, 1]]);
  });

  it("E6021: a Float64Array is refused (it became bool [0, 255, 3]) with the conversion to write", () => {
    throwsCode(() => tensor(new Float64Array([0.5, -1, 3]) as never, [3]), "E6021", "got a Float64Array; convert it with Float32Array.from(x)");
    // The conversion the message names gives the values back (0.5, -1, 3 are exact in f32).
    expect([...tensor(Float32Array.from(new Float64Array([0.5, -1, 3])), [3]).dataSync()]).toEqual([0.5, -1, 3]);
  });

  it("E6021: every other typed array, each with a conversion that fits it", () => {
    const cases: [ArrayBufferView, string][] = [
      [new Int16Array([1, -1, 3]), "got a Int16Array; convert it with Int32Array.from(x)"],
      [new Int8Array([1, -1, 3]), "got a Int8Array; convert it with Int32Array.from(x)"],
      [new Uint16Array([1, 2, 3]), "got a Uint16Array; convert it with Int32Array.from(x)"],
      [new Uint32Array([1, 2, 3]), "got a Uint32Array; convert it with Int32Array.from(x)"],
      [new Uint8ClampedArray([0, 1, 1]), "got a Uint8ClampedArray; convert it with Float32Array.from(x)"],
      [new BigInt64Array(3), "got a BigInt64Array; convert it with Int32Array.from(x, Number)"],
      [new DataView(new ArrayBuffer(12)), "got a DataView"],
    ];
    for (const [data, message] of cases) throwsCode(() => tensor(data as never, [3]), "E6021", message);
  });

  it("E6021: a Uint8Array with a byte other than 0 or 1 is not a bool tensor", () => {
    throwsCode(() => tensor(new Uint8Array([0, 2, 1]), [3]), "E6021", "element 1 of the Uint8Array is 2");
  });

  it("E6021: data that is not an array, strings, holes; E6005 for an unknown dtype", () => {
    throwsCode(() => tensor(null as never, [2]), "E6021", "got null");
    throwsCode(() => tensor("ab" as never, [2]), "E6021", 'got "ab"');
    throwsCode(() => tensor({ length: 2, 0: 1, 1: 2 } as never, [2]), "E6021", "got a Object");
    throwsCode(() => tensor(["1", "2"] as never, [2]), "E6021", 'element 0 of the array is "1"');
    // eslint-disable-next-line no-sparse-arrays
    throwsCode(() => tensor([1, , 3] as never, [3]), "E6021", "element 1 of the array is a hole");
    throwsCode(() => scalar("1" as never), "E6021", 'element 0 of the array is "1"');
    throwsCode(() => tensor([1, 2], [2], "f64" as DType), "E6005", `dtype "f64" is not one of 'f32', 'i32', 'bool'`);
    throwsCode(() => zeros([2], "f16" as DType), "E6005", `dtype "f16" is not one of`);
  });

  it("E6002: a shape that is not an array of non-negative integers", () => {
    throwsCode(() => tensor([1, 2], 2 as never), "E6002", "a shape must be an array of dims such as [2, 3], got 2");
    throwsCode(() => tensor([1, 2], ["2"] as never), "E6002", 'dim 0 of shape ["2"] is "2"');
    throwsCode(() => zeros([-1]), "E6002", "dim 0 of shape [-1] is -1");
    throwsCode(() => zeros([1.5]), "E6002", "is 1.5");
    throwsCode(() => zeros([NaN]), "E6002", "is NaN");
    throwsCode(() => zeros([Infinity]), "E6002", "is Infinity");
  });

  it("E6017: a shape the JS heap cannot hold (it was a raw RangeError)", () => {
    throwsCode(() => zeros([1e10]), "E6017", "cannot allocate 10000000000 f32 elements (40000000000 bytes) on the cpu");
    throwsCode(() => zeros([1e5, 1e5], "i32"), "E6017", "cannot allocate 10000000000 i32 elements");
  });
});

describe("a CPU intermediate the JS heap cannot hold", () => {
  it("E6017 naming the fn and the buffer (it was a raw RangeError; WebGPU already gave E6017)", async () => {
    const { mod } = await buildModule(`fn outer(a: f32[N], b: f32[M]) -> f32[N, M] {
  return reshape(a, [N, 1]) * reshape(b, [1, M])
}
`);
    const a = tensor(new Float32Array(100_000), [100_000]);
    await rejects(
      () => mod["outer"].forward({ a, b: a }),
      "E6017",
      "outer (main.est:1): an intermediate f32[100000, 100000]: cannot allocate 10000000000 f32 elements",
    );
  });
});

describe("calls refuse tensor-like objects and fake devices", () => {
  const dense = defineFunction<"x" | "w", "o", Tensor>(binaryDense);
  const x = tensor(new Float32Array(6).fill(0.5), [2, 3]);
  const w = tensor(new Float32Array(15).fill(0.25), [3, 5]);
  const fake = (shape: number[], array: unknown, dtype = "f32") => ({
    shape,
    dtype,
    size: shape.reduce((p, d) => p * d, 1),
    disposed: false,
    storage: { kind: "cpu", device: cpu(), array },
  });

  it("E6007: a tensor-like object whose array is shorter than its shape (it gave NaN silently)", async () => {
    await rejects(
      () => dense.forward({ x, w: fake([3, 5], new Float32Array(1)) } as never),
      "E6007",
      "binary_dense: input 'w': expected f32[I=3, O], got an object that is not a usable tensor — its storage holds 1 elements, its shape 15",
    );
    await rejects(
      () => dense.forward({ x, w: fake([3, 5], [1, 2, 3]) } as never),
      "E6007",
      "its storage is an array of 3, not the typed array of a f32 tensor",
    );
    await rejects(() => dense.forward({ x, w: fake([3, -5], new Float32Array(15)) } as never), "E6007", "its shape is not an array of non-negative integers");
  });

  it("E6014: a tensor-like cotangent; E6004 for a disposed one, named 'the cotangent'", async () => {
    await rejects(
      () => dense.vjp({ x, w }, fake([2, 5], new Float32Array(2)) as never),
      "E6014",
      "binary_dense: the cotangent: expected f32[B=2, O=5], got an object that is not a usable tensor — its storage holds 2 elements, its shape 10",
    );
    const ct = tensor(new Float32Array(10), [2, 5]);
    ct.dispose();
    await rejects(() => dense.vjp({ x, w }, ct), "E6004", "binary_dense: the cotangent was used after dispose()");
  });

  it("E6015: a device object that only has the right kind (it was a TypeError)", async () => {
    await rejects(
      () => dense.forward({ x, w }, { device: { kind: "cpu" } } as never),
      "E6015",
      "binary_dense: option 'device' has kind 'cpu' but is not a device; pass cpu()",
    );
    await rejects(
      () => dense.forward({ x, w }, { device: { kind: "webgpu", gpu: {} } } as never),
      "E6015",
      "has kind 'webgpu' but is not a device; pass the device from 'await webgpu()'",
    );
    await rejects(() => dense.forward({ x, w }, { device: 3 } as never), "E6015", "option 'device' must be a device such as cpu(), got 3");
  });

  it("a real tensor made by the constructor path still passes, and gives the same numbers", async () => {
    const y = (await dense.forward({ x, w })) as Tensor;
    // binary_dense is sign(x @ w) scaled by o: every product is 3 · 0.5 · 0.25 > 0.
    expect(new Set(y.dataSync())).toEqual(new Set([y.dataSync()[0]!]));
    expect(y.dataSync()[0]).toBeGreaterThan(0);
  });
});
