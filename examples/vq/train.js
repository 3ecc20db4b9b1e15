// Trains a tiny VQ autoencoder on synthetic 8-D data twice — gradient across the quantiser by the
// straight-through estimator, then by the rotation trick — with the same data, initialisation and
// batch order, on the CPU back end; prints reconstruction error and codebook usage per method and
// writes out/results.{md,json} and SVG charts.
// Run from the repository root: npm run example:vq (it builds vq.est into out/ first).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { tensor, zeros } from "estc/runtime";
import { lineChart } from "estc/plot";
import * as vq from "./out/vq.js";
import { parseArgs } from "../lib/args.js";
import { batches, gather, Rng } from "../lib/data.js";
import { progress } from "../lib/progress.js";
import { markdownTable } from "../lib/table.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = parseArgs(process.argv.slice(2), { epochs: 30, codes: 32, latent: 4, hidden: 32, batch: 128, lr: 2e-3, beta: 0.25, seed: 1 });
const smoke = opts.smoke;
const epochs = smoke ? 2 : opts.epochs;
const outDir = path.resolve(opts.out ?? path.join(here, "out"));
fs.mkdirSync(outDir, { recursive: true });

const I = 8; // input dimension
const S = 3; // dimension of the manifold the data lie on
const { codes: K, latent: D, hidden: H } = opts;

/** x = tanh(1.5 A s), s uniform in [-1, 1]^3, A a fixed random 8×3 matrix: a curved 3-D sheet in 8-D. */
function makeData(n, rng, a) {
  const x = new Float32Array(n * I);
  for (let b = 0; b < n; b++) {
    const s = Array.from({ length: S }, () => rng.uniform(-1, 1));
    for (let i = 0; i < I; i++) {
      let v = 0;
      for (let j = 0; j < S; j++) v += a[i * S + j] * s[j];
      x[b * I + i] = Math.tanh(1.5 * v);
    }
  }
  return { x, y: new Int32Array(n), n, features: I };
}
const dataRng = new Rng(opts.seed);
const mixing = dataRng.normals(I * S);
const trainSet = makeData(smoke ? 512 : 4096, dataRng, mixing);
const testSet = makeData(smoke ? 256 : 1024, dataRng, mixing);
const description = `x = tanh(1.5 A s), s ~ U[-1, 1]^${S}, A ~ N(0, 1)^(${I}×${S})`;

/** He-initialised MLPs; the codebook uniform in ±1/K (the usual VQ-VAE embedding init). Same seed for both methods. */
function initParams() {
  const rng = new Rng(opts.seed + 100);
  const he = (fanIn, fanOut) => tensor(rng.normals(fanIn * fanOut, Math.sqrt(2 / fanIn)), [fanIn, fanOut]);
  return {
    we1: he(I, H),
    be1: zeros([H]),
    we2: he(H, D),
    be2: zeros([D]),
    codebook: tensor(Float32Array.from({ length: K * D }, () => rng.uniform(-1 / K, 1 / K)), [K, D]),
    wd1: he(D, H),
    bd1: zeros([H]),
    wd2: he(H, I),
    bd2: zeros([I]),
  };
}

const methods = [
  { key: "ste", name: "straight-through (STE)", loss: vq.loss_ste },
  { key: "rotation", name: "rotation trick", loss: vq.loss_rotation },
];

const testX = tensor(testSet.x, [testSet.n, I]);
async function evaluate(params) {
  const [recon, perplexity, usage] = await vq.evaluate.forward({ x: testX, ...params });
  const counts = Array.from(await usage.data());
  return { recon: (await recon.data())[0], perplexity: (await perplexity.data())[0], used: counts.filter((c) => c > 0).length, usage: counts };
}

async function train(method, bar) {
  let params = initParams();
  const m = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, zeros(t.shape)]));
  const v = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, zeros(t.shape)]));
  const rng = new Rng(opts.seed + 7); // the same batch order for both methods
  const history = [];
  let t = 0;
  const started = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let total = 0;
    const order = batches(trainSet.n, opts.batch, rng, { dropLast: true });
    for (const idx of order) {
      const b = gather(trainSet, idx);
      const { value, grads } = await method.loss.valueAndGrad({ x: tensor(b.x, [b.n, I]), ...params }, { beta: opts.beta, wrt: Object.keys(params) });
      total += (await value.data())[0];
      t += 1;
      const next = {};
      for (const [name, w] of Object.entries(params)) {
        const step = w.shape.length === 2 ? vq.step_w : vq.step_b;
        const [w2, m2, v2] = await step.forward({ w, g: grads[name], m: m[name], v: v[name] }, { t, lr: opts.lr });
        next[name] = w2;
        m[name] = m2;
        v[name] = v2;
      }
      params = next;
    }
    const e = await evaluate(params);
    history.push({ epoch, trainLoss: total / order.length, testRecon: e.recon, perplexity: e.perplexity, codesUsed: e.used });
    bar.tick(`${method.key} epoch ${epoch}/${epochs} recon ${e.recon.toFixed(4)} codes ${e.used}/${K}`);
  }
  const final = await evaluate(params);
  return { history, finalUsage: final.usage, seconds: (performance.now() - started) / 1000 };
}

const bar = progress("vq", methods.length * epochs);
const results = {};
for (const method of methods) results[method.key] = { name: method.name, ...(await train(method, bar)) };
bar.done();

const headers = ["method", "final train loss", "test recon MSE", "perplexity", `codes used (of ${K})`, "train s"];
const rows = methods.map(({ key }) => {
  const r = results[key];
  const last = r.history[r.history.length - 1];
  return [r.name, last.trainLoss, last.testRecon, last.perplexity, last.codesUsed, r.seconds];
});
const table = markdownTable(headers, rows);
const setup = `${description}; autoencoder ${I}-${H}-${D} | VQ K=${K} | ${D}-${H}-${I}, beta ${opts.beta}, Adam lr ${opts.lr}, batch ${opts.batch}, ${epochs} epochs`;
console.log(`\n${setup}\n`);
console.log(table);

const config = { data: description, input: I, hidden: H, latent: D, codes: K, beta: opts.beta, lr: opts.lr, batch: opts.batch, epochs, seed: opts.seed, smoke };
fs.writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify({ config, methods: results }, null, 2)}\n`);
fs.writeFileSync(path.join(outDir, "results.md"), `# vq results\n\n${setup}${smoke ? " (smoke run)" : ""}.\n\n${table}\n`);
const series = (field) => methods.map(({ key }) => ({ name: results[key].name, points: results[key].history.map((h) => [h.epoch, h[field]]) }));
fs.writeFileSync(path.join(outDir, "recon.svg"), lineChart({ title: "Test reconstruction error through the quantiser", xLabel: "epoch", yLabel: "MSE", series: series("testRecon"), logY: true }));
fs.writeFileSync(path.join(outDir, "perplexity.svg"), lineChart({ title: `Codebook perplexity (effective codes, of ${K})`, xLabel: "epoch", yLabel: "perplexity", series: series("perplexity") }));
fs.writeFileSync(path.join(outDir, "codes-used.svg"), lineChart({ title: `Codes used on the test set (of ${K})`, xLabel: "epoch", yLabel: "codes used", series: series("codesUsed") }));
console.log(`\nwrote ${path.relative(process.cwd(), outDir) || "."}/results.md, results.json, recon.svg, perplexity.svg, codes-used.svg`);
