// Seeded randomness and small synthetic classification tasks for the examples, so every run of an
// example prints the same numbers and needs no download.

/**
 * @typedef {object} Split a labelled set, row-major
 * @property {Float32Array} x features, `n * features` values
 * @property {Int32Array} y labels in [0, classes)
 * @property {number} n number of examples
 * @property {number} features values per example
 */

/**
 * @typedef {object} Task
 * @property {Split} train
 * @property {Split} test
 * @property {number} features
 * @property {number} classes
 * @property {string} description one line for a README or a log
 */

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): a uniform number in [0, 1) per call.
 * @param {number} seed any integer; the same seed gives the same stream
 * @returns {() => number}
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded random source: uniform, normal (Box–Muller), integers, shuffles. */
export class Rng {
  /** @param {number} seed */
  constructor(seed) {
    /** A uniform number in [0, 1). */
    this.next = mulberry32(seed);
    /** @private @type {number | undefined} the second Box–Muller value, kept for the next call */
    this.spare = undefined;
  }

  /** A uniform number in [lo, hi). */
  uniform(lo = 0, hi = 1) {
    return lo + (hi - lo) * this.next();
  }

  /** A normal number (Box–Muller: two uniforms give two independent normals). */
  normal(mean = 0, sd = 1) {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + sd * z;
    }
    const u = 1 - this.next(); // in (0, 1], so the log is finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). @param {number} n */
  int(n) {
    return Math.floor(this.next() * n);
  }

  /**
   * Shuffles in place (Fisher–Yates) and returns the array.
   * @template {{ length: number, [i: number]: any }} A
   * @param {A} array
   * @returns {A}
   */
  shuffle(array) {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** A random permutation of 0..n-1. @param {number} n */
  permutation(n) {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** `n` normal values with standard deviation `sd`. @param {number} n @param {number} [sd] */
  normals(n, sd = 1) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(0, sd);
    return out;
  }
}

/**
 * K classes, each a random ±1 prototype; an example is its prototype plus Gaussian noise
 * (the quickstart's task). Easy for a linear model unless `noise` is large.
 * @param {{ classes?: number, features?: number, noise?: number, trainSize?: number, testSize?: number, seed?: number }} [options]
 * @returns {Task}
 */
export function prototypeTask(options = {}) {
  const { classes = 10, features = 64, noise = 1.2, trainSize = 2048, testSize = 1024, seed = 1 } = options;
  const rng = new Rng(seed);
  const prototypes = Array.from({ length: classes }, () => Float32Array.from({ length: features }, () => (rng.next() < 0.5 ? -1 : 1)));
  /** @param {number} n */
  const split = (n) => {
    const x = new Float32Array(n * features);
    const y = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const k = rng.int(classes);
      y[b] = k;
      for (let i = 0; i < features; i++) x[b * features + i] = prototypes[k][i] + noise * rng.normal();
    }
    return { x, y, n, features };
  };
  const train = split(trainSize);
  const test = split(testSize);
  return { train, test, features, classes, description: `${classes} ±1 prototypes in ${features} dims + N(0, ${noise}²) noise` };
}

/**
 * Labels from a random teacher network: x ~ N(0, I), label = argmax(W2 tanh(W1 x)), with each
 * logit centred over the data so the classes are roughly balanced. Its class boundaries are
 * curved, so a binary student needs its hidden layer and the gradient estimator matters.
 * `labelNoise` replaces that fraction of labels by random ones.
 * @param {{ classes?: number, features?: number, hidden?: number, trainSize?: number, testSize?: number, labelNoise?: number, seed?: number }} [options]
 * @returns {Task}
 */
export function teacherTask(options = {}) {
  const { classes = 10, features = 64, hidden = 32, trainSize = 4096, testSize = 1024, labelNoise = 0, seed = 1 } = options;
  const rng = new Rng(seed);
  const w1 = rng.normals(hidden * features, 1 / Math.sqrt(features));
  const w2 = rng.normals(classes * hidden, 1 / Math.sqrt(hidden));
  const n = trainSize + testSize;
  const x = rng.normals(n * features);
  const logits = new Float64Array(n * classes);
  const h = new Float64Array(hidden);
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < hidden; j++) {
      let s = 0;
      for (let i = 0; i < features; i++) s += w1[j * features + i] * x[b * features + i];
      h[j] = Math.tanh(2 * s);
    }
    for (let k = 0; k < classes; k++) {
      let s = 0;
      for (let j = 0; j < hidden; j++) s += w2[k * hidden + j] * h[j];
      logits[b * classes + k] = s;
    }
  }
  const mean = new Float64Array(classes);
  for (let b = 0; b < n; b++) for (let k = 0; k < classes; k++) mean[k] += logits[b * classes + k] / n;
  const y = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[b * classes + k] - mean[k] > logits[b * classes + best] - mean[best]) best = k;
    y[b] = labelNoise > 0 && rng.next() < labelNoise ? rng.int(classes) : best;
  }
  const train = { x: x.slice(0, trainSize * features), y: y.slice(0, trainSize), n: trainSize, features };
  const test = { x: x.slice(trainSize * features), y: y.slice(trainSize), n: testSize, features };
  const noiseNote = labelNoise > 0 ? `, ${100 * labelNoise}% label noise` : "";
  return { train, test, features, classes, description: `random tanh teacher ${features}-${hidden}-${classes}${noiseNote}` };
}

/**
 * Splits 0..n-1 into batches of `batchSize` (shuffled with `rng` when given; the last short
 * batch dropped when `dropLast`, which keeps a fixed batch shape for a compiled module).
 * @param {number} n
 * @param {number} batchSize
 * @param {Rng} [rng]
 * @param {{ dropLast?: boolean }} [options]
 * @returns {Int32Array[]}
 */
export function batches(n, batchSize, rng, options = {}) {
  if (!(batchSize >= 1)) throw new RangeError(`batches: batchSize must be >= 1, got ${batchSize}`);
  const order = rng ? rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  /** @type {Int32Array[]} */
  const out = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    if (options.dropLast && end - start < batchSize) break;
    out.push(order.slice(start, end));
  }
  return out;
}

/**
 * The examples at `indices`, copied into a new split (rows in the order given).
 * @param {Split} split
 * @param {ArrayLike<number>} indices
 * @returns {Split}
 */
export function gather(split, indices) {
  const f = split.features;
  const x = new Float32Array(indices.length * f);
  const y = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const r = indices[b];
    if (!(r >= 0 && r < split.n)) throw new RangeError(`gather: index ${r} outside [0, ${split.n})`);
    x.set(split.x.subarray(r * f, (r + 1) * f), b * f);
    y[b] = split.y[r];
  }
  return { x, y, n: indices.length, features: f };
}

/**
 * Index of the largest of each row's `classes` values (first on ties).
 * @param {ArrayLike<number>} logits `n * classes`
 * @param {number} classes
 * @returns {Int32Array}
 */
export function argmaxRows(logits, classes) {
  const n = Math.floor(logits.length / classes);
  const out = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[b * classes + k] > logits[b * classes + best]) best = k;
    out[b] = best;
  }
  return out;
}

/**
 * Fraction of rows whose argmax equals the label.
 * @param {ArrayLike<number>} logits `n * classes`
 * @param {ArrayLike<number>} labels `n`
 * @param {number} classes
 */
export function accuracy(logits, labels, classes) {
  const predicted = argmaxRows(logits, classes);
  let correct = 0;
  for (let b = 0; b < predicted.length; b++) correct += predicted[b] === labels[b] ? 1 : 0;
  return predicted.length === 0 ? 0 : correct / predicted.length;
}
