/**
 * The torch runtime (estc_torch.py) and the generated functions' call behaviour, in one Python
 * process:
 * - Philox-4x32-10 words from int64 torch ops equal runtime/philox.ts's fillWords bit for bit,
 *   and the uniform, open-uniform, normal and Gumbel draws equal runtime/philox.ts/normal.ts's f32
 *   values exactly (seeds past 2^32 included, so the key's high word is exercised);
 * - a call with a mismatched input gets the JS runtime's E6007 message word for word, and a scalar
 *   below its `require` the E6031 code;
 * - torch.autograd.gradcheck in float64 passes for smooth programs (softplus/tanh layers, log-sum-exp,
 *   a convolution with average pooling), whose backward is estc's vjp, not torch's autograd;
 * - a one_hot label out of range is the JS runtime's E6008, word for word;
 * - create_graph=True (a second derivative) is E6032, never a wrong or partial second derivative;
 * - plain eager use: under no_grad and inference_mode the forward is the same and records nothing;
 * - torch.compile: on a torch without it (1.13) the compile path is skipped with its reason; where
 *   torch has it, fullgraph compilation with no graph break and the eager numbers.
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
fn xent(logits: f32[B, K], labels: i32[B]) -> f32 { return cross_entropy(logits, labels) }
estimator Scaled(k: i32 = 1) for sign(x) {
  grad x = g * k
}
fn scaled(x: f32[N], s: f32 = 1.0, d: f32 = 1.0) -> f32[N] { return sign(x) backward Scaled(k = s / d) }
fn intmath(a: i32[N], b: i32[N]) -> i32[N] { return (a * b + a) % b - -a }
fn packed(x: f32[O, C * 9]) -> f32[O, C, 3, 3] { return reshape(x, [O, C, 3, 3]) * 2.0 }
`;

/** f32 -> i32 at its edges, as s / d (tests/hostile/cast-parity.test.ts's values): NaN, ±Inf, ±3e9, the largest f32 below 2^31, ±2^31, fractions. */
const casts: [number, number][] = [[0, 0], [1, 0], [-1, 0], [3e9, 1], [-3e9, 1], [2147483520, 1], [-2147483520, 1], [2 ** 31, 1], [-(2 ** 31), 1], [2.75, 1], [-2.75, 1], [-0.5, 1]];
const ints = { a: [2147483647, -2147483648, 123456789, 7, -7, 5, 65536], b: [2, 3, 1000, 0, 3, -3, 65536] };

interface PhiloxResult {
  words: number[];
  values: number[];
}

describe.skipIf("missing" in py)(`the torch runtime${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  let results: any[] = [];
  let cpu: CpuModule;
  let torchVersion = "";
  const kinds = ["uniform", "open", "normal", "gumbel"] as const;
  const philoxJobs = draws.flatMap((d) => kinds.map((draw) => ({ kind: "philox", draw, ...d })));
  const x = { data: [0.5, -1, 2, 0, 0.25, -0.75], shape: [2, 3] };
  const logits = { data: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2], shape: [3, 4] };
  const badLabels = [1, 3, 4];
  const w = { data: [1, 2, 3, 4, 5, 6, 7, 8], shape: [4, 2] };
  const callJobs = (module: string) => [
    // I is 3 from x, w's first axis is 4: E6007, worded as the JS runtime words it.
    { kind: "call", module, fn: "layer", inputs: [x, w, { data: [0, 0], shape: [2] }] },
    { kind: "call", module, fn: "ranged", inputs: [{ data: [1, 2], shape: [2] }], scalars: { o: 0.5 } },
    { kind: "gradcheck", module, fn: "layer", double: true, inputs: [x, { data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], shape: [3, 2] }, { data: [0.1, -0.1], shape: [2] }] },
    { kind: "gradcheck", module, fn: "lse", double: true, inputs: [{ data: [0.1, 0.2, -0.3, 0.4, 1.5, -0.6], shape: [3, 2] }] },
    { kind: "gradcheck", module, fn: "conv_pool", double: true, inputs: [{ data: Array.from({ length: 2 * 2 * 4 * 4 }, (_, i) => Math.sin(i)), shape: [2, 2, 4, 4] }, { data: Array.from({ length: 3 * 2 * 9 }, (_, i) => Math.cos(i) / 3), shape: [3, 2, 3, 3] }] },
    { kind: "call", module, fn: "xent", inputs: [logits, { data: badLabels, shape: [3], dtype: "i32" }] },
    { kind: "double", module, fn: "layer", inputs: [x, { data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], shape: [3, 2] }, { data: [0.1, -0.1], shape: [2] }] },
    { kind: "modes", module, fn: "layer", inputs: [x, { data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], shape: [3, 2] }, { data: [0.1, -0.1], shape: [2] }] },
    { kind: "compile", module, fn: "layer", inputs: [x, { data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], shape: [3, 2] }, { data: [0.1, -0.1], shape: [2] }] },
    { kind: "call", module, fn: "intmath", inputs: [{ data: ints.a, shape: [7], dtype: "i32" }, { data: ints.b, shape: [7], dtype: "i32" }] },
    ...casts.map(([s, d]) => ({ kind: "call", module, fn: "scaled", inputs: [{ data: [0.5], shape: [1] }], scalars: { s, d }, cotangents: [{ data: [1], shape: [1] }] })),
    // C only appears in the computed dim C * 9: solved from the size (18 -> 2), and 10 is no 9 * C.
    { kind: "call", module, fn: "packed", inputs: [{ data: Array.from({ length: 36 }, (_, i) => i), shape: [2, 18] }] },
    { kind: "call", module, fn: "packed", inputs: [{ data: Array.from({ length: 20 }, (_, i) => i), shape: [2, 10] }] },
  ];

  beforeAll(async () => {
    const built = await buildBoth(writeEst("runtime", "smooth", `import { ReSTE } from "std/binary"\nimport { cross_entropy } from "std/nn"\n${smooth}`), "runtime");
    cpu = built.cpu;
    const run = runTorchJobs((py as { python: string }).python, built.dir, [...philoxJobs, ...callJobs(path.join(built.dir, "smooth.py"))]);
    results = run.results;
    torchVersion = run.torch;
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
    const checks = results.slice(philoxJobs.length + 2, philoxJobs.length + 5);
    expect(checks).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
  });

  it("rejects a one_hot label out of range with the JS runtime's E6008 message", async () => {
    const js = await cpu["xent"].forward({ logits: tensor(logits.data, logits.shape), labels: tensor(Int32Array.from(badLabels), [3], "i32") }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(js).toMatchObject({ code: "E6008" });
    expect(results[philoxJobs.length + 5]).toEqual({ code: "E6008", error: js!.message });
    expect(js!.message).toContain("input 'labels': element 2 is 4, outside [0, K = 4)");
  });

  it("refuses create_graph=True (a second derivative) with E6032 instead of a wrong one", () => {
    expect(results[philoxJobs.length + 6]).toEqual({ code: "E6032", error: expect.stringMatching(/^error\[E6032\]: layer: the torch functions estc generates are differentiable once: /) });
  });

  it("runs in plain eager mode: no_grad and inference_mode give the same forward and record nothing", () => {
    expect(results[philoxJobs.length + 7]).toEqual({ same: true, recorded: [false, false, true] });
  });

  it("keeps estc's i32: + - * wrap modulo 2^32, % is floored with x % 0 = 0, as the CPU back end", async () => {
    const want = await cpu["intmath"].forward({ a: tensor(Int32Array.from(ints.a), [7], "i32"), b: tensor(Int32Array.from(ints.b), [7], "i32") });
    const got = results[philoxJobs.length + 9] as { outputs: number[][] };
    expect(got.outputs[0]).toEqual([...want.dataSync()]);
    // By hand: (7 * 0 + 7) % 0 = 0, then 0 - -7 = 7; (2^31 - 1) * 2 wraps to -2, + (2^31 - 1) is
    // 2^31 - 3, % 2 is 1, and 1 - -(2^31 - 1) = 2^31 wraps to -2^31 (int64 would give +2^31).
    expect(got.outputs[0]![3]).toBe(7);
    expect(got.outputs[0]![0]).toBe(-(2 ** 31));
  });

  it("converts f32 to i32 by truncation that saturates, NaN giving 0, as the CPU back end", async () => {
    const toI32 = (v: number) => (Number.isNaN(v) ? 0 : v >= 2 ** 31 ? 2 ** 31 - 1 : v <= -(2 ** 31) ? -(2 ** 31) : Math.trunc(v) | 0);
    for (const [k, [s, d]] of casts.entries()) {
      const r = results[philoxJobs.length + 10 + k] as { grads: number[][] };
      const js = await cpu["scaled"].vjp({ x: tensor([0.5], [1]) }, tensor([1], [1]), { s, d });
      expect(r.grads[0], `s / d = ${s} / ${d}`).toEqual([Math.fround(toI32(s / d))]);
      expect(r.grads[0]).toEqual([...js.x.dataSync()]);
    }
  });

  it("solves a symbol only a computed dim names from the input's size, and words a misfit as the JS runtime", async () => {
    const at = philoxJobs.length + 10 + casts.length;
    expect((results[at] as { outputs: number[][] }).outputs[0]).toEqual(Array.from({ length: 36 }, (_, i) => 2 * i));
    const js = await cpu["packed"].forward({ x: tensor(Array.from({ length: 20 }, (_, i) => i), [2, 10]) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(js).toMatchObject({ code: "E6007" });
    expect(results[at + 1]).toEqual({ code: "E6007", error: js!.message });
  });

  it("compiles with torch.compile where torch has it, and skips saying why where it does not", () => {
    const r = results[philoxJobs.length + 8] as { skipped?: string; graph_breaks?: number; max_diff?: number };
    const version = torchVersion;
    if (Number(version.split(".")[0]) < 2) {
      expect(r).toEqual({ skipped: `torch ${version} has no torch.compile (it arrived in PyTorch 2.0)` });
    } else {
      expect(r.graph_breaks).toBe(0);
      expect(r.max_diff).toBeLessThanOrEqual(1e-6);
    }
  });
});
