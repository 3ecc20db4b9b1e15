/**
 * The front end's scaling (issue 17, item 6): parse, resolve and check (`checkFiles`, what
 * `estc check` runs before it also differentiates every fn to find build warnings) of generated
 * files of 1,000 to 65,000 one-line fns (65,000 is 5.4 MB), each in a fresh process, reporting
 * wall and CPU time (all threads), peak resident memory and lines per second. Linear means lines per second stays flat as the file
 * grows. Run by bench/compile.ts (`npm run bench`), or alone: `node bench/dist/bench/front-scale.js`
 * merges its row into bench/results/compile.json.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot, sig, table } from "./lib/measure.js";

/** One generated file's measurement. */
export interface ScaleRow {
  fns: number;
  lines: number;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  peakRssMB: number;
  linesPerSecond: number;
}

/** A file of `n` one-line fns like a user's (a product, a bias, an estimator), importing std/binary. */
export function generatedSource(n: number): string {
  const lines = ['import { STE } from "std/binary"'];
  for (let i = 0; i < n; i++) lines.push(`fn g${i}(x: f32[N], w: f32[N]) -> f32[N] { return sign(x * w + 1.0) backward STE }`);
  return lines.join("\n") + "\n";
}

/** Checks each generated size in its own process (so peak memory is that size's alone). */
export function measureFrontEndScale(root: string, sizes = [1000, 4000, 16000, 65000]): ScaleRow[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-scale-"));
  const pipeline = pathToFileURL(path.join(root, "dist/compiler/pipeline.js")).href;
  // The child times checkFiles itself and reads its own peak RSS, so process start-up is left out of the rate.
  const child = `const { checkFiles } = await import(${JSON.stringify(pipeline)});
const t = performance.now(); const u = process.cpuUsage();
const r = checkFiles([process.argv[1]]);
const c = process.cpuUsage(u);
if (r.diagnostics.length > 0) { console.error(JSON.stringify(r.diagnostics.slice(0, 3))); process.exit(1); }
console.log(JSON.stringify({ wallMs: performance.now() - t, cpuMs: (c.user + c.system) / 1000, peakRssMB: process.resourceUsage().maxRSS / 1024 }));`;
  try {
    return sizes.map((n) => {
      const file = path.join(dir, `fns${n}.est`);
      const text = generatedSource(n);
      fs.writeFileSync(file, text);
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", child, file], { encoding: "utf8", maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`bench:front-scale: ${n} fns failed: ${r.stderr}`);
      const m = JSON.parse(r.stdout) as { wallMs: number; cpuMs: number; peakRssMB: number };
      const lines = n + 1;
      return { fns: n, lines, bytes: text.length, ...m, linesPerSecond: lines / (m.wallMs / 1000) };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the rows as a table. */
export function printScale(rows: ScaleRow[]): void {
  console.log(`\nfront end scaling: parse + resolve + check of N one-line fns, one process each (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)\n`);
  console.log(table(["fns", "MB", "wall ms", "cpu ms", "peak RSS MB", "lines/s"], rows.map((r) => [String(r.fns), sig(r.bytes / 1e6), sig(r.wallMs), sig(r.cpuMs), sig(r.peakRssMB), sig(r.linesPerSecond)])));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const root = repoRoot();
  const rows = measureFrontEndScale(root);
  printScale(rows);
  const out = path.join(root, "bench/results/compile.json");
  const previous = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, unknown>) : {};
  fs.writeFileSync(out, JSON.stringify({ ...previous, frontEndScale: { date: new Date().toISOString(), loadAverage: os.loadavg()[0], rows } }, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
