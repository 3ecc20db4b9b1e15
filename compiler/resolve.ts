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
  /** The folder holding `std/*.est`. */
  stdlibDir: string;
  /** Diagnostics name files relative to this folder. */
  cwd: string;
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

/** Reads from the real file system. */
export function nodeHost(cwd = process.cwd()): CompilerHost {
  return {
    readFile: (p) => {
      try {
        return fs.statSync(p).isFile() ? fs.readFileSync(p, "utf8") : undefined;
      } catch {
        return undefined;
      }
    },
    stdlibDir: defaultStdlibDir(),
    cwd,
  };
}

/** Lists the stdlib module ids (`std/binary`, …) for suggestions. */
export function stdlibModuleIds(host: CompilerHost): string[] {
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
  loadStd(id: string): ModuleInfo | undefined {
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
    if (spec === "") return undefined;
    let id: string;
    let abs: string;
    if (spec.startsWith("std/")) {
      id = spec.replace(/\.est$/, "");
      abs = path.join(this.host.stdlibDir, `${id}.est`);
    } else if (spec.startsWith("./") || spec.startsWith("../")) {
      const base = info.id.startsWith("std/") ? path.join(this.host.stdlibDir, info.id) : info.id;
      abs = path.resolve(path.dirname(base), spec.endsWith(".est") ? spec : `${spec}.est`);
      id = info.id.startsWith("std/") ? `std/${path.relative(path.join(this.host.stdlibDir, "std"), abs).replace(/\.est$/, "")}` : abs;
    } else {
      this.diagnostics.push(
        error("E2006", decl.fromSpan, `module path "${spec}" must start with "std/", "./" or "../"`, {
          hint: path.isAbsolute(spec)
            ? "module paths are relative to the importing file: write \"./…\" or \"../…\""
            : `for a file beside this one write "./${spec}"`,
        }),
      );
      return undefined;
    }
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

  private shortName(id: string): string {
    return id.startsWith("std/") ? id : this.displayName(id);
  }
}
