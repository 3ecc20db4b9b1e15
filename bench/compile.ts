/**
 * `npm run bench` (first part): how long estc takes to compile the whole stdlib — every fn of
 * every `std/` module — in one process, split into the compiler proper (parse, check, lower,
 * differentiate: DESIGN.md's "under 2 s on one core") and code generation (schedule, TS and
 * WGSL kernels, prettier over the kernels, the spec literals). Medians of 3 rounds after one
 * warm-up round, which is reported too (cold), as is loading the compiler. Then the user's
 * view of one build: `estc build` of the quickstart as a fresh process (cold, the median of 5
 * spawns, --emit ts and js), a rebuild in a process that built it already (warm, what
 * `estc build --watch` does on a change), and the sizes of the files written. Writes
 * bench/results/compile.json, with the figures of the build before the direct printer
 * (`before`, measured the same way on the same machine).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { measureFrontEndScale, printScale } from "./front-scale.js";
import { repoRoot, sig, table } from "./lib/measure.js";

const started = performance.now();
const root = repoRoot();
// The built compiler (dist/), as bench/lib/estc.ts loads it.
const load = (file: string) => import(pathToFileURL(path.join(root, "dist/compiler", file)).href);
const { differentiateFile, buildFile } = await load("build.js");
const { generateModule } = await load("codegen/ts/module.js");
const loadMs = performance.now() - started;
const stdDir = path.join(root, "stdlib/std");
const files = fs.readdirSync(stdDir).filter((f) => f.endsWith(".est")).sort();

interface FileTiming {
  file: string;
  fns: number;
  frontMs: number;
  codegenMs: number;
  bytes: number;
}

/** One round over every module: front end then code generation, per file. */
async function round(): Promise<FileTiming[]> {
  const out: FileTiming[] = [];
  for (const f of files) {
    const t0 = performance.now();
    const d = differentiateFile(path.join(stdDir, f));
    const t1 = performance.now();
    if (d.diagnostics.some((x: { severity: string }) => x.severity === "error")) throw new Error(`bench:compile: ${f} does not compile`);
    const mod = await generateModule(d.file, d.fns, d.sources, false, true);
    out.push({ file: f, fns: d.fns.length, frontMs: t1 - t0, codegenMs: performance.now() - t1, bytes: mod.ts.length + mod.wgslTs.length });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const cold = await round(); // also the warm-up: the JIT and prettier's plugins
const coldMs = cold.reduce((s, x) => s + x.frontMs + x.codegenMs, 0);
const rounds = [await round(), await round(), await round()];
const perFile = files.map((f, i) => ({
  file: f,
  fns: rounds[0]![i]!.fns,
  frontMs: median(rounds.map((r) => r[i]!.frontMs)),
  codegenMs: median(rounds.map((r) => r[i]!.codegenMs)),
  bytes: rounds[0]![i]!.bytes,
}));
const totals = rounds.map((r) => ({ front: r.reduce((s, x) => s + x.frontMs, 0), codegen: r.reduce((s, x) => s + x.codegenMs, 0) }));
const front = median(totals.map((t) => t.front));
const codegen = median(totals.map((t) => t.codegen));
const fns = perFile.reduce((s, x) => s + x.fns, 0);

console.log(`estc compile bench — ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}: the whole stdlib (${files.length} modules, ${fns} fns), one process\n`);
console.log(table(["module", "fns", "front end ms", "codegen ms", "output KB"], perFile.map((x) => [x.file, String(x.fns), sig(x.frontMs), sig(x.codegenMs), sig(x.bytes / 1024)])));
console.log(`\nfront end (parse, check, lower, differentiate) ${sig(front)} ms; code generation ${sig(codegen)} ms (medians of 3 warm rounds).`);
console.log(`cold, as one \`estc\` process sees it: loading the compiler ${sig(loadMs)} ms, then the first round ${sig(coldMs)} ms.`);

/** `estc build` of the quickstart: cold (spawned), warm (in this process), and what it writes. */
async function quickstart(): Promise<Record<string, unknown>> {
  const entry = path.join(root, "examples/quickstart/binary.est");
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-bench-"));
  try {
    const spawned = (emit: string) =>
      median(
        Array.from({ length: 5 }, () => {
          const t0 = performance.now();
          execFileSync(process.execPath, [path.join(root, "bin/estc.js"), "build", entry, "--out-dir", outDir, "--emit", emit]);
          return performance.now() - t0;
        }),
      );
    const coldTsMs = spawned("ts");
    const coldJsMs = spawned("js");
    const warm: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      await buildFile(entry, outDir, "js");
      warm.push(performance.now() - t0);
    }
    const bytes = Object.fromEntries(fs.readdirSync(outDir).sort().map((f) => [f, fs.statSync(path.join(outDir, f)).size]));
    return { coldTsMs, coldJsMs, warmMs: median(warm.slice(1)), bytes };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * The same figures for estc at commit 3935b7a (ts-morph + prettier, WGSL inside the module and in
 * a `.wgsl` file for reading), measured by hand on this machine: `idle` at load average 0.5,
 * `loaded` at 11 (other jobs on the 2 cores), cold the median of 3-5 spawns, warm of 5 rebuilds.
 */
const before = {
  commit: "3935b7a",
  idle: { coldTsMs: 1250, coldJsMs: 1490, npxColdTsMs: 1900 },
  loaded: { coldTsMs: 5710, warmMs: 1437 },
  bytes: { "binary.d.ts": 629, "binary.js": 127181, "binary.ts": 130221, "binary.wgsl": 54231 },
};

const qs = await quickstart();
console.log(`\nquickstart \`estc build\`: cold ${sig(qs["coldTsMs"] as number)} ms (--emit ts), ${sig(qs["coldJsMs"] as number)} ms (--emit js); warm rebuild ${sig(qs["warmMs"] as number)} ms; files ${JSON.stringify(qs["bytes"])}`);

const frontEndScale = { loadAverage: os.loadavg()[0], rows: measureFrontEndScale(root) };
printScale(frontEndScale.rows);

const result = { machine: { cpu: os.cpus()[0]?.model, node: process.version, date: new Date().toISOString(), loadAverage: os.loadavg()[0] }, modules: files.length, fns, loadMs, coldRoundMs: coldMs, frontMs: front, codegenMs: codegen, quickstart: qs, quickstartBefore: before, perFile, frontEndScale };
const out = path.join(root, "bench/results/compile.json");
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
console.log(`wrote ${path.relative(process.cwd(), out)}`);
