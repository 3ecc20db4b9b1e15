// Trains the binary MLP of bnn.est with four estimators for sign — STE, ClippedSTE, ReSTE (o
// annealed 1 -> 3) and ApproxSign — from the same initialisation and the same data order, and
// compares test accuracy and ReSTE's indicators (estimating error, gradient stability) per epoch.
// Run from the repository root: npm run example:bnn [-- --data DIR] [-- --smoke] [-- --device webgpu]
// (see README.md). With --device webgpu the losses and the forward run as WGSL kernels on the
// adapter webgpu() finds; the parameters and Adam stay on the host either way.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { estimatingError, flipRatio, gradientStability, resteO, tensor, webgpu } from "estc/runtime";
import { parseArgs } from "../lib/args.js";
import { accuracy, batches, gather, Rng, teacherTask } from "../lib/data.js";
import { IdxError } from "../lib/idx.js";
import { loadImageData } from "../lib/mnist.js";
import { progress } from "../lib/progress.js";
import * as bnn from "./out/bnn.js";
import { adam, BINARY, ESTIMATORS, initParams, paramTensors } from "./model.js";
import { writeReport } from "./report.js";

const options = parseArgs(
  process.argv.slice(2),
  { epochs: 0, hidden: 0, batch: 128, features: 32, teacher: 16, lr: 0.01, oEnd: 3, seed: 1, data: undefined, synthetic: false, limit: 10000, device: "cpu", estimators: ESTIMATORS.map((e) => e.name).join(",") },
  {
    program: "examples/bnn/train.js",
    help: {
      epochs: "epochs per estimator (default 15 synthetic, 5 with --data, 2 with --smoke)",
      hidden: "units per binary hidden layer (default 128 synthetic, 512 with --data, 32 with --smoke)",
      batch: "batch size (default 128)",
      features: "synthetic task: input size (default 32)",
      teacher: "synthetic task: the teacher network's hidden units (default 16)",
      lr: "Adam learning rate (default 0.01)",
      oEnd: "ReSTE's final power o, also used by the estimating error (default 3)",
      seed: "seed of the task, the initialisation and the batch order (default 1)",
      data: "a directory with the MNIST IDX files (train-images-idx3-ubyte, ..., optionally .gz); default /usr/share/datasets/fashion-mnist",
      synthetic: "train on the synthetic teacher task even when Fashion-MNIST is installed",
      limit: "real data: use only the first N training images (default 10000; 0 = all 60000; 1024 with --smoke)",
      estimators: "comma-separated subset of STE,ClippedSTE,ReSTE,ApproxSign (default all)",
      device: "the back end the losses run on: cpu or webgpu (default cpu)",
    },
  },
);
/** The back ends --device accepts. */
const DEVICES = ["cpu", "webgpu"];
const outDir = resolve(options.out ?? "examples/bnn/out");
const task = loadTask();
const epochs = options.epochs || (options.smoke ? 2 : task.real ? 5 : 15);
const hidden = options.hidden || (options.smoke ? 32 : task.real ? 512 : 128);
const selected = options.estimators.split(",").map((name) => {
  const e = ESTIMATORS.find((x) => x.name.toLowerCase() === name.trim().toLowerCase());
  if (!e) {
    process.stderr.write(`error: unknown estimator '${name}' (known: ${ESTIMATORS.map((x) => x.name).join(", ")})\n`);
    process.exit(2);
  }
  return e;
});
if (!DEVICES.includes(options.device)) {
  process.stderr.write(`error: unknown device '${options.device}' (known: ${DEVICES.join(", ")})\n`);
  process.exit(2);
}
if (task.train.n < options.batch) {
  process.stderr.write(`error: --batch ${options.batch} is larger than the training set (${task.train.n})\n`);
  process.exit(2);
}

/**
 * The WebGPU device for --device webgpu, else undefined (the calls then take the runtime's default,
 * the shared cpu device, with exactly the options they had before --device existed).
 * @returns {Promise<import("estc/runtime").WebGpuDevice | undefined>}
 */
async function openDevice() {
  if (options.device !== "webgpu") return undefined;
  try {
    return await webgpu();
  } catch (error) {
    process.stderr.write(`error: --device webgpu: ${/** @type {Error} */ (error).message}\n`);
    process.exit(1);
  }
}

/**
 * The adapter a WebGPU device runs on, as recorded in results.json and printed in the summary.
 * @param {import("estc/runtime").WebGpuDevice} device
 */
function adapterInfo(device) {
  const { path, vendor, architecture, device: name, description, backend, featureLevel } = device.adapter;
  return { path, vendor, architecture, device: name, description, backend, featureLevel };
}

/**
 * Fashion-MNIST from its Debian package's directory, MNIST-format data from --data, or (with
 * --synthetic, or when the package is absent: a note on stderr says so) the synthetic teacher task.
 * Pixels are standardised with the full training split's mean and std (0.2860 and 0.3530 for
 * Fashion-MNIST), so a --smoke or --limit slice is scaled as the full run is.
 */
function loadTask() {
  const synthetic = () => {
    const sizes = options.smoke ? { trainSize: 512, testSize: 256 } : { trainSize: 8192, testSize: 2048 };
    return { ...teacherTask({ features: options.features, hidden: options.teacher, classes: 10, seed: options.seed, ...sizes }), real: false };
  };
  if (options.synthetic) {
    if (options.data !== undefined) {
      process.stderr.write("error: --synthetic and --data exclude each other\n");
      process.exit(2);
    }
    return synthetic();
  }
  let data;
  try {
    data = loadImageData({ dir: options.data, trainLimit: options.smoke ? 1024 : options.limit, testLimit: options.smoke ? 512 : 0 });
  } catch (error) {
    if (!(error instanceof IdxError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(1);
  }
  if ("missing" in data) {
    process.stderr.write(`bnn: ${data.missing}\n`);
    return synthetic();
  }
  const f = data.rows * data.cols;
  const split = (/** @type {import("../lib/mnist.js").ImageSplit} */ s) => ({ x: s.images, y: s.labels, n: s.n, features: f });
  // Labels are 0 … K−1 (10 for MNIST and Fashion-MNIST); K comes from the data for other sets.
  let classes = 0;
  for (const labels of [data.train.labels, data.test.labels]) for (const label of labels) classes = Math.max(classes, label + 1);
  const { mean, std } = data.stats;
  const description = `${data.name} (${data.train.n} train, ${data.test.n} test images, standardised with the training mean ${mean.toFixed(4)} and std ${std.toFixed(4)})`;
  return { train: split(data.train), test: split(data.test), features: f, classes, description, real: true };
}

/**
 * Test accuracy of the current parameters (the forward is the same for every estimator).
 * @param {import("./model.js").Params} params
 */
async function testAccuracy(params) {
  const x = tensor(task.test.x, [task.test.n, task.features]);
  const inputs = /** @type {Parameters<typeof bnn.logits.forward>[0]} */ ({ x, ...paramTensors(params) });
  const out = await bnn.logits.forward(inputs, onDevice);
  const logits = await out.data();
  out.dispose(); // on webgpu the logits hold a pooled buffer until disposed
  for (const t of Object.values(inputs)) t.dispose();
  return accuracy(logits, task.test.y, task.classes);
}

/**
 * Trains one estimator; every estimator sees the same initial parameters and batch order.
 * @param {(typeof ESTIMATORS)[number]} estimator
 * @param {import("../lib/progress.js").Progress} bar
 */
async function train(estimator, bar) {
  const started = performance.now();
  const params = initParams(task.features, hidden, task.classes, options.seed);
  const optimiser = adam(params, { lr: options.lr });
  const lossFn = /** @type {import("estc/runtime").EstFunction<string, string>} */ (bnn[/** @type {keyof typeof bnn} */ (estimator.loss)]);
  const history = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    // o follows ReSTE's official loop: epoch e of E (0-based) gets resteO(e, E), from 1 towards oEnd.
    const o = resteO(epoch, epochs, options.oEnd);
    const order = batches(task.train.n, options.batch, new Rng(options.seed * 7919 + epoch), { dropLast: true });
    let lossSum = 0;
    let steps = 0;
    let flips = 0;
    /** @type {Float32Array[]} */
    let lastGrads = [];
    for (const indices of order) {
      const b = gather(task.train, indices);
      const inputs = { x: tensor(b.x, [b.n, task.features]), labels: tensor(b.y, [b.n]), ...paramTensors(params) };
      // Host tensors are uploaded by the runtime itself (into buffers the call frees); only the
      // results live on the device, so each is disposed once read.
      const { value, grads } = await lossFn.valueAndGrad(inputs, { ...(estimator.annealed ? { o } : {}), ...onDevice, wrt: Object.keys(params) });
      // Dispose the inputs too: a dropped tensor is only reclaimed by a finalizer, which a loop
      // of awaits on CPU work never yields to, so each step's ~3 MB of inputs would pile up
      // (a full Fashion-MNIST run grew to 22.7 GB and was OOM-killed before this).
      for (const t of Object.values(inputs)) t.dispose();
      lossSum += (await value.data())[0];
      value.dispose();
      steps++;
      /** @type {Record<string, Float32Array>} */
      const g = {};
      for (const name of Object.keys(params)) g[name] = /** @type {Float32Array} */ (await grads[name].data());
      for (const t of Object.values(grads)) t.dispose();
      const before = BINARY.map((name) => params[name].data.slice());
      optimiser.step(g);
      flips += flipRatio(before, BINARY.map((name) => params[name].data));
      lastGrads = BINARY.map((name) => g[name]);
      bar.tick(`${estimator.name} epoch ${epoch + 1}/${epochs}${estimator.annealed ? ` o ${o.toFixed(2)}` : ""} loss ${(lossSum / steps).toFixed(3)}${history.length > 0 ? ` acc ${history[history.length - 1].testAccuracy.toFixed(3)}` : ""}`);
    }
    history.push({
      epoch: epoch + 1,
      o: estimator.annealed ? o : null,
      trainLoss: lossSum / order.length,
      testAccuracy: await testAccuracy(params),
      // ReSTE's indicators (utils/tools.py in DravenALG/ReSTE): EE on the latent binary weights
      // with the final power oEnd; GS on the last step's latent-weight gradients of the epoch.
      estimatingError: estimatingError(BINARY.map((name) => params[name].data), options.oEnd),
      gradientStability: gradientStability(lastGrads),
      flipRatio: flips / order.length, // mean over the epoch's steps of the fraction of binary weights flipped
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

const device = await openDevice();
/** Spread into every call's options: `{ device }` on webgpu, nothing on cpu. */
const onDevice = device ? { device } : {};
if (device) {
  const a = device.adapter;
  process.stderr.write(`bnn: WebGPU on ${a.description || a.device || a.vendor} (${a.path}, ${a.backend}, ${a.featureLevel})\n`);
}
const started = performance.now();
const stepsPerEpoch = Math.floor(task.train.n / options.batch);
const bar = progress("bnn", selected.length * epochs * stepsPerEpoch);
const results = [];
/** @type {import("./report.js").DeviceStats | undefined} */
let deviceStats;
try {
  for (const estimator of selected) results.push(await train(estimator, bar));
  // Bytes still held once every result was read and disposed: 0 unless a step leaks a buffer.
  if (device) deviceStats = { bytesAllocatedAtEnd: device.memory.bytesAllocated, peakBytesAllocated: device.memory.peakBytesAllocated, ...device.transfers };
} finally {
  device?.destroy(); // Dawn keeps Node alive while a device lives, also after an error
}
bar.done();
mkdirSync(outDir, { recursive: true });
const config = { epochs, hidden, batch: options.batch, lr: options.lr, oEnd: options.oEnd, seed: options.seed, smoke: options.smoke, features: task.features, classes: task.classes, trainSize: task.train.n, testSize: task.test.n, device: options.device, ...(device ? { adapter: adapterInfo(device) } : {}) };
const summary = writeReport(outDir, { task: task.description, config, results, wallSeconds: (performance.now() - started) / 1000, ...(deviceStats ? { deviceStats } : {}) });
process.stdout.write(summary);
