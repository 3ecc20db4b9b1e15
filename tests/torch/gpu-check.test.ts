/**
 * bench/torch-gpu-check.sh on its CPU path, so the script a GPU machine runs cannot rot: a pack
 * (bench/lib/torch-pack.ts) of two programs — the bnn example and std/stochastic, whose fns draw
 * from Philox — then the whole check with --device cpu. The report must say: every case equal to
 * the CPU back end, every Philox row identical, torch.compile skipped with its reason on a torch
 * without it (no graph break where it has it), and timing rows for the generated and the
 * hand-written ReSTE layer whose gradients agree.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { writeTorchPack } from "../../bench/lib/torch-pack.js";
import { torchTmp } from "./harness.js";
import { torchPython } from "./python.js";

const py = torchPython();
const root = path.resolve(import.meta.dirname, "..", "..");

interface Report {
  ok: boolean;
  torch: string;
  equality: { fns: number; failures: string[]; rows: { file: string; fns: number; failed: number }[] };
  rng: { rows: Record<string, boolean | number>[]; failures: string[] };
  compile: { skipped?: string; rows?: { graph_breaks: number }[] };
  timing: { rows: { variant: string; n: number; ms_per_step: number; max_abs_grad_diff_vs_generated: number }[]; compile: string };
}

describe.skipIf("missing" in py)(`bench/torch-gpu-check.sh --device cpu${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  it("passes every check and writes the report", async () => {
    const pack = path.join(torchTmp, "gpu-check", "pack");
    const out = path.join(torchTmp, "gpu-check", "results");
    fs.rmSync(out, { recursive: true, force: true });
    const packed = await writeTorchPack(pack, ["examples/bnn/bnn.est", "stdlib/std/stochastic.est"]);
    expect(packed.rejected).toBe(0);
    const run = spawnSync("bash", [path.join(root, "bench/torch-gpu-check.sh"), "--pack", pack, "--device", "cpu", "--out", out, "--n", "65536", "--seconds", "0.2"], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, ESTC_TORCH_PYTHON: (py as { python: string }).python },
    });
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, "torch-gpu-check-cpu.json"), "utf8")) as Report;
    expect(fs.readFileSync(path.join(out, "torch-gpu-check-cpu.md"), "utf8")).toContain("Result: PASS.");
    expect(report.ok).toBe(true);
    expect(report.equality.fns).toBe(packed.cases);
    expect(report.equality.failures).toEqual([]);
    expect(report.equality.rows.map((r) => r.file)).toEqual(["examples/bnn/bnn.est", "stdlib/std/stochastic.est"]);
    expect(report.rng.rows).toHaveLength(3);
    for (const row of report.rng.rows) for (const k of ["words", "uniform", "open", "normal", "gumbel"]) expect(row[k], k).toBe(true);
    const variants = report.timing.rows.map((r) => r.variant);
    if (Number(report.torch.split(".")[0]) < 2) {
      const reason = `torch ${report.torch} has no torch.compile (it arrived in PyTorch 2.0)`;
      expect(report.compile).toEqual({ skipped: reason });
      expect(report.timing.compile).toBe(reason);
      expect(variants).toEqual(["generated (estc)", "hand-written autograd.Function"]);
    } else {
      expect(report.compile.rows!.every((r) => r.graph_breaks === 0)).toBe(true);
      expect(variants).toHaveLength(4);
    }
    for (const r of report.timing.rows) {
      expect(r.n).toBe(65536);
      expect(r.ms_per_step).toBeGreaterThan(0);
      // The same rule up to f32 rounding of a^e / o against (1/o) a^e (random inputs miss the edges).
      expect(r.max_abs_grad_diff_vs_generated).toBeLessThan(1e-5);
    }
  }, 180_000);
});
