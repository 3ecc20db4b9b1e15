/**
 * What the browser suite runs: representative programs of the Node WebGPU tests (the parity
 * programs of tests/helpers/programs.ts, the quickstart, a matmul with fused prologue and
 * epilogue, conv2d and both poolings, a ~100k-element reduction), every std/binary estimator at
 * its boundary points, and the parity test's RNG program at three seeds — each with the tolerance
 * its Node test uses. Modules are built in Node (tests/helpers/build.ts, under tests/.tmp/, which
 * the suite's server serves as /gen/); the cases are plain data both sides run through
 * ./page/run-cases.js.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { tensor, type Tensor } from "estc/runtime";
import { buildModule, tmpRoot } from "../helpers/build.js";
import { convCases, convSrc, poolCases, poolSrc } from "../helpers/conv-naive.js";
import { rng } from "../helpers/gradcheck.js";
import { cotangentsFor, inputsFor, programs } from "../helpers/programs.js";
import { repoRoot } from "../helpers/dist.js";

/** A tensor as the page and Node exchange it: values as numbers (f32 results as bit patterns, see ./compare.ts). */
export interface WireTensor {
  dtype: "f32" | "i32" | "bool";
  shape: number[];
  data: number[];
  device?: string;
}

/** The API calls a case makes. */
export type Call = "forward" | "vjp" | "valueAndGrad" | "vjpFn";

/** One run of one fn: what ./page/run-cases.js takes. */
export interface Case {
  id: string;
  /** The generated module's URL path (`/gen/<hash>/main.js`). */
  module: string;
  fn: string;
  inputs: Record<string, WireTensor>;
  scalars: Record<string, number>;
  seed?: number;
  device: "webgpu" | "cpu";
  calls: Call[];
  cotangents: WireTensor[];
}

/**
 * How results are compared with the CPU back end's in Node: `parity` is tests/webgpu/parity's
 * |got − cpu| <= rel·|cpu| + abs; `conv` is tests/webgpu/conv's |got − cpu| <= rel·max(1, |cpu|).
 * `exactForward` lists forward outputs compared bit for bit (RNG draws, max pooling);
 * `exactGrads` compares every gradient bit for bit.
 */
export interface Tolerance {
  kind: "parity" | "conv";
  rel: number;
  abs: number;
  exactForward?: number[];
  exactGrads?: boolean;
  /** A looser rel for gradients named here (conv's dw of a long f32 sum, as the Node test allows). */
  gradRel?: Record<string, number>;
}

/** A case (device left to fill) with how to judge it. */
export interface Planned {
  group: string;
  name: string;
  base: Omit<Case, "device">;
  tolerance: Tolerance;
  /** The tolerance on webgpu when looser than on the cpu: see {@link WGSL_SIN_COS}. */
  webgpuTolerance?: Tolerance;
  /**
   * The calls made on webgpu in the page when fewer than on the cpu, or why the case does not run
   * there at all: see {@link SWIFTSHADER_SLOW}.
   */
  webgpu?: Call[] | string;
}

/**
 * Why some programs run on the page's cpu() only, or with fewer calls on its webgpu(): on
 * SwiftShader (Chromium's software Vulkan, what CI has) compiling estc's register-tiled fused
 * matmul kernels takes 3–5 s each (the suite's budget is a minute), the implicit-GEMM conv2d
 * kernels and the 16-way unrolled serial reduction of softmax's gradient did not finish compiling
 * in 100 s, while Dawn on llvmpipe (tests/webgpu) compiles all of them in well under a second.
 * Those programs stay covered on WebGPU by tests/webgpu, and in the page on the cpu back end.
 */
export const SWIFTSHADER_SLOW = {
  matmul: "its fused matmul kernels take 3-5 s each to compile on SwiftShader",
  hang: "a kernel of it did not finish compiling in 100 s on SwiftShader",
} as const;

/**
 * WGSL gives sin and cos an absolute error of 2^-11 on [-π, π] (WGSL spec, "Floating Point
 * Accuracy"), and SwiftShader uses it: 1.9e-4 from Math.sin over [-2, 2], where Dawn on llvmpipe
 * stays within tests/webgpu/parity's 1e-5. A program summing sin and cos gets twice that bound,
 * absolute, on webgpu in the page (its other terms still checked at 1e-5 relative).
 */
export const WGSL_SIN_COS = 2 * 2 ** -11;

const PARITY: Tolerance = { kind: "parity", rel: 1e-5, abs: 1e-6 };
const CONV: Tolerance = { kind: "conv", rel: 1e-5, abs: 0 };

/** The boundary points of tests/webgpu/parity's estimator cases (0, ±m, ±1, ±t and around them). */
export const BOUNDARY_POINTS = [0, 0.1, -0.1, 1, -1, 1.5, -1.5, 0.05, -0.05, 0.5, -0.5, 1.2, -1.2, 2, -2, 1e-7, -1e-7, 0.1000001, 1.4999999, 1.5000001, 3, -3];

/** Every std/binary estimator for sign, step and tern, one fn each (scalars runtime where a test varies them). */
export const ESTIMATOR_SRC = `import { STE, ClippedSTE, ReSTE, ApproxSign, SwishSign, EDE, RBNN, SigmoidSTE, SteHeaviside, tern, SteTern } from "std/binary"
fn ste(x: f32[N]) -> f32[N] { return sign x backward STE }
fn clipped(x: f32[N]) -> f32[N] { return sign x backward ClippedSTE }
fn clipped_t(x: f32[N], t: f32 = 1.0) -> f32[N] { return sign x backward ClippedSTE(t = t) }
fn reste(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign x backward ReSTE(o = o) }
fn approx(x: f32[N]) -> f32[N] { return sign x backward ApproxSign }
fn swish(x: f32[N]) -> f32[N] { return sign x backward SwishSign }
fn ede(x: f32[N]) -> f32[N] { return sign x backward EDE }
fn rbnn(x: f32[N]) -> f32[N] { return sign x backward RBNN }
fn sigmoid_ste(x: f32[N]) -> f32[N] { return sign x backward SigmoidSTE }
fn heaviside(x: f32[N]) -> f32[N] { return step x backward SteHeaviside }
fn ternary(x: f32[N]) -> f32[N] { return tern(x) backward SteTern }
`;

/** One estimator case of {@link ESTIMATOR_CASES}. */
export interface EstimatorCase {
  name: string;
  fn: string;
  scalars: Record<string, number>;
  forward: (x: number) => number;
  slope: (x: number) => number;
}

/** The estimator cases: fn, scalars, and the forward and slope (dx for a cotangent of ones) in f64. */
export const ESTIMATOR_CASES: EstimatorCase[] = ((): EstimatorCase[] => {
  const sign = (x: number) => (x >= 0 ? 1 : -1); // sign(0) = +1 in estc
  const f32 = Math.fround;
  const clip = (t: number) => (x: number) => (Math.abs(x) <= f32(t) ? 1 : 0);
  // Comparisons with a literal compare with its exact decimal value (docs/language.md), so
  // f32(0.1) = 0.10000000149 is past m = 0.1 and takes the (1/o)|x|^e branch.
  const reste = (o: number) => (x: number) => {
    const [a, e] = [Math.abs(x), (1 - o) / o];
    return a > 1.5 ? 0 : a <= 0.1 ? f32(0.1) ** e : (1 / o) * a ** e;
  };
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  return [
    { name: "STE", fn: "ste", scalars: {}, forward: sign, slope: () => 1 },
    { name: "ClippedSTE (t = 1)", fn: "clipped", scalars: {}, forward: sign, slope: clip(1) },
    { name: "ClippedSTE (t = 1.5 at runtime)", fn: "clipped_t", scalars: { t: 1.5 }, forward: sign, slope: clip(1.5) },
    ...[1, 2, 3].map((o) => ({ name: `ReSTE (o = ${o})`, fn: "reste", scalars: { o }, forward: sign, slope: reste(o) })),
    { name: "ApproxSign", fn: "approx", scalars: {}, forward: sign, slope: (x) => (Math.abs(x) <= 1 ? 2 - 2 * Math.abs(x) : 0) },
    { name: "SwishSign (beta = 5)", fn: "swish", scalars: {}, forward: sign, slope: (x) => (5 * (2 - 5 * x * Math.tanh(2.5 * x))) / (1 + Math.cosh(5 * x)) },
    { name: "EDE (k = 10, t = 0.1)", fn: "ede", scalars: {}, forward: sign, slope: (x) => 10 * f32(0.1) * (1 - Math.tanh(f32(0.1) * x) ** 2) },
    { name: "RBNN (k = 10, t = 0.1)", fn: "rbnn", scalars: {}, forward: sign, slope: (x) => Math.max(10 * (Math.SQRT2 * f32(0.1) - f32(0.1) ** 2 * Math.abs(x)), 0) },
    { name: "SigmoidSTE", fn: "sigmoid_ste", scalars: {}, forward: sign, slope: (x) => sigmoid(x) * (1 - sigmoid(x)) },
    { name: "SteHeaviside (step)", fn: "heaviside", scalars: {}, forward: (x) => (x > 0 ? 1 : 0), slope: clip(1) },
    { name: "SteTern (tern, threshold 0.05)", fn: "ternary", scalars: {}, forward: (x) => (x >= f32(0.05) ? 1 : x <= -f32(0.05) ? -1 : 0), slope: clip(1) },
  ];
})();

/** The parity test's RNG program: uniform, bernoulli, categorical bit-identical; normal and gumbel to tolerance. */
export const RNG_SRC = `fn f(p: f32[N], x: f32[B, K]) -> (f32[N], f32[N], i32[B], f32[N], f32[B, K]) {
    return (uniform([N]), bernoulli(sigmoid(p)), categorical(x), normal(p, 0.5), gumbel([B, K]))
  }`;
/** Seeds of the RNG cases (2^40 + 5 exercises the seed's high word). */
export const RNG_SEEDS = [0, 11, 2 ** 40 + 5];

/** A tensor's wire form (f32 values as numbers: exact, since every f32 is a double). */
export async function wire(t: Tensor): Promise<WireTensor> {
  return { dtype: t.dtype as WireTensor["dtype"], shape: Array.from(t.shape), data: Array.from(await t.data(), Number) };
}

const uniform = (shape: number[], r: () => number, lo = -1, hi = 1) =>
  tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()), shape);

/** The URL path the suite's server gives a file under tests/.tmp/. */
export function genUrl(file: string): string {
  return `/gen/${path.relative(tmpRoot, file).split(path.sep).join("/")}`;
}

/** The file a /gen/ URL path names (for Node's side of the same case). */
export function genFile(url: string): string {
  return path.join(tmpRoot, ...url.slice("/gen/".length).split("/"));
}

type Built = Awaited<ReturnType<typeof buildModule>>;

/**
 * Builds every module and plans every case. Cotangents are shaped by a forward run on the CPU in
 * Node (the reference), as tests/webgpu/parity's are.
 */
export async function planCases(): Promise<Planned[]> {
  const planned: Planned[] = [];
  const add = async (group: string, name: string, built: Built, fn: string, inputs: Record<string, Tensor>, opts: { scalars?: Record<string, number>; seed?: number; calls?: Call[]; cotangents?: Tensor[]; tolerance?: Tolerance; webgpu?: Call[] | string; webgpuTolerance?: Tolerance }) => {
    const f = built.mod[fn];
    const calls: Call[] = opts.calls ?? ["forward", ...(f.spec.gradInputs.length > 0 ? (["vjp"] as const) : []), ...(f.spec.valueAndGrad !== undefined ? (["valueAndGrad"] as const) : [])];
    let cts = opts.cotangents;
    if (cts === undefined && (calls.includes("vjp") || calls.includes("vjpFn"))) {
      const outs = await f.forward(inputs, { ...opts.scalars, seed: opts.seed });
      cts = cotangentsFor(Array.isArray(outs) ? outs : [outs], (opts.seed ?? 0) + 1);
    }
    const wired: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(inputs)) wired[k] = await wire(t);
    planned.push({
      group,
      name,
      tolerance: opts.tolerance ?? PARITY,
      ...(opts.webgpu === undefined ? {} : { webgpu: opts.webgpu }),
      ...(opts.webgpuTolerance === undefined ? {} : { webgpuTolerance: opts.webgpuTolerance }),
      base: { id: `${group}: ${name}`, module: genUrl(built.file), fn, inputs: wired, scalars: opts.scalars ?? {}, seed: opts.seed, calls, cotangents: await Promise.all((cts ?? []).map(wire)) },
    });
  };

  for (const p of programs) {
    const built = await buildModule(p.src);
    const webgpu = p.name === "softmax CE MLP" ? SWIFTSHADER_SLOW.matmul : p.name.startsWith("softmax, argmax") ? SWIFTSHADER_SLOW.hang : undefined;
    const webgpuTolerance = /\bsin\(|\bcos\(/.test(p.src) ? { ...PARITY, abs: WGSL_SIN_COS } : undefined;
    await add("parity programs", p.name, built, p.fn, inputsFor(built.fns[p.fn]!, p.dims, 3), { scalars: p.scalars, seed: 11, webgpu, webgpuTolerance });
  }

  const quick = await buildModule(fs.readFileSync(path.join(repoRoot, "examples/quickstart/binary.est"), "utf8"));
  const r = rng(7);
  const [B, I, O, K] = [8, 16, 12, 4];
  const x = uniform([B, I], r, -1.5, 1.5);
  const w = uniform([I, O], r);
  const wk = uniform([I, K], r);
  const labels = tensor(Int32Array.from({ length: B }, () => Math.floor(r() * K)), [B]);
  for (const o of [1, 2, 3]) await add("quickstart", `loss (o = ${o})`, quick, "loss", { x, w: wk, labels }, { scalars: { o }, seed: 0 });
  await add("quickstart", "binary_dense: vjpFn", quick, "binary_dense", { x, w }, { scalars: { o: 2 }, seed: 0, calls: ["forward", "vjp", "vjpFn"], webgpu: SWIFTSHADER_SLOW.matmul });

  const m = rng(16);
  const [G, M, KK, N] = [2, 9, 13, 7];
  const batf = await buildModule("fn batf(a: f32[G, M, K], r: f32[G, 1, K], b: f32[K, N], s: f32[G, 1, N]) -> f32[G, M, N] { return tanh((a * r) @ (b * 0.5)) * s }");
  await add("matmul", "tanh((a * r) @ (b * 0.5)) * s: fused prologues and epilogue", batf, "batf", { a: uniform([G, M, KK], m), r: uniform([G, 1, KK], m), b: uniform([KK, N], m), s: uniform([G, 1, N], m) }, { webgpu: ["forward"] });
  const tl = await buildModule("fn loss(x: f32[B, I], w: f32[I, H]) -> f32 { return sum(tanh(x @ w)) }");
  await add("matmul", "sum(tanh(x @ w)): valueAndGrad", tl, "loss", { x: uniform([6, 10], m), w: uniform([10, 5], m) }, { webgpu: SWIFTSHADER_SLOW.matmul });

  for (const c of [convCases[1]!, convCases[6]!]) {
    const built = await buildModule(convSrc(c));
    const cr = rng(11);
    await add("conv2d and pooling", `conv2d ${c.name}`, built, "f", { x: uniform(c.xs, cr), w: uniform(c.ws, cr) }, { tolerance: CONV, webgpu: SWIFTSHADER_SLOW.hang });
  }
  for (const c of [poolCases[1]!, poolCases[4]!]) {
    const built = await buildModule(poolSrc(c));
    const tol: Tolerance = c.kind === "max" ? { ...CONV, exactForward: [0], exactGrads: true } : { ...CONV, rel: 1e-6 };
    await add("conv2d and pooling", `${c.kind}_pool2d ${c.name}`, built, "f", { x: uniform(c.xs, rng(17)) }, { tolerance: tol });
  }

  const red = await buildModule("fn f(x: f32[B, N]) -> f32 { return sum(logsumexp(x, axis = 1)) + mean(x * x) }");
  await add("reductions", "sum(logsumexp(x, axis = 1)) + mean(x * x) on [4, 25000]", red, "f", inputsFor(red.fns["f"]!, { B: 4, N: 25_000 }, 5), { seed: 3 });

  const est = await buildModule(ESTIMATOR_SRC);
  const pts = tensor(Float32Array.from(BOUNDARY_POINTS), [BOUNDARY_POINTS.length]);
  const ones = tensor(new Float32Array(BOUNDARY_POINTS.length).fill(1), [BOUNDARY_POINTS.length]);
  for (const e of ESTIMATOR_CASES) await add("std/binary estimators at their boundaries", e.name, est, e.fn, { x: pts }, { scalars: e.scalars, seed: 5, calls: ["forward", "vjp"], cotangents: [ones] });

  const rngMod = await buildModule(RNG_SRC);
  for (const seed of RNG_SEEDS) {
    const rr = rng(seed % 1000);
    const p = uniform([1000], rr, -4, 4);
    const xs = uniform([64, 10], rr, -2, 2);
    await add("RNG", `Philox draws, seed ${seed}`, rngMod, "f", { p, x: xs }, { seed, calls: ["forward"], tolerance: { ...PARITY, exactForward: [0, 1, 2] } });
  }
  return planned;
}
