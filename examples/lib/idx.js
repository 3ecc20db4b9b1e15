// A reader for the IDX format (the MNIST files): a 4-byte magic 0x0000TTRR (TT = element type,
// 0x08 = unsigned byte; RR = rank), RR big-endian u32 dimensions, then the elements row-major.
// Files ending in .gz are gunzipped first. Only u8 files are read (all MNIST files are u8).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** An IDX file that cannot be read: wrong magic, truncated, or an unexpected rank or size. */
export class IdxError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "IdxError";
  }
}

/**
 * @typedef {object} IdxArray
 * @property {Uint8Array} data the elements, row-major
 * @property {number[]} shape the dimensions from the header
 */

/** The magic numbers for the two MNIST file kinds. */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/**
 * Parses IDX bytes (already gunzipped). `name` is used in error messages.
 * @param {Uint8Array} bytes
 * @param {string} [name]
 * @returns {IdxArray}
 */
export function parseIdx(bytes, name = "IDX data") {
  if (bytes.length < 4) throw new IdxError(`${name}: truncated: ${bytes.length} bytes, an IDX header needs at least 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = (magic >>> 8) & 0xff;
  const rank = magic & 0xff;
  if (magic >>> 16 !== 0 || rank === 0) {
    throw new IdxError(`${name}: not an IDX file: magic 0x${hex(magic)}, expected 0x00000801 (labels) or 0x00000803 (images)`);
  }
  if (type !== 0x08) {
    throw new IdxError(`${name}: element type 0x${type.toString(16).padStart(2, "0")} is not supported (only 0x08, unsigned byte)`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new IdxError(`${name}: truncated: ${bytes.length} bytes, the header of a rank-${rank} IDX file needs ${headerBytes}`);
  }
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  if (have < count) {
    throw new IdxError(`${name}: truncated: shape [${shape.join(", ")}] needs ${count} data bytes, the file has ${have}`);
  }
  if (have > count) {
    throw new IdxError(`${name}: ${have - count} bytes after the data of shape [${shape.join(", ")}] (corrupt or not IDX)`);
  }
  return { data: bytes.subarray(headerBytes, headerBytes + count), shape };
}

/** @param {number} n */
const hex = (n) => n.toString(16).padStart(8, "0");

/**
 * Reads an IDX file (gunzipped first if the name ends in .gz) and checks its magic number.
 * @param {string} path
 * @param {number} [expectedMagic] e.g. IDX_IMAGES_MAGIC; checked when given
 * @returns {IdxArray}
 */
export function readIdx(path, expectedMagic) {
  let bytes = new Uint8Array(readFileSync(path));
  if (path.endsWith(".gz")) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (error) {
      throw new IdxError(`${path}: cannot gunzip: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (expectedMagic !== undefined && bytes.length >= 4) {
    const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
    if (magic !== expectedMagic) {
      throw new IdxError(`${path}: wrong magic number 0x${hex(magic)}, expected 0x${hex(expectedMagic)} (${expectedMagic === IDX_IMAGES_MAGIC ? "images" : "labels"})`);
    }
  }
  return parseIdx(bytes, path);
}

/**
 * @typedef {object} MnistSplit
 * @property {Float32Array} images `n * rows * cols` values in [0, 1] (byte / 255)
 * @property {Int32Array} labels `n` labels
 * @property {number} n
 * @property {number} rows
 * @property {number} cols
 */

/**
 * Reads one images/labels pair and checks they agree.
 * @param {string} imagesPath
 * @param {string} labelsPath
 * @returns {MnistSplit}
 */
export function loadIdxPair(imagesPath, labelsPath) {
  const images = readIdx(imagesPath, IDX_IMAGES_MAGIC);
  const labels = readIdx(labelsPath, IDX_LABELS_MAGIC);
  const [n, rows, cols] = images.shape;
  if (labels.shape[0] !== n) {
    throw new IdxError(`${labelsPath}: ${labels.shape[0]} labels but ${imagesPath} has ${n} images`);
  }
  const scaled = new Float32Array(images.data.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = images.data[i] / 255;
  return { images: scaled, labels: Int32Array.from(labels.data), n, rows, cols };
}

/**
 * The path of `base` in `dir`, plain or gzipped (the plain file wins when both exist).
 * @param {string} dir
 * @param {string} base
 * @returns {string}
 */
function findFile(dir, base) {
  for (const name of [base, `${base}.gz`]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new IdxError(`${dir}: no ${base} or ${base}.gz (expected the four MNIST IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)`);
}

/**
 * Loads MNIST (or any data set in its layout, e.g. Fashion-MNIST) from `dir`.
 * @param {string} dir holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may end in .gz)
 * @returns {{ train: MnistSplit, test: MnistSplit }}
 */
export function loadMnist(dir) {
  const train = loadIdxPair(findFile(dir, "train-images-idx3-ubyte"), findFile(dir, "train-labels-idx1-ubyte"));
  const test = loadIdxPair(findFile(dir, "t10k-images-idx3-ubyte"), findFile(dir, "t10k-labels-idx1-ubyte"));
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new IdxError(`${dir}: train images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`);
  }
  return { train, test };
}
