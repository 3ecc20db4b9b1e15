/**
 * The static import graph of built ES modules (dist/), read from their text: what a browser or a
 * bundler must resolve when it loads an entry. Static `import`/`export ... from` edges are followed;
 * `import("literal")` edges are recorded but not followed (a bundler splits them into chunks that
 * load only when called); `import(variable)` is invisible to both, which is how the runtime keeps
 * Node's modules out of a browser's way.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** What {@link importGraph} found. */
export interface ImportGraph {
  /** Files reached by static imports, the entry first. */
  files: string[];
  /** Non-relative specifiers (`node:fs`, `webgpu`) statically imported anywhere in the graph, as `file: specifier`. */
  bare: string[];
  /** `import("...")` with a literal specifier, in files of the graph. */
  dynamic: { file: string; specifier: string }[];
}

const STATIC = /^\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s*)?["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*(?:\/\*[^*]*\*\/\s*)?["']([^"']+)["']\s*\)/g;

/** Follows the static imports from `entry` (a .js file). */
export function importGraph(entry: string): ImportGraph {
  const seen = new Set<string>();
  const graph: ImportGraph = { files: [], bare: [], dynamic: [] };
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    graph.files.push(file);
    // Comments may quote import lines (doc examples): drop them before matching.
    const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const m of text.matchAll(STATIC)) {
      const spec = m[1]!;
      if (spec.startsWith("./") || spec.startsWith("../")) visit(path.resolve(path.dirname(file), spec));
      else graph.bare.push(`${path.basename(file)}: ${spec}`);
    }
    for (const m of text.matchAll(DYNAMIC)) graph.dynamic.push({ file, specifier: m[1]! });
  };
  visit(path.resolve(entry));
  return graph;
}
