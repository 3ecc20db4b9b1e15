/**
 * `estc plot` (cli/plot.ts): the curves it computes for std/binary match the estimators'
 * published formulas evaluated here on the same grid (ClippedSTE 1 on [-1, 1] inclusive and 0
 * outside, ReSTE's rectified power slope, ApproxSign's triangle, SteHeaviside's forward step);
 * estimators it cannot plot (fn targets, required parameters, multi-input or sampling targets)
 * are listed with a reason; the command writes one SVG per curve plus index.md; an unknown module
 * or an unwritable folder is exit 1 with a message and writes nothing.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { backwardAt, plotData, type EstimatorCurve, type PlotData } from "../../cli/plot.js";
import { runCli } from "../../cli/estc.js";

const root = path.resolve(import.meta.dirname, "../..");
const tmp = path.join(root, "tests/.tmp/plot");

function curve(data: PlotData, name: string): EstimatorCurve {
  const c = data.curves.find((x) => x.name === name);
  expect(c, `curve ${name}`).toBeDefined();
  return c!;
}

/** Checks `got[i] = want(xs[i])` at every grid point, naming the first x that differs. */
function expectOnGrid(c: EstimatorCurve, got: number[], want: (x: number) => number, what: string): void {
  c.xs.forEach((x, i) => {
    const w = want(x);
    expect(Math.abs(got[i]! - w), `${c.name} ${what} at x = ${x}: got ${got[i]}, want ${w}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w)));
  });
}

describe("plotData(std/binary)", () => {
  let data: PlotData;
  beforeAll(() => {
    const r = plotData("std/binary", {}, root);
    if ("failure" in r) throw new Error(JSON.stringify(r.failure));
    data = r.data;
  });

  it("uses 801 points on [-2, 2] holding 0, ±1 and ±2 exactly", () => {
    const xs = curve(data, "STE").xs;
    expect(xs).toHaveLength(801);
    for (const x of [-2, -1, 0, 1, 2]) expect(xs).toContain(x);
  });

  it("ClippedSTE: forward sign (sign(0) = +1), backward 1 on [-1, 1] inclusive and 0 outside", () => {
    const c = curve(data, "ClippedSTE");
    expect(c.target).toBe("sign");
    expectOnGrid(c, c.forward, (x) => (x >= 0 ? 1 : -1), "forward");
    expectOnGrid(c, c.backward, (x) => (Math.abs(x) <= 1 ? 1 : 0), "backward");
    expect(backwardAt(c, 1)).toBe(1);
    expect(backwardAt(c, -1)).toBe(1);
    expect(backwardAt(c, 1.005)).toBe(0);
  });

  it("ReSTE at its defaults (o = 3, t = 1.5, m = 0.1) follows the rectified power slope", () => {
    const c = curve(data, "ReSTE");
    const [o, t, m] = [3, 1.5, 0.1];
    const slope = (x: number) => {
      const a = Math.abs(x);
      if (a > t) return 0;
      return a <= m ? m ** ((1 - o) / o) : (1 / o) * a ** ((1 - o) / o);
    };
    expectOnGrid(c, c.backward, slope, "backward");
    expect(backwardAt(c, 0)).toBeCloseTo(0.1 ** (-2 / 3), 12); // 4.6416
    expect(backwardAt(c, 1)).toBeCloseTo(1 / 3, 12);
  });

  it("ApproxSign: (2 - 2|x|) on [-1, 1], 0 outside", () => {
    const c = curve(data, "ApproxSign");
    expectOnGrid(c, c.backward, (x) => (Math.abs(x) <= 1 ? 2 - 2 * Math.abs(x) : 0), "backward");
  });

  it("SteHeaviside: forward step (0 at 0), backward clipped at 1", () => {
    const c = curve(data, "SteHeaviside");
    expect(c.target).toBe("step");
    expectOnGrid(c, c.forward, (x) => (x > 0 ? 1 : 0), "forward");
    expectOnGrid(c, c.backward, (x) => (Math.abs(x) <= 1 ? 1 : 0), "backward");
  });

  it("lists the fn-target estimators as not plotted, with the reason", () => {
    const names = data.skipped.map((s) => s.name).sort();
    expect(names).toEqual(["MagnitudeAwareSign", "MagnitudeAwareSignOIHW", "SteTern"]);
    for (const s of data.skipped) expect(s.reason).toMatch(/is a fn, not a primitive/);
    expect(data.curves.map((c) => c.name)).toEqual(["STE", "ClippedSTE", "ReSTE", "ApproxSign", "SwishSign", "EDE", "RBNN", "SigmoidSTE", "SteHeaviside"]);
  });
});

describe("plotData on a module of one's own", () => {
  const file = path.join(tmp, "zoo.est");
  beforeAll(() => {
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(
      file,
      [
        "estimator Required(t: f32) for sign(x) {",
        "  grad x = g * t",
        "}",
        "estimator Both for pow(a, b) {",
        "  grad a = g",
        "  grad b = g",
        "}",
        "estimator Coin for bernoulli(p) {",
        "  grad p = g",
        "}",
        "estimator Smooth(beta: f32 = 5.0) for round(x) {",
        "  surrogate x - sin(6.2831853 * x) / 6.2831853 * (1 - sigmoid(beta))",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("plots a surrogate estimator for round and names why the others cannot be plotted", () => {
    const r = plotData(path.relative(root, file), {}, root);
    if ("failure" in r) throw new Error(JSON.stringify(r.failure));
    const reasons = Object.fromEntries(r.data.skipped.map((s) => [s.name, s.reason]));
    expect(reasons["Required"]).toMatch(/parameter t has no default/);
    expect(reasons["Both"]).toMatch(/takes 2 inputs/);
    expect(reasons["Coin"]).toMatch(/sampling primitive, not an elementwise one/);
    const c = curve(r.data, "Smooth");
    // The surrogate's derivative: 1 - cos(2π' x) (1 - sigmoid(5)) with 2π' = 6.2831853 as written.
    const s5 = 1 / (1 + Math.exp(-5));
    expectOnGrid(c, c.backward, (x) => 1 - Math.cos(6.2831853 * x) * (1 - s5), "backward");
    // round is half to even: round(0.5) = 0, round(1.5) = 2, round(-0.5) = -0.
    const at = (x: number) => c.forward[c.xs.indexOf(x)]!;
    expect([at(0.5), at(1.5), at(-1.5), at(1.25)]).toEqual([0, 2, -2, 1]);
  });
});

describe("estc plot", () => {
  it("writes one SVG per plotted estimator and index.md", () => {
    const out = path.join(tmp, "binary");
    fs.rmSync(out, { recursive: true, force: true });
    const r = runCli(["plot", "std/binary", "--out-dir", out]);
    expect(r.code, r.stderr).toBe(0);
    const files = fs.readdirSync(out).sort();
    expect(files).toContain("ClippedSTE.svg");
    expect(files).toContain("index.md");
    expect(files.filter((f) => f.endsWith(".svg"))).toHaveLength(9);
    expect(files.some((f) => f.includes(".tmp-"))).toBe(false);
    const svg = fs.readFileSync(path.join(out, "ClippedSTE.svg"), "utf8");
    expect(svg.split("\n")[0]).toBe("<!-- generated by estc plot from std/binary — do not edit -->");
    expect(svg.split("\n")[1]!.startsWith("<svg")).toBe(true);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg).toMatch(/stroke-dasharray/);
    const index = fs.readFileSync(path.join(out, "index.md"), "utf8");
    expect(index).toContain("| ClippedSTE | sign | 1 | 1 | 1 | [ClippedSTE.svg](ClippedSTE.svg) |");
    expect(index).toMatch(/\| SteTern \| tern \| its target 'tern' is a fn/);
    expect(r.stdout).toMatch(/skipped MagnitudeAwareSign: /);
  });

  it("rejects an unknown module with exit 1 and writes nothing", () => {
    const out = path.join(tmp, "none");
    fs.rmSync(out, { recursive: true, force: true });
    const r = runCli(["plot", "std/nope", "--out-dir", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/estc plot: cannot find module "std\/nope"; the stdlib has: .*std\/binary/);
    expect(fs.existsSync(out)).toBe(false);
    const file = runCli(["plot", "no/such/file.est", "--out-dir", out]);
    expect(file.code).toBe(1);
    expect(file.stderr).toMatch(/cannot read module file no\/such\/file.est/);
  });

  it("rejects an output folder that cannot be written, leaving nothing behind", () => {
    const blocker = path.join(tmp, "a-file");
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(blocker, "not a folder");
    const r = runCli(["plot", "std/binary", "--out-dir", path.join(blocker, "plots")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write to .*a-file\/plots: .*a-file exists and is not a directory/);
  });

  it("rejects bad usage", () => {
    expect(runCli(["plot", "std/binary"]).stderr).toMatch(/give one MODULE and --out-dir DIR/);
    expect(runCli(["plot", "std/binary", "--out-dir", "x", "--bogus"]).code).toBe(1);
    expect(runCli(["--help"]).stdout).toMatch(/estc plot std\/NAME\|FILE.est \[options\]/);
    expect(runCli(["plot", "--help"]).stdout).toMatch(/^usage: estc plot std\/NAME\|FILE.est \[options\][\s\S]*--out-dir DIR/);
  });

  it("exits 1 from the real binary for an unknown module", () => {
    const r = spawnSync(process.execPath, [path.join(root, "bin/estc.js"), "plot", "std/nope", "--out-dir", path.join(tmp, "bin")], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot find module "std\/nope"/);
  });
});
