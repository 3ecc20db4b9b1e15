/**
 * The conv bench's runners: one conv2d layer's forward and vjp (dx, dw) on estc (CPU or WebGPU),
 * TensorFlow.js (NHWC, its native layout: the data is transposed once, outside the timing, and
 * the results back for the check) and jax-js (`lax.convGeneralDilated`, NCHW/OIHW as estc).
 * Every runner's result is [out, dx, dw] in NCHW / OIHW order.
 */
import { toDevice, tensor, type CpuDevice, type EstFunction, type Tensor, type WebGpuDevice } from "estc/runtime";

type TF = typeof import("@tensorflow/tfjs");
type JX = typeof import("@jax-js/jax");
type Arr = import("@jax-js/jax").Array;

/** One conv layer's geometry and data (NCHW input, OIHW weights, a cotangent of the output). */
export interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  out: number[];
  stride: number;
  padding: number;
  data: { x: Float32Array; w: Float32Array; ct: Float32Array };
}

/** A timed implementation: `step` runs forward + backward and waits for it; `result` reads back. */
export interface ConvRunner {
  step(): Promise<void>;
  result(): Promise<Float32Array[]>;
  dispose(): void;
}

/** estc's forward then vjp on `device`; on WebGPU the inputs are uploaded once. */
export function estcConvRunner(fn: EstFunction, c: ConvCase, device: CpuDevice | WebGpuDevice): ConvRunner {
  const put = (t: Tensor) => (device.kind === "webgpu" ? toDevice(t, device) : t);
  const x = put(tensor(c.data.x, c.x));
  const w = put(tensor(c.data.w, c.w));
  const ct = put(tensor(c.data.ct, c.out));
  let last: Tensor[] = [];
  const release = () => last.forEach((t) => t.dispose());
  return {
    async step() {
      release();
      const out = (await fn.forward({ x, w }, { device })) as Tensor;
      const g = await fn.vjp({ x, w }, ct, { device });
      last = [out, g["x"]!, g["w"]!];
      if (device.kind === "webgpu") await device.gpu.queue.onSubmittedWorkDone();
    },
    async result() {
      return Promise.all(last.map(async (t) => (await t.data()) as Float32Array));
    },
    dispose() {
      release();
      [x, w, ct].forEach((t) => t.dispose());
    },
  };
}

/**
 * tfjs: `tf.valueAndGrads(conv2d)` with the cotangent, in NHWC / HWIO (tfjs's CPU backend
 * rejects NCHW for conv2d). `sync` waits for the device (WebGPU) without reading back.
 */
export function tfjsConvRunner(tf: TF, c: ConvCase, sync: () => Promise<void> = async () => {}): ConvRunner {
  const x = tf.tidy(() => tf.tensor4d(c.data.x, c.x as [number, number, number, number]).transpose([0, 2, 3, 1]));
  const w = tf.tidy(() => tf.tensor4d(c.data.w, c.w as [number, number, number, number]).transpose([2, 3, 1, 0]));
  const ct = tf.tidy(() => tf.tensor4d(c.data.ct, c.out as [number, number, number, number]).transpose([0, 2, 3, 1]));
  const f = (a: import("@tensorflow/tfjs").Tensor, b: import("@tensorflow/tfjs").Tensor) =>
    tf.conv2d(a as import("@tensorflow/tfjs").Tensor4D, b as import("@tensorflow/tfjs").Tensor4D, c.stride, c.padding);
  const vg = tf.valueAndGrads(f as (...args: import("@tensorflow/tfjs").Tensor[]) => import("@tensorflow/tfjs").Tensor);
  let outs: import("@tensorflow/tfjs").Tensor[] = [];
  const release = () => outs.forEach((t) => t.dispose());
  return {
    async step() {
      release();
      outs = tf.tidy(() => {
        const r = vg([x, w], ct);
        return [r.value, ...r.grads];
      });
      await sync();
    },
    async result() {
      const [out, dx, dw] = outs;
      const back = [tf.transpose(out!, [0, 3, 1, 2]), tf.transpose(dx!, [0, 3, 1, 2]), tf.transpose(dw!, [3, 2, 0, 1])];
      const got = await Promise.all(back.map(async (t) => (await t.data()) as Float32Array));
      back.forEach((t) => t.dispose());
      return got;
    },
    dispose() {
      release();
      [x, w, ct].forEach((t) => t.dispose());
    },
  };
}

/** jax-js: jit(vjp(convGeneralDilated)) applied to the cotangent, NCHW / OIHW. */
export function jaxConvRunner(jx: JX, c: ConvCase): ConvRunner {
  const np = jx.numpy;
  const x = np.array(c.data.x).reshape(c.x);
  const w = np.array(c.data.w).reshape(c.w);
  const ct = np.array(c.data.ct).reshape(c.out);
  const p = c.padding;
  const conv = (a: Arr, b: Arr) => jx.lax.convGeneralDilated(a, b, [c.stride, c.stride], [[p, p], [p, p]]);
  const fused = jx.jit((a: Arr, b: Arr, g: Arr) => {
    const [out, pullback] = jx.vjp(conv, [a, b]);
    const [da, db] = pullback(g) as Arr[];
    pullback.dispose();
    return [out, da!, db!];
  });
  let outs: Arr[] = [];
  const release = () => outs.forEach((a) => a.dispose());
  return {
    async step() {
      release();
      outs = fused(x.ref, w.ref, ct.ref) as unknown as Arr[];
      await jx.blockUntilReady(outs);
    },
    async result() {
      return Promise.all(outs.map(async (a) => (await a.ref.data()) as Float32Array));
    },
    dispose() {
      release();
      [x, w, ct].forEach((a) => a.dispose());
    },
  };
}
