/**
 * Test helper for tests/torch: builds one `.est` file twice — `--emit js` (estc's CPU back end,
 * the reference) and `--emit torch` — into tests/.tmp, draws inputs and cotangents for each fn,
 * and runs the CPU side, so a test sends the same numbers to the torch module in one batch.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { buildFile } from "../../compiler/build.js";
import { renderDiagnostics } from "../../compiler/render.js";
import { tensor, type Tensor } from "../../runtime/index.js";
import { mulberry32 } from "../helpers/random.js";
import { jsonData, type JobTensor } from "./python.js";

export const torchTmp = path.resolve(import.meta.dirname, "..", ".tmp", "torch");

/** The CPU module of a built file (fn name → generated EstFunction). */
export type CpuModule = Record<string, any>;

/** Builds `entry` with --emit js and --emit torch into tests/.tmp/torch/`tag`; throws the diagnostics of a failed build. */
export async function buildBoth(entry: string, tag: string): Promise<{ dir: string; cpu: CpuModule; module: string }> {
  const dir = path.join(torchTmp, tag);
  fs.mkdirSync(dir, { recursive: true });
  for (const emit of ["js", "torch"] as const) {
    const r = await buildFile(entry, dir, emit);
    if (r.written.length === 0) throw new Error(renderDiagnostics(r.diagnostics, r.sources));
  }
  const name = path.basename(entry).replace(/\.est$/, "");
  const cpu = (await import(`${pathToFileURL(path.join(dir, `${name}.js`)).href}?t=${Date.now()}`)) as CpuModule;
  return { dir, cpu, module: name };
}

/** Writes `text` as `tests/.tmp/torch/tag/src/NAME.est` (std/ imports resolve from any folder). */
export function writeEst(tag: string, name: string, text: string): string {
  const file = path.join(torchTmp, tag, "src", `${name}.est`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** One fn call: its inputs (CPU tensors and the driver's JSON), cotangents and the CPU results. */
export interface Case {
  fn: string;
  inputs: JobTensor[];
  scalars: Record<string, number>;
  seed: number;
  cotangents: JobTensor[];
  cpu: { outputs: number[][]; grads: Record<string, number[]> };
  /** The declared input names, in order (the torch function's positional parameters). */
  names: string[];
  outputDtypes: string[];
}

/** Values an input gets: an explicit array, or drawn (f32 in [-2, 2), i32 in [0, 2), bool 0/1). */
export type Given = Record<string, number[]>;

/**
 * Runs fn `name` of `cpu` on drawn (or given) inputs with `dims` sizes, and the vjp with drawn
 * cotangents; the Case carries what the torch side needs to do the same.
 */
export async function cpuCase(cpu: CpuModule, name: string, dims: Record<string, number>, opts: { given?: Given; scalars?: Record<string, number>; seed?: number; draw?: number } = {}): Promise<Case> {
  const f = cpu[name];
  const spec = f.spec as { inputs: { name: string; dtype: "f32" | "i32" | "bool"; shape: (number | string)[] }[]; outputs: { dtype: string; shape: (number | string)[] }[]; tuple: boolean };
  const rand = mulberry32(opts.draw ?? 7);
  const size = (shape: (number | string)[]) => shape.map((d) => (typeof d === "number" ? d : dimValue(d, dims)));
  const inputs: Record<string, Tensor> = {};
  const json: JobTensor[] = [];
  for (const i of spec.inputs) {
    const shape = size(i.shape);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = opts.given?.[i.name] ?? Array.from({ length: n }, () => (i.dtype === "f32" ? Math.fround(rand() * 4 - 2) : Math.floor(rand() * 2)));
    inputs[i.name] = tensor(i.dtype === "f32" ? Float32Array.from(data) : i.dtype === "i32" ? Int32Array.from(data) : Uint8Array.from(data), shape, i.dtype);
    json.push({ data: jsonData(data), shape, dtype: i.dtype });
  }
  const options = { ...(opts.scalars ?? {}), seed: opts.seed ?? 0 };
  const out = await f.forward(inputs, options);
  const outs: Tensor[] = spec.tuple ? out : [out];
  const cts = outs.map((o) => tensor(Float32Array.from({ length: o.size ?? [...o.dataSync()].length }, () => Math.fround(rand() * 2 - 1)), [...o.shape]));
  const grads = await f.vjp(inputs, spec.tuple ? cts : cts[0], options);
  return {
    fn: name,
    inputs: json,
    scalars: opts.scalars ?? {},
    seed: opts.seed ?? 0,
    cotangents: cts.map((c) => ({ data: jsonData(c.dataSync()), shape: [...c.shape] })),
    cpu: { outputs: outs.map((o) => [...o.dataSync()]), grads: Object.fromEntries(Object.entries(grads as Record<string, Tensor>).map(([k, v]) => [k, [...v.dataSync()]])) },
    names: spec.inputs.map((i) => i.name),
    outputDtypes: spec.outputs.map((o) => o.dtype),
  };
}

/**
 * The size of a declared dim: a shape symbol (4 unless `dims` says), or a computed dim as the
 * spec prints it (`49*C2`, `K-1`), evaluated with the symbols' sizes.
 */
export function dimValue(d: string, dims: Record<string, number>): number {
  const arithmetic = d.replace(/[A-Za-z_][A-Za-z0-9_]*/g, (s) => String(dims[s] ?? 4));
  if (!/^[\d\s+\-*/()]+$/.test(arithmetic)) throw new Error(`tests/torch/harness: cannot size the dim '${d}'`);
  return Math.trunc(Number(new Function(`return (${arithmetic})`)()));
}

/** The driver job that runs `c` on the torch module `module`. */
export function torchJob(module: string, c: Case): unknown {
  return { kind: "call", module, fn: c.fn, inputs: c.inputs, scalars: c.scalars, seed: c.seed, cotangents: c.cotangents };
}

/** What the Python driver reports for one torchJob: the outputs and grads, or why there are none. */
export interface TorchResult {
  outputs?: (number | null)[][];
  grads?: ((number | null)[] | null)[];
  /** The estc error a call raised (its message). */
  error?: string;
  /** That error's code, where the driver reports one. */
  code?: string;
  /** A Python exception that is not an estc error. */
  crash?: string;
}
