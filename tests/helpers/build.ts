/**
 * Test helper: compiles `.est` text to a generated `.js` module (and its WGSL sibling), writes it under tests/.tmp/
 * (inside the package, so `estc/runtime` resolves by self-reference) and imports it.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { generateModule } from "../../compiler/codegen/ts/module.js";
import { differentiate, type DifferentiatedFn } from "../../compiler/differentiate.js";
import { checkFiles } from "../../compiler/pipeline.js";
import { renderDiagnostics } from "../../compiler/render.js";
import { memoryHost } from "./compile.js";

export const tmpRoot = path.resolve(import.meta.dirname, "..", ".tmp");

/** Compiles every fn of `text`; returns the differentiated fns (for the oracle) and the module. */
export async function buildModule(text: string): Promise<{ fns: Record<string, DifferentiatedFn>; mod: Record<string, any>; js: string; file: string }> {
  const result = checkFiles(["main.est"], memoryHost({ "main.est": text }));
  if (result.diagnostics.length > 0 || result.programs.length === 0) throw new Error(renderDiagnostics(result.diagnostics, result.sources));
  const checked = result.programs[0]!;
  const fns: Record<string, DifferentiatedFn> = {};
  for (const item of checked.program.entry.ast.items) {
    // A rank-generic fn is not an entry point (E5012); it is inlined where it is called.
    if (item.kind !== "Fn" || checked.signatures.get(item)?.generic !== undefined) continue;
    const d = differentiate(checked, checked.program.entry, item);
    if (d.fn === undefined) throw new Error(renderDiagnostics(d.diagnostics, result.sources));
    fns[item.name.name] = d.fn;
  }
  const generated = await generateModule("main.est", Object.values(fns), result.sources, true);
  const dir = path.join(tmpRoot, crypto.createHash("sha1").update(text).digest("hex").slice(0, 12));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "main.js");
  fs.writeFileSync(file, generated.js!);
  fs.writeFileSync(path.join(dir, "main.wgsl.js"), generated.wgslJs!);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, any>;
  // The WGSL sibling is loaded here, as a fn's first WebGPU call would, for tests that read spec.wgsl.
  for (const f of Object.values(mod)) if (f.spec.wgsl === undefined) f.spec.wgsl = await f.spec.loadWgsl();
  return { fns, mod, js: generated.js!, file };
}
