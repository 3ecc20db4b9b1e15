// Trains the binary latent-variable model of latent.est on 4×4 "bars" images with seven gradient
// estimators for its Bernoulli latents — REINFORCE (no baseline, moving average, at the site with
// the batch cost, leave-one-out), exact enumeration, straight-through Gumbel and the Concrete
// relaxation — from the same initialisation and data order, then measures each estimator's
// gradient variance (and bias against the exact ENUM gradient) over repeated seeds at fixed
// parameters. Run from the repository root: npm run example:discrete-latent [-- --smoke].
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { movingAverageBaseline, tensor } from "estc/runtime";
import { barChart, lineChart } from "estc/plot";
import { parseArgs } from "../lib/args.js";
import { Rng } from "../lib/data.js";
import { progress } from "../lib/progress.js";
import { markdownTable } from "../lib/table.js";
import * as model from "./out/latent.js";

const options = parseArgs(
  process.argv.slice(2),
  { steps: 0, batch: 32, samples: 4, hidden: 8, lr: 0.01, tau: 1.0, relaxedTau: 0.5, varianceSeeds: 0, evalEvery: 0, seed: 1 },
  "examples/discrete-latent/train.js",
);
const outDir = resolve(options.out ?? "examples/discrete-latent/out");
const steps = options.steps || (options.smoke ? 20 : 10000);
const evalEvery = options.evalEvery || Math.max(1, Math.floor(steps / 20));
const R = options.varianceSeeds || (options.smoke ? 4 : 400);
const [B, S, H, D] = [options.batch, options.samples, options.hidden, 16];
if (H > 12 || S < 2) {
  process.stderr.write("error: --hidden must be at most 12 (ENUM enumerates 2^H configurations) and --samples at least 2 (leave-one-out)\n");
  process.exit(2);
}

// The data: 8 bars (4 rows, 4 columns) of a 4×4 image, each present with probability 0.2; a pixel
// covered by a bar is on with probability 0.95, any other with 0.05.
const rng = new Rng(options.seed);
function bars(n) {
  const x = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const on = Array.from({ length: 8 }, () => rng.uniform() < 0.2);
    for (let d = 0; d < D; d++) {
      const covered = on[Math.floor(d / 4)] || on[4 + (d % 4)];
      x[i * D + d] = rng.uniform() < (covered ? 0.95 : 0.05) ? 1 : 0;
    }
  }
  return x;
}
const train = bars(options.smoke ? 256 : 4096);
const test = bars(options.smoke ? 128 : 1024);
const nTrain = train.length / D;
const configs = tensor(Float32Array.from({ length: (1 << H) * H }, (_, i) => (Math.floor(i / H) >> (i % H)) & 1), [1 << H, H]);

/** Parameters: small random encoder/decoder weights, decoder bias at the pixel log-odds. */
function initParams() {
  const r = new Rng(options.seed + 100);
  let mean = 0;
  for (const v of train) mean += v / train.length;
  return {
    we: Float32Array.from({ length: D * H }, () => r.normal(0, 0.1)),
    be: new Float32Array(H),
    wd: Float32Array.from({ length: H * D }, () => r.normal(0, 0.1)),
    bd: new Float32Array(D).fill(Math.log(mean / (1 - mean))),
  };
}
const SHAPES = { we: [D, H], be: [H], wd: [H, D], bd: [D] };
const paramTensors = (p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tensor(v, SHAPES[k])]));
const clone = (p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Float32Array.from(v)]));

/** Rows [n, D] of the examples `idx`, each repeated `reps` times. */
function rows(data, idx, reps) {
  const x = new Float32Array(idx.length * reps * D);
  idx.forEach((i, b) => {
    for (let s = 0; s < reps; s++) x.set(data.subarray(i * D, i * D + D), (b * reps + s) * D);
  });
  return x;
}

// Each estimator: the loss fn, how its x is laid out, its runtime scalars and whether it keeps a
// moving-average baseline.
const ESTIMATORS = [
  { name: "REINFORCE", short: "REINFORCE", fn: model.loss_reinforce, layout: "rows", biased: false },
  { name: "REINFORCE + moving average", short: "RF + MA", fn: model.loss_reinforce, layout: "rows", ma: true, biased: false },
  { name: "REINFORCE at the site (batch cost) + MA", short: "RF site + MA", fn: model.loss_reinforce_batch, layout: "rows", ma: true, biased: false },
  { name: "REINFORCE leave-one-out", short: "RLOO", fn: model.loss_loo, layout: "grouped", biased: false },
  { name: "ENUM (exact)", short: "ENUM", fn: model.loss_enum, layout: "enum", biased: false },
  { name: "Gumbel straight-through", short: "Gumbel ST", fn: model.loss_gumbel_st, layout: "rows", scalars: { tau: options.tau }, biased: true },
  { name: "Concrete relaxation (REPARAM)", short: "Concrete", fn: model.loss_relaxed, layout: "rows", scalars: { tau: options.relaxedTau }, biased: true },
];

function inputs(est, idx, params) {
  const p = paramTensors(params);
  if (est.layout === "enum") return { x: tensor(rows(train, idx, 1), [idx.length, D]), configs, ...p };
  const x = rows(train, idx, S);
  return { x: tensor(x, est.layout === "grouped" ? [idx.length, S, D] : [idx.length * S, D]), ...p };
}

async function gradient(est, idx, params, seed, base) {
  const { value, grads } = await est.fn.valueAndGrad(inputs(est, idx, params), { seed, wrt: Object.keys(SHAPES), ...est.scalars, ...(est.ma ? { base } : {}) });
  const g = {};
  for (const k of Object.keys(SHAPES)) g[k] = await grads[k].data();
  return { value: (await value.data())[0], grads: g };
}

async function testObjective(params) {
  const v = await model.loss_enum.forward({ x: tensor(test, [test.length / D, D]), configs, ...paramTensors(params) });
  return (await v.data())[0];
}

/** Adam (Kingma & Ba 2015) with the usual defaults. */
function adam(params) {
  const m = clone(params);
  const v = clone(params);
  for (const k of Object.keys(m)) m[k].fill(0), v[k].fill(0);
  let t = 0;
  return (grads) => {
    t++;
    for (const k of Object.keys(params)) {
      const [p, g, mk, vk] = [params[k], grads[k], m[k], v[k]];
      for (let i = 0; i < p.length; i++) {
        mk[i] = 0.9 * mk[i] + 0.1 * g[i];
        vk[i] = 0.999 * vk[i] + 0.001 * g[i] * g[i];
        p[i] -= (options.lr * (mk[i] / (1 - 0.9 ** t))) / (Math.sqrt(vk[i] / (1 - 0.999 ** t)) + 1e-8);
      }
    }
  };
}

const start = performance.now();
const init = initParams();
const order = Array.from({ length: steps }, () => Array.from({ length: B }, () => rng.int(nTrain)));
const results = [];
let enumParams;
// ENUM first: its trained parameters are the common point for the variance measurement.
for (const est of [ESTIMATORS[4], ...ESTIMATORS.filter((_, i) => i !== 4)]) {
  const params = clone(init);
  const step = adam(params);
  const ma = movingAverageBaseline(0.95);
  const curve = [[0, await testObjective(params)]];
  const bar = progress(est.name.padEnd(40), steps);
  const t0 = performance.now();
  let trainLoss = 0;
  for (let s = 0; s < steps; s++) {
    const { value, grads } = await gradient(est, order[s], params, 1000 * options.seed + s, ma.value);
    if (!Number.isFinite(value)) throw new Error(`${est.name}: the loss is not finite at step ${s}`);
    ma.update(value);
    step(grads);
    trainLoss = 0.95 * trainLoss + 0.05 * value;
    if ((s + 1) % evalEvery === 0 || s + 1 === steps) curve.push([s + 1, await testObjective(params)]);
    bar.tick(`loss ${value.toFixed(3)}`);
  }
  bar.done();
  if (est.layout === "enum") enumParams = clone(params);
  results.push({ est, params, curve, seconds: (performance.now() - t0) / 1000, testNegElbo: curve.at(-1)[1] });
}
results.sort((a, b) => ESTIMATORS.indexOf(a.est) - ESTIMATORS.indexOf(b.est));

/** Per-coordinate variance (mean over the encoder's coordinates) and relative bias against ENUM. */
async function varianceAt(params, label) {
  const idx = Array.from({ length: B }, (_, i) => i);
  const exact = await gradient(ESTIMATORS[4], idx, params, 0, 0);
  const flat = (g) => [...g.we, ...g.be];
  const ex = flat(exact.grads);
  const bar = progress(`variance at ${label}`.padEnd(40), ESTIMATORS.length);
  const out = [];
  for (const est of ESTIMATORS) {
    const samples = [];
    // A converged moving average tracks E[loss]; the exact value at this point stands in for it.
    for (let r = 0; r < R; r++) samples.push(flat((await gradient(est, idx, params, 7919 * (r + 1), exact.value)).grads));
    const mean = ex.map((_, j) => samples.reduce((a, s) => a + s[j], 0) / R);
    const variance = ex.reduce((a, _, j) => a + samples.reduce((b, s) => b + (s[j] - mean[j]) ** 2, 0) / (R - 1), 0) / ex.length;
    const norm = Math.sqrt(ex.reduce((a, v) => a + v * v, 0));
    const relBias = Math.sqrt(ex.reduce((a, v, j) => a + (mean[j] - v) ** 2, 0)) / norm;
    // For an unbiased estimator relBias is noise of about sqrt(variance · coords / R) / |exact|.
    const noise = Math.sqrt((variance * ex.length) / R) / norm;
    out.push({ variance, relBias, relBiasNoise: noise });
    bar.tick();
  }
  bar.done();
  return out;
}
const atInit = await varianceAt(init, "initialisation");
const atTrained = await varianceAt(enumParams, "ENUM-trained parameters");
const wallSeconds = (performance.now() - start) / 1000;

const report = {
  config: { steps, batch: B, samples: S, hidden: H, pixels: D, lr: options.lr, tau: options.tau, relaxedTau: options.relaxedTau, varianceSeeds: R, trainSize: nTrain, testSize: test.length / D, seed: options.seed },
  wallSeconds,
  results: results.map((r, i) => ({
    name: r.est.name,
    biased: r.est.biased,
    testNegElbo: r.testNegElbo,
    seconds: r.seconds,
    varianceInit: atInit[i].variance,
    varianceTrained: atTrained[i].variance,
    relBiasInit: atInit[i].relBias,
    relBiasTrained: atTrained[i].relBias,
    relBiasNoiseTrained: atTrained[i].relBiasNoise,
    curve: r.curve,
  })),
};
const fmt = (v, d = 3) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(d));
const table = markdownTable(
  ["estimator", "biased", "test -ELBO (nats)", "grad variance at init", "grad variance trained", "rel. bias trained (noise)", "train s"],
  report.results.map((r) => [r.name, r.biased ? "yes" : "no", fmt(r.testNegElbo), fmt(r.varianceInit), fmt(r.varianceTrained), `${fmt(r.relBiasTrained)} (${fmt(r.relBiasNoiseTrained)})`, r.seconds.toFixed(1)]),
);
const intro = `Binary latent model on 4×4 bars: H = ${H} Bernoulli latents, batch ${B}, S = ${S} samples per example (ENUM: exact, no samples), ${steps} Adam steps (lr ${options.lr}). Test objective: the exact negative ELBO (ENUM) on ${report.config.testSize} held-out images. Gradient variance: of the encoder gradient on one batch over ${R} seeds, mean per coordinate; relative bias against the exact ENUM gradient, with the level pure noise would give in parentheses.`;
mkdirSync(outDir, { recursive: true });
writeFileSync(resolve(outDir, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(resolve(outDir, "results.md"), `# discrete-latent results\n\n${intro}\n\n${table}\n\nWall time ${wallSeconds.toFixed(1)} s.\n`);
writeFileSync(
  resolve(outDir, "objective.svg"),
  lineChart({ title: "Test negative ELBO (exact) during training", xLabel: "step", yLabel: "-ELBO (nats)", series: report.results.map((r) => ({ name: r.name, points: r.curve, dashed: r.biased })) }),
);
writeFileSync(
  resolve(outDir, "variance.svg"),
  barChart({
    title: "Gradient variance, trained point (ENUM: 0)",
    yLabel: "log10 variance",
    bars: results.map((r, i) => ({ label: r.est.short, value: Math.log10(report.results[i].varianceTrained) })).filter((_, i) => results[i].est.layout !== "enum"),
  }),
);
console.log(`${intro}\n\n${table}\n\nWrote ${outDir}/results.md, results.json, objective.svg, variance.svg (${wallSeconds.toFixed(1)} s).`);
