/**
 * `estc build --emit torch` against estc's CPU back end: the same inputs and cotangents through
 * the generated PyTorch module (its forward and its torch.autograd.Function backward, which is
 * estc's vjp) and through the generated JS module give the same values and gradients, to f32
 * tolerances (the WebGPU tests' 1e-5, relative above magnitude 1). Programs: the bnn example's
 * logits and its four losses (each sign estimator), and the std/binary estimators at their
 * windows' boundaries. One Python process runs every case of this file.
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
});
