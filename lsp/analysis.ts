/**
 * What the language server knows about one open file: the compiler's diagnostics (checkFiles,
 * exactly as `estc check` reports them) and, for hover, definition and completion, the loaded
 * modules with their scopes, the checker's fn signatures and const values, and every local name
 * a body binds with its type. Files are read through an overlay host: an open editor's text
 * wins over the file on disk, so the analysis follows what the user types.
 */
import * as path from "node:path";
import type * as A from "../grammar/ast.js";
import { Checker } from "../compiler/check.js";
import type { FnSignature } from "../compiler/check-expr.js";
import { hasErrors, type Diagnostic, type Span } from "../compiler/diagnostics.js";
import { checkFiles } from "../compiler/pipeline.js";
import { nodeHost, Resolver, type CompilerHost, type ModuleInfo } from "../compiler/resolve.js";
import type { Binding } from "../compiler/scope.js";
import { SourceMap } from "../compiler/source.js";

/** A name bound inside a body (parameter, let, estimator input, shape symbol) with its type. */
export interface LocalName {
  name: string;
  binding: Binding & { span: Span };
}

/** One analysis of an entry file and everything it imports. */
export interface Analysis {
  host: CompilerHost;
  /** The entry module; undefined when the file cannot be read. */
  entry: ModuleInfo | undefined;
  /** Every loaded module by id (`std/binary`, or an absolute path). */
  modules: Map<string, ModuleInfo>;
  signatures: Map<A.FnDecl, FnSignature>;
  consts: Map<A.ConstDecl, number | boolean>;
  locals: LocalName[];
  /** The diagnostics of `estc check` for the entry file (and the modules it imports). */
  diagnostics: Diagnostic[];
  /** The text of every file the diagnostics name, by the name they use. */
  sources: SourceMap;
}

/** A host that reads `overlay(absPath)` first (an open editor's text), then the disk. */
export function overlayHost(overlay: (absPath: string) => string | undefined, cwd: string): CompilerHost {
  const disk = nodeHost(cwd);
  return { ...disk, readFile: (p) => overlay(p) ?? disk.readFile(p) };
}

/** The absolute path of a loaded module's file. */
export function modulePath(m: ModuleInfo, host: CompilerHost): string {
  return m.id.startsWith("std/") ? path.join(host.stdlibDir, `${m.id}.est`) : m.id;
}

/** The absolute path of a file as diagnostics and spans name it (relative to the host's cwd). */
export function spanPath(file: string, host: CompilerHost): string {
  return path.resolve(host.cwd, file);
}

/** Analyses `absPath`. Never throws for a user's mistake; a half-typed file still gives its scope. */
export function analyze(absPath: string, host: CompilerHost): Analysis {
  const checked = checkFiles([path.relative(host.cwd, absPath) || absPath], host);
  const resolver = new Resolver(host, new SourceMap());
  const entry = resolver.loadEntry(absPath);
  const locals: LocalName[] = [];
  let signatures = new Map<A.FnDecl, FnSignature>();
  let consts = new Map<A.ConstDecl, number | boolean>();
  if (entry !== undefined && !hasErrors(resolver.diagnostics.filter((d) => !d.code.startsWith("E1")))) {
    // A syntax error leaves a partial AST that still types; only module errors stop the checker.
    const checker = new Checker({ entry, modules: resolver.modules }, resolver, (name, binding) => {
      if (binding.span !== undefined) locals.push({ name, binding: binding as LocalName["binding"] });
    });
    try {
      ({ signatures, consts } = checker.run());
    } catch {
      // A file too deep to check (E1002 in the diagnostics) gives no types; hover says less.
    }
  }
  return { host, entry, modules: resolver.modules, signatures, consts, locals, diagnostics: checked.diagnostics, sources: checked.sources };
}
