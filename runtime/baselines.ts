/**
 * Baselines for score-function (REINFORCE) estimators whose state lives in the training loop.
 * A `.est` estimator sees one step at a time, so a baseline that averages over steps is kept
 * here and passed back in as a runtime scalar (`ReinforceBernoulli(b = base)`) or, per unit, as a
 * tensor input (`bernoulli_baselined(p, base) backward ReinforceUnitBaseline`, std/stochastic).
 * Both read only past steps' costs, so the estimator stays unbiased.
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";

/** A scalar baseline updated from each step's cost. */
export interface MovingAverageBaseline {
  /** The current baseline b (0 before the first update). */
  readonly value: number;
  /** The decay the baseline was made with. */
  readonly decay: number;
  /** Folds one step's cost (a number, or per-sample costs that are averaged) in; returns the new b. */
  update(cost: number | ArrayLike<number>): number;
}

/**
 * Storchastic's MovingAverageBaseline (van Krieken et al., NeurIPS 2021; HEmile/storchastic
 * storch/method/baseline.py): b starts at 0 and after each step
 *   b ← decay · b + (1 - decay) · mean(cost),
 * without bias correction. Default decay 0.95 (Storchastic's `exponential_decay`).
 */
export function movingAverageBaseline(decay = 0.95): MovingAverageBaseline {
  checkDecay(decay);
  let b = 0;
  return {
    get value() {
      return b;
    },
    decay,
    update(cost) {
      b = decay * b + (1 - decay) * meanOf(cost, "cost");
      return b;
    },
  };
}

/** A per-unit baseline: one value per column of a Bernoulli layer. */
export interface MinVarianceBaseline {
  /** b_j = num_j / (den_j + eps) for each unit j (all 0 before the first update). */
  readonly value: Float32Array;
  /** The number of units N. */
  readonly units: number;
  /**
   * Folds one step in: `h` the Bernoulli draws and `p` their probabilities, both [B, N] row-major,
   * and `cost` the step's cost L (one number, or one per row). Returns the new baseline.
   */
  update(h: ArrayLike<number>, p: ArrayLike<number>, cost: number | ArrayLike<number>): Float32Array;
}

/**
 * Bengio, Léonard & Courville 2013 (arXiv:1308.3432, §2.3): the baseline that minimises the
 * variance of the REINFORCE estimate for unit j is
 *   b_j = E[(h_j - p_j)² L] / E[(h_j - p_j)²],
 * "estimated with per-unit moving averages of numerator and denominator". Each update averages
 * (h_bj - p_bj)² L_b and (h_bj - p_bj)² over the B rows and moves the two averages by
 * `1 - decay` towards them; the ratio is taken with eps in the denominator (so b = 0 until a unit
 * has any weight). Defaults: decay 0.95 (as Storchastic's moving average; the paper gives none),
 * eps 1e-8.
 */
export function minVarianceBaseline(units: number, decay = 0.95, eps = 1e-8): MinVarianceBaseline {
  if (!Number.isSafeInteger(units) || units < 1) {
    throw new EstcRuntimeError(RuntimeErrorCode.badDim, `minVarianceBaseline: units must be a positive integer, got ${units}`);
  }
  checkDecay(decay);
  if (!(Number.isFinite(eps) && eps >= 0)) throw new EstcRuntimeError(RuntimeErrorCode.badScalar, `minVarianceBaseline: eps must be a finite number >= 0, got ${eps}`);
  const num = new Float64Array(units);
  const den = new Float64Array(units);
  const value = new Float32Array(units);
  return {
    value,
    units,
    update(h, p, cost) {
      if (h.length !== p.length || h.length === 0 || h.length % units !== 0) {
        throw new EstcRuntimeError(
          RuntimeErrorCode.shapeLengthMismatch,
          `minVarianceBaseline.update: h and p must both hold B × ${units} values (B >= 1), got ${h.length} and ${p.length}`,
        );
      }
      const rows = h.length / units;
      const perRow = typeof cost === "number" ? undefined : cost;
      if (perRow !== undefined && perRow.length !== rows) {
        throw new EstcRuntimeError(RuntimeErrorCode.shapeLengthMismatch, `minVarianceBaseline.update: cost must be one number or one per row (${rows}), got ${perRow.length}`);
      }
      const scalarCost = typeof cost === "number" ? finite(cost, "cost") : 0;
      for (let j = 0; j < units; j++) {
        let n = 0;
        let d = 0;
        for (let r = 0; r < rows; r++) {
          const s = finite(h[r * units + j]!, "h") - finite(p[r * units + j]!, "p");
          const l = perRow === undefined ? scalarCost : finite(perRow[r]!, "cost");
          n += s * s * l;
          d += s * s;
        }
        num[j] = decay * num[j]! + ((1 - decay) * n) / rows;
        den[j] = decay * den[j]! + ((1 - decay) * d) / rows;
        value[j] = num[j]! / (den[j]! + eps);
      }
      return value;
    },
  };
}

function checkDecay(decay: number): void {
  if (!(Number.isFinite(decay) && decay >= 0 && decay <= 1)) {
    throw new EstcRuntimeError(RuntimeErrorCode.badScalar, `a baseline's decay must be a number in [0, 1], got ${decay}`);
  }
}

function finite(v: number, what: string): number {
  if (!Number.isFinite(v)) throw new EstcRuntimeError(RuntimeErrorCode.badScalar, `baseline update: ${what} holds a non-finite value (${v})`);
  return v;
}

function meanOf(cost: number | ArrayLike<number>, what: string): number {
  if (typeof cost === "number") return finite(cost, what);
  if (cost.length === 0) throw new EstcRuntimeError(RuntimeErrorCode.shapeLengthMismatch, `baseline update: ${what} is empty`);
  let s = 0;
  for (let i = 0; i < cost.length; i++) s += finite(cost[i]!, what);
  return s / cost.length;
}
