/**
 * The program cases of tests/torch/programs.test.ts and of the GPU check's pack
 * (bench/lib/torch-pack.ts): every fn of every stdlib module and example, built for the CPU back
 * end and for torch, called on the CPU with drawn inputs, cotangents and a seed. One list, so the
 * GPU machine checks on CUDA exactly what CI checks on the CPU.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildBoth, cpuCase, dimValue, type Case } from "./harness.js";

const root = path.resolve(import.meta.dirname, "..", "..");

/** Sizes that fit the programs' shape constraints: 2:4 groups (multiples of 4), 8x8 images for 3x3 convolutions and 2x2 pools. */
export const programDims: Record<string, number> = { B: 3, N: 8, M: 4, K: 4, I: 8, H: 8, O: 4, C: 8, R: 4, W: 8, D: 4, S: 3, A: 3, T: 3, L: 4, V: 5, E: 4 };

/** The stdlib modules with fns, and every example's .est (found, not listed, so a new one is not missed). */
export function programFiles(): string[] {
  return [
    ...fs.readdirSync(path.join(root, "stdlib/std")).map((f) => `stdlib/std/${f}`),
    ...fs.readdirSync(path.join(root, "examples")).flatMap((d) => (fs.statSync(path.join(root, "examples", d)).isDirectory() ? fs.readdirSync(path.join(root, "examples", d)).filter((f) => f.endsWith(".est")).map((f) => `examples/${d}/${f}`) : [])),
  ].filter((f) => f.endsWith(".est") && !["stdlib/std/binary.est", "stdlib/std/quant.est"].includes(f));
}

/**
 * The tolerance of a file's fns: 1e-5 (the WebGPU parity tests'), and 1e-4 for the binary CNN,
 * whose four convolutions and batch normalisations compound f32 rounding (the WebGPU CNN test in
 * tests/webgpu/conv.test.ts holds its end-to-end gradients to 1e-4 as well).
 */
export function programTolerance(file: string): number {
  return file === "examples/bnn-cnn/cnn.est" ? 1e-4 : 1e-5;
}

/**
 * Inputs the drawn values would put outside a fn's domain: batch-norm variances (bnn-cnn's
 * *_eval fns read v1..v4 as running_var) get values in [0.5, 2), the size of a real running
 * variance. With a negative variance the activations are NaN, `sign` passes NaN on (every back
 * end, the interpreter and torch alike), and every gradient of the network is NaN: nothing to
 * compare.
 */
function domain(f: { spec: { inputs: { name: string; shape: (number | string)[] }[] } }): Record<string, number[]> {
  const given: Record<string, number[]> = {};
  for (const i of f.spec.inputs) {
    if (!/^v\d$/.test(i.name)) continue;
    const n = i.shape.reduce<number>((a, d) => a * (typeof d === "number" ? d : dimValue(d, programDims)), 1);
    given[i.name] = Array.from({ length: n }, (_, k) => 0.5 + ((k * 0.37) % 1.5));
  }
  return given;
}

/** One program case: the file, the built torch module's path, and the CPU side of the call. */
export interface ProgramCase {
  file: string;
  module: string;
  c: Case;
}

/**
 * Builds `files` (repository-relative) for both back ends into tests/.tmp/torch/`tag`/… and runs
 * each fn on the CPU; a fn whose CPU call rejects the drawn inputs is listed in `rejected`.
 */
export async function programCases(files: readonly string[], tag: string): Promise<{ cases: ProgramCase[]; rejected: { file: string; fn: string; why: string }[]; dir: string }> {
  const cases: ProgramCase[] = [];
  const rejected: { file: string; fn: string; why: string }[] = [];
  let dir = "";
  for (const f of files) {
    const built = await buildBoth(path.join(root, f), `${tag}/${f.replaceAll("/", "_")}`);
    dir = built.dir;
    for (const fn of Object.keys(built.cpu)) {
      try {
        cases.push({ file: f, module: path.join(built.dir, `${built.module}.py`), c: await cpuCase(built.cpu, fn, programDims, { seed: 12345, given: domain(built.cpu[fn]) }) });
      } catch (e) {
        rejected.push({ file: f, fn, why: String((e as Error).message) });
      }
    }
  }
  return { cases, rejected, dir };
}
