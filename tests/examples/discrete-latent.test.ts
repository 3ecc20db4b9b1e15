// The discrete-latent example end to end: build latent.est as `npm run example:discrete-latent`
// does, run train.js with --smoke into a temporary folder, and check the outputs: exit code,
// results.json (every estimator, finite numbers, ENUM's gradient variance exactly 0), results.md
// and the SVG charts.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExample, runExample } from "../helpers/examples.js";

const root = join("tests", ".tmp", `discrete-latent-${process.pid}`);

beforeAll(() => {
  mkdirSync(root, { recursive: true });
  buildExample("discrete-latent");
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NAMES = [
  "REINFORCE",
  "REINFORCE + moving average",
  "REINFORCE at the site (batch cost) + MA",
  "REINFORCE leave-one-out",
  "ENUM (exact)",
  "Gumbel straight-through",
  "Concrete relaxation (REPARAM)",
];
const NUMBERS = ["testNegElbo", "seconds", "varianceInit", "varianceTrained", "relBiasInit", "relBiasTrained", "relBiasNoiseTrained"] as const;

describe("examples/discrete-latent", () => {
  it("runs --smoke and writes results.json, results.md and the charts", () => {
    const out = join(root, "smoke");
    const r = runExample("discrete-latent", ["--smoke", "--out", out]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("| estimator");
    const report = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
      config: { steps: number; hidden: number };
      wallSeconds: number;
      results: ({ name: string; biased: boolean; curve: [number, number][] } & Record<(typeof NUMBERS)[number], number>)[];
    };
    expect(report.config).toMatchObject({ steps: 20, hidden: 8 });
    expect(Number.isFinite(report.wallSeconds)).toBe(true);
    expect(report.results.map((x) => x.name)).toEqual(NAMES);
    for (const res of report.results) {
      for (const k of NUMBERS) expect(Number.isFinite(res[k]), `${res.name}.${k}`).toBe(true);
      // -ELBO of 16 binary pixels: positive, below 16 log 2 + H log 2 or so at the start.
      expect(res.testNegElbo).toBeGreaterThan(0);
      expect(res.testNegElbo).toBeLessThan(20);
      expect(res.curve[0]![0]).toBe(0);
      expect(res.curve.at(-1)![0]).toBe(20);
    }
    const enumRow = report.results.find((x) => x.name === "ENUM (exact)")!;
    expect(enumRow.varianceTrained).toBe(0);
    expect(enumRow.relBiasTrained).toBe(0);
    expect(report.results.filter((x) => x.biased).map((x) => x.name)).toEqual(NAMES.slice(5));
    const md = readFileSync(join(out, "results.md"), "utf8");
    for (const name of NAMES) expect(md).toContain(`| ${name}`);
    for (const file of ["objective.svg", "variance.svg"]) {
      const svg = readFileSync(join(out, file), "utf8");
      expect(svg).toMatch(/^<svg[\s>]/);
      expect(svg).not.toContain("NaN");
    }
  }, 300_000);

  it("rejects an unknown option with exit code 2", () => {
    const bad = runExample("discrete-latent", ["--smoke", "--step", "3"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown option '--step'");
  }, 60_000);
});
