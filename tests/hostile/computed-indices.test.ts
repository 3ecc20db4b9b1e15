/**
 * Labels and indices computed in the fn (issue 17, item 7): `one_hot(labels + 1, K)` compared its
 * labels with `iota`, so a computed label outside [0, K) gave an all-zero row silently, where an
 * input's labels are checked before the call (runtime-indices.test.ts). Computed labels now pick a
 * row of the K×K identity with `gather`, which checks every index as it runs: E6008 on the CPU
 * and on WebGPU (a device-side check read back after the kernel). `gather(x, idx + 1)` was
 * checked on both already; both are held to it here, with in-range results and the gradient
 * checked against the direct path (labels passed in, compared with iota) and by hand.
 */
import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "estc/runtime";
import { sharedDevice } from "../helpers/backends.js";
import { buildModule } from "../helpers/build.js";

const src = `fn shifted(x: f32[B, K], labels: i32[B]) -> f32[B] {
  return sum(one_hot(labels + 1, K) * x, axis = 1)
}

fn loss_shifted(x: f32[B, 4], labels: i32[B]) -> f32 {
  return -mean(sum(one_hot(labels + 1, 4) * log_softmax(x, axis = 1), axis = 1))
}

fn loss_direct(x: f32[B, 4], labels: i32[B]) -> f32 {
  return -mean(sum(one_hot(labels, 4) * log_softmax(x, axis = 1), axis = 1))
}

fn pick(x: f32[N], idx: i32[M]) -> f32[M] {
  return gather(x, idx + 1)
}
`;

// x[b, k] = 10 b + k: shifted gives 10 b + labels[b] + 1 for a label in range.
const x = () => tensor(Float32Array.from({ length: 8 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4)), [2, 4]);
const labels = (a: number[]) => tensor(new Int32Array(a), [a.length]);

async function code(call: () => Promise<unknown>): Promise<string | undefined> {
  return call().then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

describe("one_hot and gather with indices computed in the fn", () => {
  for (const backend of ["cpu", "webgpu"] as const) {
    it(`${backend}: a computed one_hot label out of range is E6008, in range the row it names`, async () => {
      const { mod } = await buildModule(src);
      const opts = backend === "webgpu" ? { device: await sharedDevice() } : {};
      const ok = (await mod["shifted"].forward({ x: x(), labels: labels([0, 2]) }, opts)) as Tensor;
      expect([...(await ok.data())]).toEqual([1, 13]);
      // labels + 1 = [4, 0] and [-1 + 1, 3 + 1]: 4 is outside [0, 4).
      expect(await code(() => mod["shifted"].forward({ x: x(), labels: labels([3, -1]) }, opts))).toBe("E6008");
      expect(await code(() => mod["shifted"].forward({ x: x(), labels: labels([0, -2]) }, opts))).toBe("E6008");
      expect(await code(() => mod["loss_shifted"].valueAndGrad({ x: x(), labels: labels([3, 0]) }, opts))).toBe("E6008");
    });

    it(`${backend}: a computed gather index out of range is E6008, in range the element`, async () => {
      const { mod } = await buildModule(src);
      const opts = backend === "webgpu" ? { device: await sharedDevice() } : {};
      const v = tensor(new Float32Array([5, 6, 7, 8]), [4]);
      const ok = (await mod["pick"].forward({ x: v, idx: labels([0, 2, -1]) }, opts)) as Tensor;
      expect([...(await ok.data())]).toEqual([6, 8, 5]);
      expect(await code(() => mod["pick"].forward({ x: v, idx: labels([3]) }, opts))).toBe("E6008");
      expect(await code(() => mod["pick"].forward({ x: v, idx: labels([-2]) }, opts))).toBe("E6008");
    });

    it(`${backend}: the loss and gradient through computed labels equal the direct path's and the closed form`, async () => {
      const { mod } = await buildModule(src);
      const opts = backend === "webgpu" ? { device: await sharedDevice() } : {};
      const viaGather = await mod["loss_shifted"].valueAndGrad({ x: x(), labels: labels([0, 2]) }, opts);
      const direct = await mod["loss_direct"].valueAndGrad({ x: x(), labels: labels([1, 3]) }, opts);
      const value = [...(await (viaGather.value as Tensor).data())][0]!;
      const grad = [...(await (viaGather.grads.x as Tensor).data())];
      expect(value).toBeCloseTo([...(await (direct.value as Tensor).data())][0]!, 5);
      const directGrad = [...(await (direct.grads.x as Tensor).data())];
      grad.forEach((g, i) => expect(g).toBeCloseTo(directGrad[i]!, 6));
      // By hand: each row of x is r + [0, 1, 2, 3], so softmax is the same per row; dL/dx = (softmax - onehot) / 2.
      const e = [0, 1, 2, 3].map((k) => Math.exp(k));
      const soft = e.map((v) => v / e.reduce((a, b) => a + b));
      const want = [1, 3].flatMap((label) => soft.map((p, k) => (p - (k === label ? 1 : 0)) / 2));
      grad.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
      expect(value).toBeCloseTo(-(Math.log(soft[1]!) + Math.log(soft[3]!)) / 2, 5);
    });
  }
});
