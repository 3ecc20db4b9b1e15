/**
 * std/optim's update rules (SGD with momentum, Adam, diffGrad) against plain f64 loops of the
 * published updates written here from the papers and the reference code (torch.optim.SGD/Adam,
 * shivram1987/diffGrad diffGrad_v2.py), over several steps that feed each evaluator's new state
 * back in, on all three evaluators. Closed forms pin the first step (Adam's bias correction at
 * t = 1 makes it lr · d / (|d| + eps)) and diffGrad's friction at chosen (g_prev, g).
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const SRC = fs.readFileSync(new URL("../../stdlib/std/optim.est", import.meta.url), "utf8");

type Vec = number[];
interface Hyper { lr: number; b1: number; b2: number; eps: number; weight_decay: number }
const ADAM_DEFAULTS: Hyper = { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, weight_decay: 0 };

/** torch.optim.SGD's step (dampening 0), element by element. */
function sgdRef(w: Vec, g: Vec, v: Vec, lr: number, mu: number, wd: number, nesterov: boolean): [Vec, Vec] {
  const w2: Vec = [];
  const v2: Vec = [];
  w.forEach((wi, i) => {
    const d = g[i]! + wd * wi;
    const buf = mu * v[i]! + d;
    v2.push(buf);
    w2.push(wi - lr * (nesterov ? d + mu * buf : buf));
  });
  return [w2, v2];
}

/** Kingma & Ba, Algorithm 1, with PyTorch's eps placement (outside the sqrt of v̂). */
function adamRef(w: Vec, g: Vec, m: Vec, v: Vec, t: number, h: Hyper): [Vec, Vec, Vec] {
  const out: [Vec, Vec, Vec] = [[], [], []];
  w.forEach((wi, i) => {
    const d = g[i]! + h.weight_decay * wi;
    const mi = h.b1 * m[i]! + (1 - h.b1) * d;
    const vi = h.b2 * v[i]! + (1 - h.b2) * d * d;
    const mh = mi / (1 - h.b1 ** t);
    const vh = vi / (1 - h.b2 ** t);
    out[0].push(wi - (h.lr * mh) / (Math.sqrt(vh) + h.eps));
    out[1].push(mi);
    out[2].push(vi);
  });
  return out;
}

/** diffGrad_v2.py: step size lr·sqrt(bc2)/bc1, eps on the uncorrected sqrt(v), friction on m. */
function diffgradRef(w: Vec, g: Vec, m: Vec, v: Vec, gp: Vec, t: number, h: Hyper): [Vec, Vec, Vec, Vec] {
  const out: [Vec, Vec, Vec, Vec] = [[], [], [], []];
  w.forEach((wi, i) => {
    const d = g[i]! + h.weight_decay * wi;
    const mi = h.b1 * m[i]! + (1 - h.b1) * d;
    const vi = h.b2 * v[i]! + (1 - h.b2) * d * d;
    const xi = 1 / (1 + Math.exp(-Math.abs(gp[i]! - d)));
    const stepSize = (h.lr * Math.sqrt(1 - h.b2 ** t)) / (1 - h.b1 ** t);
    out[0].push(wi - (stepSize * mi * xi) / (Math.sqrt(vi) + h.eps));
    out[1].push(mi);
    out[2].push(vi);
    out[3].push(d);
  });
  return out;
}

const W0 = [0.5, -1.25, 2, 0.75, -0.375, 1.5];
/** Gradients of five steps: signs flip, magnitudes vary, so momentum and friction matter. */
const GRADS = [
  [0.5, -1, 2, -0.25, 1.5, 0.125],
  [0.25, 1, 1.5, -0.5, -2, 0.25],
  [-0.75, 0.5, 1, 0.5, 1, -0.5],
  [1, -0.25, 0.5, 1.25, -0.5, 0.75],
  [0.125, 2, -1, 0.25, 0.75, -1],
];
const zeros = () => W0.map(() => 0);
const SHAPES: { fn: string; shape: number[] }[] = [
  { fn: "", shape: [2, 3] },
  { fn: "_1d", shape: [6] },
];
const inp = (data: Vec, shape: number[]) => ({ data, shape });

describe("sgd: torch.optim.SGD with momentum", () => {
  const cases = [
    { name: "momentum 0.9", scalars: { lr: 0.1, momentum: 0.9, weight_decay: 0, nesterov: 0 } },
    { name: "Nesterov and weight decay", scalars: { lr: 0.05, momentum: 0.8, weight_decay: 0.1, nesterov: 1 } },
  ];
  for (const c of cases) {
    for (const { fn, shape } of SHAPES) {
      it(`${c.name}, five steps, rank ${shape.length}`, async () => {
        for (const b of BACKENDS) {
          let [w, v] = [W0, zeros()];
          let [wr, vr] = [W0, zeros()];
          for (const g of GRADS) {
            const r = await run(b, SRC, `sgd${fn}`, { w: inp(w, shape), g: inp(g, shape), v: inp(v, shape) }, { scalars: c.scalars });
            [wr, vr] = sgdRef(wr, g, vr, c.scalars.lr, c.scalars.momentum, c.scalars.weight_decay, c.scalars.nesterov === 1);
            expectClose(r.outputs[0], wr, tolerance(b), `${b} w`);
            expectClose(r.outputs[1], vr, tolerance(b), `${b} v`);
            [w, v] = [r.outputs[0]!, r.outputs[1]!];
          }
        }
      });
    }
  }

  it("the first step from v = 0 is PyTorch's buf = d: w − lr (g + wd w) (plus μ d with Nesterov)", async () => {
    for (const b of BACKENDS) {
      const g = GRADS[0]!;
      const plain = await run(b, SRC, "sgd", { w: inp(W0, [2, 3]), g: inp(g, [2, 3]), v: inp(zeros(), [2, 3]) }, { scalars: { lr: 0.5, weight_decay: 0.25 } });
      const d = W0.map((wi, i) => g[i]! + 0.25 * wi);
      expectClose(plain.outputs[0], W0.map((wi, i) => wi - 0.5 * d[i]!), tolerance(b), `${b} plain`);
      const nest = await run(b, SRC, "sgd", { w: inp(W0, [2, 3]), g: inp(g, [2, 3]), v: inp(zeros(), [2, 3]) }, { scalars: { lr: 0.5, nesterov: 1 } });
      expectClose(nest.outputs[0], W0.map((wi, i) => wi - 0.5 * 1.9 * g[i]!), tolerance(b), `${b} nesterov`);
    }
  });
});

describe("adam: Kingma & Ba 2015 with bias correction, eps outside the sqrt", () => {
  const cases: { name: string; h: Hyper }[] = [
    { name: "lr 0.1", h: { ...ADAM_DEFAULTS, lr: 0.1 } },
    { name: "defaults", h: ADAM_DEFAULTS },
    { name: "β 0.5/0.75, eps 0.5, weight decay 0.2", h: { lr: 0.25, b1: 0.5, b2: 0.75, eps: 0.5, weight_decay: 0.2 } },
  ];
  for (const c of cases) {
    for (const { fn, shape } of SHAPES) {
      it(`${c.name}, five steps t = 1..5, rank ${shape.length}`, async () => {
        for (const b of BACKENDS) {
          let [w, m, v] = [W0, zeros(), zeros()];
          let ref: [Vec, Vec, Vec] = [W0, zeros(), zeros()];
          for (let k = 0; k < GRADS.length; k++) {
            const g = GRADS[k]!;
            const t = k + 1;
            const r = await run(b, SRC, `adam${fn}`, { w: inp(w, shape), g: inp(g, shape), m: inp(m, shape), v: inp(v, shape) }, { scalars: { ...c.h, t } });
            const before = ref[0];
            ref = adamRef(ref[0], g, ref[1], ref[2], t, c.h);
            // The step itself, in units of lr, so a small lr is still checked to the tolerance.
            const moved = r.outputs[0]!.map((x, i) => (x - w[i]!) / c.h.lr);
            const movedRef = ref[0].map((x, i) => (x - before[i]!) / c.h.lr);
            expectClose(moved, movedRef, b === "f64" ? 1e-9 : 1e-2, `${b} t=${t} step / lr`);
            expectClose(r.outputs[0], ref[0], tolerance(b), `${b} t=${t} w`);
            expectClose(r.outputs[1], ref[1], tolerance(b), `${b} t=${t} m`);
            expectClose(r.outputs[2], ref[2], tolerance(b), `${b} t=${t} v`);
            [w, m, v] = [r.outputs[0]!, r.outputs[1]!, r.outputs[2]!];
          }
        }
      });
    }
  }
  it("bias correction at t = 1 from zero state: w' = w − lr · g / (|g| + eps) exactly", async () => {
    const g = [0.5, -1, 2, -0.25, 1e-3, 0];
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "adam", { w: inp(W0, [2, 3]), g: inp(g, [2, 3]), m: inp(zeros(), [2, 3]), v: inp(zeros(), [2, 3]) }, { scalars: { lr: 0.1, eps: 1e-3 } });
      const want = W0.map((wi, i) => wi - (0.1 * g[i]!) / (Math.abs(g[i]!) + 1e-3));
      expectClose(r.outputs[0], want, tolerance(b), `${b} w at t=1`);
      // Without the correction the step would be lr·0.1·g / (sqrt(0.001)|g| + eps): about 3.2× smaller.
      expect(Math.abs(r.outputs[0]![0]! - W0[0]!)).toBeGreaterThan(0.09);
    }
  });
});

describe("diffgrad: Dubey et al. 2019 (diffGrad_v2.py)", () => {
  const cases: { name: string; h: Hyper }[] = [
    { name: "lr 0.1", h: { ...ADAM_DEFAULTS, lr: 0.1 } },
    { name: "β 0.5/0.75, eps 0.5, weight decay 0.2", h: { lr: 0.25, b1: 0.5, b2: 0.75, eps: 0.5, weight_decay: 0.2 } },
  ];
  for (const c of cases) {
    for (const { fn, shape } of SHAPES) {
      it(`${c.name}, five steps t = 1..5, rank ${shape.length}`, async () => {
        for (const b of BACKENDS) {
          let s = [W0, zeros(), zeros(), zeros()];
          let ref: [Vec, Vec, Vec, Vec] = [W0, zeros(), zeros(), zeros()];
          for (let k = 0; k < GRADS.length; k++) {
            const g = GRADS[k]!;
            const t = k + 1;
            const r = await run(b, SRC, `diffgrad${fn}`, { w: inp(s[0]!, shape), g: inp(g, shape), m: inp(s[1]!, shape), v: inp(s[2]!, shape), g_prev: inp(s[3]!, shape) }, { scalars: { ...c.h, t } });
            ref = diffgradRef(ref[0], g, ref[1], ref[2], ref[3], t, c.h);
            ["w", "m", "v", "g_prev"].forEach((what, j) => expectClose(r.outputs[j], ref[j]!, tolerance(b), `${b} t=${t} ${what}`));
            s = r.outputs;
          }
        }
      });
    }
  }

  it("friction ξ = sigmoid(|g_prev − g|) at chosen points", async () => {
    const gp = [0, 1, 1, -1, 3, -2];
    const g = [0, 1, -1, 1, 0, 2];
    // |Δ| = 0, 0, 2, 2, 3, 4: ξ = 0.5, 0.5, σ(2), σ(2), σ(3), σ(4).
    const want = [0.5, 0.5, 0.8807970779778823, 0.8807970779778823, 0.9525741268224334, 0.9820137900379085];
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "diffgrad_friction", { g_prev: inp(gp, [2, 3]), g: inp(g, [2, 3]) });
      expectClose(r.outputs[0], want, tolerance(b), `${b} ξ`);
    }
  });

  it("the first step from zero state moves by lr · ξ · d/(|d| + eps/sqrt(1 − β2)) with ξ = σ(|d|)", async () => {
    const g = [0.5, -1, 2, -0.25, 4, 0];
    const [lr, eps, b2] = [0.1, 1e-3, 0.999];
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "diffgrad", { w: inp(W0, [2, 3]), g: inp(g, [2, 3]), m: inp(zeros(), [2, 3]), v: inp(zeros(), [2, 3]), g_prev: inp(zeros(), [2, 3]) }, { scalars: { lr, eps } });
      const want = W0.map((wi, i) => {
        const d = g[i]!;
        const xi = 1 / (1 + Math.exp(-Math.abs(d)));
        return wi - (lr * xi * d) / (Math.abs(d) + eps / Math.sqrt(1 - b2));
      });
      expectClose(r.outputs[0], want, tolerance(b), `${b} w at t=1`);
      expectClose(r.outputs[3], g, tolerance(b), `${b} g_prev' = g`);
    }
  });
});
