/**
 * examples/torch-ddp: two gloo processes train the bnn example's binary network with
 * DistributedDataParallel, the loss and its ReSTE backward coming from the module
 * `estc build --emit torch` writes. After a few steps both ranks hold the same parameters (DDP
 * all-reduced estc's gradients) and the mean loss of the last steps is below the first steps'.
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

describe.skipIf("missing" in py)(`examples/torch-ddp${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  it("trains on 2 ranks with identical parameters and a falling loss", async () => {
    const gen = path.join(torchTmp, "ddp", "gen");
    const r = await buildFile(path.join(root, "examples/bnn/bnn.est"), gen, "torch");
    expect(r.written.map((f) => path.basename(f))).toEqual(["estc_torch.py", "bnn.py"]);
    const out = path.join(torchTmp, "ddp", "result.json");
    fs.rmSync(out, { force: true });
    const run = spawnSync((py as { python: string }).python, [path.join(root, "examples/torch-ddp/train.py"), "--gen", gen, "--steps", "24", "--out", out], { encoding: "utf8", timeout: 150_000 });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(fs.readFileSync(out, "utf8")) as { world: number; losses: number[]; max_param_diff: number; parameters: number };
    expect(result.world).toBe(2);
    expect(result.parameters).toBe(16 * 32 + 32 + 32 * 32 + 32 + 32 * 4 + 4);
    expect(result.max_param_diff).toBe(0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(mean(result.losses.slice(-5))).toBeLessThan(mean(result.losses.slice(0, 5)) - 0.1);
  }, 180_000);
});
