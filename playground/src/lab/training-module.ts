/**
 * The module the training panel trains, compiled in the worker: the editor's program when it
 * defines the quickstart's two fns (`binary_dense(x, w, …)` and a scalar
 * `loss(x, w, labels, …)`), else examples/quickstart/binary.est (its text handed in by the
 * worker, bundled at build time). Only those two fns are built; the JS text and its WGSL sibling
 * come back as strings for link-module.ts to import from Blob URLs.
 */
import type * as A from "../../../grammar/ast.js";
import { generateModule } from "../../../compiler/codegen/ts/module.js";
import { differentiate, type DifferentiatedFn } from "../../../compiler/differentiate.js";
import { checkFiles } from "../../../compiler/pipeline.js";
import type { CompilerHost } from "../../../compiler/resolve.js";

/** The generated module's name: its WGSL sibling is imported as `./binary.wgsl.js`. */
export const TRAINING_MODULE_NAME = "binary";

/** The fns the training loop calls, with the parameters it passes. */
const NEEDED: Record<string, string[]> = { binary_dense: ["x", "w"], loss: ["x", "w", "labels"] };

/** The generated module, or why there is none. */
export type TrainingModuleResult =
  | {
      ok: true;
      js: string;
      wgslJs: string;
      name: string;
      /** Whose `loss` is trained: the editor's program or the bundled quickstart. */
      source: "editor" | "quickstart";
      /** Why the editor's program was not used, when source is "quickstart". */
      note?: string;
      /** The runtime scalars `loss` takes (o in the quickstart), with their defaults. */
      scalars: { name: string; default: number }[];
    }
  | { ok: false; reason: string };

/**
 * Builds the training module from `text` (the editor's program) when it has the quickstart's fns
 * and compiles, else from `quickstartText`. `file` is the editor's absolute path in `host`; the
 * quickstart is compiled under the same path (its only import is `std/binary`).
 */
export async function buildTrainingModule(host: CompilerHost, file: string, text: string, quickstartText: string): Promise<TrainingModuleResult> {
  const mine = await compileTraining(host, file, text);
  if ("module" in mine) return { ok: true, ...mine.module, source: "editor" };
  const fallback = await compileTraining(host, file, quickstartText);
  if ("module" in fallback) return { ok: true, ...fallback.module, source: "quickstart", note: mine.reason };
  return { ok: false, reason: `the quickstart's program did not build: ${fallback.reason}` };
}

async function compileTraining(host: CompilerHost, file: string, text: string): Promise<{ module: { js: string; wgslJs: string; name: string; scalars: { name: string; default: number }[] } } | { reason: string }> {
  const withText: CompilerHost = { ...host, readFile: (p) => (p === file ? text : host.readFile(p)) };
  const checked = checkFiles([file], withText);
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  const program = checked.programs[0];
  if (program === undefined || errors.length > 0) return { reason: `the program has ${errors.length} error${errors.length === 1 ? "" : "s"}` };
  const fns: DifferentiatedFn[] = [];
  for (const [name, params] of Object.entries(NEEDED)) {
    const sym = program.program.entry.items.get(name);
    if (sym?.kind !== "fn") return { reason: `it defines no fn '${name}' (the quickstart's training loop calls ${Object.keys(NEEDED).join(" and ")})` };
    const missing = params.filter((p) => !hasTensorParam(sym.decl, p));
    if (missing.length > 0) return { reason: `its fn '${name}' has no tensor parameter${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (the training loop passes ${params.join(", ")})` };
    const d = differentiate(program, program.program.entry, sym.decl);
    if (d.fn === undefined) return { reason: `fn '${name}' does not build: ${d.diagnostics.map((x) => `${x.code} ${x.message}`).join("; ")}` };
    fns.push(d.fn);
  }
  const loss = fns[1]!;
  if (loss.lowered.outputs.length !== 1 || loss.lowered.outputs[0]!.shape.length !== 0) return { reason: "its fn 'loss' does not return a scalar" };
  const mod = await generateModule(program.program.entry.file, fns, checked.sources, true, true, TRAINING_MODULE_NAME);
  if (mod.js === undefined || mod.wgslJs === undefined) return { reason: "code generation gave no JavaScript" };
  return { module: { js: mod.js, wgslJs: mod.wgslJs, name: TRAINING_MODULE_NAME, scalars: loss.lowered.scalars.map((s) => ({ name: s.name, default: s.default })) } };
}

function hasTensorParam(decl: A.FnDecl, name: string): boolean {
  return decl.params.some((p) => p.name.name === name && p.default === undefined);
}
