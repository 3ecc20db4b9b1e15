// The binary CNN's parameters and their initialisation, in plain JavaScript: the compiled module
// (out/cnn.js) computes the losses, the gradients and the batch-norm statistics; this file owns
// the state.
import { tensor } from "estc/runtime";
import { Rng } from "../lib/data.js";

/**
 * The networks compared: the loss, statistics and inference fns of out/cnn.js each uses. Every
 * binary network has the same forward (sign is sign); only the backward of sign differs.
 */
export const ESTIMATORS = [
  { name: "float", loss: "loss_float", stats: "float_stats", eval: "float_eval", binary: false, annealed: false },
  { name: "STE", loss: "loss_ste", stats: "binary_stats", eval: "binary_eval", binary: true, annealed: false },
  { name: "ClippedSTE", loss: "loss_clipped", stats: "binary_stats", eval: "binary_eval", binary: true, annealed: false },
  { name: "ReSTE", loss: "loss_reste", stats: "binary_stats", eval: "binary_eval", binary: true, annealed: true },
  { name: "ApproxSign", loss: "loss_approx", stats: "binary_stats", eval: "binary_eval", binary: true, annealed: false },
];

/** The binary convolutions' latent weights (clipped to [-1, 1] after each step in the binary networks). */
export const BINARY = ["w2", "w3", "w4"];

/** The parameters the *_stats fns read (the layers before the last batch normalisation). */
export const STATS_INPUTS = ["w1", "g1", "b1", "w2", "g2", "b2", "w3", "g3", "b3", "w4"];

/** The names of the population statistics, in the order the *_stats fns return them. */
export const STATS_NAMES = ["m1", "v1", "m2", "v2", "m3", "v3", "m4", "v4"];

/**
 * @typedef {import("../lib/adam.js").Params} Params
 * @typedef {{ c1: number, c2: number, classes: number, seed: number }} Shape
 */

/**
 * Initial parameters, the same for every network given the same seed. The convolutions' weights
 * (latent weights in the binary networks) are uniform in [-1, 1]: every convolution is followed
 * by a batch normalisation, so their scale does not change the forward, and the same draw serves
 * the float network. The first layer's real weights are Kaiming-normal (std sqrt(2 / 9)); the
 * last layer's normal with std 1/sqrt(fan-in); the batch norms start at gamma 1, beta 0.
 * @param {Shape} s
 * @returns {Params}
 */
export function initParams({ c1, c2, classes, seed }) {
  const rng = new Rng(seed);
  const uniform = (/** @type {number} */ n) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  const ones = (/** @type {number} */ n) => new Float32Array(n).fill(1);
  const f = c2 * 49;
  return {
    w1: { data: rng.normals(c1 * 9, Math.sqrt(2 / 9)), shape: [c1, 1, 3, 3] },
    g1: { data: ones(c1), shape: [c1] },
    b1: { data: new Float32Array(c1), shape: [c1] },
    w2: { data: uniform(c1 * c1 * 9), shape: [c1, c1, 3, 3] },
    g2: { data: ones(c1), shape: [c1] },
    b2: { data: new Float32Array(c1), shape: [c1] },
    w3: { data: uniform(c2 * c1 * 9), shape: [c2, c1, 3, 3] },
    g3: { data: ones(c2), shape: [c2] },
    b3: { data: new Float32Array(c2), shape: [c2] },
    w4: { data: uniform(c2 * c2 * 9), shape: [c2, c2, 3, 3] },
    g4: { data: ones(c2), shape: [c2] },
    b4: { data: new Float32Array(c2), shape: [c2] },
    w5: { data: rng.normals(f * classes, 1 / Math.sqrt(f)), shape: [f, classes] },
    b5: { data: new Float32Array(classes), shape: [classes] },
  };
}

/**
 * The named parameters as runtime tensors, keyed as the .est fns name them.
 * @param {Params} params
 * @param {readonly string[]} [names] default: all
 */
export function paramTensors(params, names = Object.keys(params)) {
  /** @type {Record<string, import("estc/runtime").Tensor>} */
  const out = {};
  for (const name of names) out[name] = tensor(params[name].data, params[name].shape);
  return out;
}

/**
 * The learning rate at step t of T: cosine decay from lr to 0 (Loshchilov & Hutter, SGDR,
 * arXiv:1608.03983, without restarts), the schedule the BNN papers' CIFAR runs use.
 * @param {number} lr
 * @param {number} t
 * @param {number} total
 */
export function cosineLr(lr, t, total) {
  return 0.5 * lr * (1 + Math.cos((Math.PI * t) / total));
}
