// Compresses the float CNN's three middle convolutions with std/jlcm (JLCM: a learnable codebook
// and mapping, Yvinec, Dapogny & Bailly, ICLR 2024, arXiv:2309.17361): trains the float network
// of cnn.est as train.js does, replaces each of w2, w3, w4 by a K-entry codebook (1-D k-means of
// its weights) and a mapping (each weight's nearest codeword), then fine-tunes codebooks, latent
// indices and the other parameters through cnn.est's `loss_jlcm` (`codebook_lookup(c, idx)
// backward JLCM`). Prints the test accuracy of the float network, of its nearest-codeword copy and
// of the fine-tuned one, with the bits per weight; writes out/jlcm.json.
// Run from the repository root after building cnn.est (npm run example:bnn-cnn builds it):
//   node examples/bnn-cnn/jlcm.js [--k 16] [--epochs 3] [--finetune 1] [--smoke]
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tensor } from "estc/runtime";
import { adam } from "../lib/adam.js";
import { parseArgs } from "../lib/args.js";
import { batches, gather, prototypeTask, Rng } from "../lib/data.js";
import { IdxError } from "../lib/idx.js";
import { loadImageData } from "../lib/mnist.js";
import { progress } from "../lib/progress.js";
import * as cnn from "./out/cnn.js";
import { cosineLr, ESTIMATORS, initParams } from "./model.js";
import { testAccuracy, trainOne } from "./run.js";

const options = parseArgs(
  process.argv.slice(2),
  { k: 16, epochs: 0, finetune: 0, lr: 0.005, lrFinetune: 0.001, lrIndex: 0.02, seed: 1, data: undefined, synthetic: false, limit: 0, testLimit: 0 },
  {
    program: "examples/bnn-cnn/jlcm.js",
    help: {
      k: "codewords per layer (default 16: 4 bits per weight)",
      epochs: "epochs of float training (default 3; 1 with --smoke)",
      finetune: "epochs of fine-tuning through the codebooks (default 1)",
      lr: "Adam's learning rate for the float training, cosine-decayed (default 0.005)",
      lrFinetune: "Adam's learning rate for the codebooks and the other parameters while fine-tuning (default 0.001)",
      lrIndex: "Adam's learning rate for the latent indices while fine-tuning, in index units (default 0.02)",
      seed: "seed of the initialisation and the batch order (default 1)",
      data: "a directory with the MNIST-format IDX files; default /usr/share/datasets/fashion-mnist",
      synthetic: "train on the synthetic 28x28 task even when Fashion-MNIST is installed",
      limit: "use the first N training images (default 12,000; 300 with --smoke)",
      testLimit: "use the first N test images (default all 10,000; 200 with --smoke)",
    },
  },
);
const fail = (/** @type {string} */ message, code = 2) => {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
};
if (!Number.isInteger(options.k) || options.k < 2 || options.k > 256) fail(`--k must be an integer from 2 to 256, got ${options.k}`);
const outDir = resolve(options.out ?? "examples/bnn-cnn/out");
/** The layers compressed: the three middle convolutions (the first and last stay real, as in train.js). */
const CODED = [
  { w: "w2", c: "c2", i: "i2" },
  { w: "w3", c: "c3", i: "i3" },
  { w: "w4", c: "c4", i: "i4" },
];
const FLOAT = /** @type {(typeof ESTIMATORS)[number]} */ (ESTIMATORS.find((e) => e.name === "float"));

/** Fashion-MNIST (or --data, or the synthetic task without them), as train.js loads it. */
function loadTask() {
  const synthetic = () => {
    const t = prototypeTask({ features: 784, classes: 10, noise: 2.5, seed: options.seed, trainSize: options.smoke ? 300 : 6000, testSize: options.smoke ? 200 : 2000 });
    return { train: t.train, test: t.test, classes: 10, description: "synthetic 28×28 prototypes task (Fashion-MNIST not found)" };
  };
  if (options.synthetic) return synthetic();
  let data;
  try {
    data = loadImageData({ dir: options.data, trainLimit: options.limit || (options.smoke ? 300 : 12000), testLimit: options.testLimit || (options.smoke ? 200 : 0) });
  } catch (error) {
    if (!(error instanceof IdxError)) throw error;
    return fail(error.message, 1);
  }
  if ("missing" in data) {
    process.stderr.write(`jlcm: ${data.missing}\n`);
    return synthetic();
  }
  const split = (/** @type {{ images: Float32Array, labels: Int32Array, n: number }} */ s) => ({ x: s.images, y: s.labels, n: s.n, features: 784 });
  return { train: split(data.train), test: split(data.test), classes: 10, description: `${data.name} (${data.train.n} train, ${data.test.n} test images)` };
}

/**
 * A sorted K-entry codebook for `w` by 1-D k-means (Lloyd's algorithm, 20 iterations from the
 * (k + 0.5)/K quantiles), and each weight's nearest codeword index.
 * @param {Float32Array} w
 * @param {number} K
 */
export function kmeansCodebook(w, K) {
  const sorted = Float64Array.from(w).sort();
  const c = Float64Array.from({ length: K }, (_, k) => sorted[Math.min(sorted.length - 1, Math.floor(((k + 0.5) / K) * sorted.length))]);
  const idx = new Int32Array(w.length);
  for (let iter = 0; iter < 20; iter++) {
    const sum = new Float64Array(K);
    const count = new Float64Array(K);
    for (let i = 0; i < w.length; i++) {
      const k = nearest(c, w[i]);
      idx[i] = k;
      sum[k] += w[i];
      count[k]++;
    }
    for (let k = 0; k < K; k++) if (count[k] > 0) c[k] = sum[k] / count[k];
    c.sort();
  }
  for (let i = 0; i < w.length; i++) idx[i] = nearest(c, w[i]);
  return { c: Float32Array.from(c), idx };
}

/**
 * @param {ArrayLike<number>} c sorted
 * @param {number} v
 */
function nearest(c, v) {
  let best = 0;
  for (let k = 1; k < c.length; k++) if (Math.abs(c[k] - v) < Math.abs(c[best] - v)) best = k;
  return best;
}

/**
 * The weights a codebook and (latent) mapping stand for: c[clamp(round(idx), 0, K − 1)], round
 * ties to even as in std/jlcm.
 * @param {Float32Array} c
 * @param {ArrayLike<number>} idx
 */
function decode(c, idx) {
  const w = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = Math.round(idx[i]);
    const even = Math.abs(idx[i] % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    w[i] = c[Math.min(c.length - 1, Math.max(0, even))];
  }
  return w;
}

const task = loadTask();
const epochs = options.epochs || (options.smoke ? 1 : 3);
const finetune = options.finetune || 1;
const config = {
  c1: options.smoke ? 4 : 16, c2: options.smoke ? 8 : 32, classes: task.classes, epochs, batch: options.smoke ? 50 : 100, lr: options.lr, oEnd: 3,
  seed: options.seed, statsImages: Math.min(options.smoke ? 200 : 2000, task.train.n), evalBatch: Math.min(250, task.test.n),
};
const started = performance.now();
const stepsPerEpoch = Math.floor(task.train.n / config.batch);
const bar = progress("jlcm", (epochs + finetune) * stepsPerEpoch);

// 1. The float network, as train.js trains it.
const params = initParams(config);
const trained = await trainOne(FLOAT, task, config, (info) => bar.tick(info), {}, params);
const floatAccuracy = trained.testAccuracy;

// 2. Codebooks and nearest-codeword mappings.
/** @type {import("../lib/adam.js").Params} */
const coded = {};
for (const { w, c, i } of CODED) {
  const [o, ch] = params[w].shape;
  const book = kmeansCodebook(params[w].data, options.k);
  coded[c] = { data: book.c, shape: [options.k] };
  coded[i] = { data: Float32Array.from(book.idx), shape: [o, ch * 9] };
}
/** The float parameters with each coded layer's weights decoded from its codebook and mapping. */
const decoded = () => {
  /** @type {import("../lib/adam.js").Params} */
  const out = { ...params };
  for (const { w, c, i } of CODED) out[w] = { data: decode(coded[c].data, coded[i].data), shape: params[w].shape };
  return out;
};
const nearestAccuracy = await testAccuracy(FLOAT, decoded(), task.train, task.test, config, {});

// 3. Fine-tuning through `codebook_lookup(c, idx) backward JLCM`: Adam on everything, the latent
// indices with a learning rate of their own (index units).
const jparams = Object.fromEntries(["w1", "g1", "b1", "c2", "i2", "g2", "b2", "c3", "i3", "g3", "b3", "c4", "i4", "g4", "b4", "w5", "b5"].map((n) => [n, coded[n] ?? params[n]]));
const indexNames = CODED.map((l) => l.i);
const rest = Object.fromEntries(Object.entries(jparams).filter(([n]) => !indexNames.includes(n)));
const indices = Object.fromEntries(indexNames.map((n) => [n, jparams[n]]));
const optRest = adam(rest, { lr: options.lrFinetune });
const optIndex = adam(indices, { lr: options.lrIndex });
const loss = /** @type {import("estc/runtime").EstFunction<string, string>} */ (cnn.loss_jlcm);
const total = finetune * stepsPerEpoch;
const moved = { before: CODED.map(({ i }) => decode(Float32Array.from({ length: options.k }, (_, k) => k), jparams[i].data)) };
let step = 0;
let lossSum = 0;
for (let epoch = 0; epoch < finetune; epoch++) {
  for (const batch of batches(task.train.n, config.batch, new Rng(options.seed * 7919 + 1000 + epoch), { dropLast: true })) {
    const b = gather(task.train, batch);
    const inputs = { x: tensor(b.x, [b.n, 1, 28, 28]), labels: tensor(b.y, [b.n]) };
    for (const [n, p] of Object.entries(jparams)) inputs[n] = tensor(p.data, p.shape);
    const { value, grads } = await loss.valueAndGrad(inputs, { wrt: Object.keys(jparams) });
    const l = (await value.data())[0];
    if (!Number.isFinite(l)) fail(`jlcm: the fine-tuning loss became ${l} at step ${step + 1}`, 1);
    lossSum += l;
    /** @type {Record<string, Float32Array>} */
    const g = {};
    for (const n of Object.keys(jparams)) g[n] = /** @type {Float32Array} */ (await grads[n].data());
    const rate = cosineLr(1, step, total);
    optRest.step(g, options.lrFinetune * rate);
    optIndex.step(g, options.lrIndex * rate);
    // Keep each codebook sorted (JLCM's gap is then a distance), moving the indices with it.
    for (const { c, i } of CODED) sortCodebook(jparams[c].data, jparams[i].data);
    step++;
    bar.tick(`fine-tuning with JLCM (K ${options.k}) epoch ${epoch + 1}/${finetune} loss ${(lossSum / step).toFixed(3)}`);
  }
}
bar.done();
const finetunedAccuracy = await testAccuracy(FLOAT, decoded(), task.train, task.test, config, {});

/**
 * Sorts a codebook ascending and renames the mapping's indices to match (a latent index keeps its
 * fractional part).
 * @param {Float32Array} c
 * @param {Float32Array} idx
 */
function sortCodebook(c, idx) {
  const order = Array.from(c.keys()).sort((a, b) => c[a] - c[b]);
  if (order.every((k, j) => k === j)) return;
  const rank = new Int32Array(c.length);
  order.forEach((k, j) => (rank[k] = j));
  const values = order.map((k) => c[k]);
  c.set(values);
  for (let e = 0; e < idx.length; e++) {
    const r = Math.min(c.length - 1, Math.max(0, Math.round(idx[e])));
    idx[e] += rank[r] - r;
  }
}

// 4. Memory: each coded layer stores log2 K bits per weight and K f32 codewords.
const bits = Math.log2(options.k);
const codedWeights = CODED.reduce((n, { w }) => n + params[w].data.length, 0);
const allWeights = Object.values(params).reduce((n, p) => n + p.data.length, 0);
const codedBits = codedWeights * bits + CODED.length * options.k * 32;
const footprint = { floatBytes: allWeights * 4, codedBytes: Math.ceil(((allWeights - codedWeights) * 32 + codedBits) / 8) };
const changed = CODED.map(({ i }, l) => {
  const after = decode(Float32Array.from({ length: options.k }, (_, k) => k), jparams[i].data);
  return after.reduce((n, v, e) => n + (v !== moved.before[l][e] ? 1 : 0), 0) / after.length;
});
const report = {
  task: task.description,
  config: { ...config, k: options.k, finetune, lrFinetune: options.lrFinetune, lrIndex: options.lrIndex, trainSize: task.train.n, testSize: task.test.n },
  floatAccuracy,
  nearestAccuracy,
  finetunedAccuracy,
  bitsPerCodedWeight: codedBits / codedWeights,
  codedWeights,
  mappingChanged: changed,
  footprint,
  wallSeconds: (performance.now() - started) / 1000,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "jlcm.json"), JSON.stringify(report, null, 2) + "\n");
const pct = (/** @type {number} */ a) => `${(100 * a).toFixed(2)}%`;
process.stdout.write(
  [
    `# JLCM on the CNN's convolutions: ${task.description}`,
    `Float network: ${epochs} epoch(s); w2, w3, w4 (${codedWeights} weights) coded with K = ${options.k} codewords per layer; fine-tuned ${finetune} epoch(s) through codebook_lookup(c, idx) backward JLCM.`,
    "",
    "| network | test acc | bits per conv weight (w2-w4) | model size |",
    "| --- | ---: | ---: | ---: |",
    `| float | ${pct(floatAccuracy)} | 32 | ${footprint.floatBytes} B |`,
    `| nearest codeword (k-means, no fine-tuning) | ${pct(nearestAccuracy)} | ${report.bitsPerCodedWeight.toFixed(3)} | ${footprint.codedBytes} B |`,
    `| JLCM fine-tuned | ${pct(finetunedAccuracy)} | ${report.bitsPerCodedWeight.toFixed(3)} | ${footprint.codedBytes} B |`,
    "",
    `Mappings changed by the fine-tuning: ${changed.map((f) => pct(f)).join(", ")} of the weights of w2, w3, w4. Wall time ${report.wallSeconds.toFixed(1)} s.`,
    `wrote ${join(outDir, "jlcm.json")}`,
    "",
  ].join("\n"),
);
