/**
 * one_hot labels out of range (issue 17, item 7): `one_hot` compares its labels with `iota`, so a
 * label outside [0, K) silently gave an all-zero row (labels [7, -1] with K = 4: a loss of -0).
 * The runtime now checks every label input held on the host before a call runs (E6008), on the
 * CPU and on WebGPU; a label tensor already on the GPU is not read back, and there an
 * out-of-range label gives the documented all-zero row.
 */
import { describe, expect, it } from "vitest";
import { tensor, toDevice, type Tensor } from "estc/runtime";
import { sharedDevice } from "../helpers/backends.js";
import { buildModule } from "../helpers/build.js";
import { rejects } from "../helpers/specs.js";

const src = `fn pick(x: f32[B, K], labels: i32[B]) -> f32[B] {
  return sum(one_hot(labels, K) * x, axis = 1)
}

fn fixed(x: f32[B, 4], labels: i32[B]) -> f32 {
  return -mean(sum(one_hot(labels, 4) * log_softmax(x, axis = 1), axis = 1))
}
`;
// x[b, k] = 10 b + k, so pick returns 10 b + labels[b] for a label in range.
const x = () => tensor(Float32Array.from({ length: 8 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4)), [2, 4]);

describe("one_hot labels outside [0, K)", () => {
  it("cpu: E6008 naming the input, the element and K (it returned an all-zero row)", async () => {
    const { mod } = await buildModule(src);
    await rejects(
      () => mod["pick"].forward({ x: x(), labels: tensor(new Int32Array([7, -1]), [2]) }),
      "E6008",
      "pick (main.est:1): input 'labels': element 0 is 7, outside [0, K = 4)",
    );
    await rejects(
      () => mod["pick"].forward({ x: x(), labels: tensor(new Int32Array([3, -1]), [2]) }),
      "E6008",
      "input 'labels': element 1 is -1, outside [0, K = 4)",
    );
    // The case: a literal K, through valueAndGrad (its loss was -0).
    await rejects(
      () => mod["fixed"].valueAndGrad({ x: x(), labels: tensor(new Int32Array([7, -1]), [2]) }),
      "E6008",
      "fixed (main.est:5): input 'labels': element 0 is 7, outside [0, 4)",
    );
    const ok = (await mod["pick"].forward({ x: x(), labels: tensor(new Int32Array([3, 0]), [2]) })) as Tensor;
    expect([...ok.dataSync()]).toEqual([3, 10]);
  });

  it("webgpu, labels uploaded from the host: the same E6008", async () => {
    const device = await sharedDevice();
    const { mod } = await buildModule(src);
    await rejects(
      () => mod["pick"].forward({ x: x(), labels: tensor(new Int32Array([7, -1]), [2]) }, { device }),
      "E6008",
      "input 'labels': element 0 is 7, outside [0, K = 4)",
    );
    await rejects(
      () => mod["fixed"].vjpFn({ x: x(), labels: tensor(new Int32Array([1, 4]), [2]) }, { device }),
      "E6008",
      "element 1 is 4, outside [0, 4)",
    );
  });

  it("webgpu, labels already on the device: not read back; an out-of-range label gives an all-zero row", async () => {
    const device = await sharedDevice();
    const { mod } = await buildModule(src);
    const labels = toDevice(tensor(new Int32Array([7, 2]), [2]), device);
    const y = (await mod["pick"].forward({ x: x(), labels }, { device })) as Tensor;
    // Row 0's label 7 matches no column of iota: sum of zeros; row 1 picks 10 + 2.
    expect([...(await y.data())]).toEqual([0, 12]);
    y.dispose();
    labels.dispose();
  });
});
