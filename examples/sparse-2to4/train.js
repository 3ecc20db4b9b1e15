// Trains a 2:4 sparse MLP on a synthetic task with SR-STE and with the plain STE (NMSTE), plus its
// dense twin for reference, on the CPU back end; prints test accuracy and SAD (how many weights
// changed between kept and pruned over each epoch) and writes out/results.{md,json} and SVG charts.
// Run from the repository root: npm run example:sparse-2to4 (it builds sparse.est into out/ first).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { tensor, zeros } from "estc/runtime";
import { lineChart } from "estc/plot";
import * as net from "./out/sparse.js";
import { parseArgs } from "../lib/args.js";
import { accuracy, batches, gather, Rng, teacherTask } from "../lib/data.js";
import { progress } from "../lib/progress.js";
import { markdownTable } from "../lib/table.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The parameters trained (and differentiated: the data gets no gradient). */
const PARAMS = ["w1", "b1", "w2", "b2"];
const opts = parseArgs(process.argv.slice(2), { epochs: 30, hidden: 128, batch: 128, lr: 0.05, momentum: 0.9, lambda: 2e-4, lambdaHigh: 2e-2, seed: 1 });
const smoke = opts.smoke;
const epochs = smoke ? 2 : opts.epochs;
const outDir = path.resolve(opts.out ?? path.join(here, "out"));
fs.mkdirSync(outDir, { recursive: true });

// A random tanh teacher's labels: curved class boundaries, so the hidden layer matters.
const task = teacherTask({ classes: 10, features: 64, hidden: 32, trainSize: smoke ? 512 : 4096, testSize: smoke ? 256 : 1024, seed: opts.seed });
const I = task.features;
const H = opts.hidden;
const K = task.classes;

/** The methods compared: the loss fn each trains and whether its deployed network is 2:4 sparse. */
const methods = [
  { key: "dense", name: "dense (no pruning)", loss: net.loss_dense, sparse: false, scalars: {} },
  { key: "ste", name: "2:4, plain STE (NMSTE)", loss: net.loss_ste, sparse: true, scalars: {} },
  { key: "srste", name: `2:4, SR-STE λ=${opts.lambda}`, loss: net.loss_srste, sparse: true, scalars: { lambda: opts.lambda } },
  { key: "srste_high", name: `2:4, SR-STE λ=${opts.lambdaHigh}`, loss: net.loss_srste, sparse: true, scalars: { lambda: opts.lambdaHigh } },
];

/** He-initialised weights [out, in] and zero biases, the same for every method (one seed). */
function initParams() {
  const rng = new Rng(opts.seed + 100);
  return {
    w1: tensor(rng.normals(H * I, Math.sqrt(2 / I)), [H, I]),
    b1: tensor(new Float32Array(H), [H]),
    w2: tensor(rng.normals(K * H, Math.sqrt(1 / H)), [K, H]),
    b2: tensor(new Float32Array(K), [K]),
  };
}

const testX = tensor(task.test.x, [task.test.n, I]);
async function testAccuracy(params, sparse) {
  const fn = sparse ? net.logits_sparse : net.logits_dense;
  const logits = await fn.forward({ x: testX, ...params });
  return accuracy(await logits.data(), task.test.y, K);
}

/** SAD of the 2:4 masks of both weight matrices between two snapshots. */
async function sadBetween(prev, next) {
  const a = await net.sad.forward({ prev: prev.w1, next: next.w1 });
  const b = await net.sad.forward({ prev: prev.w2, next: next.w2 });
  return (await a.data())[0] + (await b.data())[0];
}

async function train(method, bar) {
  let params = initParams();
  const velocity = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, zeros(t.shape)]));
  const rng = new Rng(opts.seed + 7); // the same batch order for every method
  const history = [];
  const started = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const before = { ...params };
    let total = 0;
    const order = batches(task.train.n, opts.batch, rng, { dropLast: true });
    for (const idx of order) {
      const b = gather(task.train, idx);
      const inputs = { x: tensor(b.x, [b.n, I]), labels: tensor(b.y, [b.n]), ...params };
      const { value, grads } = await method.loss.valueAndGrad(inputs, { ...method.scalars, wrt: PARAMS });
      total += (await value.data())[0];
      const next = {};
      for (const name of PARAMS) {
        const step = name.startsWith("w") ? net.step_w : net.step_b;
        const [w, v] = await step.forward({ w: params[name], g: grads[name], v: velocity[name] }, { lr: opts.lr, momentum: opts.momentum });
        next[name] = w;
        velocity[name] = v;
      }
      params = next;
    }
    const sad = await sadBetween(before, params);
    const acc = await testAccuracy(params, method.sparse);
    history.push({ epoch, loss: total / order.length, testAccuracy: acc, sad });
    bar.tick(`${method.key} epoch ${epoch}/${epochs} acc ${(100 * acc).toFixed(1)}% SAD ${sad}`);
  }
  const seconds = (performance.now() - started) / 1000;
  // The dense network pruned 2:4 after training, without retraining: what sparsity costs untreated.
  const prunedAccuracy = method.sparse ? undefined : await testAccuracy(params, true);
  return { history, seconds, prunedAccuracy };
}

const bar = progress("sparse-2to4", methods.length * epochs);
const results = {};
for (const method of methods) results[method.key] = { name: method.name, ...(await train(method, bar)) };
bar.done();

const weights = H * I + K * H;
const tail = Math.max(1, Math.floor(epochs / 3)); // SAD averaged over the last third of training
const mean = (xs) => xs.reduce((a, v) => a + v, 0) / xs.length;
const rows = methods.map(({ key }) => {
  const r = results[key];
  const last = r.history[r.history.length - 1];
  const late = mean(r.history.slice(-tail).map((h) => h.sad));
  return [r.name, last.loss, 100 * last.testAccuracy, late, (100 * late) / weights, r.history.reduce((a, h) => a + h.sad, 0), r.seconds];
});
const headers = ["method", "final train loss", "test acc %", `SAD/epoch (last ${tail})`, "SAD % of weights", "total SAD", "train s"];
const table = markdownTable(headers, rows);
const dense = results.dense;
const note = `Dense network pruned 2:4 after training (no retraining): ${(100 * dense.prunedAccuracy).toFixed(1)}% test accuracy. SAD for the dense row is the churn of the 2:4 mask its weights would have; it is not applied.`;
console.log(`\n${task.description}; MLP ${I}-${H}-${K}, ${weights} prunable weights, ${epochs} epochs, batch ${opts.batch}, SGD lr ${opts.lr} momentum ${opts.momentum}\n`);
console.log(table);
console.log(`\n${note}`);

const config = { task: task.description, hidden: H, epochs, batch: opts.batch, lr: opts.lr, momentum: opts.momentum, lambda: opts.lambda, lambdaHigh: opts.lambdaHigh, seed: opts.seed, smoke, weights };
fs.writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify({ config, methods: results }, null, 2)}\n`);
fs.writeFileSync(
  path.join(outDir, "results.md"),
  `# sparse-2to4 results\n\n${config.task}; MLP ${I}-${H}-${K}, ${epochs} epochs${smoke ? " (smoke run)" : ""}.\n\n${table}\n\n${note}\n`,
);
const series = (field, scale = 1) => methods.map(({ key }) => ({ name: results[key].name, dashed: key === "dense", points: results[key].history.map((h) => [h.epoch, scale * h[field]]) }));
fs.writeFileSync(path.join(outDir, "accuracy.svg"), lineChart({ title: "Test accuracy (sparse runs: the 2:4 network as deployed)", xLabel: "epoch", yLabel: "test accuracy %", series: series("testAccuracy", 100) }));
fs.writeFileSync(path.join(outDir, "sad.svg"), lineChart({ title: "SAD per epoch: weights whose 2:4 mask flipped", xLabel: "epoch", yLabel: "SAD (mask entries changed)", series: series("sad"), logY: true }));
fs.writeFileSync(path.join(outDir, "loss.svg"), lineChart({ title: "Training loss", xLabel: "epoch", yLabel: "cross-entropy", series: series("loss") }));
console.log(`\nwrote ${path.relative(process.cwd(), outDir) || "."}/results.md, results.json, accuracy.svg, sad.svg, loss.svg`);
