// Where the examples find their image data and how they normalise it. Debian's package
// dataset-fashion-mnist installs the four Fashion-MNIST IDX files (gzipped) under
// /usr/share/datasets/fashion-mnist; that directory is the default, `--data DIR` names any
// MNIST-format directory instead, and without either the examples fall back to their synthetic
// task with a note saying how to get the real data. The IDX format itself is read by idx.js.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadMnist } from "./idx.js";

/** Where Debian's dataset-fashion-mnist package installs the data. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** How to get the default data (the note printed when it is absent says this). */
export const FASHION_MNIST_INSTALL = "apt-get install dataset-fashion-mnist";

/**
 * Mean and standard deviation of every pixel of the Fashion-MNIST training split, in [0, 1] units
 * (byte / 255), rounded to 4 places: 0.28604 and 0.35302 computed over its 60000 × 784 pixels
 * (population standard deviation; tests/examples/mnist.test.ts recomputes them from the files).
 * They are the constants the Fashion-MNIST literature normalises with; loadImageData computes the
 * same statistics from whatever training split it reads, so MNIST (0.1307 / 0.3081) works too.
 */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;

/**
 * @typedef {object} PixelStats
 * @property {number} mean
 * @property {number} std population standard deviation (divides by the count, not count − 1)
 */

/**
 * The mean and population standard deviation of `values`, accumulated in f64.
 * @param {ArrayLike<number>} values
 * @returns {PixelStats}
 */
export function pixelStats(values) {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  // Two passes: the one-pass E[x²] − E[x]² loses digits when the mean is large against the spread.
  let square = 0;
  for (let i = 0; i < values.length; i++) square += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(square / values.length) };
}

/**
 * `(v − mean) / std` for every value, as a new Float32Array.
 * @param {ArrayLike<number>} values
 * @param {PixelStats} stats
 * @returns {Float32Array}
 */
export function standardise(values, { mean, std }) {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - mean) / std;
  return out;
}

/**
 * @typedef {object} ImageSplit
 * @property {Float32Array} images `n * rows * cols` values, normalised as `normalise` says
 * @property {Int32Array} labels `n` labels
 * @property {number} n
 */

/**
 * @typedef {object} ImageData
 * @property {string} dir the directory the files were read from
 * @property {string} name "Fashion-MNIST" for the default directory, else "MNIST-format data from DIR"
 * @property {ImageSplit} train
 * @property {ImageSplit} test
 * @property {number} rows
 * @property {number} cols
 * @property {"standard" | "unit"} normalise
 * @property {PixelStats} stats the full training split's pixel statistics in [0, 1] units (the
 *   standardisation uses them whatever the limits, so a slice is normalised as the full run is)
 */

/**
 * @typedef {object} LoadImageOptions
 * @property {string} [dir] `--data DIR`: read this directory; a missing or bad file is an error (IdxError)
 * @property {string} [defaultDir] where to look when `dir` is not given (FASHION_MNIST_DIR)
 * @property {"standard" | "unit"} [normalise] "standard" (default): (byte/255 − mean) / std with
 *   the training split's statistics; "unit": byte / 255, in [0, 1]
 * @property {number} [trainLimit] keep the first N training images (0 or absent: all)
 * @property {number} [testLimit] keep the first N test images (0 or absent: all)
 */

/**
 * Loads MNIST-format data for an example: from `dir` when given, else from `defaultDir` when its
 * files are there. Returns `{ missing }` — the note to print before falling back to a synthetic
 * task — only when no `dir` was given and the default directory has no training images.
 * @param {LoadImageOptions} [options]
 * @returns {ImageData | { missing: string }}
 */
export function loadImageData(options = {}) {
  const { dir, defaultDir = FASHION_MNIST_DIR, normalise = "standard", trainLimit = 0, testLimit = 0 } = options;
  if (normalise !== "standard" && normalise !== "unit") throw new Error(`loadImageData: normalise must be "standard" or "unit", got '${normalise}'`);
  const from = dir ?? defaultDir;
  if (dir === undefined && !["", ".gz"].some((ext) => existsSync(join(defaultDir, `train-images-idx3-ubyte${ext}`)))) {
    return {
      missing: `note: no Fashion-MNIST in ${defaultDir} (install it with \`${FASHION_MNIST_INSTALL}\`, or pass --data DIR for any directory with the four MNIST IDX files); using the synthetic task instead`,
    };
  }
  const { train, test } = loadMnist(from);
  const stats = pixelStats(train.images);
  const split = (/** @type {import("./idx.js").MnistSplit} */ s, /** @type {number} */ limit) => {
    const n = limit > 0 ? Math.min(limit, s.n) : s.n;
    const raw = s.images.subarray(0, n * train.rows * train.cols);
    return { images: normalise === "standard" ? standardise(raw, stats) : raw.slice(), labels: s.labels.slice(0, n), n };
  };
  return {
    dir: from,
    name: dir === undefined ? "Fashion-MNIST" : `MNIST-format data from ${dir}`,
    train: split(train, trainLimit),
    test: split(test, testLimit),
    rows: train.rows,
    cols: train.cols,
    normalise,
    stats,
  };
}
