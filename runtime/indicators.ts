/**
 * Training indicators computed on the host from plain arrays (`ArrayLike<number>`: a Float32Array
 * read back from a tensor, or a number[]), one array per layer. They watch what an estimator does
 * to training: how far ReSTE's equivalent forward is from sign, how spread the latent gradients
 * are, how many binary weights flip, how much an N:M mask moves. See docs/training.md.
 *
 * Conventions: sign(0) = +1 (estc's `sign`); a non-finite entry is an error (it names the layer
 * and the index), never a silent NaN result.
 */

/** One array, or one array per layer. */
export type Layers = ArrayLike<number> | readonly ArrayLike<number>[];

/**
 * ReSTE's estimating error (Wu et al., ICCV 2023, arXiv:2308.06689; DravenALG/ReSTE
 * utils/tools.py `get_fitting_error`): the sum over layers of || F_oEnd(w) - sign(w) ||_2 with
 * the equivalent forward F_o(x) = sign(x) |x|^(1/o). As in the official code it uses the final
 * power oEnd (main.py passes `args.o_end`), not the current o, so it measures how far the latent
 * weights are from where the schedule's final estimator is exact.
 *
 * Difference from the official code: there torch.sign(0) = 0, so a weight exactly 0 adds 0; here
 * sign(0) = +1 and F(0) = 0, so it adds 1 to the squared norm.
 */
export function estimatingError(latentWeights: readonly ArrayLike<number>[], oEnd = 3): number {
  if (!Number.isFinite(oEnd) || oEnd < 1) throw new RangeError(`estimatingError: oEnd must be a finite number >= 1, got ${oEnd}`);
  const p = 1 / oEnd;
  let total = 0;
  layersOf("estimatingError", "latentWeights", latentWeights).forEach((w, layer) => {
    let squares = 0;
    for (let i = 0; i < w.length; i++) {
      const x = finite("estimatingError", w, layer, i);
      const s = x >= 0 ? 1 : -1;
      const d = s * Math.abs(x) ** p - s;
      squares += d * d;
    }
    total += Math.sqrt(squares);
  });
  return total;
}

/**
 * ReSTE's gradient stability (DravenALG/ReSTE utils/tools.py `get_stability_var`): the sum over
 * layers of the variance of |dL/dw| over the layer's elements. Smaller is more stable. The
 * official code calls torch.var with its default, the unbiased estimator (divides by n - 1), and
 * so does this; a layer therefore needs at least 2 elements.
 */
export function gradientStability(grads: readonly ArrayLike<number>[]): number {
  let total = 0;
  layersOf("gradientStability", "grads", grads).forEach((g, layer) => {
    const n = g.length;
    if (n < 2) throw new RangeError(`gradientStability: layer ${layer} has ${n} element${n === 1 ? "" : "s"}; the unbiased variance needs at least 2`);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += Math.abs(finite("gradientStability", g, layer, i));
    mean /= n;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(g[i]!) - mean;
      squares += d * d;
    }
    total += squares / (n - 1);
  });
  return total;
}

/**
 * Larq's flip ratio (larq/metrics.py `FlipRatio`): the fraction of binarised weights whose sign
 * changed between two steps, sign(0) = +1. Given latent or already-binarised weights (sign is
 * idempotent on ±1). With several layers the ratio is pooled: changed entries over all entries
 * (Larq reports one ratio per layer and also averages it over steps; call this per layer for that).
 */
export function flipRatio(prev: Layers, next: Layers): number {
  const [a, b] = pairOf("flipRatio", prev, next);
  let changed = 0;
  let size = 0;
  a.forEach((p, layer) => {
    const q = b[layer]!;
    for (let i = 0; i < p.length; i++) {
      if (finite("flipRatio", p, layer, i) >= 0 !== finite("flipRatio", q, layer, i) >= 0) changed++;
    }
    size += p.length;
  });
  if (size === 0) throw new RangeError("flipRatio: no weights given (every layer is empty)");
  return changed / size;
}

/**
 * SR-STE's sparse architecture divergence (Zhou et al., ICLR 2021, arXiv:2102.04010), SAD between
 * two masks: the number of mask entries that changed (pruned ↔ kept), the L1 distance
 * ||E_next - E_prev||_1 of the 0/1 masks, summed over layers. It is a count, not normalised (the
 * paper's form as far as we know; its text was not checked here); divide by the number of entries
 * for a fraction. Masks must hold only 0 and 1.
 */
export function sad(prevMask: Layers, nextMask: Layers): number {
  const [a, b] = pairOf("sad", prevMask, nextMask);
  let changed = 0;
  a.forEach((p, layer) => {
    const q = b[layer]!;
    for (let i = 0; i < p.length; i++) if (maskBit(p, layer, i) !== maskBit(q, layer, i)) changed++;
  });
  return changed;
}

function maskBit(m: ArrayLike<number>, layer: number, i: number): number {
  const v = m[i]!;
  if (v !== 0 && v !== 1) throw new RangeError(`sad: mask entries must be 0 or 1, got ${v} at layer ${layer}, index ${i}`);
  return v;
}

/** The layers of a `Layers` value: a list of arrays stays as it is, a single array is one layer. */
function layersOf(fn: string, what: string, x: Layers): ArrayLike<number>[] {
  if (x === null || typeof x !== "object" || typeof (x as { length?: unknown }).length !== "number") {
    throw new TypeError(`${fn}: ${what} must be an array of numbers or an array of per-layer arrays`);
  }
  const list = x as ArrayLike<unknown>;
  if (list.length > 0 && typeof list[0] === "object" && list[0] !== null) {
    const layers = Array.from(list) as ArrayLike<number>[];
    layers.forEach((l, i) => {
      if (l === null || typeof l !== "object" || typeof l.length !== "number") throw new TypeError(`${fn}: ${what}[${i}] is not an array of numbers`);
    });
    return layers;
  }
  return [x as ArrayLike<number>];
}

function pairOf(fn: string, prev: Layers, next: Layers): [ArrayLike<number>[], ArrayLike<number>[]] {
  const a = layersOf(fn, "the first argument", prev);
  const b = layersOf(fn, "the second argument", next);
  if (a.length !== b.length) throw new RangeError(`${fn}: ${a.length} layer${a.length === 1 ? "" : "s"} before but ${b.length} after`);
  a.forEach((p, layer) => {
    if (p.length !== b[layer]!.length) throw new RangeError(`${fn}: layer ${layer} has ${p.length} entries before but ${b[layer]!.length} after`);
  });
  return [a, b];
}

function finite(fn: string, xs: ArrayLike<number>, layer: number, i: number): number {
  const v = xs[i]!;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${fn}: non-finite value ${String(v)} at layer ${layer}, index ${i}`);
  return v;
}
