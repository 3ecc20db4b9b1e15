/**
 * `estc build`: check → lower → autodiff → schedule → codegen → emit for every fn of one file,
 * writing NAME.ts and its WGSL sibling NAME.wgsl.ts (or NAME.js + NAME.d.ts + NAME.wgsl.js) into
 * the output folder. Also `explain`, which prints the IR after a stage.
 */
import * as path from "node:path";
import type * as A from "../grammar/ast.js";
import { isStackOverflow, tooDeep } from "./depth.js";
import { estimatorReadsCost } from "./autodiff.js";
import { differentiate, rankGenericEntry, type DifferentiatedFn } from "./differentiate.js";
import { error, type Diagnostic } from "./diagnostics.js";
import { OutputError, writeOutputs } from "./emit.js";
import { printGraph, type Node } from "./ir.js";
import { checkFiles, type CheckResult } from "./pipeline.js";
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

/**
 * Differentiates every fn of `entry` (or only those named in `only`); diagnostics if any stage
 * fails. A fn left out by {@link leftOut} is not among `fns`, and its E4030 is a warning.
 */
export function differentiateFile(entry: string, host: CompilerHost = nodeHost(), only?: readonly string[]): { fns: DifferentiatedFn[]; diagnostics: Diagnostic[]; sources: SourceMap; file: string } {
  const checked = checkFiles([entry], host);
  const program = checked.programs[0];
  if (program === undefined || checked.diagnostics.some((d) => d.severity === "error")) {
    return { fns: [], diagnostics: checked.diagnostics, sources: checked.sources, file: entry };
  }
  const fns: DifferentiatedFn[] = [];
  const diagnostics: Diagnostic[] = [...checked.diagnostics];
  const decls = program.program.entry.ast.items.filter((item): item is A.FnDecl => item.kind === "Fn");
  for (const name of only ?? []) {
    if (decls.some((f) => f.name.name === name)) continue;
    const known = decls.map((f) => `'${f.name.name}'`).join(", ");
    diagnostics.push(error("E5011", { file: program.program.entry.file, start: 0, end: 0 }, `no fn named '${name}' in ${program.program.entry.file}`, { hint: `its fns are ${known || "none"}` }));
  }
  for (const item of decls) {
    if (only !== undefined && !only.includes(item.name.name)) continue;
    const generic = program.signatures.get(item)?.generic;
    if (generic !== undefined) {
      diagnostics.push(rankGenericEntry(item, generic, only !== undefined));
      continue;
    }
    const d = differentiate(program, program.program.entry, item);
    // A fn picked by name is built or fails; otherwise one without a gradient of its own is left out.
    diagnostics.push(...(only === undefined ? leftOut(item.name.name, d.diagnostics) : d.diagnostics));
    if (d.fn !== undefined) fns.push(d.fn);
  }
  return { fns, diagnostics, sources: checked.sources, file: program.program.entry.file };
}

/**
 * A fn whose result is not a scalar and that uses an estimator reading `cost` has no gradient of
 * its own (E4030), though a scalar loss that calls it has one: such a helper is left out of the
 * module with a warning instead of failing the build of the fns that use it. Other errors stay.
 */
export function leftOut(fn: string, diagnostics: Diagnostic[]): Diagnostic[] {
  if (diagnostics.length === 0 || !diagnostics.every((d) => d.code === "E4030")) return diagnostics;
  return diagnostics.map((d) => ({
    ...d,
    severity: "warning" as const,
    message: `fn '${fn}' is left out of the module: ${d.message}`,
    hint: `a scalar-valued fn that calls '${fn}' is built (cost is its result); to build '${fn}' itself, make its result a scalar, or pick it with --fn ${fn} to see the error`,
  }));
}

/**
 * The warnings `estc build` would give beyond `estc check`'s: the fns of each checked entry that
 * it leaves out (E4030, found by differentiating them). Empty when the check has errors.
 */
export function buildWarnings(result: CheckResult): Diagnostic[] {
  if (result.diagnostics.some((d) => d.severity === "error")) return [];
  const out: Diagnostic[] = [];
  for (const program of result.programs) {
    // E4030 needs an estimator that reads cost; without one, differentiating every fn (most of a
    // large file's check time) cannot find anything.
    const modules = [...program.program.modules.values(), program.program.entry];
    if (!modules.some((m) => m.ast.items.some((i) => i.kind === "Estimator" && estimatorReadsCost(i)))) continue;
    for (const item of program.program.entry.ast.items) {
      if (item.kind !== "Fn") continue;
      out.push(...leftOut(item.name.name, differentiate(program, program.program.entry, item).diagnostics).filter((d) => d.severity === "warning"));
    }
  }
  return out;
}

/** Code generation choices of a build. */
export interface BuildOptions {
  /** Build only these fns (`estc build --fn NAME`); each must build. Default: every fn that can. */
  fns?: readonly string[];
  /**
   * Fuse transposes, elementwise prologues and epilogues into matrix products (default true;
   * false keeps each product bare, for comparing or for narrowing down a suspected fusion bug).
   */
  fuseMatMuls?: boolean;
}

/** The texts of a build, before anything is written: the files by name, or why there are none. */
export interface ModuleTexts {
  diagnostics: Diagnostic[];
  sources: SourceMap;
  /** The `.est` file's name as diagnostics show it. */
  file: string;
  /** File name inside the output folder → text; undefined when a stage failed. */
  files?: Record<string, string>;
  /** Outputs of the other `--emit` mode that a write of `files` removes. */
  stale: string[];
}

/**
 * check → … → codegen for `entry` without touching a file system (the playground runs it in a
 * browser worker; buildFile writes its result). Never throws for a user's mistake.
 */
export async function moduleTexts(entry: string, emit: "ts" | "js", host: CompilerHost = nodeHost(), options: BuildOptions = {}): Promise<ModuleTexts> {
  const d = differentiateFile(entry, host, options.fns);
  const failed = whyNothingToBuild(d);
  if (failed !== undefined) return { diagnostics: failed, sources: d.sources, file: d.file, stale: [] };
  const name = baseName(entry);
  const { generateModule } = await import("./codegen/ts/module.js");
  let mod: Awaited<ReturnType<typeof generateModule>>;
  try {
    mod = await generateModule(d.file, d.fns, d.sources, emit === "js", options.fuseMatMuls ?? true, name);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    return { diagnostics: [...d.diagnostics, tooDeep({ file: d.file, start: 0, end: 0 }, "schedule and generate code")], sources: d.sources, file: d.file, stale: [] };
  }
  const files: Record<string, string> =
    emit === "js" ? { [`${name}.js`]: mod.js ?? "", [`${name}.d.ts`]: mod.dts ?? "", [`${name}.wgsl.js`]: mod.wgslJs ?? "" } : { [`${name}.ts`]: mod.ts, [`${name}.wgsl.ts`]: mod.wgslTs };
  // The other --emit mode's module, left from an earlier build, would no longer match the WGSL
  // sibling; NAME.wgsl is what estc wrote before the sibling module replaced it.
  const stale = [...(emit === "js" ? [`${name}.ts`, `${name}.wgsl.ts`] : [`${name}.js`, `${name}.d.ts`, `${name}.wgsl.js`]), `${name}.wgsl`];
  return { diagnostics: d.diagnostics, sources: d.sources, file: d.file, files, stale };
}

/** Builds `entry` into `outDir`. Nothing is written unless every stage succeeds. */
export async function buildFile(entry: string, outDir: string, emit: "ts" | "js" | "torch", host: CompilerHost = nodeHost(), options: BuildOptions = {}): Promise<BuildResult> {
  if (outDir.trim() === "") {
    const span = { file: entry, start: 0, end: 0 };
    return { diagnostics: [error("E5020", span, "--out-dir is empty", { hint: "give --out-dir a folder name, e.g. --out-dir out (use --out-dir . for the current folder)" })], sources: new SourceMap(), written: [] };
  }
  if (emit !== "torch") {
    const t = await moduleTexts(entry, emit, host, options);
    if (t.files === undefined) return { diagnostics: t.diagnostics, sources: t.sources, written: [] };
    return writeBuild(host, outDir, baseName(entry), t.files, t.stale, t);
  }
  const d = differentiateFile(entry, host, options.fns);
  const failed = whyNothingToBuild(d);
  if (failed !== undefined) return { diagnostics: failed, sources: d.sources, written: [] };
  const name = baseName(entry);
  const { torchFiles } = await import("./codegen/torch/files.js");
  const t = torchFiles(d.file, d.fns, d.sources, name);
  if ("diagnostic" in t) return { diagnostics: [...d.diagnostics, t.diagnostic], sources: d.sources, written: [] };
  return writeBuild(host, outDir, name, t.files, [], d);
}

/** The diagnostics of a file that yields nothing to build (a stage failed, or it has no fn). */
function whyNothingToBuild(d: { fns: DifferentiatedFn[]; diagnostics: Diagnostic[]; file: string }): Diagnostic[] | undefined {
  if (d.diagnostics.some((x) => x.severity === "error")) return d.diagnostics;
  if (d.fns.length > 0) return undefined;
  const span = { file: d.file, start: 0, end: 0 };
  return [error("E5010", span, `${d.file} has no fn to build`, { hint: "estc build compiles each fn of the file into an exported function" })];
}

function baseName(entry: string): string {
  return path.basename(entry).replace(/\.est$/, "");
}

/** Writes one build's files as a set (./emit.ts); a folder that refuses them is E5020. */
function writeBuild(host: CompilerHost, outDir: string, name: string, files: Record<string, string>, stale: string[], d: { diagnostics: Diagnostic[]; sources: SourceMap }): BuildResult {
  const dir = path.resolve(host.cwd, outDir);
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
      if (k.kind === "conv") return `kernel ${i}: conv2d [${k.node.shape.join(", ")}] with a ${k.epilogue.length}-op epilogue (${k.epilogue.map((n) => n.op).join(", ")}) -> ${k.outputs.length} output(s)`;
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
