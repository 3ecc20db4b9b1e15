// examples/lib/mnist.js: where the examples find MNIST-format data and how they normalise it.
// Hand-made IDX files (headers written byte by byte) check the normalisation against values worked
// out here and the fallback note; the installed Fashion-MNIST (Debian's dataset-fashion-mnist,
// which .ci/run installs) is checked against its published facts: 60000/10000 images of 28x28,
// 6000 per class in train and 1000 in test, and the pixel mean/std 0.2860/0.3530.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdxError } from "../../examples/lib/idx.js";
import { FASHION_MNIST_DIR, FASHION_MNIST_MEAN, FASHION_MNIST_STD, loadImageData, pixelStats, standardise, type ImageData } from "../../examples/lib/mnist.js";

const dir = join("tests", ".tmp", `mnist-${process.pid}`);
const be = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

// Train: four 1x2 images with bytes 0, 255 | 51, 204 | 0, 0 | 255, 255; test: two images.
const trainBytes = [0, 255, 51, 204, 0, 0, 255, 255];
const testBytes = [102, 153, 255, 0];

beforeAll(() => {
  mkdirSync(join(dir, "tiny"), { recursive: true });
  writeFileSync(join(dir, "tiny", "train-images-idx3-ubyte.gz"), gzipSync(Uint8Array.from([0, 0, 8, 3, ...be(4), ...be(1), ...be(2), ...trainBytes])));
  writeFileSync(join(dir, "tiny", "train-labels-idx1-ubyte"), Uint8Array.from([0, 0, 8, 1, ...be(4), 3, 1, 4, 1]));
  writeFileSync(join(dir, "tiny", "t10k-images-idx3-ubyte"), Uint8Array.from([0, 0, 8, 3, ...be(2), ...be(1), ...be(2), ...testBytes]));
  writeFileSync(join(dir, "tiny", "t10k-labels-idx1-ubyte.gz"), gzipSync(Uint8Array.from([0, 0, 8, 1, ...be(2), 5, 9])));
  mkdirSync(join(dir, "empty"), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pixelStats and standardise", () => {
  it("give the population mean and std and (v - mean) / std", () => {
    // 1, 2, 3, 4, 10: mean 4, squared deviations 9 + 4 + 1 + 0 + 36 = 50, std sqrt(10).
    const s = pixelStats([1, 2, 3, 4, 10]);
    expect(s.mean).toBe(4);
    expect(s.std).toBeCloseTo(Math.sqrt(10), 14);
    expect([...standardise([4, 14, -6], { mean: 4, std: 10 })]).toEqual([0, 1, -1]);
  });
});

describe("loadImageData on hand-made IDX files", () => {
  it("standardises with the training split's statistics (by default)", () => {
    const d = loadImageData({ dir: join(dir, "tiny") }) as ImageData;
    // Train pixels in [0, 1]: 0, 1, 0.2, 0.8, 0, 0, 1, 1: mean 0.5; squared deviations
    // 0.25 * 6 + 0.09 * 2 = 1.68 over 8 → std sqrt(0.21).
    expect(d.stats.mean).toBeCloseTo(0.5, 7);
    expect(d.stats.std).toBeCloseTo(Math.sqrt(0.21), 7);
    const z = (b: number) => Math.fround((b / 255 - 0.5) / Math.sqrt(0.21));
    d.train.images.forEach((v, i) => expect(v).toBeCloseTo(z(trainBytes[i]!), 6));
    d.test.images.forEach((v, i) => expect(v).toBeCloseTo(z(testBytes[i]!), 6));
    expect(d.train.images).toBeInstanceOf(Float32Array);
    expect(d.train.labels).toBeInstanceOf(Int32Array);
    expect([...d.train.labels]).toEqual([3, 1, 4, 1]);
    expect([...d.test.labels]).toEqual([5, 9]);
    expect([d.train.n, d.test.n, d.rows, d.cols]).toEqual([4, 2, 1, 2]);
    expect(d.normalise).toBe("standard");
    expect(d.name).toBe(`MNIST-format data from ${join(dir, "tiny")}`);
  });

  it("scales to [0, 1] with normalise: unit, and slices with the limits (stats of the full split)", () => {
    const d = loadImageData({ dir: join(dir, "tiny"), normalise: "unit", trainLimit: 3, testLimit: 1 }) as ImageData;
    expect([...d.train.images]).toEqual([0, 1, 0.2, 0.8, 0, 0].map(Math.fround));
    expect([...d.train.labels]).toEqual([3, 1, 4]);
    expect([...d.test.images]).toEqual([0.4, 0.6].map(Math.fround));
    expect([d.train.n, d.test.n]).toEqual([3, 1]);
    expect(d.stats.mean).toBeCloseTo(0.5, 7); // all four training images, not the slice
    expect(() => loadImageData({ dir: join(dir, "tiny"), normalise: "minmax" as "unit" })).toThrow(/normalise must be "standard" or "unit", got 'minmax'/);
  });

  it("falls back with the install hint when the default directory is absent", () => {
    const r = loadImageData({ defaultDir: join(dir, "empty") });
    expect(r).toEqual({
      missing: `note: no Fashion-MNIST in ${join(dir, "empty")} (install it with \`apt-get install dataset-fashion-mnist\`, or pass --data DIR for any directory with the four MNIST IDX files); using the synthetic task instead`,
    });
  });

  it("reads the default directory when it has the files, and names it Fashion-MNIST", () => {
    const d = loadImageData({ defaultDir: join(dir, "tiny") }) as ImageData;
    expect(d.name).toBe("Fashion-MNIST");
    expect(d.train.n).toBe(4);
  });

  it("treats a missing --data directory as an error, not a fallback", () => {
    expect(() => loadImageData({ dir: join(dir, "empty") })).toThrow(IdxError);
    expect(() => loadImageData({ dir: join(dir, "empty") })).toThrow(/no train-images-idx3-ubyte or train-images-idx3-ubyte\.gz/);
  });
});

// The real files: Debian's package installs them; CI installs the package (.ci/run).
describe.skipIf(!existsSync(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")))("the installed Fashion-MNIST", () => {
  it("has 60000 + 10000 images of 28x28, 6000 per class in train and 1000 in test, and the published pixel statistics", () => {
    const d = loadImageData({ normalise: "unit" }) as ImageData;
    expect([d.train.n, d.test.n, d.rows, d.cols]).toEqual([60000, 10000, 28, 28]);
    const histogram = (labels: Int32Array) => {
      const h = new Array<number>(10).fill(0);
      for (const l of labels) h[l]! += 1;
      return h;
    };
    expect(histogram(d.train.labels)).toEqual(new Array(10).fill(6000));
    expect(histogram(d.test.labels)).toEqual(new Array(10).fill(1000));
    // Computed here from the bytes: 0.28604 and 0.35302, the constants rounded to 4 places.
    const s = pixelStats(d.train.images);
    expect(Math.abs(s.mean - FASHION_MNIST_MEAN)).toBeLessThan(5e-5);
    expect(Math.abs(s.std - FASHION_MNIST_STD)).toBeLessThan(5e-5);
    expect(d.stats.mean).toBeCloseTo(s.mean, 12);
    // The default normalisation gives the training split mean 0 and std 1.
    const z = loadImageData({ trainLimit: 0 }) as ImageData;
    const zs = pixelStats(z.train.images);
    expect(Math.abs(zs.mean)).toBeLessThan(1e-6);
    expect(Math.abs(zs.std - 1)).toBeLessThan(1e-6);
  }, 60_000);
});
