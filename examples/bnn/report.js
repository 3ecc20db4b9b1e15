// Writes the bnn example's results: results.json (everything), results.md (the tables) and two
// charts, accuracy.svg and indicators.svg. Returns the text printed to stdout.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChart } from "estc/plot";
import { markdownTable } from "../lib/table.js";

/**
 * @typedef {{ epoch: number, o: number | null, trainLoss: number, testAccuracy: number, estimatingError: number, gradientStability: number, flipRatio: number }} EpochRecord
 * @typedef {{ name: string, testAccuracy: number, bestTestAccuracy: number, trainLoss: number, seconds: number, epochs: EpochRecord[] }} EstimatorResult
 * @typedef {{ bytesAllocatedAtEnd: number, peakBytesAllocated: number, uploads: number, bytesUploaded: number, readbacks: number, bytesRead: number }} DeviceStats
 * @typedef {{ path: string, vendor: string, architecture: string, device: string, description: string, backend: string, featureLevel: string }} AdapterInfo
 * @typedef {{ task: string, config: Record<string, unknown> & { device?: string, adapter?: AdapterInfo }, results: EstimatorResult[], wallSeconds: number, deviceStats?: DeviceStats }} Report
 */

/**
 * The back end in words: `CPU`, or `WebGPU on <adapter> (<path>, <backend>)`.
 * @param {Report["config"]} c
 */
function backEnd(c) {
  const a = c.adapter;
  if (c.device !== "webgpu" || a === undefined) return "CPU back end";
  return `WebGPU back end on ${a.description || a.device || a.vendor} (${a.path}, ${a.backend})`;
}

const pct = (/** @type {number} */ x) => `${(100 * x).toFixed(2)}%`;
const sci = (/** @type {number} */ x) => (x === 0 ? "0" : Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toFixed(3) : x.toExponential(2));

/**
 * One row per estimator: final and best test accuracy, final training loss, the indicators'
 * run summaries as in ReSTE's code (EE: mean over epochs; GS: sum over epochs), mean flip ratio.
 * @param {EstimatorResult[]} results
 */
export function summaryTable(results) {
  return markdownTable(
    ["estimator", "test acc", "best test acc", "train loss", "EE (mean)", "GS (sum)", "flip ratio (mean)", "seconds"],
    results.map((r) => {
      const mean = (/** @type {(e: EpochRecord) => number} */ f) => r.epochs.reduce((s, e) => s + f(e), 0) / r.epochs.length;
      return [
        r.name,
        pct(r.testAccuracy),
        pct(r.bestTestAccuracy),
        r.trainLoss.toFixed(4),
        sci(mean((e) => e.estimatingError)),
        sci(r.epochs.reduce((s, e) => s + e.gradientStability, 0)),
        sci(mean((e) => e.flipRatio)),
        r.seconds.toFixed(1),
      ];
    }),
  );
}

/**
 * Per-epoch table for one estimator.
 * @param {EstimatorResult} r
 */
export function epochTable(r) {
  return markdownTable(
    ["epoch", "o", "train loss", "test acc", "estimating error", "gradient stability", "flip ratio"],
    r.epochs.map((e) => [e.epoch, e.o === null ? "" : e.o.toFixed(3), e.trainLoss.toFixed(4), pct(e.testAccuracy), sci(e.estimatingError), sci(e.gradientStability), sci(e.flipRatio)]),
  );
}

/**
 * Two line charts stacked in one SVG document (ids of the second renamed to stay unique).
 * @param {string} top
 * @param {string} bottom
 * @param {number} width
 * @param {number} height of each chart
 */
function stack(top, bottom, width, height) {
  const strip = (/** @type {string} */ s) => s.replace(/<\?xml[^>]*>\s*/, "");
  const second = strip(bottom).replace(/plot-area/g, "plot-area-2");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${2 * height}" viewBox="0 0 ${width} ${2 * height}">`,
    strip(top),
    `<g transform="translate(0, ${height})">`,
    second,
    "</g>",
    "</svg>",
    "",
  ].join("\n");
}

/**
 * Writes results.json, results.md, accuracy.svg and indicators.svg into `outDir`.
 * @param {string} outDir
 * @param {Report} report
 * @returns {string} the summary printed by train.js
 */
export function writeReport(outDir, report) {
  writeFileSync(join(outDir, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
  const series = (/** @type {(e: EpochRecord) => number} */ f) => report.results.map((r) => ({ name: r.name, points: r.epochs.map((e) => /** @type {[number, number]} */ ([e.epoch, f(e)])) }));
  writeFileSync(
    join(outDir, "accuracy.svg"),
    lineChart({ title: "Binary MLP: test accuracy per epoch", xLabel: "epoch", yLabel: "test accuracy", series: series((e) => e.testAccuracy) }),
  );
  const width = 640;
  const height = 360;
  const ee = lineChart({ title: `Estimating error (ReSTE paper): Σ‖F_o(w) − sign(w)‖, o = ${report.config.oEnd}`, xLabel: "epoch", yLabel: "estimating error (lower: closer to sign)", series: series((e) => e.estimatingError), width, height });
  const gs = lineChart({ title: "Gradient stability (ReSTE paper): Σ Var|∂L/∂w|", xLabel: "epoch", yLabel: "gradient stability (lower: stabler)", series: series((e) => e.gradientStability), width, height, logY: true });
  writeFileSync(join(outDir, "indicators.svg"), stack(ee, gs, width, height));

  const c = report.config;
  const reste = report.results.find((r) => r.name === "ReSTE");
  const lines = [
    `# Binary MLP: ${report.results.map((r) => r.name).join(" vs ")}`,
    "",
    `Task: ${report.task}. Network ${c.features}-${c.hidden}-${c.hidden}-${c.classes} (binary weights and activations in the hidden layers), ${c.epochs} epochs, batch ${c.batch}, Adam lr ${c.lr}, seed ${c.seed}${c.smoke ? ", smoke run" : ""}. ${backEnd(c)}. Wall time ${report.wallSeconds.toFixed(1)} s.`,
    "",
    summaryTable(report.results),
    "",
  ];
  if (reste) lines.push("ReSTE per epoch (o annealed 1 → oEnd):", "", epochTable(reste), "");
  const text = lines.join("\n");
  const others = report.results.filter((r) => r !== reste).map((r) => [`${r.name} per epoch:`, "", epochTable(r), ""].join("\n"));
  writeFileSync(join(outDir, "results.md"), [text, ...others].join("\n"));
  return `${text}\nwrote ${["results.md", "results.json", "accuracy.svg", "indicators.svg"].map((f) => join(outDir, f)).join(", ")}\n`;
}
