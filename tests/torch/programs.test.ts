/**
 * Every fn of every stdlib module and example, through `--emit torch` and through estc's CPU back
 * end on the same drawn inputs, cotangents and seed: forward values and input gradients agree to
 * f32 tolerances (1e-5, relative above magnitude 1; 1e-4 for the binary CNN), random draws included (the torch module's
 * Philox words are the CPU's). A fn whose CPU call rejects the drawn inputs (an index range, a
 * shape the drawn sizes do not fit) is listed, and the torch call must reject them too.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { torchJob, type Case } from "./harness.js";
import { programCases, programFiles, programTolerance, type ProgramCase } from "./cases.js";
import type { TorchResult } from "./harness.js";
import { runTorchJobs, torchPython } from "./python.js";

const py = torchPython();

type Result = TorchResult;

/** Closeness to `tol` (relative above magnitude 1), NaN where the CPU has NaN and nowhere else. */
function close(got: readonly (number | null)[], want: readonly number[], what: string, tol = 1e-5): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    if (Number.isNaN(w) || g === null) return expect(g === null && Number.isNaN(w), `${what}, element ${i}: got ${g}, want ${w}`).toBe(true);
    // ±Infinity must match exactly; finite values to the tolerance.
    if (!Number.isFinite(w)) return expect(g, `${what}, element ${i}`).toBe(w);
    expect(Math.abs(g - w), `${what}, element ${i}: got ${g}, want ${w}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w)));
  });
}

function noDifferentiableOutput(c: Case): boolean {
  return c.outputDtypes.every((d) => d !== "f32");
}

describe.skipIf("missing" in py)(`every stdlib and example fn: torch equals the CPU back end${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  const cases: ProgramCase[] = [];
  const rejected: { file: string; fn: string; why: string }[] = [];
  let results: Result[] = [];

  beforeAll(async () => {
    const built = await programCases(programFiles(), "programs");
    cases.push(...built.cases);
    rejected.push(...built.rejected);
    results = runTorchJobs<Result>((py as { python: string }).python, built.dir, cases.map((k) => torchJob(k.module, k.c))).results;
  }, 300_000);

  it("agrees on every fn the drawn inputs fit", () => {
    expect(cases.length).toBeGreaterThan(80);
    expect(cases.filter((k) => k.file === "examples/bnn-cnn/cnn.est").map((k) => k.c.fn)).toContain("loss_reste");
    const failures: string[] = [];
    cases.forEach(({ file, c }, i) => {
      const r = results[i]!;
      const what = `${file} ${c.fn}`;
      try {
        expect(r.crash ?? r.error, what).toBeUndefined();
        c.cpu.outputs.forEach((want, k) => close(r.outputs![k]!, want, `${what} output ${k}`, programTolerance(file)));
        c.names.forEach((name, k) => {
          const want = c.cpu.grads[name];
          if (want === undefined) return;
          // No torch gradient at all: no output is differentiable (an i32 or bool result), where the CPU's vjp gives zeros.
          const got = r.grads![k] ?? (c.cpu.outputs.length > 0 && noDifferentiableOutput(c) ? want.map(() => 0) : null);
          expect(got, `${what} d${name}: torch gave no gradient`).not.toBeNull();
          close(got!, want, `${what} d${name}`, programTolerance(file));
        });
      } catch (e) {
        failures.push(String((e as Error).message).split("\n")[0]!);
      }
    });
    expect(failures).toEqual([]);
  });

  it("lists the fns the drawn inputs do not fit", () => {
    // Reported, not hidden: each is a CPU rejection of this test's generic inputs, not a torch failure.
    expect(rejected.map((r) => `${r.file} ${r.fn}: ${r.why.slice(0, 120)}`)).toEqual([]);
  });
});
