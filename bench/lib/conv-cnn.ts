/**
 * One training step of examples/bnn-cnn's network (cnn.est's `loss_ste` and `loss_float`):
 * estc's generated `valueAndGrad` w.r.t. all 14 parameters, and the same network written in
 * TensorFlow.js (NHWC; `tf.customGrad` for sign with the STE backward dx = dy, batch-statistics
 * BN with the biased variance, 2x2 max pool, mean cross-entropy), run with `tf.valueAndGrads`.
 */
import { tensor, type CpuDevice, type EstFunction, type Tensor } from "estc/runtime";

type TF = typeof import("@tensorflow/tfjs");
type TT = import("@tensorflow/tfjs").Tensor;
type T4 = import("@tensorflow/tfjs").Tensor4D;

/** The parameter names in cnn.est's order, and their shapes at C1, C2 and K classes. */
export function cnnShapes(c1: number, c2: number, k: number): [string, number[]][] {
  return [
    ["w1", [c1, 1, 3, 3]], ["g1", [c1]], ["b1", [c1]],
    ["w2", [c1, c1, 3, 3]], ["g2", [c1]], ["b2", [c1]],
    ["w3", [c2, c1, 3, 3]], ["g3", [c2]], ["b3", [c2]],
    ["w4", [c2, c2, 3, 3]], ["g4", [c2]], ["b4", [c2]],
    ["w5", [c2 * 49, k]], ["b5", [k]],
  ];
}

/** A batch and a parameter set: images [B, 1, 28, 28] in [0, 1), labels in [0, K). */
export interface CnnData {
  batch: number;
  classes: number;
  x: Float32Array;
  labels: Int32Array;
  params: { name: string; shape: number[]; data: Float32Array }[];
}

/** A timed training step: `result` is [loss, ...gradients in cnn.est's parameter order, OIHW]. */
export interface CnnRunner {
  step(): Promise<void>;
  result(): Promise<{ loss: number; grads: Float32Array[] }>;
  dispose(): void;
}

/** estc: `fn.valueAndGrad` with every f32 parameter (x is an input too but its gradient is unused). */
export function estcCnn(fn: EstFunction, d: CnnData, device: CpuDevice): CnnRunner {
  const inputs: Record<string, Tensor> = { x: tensor(d.x, [d.batch, 1, 28, 28]), labels: tensor(d.labels, [d.batch]) };
  for (const p of d.params) inputs[p.name] = tensor(p.data, p.shape);
  const wrt = d.params.map((p) => p.name);
  let last: Tensor[] = [];
  const release = () => last.forEach((t) => t.dispose());
  return {
    async step() {
      release();
      const r = await fn.valueAndGrad(inputs, { device, wrt } as never);
      last = [r.value, ...wrt.map((n) => (r.grads as Record<string, Tensor>)[n]!)];
    },
    async result() {
      const [loss, ...grads] = await Promise.all(last.map(async (t) => (await t.data()) as Float32Array));
      return { loss: loss![0]!, grads };
    },
    dispose() {
      release();
      Object.values(inputs).forEach((t) => t.dispose());
    },
  };
}

/** The tfjs network: `binary` puts STE signs on the activations and the layers 2-4 weights. */
export function tfjsCnn(tf: TF, d: CnnData, binary: boolean): CnnRunner {
  const sign = tf.customGrad(((x: TT) => ({ value: tf.sign(tf.add(tf.sign(x), 0.5)), gradFunc: (dy: TT) => dy })) as never) as unknown as (x: TT) => TT;
  // Parameters in tfjs's layouts: conv weights HWIO (from OIHW), the rest as they are.
  const params = d.params.map((p) =>
    tf.tidy(() => (p.shape.length === 4 ? tf.tensor4d(p.data, p.shape as [number, number, number, number]).transpose([2, 3, 1, 0]) : tf.tensor(p.data, p.shape))),
  );
  const x = tf.tidy(() => tf.tensor4d(d.x, [d.batch, 1, 28, 28]).transpose([0, 2, 3, 1]));
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(d.labels, "int32"), d.classes).toFloat());
  const bn = (z: TT, g: TT, b: TT) => {
    const mu = tf.mean(z, [0, 1, 2], true);
    const c = tf.sub(z, mu);
    const v = tf.mean(tf.mul(c, c), [0, 1, 2], true);
    return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(v, 1e-5))), g), b);
  };
  const act = binary ? sign : (t: TT) => tf.relu(t);
  const wq = binary ? sign : (t: TT) => t;
  const conv = (a: TT, w: TT) => tf.conv2d(a as T4, w as T4, 1, 1);
  const pool = (a: TT) => tf.maxPool(a as T4, 2, 2, "valid");
  const loss = (...p: TT[]) => {
    const [w1, g1, b1, w2, g2, b2, w3, g3, b3, w4, g4, b4, w5, b5] = p as [TT, TT, TT, TT, TT, TT, TT, TT, TT, TT, TT, TT, TT, TT];
    const a1 = act(bn(conv(x, w1), g1, b1));
    const a2 = act(bn(pool(conv(a1, wq(w2))), g2, b2));
    const a3 = act(bn(conv(a2, wq(w3)), g3, b3));
    const z4 = bn(pool(conv(a3, wq(w4))), g4, b4);
    const a4 = binary ? z4 : tf.relu(z4);
    // Flatten in NCHW order, as cnn.est's reshape(a, [B, C * 49]) does, so w5 is shared as is.
    const flat = tf.reshape(tf.transpose(a4, [0, 3, 1, 2]), [d.batch, -1]);
    const logits = tf.add(tf.matMul(flat as import("@tensorflow/tfjs").Tensor2D, w5 as import("@tensorflow/tfjs").Tensor2D), b5);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
  };
  const vg = tf.valueAndGrads(loss);
  let outs: TT[] = [];
  const release = () => outs.forEach((t) => t.dispose());
  return {
    async step() {
      release();
      outs = tf.tidy(() => {
        const r = vg(params);
        return [r.value, ...r.grads];
      });
    },
    async result() {
      const [loss, ...grads] = outs;
      const back = grads.map((g) => (g.rank === 4 ? tf.transpose(g, [3, 2, 0, 1]) : g.clone()));
      const got = back.map((t) => (t.dataSync() as Float32Array).slice());
      back.forEach((t) => t.dispose());
      return { loss: (loss!.dataSync() as Float32Array)[0]!, grads: got };
    },
    dispose() {
      release();
      [...params, x, onehot].forEach((t) => t.dispose());
    },
  };
}
