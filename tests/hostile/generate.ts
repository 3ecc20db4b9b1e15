/**
 * Test helper for the hostile-input suite: compiles many `.est` programs in one process (through
 * the compiler API, from memory, any file name allowed), writes each generated module under
 * tests/.tmp/ (inside the package, so `estc/runtime` resolves by self-reference), imports the
 * `.js` and type-checks every `.ts` and `.d.ts` in one `tsc --strict` run.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { differentiateFile } from "../../compiler/build.js";
import { generateModule, type GeneratedModule } from "../../compiler/codegen/ts/module.js";
import type { Diagnostic } from "../../compiler/diagnostics.js";
import { checkFiles } from "../../compiler/pipeline.js";
import { renderDiagnostics } from "../../compiler/render.js";
import { memoryHost } from "../helpers/compile.js";

const root = path.resolve(import.meta.dirname, "..", "..");

/** What compiling one program gave: diagnostics (rendered for a terminal) or a module. */
export interface Compiled {
  diagnostics: Diagnostic[];
  rendered: string;
  module?: GeneratedModule;
}

/** `estc check` on `entry`: diagnostics only. */
export function check(files: Record<string, string>, entry: string): Compiled {
  const r = checkFiles([entry], memoryHost(files));
  return { diagnostics: r.diagnostics, rendered: renderDiagnostics(r.diagnostics, r.sources) };
}

/** Check, differentiate and generate `entry` (`.ts`, `.js`, `.d.ts` and the WGSL sibling, named for `m`, from one run). */
export async function compile(files: Record<string, string>, entry: string): Promise<Compiled> {
  const d = differentiateFile(entry, memoryHost(files));
  const rendered = renderDiagnostics(d.diagnostics, d.sources);
  if (d.diagnostics.some((x) => x.severity === "error") || d.fns.length === 0) return { diagnostics: d.diagnostics, rendered };
  return { diagnostics: d.diagnostics, rendered, module: await generateModule(d.file, d.fns, d.sources, true, true, "m") };
}

/** A scratch folder under tests/.tmp/, emptied. */
export function scratch(name: string): string {
  const dir = path.join(root, "tests", ".tmp", name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Writes a generated module as DIR/ts/m{,.wgsl}.ts and DIR/js/m.{js,d.ts,wgsl.js}, imports the `.js`
 * (evaluating it, as a user's `import` would) and returns its namespace.
 */
export async function writeAndImport(dir: string, mod: GeneratedModule): Promise<Record<string, any>> {
  fs.mkdirSync(path.join(dir, "ts"), { recursive: true });
  fs.mkdirSync(path.join(dir, "js"), { recursive: true });
  fs.writeFileSync(path.join(dir, "ts", "m.ts"), mod.ts);
  fs.writeFileSync(path.join(dir, "js", "m.js"), mod.js!);
  fs.writeFileSync(path.join(dir, "js", "m.d.ts"), mod.dts!);
  fs.writeFileSync(path.join(dir, "ts", "m.wgsl.ts"), mod.wgslTs);
  fs.writeFileSync(path.join(dir, "js", "m.wgsl.js"), mod.wgslJs!);
  // The declarations again as a module of their own, so tsc checks them (it skips .d.ts files).
  fs.mkdirSync(path.join(dir, "dts"), { recursive: true });
  fs.writeFileSync(path.join(dir, "dts", "m.ts"), mod.dts!);
  const ns = (await import(pathToFileURL(path.join(dir, "js", "m.js")).href)) as Record<string, any>;
  // The WGSL sibling, loaded as a fn's first WebGPU call would, for the tests that read spec.wgsl.
  for (const f of Object.values(ns)) if (f.spec.wgsl === undefined) f.spec.wgsl = await f.spec.loadWgsl();
  return ns;
}

/**
 * Type-checks every `.ts` under `dir` (each module's `.ts` and its declarations as `dts/m.ts`) in
 * one run of the project's TypeScript, `--strict` with node16 modules. Returns tsc's errors, each
 * with its continuation lines; none when everything checks.
 */
export function typecheck(dir: string): string[] {
  const config = {
    compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true },
    include: ["**/*.ts"],
  };
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
  try {
    execFileSync("node", [path.join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    return [];
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? e);
    return out.split(/\n(?=\S)/).filter((entry) => entry.trim() !== "");
  }
}

