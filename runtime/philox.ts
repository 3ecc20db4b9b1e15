/**
 * Philox-4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3",
 * SC11; Random123 `philox.h`) and the samplers the stochastic primitives draw from.
 *
 * A counter-based generator has no state: a draw is a pure function of (key, counter), so any
 * element can be drawn alone, in any order, on any back end. That is what lets the WGSL kernels
 * reproduce the CPU's draws bit for bit. Only u32 operations are used (WGSL has no u64), and the
 * high word of the 32x32 product is built from 16-bit halves, never from a float product.
 *
 * ## The mapping both back ends implement (change it in both or not at all)
 *
 * For a stochastic node `node` (u32) under seed `seed` (an integer in [0, 2^53)), the word for
 * flat element index `i` (0 <= i < 2^34) of stream `s` is
 *
 *     key     = (seed mod 2^32, floor(seed / 2^32))
 *     counter = (floor(i / 4), node, s, 0)
 *     word    = philox4x32_10(counter, key)[i mod 4]
 *
 * so the four words of one Philox call feed four consecutive elements. The samplers use:
 *
 * - uniform [0,1):  `uniform01(w)`, w from stream 0: `(w >>> 8) * 2^-24`;
 * - uniform (0,1):  `uniformOpen01(w)`, w from stream 0: `((w >>> 9) + 0.5) * 2^-23`;
 * - normal:         Box–Muller cosine branch, `sqrt(-2 ln u1) * cos(2π u2)` with
 *                   u1 = uniformOpen01(stream-0 word), u2 = uniform01(stream-1 word), computed
 *                   in f32 by runtime/normal.ts with + − × and bit operations only;
 * - gumbel:         `-ln(-ln(uniformOpen01(stream-0 word)))`, both logs by runtime/normal.ts;
 * - bernoulli(p):   `uniform01(stream-0 word) < p ? 1 : 0`;
 * - categorical:    Gumbel-max over the last axis: the class of row r is
 *                   `argmax_k logits[r*K + k] + gumbel(i = r*K + k)` (first index on ties).
 *
 * The u32 words, the uniforms (exact in f32) and the normal and Gumbel draws (runtime/normal.ts)
 * are identical on every back end.
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";
import { gumbelFromWord, normalFromWords } from "./normal.js";

/** Philox-4x32 round multipliers (Random123 `PHILOX_M4x32_0/1`). */
export const PHILOX_M0 = 0xd2511f53;
/** See {@link PHILOX_M0}. */
export const PHILOX_M1 = 0xcd9e8d57;
/** Weyl-sequence key increments, the golden ratio and sqrt(3)-1 (Random123 `PHILOX_W32_0/1`). */
export const PHILOX_W0 = 0x9e3779b9;
/** See {@link PHILOX_W0}. */
export const PHILOX_W1 = 0xbb67ae85;
/** Rounds; 10 is Random123's default, the count its Crush-resistance claims are made for. */
export const PHILOX_ROUNDS = 10;

/** The largest element index + 1 the mapping keys exactly: the block index must fit a u32. */
export const PHILOX_MAX_ELEMENTS = 2 ** 34;

const TWO_POW_MINUS_24 = 2 ** -24;
const TWO_POW_MINUS_23 = 2 ** -23;

/**
 * The high 32 bits of the 64-bit product of two u32s. Split into 16-bit halves so every partial
 * product and every sum stays below 2^32: exact in JS and in WGSL's u32, with no u64 needed.
 */
export function mulhi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = Math.imul(a0, b0) >>> 0;
  const p01 = Math.imul(a0, b1) >>> 0;
  const p10 = Math.imul(a1, b0) >>> 0;
  const p11 = Math.imul(a1, b1) >>> 0;
  // Carry out of the middle 32 bits; each term is < 2^16, so the sum is < 3 * 2^16.
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox-4x32-10 of one counter under one key, written into `out` (4 words). Takes words as
 * separate arguments so sampling loops allocate nothing per block.
 */
export function philox4x32Into(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  c0 >>>= 0;
  c1 >>>= 0;
  c2 >>>= 0;
  c3 >>>= 0;
  k0 >>>= 0;
  k1 >>>= 0;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    // Random123 bumps the key before every round but the first.
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Philox-4x32-10: four pseudo-random u32 words for `counter` under `key`. */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): Uint32Array {
  const out = new Uint32Array(4);
  philox4x32Into(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
  return out;
}

/**
 * The Philox key for a seed: (low word, high word). Seeds up to 2^53 - 1 are accepted so a JS
 * number seed is never rounded; a u32 seed has a zero high word.
 */
export function philoxKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw rngError(`seed ${seed} is not an integer in [0, 2^53)`);
  }
  return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
}

/**
 * The word for element `index` of `stream` at `node` (see the module comment). One Philox call
 * per word: for kernels that draw a single element; loops over ranges use {@link fillWords}.
 * Arguments are not checked here (it sits in kernels' inner loops); callers pass checked values.
 */
export function philoxWordAt(
  key: readonly [number, number],
  node: number,
  stream: number,
  index: number,
): number {
  const block = Math.floor(index / 4);
  const out = new Uint32Array(4);
  philox4x32Into(block, node, stream, 0, key[0], key[1], out);
  return out[index - block * 4];
}

/**
 * Fills `out[j]` with the word of element `offset + j` of `stream` at `node`. The offset lets a
 * tensor be drawn in chunks (or by tiles on a GPU) and still get the numbers of a whole draw.
 */
export function fillWords(
  out: Uint32Array,
  seed: number,
  node: number,
  stream: number,
  offset = 0,
): void {
  const [k0, k1] = philoxKey(seed);
  checkU32(node, "node id");
  checkU32(stream, "stream");
  checkRange(offset, out.length);
  const block = new Uint32Array(4);
  let cachedBlock = -1;
  for (let j = 0; j < out.length; j++) {
    const i = offset + j;
    const b = Math.floor(i / 4);
    if (b !== cachedBlock) {
      philox4x32Into(b, node, stream, 0, k0, k1, block);
      cachedBlock = b;
    }
    out[j] = block[i - b * 4];
  }
}

/**
 * A u32 word to a float in [0, 1): its top 24 bits times 2^-24. Any 24-bit integer times a power
 * of two is exact in f32, so WGSL's `f32(w >> 8u) * 0x1p-24f` gives the very same float.
 */
export function uniform01(word: number): number {
  return (word >>> 8) * TWO_POW_MINUS_24;
}

/**
 * A u32 word to a float in (0, 1), for samplers that take a log: `((w >>> 9) + 0.5) * 2^-23`,
 * in [2^-24, 1 - 2^-24]. Built from the top 23 bits, not 24: `(k + 0.5) * 2^-24` needs 25
 * significant bits, is inexact in f32 for half the range, and its top value rounds to 1.0 in
 * f32 (making `log(-log(u))` infinite), so the GPU could not match it.
 */
export function uniformOpen01(word: number): number {
  return ((word >>> 9) + 0.5) * TWO_POW_MINUS_23;
}

/** Fills `out` with uniform [0, 1) samples: element `offset + j`'s stream-0 word. */
export function fillUniform(out: Float32Array, seed: number, node: number, offset = 0): void {
  const words = drawWords(out.length, seed, node, 0, offset);
  for (let j = 0; j < out.length; j++) out[j] = uniform01(words[j]);
}

/** Fills `out` with uniform (0, 1) samples, for callers that take their log. */
export function fillUniformOpen01(out: Float32Array, seed: number, node: number, offset = 0): void {
  const words = drawWords(out.length, seed, node, 0, offset);
  for (let j = 0; j < out.length; j++) out[j] = uniformOpen01(words[j]);
}

/**
 * Fills `out` with standard normal samples by Box–Muller (cosine branch only, so each element
 * depends on its own two words and nothing else): u1 from stream 0, u2 from stream 1.
 */
export function fillNormal(out: Float32Array, seed: number, node: number, offset = 0): void {
  const radii = drawWords(out.length, seed, node, 0, offset);
  const angles = drawWords(out.length, seed, node, 1, offset);
  for (let j = 0; j < out.length; j++) out[j] = normalFromWords(radii[j], angles[j]);
}

/** Fills `out` with standard Gumbel samples, `-ln(-ln u)` with u in (0, 1) so both logs are finite. */
export function fillGumbel(out: Float32Array, seed: number, node: number, offset = 0): void {
  const words = drawWords(out.length, seed, node, 0, offset);
  for (let j = 0; j < out.length; j++) out[j] = gumbelFromWord(words[j]);
}

/**
 * Fills `out` with Bernoulli samples, 1 where `u < p`. `p` is one probability or one per
 * element; u in [0, 1) makes p = 0 never fire and p = 1 always fire.
 */
export function fillBernoulli(
  out: Float32Array | Uint8Array,
  p: number | Float32Array,
  seed: number,
  node: number,
  offset = 0,
): void {
  if (typeof p !== "number" && p.length !== out.length) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.shapeLengthMismatch,
      `bernoulli: ${p.length} probabilities for ${out.length} samples`,
    );
  }
  const words = drawWords(out.length, seed, node, 0, offset);
  for (let j = 0; j < out.length; j++) {
    const pj = typeof p === "number" ? p : p[j];
    out[j] = uniform01(words[j]) < pj ? 1 : 0;
  }
}

/**
 * Categorical samples by Gumbel-max over the last axis of `logits` (rows of `classes`), one
 * class index per row into `out`. The noise of `logits[r * classes + k]` is the Gumbel draw of
 * flat index `offset + r * classes + k`. A -Infinity logit is never chosen unless its whole
 * row is; ties and all-(-Infinity) rows resolve to the lowest index.
 */
export function sampleCategorical(
  out: Int32Array,
  logits: Float32Array,
  classes: number,
  seed: number,
  node: number,
  offset = 0,
): void {
  if (!Number.isSafeInteger(classes) || classes < 1 || out.length * classes !== logits.length) {
    throw new EstcRuntimeError(
      RuntimeErrorCode.shapeLengthMismatch,
      `categorical: ${logits.length} logits do not make ${out.length} rows of ${classes} classes`,
    );
  }
  const noise = new Float32Array(logits.length);
  fillGumbel(noise, seed, node, offset);
  for (let r = 0; r < out.length; r++) {
    const start = r * classes;
    let best = 0;
    let bestScore = -Infinity;
    for (let k = 0; k < classes; k++) {
      const score = logits[start + k] + noise[start + k];
      if (score > bestScore) {
        bestScore = score;
        best = k;
      }
    }
    out[r] = best;
  }
}

/** The words of `n` elements from `offset`, for samplers that transform each word. */
function drawWords(
  n: number,
  seed: number,
  node: number,
  stream: number,
  offset: number,
): Uint32Array {
  const words = new Uint32Array(n);
  fillWords(words, seed, node, stream, offset);
  return words;
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw rngError(`${what} ${value} is not an integer in [0, 2^32)`);
  }
}

/** Elements past 2^34 would need a fifth counter word the GPU does not have. */
function checkRange(offset: number, n: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > PHILOX_MAX_ELEMENTS) {
    throw rngError(`element range [${offset}, ${offset + n}) is outside [0, 2^34)`);
  }
}

function rngError(message: string): EstcRuntimeError {
  return new EstcRuntimeError(RuntimeErrorCode.badRngArgument, message);
}
