/** Small functions generated kernels call: rounding and per-element Philox draws. */
import { gumbelFromWord, normalFromWords } from "./normal.js";
import { philox4x32Into, philoxKey, uniform01, uniformOpen01 } from "./philox.js";

/** Round half to even, as WGSL's round, NumPy and PyTorch do (Math.round rounds half up). */
export function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const words = new Uint32Array(4);
let cachedSeed = -1;
let cachedKey: [number, number] = [0, 0];

/** Philox word `index` of sampling site `site` and `stream` under `seed` (the key cached per seed). */
function philoxWord(seed: number, site: number, stream: number, index: number): number {
  if (seed !== cachedSeed) {
    cachedKey = philoxKey(seed);
    cachedSeed = seed;
  }
  const block = Math.floor(index / 4);
  philox4x32Into(block, site, stream, 0, cachedKey[0], cachedKey[1], words);
  return words[index - block * 4]!;
}

/**
 * The uniform draw of element `index` at sampling site `site` and `stream` under `seed`: the
 * same number the WGSL kernels and the reference evaluator draw (see philox.ts for the mapping).
 */
export function randomUniform(seed: number, site: number, stream: number, index: number, open: boolean): number {
  const w = philoxWord(seed, site, stream, index);
  return open ? uniformOpen01(w) : uniform01(w);
}

/**
 * The standard normal draw of element `index` at sampling site `site` under `seed`: Box–Muller
 * from the site's stream-0 and stream-1 words, computed as runtime/normal.ts describes, the same
 * bits the WGSL kernels and the reference evaluator draw.
 */
export function randomNormal(seed: number, site: number, index: number): number {
  return normalFromWords(philoxWord(seed, site, 0, index), philoxWord(seed, site, 1, index));
}

/** The standard Gumbel draw of element `index` at sampling site `site` under `seed` (runtime/normal.ts). */
export function randomGumbel(seed: number, site: number, index: number): number {
  return gumbelFromWord(philoxWord(seed, site, 0, index));
}
