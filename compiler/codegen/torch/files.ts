/**
 * codegen/torch/files: what `estc build --emit torch` writes — NAME.py and, beside it, the
 * runtime module estc_torch.py it imports. The runtime is copied from the package
 * (runtime/torch/estc_torch.py) on every build rather than installed as a Python package: the
 * npm package is not one, and a copy next to each module always matches the code generated
 * against it. An IR op without a torch mapping is E5030, and nothing is written.
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { DifferentiatedFn } from "../../differentiate.js";
import { isStackOverflow, tooDeep } from "../../depth.js";
import { error, type Diagnostic } from "../../diagnostics.js";
import type { SourceMap } from "../../source.js";
import { generateTorchModule } from "./module.js";
import { UnmappedOp } from "./ops.js";

/** The runtime module's file name, as the generated module imports it. */
export const TORCH_RUNTIME = "estc_torch.py";

/** The shipped runtime: beside the sources (compiler/codegen/torch) or the compiled dist/compiler/codegen/torch. */
export function torchRuntimeText(): string {
  for (const rel of ["../../../runtime/torch/estc_torch.py", "../../../../runtime/torch/estc_torch.py"]) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
  }
  throw new Error("estc internal error: runtime/torch/estc_torch.py is missing from the installed package");
}

/** The files of a torch build (runtime first, so a reader that sees the module sees its runtime), or E5030. */
export function torchFiles(file: string, fns: readonly DifferentiatedFn[], sources: SourceMap, name: string): { files: Record<string, string> } | { diagnostic: Diagnostic } {
  try {
    return { files: { [TORCH_RUNTIME]: torchRuntimeText(), [`${name}.py`]: generateTorchModule(file, fns, sources) } };
  } catch (e) {
    if (e instanceof UnmappedOp) {
      const fn = fns.find((f) => f.lowered.provenance.has(e.node.id)) ?? fns[0]!;
      const span = fn.lowered.provenance.get(e.node.id) ?? fn.lowered.decl.name.span;
      return { diagnostic: unmapped(span, e.node.op, fn.lowered.name) };
    }
    if (isStackOverflow(e)) return { diagnostic: tooDeep({ file, start: 0, end: 0 }, "generate the torch module") };
    throw e;
  }
}

/** E5030: the torch back end cannot express an IR op yet (docs/torch.md lists what it maps). */
export function unmapped(span: Diagnostic["span"], op: string, fn: string): Diagnostic {
  return error("E5030", span, `--emit torch cannot express the IR op '${op}' of fn '${fn}' yet`, {
    hint: "build this fn with --emit ts or --emit js (every op runs there), or leave it out of the torch build with --fn; docs/torch.md lists the ops the torch back end maps",
  });
}
