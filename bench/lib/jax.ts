/**
 * jax-js peers on its Wasm device (the only one it has in Node). jax-js has no custom_vjp, so an
 * estimator is the stop-gradient idiom y = surrogate + sg(sign(x) - surrogate), whose gradient
 * is the surrogate's; each step is one `jit` of `vjp` (forward and backward fused by jit). jax-js
 * arrays are reference-counted: every use but the last takes `.ref`.
 */
import { P, type Inputs, type Runner, type Workload } from "./workloads.js";
import { MLP, type MlpData, type MlpResult, type MlpRunner } from "./mlp.js";

type JX = typeof import("@jax-js/jax");
type Arr = import("@jax-js/jax").Array;

/**
 * Loads jax-js on Wasm. `init()` with no argument throws in Node 20 (its WebGPU probe reads the
 * global `navigator`, which Node 20 lacks), so only "wasm" is initialised.
 */
export async function loadJax(): Promise<JX | string> {
  try {
    const jx = await import("@jax-js/jax");
    const ok = await jx.init("wasm");
    if (!ok.includes("wasm")) return `init("wasm") gave ${JSON.stringify(ok)}`;
    jx.defaultDevice("wasm");
    return jx;
  } catch (e) {
    return `import/init failed: ${(e as Error).message}`;
  }
}

/** The sign estimators as surrogate + sg(sign - surrogate); sign(0) = +1 as in estc. */
function estimators(jx: JX) {
  const np = jx.numpy;
  const sg = jx.lax.stopGradient;
  const sign = (x: Arr) => np.greaterEqual(x, 0).astype(np.float32).mul(2).sub(1);
  const straight = (x: Arr, surrogate: Arr) => {
    const s = sign(x);
    return surrogate.ref.add(sg(s.sub(surrogate)));
  };
  /** Surrogate x: gradient 1. */
  const ste = (x: Arr) => straight(x.ref, x);
  /** Surrogate x * 1[|x| <= t] (the mask carries no gradient): gradient 1[|x| <= t]. */
  const clipped = (x: Arr, t: number) => {
    const mask = np.lessEqual(np.abs(x.ref), t).astype(np.float32);
    return straight(x.ref, x.mul(mask));
  };
  /**
   * Surrogate sign(x) r(a), a = x sign(x): r = a m^e below m, a^(1/o) up to t, constant above,
   * so dr/da is ReSTE's slope. max(a, m) keeps pow's gradient finite where it is not selected.
   */
  const reste = (x: Arr) => {
    const { o, t, m } = P.reste;
    const e = (1 - o) / o;
    const s = sign(x.ref);
    const a = x.ref.mul(s.ref);
    const pw = np.power(np.maximum(a.ref, m), 1 / o);
    const r = np.where(np.lessEqual(a.ref, m), a.ref.mul(Math.pow(m, e)), np.where(np.lessEqual(a, t), pw, Math.pow(t, 1 / o)));
    return straight(x, s.mul(r));
  };
  return { ste, clipped, reste };
}

/** jit((x[, y], g) => [out, ...vjp(g)]): one fused call per step. */
export function jaxRunner(jx: JX, w: Workload, inp: Inputs): Runner {
  const np = jx.numpy;
  const est = estimators(jx);
  const x = np.array(inp.x);
  const y = np.array(inp.y);
  const g = np.array(inp.g);
  let outs: Arr[] = [];
  let run: () => Arr[];
  if (w === "chain4") {
    const { s, lo, hi } = P.chain;
    const f = (a: Arr, b: Arr) => np.tanh(np.clip(a.mul(s), lo, hi)).mul(b);
    const fused = jx.jit((a: Arr, b: Arr, ct: Arr) => {
      const [out, pullback] = jx.vjp(f, [a, b]);
      const [da, db] = pullback(ct) as Arr[];
      pullback.dispose();
      return [out, da!, db!];
    });
    run = () => fused(x.ref, y.ref, g.ref);
  } else {
    const f = w === "sign/ReSTE" ? est.reste : (a: Arr) => est.clipped(a, P.clipped.t);
    const fused = jx.jit((a: Arr, ct: Arr) => {
      const [out, pullback] = jx.vjp(f, [a]);
      const [da] = pullback(ct) as Arr[];
      pullback.dispose();
      return [out, da!];
    });
    run = () => fused(x.ref, g.ref);
  }
  const release = () => outs.forEach((a) => a.dispose());
  return {
    async step() {
      release();
      outs = run();
      await jx.blockUntilReady(outs);
    },
    async result() {
      const [out, ...grads] = await Promise.all(outs.map(async (a) => (await a.ref.data()) as Float32Array));
      return { out: out!, grads };
    },
    dispose() {
      release();
      [x, y, g].forEach((a) => a.dispose());
    },
  };
}

/** The MLP step: jit(valueAndGrad(loss, argnums [0, 1, 2])). */
export function jaxMlp(jx: JX, d: MlpData): MlpRunner {
  const np = jx.numpy;
  const est = estimators(jx);
  const [s1, s2, s3] = MLP.scales;
  const x = np.array(d.x).reshape([d.batch, d.sizes[0]]);
  const ws = d.w.map((w, l) => np.array(w).reshape([d.sizes[l]!, d.sizes[l + 1]!]));
  const labels = np.array(d.labels, { dtype: np.int32 });
  const loss = (w1: Arr, w2: Arr, w3: Arr, xs: Arr, ls: Arr) => {
    const a1 = est.clipped(np.matmul(xs, est.ste(w1)).mul(1 / s1), 1);
    const a2 = est.reste(np.matmul(a1, est.ste(w2)).mul(1 / s2));
    const logits = np.matmul(a2, est.ste(w3)).mul(1 / s3);
    const picked = np.sum(jx.nn.oneHot(ls, d.sizes[3]).mul(jx.nn.logSoftmax(logits, 1)), 1);
    return np.mean(picked).mul(-1);
  };
  const step = jx.jit(jx.valueAndGrad(loss, { argnums: [0, 1, 2] }));
  let outs: Arr[] = [];
  const release = () => outs.forEach((a) => a.dispose());
  return {
    async step() {
      release();
      const [value, grads] = step(ws[0]!.ref, ws[1]!.ref, ws[2]!.ref, x.ref, labels.ref) as unknown as [Arr, Arr[]];
      outs = [value, ...grads];
      await jx.blockUntilReady(outs);
    },
    async result(): Promise<MlpResult> {
      const [value, ...grads] = await Promise.all(outs.map(async (a) => (await a.ref.data()) as Float32Array));
      return { loss: value![0]!, grads };
    },
    dispose() {
      release();
      [x, ...ws, labels].forEach((a) => a.dispose());
    },
  };
}
