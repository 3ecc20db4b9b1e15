// The binary MLP's parameters, their initialisation and the optimiser, in plain JavaScript: the
// compiled module (out/bnn.js) computes the loss and the gradients; this file owns the state.
import { tensor } from "estc/runtime";
import { adam as libAdam } from "../lib/adam.js";
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
 * Adam with the latent binary weights clipped to [-1, 1] after each step (BinaryConnect), the
 * same for every estimator (examples/lib/adam.js).
 * @param {Params} params
 * @param {{ lr: number, beta1?: number, beta2?: number, eps?: number }} options
 */
export function adam(params, options) {
  return libAdam(params, { ...options, clip: BINARY });
}
