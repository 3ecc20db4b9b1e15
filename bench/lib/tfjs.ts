/**
 * TensorFlow.js (CPU backend) peers: the sign estimators through `tf.customGrad`, the chain
 * through tfjs's own gradients, both run with `tf.valueAndGrad(s)` and a cotangent, and the MLP
 * step with `tf.valueAndGrads`. sign(0) = +1 is written sign(sign(x) + 0.5), as tf.sign(0) = 0.
 */
import { P, type Inputs, type Runner, type Workload } from "./workloads.js";
import { MLP, type MlpData, type MlpResult, type MlpRunner } from "./mlp.js";

type TF = typeof import("@tensorflow/tfjs");
type Tensor = import("@tensorflow/tfjs").Tensor;
type Tensor2D = import("@tensorflow/tfjs").Tensor2D;

/** Loads tfjs on its CPU backend, quietly; an error message if that fails. */
export async function loadTfjs(): Promise<TF | string> {
  const { log, warn } = console;
  try {
    console.log = console.warn = () => {};
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    await tf.ready();
    tf.tensor1d([0]).dispose(); // the CPU backend's first write prints a "use tfjs-node" banner
    return tf.getBackend() === "cpu" ? tf : `backend is ${tf.getBackend()}, not cpu`;
  } catch (e) {
    return `import/setBackend failed: ${(e as Error).message}`;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

type Unary = (x: Tensor) => Tensor;
type GradFunc = (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[];
type Save = (ts: Tensor[]) => void;

/** `tf.customGrad` with the forward sign and the given backward rule of x and dy. */
function signWith(tf: TF, rule: ((dy: Tensor, x: Tensor) => Tensor) | "identity"): Unary {
  const sign = (x: Tensor) => tf.sign(tf.add(tf.sign(x), 0.5));
  const f = (x: Tensor, save: Save) => {
    if (rule !== "identity") save([x]);
    const gradFunc: GradFunc = rule === "identity" ? (dy) => dy : (dy, [xs]) => rule(dy, xs!);
    return { value: sign(x), gradFunc };
  };
  return tf.customGrad(f as unknown as Parameters<TF["customGrad"]>[0]) as unknown as Unary;
}

const clippedRule = (tf: TF, t: number) => (dy: Tensor, x: Tensor) => tf.mul(dy, tf.cast(tf.lessEqual(tf.abs(x), t), "float32"));

function resteRule(tf: TF) {
  const { o, t, m } = P.reste;
  const e = (1 - o) / o;
  return (dy: Tensor, x: Tensor) => {
    const a = tf.abs(x);
    const slope = tf.where(tf.lessEqual(a, m), tf.scalar(Math.pow(m, e)), tf.mul(tf.pow(a, e), 1 / o));
    return tf.mul(tf.mul(dy, slope), tf.cast(tf.lessEqual(a, t), "float32"));
  };
}

/** One valueAndGrad(s) call per step, inside tf.tidy so every intermediate is freed. */
export function tfjsRunner(tf: TF, w: Workload, inp: Inputs): Runner {
  const x = tf.tensor1d(inp.x);
  const y = tf.tensor1d(inp.y);
  const g = tf.tensor1d(inp.g);
  let outs: Tensor[] = [];
  let run: () => Tensor[];
  if (w === "chain4") {
    const { s, lo, hi } = P.chain;
    const f = (a: Tensor, b: Tensor) => tf.mul(tf.tanh(tf.clipByValue(tf.mul(a, s), lo, hi)), b);
    const vg = tf.valueAndGrads(f as (...args: Tensor[]) => Tensor);
    run = () => {
      const r = vg([x, y], g);
      return [r.value, ...r.grads];
    };
  } else {
    const act = signWith(tf, w === "sign/ReSTE" ? resteRule(tf) : clippedRule(tf, P.clipped.t));
    const vg = tf.valueAndGrad(act);
    run = () => {
      const r = vg(x, g);
      return [r.value, r.grad];
    };
  }
  return {
    step() {
      tf.dispose(outs);
      outs = tf.tidy(run);
    },
    async result() {
      const [out, ...grads] = outs.map((t) => t.dataSync() as Float32Array);
      return { out: out!.slice(), grads: grads.map((a) => a.slice()) };
    },
    dispose() {
      tf.dispose([...outs, x, y, g]);
    },
  };
}

/** The MLP step: customGrad estimators, valueAndGrads over the three weights. */
export function tfjsMlp(tf: TF, d: MlpData): MlpRunner {
  const x = tf.tensor2d(d.x, [d.batch, d.sizes[0]]);
  const ws = d.w.map((w, l) => tf.tensor2d(w, [d.sizes[l]!, d.sizes[l + 1]!]));
  const labels = tf.tensor1d(d.labels, "int32");
  const ste = signWith(tf, "identity");
  const clipped = signWith(tf, clippedRule(tf, 1));
  const reste = signWith(tf, resteRule(tf));
  const [s1, s2, s3] = MLP.scales;
  const mm = (a: Tensor, b: Tensor) => tf.matMul(a as Tensor2D, b as Tensor2D);
  const loss = (w1: Tensor, w2: Tensor, w3: Tensor) => {
    const a1 = clipped(tf.div(mm(x, ste(w1)), s1));
    const a2 = reste(tf.div(mm(a1, ste(w2)), s2));
    const logits = tf.div(mm(a2, ste(w3)), s3);
    const picked = tf.sum(tf.mul(tf.oneHot(labels, d.sizes[3]), tf.logSoftmax(logits, 1)), 1);
    return tf.neg(tf.mean(picked));
  };
  const vg = tf.valueAndGrads(loss as (...args: Tensor[]) => Tensor);
  let outs: Tensor[] = [];
  return {
    step() {
      tf.dispose(outs);
      outs = tf.tidy(() => {
        const r = vg(ws);
        return [r.value, ...r.grads];
      });
    },
    async result(): Promise<MlpResult> {
      const [value, ...grads] = outs.map((t) => (t.dataSync() as Float32Array).slice());
      return { loss: value![0]!, grads };
    },
    dispose() {
      tf.dispose([...outs, x, ...ws, labels]);
    },
  };
}
