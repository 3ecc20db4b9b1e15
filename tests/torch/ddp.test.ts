/**
 * examples/torch-ddp: two gloo processes train an estc binary network with
 * DistributedDataParallel, the loss and its ReSTE backward coming from the module
 * `estc build --emit torch` writes — the bnn example's binary MLP and the bnn-cnn example's binary
 * CNN (on the synthetic image task, small channels and batches: `import torch` in the two spawned
 * processes dominates the time). After a few steps both ranks hold the same parameters (DDP
 * all-reduced estc's gradients; the CNN's latent binary weights clipped the same way on each) and
 * the mean loss of the last steps is below the first steps'.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildFile } from "../../compiler/build.js";
import { torchTmp } from "./harness.js";
import { torchPython } from "./python.js";

const py = torchPython();
const root = path.resolve(import.meta.dirname, "..", "..");

interface DdpResult {
  model: string;
  world: number;
  steps: number;
  losses: number[];
  max_param_diff: number;
  parameters: number;
}

/** Builds `est` for torch into tests/.tmp/torch/ddp/gen and runs train.py with `args`; the result JSON. */
async function train(est: string, args: string[]): Promise<DdpResult> {
  const gen = path.join(torchTmp, "ddp", "gen");
  const r = await buildFile(path.join(root, est), gen, "torch");
  expect(r.written.map((f) => path.basename(f))).toEqual(["estc_torch.py", path.basename(est).replace(/\.est$/, ".py")]);
  const out = path.join(torchTmp, "ddp", `${path.basename(est)}.json`);
  fs.rmSync(out, { force: true });
  const run = spawnSync((py as { python: string }).python, [path.join(root, "examples/torch-ddp/train.py"), "--gen", gen, "--out", out, ...args], { encoding: "utf8", timeout: 150_000 });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(fs.readFileSync(out, "utf8")) as DdpResult;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.skipIf("missing" in py)(`examples/torch-ddp${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  it("trains the bnn example's binary MLP on 2 ranks with identical parameters and a falling loss", async () => {
    const result = await train("examples/bnn/bnn.est", ["--model", "bnn", "--steps", "24"]);
    expect(result.world).toBe(2);
    expect(result.parameters).toBe(16 * 32 + 32 + 32 * 32 + 32 + 32 * 4 + 4);
    expect(result.max_param_diff).toBe(0);
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(mean(result.losses.slice(-5))).toBeLessThan(mean(result.losses.slice(0, 5)) - 0.1);
  }, 180_000);

  it("trains the bnn-cnn example's binary CNN on 2 ranks with identical parameters and a falling loss", async () => {
    const [c1, c2] = [4, 8];
    const result = await train("examples/bnn-cnn/cnn.est", ["--model", "cnn", "--data", "synthetic", "--steps", "12", "--batch", "8", "--c1", String(c1), "--c2", String(c2), "--test-limit", "0"]);
    expect(result).toMatchObject({ model: "cnn", world: 2, steps: 12 });
    // conv 1->c1, c1->c1, c1->c2, c2->c2 (3x3, no bias), four batch norms (gamma, beta), linear c2*49 -> 10.
    expect(result.parameters).toBe(c1 * 9 + c1 * c1 * 9 + c2 * c1 * 9 + c2 * c2 * 9 + 2 * (c1 + c1 + c2 + c2) + c2 * 49 * 10 + 10);
    expect(result.max_param_diff).toBe(0);
    expect(result.losses).toHaveLength(12);
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(mean(result.losses.slice(-4))).toBeLessThan(mean(result.losses.slice(0, 4)) - 0.3);
  }, 180_000);
});
