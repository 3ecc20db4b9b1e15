/**
 * `estc build`: check → lower → autodiff → schedule → codegen → emit for every fn of one file,
 * writing NAME.ts and its WGSL sibling NAME.wgsl.ts (or NAME.js + NAME.d.ts + NAME.wgsl.js) into
 * the output folder. Also `explain`, which prints the IR after a stage.
 */
import * as path from "node:path";
import type * as A from "../grammar/ast.js";
import { isStackOverflow, tooDeep } from "./depth.js";
import { differentiate, type DifferentiatedFn } from "./differentiate.js";
import { error, type Diagnostic } from "./diagnostics.js";
import { OutputError, writeOutputs } from "./emit.js";
import { printGraph, type Node } from "./ir.js";
import { checkFiles } from "./pipeline.js";
import { nodeHost, type CompilerHost } from "./resolve.js";
import { schedule } from "./schedule.js";
import { optimize } from "./optimize.js";
import { SourceMap } from "./source.js";

/** The result of a build: what was written, or why nothing was. */
export interface BuildResult {
  diagnostics: Diagnostic[];
  sources: SourceMap;
  written: string[];
}

/** Differentiates every fn of `entry`; diagnostics if any stage fails. */
export function differentiateFile(entry: string, host: CompilerHost = nodeHost()): { fns: DifferentiatedFn[]; diagnostics: Diagnostic[]; sources: SourceMap; file: string } {
  const checked = checkFiles([entry], host);
  const program = checked.programs[0];
  if (program === undefined || checked.diagnostics.some((d) => d.severity === "error")) {
    return { fns: [], diagnostics: checked.diagnostics, sources: checked.sources, file: entry };
  }
  const fns: DifferentiatedFn[] = [];
  const diagnostics: Diagnostic[] = [...checked.diagnostics];
  for (const item of program.program.entry.ast.items) {
    if (item.kind !== "Fn") continue;
    const d = differentiate(program, program.program.entry, item);
    diagnostics.push(...d.diagnostics);
    if (d.fn !== undefined) fns.push(d.fn);
  }
  return { fns, diagnostics, sources: checked.sources, file: program.program.entry.file };
}

/** Code generation choices of a build. */
export interface BuildOptions {
  /**
   * Fuse transposes, elementwise prologues and epilogues into matrix products (default true;
   * false keeps each product bare, for comparing or for narrowing down a suspected fusion bug).
   */
  fuseMatMuls?: boolean;
}

/** Builds `entry` into `outDir`. Nothing is written unless every stage succeeds. */
export async function buildFile(entry: string, outDir: string, emit: "ts" | "js", host: CompilerHost = nodeHost(), options: BuildOptions = {}): Promise<BuildResult> {
  if (outDir.trim() === "") {
    const span = { file: entry, start: 0, end: 0 };
    return { diagnostics: [error("E5020", span, "--out-dir is empty", { hint: "give --out-dir a folder name, e.g. --out-dir out (use --out-dir . for the current folder)" })], sources: new SourceMap(), written: [] };
  }
  const d = differentiateFile(entry, host);
  if (d.diagnostics.some((x) => x.severity === "error")) return { diagnostics: d.diagnostics, sources: d.sources, written: [] };
  if (d.fns.length === 0) {
    const span = { file: d.file, start: 0, end: 0 };
    return { diagnostics: [error("E5010", span, `${d.file} has no fn to build`, { hint: "estc build compiles each fn of the file into an exported function" })], sources: d.sources, written: [] };
  }
  const { generateModule } = await import("./codegen/ts.js");
  const name = path.basename(entry).replace(/\.est$/, "");
  let mod: Awaited<ReturnType<typeof generateModule>>;
  try {
    mod = await generateModule(d.file, d.fns, d.sources, emit === "js", options.fuseMatMuls ?? true, name);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    return { diagnostics: [...d.diagnostics, tooDeep({ file: d.file, start: 0, end: 0 }, "schedule and generate code")], sources: d.sources, written: [] };
  }
  const dir = path.resolve(host.cwd, outDir);
  const files: Record<string, string> =
    emit === "js" ? { [`${name}.js`]: mod.js ?? "", [`${name}.d.ts`]: mod.dts ?? "", [`${name}.wgsl.js`]: mod.wgslJs ?? "" } : { [`${name}.ts`]: mod.ts, [`${name}.wgsl.ts`]: mod.wgslTs };
  // The other --emit mode's module, left from an earlier build, would no longer match the WGSL
  // sibling; NAME.wgsl is what estc wrote before the sibling module replaced it.
  const stale = [...(emit === "js" ? [`${name}.ts`, `${name}.wgsl.ts`] : [`${name}.js`, `${name}.d.ts`, `${name}.wgsl.js`]), `${name}.wgsl`];
  try {
    writeOutputs(dir, name, files, stale);
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    const rel = path.relative(host.cwd, e.path);
    const shown = rel === "" ? "." : rel.startsWith("..") ? e.path : rel;
    // Located at the path, not in the source: the program is fine, the folder is not.
    const diagnostic = error("E5020", { file: shown, start: 0, end: 0 }, `${e.action} ${shown}: ${e.reason}`, { hint: "--out-dir must name a folder estc can create and write into; the previous outputs, if any, are unchanged" });
    return { diagnostics: [...d.diagnostics, diagnostic], sources: d.sources, written: [] };
  }
  return { diagnostics: d.diagnostics, sources: d.sources, written: Object.keys(files).map((f) => path.relative(host.cwd, path.join(dir, f)) || f) };
}

/** The stages `estc explain --after` can print. */
export const explainStages = ["lower", "autodiff", "optimize", "schedule"] as const;

/** Prints the IR of every fn (or of `fnName`) after `stage`. */
export function explainFile(entry: string, stage: (typeof explainStages)[number], fnName?: string, host: CompilerHost = nodeHost()): { text: string; diagnostics: Diagnostic[]; sources: SourceMap } {
  const d = differentiateFile(entry, host);
  const fns = d.fns.filter((f) => fnName === undefined || f.lowered.name === fnName);
  let parts: string[];
  try {
    parts = explainParts(fns, stage);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    return { text: "", diagnostics: [...d.diagnostics, tooDeep({ file: d.file, start: 0, end: 0 }, `print the IR after ${stage}`)], sources: d.sources };
  }
  if (fnName !== undefined && fns.length === 0 && d.diagnostics.length === 0) {
    d.diagnostics.push(error("E5011", { file: d.file, start: 0, end: 0 }, `no fn named '${fnName}' in ${d.file}`));
  }
  return { text: parts.join("\n\n"), diagnostics: d.diagnostics, sources: d.sources };
}

function explainParts(fns: DifferentiatedFn[], stage: (typeof explainStages)[number]): string[] {
  return fns.map((f) => {
    const header = `fn ${f.lowered.name}`;
    if (stage === "lower") return `${header}\n${printGraph(outputsOf(f.lowered.outputs))}`;
    const roots: Record<string, Node> = { ...outputsOf(f.lowered.outputs), ...prefixed("grad", f.grads) };
    if (stage === "autodiff") return `${header}\n${printGraph(roots)}`;
    const names = Object.keys(roots);
    const optimized = optimize(f.lowered.graph, Object.values(roots));
    if (stage === "optimize") return `${header}\n${printGraph(Object.fromEntries(names.map((k, i) => [k, optimized[i]!])))}`;
    const s = schedule(optimized);
    const lines = s.kernels.map((k, i) => {
      if (k.kind === "fused") return `kernel ${i}: fused ${k.nodes.length} ops over [${k.shape.join(", ")}] -> ${k.outputs.length} output(s)`;
      if (k.kind === "reduce") return `kernel ${i}: ${k.node.op} over [${k.node.inputs[0]!.shape.join(", ")}] with a ${k.prologue.length}-op prologue`;
      if (k.kind === "matmul") {
        const operand = (o: typeof k.a, name: string) => `${name}${o.transposed ? "ᵀ" : ""}${o.prologue.length > 0 ? ` (${o.prologue.length}-op prologue)` : ""}`;
        return `kernel ${i}: matmul [${k.node.shape.join(", ")}] = ${operand(k.a, "a")} @ ${operand(k.b, "b")} with a ${k.epilogue.length}-op epilogue -> ${k.outputs.length} output(s)`;
      }
      return `step ${i}: ${k.node.op} [${k.node.shape.join(", ")}]`;
    });
    return `${header} (vjp)\n${lines.join("\n")}`;
  });
}

function outputsOf(outputs: Node[]): Record<string, Node> {
  return Object.fromEntries(outputs.map((o, i) => [outputs.length === 1 ? "out" : `out${i}`, o]));
}

function prefixed(prefix: string, nodes: Record<string, Node>): Record<string, Node> {
  return Object.fromEntries(Object.entries(nodes).map(([k, v]) => [`${prefix}.${k}`, v]));
}

export type { A };
