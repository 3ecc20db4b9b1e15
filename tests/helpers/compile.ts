/** Test helpers: compile `.est` text from memory and differentiate one of its fns. */
import * as fs from "node:fs";
import { checkFiles } from "../../compiler/pipeline.js";
import { defaultStdlibDir, type CompilerHost } from "../../compiler/resolve.js";
import { differentiate, type DifferentiatedFn } from "../../compiler/differentiate.js";
import { renderDiagnostics } from "../../compiler/render.js";

/** A host that serves `files` (names relative to /mem, any characters) from memory and the real stdlib from disk. */
export function memoryHost(files: Record<string, string>): CompilerHost {
  const cwd = "/mem";
  const stdlibDir = defaultStdlibDir();
  return {
    cwd,
    stdlibDir,
    readFile: (p) => {
      // The name after "/mem/" as it is, not path.relative's: hostile tests use names with any characters.
      const rel = p.startsWith(`${cwd}/`) ? p.slice(cwd.length + 1) : undefined;
      if (rel !== undefined && files[rel] !== undefined) return files[rel];
      if (!p.startsWith(stdlibDir)) return undefined;
      try {
        return fs.readFileSync(p, "utf8");
      } catch {
        return undefined;
      }
    },
  };
}

/** Checks `text` as main.est and differentiates fn `name`; throws with rendered diagnostics. */
export function compileFn(text: string, name: string): DifferentiatedFn {
  const result = checkFiles(["main.est"], memoryHost({ "main.est": text }));
  if (result.diagnostics.length > 0 || result.programs.length === 0) {
    throw new Error(renderDiagnostics(result.diagnostics, result.sources));
  }
  const checked = result.programs[0]!;
  const entry = checked.program.entry;
  const sym = entry.items.get(name);
  if (sym?.kind !== "fn") throw new Error(`no fn ${name}`);
  const d = differentiate(checked, entry, sym.decl);
  if (d.fn === undefined) throw new Error(renderDiagnostics(d.diagnostics, result.sources));
  return d.fn;
}
