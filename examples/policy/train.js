// A contextual bandit trained with four policy-gradient estimators of std/policy — REINFORCE,
// PPO, GRPO and HPT's switch — from the same data, initialisation and seeds, on the CPU back end.
// A context is a noisy ±1 prototype of one of K classes; the policy softmax(x W) picks one of K
// arms; the reward is 1 when the arm is the context's class. Prints the mean reward per epoch
// and the final greedy accuracy per method; writes out/results.{md,json} and SVG charts.
// Run from the repository root: npm run example:policy (it builds policy.est into out/ first).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { tensor } from "estc/runtime";
import { barChart, lineChart } from "estc/plot";
import * as pol from "./out/policy.js";
import { parseArgs } from "../lib/args.js";
import { prototypeTask, Rng } from "../lib/data.js";
import { progress } from "../lib/progress.js";
import { markdownTable } from "../lib/table.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = parseArgs(process.argv.slice(2), {
  epochs: 30, steps: 10, arms: 64, features: 64, noise: 2, trainSize: 16384, contexts: 32, samples: 4, innerEpochs: 4, lr: 0.02, eps: 0.2, gate: 0, seed: 1,
});
const smoke = opts.smoke;
const epochs = smoke ? 2 : opts.epochs;
const steps = smoke ? 2 : opts.steps;
const outDir = path.resolve(opts.out ?? path.join(here, "out"));
fs.mkdirSync(outDir, { recursive: true });

const { arms: K, features: D, contexts: P, samples: N } = opts;
const task = prototypeTask({ classes: K, features: D, noise: opts.noise, trainSize: smoke ? 1024 : opts.trainSize, testSize: smoke ? 256 : 1024, seed: opts.seed });
const testX = tensor(task.test.x, [task.test.n, D]);

const METHODS = [
  { key: "reinforce", short: "REINFORCE", name: "REINFORCE (baseline = batch mean)" },
  { key: "ppo", short: "PPO", name: `PPO (clip ${opts.eps}, ${opts.innerEpochs} inner epochs)` },
  { key: "grpo", short: "GRPO", name: `GRPO (groups of ${N}, ${opts.innerEpochs} inner epochs)` },
  { key: "hpt", short: "HPT switch", name: `HPT switch (gate ${opts.gate}: SFT on the demo, else GRPO)` },
];

/** Greedy accuracy of W on the test contexts. */
async function accuracy(w) {
  const picks = await (await pol.greedy.forward({ x: testX, w })).data();
  let right = 0;
  for (let i = 0; i < task.test.n; i++) right += picks[i] === task.test.y[i] ? 1 : 0;
  return right / task.test.n;
}

/** Trains one method; returns its per-epoch mean sampled reward and test accuracy. */
async function train(method, bar) {
  const rng = new Rng(opts.seed + 7); // the same contexts and draws' random numbers for every method
  let w = tensor(new Float32Array(D * K), [D, K]);
  let m = tensor(new Float32Array(D * K), [D, K]);
  let v = tensor(new Float32Array(D * K), [D, K]);
  let t = 0;
  const history = [];
  let sftShare = 0;
  const started = performance.now();
  const adamStep = async (loss, inputs, scalars) => {
    const { grads } = await loss.valueAndGrad({ ...inputs, w }, { ...scalars, wrt: ["w"] });
    t += 1;
    [w, m, v] = await pol.step.forward({ w, g: grads.w, m, v }, { t, lr: opts.lr });
  };
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let rewardSum = 0;
    let switched = 0;
    for (let s = 0; s < steps; s++) {
      // P contexts, N arms drawn from the current policy for each (inverse CDF with the shared rng).
      const idx = Array.from({ length: P }, () => rng.int(task.train.n));
      const xData = new Float32Array(P * D);
      idx.forEach((j, p) => xData.set(task.train.x.subarray(j * D, (j + 1) * D), p * D));
      const x = tensor(xData, [P, D]);
      const pr = await (await pol.probs.forward({ x, w })).data();
      const a = new Int32Array(P * N);
      const r = new Float32Array(P * N);
      const demo = new Int32Array(P);
      for (let p = 0; p < P; p++) {
        demo[p] = task.train.y[idx[p]];
        let correct = 0;
        for (let n = 0; n < N; n++) {
          const u = rng.next();
          let k = 0;
          for (let c = pr[p * K]; k < K - 1 && u >= c; ) c += pr[p * K + ++k];
          a[p * N + n] = k;
          r[p * N + n] = k === demo[p] ? 1 : 0;
          correct += r[p * N + n];
        }
        if (correct <= opts.gate) switched++;
      }
      const mean = r.reduce((acc, x) => acc + x, 0) / r.length;
      rewardSum += mean;
      const inputs = { x, a: tensor(a, [P, N]), r: tensor(r, [P, N]) };
      if (method === "reinforce") {
        await adamStep(pol.reinforce, inputs, { b: mean });
        continue;
      }
      // PPO-style methods: several epochs over the batch against the rollout policy's log-probs.
      const old = await pol.logp_of.forward({ x, w, a: inputs.a });
      const adv = tensor(Float32Array.from(r, (x) => x - mean), [P, N, 1]);
      for (let e = 0; e < opts.innerEpochs; e++) {
        if (method === "ppo") await adamStep(pol.ppo, { x, a: inputs.a, old, adv }, { eps: opts.eps });
        else if (method === "grpo") await adamStep(pol.grpo, { ...inputs, old }, { eps: opts.eps });
        else await adamStep(pol.hpt, { ...inputs, old, demo: tensor(demo, [P, 1]) }, { eps: opts.eps, gate: opts.gate });
      }
    }
    sftShare = switched / (P * steps);
    const acc = await accuracy(w);
    history.push({ epoch, reward: rewardSum / steps, accuracy: acc, sftShare });
    bar.tick(`${method} epoch ${epoch}: reward ${(rewardSum / steps).toFixed(3)}, accuracy ${(100 * acc).toFixed(1)}%`);
  }
  return { history, finalAccuracy: history[history.length - 1].accuracy, seconds: (performance.now() - started) / 1000 };
}

const bar = progress("policy", METHODS.length * epochs);
const results = {};
for (const { key } of METHODS) results[key] = await train(key, bar);
bar.done();

const config = { ...opts, smoke, epochs, steps, task: task.description, backend: "cpu" };
const shown = [...new Set([1, Math.ceil(epochs / 2), epochs])];
const headers = ["method", ...shown.map((e) => `reward, epoch ${e}`), "final greedy accuracy", "seconds"];
const rows = METHODS.map(({ key, name }) => {
  const h = results[key].history;
  return [name, ...shown.map((e) => h[e - 1].reward.toFixed(3)), `${(100 * results[key].finalAccuracy).toFixed(1)}%`, results[key].seconds.toFixed(1)];
});
const table = markdownTable(headers, rows);
const setup = `${K}-armed contextual bandit: ${task.description}; linear softmax policy; ${P} contexts × ${N} draws per step, ${steps} steps per epoch, Adam lr ${opts.lr}; chance reward ${(1 / K).toFixed(3)}`;
console.log(`${setup}${smoke ? " (smoke run)" : ""}\n\n${table}`);
const sft = results.hpt.history.map((h) => `${(100 * h.sftShare).toFixed(0)}%`);
console.log(`\nHPT: share of contexts on the SFT branch per epoch: ${sft.join(" ")}`);

const named = Object.fromEntries(METHODS.map(({ key, name }) => [key, { name, ...results[key] }]));
fs.writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify({ config, methods: named }, null, 2)}\n`);
fs.writeFileSync(path.join(outDir, "results.md"), `# policy results\n\n${setup}${smoke ? " (smoke run)" : ""}.\n\n${table}\n\nHPT's share of contexts on the SFT branch, per epoch: ${sft.join(" ")}\n`);
const series = (field) => METHODS.map(({ key, short }) => ({ name: short, points: results[key].history.map((h) => [h.epoch, h[field]]) }));
fs.writeFileSync(path.join(outDir, "reward.svg"), lineChart({ title: "Mean sampled reward per epoch", xLabel: "epoch", yLabel: "mean reward", series: series("reward"), yDomain: [0, 1] }));
fs.writeFileSync(path.join(outDir, "accuracy.svg"), lineChart({ title: "Greedy test accuracy", xLabel: "epoch", yLabel: "accuracy", series: series("accuracy"), yDomain: [0, 1] }));
fs.writeFileSync(path.join(outDir, "final-accuracy.svg"), barChart({ title: "Final greedy test accuracy", yLabel: "accuracy", bars: METHODS.map(({ key, short }) => ({ label: short, value: results[key].finalAccuracy })) }));
