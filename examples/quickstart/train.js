// Trains the quickstart's binary layer on a synthetic 10-class task, on the CPU back end.
// Run from the repository root: npm run quickstart (it builds binary.est into out/ first).
import { tensor } from "estc/runtime";
import { binary_dense, loss } from "./out/binary.js";

const B = 256; // batch
const I = 64; // input features
const K = 10; // classes
const epochs = 30;

// A seeded generator, so every run prints the same numbers.
let state = 12345;
const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

// Each class has a random ±1 prototype; an example is its prototype plus Gaussian noise.
const prototypes = Array.from({ length: K }, () => Float32Array.from({ length: I }, () => (rand() < 0.5 ? -1 : 1)));
function batch() {
  const x = new Float32Array(B * I);
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const k = Math.floor(rand() * K);
    labels[b] = k;
    for (let i = 0; i < I; i++) x[b * I + i] = prototypes[k][i] + 1.2 * gauss();
  }
  return { x: tensor(x, [B, I]), labels: tensor(labels, [B]) };
}

const w = Float32Array.from({ length: I * K }, () => 0.1 * gauss());
const velocity = new Float32Array(I * K);
const lr = 0.05;
const test = batch();

async function accuracy(data) {
  const logits = await (await binary_dense.forward({ x: data.x, w: tensor(w, [I, K]) })).data();
  const labels = await data.labels.data();
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[b * K + k] > logits[b * K + best]) best = k;
    correct += best === labels[b] ? 1 : 0;
  }
  return correct / B;
}

console.log("epoch   o      loss    test accuracy");
for (let epoch = 0; epoch <= epochs; epoch++) {
  // ReSTE's schedule: o rises from 1 to 3 along a quarter cosine (Wu et al. 2023).
  const o = 1 + (1 - Math.cos((Math.PI / 2) * (epoch / epochs))) * 2;
  let total = 0;
  const steps = 10;
  for (let s = 0; s < steps; s++) {
    const { x, labels } = batch();
    const { value, grads } = await loss.valueAndGrad({ x, w: tensor(w, [I, K]), labels }, { o, wrt: ["w"] }); // no gradient for the data
    total += (await value.data())[0];
    const g = await grads.w.data();
    for (let j = 0; j < w.length; j++) {
      velocity[j] = 0.9 * velocity[j] + g[j];
      w[j] -= lr * velocity[j];
    }
  }
  if (epoch % 5 === 0) {
    const acc = await accuracy(test);
    console.log(`${String(epoch).padStart(5)}  ${o.toFixed(2)}  ${(total / steps).toFixed(4)}  ${(100 * acc).toFixed(1)}%`);
  }
}
