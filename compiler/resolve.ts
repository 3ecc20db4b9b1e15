/**
 * resolve: loads the entry module and every module it imports (stdlib `std/…` and relative
 * `./x`), builds each module's top-level scope, and reports missing modules, import cycles,
 * unknown imported names and duplicate items (E2xxx). Names inside bodies are resolved by check.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { ConstDecl, EstimatorDecl, FnDecl, Ident, ImportDecl, Module } from "../grammar/ast.js";
import { parse } from "../grammar/index.js";
import { error, type Diagnostic, type Span } from "./diagnostics.js";
import { ioReason } from "./io-reason.js";
import { isModulePathError, parseModulePath, quote, type ModulePathError } from "./module-path.js";
import type { SourceMap } from "./source.js";
import { closest } from "./suggest.js";

/** A top-level declaration a name can refer to. */
export type ItemSymbol =
  | { kind: "fn"; decl: FnDecl; module: ModuleInfo }
  | { kind: "estimator"; decl: EstimatorDecl; module: ModuleInfo }
  | { kind: "const"; decl: ConstDecl; module: ModuleInfo };

/** A name visible at the top level of a module; `via` is set when it was imported. */
export interface ScopeEntry {
  symbol: ItemSymbol;
  /** The import that brought the name in, with the module path as written. */
  via?: { from: string; span: Span };
  /** Where the name was declared or imported in this module. */
  span: Span;
}

/** One loaded module. */
export interface ModuleInfo {
  /** Canonical id: `std/binary` for the stdlib, the absolute path otherwise. */
  id: string;
  /** The file name used in diagnostics (relative to the working directory). */
  file: string;
  ast: Module;
  /** The module's own items (exports). */
  items: Map<string, ItemSymbol>;
  /** Everything visible at top level: own items and imports. */
  scope: Map<string, ScopeEntry>;
}

/** All modules of one compilation. */
export interface Program {
  entry: ModuleInfo;
  modules: Map<string, ModuleInfo>;
}

/** How the compiler reads files; tests substitute an in-memory host. */
export interface CompilerHost {
  readFile(absPath: string): string | undefined;
  /** Why `absPath` could not be read, in words (for the E2000 of an entry file); optional. */
  whyUnreadable?(absPath: string): string;
  /** The folder holding `std/*.est`. */
  stdlibDir: string;
  /** Diagnostics name files relative to this folder. */
  cwd: string;
  /**
   * The stdlib's module ids (`std/binary`, …) for suggestions; optional: without it they are
   * read from `stdlibDir` on disk. A host with no file system (the playground) gives them here.
   */
  stdlibModules?(): string[];
}

/** Finds the stdlib beside the package, both from source (compiler/) and from dist/compiler/. */
export function defaultStdlibDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, "stdlib");
    if (fs.existsSync(path.join(candidate, "std"))) return candidate;
    dir = path.dirname(dir);
  }
  return path.join(dir, "stdlib");
}

/**
 * Reads from the real file system: only regular files whose real path (symbolic links followed)
 * ends in `.est`, so an import can never be pointed at another kind of file through a link.
 */
export function nodeHost(cwd = process.cwd()): CompilerHost {
  return {
    readFile: (p) => {
      try {
        const real = fs.realpathSync(p);
        return real.endsWith(".est") && fs.statSync(real).isFile() ? fs.readFileSync(real, "utf8") : undefined;
      } catch {
        return undefined;
      }
    },
    whyUnreadable: (p) => {
      try {
        const real = fs.realpathSync(p);
        if (!real.endsWith(".est")) return `it is a link to ${real}, which is not a .est file`;
        if (!fs.statSync(real).isFile()) return "it is not a file";
        fs.accessSync(real, fs.constants.R_OK);
        return "it could not be read";
      } catch (e) {
        return ioReason(e);
      }
    },
    stdlibDir: defaultStdlibDir(),
    cwd,
  };
}

/** Lists the stdlib module ids (`std/binary`, …) for suggestions. */
export function stdlibModuleIds(host: CompilerHost): string[] {
  if (host.stdlibModules !== undefined) return [...host.stdlibModules()].sort();
  try {
    return fs
      .readdirSync(path.join(host.stdlibDir, "std"))
      .filter((f) => f.endsWith(".est"))
      .map((f) => `std/${f.slice(0, -4)}`)
      .sort();
  } catch {
    return [];
  }
}

/** The loader: parses each module once, follows imports depth-first, detects cycles. */
export class Resolver {
  readonly modules = new Map<string, ModuleInfo>();
  readonly diagnostics: Diagnostic[] = [];
  private readonly loading: string[] = [];

  constructor(
    readonly host: CompilerHost,
    private readonly sources: SourceMap,
  ) {}

  /** Loads `absPath` as the entry module; undefined when it cannot be read. */
  loadEntry(absPath: string): ModuleInfo | undefined {
    const text = this.host.readFile(absPath);
    if (text === undefined) return undefined;
    return this.loadText(absPath, this.displayName(absPath), text);
  }

  /** Loads a stdlib module by id (for suggestions and the stdlib check). */
  loadStd(spec: string): ModuleInfo | undefined {
    const parsed = parseModulePath(spec);
    if (isModulePathError(parsed) || parsed.kind !== "std") return undefined;
    const id = parsed.id;
    const existing = this.modules.get(id);
    if (existing !== undefined) return existing;
    const abs = path.join(this.host.stdlibDir, `${id}.est`);
    const text = this.host.readFile(abs);
    return text === undefined ? undefined : this.loadText(id, this.displayName(abs), text);
  }

  private displayName(abs: string): string {
    return path.relative(this.host.cwd, abs) || abs;
  }

  private loadText(id: string, file: string, text: string): ModuleInfo {
    this.sources.add(file, text);
    const parsed = parse(text, file);
    this.diagnostics.push(...parsed.diagnostics);
    const info: ModuleInfo = { id, file, ast: parsed.ast, items: new Map(), scope: new Map() };
    this.modules.set(id, info);
    this.declareItems(info);
    this.loading.push(id);
    for (const item of parsed.ast.items) if (item.kind === "Import") this.resolveImport(info, item);
    this.loading.pop();
    return info;
  }

  private declareItems(info: ModuleInfo): void {
    for (const item of info.ast.items) {
      if (item.kind === "Import" || item.name.name === "") continue;
      const prev = info.items.get(item.name.name);
      if (prev !== undefined) {
        this.diagnostics.push(
          error("E2001", item.name.span, `'${item.name.name}' is declared twice in this module`, {
            hint: "names are unique per module; rename one of them",
            related: [{ span: prev.decl.name.span, message: "first declared here" }],
          }),
        );
        continue;
      }
      const symbol = { kind: item.kind === "Fn" ? "fn" : item.kind === "Estimator" ? "estimator" : "const", decl: item, module: info } as ItemSymbol;
      info.items.set(item.name.name, symbol);
      info.scope.set(item.name.name, { symbol, span: item.name.span });
    }
  }

  private resolveImport(info: ModuleInfo, decl: ImportDecl): void {
    const target = this.loadImported(info, decl);
    if (target === undefined) return;
    for (const n of decl.names) this.bindImportedName(info, decl, target, n.name, n.alias ?? n.name);
  }

  private bindImportedName(info: ModuleInfo, decl: ImportDecl, target: ModuleInfo, name: Ident, local: Ident): void {
    if (name.name === "") return;
    const symbol = target.items.get(name.name);
    if (symbol === undefined) {
      const guess = closest(name.name, target.items.keys());
      this.diagnostics.push(
        error("E2007", name.span, `module "${decl.from}" has no item '${name.name}'`, {
          hint: guess !== undefined ? `did you mean '${guess}'?` : `it declares: ${[...target.items.keys()].join(", ") || "nothing"}`,
        }),
      );
      return;
    }
    const prev = info.scope.get(local.name);
    if (prev !== undefined) {
      this.diagnostics.push(
        error("E2001", local.span, `'${local.name}' is already defined in this module`, {
          hint: `import it under another name: import { ${name.name} as My${name.name} } from "${decl.from}"`,
          related: [{ span: prev.span, message: prev.via === undefined ? "declared in this module here" : "first imported here" }],
        }),
      );
      return;
    }
    info.scope.set(local.name, { symbol, via: { from: decl.from, span: decl.fromSpan }, span: local.span });
  }

  private loadImported(info: ModuleInfo, decl: ImportDecl): ModuleInfo | undefined {
    const spec = decl.from;
    // A path the parser had to invent (`from` with no string) was reported as a syntax error.
    if (spec === "" && this.sources.get(info.file)?.text.slice(decl.fromSpan.start, decl.fromSpan.end) !== '""') return undefined;
    const target = this.locate(info, spec);
    if ("message" in target) {
      this.diagnostics.push(error("E2006", decl.fromSpan, target.message, { hint: target.hint }));
      return undefined;
    }
    const { id, abs } = target;
    if (this.loading.includes(id)) {
      const cycle = [...this.loading.slice(this.loading.indexOf(id)), id].map((m) => this.shortName(m));
      this.diagnostics.push(
        error("E2005", decl.fromSpan, `import cycle: ${cycle.join(" → ")}`, {
          hint: "move the shared items into a module that both can import",
        }),
      );
      return undefined;
    }
    const existing = this.modules.get(id);
    if (existing !== undefined) return existing;
    const text = this.host.readFile(abs);
    if (text === undefined) {
      const stdIds = spec.startsWith("std/") ? stdlibModuleIds(this.host) : [];
      const guess = closest(spec, stdIds);
      this.diagnostics.push(
        error("E2004", decl.fromSpan, `cannot find module "${spec}"`, {
          hint:
            guess !== undefined
              ? `did you mean "${guess}"?`
              : spec.startsWith("std/")
                ? `the stdlib has: ${stdIds.join(", ")}`
                : `looked for ${this.displayName(abs)}`,
        }),
      );
      return undefined;
    }
    return this.loadText(id, this.displayName(abs), text);
  }

  /**
   * The module id and file of an import, by the rule of module-path.ts: `std/…` inside the
   * stdlib folder, `./…`/`../…` beside the importing file (inside the stdlib for a stdlib module).
   */
  private locate(info: ModuleInfo, spec: string): { id: string; abs: string } | ModulePathError {
    const parsed = parseModulePath(spec);
    if (isModulePathError(parsed)) return parsed;
    const stdRoot = path.join(this.host.stdlibDir, "std");
    if (parsed.kind === "std") return { id: parsed.id, abs: path.join(this.host.stdlibDir, `${parsed.id}.est`) };
    const fromStd = info.id.startsWith("std/");
    const base = fromStd ? path.join(this.host.stdlibDir, info.id) : info.id;
    const abs = path.join(path.dirname(base), ...Array<string>(parsed.up).fill(".."), ...parsed.names) + ".est";
    if (!fromStd) return { id: abs, abs };
    const rel = path.relative(stdRoot, abs);
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
      return { message: `module path ${quote(spec)} leaves the stdlib`, hint: "a stdlib module imports only other stdlib modules" };
    }
    return { id: `std/${rel.split(path.sep).join("/").slice(0, -4)}`, abs };
  }

  private shortName(id: string): string {
    return id.startsWith("std/") ? id : this.displayName(id);
  }
}
