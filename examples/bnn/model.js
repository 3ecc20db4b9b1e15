// The binary MLP's parameters, their initialisation and the optimiser, in plain JavaScript: the
// compiled module (out/bnn.js) computes the loss and the gradients; this file owns the state.
import { tensor } from "estc/runtime";
import { Rng } from "../lib/data.js";

/** The estimators compared, each with the loss fn of out/bnn.js that uses it. */
export const ESTIMATORS = [
  { name: "STE", loss: "loss_ste", annealed: false },
  { name: "ClippedSTE", loss: "loss_clipped", annealed: false },
  { name: "ReSTE", loss: "loss_reste", annealed: true },
  { name: "ApproxSign", loss: "loss_approx", annealed: false },
];

/** The binarised layers' latent weights: clipped to [-1, 1] after each step (BinaryConnect). */
export const BINARY = ["w1", "w2"];

/**
 * @typedef {{ data: Float32Array, shape: number[] }} Param
 * @typedef {Record<string, Param>} Params
 */

/**
 * Initial parameters, the same for every estimator given the same seed: latent binary weights
 * uniform in [-1, 1] (so some flip early and some late), output weights N(0, 1), biases 0.
 * @param {number} inputs
 * @param {number} hidden
 * @param {number} classes
 * @param {number} seed
 * @returns {Params}
 */
export function initParams(inputs, hidden, classes, seed) {
  const rng = new Rng(seed);
  const uniform = (/** @type {number} */ n) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  return {
    w1: { data: uniform(inputs * hidden), shape: [inputs, hidden] },
    b1: { data: new Float32Array(hidden), shape: [hidden] },
    w2: { data: uniform(hidden * hidden), shape: [hidden, hidden] },
    b2: { data: new Float32Array(hidden), shape: [hidden] },
    w3: { data: rng.normals(hidden * classes), shape: [hidden, classes] },
    b3: { data: new Float32Array(classes), shape: [classes] },
  };
}

/**
 * The parameters as runtime tensors, keyed as the .est fns name them.
 * @param {Params} params
 */
export function paramTensors(params) {
  /** @type {Record<string, import("estc/runtime").Tensor>} */
  const out = {};
  for (const [name, p] of Object.entries(params)) out[name] = tensor(p.data, p.shape);
  return out;
}

/**
 * Adam (Kingma & Ba 2015, arXiv:1412.6980, Algorithm 1, bias-corrected; eps outside the square
 * root as in PyTorch). Updates the parameters in place; the latent binary weights are then
 * clipped to [-1, 1], as in BinaryConnect (Courbariaux et al. 2015), the same for every estimator.
 * @param {Params} params
 * @param {{ lr: number, beta1?: number, beta2?: number, eps?: number }} options
 */
export function adam(params, options) {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = options;
  /** @type {Record<string, { m: Float32Array, v: Float32Array }>} */
  const state = {};
  for (const [name, p] of Object.entries(params)) state[name] = { m: new Float32Array(p.data.length), v: new Float32Array(p.data.length) };
  let t = 0;
  return {
    /** @param {Record<string, Float32Array>} grads */
    step(grads) {
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      for (const [name, p] of Object.entries(params)) {
        const g = grads[name];
        const { m, v } = state[name];
        const w = p.data;
        const clip = BINARY.includes(name);
        for (let i = 0; i < w.length; i++) {
          m[i] = beta1 * m[i] + (1 - beta1) * g[i];
          v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
          let next = w[i] - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
          if (clip) next = next > 1 ? 1 : next < -1 ? -1 : next;
          w[i] = next;
        }
      }
    },
  };
}
