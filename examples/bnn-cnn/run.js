// Trains one network of cnn.est (float, or binary with one estimator for sign) and returns its
// per-epoch record. Called by train.js in its own thread (worker.js) or inline.
import { estimatingError, flipRatio, gradientStability, resteO, tensor } from "estc/runtime";
import { accuracy, batches, gather, Rng } from "../lib/data.js";
import { adam } from "../lib/adam.js";
import * as cnn from "./out/cnn.js";
import { BINARY, cosineLr, initParams, paramTensors, STATS_INPUTS, STATS_NAMES } from "./model.js";

/**
 * @typedef {import("../lib/data.js").Split} Split
 * @typedef {(typeof import("./model.js").ESTIMATORS)[number]} Estimator
 * @typedef {{ c1: number, c2: number, classes: number, epochs: number, batch: number, lr: number, oEnd: number, seed: number, statsImages: number, evalBatch: number }} Config
 * @typedef {{ epoch: number, o: number | null, lr: number, trainLoss: number, testAccuracy: number, estimatingError: number | null, gradientStability: number, flipRatio: number | null, seconds: number }} EpochRecord
 */

/** Images per side and channels of the input the network takes. */
const SIDE = 28;

/**
 * A batch of images as the [n, 1, 28, 28] tensor the fns take.
 * @param {Split} s
 */
const images = (s) => tensor(s.x, [s.n, 1, SIDE, SIDE]);

/**
 * Gives the tensors' memory back at once (the GC would, later).
 * @param {Record<string, import("estc/runtime").Tensor>} tensors
 */
function disposeAll(tensors) {
  for (const t of Object.values(tensors)) t.dispose();
}

/** @param {string} name */
function fn(name) {
  return /** @type {import("estc/runtime").EstFunction<string, string>} */ (cnn[/** @type {keyof typeof cnn} */ (name)]);
}

/**
 * Precise batch normalisation (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm",
 * arXiv:2105.07576): each layer's population mean and variance over the first `statsImages`
 * images of a fixed shuffle of the training set, under the current weights, as the union of
 * equal batches: mean = the batches' mean, variance = mean of the batch variances + variance of
 * the batch means (exact for the union, biased as the training-mode normalisation).
 * @param {Estimator} estimator
 * @param {import("./model.js").Params} params
 * @param {Split} train
 * @param {Config} c
 * @param {object} onDevice
 */
async function populationStats(estimator, params, train, c, onDevice) {
  const order = batches(train.n, c.evalBatch, new Rng(c.seed * 104729), { dropLast: true }).slice(0, Math.max(1, Math.floor(c.statsImages / c.evalBatch)));
  /** @type {Float32Array[][]} */
  const perBatch = [];
  for (const indices of order) {
    const inputs = { x: images(gather(train, indices)), ...paramTensors(params, STATS_INPUTS) };
    const out = await fn(estimator.stats).forward(inputs, onDevice);
    disposeAll(inputs);
    const tuple = /** @type {import("estc/runtime").Tensor[]} */ (/** @type {unknown} */ (out));
    perBatch.push(await Promise.all(tuple.map(async (t) => /** @type {Float32Array} */ (await t.data()))));
    for (const t of tuple) t.dispose();
  }
  /** @type {Record<string, import("estc/runtime").Tensor>} */
  const stats = {};
  for (let layer = 0; layer < STATS_NAMES.length / 2; layer++) {
    const n = perBatch[0][2 * layer].length;
    const mean = new Float32Array(n);
    const variance = new Float32Array(n);
    for (let ch = 0; ch < n; ch++) {
      let m = 0;
      let v = 0;
      for (const b of perBatch) m += b[2 * layer][ch];
      m /= perBatch.length;
      for (const b of perBatch) v += b[2 * layer + 1][ch] + (b[2 * layer][ch] - m) ** 2;
      mean[ch] = m;
      variance[ch] = v / perBatch.length;
    }
    stats[STATS_NAMES[2 * layer]] = tensor(mean, [n]);
    stats[STATS_NAMES[2 * layer + 1]] = tensor(variance, [n]);
  }
  return stats;
}

/**
 * Test accuracy in inference mode (population statistics in every batch normalisation).
 * Exported for jlcm.js, which evaluates the float network with compressed weights.
 * @param {Estimator} estimator
 * @param {import("./model.js").Params} params
 * @param {Split} train
 * @param {Split} test
 * @param {Config} c
 * @param {object} onDevice
 */
export async function testAccuracy(estimator, params, train, test, c, onDevice) {
  const stats = await populationStats(estimator, params, train, c, onDevice);
  const logits = new Float32Array(test.n * c.classes);
  for (let start = 0; start < test.n; start += c.evalBatch) {
    const indices = Int32Array.from({ length: Math.min(c.evalBatch, test.n - start) }, (_, i) => start + i);
    const inputs = { x: images(gather(test, indices)), ...paramTensors(params) };
    const out = await fn(estimator.eval).forward({ ...inputs, ...stats }, onDevice);
    disposeAll(inputs);
    logits.set(/** @type {Float32Array} */ (await out.data()), start * c.classes);
    out.dispose();
  }
  disposeAll(stats);
  return accuracy(logits, test.y, c.classes);
}

/**
 * Trains `estimator`'s network from the shared initialisation with the shared batch order.
 * `tick` is called after every step with a one-line status.
 * @param {Estimator} estimator
 * @param {{ train: Split, test: Split }} data
 * @param {Config} c
 * @param {(info: string) => void} tick
 * @param {object} [onDevice] `{ device }` for WebGPU, `{}` for the CPU
 * @param {import("./model.js").Params} [params] the parameters to train in place (default: a fresh initParams(c))
 */
export async function trainOne(estimator, data, c, tick, onDevice = {}, params = initParams(c)) {
  const started = performance.now();
  const optimiser = adam(params, { lr: c.lr, clip: estimator.binary ? BINARY : [] });
  const lossFn = fn(estimator.loss);
  const stepsPerEpoch = Math.floor(data.train.n / c.batch);
  const totalSteps = c.epochs * stepsPerEpoch;
  /** @type {EpochRecord[]} */
  const history = [];
  let step = 0;
  for (let epoch = 0; epoch < c.epochs; epoch++) {
    // o follows ReSTE's official loop: epoch e of E (0-based) gets resteO(e, E), from 1 towards oEnd.
    const o = resteO(epoch, c.epochs, c.oEnd);
    const order = batches(data.train.n, c.batch, new Rng(c.seed * 7919 + epoch), { dropLast: true });
    let lossSum = 0;
    let flips = 0;
    /** @type {Float32Array[]} */
    let lastGrads = [];
    let rate = c.lr;
    for (const indices of order) {
      const b = gather(data.train, indices);
      const inputs = { x: images(b), labels: tensor(b.y, [b.n]), ...paramTensors(params) };
      const { value, grads } = await lossFn.valueAndGrad(inputs, { ...(estimator.annealed ? { o } : {}), ...onDevice, wrt: Object.keys(params) });
      disposeAll(inputs);
      const loss = (await value.data())[0];
      value.dispose();
      if (!Number.isFinite(loss)) throw new Error(`${estimator.name}: the training loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}`);
      lossSum += loss;
      /** @type {Record<string, Float32Array>} */
      const g = {};
      for (const name of Object.keys(params)) g[name] = /** @type {Float32Array} */ (await grads[name].data());
      for (const t of Object.values(grads)) t.dispose();
      const before = estimator.binary ? BINARY.map((name) => params[name].data.slice()) : [];
      rate = cosineLr(c.lr, step, totalSteps);
      optimiser.step(g, rate);
      step++;
      if (estimator.binary) flips += flipRatio(before, BINARY.map((name) => params[name].data));
      lastGrads = BINARY.map((name) => g[name]);
      const last = history[history.length - 1];
      tick(`${estimator.name} epoch ${epoch + 1}/${c.epochs}${estimator.annealed ? ` o ${o.toFixed(2)}` : ""} loss ${(lossSum / (step - epoch * stepsPerEpoch)).toFixed(3)}${last ? ` acc ${last.testAccuracy.toFixed(3)}` : ""}`);
    }
    history.push({
      epoch: epoch + 1,
      o: estimator.annealed ? o : null,
      lr: rate,
      trainLoss: lossSum / order.length,
      testAccuracy: await testAccuracy(estimator, params, data.train, data.test, c, onDevice),
      // ReSTE's indicators (utils/tools.py in DravenALG/ReSTE): EE on the latent binary weights
      // with the final power oEnd; GS on the last step's gradients of the binary convolutions.
      estimatingError: estimator.binary ? estimatingError(BINARY.map((name) => params[name].data), c.oEnd) : null,
      gradientStability: gradientStability(lastGrads),
      flipRatio: estimator.binary ? flips / order.length : null,
      seconds: (performance.now() - started) / 1000,
    });
  }
  const last = history[history.length - 1];
  return {
    name: estimator.name,
    testAccuracy: last.testAccuracy,
    bestTestAccuracy: Math.max(...history.map((h) => h.testAccuracy)),
    trainLoss: last.trainLoss,
    seconds: (performance.now() - started) / 1000,
    epochs: history,
  };
}
