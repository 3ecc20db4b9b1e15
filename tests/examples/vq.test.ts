// examples/vq end to end: builds vq.est into examples/vq/out as the npm script does, runs
// train.js --smoke into a temporary folder, and checks what it wrote: a results.json with both
// methods' per-epoch losses and codebook usage (finite, in range), results.md and the SVG charts.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExample, runExample } from "../helpers/examples.js";

const out = join("tests", ".tmp", `example-vq-${process.pid}`);
let run: ReturnType<typeof runExample>;

beforeAll(() => {
  buildExample("vq");
  run = runExample("vq", ["--smoke", "--out", out]);
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("examples/vq --smoke", () => {
  it("exits 0 and prints the result table", () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(String(run.stdout)).toContain("| method");
    expect(String(run.stdout)).toContain("rotation trick");
  });

  it("writes results.json with finite losses and codebook usage for both methods", () => {
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.config.smoke).toBe(true);
    const K = results.config.codes;
    expect(Object.keys(results.methods).sort()).toEqual(["rotation", "ste"]);
    for (const [key, m] of Object.entries<any>(results.methods)) {
      expect(m.history.length, key).toBe(results.config.epochs);
      for (const h of m.history) {
        expect(Number.isFinite(h.trainLoss) && h.trainLoss > 0, `${key} train loss ${h.trainLoss}`).toBe(true);
        expect(Number.isFinite(h.testRecon) && h.testRecon > 0, `${key} recon ${h.testRecon}`).toBe(true);
        expect(h.perplexity, key).toBeGreaterThanOrEqual(1 - 1e-4);
        expect(h.perplexity, key).toBeLessThanOrEqual(h.codesUsed + 1e-4); // perplexity never exceeds the codes used
        expect(Number.isInteger(h.codesUsed) && h.codesUsed >= 1 && h.codesUsed <= K, `${key} codes ${h.codesUsed}`).toBe(true);
      }
      // The final usage counts every test vector once.
      expect(m.finalUsage.length, key).toBe(K);
      expect(m.finalUsage.reduce((a: number, c: number) => a + c, 0), key).toBe(256);
    }
  });

  it("writes results.md and the SVG charts", () => {
    expect(readFileSync(join(out, "results.md"), "utf8")).toContain("| method");
    for (const f of ["recon.svg", "perplexity.svg", "codes-used.svg"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
      const svg = readFileSync(join(out, f), "utf8");
      expect(svg, f).toContain("<svg");
      expect(svg, f).not.toContain("NaN");
    }
  });
});
