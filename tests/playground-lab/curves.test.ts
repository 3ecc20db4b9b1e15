// The playground's curves (playground/src/lab/curves.ts): the estimator or fn under the cursor,
// its forward and backward on a grid, checked against the papers' formulas as docs/stdlib/binary.md
// states them, against central differences for a fn, and the sliders' ranges against `require`.
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeHost } from "../../compiler/resolve.js";
import { CurveLab, type CurvePlot, type CurveRequest } from "../../playground/src/lab/curves.js";

const root = path.resolve(import.meta.dirname, "../..");
const file = path.join(root, "playground-lab-editor.est");
const lab = new CurveLab(nodeHost(root), file);

const BINARY = `import { STE, ClippedSTE, ReSTE, ApproxSign, SwishSign, EDE, RBNN, SigmoidSTE, SteHeaviside, SteTern } from "std/binary"\n`;

function plotOf(req: CurveRequest): CurvePlot {
  const r = lab.curves(req);
  if (!r.ok) throw new Error(r.reason);
  return r.plot;
}

/** The plot of an estimator imported from std/binary (cursor on its name in the import). */
function estimator(name: string, scalars?: Record<string, number>): CurvePlot {
  return plotOf({ text: BINARY, offset: BINARY.indexOf(name) + 1, ...(scalars ? { scalars } : {}) });
}

/** The grid point nearest x (the default grid, 201 points on [-2, 2], holds multiples of 0.02 to within rounding). */
function index(p: CurvePlot, x: number): number {
  const i = p.xs.findIndex((v) => Math.abs(v - x) < 1e-9);
  if (i < 0) throw new Error(`${x} is not on the grid`);
  return i;
}

/** The value of a curve at the grid point nearest x. */
function at(p: CurvePlot, ys: number[], x: number): number {
  return ys[index(p, x)]!;
}

const POINTS = [-1.98, -1.5, -1.2, -1, -0.5, -0.06, 0, 0.04, 0.1, 0.3, 1, 1.02, 1.4, 1.5, 1.52, 2];

describe("estimator curves match the papers' formulas", () => {
  it("forward is estc's sign (sign(0) = +1) for every sign estimator", () => {
    const p = estimator("STE");
    for (const x of POINTS) expect(at(p, p.forward, x)).toBe(x >= 0 ? 1 : -1);
    expect(p.xs).toHaveLength(201);
    expect(p.title).toBe("STE for sign(x)");
    expect(p.summary).toBe("Straight-through estimator");
  });

  it("STE: dx = g", () => {
    const p = estimator("STE");
    for (const x of POINTS) expect(at(p, p.backward, x)).toBe(1);
  });

  it("ClippedSTE(t): dx = g 1[|x| <= t], inclusive, with t from its slider", () => {
    for (const t of [1, 0.5, 1.5]) {
      const p = estimator("ClippedSTE", { t });
      expect(p.scalars.find((s) => s.name === "t")!.value).toBe(t);
      for (const x of POINTS) expect(at(p, p.backward, x)).toBe(Math.abs(x) <= t + 1e-12 ? 1 : 0);
    }
  });

  it("ReSTE(o, t, m): (1/o)|x|^((1-o)/o) for m < |x| <= t, m^((1-o)/o) for |x| <= m, 0 beyond t", () => {
    for (const o of [3, 2, 1.5]) {
      const p = estimator("ReSTE", { o });
      const t = 1.5;
      const m = 0.1;
      const e = (1 - o) / o;
      for (const x0 of POINTS) {
        // The formula at the grid's own x: 0.1 on the grid is 0.10000000000000009, just above m.
        const x = p.xs[index(p, x0)]!;
        const a = Math.abs(x);
        const want = a > t ? 0 : a <= m ? m ** e : (1 / o) * a ** e;
        expect(at(p, p.backward, x0)).toBeCloseTo(want, 10);
      }
    }
    // o = 1 is the clipped identity.
    const p1 = estimator("ReSTE", { o: 1 });
    for (const x of POINTS) expect(at(p1, p1.backward, x)).toBeCloseTo(Math.abs(x) <= 1.5 ? 1 : 0, 12);
  });

  it("ApproxSign: dx = g (2 - 2|x|) 1[|x| <= 1]", () => {
    const p = estimator("ApproxSign");
    expect(p.scalars).toEqual([]);
    for (const x of POINTS) expect(at(p, p.backward, x)).toBeCloseTo(Math.abs(x) <= 1 ? 2 - 2 * Math.abs(x) : 0, 12);
  });

  it("SwishSign(beta): dx = g b (2 - b x tanh(b x / 2)) / (1 + cosh(b x))", () => {
    for (const beta of [5, 2]) {
      const p = estimator("SwishSign", { beta });
      for (const x of POINTS) {
        const y = beta * x;
        expect(at(p, p.backward, x)).toBeCloseTo((beta * (2 - y * Math.tanh(y / 2))) / (1 + Math.cosh(y)), 9);
      }
    }
  });

  it("EDE(k, t): dx = g k t (1 - tanh²(t x))", () => {
    const p = estimator("EDE", { k: 2, t: 1.3 });
    for (const x of POINTS) expect(at(p, p.backward, x)).toBeCloseTo(2 * 1.3 * (1 - Math.tanh(1.3 * x) ** 2), 10);
  });

  it("RBNN(k, t): dx = g max(0, k (sqrt(2) t - t² |x|))", () => {
    const p = estimator("RBNN", { k: 1.5, t: 1.2 });
    for (const x of POINTS) expect(at(p, p.backward, x)).toBeCloseTo(Math.max(0, 1.5 * (Math.SQRT2 * 1.2 - 1.2 * 1.2 * Math.abs(x))), 10);
  });

  it("SigmoidSTE: dx = g sigmoid(x) (1 - sigmoid(x)), g/4 at 0", () => {
    const p = estimator("SigmoidSTE");
    for (const x of POINTS) {
      const s = 1 / (1 + Math.exp(-x));
      expect(at(p, p.backward, x)).toBeCloseTo(s * (1 - s), 12);
    }
    expect(at(p, p.backward, 0)).toBe(0.25);
  });

  it("SteHeaviside(clip) for step: forward in {0, 1} with step(0) = 0, backward 1[|x| <= clip]", () => {
    const p = estimator("SteHeaviside", { clip: 0.3 });
    expect(p.title).toBe("SteHeaviside for step(x)");
    for (const x of POINTS) {
      expect(at(p, p.forward, x)).toBe(x > 0 ? 1 : 0);
      expect(at(p, p.backward, x)).toBe(Math.abs(x) <= 0.3 ? 1 : 0);
    }
  });

  it("SteTern (a fn target, imported alone): forward tern(x) with D = 0.05, backward 1[|x| <= clip]", () => {
    const p = estimator("SteTern", { clip: 0.5 });
    expect(p.target).toBe("tern");
    for (const x of POINTS) {
      expect(at(p, p.forward, x)).toBe(x >= 0.05 ? 1 : x <= -0.05 ? -1 : 0);
      expect(at(p, p.backward, x)).toBe(Math.abs(x) <= 0.5 ? 1 : 0);
    }
  });
});

describe("sliders", () => {
  it("take their range from require bounds where the estimator declares them", () => {
    const o = estimator("ReSTE").scalars.find((s) => s.name === "o")!;
    expect(o).toMatchObject({ min: 1, default: 3, value: 3, from: { min: "require", max: "default" } });
    expect(o.max).toBeGreaterThanOrEqual(6);
    const text = `estimator Clip(t = 0.5) for sign(x) {\n  let t1 = require(t, min = 0.1, max = 2.0)\n  grad x = g * (abs(x) <= t1)\n}\n`;
    const t = plotOf({ text, offset: 3, scalars: { t: 5 } }).scalars[0]!;
    expect(t).toMatchObject({ name: "t", min: 0.1, max: 2, from: { min: "require", max: "require" }, value: 2 });
  });

  it("span a range around the default without bounds, and a require reached through a fn's scalar bounds it", () => {
    const t = estimator("ClippedSTE").scalars[0]!;
    expect(t).toMatchObject({ name: "t", min: 0, max: 2, from: { min: "default", max: "default" } });
    const text = `import { ReSTE } from "std/binary"\nfn f(x: f32[N], a: f32 = 2.0) -> f32[N] {\n  return sign(x) backward ReSTE(o = a)\n}\n`;
    const a = plotOf({ text, offset: text.indexOf("fn f") }).scalars[0]!;
    expect(a).toMatchObject({ name: "a", min: 1, from: { min: "require" } });
  });
});

describe("a fn under the cursor", () => {
  const text = [
    `import { ReSTE } from "std/binary"`,
    ``,
    `/// A smooth test fn.`,
    `fn h(x: f32[N], a: f32 = 1.5) -> f32[N] {`,
    `  return tanh(a * x) * x + exp(-x * x)`,
    `}`,
    ``,
    `fn r(x: f32[N], o: f32 = 3.0) -> f32[N] {`,
    `  return 0.5 * sign(x) backward ReSTE(o = o)`,
    `}`,
    ``,
  ].join("\n");

  it("has its derivative plotted, matching central differences of its forward", () => {
    for (const a of [1.5, 0.7]) {
      const p = plotOf({ text, offset: text.indexOf("tanh"), scalars: { a }, grid: { lo: -2, hi: 2, points: 2001 } });
      expect(p.kind).toBe("fn");
      expect(p.summary).toBe("A smooth test fn");
      const dx = p.xs[1]! - p.xs[0]!;
      for (let i = 1; i < p.xs.length - 1; i += 50) {
        const fd = (p.forward[i + 1]! - p.forward[i - 1]!) / (2 * dx);
        expect(p.backward[i]!).toBeCloseTo(fd, 5);
        const x = p.xs[i]!;
        const hand = Math.tanh(a * x) + a * x * (1 - Math.tanh(a * x) ** 2) - 2 * x * Math.exp(-x * x);
        expect(p.backward[i]!).toBeCloseTo(hand, 10);
      }
    }
  });

  it("has the estimators it attaches in its derivative", () => {
    const p = plotOf({ text, offset: text.indexOf("0.5 *"), scalars: { o: 2 } });
    expect(at(p, p.forward, -0.5)).toBe(-0.5);
    expect(at(p, p.backward, 0.5)).toBeCloseTo(0.5 * 0.5 * 0.5 ** -0.5, 12);
  });
});

describe("the cursor picks", () => {
  const text = [
    `import { STE, ReSTE } from "std/binary"`, // 0
    ``,
    `estimator A(t = 1.0) for sign(x) {`,
    `  grad x = g * (abs(x) <= t)`,
    `}`,
    ``,
    `/// B's doc`,
    `estimator B for sign(x) {`,
    `  grad x = 2 * g`,
    `}`,
    ``,
    ``,
    `fn f(x: f32[N]) -> f32[N] {`,
    `  return sign(x) backward ReSTE(o = 2.0) + sign(x) backward A`,
    `}`,
    `const C = 3`,
  ].join("\n");
  const name = (offset: number) => {
    const r = lab.curves({ text, offset });
    return r.ok ? `${r.plot.kind} ${r.plot.name}` : `reason: ${r.reason}`;
  };
  const lineStart = (k: number) => text.split("\n").slice(0, k).join("\n").length + (k > 0 ? 1 : 0);

  it("the item the cursor is inside", () => {
    expect(name(text.indexOf("abs(x) <= t"))).toBe("estimator A");
    expect(name(text.indexOf("2 * g"))).toBe("estimator B");
    expect(name(text.indexOf("fn f") + 1)).toBe("fn f");
    expect(name(text.indexOf("return sign"))).toBe("fn f");
  });

  it("the name under the cursor in an import, and the estimator of a backward in a fn body", () => {
    expect(name(text.indexOf("STE,") + 1)).toBe("estimator STE");
    expect(name(text.indexOf("ReSTE }") + 2)).toBe("estimator ReSTE");
    expect(name(text.indexOf("ReSTE(o") + 1)).toBe("estimator ReSTE");
    expect(name(text.indexOf("backward A") + 10)).toBe("estimator A");
  });

  it("between items: the next one from its doc comment or the line right above it, else the previous", () => {
    expect(name(lineStart(6) + 4)).toBe("estimator B"); // in B's doc comment
    expect(name(lineStart(5))).toBe("estimator B"); // the blank line right above the doc
    expect(name(lineStart(10))).toBe("estimator B"); // two blank lines before fn f: the one just written
    expect(name(lineStart(11))).toBe("fn f"); // right above fn f
  });

  it("a const gives a reason", () => {
    expect(name(text.length - 2)).toMatch(/reason: 'C' is a const/);
  });
});

describe("what cannot be plotted says why", () => {
  const reason = (text: string, offset: number) => {
    const r = lab.curves({ text, offset });
    if (r.ok) throw new Error(`plotted ${r.plot.name}`);
    return r.reason;
  };

  it("a program with errors names the first with its line and column", () => {
    const text = `estimator A for sign(x) {\n  grad x = g * bogus\n}\n`;
    expect(reason(text, 3)).toMatch(/^the program has 1 error \(first: 2:\d+ E2\d{3} .*bogus/);
  });

  it("an estimator for a primitive of more than one input, or of a reduction", () => {
    const text = `estimator M for max(a, b) {\n  grad a = g\n  grad b = g\n}\nestimator S for softmax(z) {\n  grad z = g\n}\n`;
    expect(reason(text, 3)).toMatch(/M is not plotted: its target 'max' takes 2 inputs/);
    expect(reason(text, text.indexOf("estimator S") + 3)).toMatch(/S is not plotted: its target 'softmax' is a normalize primitive, not an elementwise one/);
  });

  it("a fn of two tensor inputs, of a scalar result, or of a fixed-size input", () => {
    expect(reason(`fn f(x: f32[N], w: f32[N]) -> f32[N] { return x * w }\n`, 3)).toMatch(/fn 'f' takes 2 tensor inputs \(x, w\)/);
    expect(reason(`fn f(x: f32[N]) -> f32 { return sum(x) }\n`, 3)).toMatch(/fn 'f' returns a scalar/);
    expect(reason(`fn f(x: f32[3]) -> f32[3] { return x }\n`, 3)).toMatch(/fixed or computed size/);
  });

  it("an estimator of a sampling primitive, or one reading cost (no vjp for a non-scalar result), in words without the probe's names", () => {
    expect(reason(`import { ReinforceBernoulli } from "std/stochastic"\n`, 12)).toMatch(/ReinforceBernoulli is not plotted: its target 'bernoulli' is a sampling primitive/);
    const cost = reason(`import { ReinforceCategorical } from "std/stochastic"\n`, 12);
    expect(cost).toMatch(/^ReinforceCategorical is not plotted: E4030 estimator 'ReinforceCategorical' reads cost/);
    expect(cost).not.toMatch(/__lab|__LAB/);
  });

  it("an empty program and a bad grid", () => {
    expect(reason("// nothing\n", 0)).toMatch(/declares nothing to plot/);
    const r = lab.curves({ text: BINARY, offset: 10, grid: { lo: 1, hi: -1 } });
    expect(r.ok ? "" : r.reason).toMatch(/finite lo < hi/);
  });
});

describe("a fn of a rank-2 input", () => {
  it("softmax over two logits [x, 0] is the sigmoid, with its derivative", () => {
    const text = `fn sm(z: f32[B, K], tau: f32 = 1.0) -> f32[B, K] {\n  return softmax(z / tau, axis = 1)\n}\n`;
    for (const tau of [1, 0.5]) {
      const p = plotOf({ text, offset: 3, scalars: { tau } });
      expect(p.title).toBe("fn sm(z), z = [x, 0] along its last axis");
      for (const x of POINTS) {
        const s = 1 / (1 + Math.exp(-x / tau));
        expect(at(p, p.forward, x)).toBeCloseTo(s, 12);
        expect(at(p, p.backward, x)).toBeCloseTo((s * (1 - s)) / tau, 12);
      }
    }
  });

  it("gumbel_softmax has a temperature slider and a curve that sharpens as tau falls", () => {
    const text = `import { gumbel_softmax } from "std/stochastic"\n`;
    const spread = (tau: number) => {
      const p = plotOf({ text, offset: 12, scalars: { tau } });
      expect(p.scalars.map((s) => s.name)).toEqual(["tau"]);
      // Probabilities of the first of two categories, each in [0, 1].
      for (const v of p.forward) expect(v >= 0 && v <= 1).toBe(true);
      // The mean distance from 1/2: a colder softmax is nearer one-hot.
      return p.forward.reduce((a, v) => a + Math.abs(v - 0.5), 0) / p.forward.length;
    };
    expect(spread(0.1)).toBeGreaterThan(spread(2) + 0.1);
  });

  it("a result of another rank gives a reason", () => {
    const text = `fn rows(z: f32[B, K]) -> f32[B] {\n  return sum(z, axis = 1)\n}\n`;
    const r = lab.curves({ text, offset: 3 });
    expect(r.ok ? "" : r.reason).toMatch(/returns a rank-1 tensor for a rank-2 input 'z'/);
  });
});
