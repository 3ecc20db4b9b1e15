/**
 * A slider for one runtime scalar: its range comes from the `require(x, min =, max =)` bounds the
 * estimator declares where there are any (ReSTE's o >= 1), else from a range around the default
 * (t = 1.5 → [0, 3]); its step gives about 200 positions, 1 for an i32 or bool scalar.
 */

/** One runtime scalar's slider, with its current value. */
export interface SliderSpec {
  name: string;
  dtype: "f32" | "i32" | "bool";
  default: number;
  value: number;
  min: number;
  max: number;
  step: number;
  /** Where each end came from: the estimator's `require` bound, or a range around the default. */
  from: { min: "require" | "default"; max: "require" | "default" };
}

/** A runtime scalar as the compiler lists it (LoweredFn.scalars) with its `require` bounds, if any. */
export interface ScalarInfo {
  name: string;
  dtype: string;
  default: number;
  min?: number;
  max?: number;
}

/**
 * The slider for `s`, holding `current` when given and finite, else the default. Without bounds: [0, max(2d, 1)] for a default d > 0, [min(2d, -1), 0] for d < 0, and
 * [-1, 1] for d = 0; one declared bound keeps that shape on the other side, at least 1 wide.
 */
export function sliderSpec(s: ScalarInfo, current?: number): SliderSpec {
  const dtype = s.dtype === "i32" || s.dtype === "bool" ? s.dtype : "f32";
  const d = s.default;
  if (dtype === "bool") return finish(s, dtype, 0, 1, 1, { min: "default", max: "default" }, current);
  const aroundLo = d > 0 ? 0 : d < 0 ? Math.min(2 * d, -1) : -1;
  const aroundHi = d > 0 ? Math.max(2 * d, 1) : d < 0 ? 0 : 1;
  let lo = s.min ?? aroundLo;
  let hi = s.max ?? aroundHi;
  if (s.min !== undefined && s.max === undefined) hi = Math.max(aroundHi, lo + Math.max(1, Math.abs(d - lo) * 2), d);
  if (s.max !== undefined && s.min === undefined) lo = Math.min(aroundLo, hi - Math.max(1, Math.abs(hi - d) * 2), d);
  if (dtype === "i32") {
    lo = Math.ceil(lo);
    hi = Math.max(Math.floor(hi), lo + 1);
  }
  const step = dtype === "i32" ? 1 : niceStep((hi - lo) / 200);
  const from = { min: s.min !== undefined ? ("require" as const) : ("default" as const), max: s.max !== undefined ? ("require" as const) : ("default" as const) };
  return finish(s, dtype, lo, hi, step, from, current);
}

/**
 * The value is clamped into the `require` bounds only (outside them the call would fail, E6031);
 * a value outside a range made up around the default widens that range instead.
 */
function finish(s: ScalarInfo, dtype: SliderSpec["dtype"], min: number, max: number, step: number, from: SliderSpec["from"], current: number | undefined): SliderSpec {
  const wanted = current !== undefined && Number.isFinite(current) ? current : s.default;
  let value = dtype === "f32" ? wanted : Math.round(wanted);
  if (from.min === "require" || dtype === "bool") value = Math.max(min, value);
  if (from.max === "require" || dtype === "bool") value = Math.min(max, value);
  return { name: s.name, dtype, default: s.default, value, min: Math.min(min, value), max: Math.max(max, value), step, from };
}

/** The largest of 1, 2, 5 × 10^k not above `raw` (at least 1e-6), so slider values print short. */
function niceStep(raw: number): number {
  if (!(raw > 1e-6)) return 1e-6;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  const step = (m >= 5 ? 5 : m >= 2 ? 2 : 1) * power;
  return Number.parseFloat(step.toPrecision(6));
}
