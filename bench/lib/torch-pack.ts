/**
 * The pack bench/torch-gpu-check.sh carries to a GPU machine that has CUDA and PyTorch but no
 * Node: everything the Python check needs that only estc (Node) can compute.
 *
 *   PACK/manifest.json   what was packed, when, from which commit, with which tolerances
 *   PACK/cases.json      the program cases of tests/torch/cases.ts (every stdlib and example fn):
 *                        inputs, cotangents, seed and estc's CPU back end's outputs and gradients
 *   PACK/philox.json     Philox-4x32-10 words and uniform/open/normal/Gumbel values from
 *                        runtime/philox.ts and runtime/normal.ts (bit-exact expectations)
 *   PACK/modules/...     the `--emit torch` modules of those files (with estc_torch.py), and of
 *                        bench/programs/sign_reste.est, the ReSTE layer the check times
 *
 * Written by `bash bench/torch-gpu-check.sh --prepare` (through bench/torch-pack.mjs) and by
 * tests/torch/gpu-check.test.ts for a subset of the files.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildFile } from "../../compiler/build.js";
import { renderDiagnostics } from "../../compiler/render.js";
import { fillWords, uniform01, uniformOpen01 } from "../../runtime/philox.js";
import { gumbelFromWord, normalFromWords } from "../../runtime/normal.js";
import { programCases, programFiles, programTolerance } from "../../tests/torch/cases.js";

const root = path.resolve(import.meta.dirname, "..", "..");

/** The draws checked bit for bit: small seeds, and one past 2^32 so the key's high word counts. */
const DRAWS = [
  { seed: 0, site: 0, stream: 0, n: 1000 },
  { seed: 12345, site: 7, stream: 1, n: 4096 },
  { seed: 2 ** 40 + 99, site: 4_000_000_000, stream: 3, n: 1000 },
];

/** Writes the pack into `dir` (replacing it); `files` narrows the programs (default: all of tests/torch/cases.ts's). */
export async function writeTorchPack(dir: string, files: readonly string[] = programFiles()): Promise<{ cases: number; rejected: number; bytes: number }> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "modules"), { recursive: true });
  const tag = `pack-${path.basename(dir)}`;
  const built = await programCases(files, tag);
  const modules: Record<string, string> = {};
  const cases = built.cases.map(({ file, module, c }) => {
    // Each module travels as modules/<file with / as _>/<name>.py, beside its estc_torch.py.
    const folder = file.replaceAll("/", "_");
    if (modules[folder] === undefined) {
      copyTorchFiles(path.dirname(module), path.join(dir, "modules", folder));
      modules[folder] = file;
    }
    return { file, module: `modules/${folder}/${path.basename(module)}`, fn: c.fn, names: c.names, inputs: c.inputs, scalars: c.scalars, seed: c.seed, cotangents: c.cotangents, outputDtypes: c.outputDtypes, cpu: c.cpu, tolerance: programTolerance(file) };
  });
  // The timed ReSTE layer.
  const reste = path.join(dir, "modules", "sign_reste");
  const r = await buildFile(path.join(root, "bench/programs/sign_reste.est"), reste, "torch");
  if (r.written.length === 0) throw new Error(renderDiagnostics(r.diagnostics, r.sources));
  const philox = DRAWS.map((d) => {
    const words = new Uint32Array(d.n);
    fillWords(words, d.seed, d.site, d.stream);
    const w0 = new Uint32Array(d.n);
    const w1 = new Uint32Array(d.n);
    fillWords(w0, d.seed, d.site, 0);
    fillWords(w1, d.seed, d.site, 1);
    const f = (xs: number[]) => xs.map(Math.fround);
    return { ...d, words: [...words], uniform: f([...words].map(uniform01)), open: f([...words].map(uniformOpen01)), gumbel: f([...words].map(gumbelFromWord)), normal: f([...w0].map((a, k) => normalFromWords(a, w1[k]!))) };
  });
  const manifest = {
    what: "bench/torch-gpu-check.sh's pack (bench/lib/torch-pack.ts)",
    written: new Date().toISOString(),
    commit: commit(),
    files,
    cases: cases.length,
    rejected: built.rejected,
    timing: "modules/sign_reste/sign_reste.py fn act (bench/programs/sign_reste.est)",
  };
  fs.writeFileSync(path.join(dir, "cases.json"), JSON.stringify(cases));
  fs.writeFileSync(path.join(dir, "philox.json"), JSON.stringify(philox));
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return { cases: cases.length, rejected: built.rejected.length, bytes: size(dir) };
}

/** The torch build's files of a build folder (the .py modules and their runtime), not the JS/TS ones. */
function copyTorchFiles(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) if (f.endsWith(".py")) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

function commit(): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

function size(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? size(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);
}
