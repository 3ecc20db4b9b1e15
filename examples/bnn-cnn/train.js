// Trains the small CNN of cnn.est five times — float, and binary with STE, ClippedSTE, ReSTE (o
// annealed 1 -> 3) and ApproxSign for sign — from the same initialisation and the same batch
// order, on Fashion-MNIST, and compares test accuracy and ReSTE's indicators per epoch.
// Run from the repository root: npm run example:bnn-cnn [-- --full] [-- --smoke] [-- --device webgpu]
// (see README.md). The networks train side by side, one thread each (--jobs, default 2).
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { webgpu } from "estc/runtime";
import { parseArgs } from "../lib/args.js";
import { prototypeTask } from "../lib/data.js";
import { IdxError } from "../lib/idx.js";
import { loadImageData } from "../lib/mnist.js";
import { progress } from "../lib/progress.js";
import { ESTIMATORS } from "./model.js";
import { writeReport } from "./report.js";
import { trainOne } from "./run.js";

const options = parseArgs(
  process.argv.slice(2),
  { epochs: 0, c1: 0, c2: 0, batch: 0, lr: 0.005, oEnd: 3, seed: 1, data: undefined, synthetic: false, full: false, limit: 0, testLimit: 0, statsImages: 0, jobs: 0, device: "cpu", estimators: ESTIMATORS.map((e) => e.name).join(",") },
  {
    program: "examples/bnn-cnn/train.js",
    help: {
      epochs: "epochs per network (default 3; 8 with --full; 1 with --smoke)",
      c1: "channels of the first two convolutions (default 16; 4 with --smoke)",
      c2: "channels of the last two convolutions (default 32; 8 with --smoke)",
      batch: "batch size (default 100; 50 with --smoke)",
      lr: "Adam's initial learning rate, decayed to 0 by a cosine (default 0.005)",
      oEnd: "ReSTE's final power o, also used by the estimating error (default 3)",
      seed: "seed of the initialisation and the batch order (default 1)",
      data: "a directory with the MNIST-format IDX files; default /usr/share/datasets/fashion-mnist",
      synthetic: "train on a synthetic 28x28 task even when Fashion-MNIST is installed",
      full: "the full data set: all 60,000 training images (default: the first 12,000) and 8 epochs",
      limit: "use the first N training images (default 12,000; all with --full; 300 with --smoke)",
      testLimit: "use the first N test images (default all 10,000; 200 with --smoke)",
      statsImages: "training images the batch norms' population statistics are estimated on (default 2,000; 200 with --smoke)",
      jobs: "networks trained at once, one thread each (default: 2, or the cores if fewer; 1 on webgpu)",
      estimators: "comma-separated subset of float,STE,ClippedSTE,ReSTE,ApproxSign (default all)",
      device: "the back end the networks run on: cpu or webgpu (default cpu)",
    },
  },
);
/** The back ends --device accepts. */
const DEVICES = ["cpu", "webgpu"];
const outDir = resolve(options.out ?? "examples/bnn-cnn/out");
const fail = (/** @type {string} */ message, code = 2) => {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
};
const selected = options.estimators.split(",").map((name) => {
  const e = ESTIMATORS.find((x) => x.name.toLowerCase() === name.trim().toLowerCase());
  if (!e) fail(`unknown estimator '${name}' (known: ${ESTIMATORS.map((x) => x.name).join(", ")})`);
  return /** @type {(typeof ESTIMATORS)[number]} */ (e);
});
if (!DEVICES.includes(options.device)) fail(`unknown device '${options.device}' (known: ${DEVICES.join(", ")})`);
/** --c1, --c2, --batch and --stats-images, with the defaults of the mode (--smoke or not). */
const sizes = {
  c1: options.c1 || (options.smoke ? 4 : 16),
  c2: options.c2 || (options.smoke ? 8 : 32),
  batch: options.batch || (options.smoke ? 50 : 100),
  statsImages: options.statsImages || (options.smoke ? 200 : 2000),
};
for (const [key, value] of Object.entries(sizes)) {
  if (!Number.isInteger(value) || value < 1) fail(`--${key} must be a positive integer, got ${value}`);
}
const task = loadTask();
const epochs = options.epochs || (options.smoke ? 1 : options.full ? 8 : 3);
if (task.train.n < sizes.batch) fail(`--batch ${sizes.batch} is larger than the training set (${task.train.n})`);
const evalBatch = Math.min(250, task.test.n);
const config = { c1: sizes.c1, c2: sizes.c2, classes: task.classes, epochs, batch: sizes.batch, lr: options.lr, oEnd: options.oEnd, seed: options.seed, statsImages: Math.min(sizes.statsImages, task.train.n), evalBatch };
const jobs = options.device === "webgpu" ? 1 : Math.max(1, Math.min(options.jobs || Math.min(2, availableParallelism()), selected.length));

/**
 * Fashion-MNIST from its Debian package's directory, MNIST-format data from --data, or (with
 * --synthetic, or when the package is absent: a note on stderr says so) a synthetic task of
 * 28×28 "images": ten random ±1 prototypes plus Gaussian noise. Pixels are standardised with the
 * full training split's mean and std (0.2860 and 0.3530 for Fashion-MNIST), so a slice is scaled
 * as the full run is. Data live in shared memory, so the training threads read them in place.
 */
function loadTask() {
  const synthetic = () => {
    const t = prototypeTask({ features: 784, classes: 10, noise: 2.5, seed: options.seed, trainSize: options.smoke ? 300 : 6000, testSize: options.smoke ? 200 : 2000 });
    return { train: shared(t.train.x, t.train.y), test: shared(t.test.x, t.test.y), classes: 10, description: "synthetic 28×28 prototypes task (Fashion-MNIST not found)", real: false };
  };
  if (options.synthetic) {
    if (options.data !== undefined) fail("--synthetic and --data exclude each other");
    return synthetic();
  }
  const trainLimit = options.limit || (options.smoke ? 300 : options.full ? 0 : 12000);
  let data;
  try {
    data = loadImageData({ dir: options.data, trainLimit, testLimit: options.testLimit || (options.smoke ? 200 : 0) });
  } catch (error) {
    if (!(error instanceof IdxError)) throw error;
    fail(error.message, 1);
  }
  data = /** @type {Exclude<typeof data, undefined>} */ (data);
  if ("missing" in data) {
    process.stderr.write(`bnn-cnn: ${data.missing}\n`);
    return synthetic();
  }
  if (data.rows !== 28 || data.cols !== 28) fail(`${data.dir}: the network takes 28×28 images, the data have ${data.rows}×${data.cols}`, 1);
  let classes = 0;
  for (const labels of [data.train.labels, data.test.labels]) for (const label of labels) classes = Math.max(classes, label + 1);
  const { mean, std } = data.stats;
  const description = `${data.name} (${data.train.n} train, ${data.test.n} test images, standardised with the training mean ${mean.toFixed(4)} and std ${std.toFixed(4)})`;
  return { train: shared(data.train.images, data.train.labels), test: shared(data.test.images, data.test.labels), classes, description, real: true };
}

/**
 * A split copied into SharedArrayBuffers, as the training threads take it.
 * @param {Float32Array} x
 * @param {Int32Array} y
 */
function shared(x, y) {
  const sx = new Float32Array(new SharedArrayBuffer(x.byteLength));
  sx.set(x);
  const sy = new Int32Array(new SharedArrayBuffer(y.byteLength));
  sy.set(y);
  return { x: sx, y: sy, n: y.length, features: 784 };
}

/**
 * Runs `estimator` in a worker thread; resolves with its result.
 * @param {(typeof ESTIMATORS)[number]} estimator
 * @param {(info: string) => void} tick
 * @returns {Promise<Awaited<ReturnType<typeof trainOne>>>}
 */
function inWorker(estimator, tick) {
  return new Promise((done, reject) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: { name: estimator.name, data: { train: task.train, test: task.test }, config } });
    worker.on("message", (m) => {
      if (m.kind === "tick") tick(m.info);
      else if (m.kind === "result") done(m.result);
      else reject(new Error(m.message));
    });
    worker.on("error", reject);
    worker.on("exit", (code) => code !== 0 && reject(new Error(`the ${estimator.name} thread exited with code ${code}`)));
  });
}

let device;
if (options.device === "webgpu") {
  try {
    device = await webgpu();
  } catch (error) {
    fail(`--device webgpu: ${/** @type {Error} */ (error).message}`, 1);
  }
  const a = device.adapter;
  process.stderr.write(`bnn-cnn: WebGPU on ${a.description || a.device || a.vendor} (${a.path}, ${a.backend}, ${a.featureLevel})\n`);
}
const started = performance.now();
const bar = progress("bnn-cnn", selected.length * epochs * Math.floor(task.train.n / sizes.batch));
/** @type {Map<string, string>} */
const status = new Map();
const tick = (/** @type {string} */ name) => (/** @type {string} */ info) => {
  status.set(name, info);
  bar.tick([...status.values()].join(" | "));
};
/** @type {Awaited<ReturnType<typeof trainOne>>[]} */
const results = new Array(selected.length);
/** The report of the networks finished so far (in --estimators order); `complete` once all are. */
const report = (/** @type {boolean} */ complete) => ({
  task: task.description,
  config: { ...config, trainSize: task.train.n, testSize: task.test.n, jobs, device: options.device, smoke: options.smoke, full: options.full },
  results: results.filter((r) => r !== undefined),
  complete,
  wallSeconds: (performance.now() - started) / 1000,
});
try {
  let next = 0;
  const lane = async () => {
    while (next < selected.length) {
      const i = next++;
      const e = selected[i];
      results[i] = jobs > 1 ? await inWorker(e, tick(e.name)) : await trainOne(e, task, config, tick(e.name), device ? { device } : {});
      status.delete(e.name);
      // A long run (--full: hours) loses nothing finished when it is stopped: the report so far
      // is rewritten after each network, marked incomplete until the last one.
      if (results.filter((r) => r !== undefined).length < selected.length) {
        mkdirSync(outDir, { recursive: true });
        writeReport(outDir, report(false));
        process.stderr.write(`bnn-cnn: ${e.name} finished (test accuracy ${(100 * results[i].testAccuracy).toFixed(2)}%); partial results in ${outDir}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
} catch (error) {
  bar.done();
  fail(/** @type {Error} */ (error).message, 1);
} finally {
  device?.destroy();
}
bar.done();
mkdirSync(outDir, { recursive: true });
process.stdout.write(writeReport(outDir, report(true)));
