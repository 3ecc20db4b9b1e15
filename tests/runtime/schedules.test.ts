/**
 * Estimator hyperparameter schedules (runtime/schedules.ts) against the papers' formulas
 * evaluated here by hand at chosen epochs: ReSTE's cosine o (DravenALG/ReSTE main.py), IR-Net /
 * RBNN's log-linear t with k = max(1/t, 1) (htqin/IR-Net trainer.py, lmbxmu/RBNN), and
 * Storchastic's multiplicative Gumbel temperature decay, checked against the iterated update
 * including what happens at the floor. Bad arguments throw named RangeErrors.
 */
import { describe, expect, it } from "vitest";
import { gumbelTemperature, LOG_LINEAR_T_PRESETS, logLinearT, resteO } from "../../runtime/schedules.js";

describe("resteO", () => {
  it("is 1 at e = 0 and oEnd at e = E", () => {
    expect(resteO(0, 100)).toBe(1);
    expect(resteO(100, 100)).toBeCloseTo(3, 14);
    expect(resteO(250, 250, 5)).toBeCloseTo(5, 14);
  });

  it("follows 1 + (1 - cos(pi/2 e/E)) (oEnd - 1) in between", () => {
    // e/E = 1/2: cos(pi/4) = sqrt(2)/2, so o = 1 + (1 - 0.70710678...) * 2 = 1.58578643...
    expect(resteO(50, 100)).toBeCloseTo(1 + (1 - Math.SQRT1_2) * 2, 14);
    expect(resteO(50, 100)).toBeCloseTo(1.5857864376269049, 14);
    // e/E = 2/3: cos(pi/3) = 1/2, so o = 1 + 0.5 (oEnd - 1); with oEnd = 5, o = 3.
    expect(resteO(2, 3, 5)).toBeCloseTo(3, 14);
    // Slow start (cosine): at e/E = 0.1 the ramp is only 1 - cos(pi/20) = 0.0123 of the way.
    expect(resteO(10, 100)).toBeCloseTo(1 + (1 - Math.cos(Math.PI / 20)) * 2, 14);
    expect(resteO(10, 100)).toBeLessThan(1.03);
  });

  it("rejects bad arguments", () => {
    expect(() => resteO(0, 0)).toThrow(/epochs must be > 0/);
    expect(() => resteO(-1, 10)).toThrow(/epoch must be in \[0, epochs\]/);
    expect(() => resteO(11, 10)).toThrow(/epoch must be in \[0, epochs\]/);
    expect(() => resteO(NaN, 10)).toThrow(/epoch must be a finite number/);
    expect(() => resteO(1, Infinity)).toThrow(/epochs must be a finite number/);
    expect(() => resteO(1, 10, 0.5)).toThrow(/oEnd must be >= 1/);
  });
});

describe("logLinearT", () => {
  it("starts at tMin and ends at tMax", () => {
    const start = logLinearT(0, 400, 1e-3, 10);
    expect(start.t).toBeCloseTo(1e-3, 15);
    expect(start.k).toBeCloseTo(1000, 9);
    const end = logLinearT(400, 400, 1e-3, 10);
    expect(end.t).toBeCloseTo(10, 12);
    expect(end.k).toBe(1);
  });

  it("is linear in log10 t, with k = 1/t below t = 1 and k = 1 above", () => {
    // IR-Net paper preset 0.1 -> 10 over E = 10: log10 t = -1 + 2 e/10.
    const { tMin, tMax } = LOG_LINEAR_T_PRESETS.irNetPaper;
    const quarter = logLinearT(2.5, 10, tMin, tMax); // log10 t = -0.5
    expect(quarter.t).toBeCloseTo(10 ** -0.5, 14);
    expect(quarter.k).toBeCloseTo(10 ** 0.5, 13);
    expect(quarter.k * quarter.t).toBeCloseTo(1, 14); // peak k t of EDE stays 1 while t < 1
    const mid = logLinearT(5, 10, tMin, tMax); // log10 t = 0: t = 1, k = 1
    expect(mid.t).toBeCloseTo(1, 14);
    expect(mid.k).toBeCloseTo(1, 14);
    const late = logLinearT(7.5, 10, tMin, tMax); // log10 t = 0.5
    expect(late.t).toBeCloseTo(10 ** 0.5, 13);
    expect(late.k).toBe(1);
    // RBNN preset 1e-2 -> 10 over 3 epochs: log10 t = -2, -1, 0, 1.
    const r = LOG_LINEAR_T_PRESETS.rbnn;
    expect([0, 1, 2, 3].map((e) => logLinearT(e, 3, r.tMin, r.tMax).t).map((t) => Math.log10(t))).toEqual([-2, -1, 0, 1].map((v) => expect.closeTo(v, 12)));
  });

  it("has the papers' presets", () => {
    expect(LOG_LINEAR_T_PRESETS.irNetPaper).toEqual({ tMin: 0.1, tMax: 10 });
    expect(LOG_LINEAR_T_PRESETS.irNetResNet20W1A1).toEqual({ tMin: 1e-3, tMax: 10 });
    expect(LOG_LINEAR_T_PRESETS.rbnn).toEqual({ tMin: 1e-2, tMax: 10 });
  });

  it("rejects bad arguments", () => {
    expect(() => logLinearT(0, 10, 0, 10)).toThrow(/tMin and tMax must be > 0/);
    expect(() => logLinearT(0, 10, 0.1, -1)).toThrow(/tMin and tMax must be > 0/);
    expect(() => logLinearT(0, 10, NaN, 10)).toThrow(/tMin must be a finite number/);
    expect(() => logLinearT(12, 10, 0.1, 10)).toThrow(/epoch must be in/);
    expect(() => logLinearT(0, -5, 0.1, 10)).toThrow(/epochs must be > 0/);
  });
});

/** Storchastic's rule, run literally: after each update, if τ > min then τ ← (1 - rate) τ. */
function iterate(steps: number, initial: number, rate: number, min: number): number {
  let tau = initial;
  for (let i = 0; i < steps; i++) if (tau > min) tau = (1 - rate) * tau;
  return tau;
}

describe("gumbelTemperature", () => {
  it("uses Storchastic's defaults: initial 1, rate 1e-5, floor 1e-4", () => {
    expect(gumbelTemperature(0)).toBe(1);
    expect(gumbelTemperature(1)).toBeCloseTo(1 - 1e-5, 15);
    expect(gumbelTemperature(1000)).toBeCloseTo((1 - 1e-5) ** 1000, 14);
    // ln(1e-4) / ln(1 - 1e-5) = 921029.8...: the floor is crossed at update 921030 and τ stays there.
    const k = Math.ceil(Math.log(1e-4) / Math.log(1 - 1e-5));
    expect(k).toBe(921030);
    expect(gumbelTemperature(k - 1)).toBeGreaterThan(1e-4);
    expect(gumbelTemperature(k)).toBeLessThanOrEqual(1e-4);
    expect(gumbelTemperature(k + 1)).toBe(gumbelTemperature(k));
    expect(gumbelTemperature(10 * k)).toBe(gumbelTemperature(k));
  });

  it("matches the iterated update, including the overshoot below the floor", () => {
    // rate 0.3 from 1 with floor 0.2: 1, 0.7, 0.49, 0.343, 0.2401, 0.16807 (<= 0.2: stop).
    const opts = { initial: 1, rate: 0.3, min: 0.2 };
    const want = [1, 0.7, 0.49, 0.343, 0.2401, 0.16807, 0.16807, 0.16807];
    want.forEach((w, step) => {
      expect(gumbelTemperature(step, opts), `step ${step}`).toBeCloseTo(w, 14);
      expect(gumbelTemperature(step, opts), `step ${step} vs iteration`).toBeCloseTo(iterate(step, 1, 0.3, 0.2), 14);
    });
    // It ends below the floor (not clamped to it), and by less than one factor (1 - rate).
    const last = gumbelTemperature(100, opts);
    expect(last).toBeLessThan(0.2);
    expect(last).toBeGreaterThan(0.2 * 0.7);
    for (const step of [0, 1, 17, 500, 5000]) {
      expect(gumbelTemperature(step, { initial: 2, rate: 0.01, min: 0.05 })).toBeCloseTo(iterate(step, 2, 0.01, 0.05), 12);
    }
  });

  it("never decays when it starts at or below the floor, or when the rate is 0", () => {
    expect(gumbelTemperature(50, { initial: 0.1, rate: 0.5, min: 0.1 })).toBe(0.1);
    expect(gumbelTemperature(50, { initial: 0.05, rate: 0.5, min: 0.1 })).toBe(0.05);
    expect(gumbelTemperature(1e9, { initial: 0.7, rate: 0 })).toBe(0.7);
  });

  it("rejects bad arguments", () => {
    expect(() => gumbelTemperature(-1)).toThrow(/step must be a whole number/);
    expect(() => gumbelTemperature(1.5)).toThrow(/step must be a whole number/);
    expect(() => gumbelTemperature(1, { rate: 1 })).toThrow(/rate must be in \[0, 1\)/);
    expect(() => gumbelTemperature(1, { rate: -0.1 })).toThrow(/rate must be in \[0, 1\)/);
    expect(() => gumbelTemperature(1, { initial: 0 })).toThrow(/initial must be > 0/);
    expect(() => gumbelTemperature(1, { min: 0 })).toThrow(/min must be > 0/);
    expect(() => gumbelTemperature(1, { min: NaN })).toThrow(/min must be a finite number/);
  });
});
