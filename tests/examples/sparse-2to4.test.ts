// examples/sparse-2to4 end to end: builds sparse.est into examples/sparse-2to4/out as the npm
// script does, runs train.js --smoke into a temporary folder, and checks what it wrote: a
// results.json with every method's per-epoch loss, accuracy and SAD (finite, in range), the
// results.md table and the three SVG charts.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExample, runExample } from "../helpers/examples.js";

const out = join("tests", ".tmp", `example-sparse-2to4-${process.pid}`);
let run: ReturnType<typeof runExample>;

beforeAll(() => {
  buildExample("sparse-2to4");
  run = runExample("sparse-2to4", ["--smoke", "--out", out]);
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("examples/sparse-2to4 --smoke", () => {
  it("exits 0 and prints the result table", () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(String(run.stdout)).toContain("| method");
    expect(String(run.stdout)).toContain("SR-STE");
  });

  it("writes results.json with finite per-epoch loss, accuracy and SAD for every method", () => {
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.config.smoke).toBe(true);
    const weights = results.config.weights;
    expect(Object.keys(results.methods).sort()).toEqual(["dense", "srste", "srste_high", "ste"]);
    for (const [key, m] of Object.entries<any>(results.methods)) {
      expect(m.history.length, key).toBe(results.config.epochs);
      for (const h of m.history) {
        expect(Number.isFinite(h.loss) && h.loss > 0, `${key} loss ${h.loss}`).toBe(true);
        expect(h.testAccuracy, key).toBeGreaterThanOrEqual(0);
        expect(h.testAccuracy, key).toBeLessThanOrEqual(1);
        // A count of mask entries: a whole number, even (each change in a group of 4 flips two), at most all weights.
        expect(Number.isInteger(h.sad) && h.sad % 2 === 0 && h.sad >= 0 && h.sad <= weights, `${key} SAD ${h.sad}`).toBe(true);
      }
      expect(Number.isFinite(m.seconds), key).toBe(true);
    }
    expect(results.methods.dense.prunedAccuracy).toBeGreaterThanOrEqual(0);
  });

  it("writes results.md and the SVG charts", () => {
    expect(readFileSync(join(out, "results.md"), "utf8")).toContain("| method");
    for (const f of ["accuracy.svg", "sad.svg", "loss.svg"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
      const svg = readFileSync(join(out, f), "utf8");
      expect(svg, f).toContain("<svg");
      expect(svg, f).not.toContain("NaN");
    }
  });
});
