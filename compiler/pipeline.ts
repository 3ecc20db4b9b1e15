/**
 * The pipeline as one readable list (STYLE.md §3). Each stage is `(input, ctx) → output` in its
 * own file; an earlier stage's errors stop the later stages quietly.
 *
 *   parse      grammar/index.ts   text → AST with spans; syntax errors E1xxx; never throws
 *   resolve    resolve.ts         modules loaded, imports bound, top-level names unique (E2xxx)
 *   check      check.ts           dtypes, symbolic shapes, estimators, recursion (E2xxx–E4xxx)
 *   lower      lower.ts           AST → hash-consed IR; fn calls inlined; Op.Custom at `backward`
 *   autodiff   autodiff.ts        reverse mode; estimator rules at Custom nodes (E4030)
 *   optimize   optimize.ts        rule table to a fixpoint, constant folding; CSE by hash-consing
 *   residuals  residuals.ts       what vjpFn saves (bit masks) versus recomputes
 *   schedule   schedule.ts        fused elementwise loops, reduction prologues, runtime steps
 *   codegen    codegen/ts/module.ts      module text in prettier's layout; one function per kernel; WGSL sibling
 *   emit       emit.ts            all files staged, committed, then renamed into place (E5020)
 *
 * This file runs the front stages (`checkFiles`); build.ts runs the rest for `estc build`.
 * IR invariants (verify.ts) are checked after every stage in the tests.
 */
import * as path from "node:path";
import { error, hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { Checker, type CheckedProgram } from "./check.js";
import { isStackOverflow, tooDeep } from "./depth.js";
import { nodeHost, Resolver, stdlibModuleIds, type CompilerHost, type ModuleInfo } from "./resolve.js";
import { SourceMap } from "./source.js";

/** The result of checking one or more entry files. */
export interface CheckResult {
  diagnostics: Diagnostic[];
  sources: SourceMap;
  /** One per entry file that could be read and resolved without errors. */
  programs: CheckedProgram[];
  /** Entry files checked. */
  files: number;
  /** Declarations (estimator, fn, const) in the entry files; imports are not counted. */
  items: number;
}

/** Runs parse → resolve → check over each entry file. Never throws for a user's mistake. */
export function checkFiles(entries: string[], host: CompilerHost = nodeHost()): CheckResult {
  const sources = new SourceMap();
  const diagnostics: Diagnostic[] = [];
  const programs: CheckedProgram[] = [];
  let items = 0;
  for (const entry of entries) {
    const resolver = new Resolver(host, sources);
    const span = { file: entry, start: 0, end: 0 };
    if (!entry.endsWith(".est")) {
      diagnostics.push(error("E2000", span, `${JSON.stringify(entry)} is not a .est file`, { hint: "estc reads .est source files; rename the file or pass the .est one" }));
      continue;
    }
    const abs = path.resolve(host.cwd, entry);
    const mod = resolver.loadEntry(abs);
    if (mod === undefined) {
      const why = host.whyUnreadable?.(abs) ?? "no such file";
      diagnostics.push(error("E2000", span, `cannot read ${entry}: ${why}`, { hint: "check the path; estc check takes .est files" }));
      continue;
    }
    items += countItems(mod);
    const checked = checkModules(mod, resolver);
    diagnostics.push(...checked.diagnostics);
    if (checked.program !== undefined) programs.push(checked.program);
  }
  return { diagnostics: sortDiagnostics(dedupe(diagnostics)), sources, programs, files: entries.length, items };
}

/** Checks every stdlib module (used by `estc check --stdlib` and the tests). */
export function checkStdlib(host: CompilerHost = nodeHost()): CheckResult {
  const files = stdlibModuleIds(host).map((id) => path.join(host.stdlibDir, `${id}.est`));
  return checkFiles(files, host);
}

function checkModules(entry: ModuleInfo, resolver: Resolver): { diagnostics: Diagnostic[]; program?: CheckedProgram } {
  const program = { entry, modules: resolver.modules };
  if (hasErrors(resolver.diagnostics)) return { diagnostics: resolver.diagnostics };
  const checker = new Checker(program, resolver);
  let checked: CheckedProgram;
  try {
    checked = checker.run();
  } catch (e) {
    // A very long or deeply nested expression exhausts the JavaScript stack, as in the parser (E1002).
    if (!isStackOverflow(e)) throw e;
    const span = { file: entry.file, start: 0, end: Math.min(1, entry.ast.span.end) };
    return { diagnostics: [...resolver.diagnostics, tooDeep(span, "check")] };
  }
  const all = [...resolver.diagnostics, ...checker.diagnostics];
  return hasErrors(all) ? { diagnostics: all } : { diagnostics: all, program: checked };
}

function countItems(m: ModuleInfo): number {
  return m.ast.items.filter((i) => i.kind !== "Import").length;
}

/** The same module imported by several entries reports its errors once. */
function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = `${d.code}:${d.span.file}:${d.span.start}:${d.span.end}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
