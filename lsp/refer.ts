/**
 * What a name under the cursor refers to: an item (in this module, imported, or in `std/`), a
 * local binding with its checked type, a primitive, one of an estimator body's built-ins (`g`,
 * `out`, `cost`), or a module. Hover and go-to-definition both start here.
 */
import * as path from "node:path";
import type * as A from "../grammar/ast.js";
import { primitives, type Primitive } from "../compiler/primitives.js";
import type { ItemSymbol, ModuleInfo } from "../compiler/resolve.js";
import { modulePath, type Analysis, type LocalName } from "./analysis.js";
import type { Target } from "./locate.js";

/** The thing a target names. */
export type Referent =
  | { kind: "item"; symbol: ItemSymbol; via?: string }
  | { kind: "local"; local: LocalName }
  | { kind: "primitive"; name: string; overloads: readonly Primitive[] }
  | { kind: "builtin"; name: string; estimator: A.EstimatorDecl }
  | { kind: "module"; module: ModuleInfo };

/** What `target`, found in module `m`, refers to; undefined for an unknown name. */
export function referent(a: Analysis, m: ModuleInfo, target: Target): Referent | undefined {
  switch (target.kind) {
    case "item":
      return symbolIn(m, target.item.name.name);
    case "param":
    case "let":
    case "input":
      return localAt(a, target.span);
    case "grad":
      return localNamed(a, target.item, target.name.name);
    case "dim":
      return localNamed(a, target.item, target.name) ?? symbolIn(m, target.name);
    case "name":
      return localNamed(a, target.item, target.name) ?? symbolIn(m, target.name) ?? builtin(target.item, target.name);
    case "callee":
      return symbolIn(m, target.call.callee.name) ?? primitive(target.call.callee.name);
    case "estimatorRef":
      return symbolIn(m, target.name);
    case "target":
      return symbolIn(m, target.item.target.name) ?? primitive(target.item.target.name);
    case "importName":
      return symbolIn(m, (target.name.alias ?? target.name.name).name);
    case "importPath":
      return importedModule(a, m, target.decl);
  }
}

function symbolIn(m: ModuleInfo, name: string): Referent | undefined {
  const entry = m.scope.get(name);
  if (entry === undefined) return undefined;
  return entry.via === undefined ? { kind: "item", symbol: entry.symbol } : { kind: "item", symbol: entry.symbol, via: entry.via.from };
}

function localAt(a: Analysis, span: A.Span): Referent | undefined {
  const local = a.locals.find((l) => l.binding.span.file === span.file && l.binding.span.start === span.start);
  return local === undefined ? undefined : { kind: "local", local };
}

/** The binding of `name` inside `item` (names are unique in a body: shadowing is an error). */
function localNamed(a: Analysis, item: A.Item, name: string): Referent | undefined {
  const s = item.span;
  const local = a.locals.find((l) => l.name === name && l.binding.span.file === s.file && l.binding.span.start >= s.start && l.binding.span.end <= s.end);
  return local === undefined ? undefined : { kind: "local", local };
}

function primitive(name: string): Referent | undefined {
  const overloads = primitives.get(name);
  return overloads === undefined ? undefined : { kind: "primitive", name, overloads };
}

function builtin(item: A.Item, name: string): Referent | undefined {
  if (item.kind !== "Estimator") return undefined;
  const out = item.outName?.name ?? "out";
  return name === "g" || name === "cost" || name === out ? { kind: "builtin", name, estimator: item } : undefined;
}

function importedModule(a: Analysis, m: ModuleInfo, decl: A.ImportDecl): Referent | undefined {
  const spec = decl.from.replace(/\.est$/, "");
  let id = spec;
  if (!spec.startsWith("std/")) {
    const base = modulePath(m, a.host);
    const abs = path.resolve(path.dirname(base), `${spec}.est`);
    id = m.id.startsWith("std/") ? `std/${path.relative(path.join(a.host.stdlibDir, "std"), abs).replace(/\.est$/, "")}` : abs;
  }
  const module = a.modules.get(id);
  return module === undefined ? undefined : { kind: "module", module };
}
