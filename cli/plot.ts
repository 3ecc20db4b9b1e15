/**
 * `estc plot MODULE --out-dir DIR`: for every estimator of MODULE whose target is a one-input
 * elementwise primitive (sign, step, round, …) and whose parameters all have defaults, compiles
 * `fn f(x: f32[N]) -> f32[N] { return TARGET(x) backward E }` in memory, evaluates the forward and
 * the vjp with cotangent 1 on a grid of [-2, 2], and writes DIR/NAME.svg (forward solid, surrogate
 * gradient dashed, as in the papers' figures) and DIR/index.md. Estimators it cannot plot are
 * listed in index.md with the reason.
 *
 * Evaluation uses the f64 reference interpreter (compiler/interpret.ts), not a generated module:
 * it is the oracle the back ends are tested against, it needs no code generation or temporary
 * module on disk, and a plot of a formula should not carry f32 rounding.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as A from "../grammar/ast.js";
import { differentiate, type DifferentiatedFn } from "../compiler/differentiate.js";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { writeAtomically } from "../compiler/emit.js";
import { visibleText } from "../compiler/escape.js";
import { isModulePathError, parseModulePath } from "../compiler/module-path.js";
import { checkFiles } from "../compiler/pipeline.js";
import { badGrid, evaluateOnGrid, gridPoints, summaryOf, whyNotPlottable } from "../compiler/plot-curves.js";
import { renderDiagnostics } from "../compiler/render.js";
import { nodeHost, Resolver, stdlibModuleIds, type CompilerHost } from "../compiler/resolve.js";
import { SourceMap } from "../compiler/source.js";
import type { CliOutcome } from "./estc.js";
import { lineChart } from "./svg.js";

/** One plotted estimator: the grid, the forward values and the surrogate gradient (cotangent 1). */
export interface EstimatorCurve {
  name: string;
  /** The primitive the estimator is for. */
  target: string;
  /** The first sentence of the estimator's doc comment, if any. */
  summary: string;
  xs: number[];
  forward: number[];
  backward: number[];
}

/** An estimator that was not plotted, and why. */
export interface SkippedEstimator {
  name: string;
  target: string;
  reason: string;
}

/** What `estc plot` computes for one module, before anything is written. */
export interface PlotData {
  module: string;
  curves: EstimatorCurve[];
  skipped: SkippedEstimator[];
}

/** Grid options: `points` evenly spaced values from `lo` to `hi` inclusive. */
export interface GridOptions {
  lo?: number;
  hi?: number;
  points?: number;
}

/** A failure the user can act on: a message, or diagnostics in the module's own source. */
export type PlotFailure = { message: string } | { diagnostics: Diagnostic[]; sources: SourceMap };

/**
 * Computes the curves of every plottable estimator of `module` (`std/NAME` or a path to a .est
 * file, relative to `cwd`). The default grid, 801 points on [-2, 2], holds 0 and ±1 exactly.
 */
export function plotData(module: string, grid: GridOptions = {}, cwd = process.cwd()): { data: PlotData } | { failure: PlotFailure } {
  const { lo = -2, hi = 2, points = 801 } = grid;
  const bad = badGrid(lo, hi, points);
  if (bad !== undefined) return { failure: { message: bad } };
  const host = nodeHost(cwd);
  const located = locate(module, host);
  if ("message" in located) return { failure: located };
  const sources = new SourceMap();
  const resolver = new Resolver(host, sources);
  const info = located.std ? resolver.loadStd(located.id) : resolver.loadEntry(located.abs);
  if (info === undefined) return { failure: { message: `cannot read module "${visibleText(module)}"` } };
  if (resolver.diagnostics.some((d) => d.severity === "error")) return { failure: { diagnostics: resolver.diagnostics, sources } };

  const estimators = info.ast.items.filter((i): i is A.EstimatorDecl => i.kind === "Estimator" && i.name.name !== "");
  const skipped: SkippedEstimator[] = [];
  const plottable = estimators.filter((e) => {
    const reason = whyNotPlottable(e, info.items.get(e.target.name)?.kind === "fn");
    if (reason !== undefined) skipped.push({ name: e.name.name, target: e.target.name, reason });
    return reason === undefined;
  });
  const xs = gridPoints(lo, hi, points);
  const curves: EstimatorCurve[] = [];
  if (plottable.length > 0) {
    const compiled = compileProbes(located.importPath, plottable, cwd);
    if ("failure" in compiled) return compiled;
    plottable.forEach((e, i) => {
      const fn = compiled.fns[i];
      if (fn === undefined) {
        skipped.push({ name: e.name.name, target: e.target.name, reason: `does not compile in a probe fn: ${compiled.errors[i] ?? "unknown error"}` });
        return;
      }
      const { forward, backward } = evaluateOnGrid(fn, xs);
      curves.push({ name: e.name.name, target: e.target.name, summary: summaryOf(e.doc), xs, forward, backward });
    });
  }
  return { data: { module, curves, skipped } };
}

/** Runs `estc plot` with its command-line arguments; never throws for a user's mistake. */
export function plot(args: string[]): CliOutcome {
  const usage = "usage: estc plot MODULE --out-dir DIR   (MODULE: std/NAME or a path to a .est file)";
  let outDir: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--out-dir") outDir = args[++i];
    else if (a.startsWith("--out-dir=")) outDir = a.slice("--out-dir=".length);
    else if (a.startsWith("-")) return fail(`unknown option '${visibleText(a)}'\n${usage}`);
    else positional.push(a);
  }
  if (positional.length !== 1 || outDir === undefined || outDir === "") return fail(`give one MODULE and --out-dir DIR\n${usage}`);
  const result = plotData(positional[0]!);
  if ("failure" in result) {
    const f = result.failure;
    if ("message" in f) return fail(f.message);
    const errors = f.diagnostics.filter((d) => d.severity === "error").length;
    return { stdout: "", stderr: `${renderDiagnostics(f.diagnostics, f.sources)}\n\n${errors} error${errors === 1 ? "" : "s"}\n`, code: 1 };
  }
  const { data } = result;
  if (data.curves.length === 0) return fail(`module "${visibleText(data.module)}" has no estimator to plot${data.skipped.length > 0 ? `:\n${data.skipped.map((s) => `  ${s.name}: ${s.reason}`).join("\n")}` : ""}`);
  const dir = path.resolve(outDir);
  const problem = unwritable(dir);
  if (problem !== undefined) return fail(`cannot write to ${visibleText(outDir)}: ${problem}`);
  const files: Record<string, string> = {};
  // XML and HTML comments may not contain "--".
  const banner = `<!-- generated by estc plot from ${visibleText(data.module).replace(/-{2,}/g, "-")} — do not edit -->\n`;
  for (const c of data.curves) files[path.join(dir, `${c.name}.svg`)] = banner + chartOf(c);
  files[path.join(dir, "index.md")] = banner + indexOf(data);
  try {
    writeAtomically(files);
  } catch (e) {
    return fail(`cannot write to ${visibleText(outDir)}: ${visibleText(e instanceof Error ? e.message : String(e))}`);
  }
  // Paths are shown with control characters and line terminators escaped (compiler/escape.ts): a file name may hold any.
  const shown = Object.keys(files).map((f) => `wrote ${visibleText(path.relative(process.cwd(), f) || f)}`);
  const notes = data.skipped.map((s) => `skipped ${s.name}: ${s.reason}`);
  return { stdout: [...shown, ...notes].join("\n") + "\n", stderr: "", code: 0 };
}

export { whyNotPlottable };

type Located = { std: true; id: string; importPath: string } | { std: false; abs: string; importPath: string };

/** Where a module spec points, or a message saying why it points nowhere. */
function locate(module: string, host: CompilerHost): Located | { message: string } {
  if (module.startsWith("std/")) {
    // The import rule (compiler/module-path.ts) keeps `std/…` inside the stdlib here too.
    const parsed = parseModulePath(module);
    if (isModulePathError(parsed)) return { message: `${parsed.message}; ${parsed.hint}` };
    const id = parsed.kind === "std" ? parsed.id : module;
    if (host.readFile(path.join(host.stdlibDir, `${id}.est`)) === undefined) {
      return { message: `cannot find module "${visibleText(module)}"; the stdlib has: ${stdlibModuleIds(host).join(", ")}` };
    }
    return { std: true, id, importPath: id };
  }
  const abs = path.resolve(host.cwd, module);
  if (!abs.endsWith(".est")) return { message: `module "${visibleText(module)}" must be std/NAME or a path to a .est file` };
  if (host.readFile(abs) === undefined) return { message: `cannot read module file ${visibleText(module)}` };
  const rel = path.relative(host.cwd, abs).split(path.sep).join("/");
  return { std: false, abs, importPath: rel.startsWith("../") ? rel : `./${rel}` };
}

const PROBE = "__estc_plot_probe__.est";

/** Compiles one probe fn per estimator in one in-memory file beside `cwd`. */
function compileProbes(importPath: string, estimators: A.EstimatorDecl[], cwd: string): { fns: (DifferentiatedFn | undefined)[]; errors: string[] } | { failure: PlotFailure } {
  const imports = estimators.map((e, i) => `${e.name.name} as Plotted${i}`).join(", ");
  const fns = estimators.map((e, i) => `fn probe${i}(x: f32[N]) -> f32[N] { return ${e.target.name}(x) backward Plotted${i} }`);
  const text = `import { ${imports} } from "${importPath}"\n${fns.join("\n")}\n`;
  const base = nodeHost(cwd);
  const probeAbs = path.join(cwd, PROBE);
  const host: CompilerHost = { ...base, readFile: (p) => (p === probeAbs ? text : base.readFile(p)) };
  const checked = checkFiles([PROBE], host);
  const program = checked.programs[0];
  if (program === undefined || checked.diagnostics.some((d) => d.severity === "error")) {
    return { failure: { diagnostics: checked.diagnostics, sources: checked.sources } };
  }
  const out: (DifferentiatedFn | undefined)[] = [];
  const errors: string[] = [];
  estimators.forEach((_, i) => {
    const sym = program.program.entry.items.get(`probe${i}`);
    const d = sym?.kind === "fn" ? differentiate(program, program.program.entry, sym.decl) : { diagnostics: [] };
    out.push(d.fn);
    errors.push(d.diagnostics.map((x) => `${x.code} ${x.message}`).join("; "));
  });
  return { fns: out, errors };
}

function chartOf(c: EstimatorCurve): string {
  const pairs = (ys: number[]) => c.xs.map((x, i) => [x, ys[i]!] as [number, number]);
  return lineChart({
    title: `${c.name} for ${c.target}(x)`,
    xLabel: "x",
    yLabel: "value / surrogate gradient",
    width: 720,
    xDomain: [c.xs[0]!, c.xs[c.xs.length - 1]!],
    series: [
      { name: `forward ${c.target}(x)`, points: pairs(c.forward) },
      { name: `backward ${c.name} (g = 1)`, points: pairs(c.backward), dashed: true },
    ],
  });
}

/** The backward at the grid point nearest to `x`. */
export function backwardAt(c: EstimatorCurve, x: number): number {
  let best = 0;
  c.xs.forEach((v, i) => {
    if (Math.abs(v - x) < Math.abs(c.xs[best]! - x)) best = i;
  });
  return c.backward[best]!;
}

function indexOf(data: PlotData): string {
  const fmt = (v: number) => (Number.isFinite(v) ? Number.parseFloat(v.toPrecision(6)).toString() : String(v));
  const lines = [
    `# Estimators of \`${visibleText(data.module)}\``,
    "",
    "Generated by `estc plot`: each SVG shows the forward of the target (solid) and the estimator's",
    "surrogate gradient dx for a cotangent g = 1 (dashed) on [-2, 2], evaluated in float64 with",
    "every parameter at its default.",
    "",
    "| estimator | target | backward at x = -1 | at x = 0 | at x = +1 | plot | summary |",
    "|---|---|---|---|---|---|---|",
    ...data.curves.map((c) => `| ${c.name} | ${c.target} | ${fmt(backwardAt(c, -1))} | ${fmt(backwardAt(c, 0))} | ${fmt(backwardAt(c, 1))} | [${c.name}.svg](${c.name}.svg) | ${c.summary.replace(/\|/g, "\\|")} |`),
  ];
  if (data.skipped.length > 0) {
    lines.push("", "## Not plotted", "", "| estimator | target | reason |", "|---|---|---|");
    lines.push(...data.skipped.map((s) => `| ${s.name} | ${s.target} | ${s.reason} |`));
  }
  return lines.join("\n") + "\n";
}

/** Why `dir` cannot receive files (an existing non-directory on the way, no write permission). */
function unwritable(dir: string): string | undefined {
  let probe = dir;
  while (!fs.existsSync(probe)) {
    const up = path.dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  if (!fs.statSync(probe).isDirectory()) return `${probe} exists and is not a directory`;
  try {
    fs.accessSync(probe, fs.constants.W_OK);
  } catch {
    return `${probe} is not writable`;
  }
  return undefined;
}

function fail(message: string): CliOutcome {
  return { stdout: "", stderr: `estc plot: ${message}\n`, code: 1 };
}
