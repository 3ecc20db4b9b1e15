/**
 * The torch runtime (estc_torch.py) and the generated functions' call behaviour, in one Python
 * process:
 * - Philox-4x32-10 words from int64 torch ops equal runtime/philox.ts's fillWords bit for bit,
 *   and the uniform, open-uniform, normal and Gumbel draws equal runtime/philox.ts/normal.ts's f32
 *   values exactly (seeds past 2^32 included, so the key's high word is exercised);
 * - a call with a mismatched input gets the JS runtime's E6007 message word for word, and a scalar
 *   below its `require` the E6031 code;
 * - torch.autograd.gradcheck in float64 passes for smooth programs (softplus/tanh layers, log-sum-exp,
 *   a convolution with average pooling), whose backward is estc's vjp, not torch's autograd.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { tensor } from "../../runtime/index.js";
import { fillWords, uniform01, uniformOpen01 } from "../../runtime/philox.js";
import { gumbelFromWord, normalFromWords } from "../../runtime/normal.js";
import { buildBoth, writeEst, type CpuModule } from "./harness.js";
import { runTorchJobs, torchPython } from "./python.js";
import * as path from "node:path";

const py = torchPython();

const draws = [
  { seed: 0, site: 0, stream: 0, n: 37 },
  { seed: 12345, site: 7, stream: 1, n: 64 },
  { seed: 2 ** 40 + 99, site: 4_000_000_000, stream: 3, n: 1000 },
];

const smooth = `
fn layer(x: f32[B, I], w: f32[I, O], b: f32[O]) -> f32[B, O] { return tanh(softplus(x @ w + b) - 1.0) }
fn lse(x: f32[B, N]) -> f32 { return sum(log(sum(exp(x), axis = 1))) / 3.0 }
fn conv_pool(x: f32[B, C, 4, 4], k: f32[O, C, 3, 3]) -> f32[B, O, 2, 2] { return avg_pool2d(sigmoid(conv2d(x, k, padding = 1)), 2) }
fn ranged(x: f32[N], o: f32 = 2.0) -> f32[N] { return sign(x) backward ReSTE(o) }
`;

interface PhiloxResult {
  words: number[];
  values: number[];
}

describe.skipIf("missing" in py)(`the torch runtime${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  let results: any[] = [];
  let cpu: CpuModule;
  const kinds = ["uniform", "open", "normal", "gumbel"] as const;
  const philoxJobs = draws.flatMap((d) => kinds.map((draw) => ({ kind: "philox", draw, ...d })));
  const x = { data: [0.5, -1, 2, 0, 0.25, -0.75], shape: [2, 3] };
  const w = { data: [1, 2, 3, 4, 5, 6, 7, 8], shape: [4, 2] };
  const callJobs = (module: string) => [
    // I is 3 from x, w's first axis is 4: E6007, worded as the JS runtime words it.
    { kind: "call", module, fn: "layer", inputs: [x, w, { data: [0, 0], shape: [2] }] },
    { kind: "call", module, fn: "ranged", inputs: [{ data: [1, 2], shape: [2] }], scalars: { o: 0.5 } },
    { kind: "gradcheck", module, fn: "layer", double: true, inputs: [x, { data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], shape: [3, 2] }, { data: [0.1, -0.1], shape: [2] }] },
    { kind: "gradcheck", module, fn: "lse", double: true, inputs: [{ data: [0.1, 0.2, -0.3, 0.4, 1.5, -0.6], shape: [3, 2] }] },
    { kind: "gradcheck", module, fn: "conv_pool", double: true, inputs: [{ data: Array.from({ length: 2 * 2 * 4 * 4 }, (_, i) => Math.sin(i)), shape: [2, 2, 4, 4] }, { data: Array.from({ length: 3 * 2 * 9 }, (_, i) => Math.cos(i) / 3), shape: [3, 2, 3, 3] }] },
  ];

  beforeAll(async () => {
    const built = await buildBoth(writeEst("runtime", "smooth", `import { ReSTE } from "std/binary"\n${smooth}`), "runtime");
    cpu = built.cpu;
    results = runTorchJobs((py as { python: string }).python, built.dir, [...philoxJobs, ...callJobs(path.join(built.dir, "smooth.py"))]).results;
  }, 240_000);

  it("draws the CPU runtime's Philox words and f32 values bit for bit", () => {
    philoxJobs.forEach((job, i) => {
      const r = results[i] as PhiloxResult;
      const words = new Uint32Array(job.n);
      fillWords(words, job.seed, job.site, job.stream);
      const what = `${job.draw} seed ${job.seed} site ${job.site} stream ${job.stream}`;
      if (job.draw !== "normal") expect(r.words, `${what} words`).toEqual([...words]);
      let want: number[];
      if (job.draw === "uniform") want = [...words].map(uniform01);
      else if (job.draw === "open") want = [...words].map(uniformOpen01);
      else if (job.draw === "gumbel") want = [...words].map(gumbelFromWord);
      else {
        // Box–Muller reads the site's streams 0 and 1, whatever the node's stream.
        const w0 = new Uint32Array(job.n);
        const w1 = new Uint32Array(job.n);
        fillWords(w0, job.seed, job.site, 0);
        fillWords(w1, job.seed, job.site, 1);
        want = [...w0].map((a, k) => normalFromWords(a, w1[k]!));
      }
      expect(r.values, what).toEqual(want.map(Math.fround));
    });
  });

  it("rejects a mismatched input with the JS runtime's E6007 message", async () => {
    const js = await cpu["layer"].forward({ x: tensor(x.data, x.shape), w: tensor(w.data, w.shape), b: tensor([0, 0], [2]) }).then(
      () => undefined,
      (e: Error) => e,
    );
    const r = results[philoxJobs.length];
    expect(r.code).toBe("E6007");
    expect(js).toMatchObject({ code: "E6007" });
    expect(r.error).toBe(js!.message);
    expect(r.error).toBe("error[E6007]: layer: input 'w': expected f32[I=3, O], got f32[4, 2] — I is 3 from input 'x'");
  });

  it("rejects a scalar outside its require range with the JS runtime's E6031 message", async () => {
    const js = await cpu["ranged"].forward({ x: tensor([1, 2], [2]) }, { o: 0.5 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(js).toMatchObject({ code: "E6031" });
    expect(results[philoxJobs.length + 1]).toEqual({ code: "E6031", error: js!.message });
  });

  it("passes torch.autograd.gradcheck in float64 for smooth programs", () => {
    const checks = results.slice(philoxJobs.length + 2);
    expect(checks).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
  });
});
