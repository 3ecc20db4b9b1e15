/**
 * Per-epoch (or per-step) values of estimator hyperparameters. In estc these hyperparameters are
 * runtime scalars (fn parameters with defaults, never differentiated), so a training loop computes
 * the value here and passes it in the call's `scalars`; see docs/training.md.
 *
 * Each schedule follows the official code of its paper; where the code and the paper differ the
 * doc comment says which one is followed. Bad arguments throw a RangeError naming the argument.
 */

/** ReSTE's power o at epoch `epoch` of `epochs`: 1 at the start, `oEnd` at e = E (cosine ramp). */
export function resteO(epoch: number, epochs: number, oEnd = 3): number {
  checkEpoch("resteO", epoch, epochs);
  checkFinite("resteO", "oEnd", oEnd);
  if (oEnd < 1) throw new RangeError(`resteO: oEnd must be >= 1 (o = 1 is the identity, larger o approaches sign), got ${oEnd}`);
  // ReSTE (Wu et al., ICCV 2023, arXiv 2308.06689), DravenALG/ReSTE main.py `ReSTE(epoch)`:
  // beta = 1 - cos(pi/2 * e/E), o = 1 + beta (oEnd - 1).
  const beta = 1 - Math.cos((Math.PI / 2) * (epoch / epochs));
  return 1 + beta * (oEnd - 1);
}

/** The (tMin, tMax) pairs the IR-Net and RBNN papers and code use with {@link logLinearT}. */
export const LOG_LINEAR_T_PRESETS = {
  /** IR-Net paper (Qin et al., CVPR 2020, arXiv 1909.10788): t from 10^-1 to 10^1. */
  irNetPaper: { tMin: 0.1, tMax: 10 },
  /** htqin/IR-Net CIFAR-10/ResNet20/1w1a/trainer.py: `T_min, T_max = 1e-3, 1e1`. */
  irNetResNet20W1A1: { tMin: 1e-3, tMax: 10 },
  /** RBNN (Lin et al., NeurIPS 2020, arXiv 2009.13055), lmbxmu/RBNN cifar/utils/options.py defaults. */
  rbnn: { tMin: 1e-2, tMax: 10 },
} as const;

/** The sharpness t and the scale k of IR-Net's EDE / RBNN's sign surrogate at one epoch. */
export interface LogLinearT {
  t: number;
  k: number;
}

/**
 * IR-Net / RBNN: t grows log-linearly from tMin (e = 0) to tMax (e = E),
 * t = 10^(log10 tMin + (log10 tMax - log10 tMin) e/E), and k = max(1/t, 1), so the surrogate
 * k t (1 - tanh²(t x)) (IR-Net) has peak k t = max(1, t) and never vanishes early in training.
 * Sources: htqin/IR-Net trainer.py `Log_UP` (k = 1/t when t < 1, else 1); lmbxmu/RBNN cifar/main.py.
 * The official loops run e = 0 .. E-1, so they never reach tMax exactly; e = E is allowed here.
 */
export function logLinearT(epoch: number, epochs: number, tMin: number, tMax: number): LogLinearT {
  checkEpoch("logLinearT", epoch, epochs);
  checkFinite("logLinearT", "tMin", tMin);
  checkFinite("logLinearT", "tMax", tMax);
  if (!(tMin > 0) || !(tMax > 0)) throw new RangeError(`logLinearT: tMin and tMax must be > 0 (t is interpolated in log10), got tMin = ${tMin}, tMax = ${tMax}`);
  const log = Math.log10(tMin) + (Math.log10(tMax) - Math.log10(tMin)) * (epoch / epochs);
  const t = 10 ** log;
  return { t, k: Math.max(1 / t, 1) };
}

/** Options of {@link gumbelTemperature} (Storchastic's `GumbelSoftmax` defaults). */
export interface GumbelTemperatureOptions {
  /** τ before the first update (default 1). */
  initial?: number;
  /** Relative decay per update, τ ← (1 - rate) τ, in [0, 1) (default 1e-5). */
  rate?: number;
  /** The floor: no update happens once τ <= min (default 1e-4). */
  min?: number;
}

/**
 * The Gumbel-softmax temperature after `step` updates of Storchastic's rule
 * (HEmile/storchastic storch/method/method.py, `GumbelSoftmax.update_parameters`):
 * after each backward pass, `if τ > min: τ ← (1 - rate) τ`.
 *
 * Closed form: τ(step) = initial · (1 - rate)^min(step, K), where K is the number of updates it
 * takes to reach the floor, the least K with initial · (1 - rate)^K <= min (K = 0 when
 * initial <= min; no K when rate = 0). At the floor the rule simply stops: the last update is
 * applied in full, so the final τ lies in ((1 - rate) · min, min] — it may end slightly BELOW
 * `min`, and it is not clamped up to `min`. The closed form matches the iterated update up to
 * floating-point rounding (the iteration rounds at every step, the power once).
 *
 * (An older Storchastic version set τ = max(min, exp(-rate · step)), ignoring `initial`; the
 * current multiplicative rule is the one followed here.)
 */
export function gumbelTemperature(step: number, options: GumbelTemperatureOptions = {}): number {
  const { initial = 1, rate = 1e-5, min = 1e-4 } = options;
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`gumbelTemperature: step must be a whole number >= 0 (updates done so far), got ${step}`);
  checkFinite("gumbelTemperature", "initial", initial);
  checkFinite("gumbelTemperature", "rate", rate);
  checkFinite("gumbelTemperature", "min", min);
  if (!(initial > 0)) throw new RangeError(`gumbelTemperature: initial must be > 0, got ${initial}`);
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`gumbelTemperature: rate must be in [0, 1), got ${rate}`);
  if (!(min > 0)) throw new RangeError(`gumbelTemperature: min must be > 0 (a zero floor lets τ underflow to 0), got ${min}`);
  const factor = 1 - rate;
  const stop = stepsToFloor(initial, factor, min);
  return initial * factor ** Math.min(step, stop);
}

/** The number K of updates after which τ <= min (Infinity when τ never gets there). */
function stepsToFloor(initial: number, factor: number, min: number): number {
  if (initial <= min) return 0;
  if (factor === 1) return Infinity;
  let k = Math.max(1, Math.ceil(Math.log(min / initial) / Math.log(factor)));
  // The logarithms can be off by one near an exact boundary; settle K with the power itself.
  while (k > 1 && initial * factor ** (k - 1) <= min) k--;
  while (initial * factor ** k > min) k++;
  return k;
}

function checkEpoch(fn: string, epoch: number, epochs: number): void {
  checkFinite(fn, "epochs", epochs);
  checkFinite(fn, "epoch", epoch);
  if (!(epochs > 0)) throw new RangeError(`${fn}: epochs must be > 0, got ${epochs}`);
  if (epoch < 0 || epoch > epochs) throw new RangeError(`${fn}: epoch must be in [0, epochs] = [0, ${epochs}], got ${epoch}`);
}

function checkFinite(fn: string, name: string, v: number): void {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${fn}: ${name} must be a finite number, got ${String(v)}`);
}
