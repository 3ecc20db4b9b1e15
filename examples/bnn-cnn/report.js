// Writes the bnn-cnn example's results: results.json (everything), results.md (the tables) and
// two charts, accuracy.svg and indicators.svg. Returns the text printed to stdout.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChart } from "estc/plot";
import { markdownTable } from "../lib/table.js";

/**
 * @typedef {import("./run.js").EpochRecord} EpochRecord
 * @typedef {{ name: string, testAccuracy: number, bestTestAccuracy: number, trainLoss: number, seconds: number, epochs: EpochRecord[] }} Result
 * @typedef {{ task: string, config: Record<string, any>, results: Result[], complete?: boolean, wallSeconds: number }} Report
 */

const pct = (/** @type {number} */ x) => `${(100 * x).toFixed(2)}%`;
const sci = (/** @type {number | null} */ x) => (x === null ? "—" : x === 0 ? "0" : Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toFixed(3) : x.toExponential(2));
const mean = (/** @type {(number | null)[]} */ xs) => (xs.some((x) => x === null) ? null : /** @type {number[]} */ (xs).reduce((s, x) => s + x, 0) / xs.length);

/**
 * One row per network: final and best test accuracy, final training loss, ReSTE's indicators
 * summarised as its code does (EE: mean over epochs; GS: sum over epochs), mean flip ratio.
 * @param {Result[]} results
 */
export function summaryTable(results) {
  return markdownTable(
    ["network", "test acc", "best test acc", "train loss", "EE (mean)", "GS (sum)", "flip ratio (mean)", "seconds"],
    results.map((r) => [
      r.name === "float" ? "float (reference)" : `binary, ${r.name}`,
      pct(r.testAccuracy),
      pct(r.bestTestAccuracy),
      r.trainLoss.toFixed(4),
      sci(mean(r.epochs.map((e) => e.estimatingError))),
      sci(r.epochs.reduce((s, e) => s + e.gradientStability, 0)),
      sci(mean(r.epochs.map((e) => e.flipRatio))),
      r.seconds.toFixed(1),
    ]),
  );
}

/**
 * Per-epoch table for one network.
 * @param {Result} r
 */
export function epochTable(r) {
  return markdownTable(
    ["epoch", "o", "lr", "train loss", "test acc", "estimating error", "gradient stability", "flip ratio", "seconds"],
    r.epochs.map((e) => [e.epoch, e.o === null ? "" : e.o.toFixed(3), e.lr.toExponential(2), e.trainLoss.toFixed(4), pct(e.testAccuracy), sci(e.estimatingError), sci(e.gradientStability), sci(e.flipRatio), e.seconds.toFixed(1)]),
  );
}

/**
 * Writes results.json, results.md, accuracy.svg and indicators.svg into `outDir`.
 * @param {string} outDir
 * @param {Report} report
 * @returns {string} the summary train.js prints
 */
export function writeReport(outDir, report) {
  writeFileSync(join(outDir, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
  const series = (/** @type {Result[]} */ rs, /** @type {(e: EpochRecord) => number | null} */ f) =>
    rs.map((r) => ({ name: r.name, points: r.epochs.map((e) => /** @type {[number, number]} */ ([e.epoch, f(e) ?? 0])) }));
  writeFileSync(join(outDir, "accuracy.svg"), lineChart({ title: "CNN on Fashion-MNIST: test accuracy per epoch", xLabel: "epoch", yLabel: "test accuracy", series: series(report.results, (e) => e.testAccuracy) }));
  const binary = report.results.filter((r) => r.name !== "float");
  if (binary.length > 0) {
    const ee = lineChart({ title: `Estimating error (ReSTE paper), o = ${report.config.oEnd}`, xLabel: "epoch", yLabel: "estimating error (lower: closer to sign)", series: series(binary, (e) => e.estimatingError), width: 640, height: 360 });
    const gs = lineChart({ title: "Gradient stability (ReSTE paper): Σ Var|∂L/∂w|", xLabel: "epoch", yLabel: "gradient stability (lower: stabler)", series: series(binary, (e) => e.gradientStability), width: 640, height: 360, logY: true });
    const strip = (/** @type {string} */ s) => s.replace(/<\?xml[^>]*>\s*/, "");
    writeFileSync(
      join(outDir, "indicators.svg"),
      [`<svg xmlns="http://www.w3.org/2000/svg" width="640" height="720" viewBox="0 0 640 720">`, strip(ee), `<g transform="translate(0, 360)">`, strip(gs).replace(/plot-area/g, "plot-area-2"), "</g>", "</svg>", ""].join("\n"),
    );
  }
  const c = report.config;
  const lines = [
    `# CNN on ${report.task.split(" (")[0]}: ${report.results.map((r) => r.name).join(" vs ")}`,
    "",
    `Task: ${report.task}. Network conv ${c.c1}-${c.c1}-${c.c2}-${c.c2} + linear (cnn.est), ${c.epochs} epoch${c.epochs === 1 ? "" : "s"}, batch ${c.batch}, Adam lr ${c.lr} with cosine decay, seed ${c.seed}${c.smoke ? ", smoke run" : ""}. ${c.device === "webgpu" ? "WebGPU" : "CPU"} back end, ${c.jobs} thread${c.jobs === 1 ? "" : "s"}. Wall time ${report.wallSeconds.toFixed(1)} s.`,
    "",
    summaryTable(report.results),
    "",
    ...(report.complete === false ? ["Incomplete: written when the networks above had finished, while the others were still training.", ""] : []),
  ];
  const text = lines.join("\n");
  const perEpoch = report.results.map((r) => [`${r.name} per epoch:`, "", epochTable(r), ""].join("\n"));
  writeFileSync(join(outDir, "results.md"), [text, ...perEpoch].join("\n"));
  return `${text}\nwrote ${["results.md", "results.json", "accuracy.svg", "indicators.svg"].map((f) => join(outDir, f)).join(", ")}\n`;
}
