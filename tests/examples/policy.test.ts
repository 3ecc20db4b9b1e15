// examples/policy end to end: builds policy.est into examples/policy/out as the npm script does,
// runs train.js --smoke into a temporary folder, and checks what it wrote: results.json with the
// four methods' per-epoch rewards and accuracies (finite, in [0, 1]), results.md and the SVGs.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExample, runExample } from "../helpers/examples.js";

const out = join("tests", ".tmp", `example-policy-${process.pid}`);
let run: ReturnType<typeof runExample>;

beforeAll(() => {
  buildExample("policy");
  run = runExample("policy", ["--smoke", "--out", out]);
}, 60_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("examples/policy --smoke", () => {
  it("exits 0 and prints the result table", () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(String(run.stdout)).toContain("| method");
    expect(String(run.stdout)).toContain("HPT switch");
  });

  it("writes results.json with finite rewards and accuracies for all four methods", () => {
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.config.smoke).toBe(true);
    expect(Object.keys(results.methods).sort()).toEqual(["grpo", "hpt", "ppo", "reinforce"]);
    for (const [key, m] of Object.entries<any>(results.methods)) {
      expect(m.history.length, key).toBe(results.config.epochs);
      for (const h of m.history) {
        for (const f of ["reward", "accuracy", "sftShare"]) {
          expect(Number.isFinite(h[f]) && h[f] >= 0 && h[f] <= 1, `${key} ${f} ${h[f]}`).toBe(true);
        }
      }
      expect(m.finalAccuracy, key).toBe(m.history[m.history.length - 1].accuracy);
    }
  });

  it("writes results.md and the SVG charts", () => {
    expect(readFileSync(join(out, "results.md"), "utf8")).toContain("| method");
    for (const f of ["reward.svg", "accuracy.svg", "final-accuracy.svg"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
      const svg = readFileSync(join(out, f), "utf8");
      expect(svg, f).toContain("<svg");
      expect(svg, f).not.toContain("NaN");
    }
  });
});
