/**
 * `estc build --emit torch` against estc's CPU back end: the same inputs and cotangents through
 * the generated PyTorch module (its forward and its torch.autograd.Function backward, which is
 * estc's vjp) and through the generated JS module give the same values and gradients, to f32
 * tolerances (the WebGPU tests' 1e-5, relative above magnitude 1). Programs: the bnn example's
 * logits and its four losses (each sign estimator), and the std/binary estimators at their
 * windows' boundaries; the rest of std/binary's estimators and std/quant's fns at their edges and
 * rounding ties (half to even, exactly). One Python process runs every case of this file.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectClose } from "../helpers/expect.js";
import { buildBoth, cpuCase, torchJob, writeEst, type Case } from "./harness.js";
import type { TorchResult } from "./harness.js";
import { runTorchJobs, torchPython } from "./python.js";

const py = torchPython();
const root = path.resolve(import.meta.dirname, "..", "..");

type Result = TorchResult;

const boundary = `import { STE, ClippedSTE, ReSTE, ApproxSign, SwishSign, SigmoidSTE } from "std/binary"
fn ste(x: f32[N]) -> f32[N] { return sign(x) backward STE }
fn clipped(x: f32[N]) -> f32[N] { return sign(x) backward ClippedSTE }
fn reste(x: f32[N], o: f32 = 3.0) -> f32[N] { return sign(x) backward ReSTE(o) }
fn approx(x: f32[N]) -> f32[N] { return sign(x) backward ApproxSign }
fn swish(x: f32[N]) -> f32[N] { return sign(x) backward SwishSign }
fn sigmoid_ste(x: f32[N]) -> f32[N] { return sign(x) backward SigmoidSTE }
`;
/**
 * The rest of std/binary's estimators and std/quant's fns (rank-generic, so exported by no
 * --emit: called here from concrete fns), on values at their edges and at rounding ties.
 */
const zoo = `import { EDE, RBNN, SteHeaviside, MagnitudeAwareSign, MagnitudeAwareSignOIHW, magnitude_aware_sign, magnitude_aware_sign_oihw, tern, SteTern } from "std/binary"
import { RoundSTE, quantize_k, dorefa_act, dorefa_weight, lsq, LSQ, pact, PACT } from "std/quant"
fn ede(x: f32[N]) -> f32[N] { return sign(x) backward EDE(k = 3.0, t = 0.5) }
fn rbnn(x: f32[N]) -> f32[N] { return sign(x) backward RBNN(k = 3.0, t = 0.5) }
fn heaviside(x: f32[N]) -> f32[N] { return step(x) backward SteHeaviside }
fn ternary(x: f32[N]) -> f32[N] { return tern(x) backward SteTern }
fn mas(x: f32[B, C]) -> f32[B, C] { return magnitude_aware_sign(x) backward MagnitudeAwareSign }
fn mas_oihw(w: f32[O, C, 3, 3]) -> f32[O, C, 3, 3] { return magnitude_aware_sign_oihw(w) backward MagnitudeAwareSignOIHW }
fn rounding(x: f32[N]) -> f32[N] { return round(x) backward RoundSTE }
fn qk(r: f32[N], k: i32 = 2) -> f32[N] { return quantize_k(r, k) }
fn dact(x: f32[N], k: i32 = 2) -> f32[N] { return dorefa_act(x, k) }
fn dweight(w: f32[N], k: i32 = 2) -> f32[N] { return dorefa_weight(w, k) }
fn lsq4(v: f32[N], s: f32[]) -> f32[N] { return lsq(v, s) backward LSQ }
fn pact4(x: f32[N], alpha: f32[]) -> f32[N] { return pact(x, alpha) backward PACT }
`;
/** Rounding ties (half to even: -2, -2, -0, 0, 2, 2), a grid of quarters, LSQ's Q_P = 7 at s = 0.5 (3.5) and beyond. */
const ties = [-2.5, -1.5, -1, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 3.5, 7.5];

/** Each estimator's window edges and the zero whose sign estc takes as +1 (torch.sign gives 0). */
const edges = [-2, -1.5, -1.0000001, -1, -0.9999999, -0.5, -0.1, -0, 0, 1e-8, 0.1, 0.5, 0.9999999, 1, 1.0000001, 1.5, 2];

describe.skipIf("missing" in py)(`--emit torch matches the CPU back end${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  const cases: { module: string; c: Case }[] = [];
  let results: Result[] = [];
  let dir = "";

  beforeAll(async () => {
    const bnn = await buildBoth(path.join(root, "examples/bnn/bnn.est"), "parity");
    dir = bnn.dir;
    for (const fn of ["logits", "loss_ste", "loss_clipped", "loss_reste", "loss_approx"]) {
      cases.push({ module: bnn.module, c: await cpuCase(bnn.cpu, fn, { B: 5, I: 6, H: 8, K: 3 }, { given: { labels: [0, 2, 1, 1, 0] }, ...(fn === "loss_reste" ? { scalars: { o: 2 } } : {}) }) });
    }
    const b = await buildBoth(writeEst("parity", "boundary", boundary), "parity");
    for (const fn of ["ste", "clipped", "reste", "approx", "swish", "sigmoid_ste"]) {
      cases.push({ module: b.module, c: await cpuCase(b.cpu, fn, { N: edges.length }, { given: { x: edges } }) });
    }
    const z = await buildBoth(writeEst("parity", "zoo", zoo), "parity");
    for (const fn of ["ede", "rbnn", "heaviside", "ternary"]) cases.push({ module: z.module, c: await cpuCase(z.cpu, fn, { N: edges.length }, { given: { x: edges } }) });
    cases.push({ module: z.module, c: await cpuCase(z.cpu, "mas", { B: 2, C: 7 }, { given: { x: ties } }) });
    cases.push({ module: z.module, c: await cpuCase(z.cpu, "mas_oihw", { O: 3, C: 2 }) });
    for (const fn of ["rounding", "qk", "dact", "dweight"]) cases.push({ module: z.module, c: await cpuCase(z.cpu, fn, { N: ties.length }, { given: { [fn === "qk" ? "r" : fn === "dweight" ? "w" : "x"]: fn === "rounding" ? ties : ties.map((t) => t / 8 + 0.5) } }) });
    cases.push({ module: z.module, c: await cpuCase(z.cpu, "lsq4", { N: ties.length }, { given: { v: ties, s: [0.5] } }) });
    cases.push({ module: z.module, c: await cpuCase(z.cpu, "pact4", { N: ties.length }, { given: { x: ties, alpha: [1] } }) });
    results = runTorchJobs<Result>((py as { python: string }).python, dir, cases.map((k) => torchJob(k.module, k.c))).results;
  }, 240_000);

  it("gives every case's forward values and input gradients", () => {
    expect(results.length).toBe(cases.length);
    cases.forEach(({ c }, i) => {
      const r = results[i]!;
      expect(r.crash ?? r.error, `${c.fn}`).toBeUndefined();
      c.cpu.outputs.forEach((want, k) => expectClose(r.outputs![k]!.map(Number), want, 1e-5, `${c.fn} output ${k}`));
      c.names.forEach((name, k) => {
        const want = c.cpu.grads[name];
        if (want === undefined) return expect(r.grads![k], `${c.fn} d${name}`).toBeNull();
        expectClose(r.grads![k]!.map(Number), want, 1e-5, `${c.fn} d${name}`);
      });
    });
  });

  it("keeps sign(±0) = +1 and the estimators' boundary values exactly", () => {
    const at = (fn: string) => results[cases.findIndex((k) => k.c.fn === fn)]!;
    const zero = edges.indexOf(0);
    expect(at("ste").outputs![0]![zero]).toBe(1);
    expect(at("ste").outputs![0]![edges.indexOf(-0)]).toBe(1);
    // ClippedSTE passes the cotangent on |x| <= 1 (inclusive) and nothing outside.
    const clipped = cases.find((k) => k.c.fn === "clipped")!.c;
    const ct = clipped.cotangents[0]!.data as number[];
    const g = at("clipped").grads![0]! as number[];
    edges.forEach((x, i) => expect(g[i]! + 0, `ClippedSTE at ${x}`).toBe((Math.abs(Math.fround(x)) <= 1 ? ct[i]! : 0) + 0));
  });

  it("rounds half to even and quantizes on the CPU back end's grid exactly", () => {
    const at = (fn: string) => results[cases.findIndex((k) => k.c.fn === fn)]!;
    expect(at("rounding").outputs![0]!.map((v) => v! + 0)).toEqual([-2, -2, -1, 0, 0, 0, 0, 0, 1, 1, 2, 2, 4, 8]);
    for (const fn of ["rounding", "qk", "dact", "dweight", "lsq4", "pact4", "heaviside", "ternary", "mas"]) {
      const c = cases.find((k) => k.c.fn === fn)!.c;
      expect(at(fn).outputs![0], fn).toEqual(c.cpu.outputs[0]);
    }
    // LSQ at s = 0.5: v/s = 7 (v = 3.5) is Q_P, outside the pass-through; PACT at x = alpha = 1 passes to alpha.
    const lsq = cases.find((k) => k.c.fn === "lsq4")!.c;
    const lsqCt = lsq.cotangents[0]!.data as number[];
    expect(at("lsq4").grads![0]!.map((v) => v! + 0)).toEqual(ties.map((v, i) => (v / 0.5 > -8 && v / 0.5 < 7 ? lsqCt[i]! : 0) + 0));
  });
});
