// The IDX (MNIST format) loader: the test writes small IDX files byte by byte, plain and gzipped,
// and checks the loader returns exactly those values, and the documented errors for bad files.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdxError, loadIdxPair, loadMnist, parseIdx, readIdx } from "../../examples/lib/idx.js";

const dir = join("tests", ".tmp", `idx-${process.pid}`);

// Three 3x4 images with known bytes, and their labels; the header is spelled out in bytes
// (magic 00 00 08 03, then big-endian n = 3, rows = 3, cols = 4).
const imageBytes = Array.from({ length: 3 * 12 }, (_, i) => (i * 7 + 1) % 256);
imageBytes[5] = 255;
imageBytes[6] = 0;
const imagesFile = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 4, ...imageBytes]);
const labelsFile = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]);
// Test split: two images, 3x4, gzipped on disk.
const testBytes = Array.from({ length: 2 * 12 }, (_, i) => 255 - 10 * i);
const testImagesFile = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, ...testBytes]);
const testLabelsFile = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 4, 2]);

beforeAll(() => {
  mkdirSync(join(dir, "mnist"), { recursive: true });
  writeFileSync(join(dir, "mnist", "train-images-idx3-ubyte"), imagesFile);
  writeFileSync(join(dir, "mnist", "train-labels-idx1-ubyte"), labelsFile);
  writeFileSync(join(dir, "mnist", "t10k-images-idx3-ubyte.gz"), gzipSync(testImagesFile));
  writeFileSync(join(dir, "mnist", "t10k-labels-idx1-ubyte.gz"), gzipSync(testLabelsFile));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("IDX loader", () => {
  it("parses the header and returns the bytes", () => {
    const a = parseIdx(imagesFile);
    expect(a.shape).toEqual([3, 3, 4]);
    expect([...a.data]).toEqual(imageBytes);
    expect(parseIdx(labelsFile).shape).toEqual([3]);
  });

  it("loadMnist returns the written values scaled to [0, 1], plain and gzipped", () => {
    const { train, test } = loadMnist(join(dir, "mnist"));
    expect([train.n, train.rows, train.cols]).toEqual([3, 3, 4]);
    expect(train.images).toBeInstanceOf(Float32Array);
    expect([...train.images]).toEqual(imageBytes.map((b) => Math.fround(b / 255)));
    expect(train.images[5]).toBe(1);
    expect(train.images[6]).toBe(0);
    expect(train.labels).toBeInstanceOf(Int32Array);
    expect([...train.labels]).toEqual([7, 0, 9]);
    expect([test.n, test.rows, test.cols]).toEqual([2, 3, 4]);
    expect([...test.images]).toEqual(testBytes.map((b) => Math.fround(b / 255)));
    expect([...test.labels]).toEqual([4, 2]);
  });

  it("says which file is missing", () => {
    mkdirSync(join(dir, "empty"), { recursive: true });
    expect(() => loadMnist(join(dir, "empty"))).toThrow(/no train-images-idx3-ubyte or train-images-idx3-ubyte\.gz/);
  });

  it("rejects a wrong magic number", () => {
    const path = join(dir, "swapped");
    writeFileSync(path, labelsFile);
    expect(() => readIdx(path, 0x803)).toThrow(IdxError);
    expect(() => readIdx(path, 0x803)).toThrow(/wrong magic number 0x00000801, expected 0x00000803 \(images\)/);
    expect(() => parseIdx(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), "zip")).toThrow(/zip: not an IDX file: magic 0x504b0304/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), "f32")).toThrow(/element type 0x0d is not supported/);
  });

  it("rejects truncated files and extra bytes", () => {
    expect(() => parseIdx(imagesFile.subarray(0, imagesFile.length - 1), "short")).toThrow(/short: truncated: shape \[3, 3, 4\] needs 36 data bytes, the file has 35/);
    expect(() => parseIdx(imagesFile.subarray(0, 10), "header")).toThrow(/header: truncated: 10 bytes, the header of a rank-3 IDX file needs 16/);
    expect(() => parseIdx(Uint8Array.from([0, 0]), "tiny")).toThrow(/tiny: truncated: 2 bytes/);
    expect(() => parseIdx(Uint8Array.from([...labelsFile, 1]), "long")).toThrow(/long: 1 bytes after the data of shape \[3\]/);
    const gz = join(dir, "bad.gz");
    writeFileSync(gz, gzipSync(labelsFile).subarray(0, 12));
    expect(() => readIdx(gz)).toThrow(/bad\.gz: cannot gunzip/);
  });

  it("rejects images and labels that disagree in count", () => {
    const labels = join(dir, "two-labels");
    writeFileSync(labels, testLabelsFile);
    expect(() => loadIdxPair(join(dir, "mnist", "train-images-idx3-ubyte"), labels)).toThrow(/2 labels but .* has 3 images/);
  });
});
