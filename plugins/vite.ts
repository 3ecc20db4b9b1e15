/**
 * `estc/vite`: a Vite plugin so an app imports `.est` files directly —
 * `import { loss } from "./model.est"` — compiled through the compiler API on load:
 *
 * - the module is the JavaScript `estc build --emit js` writes; its WGSL sibling is a virtual
 *   module the bundler splits into a chunk of its own, fetched on a fn's first WebGPU call;
 * - diagnostics become Vite errors with file:line:col (the overlay in dev, a failed `vite build`);
 * - every file the build read (the `.est` imports, the stdlib modules) is a watch dependency, and
 *   a change to one invalidates the `.est` modules that read it, so HMR reloads them.
 *
 * Vite is used for types only: the plugin object is plain data and the hooks plain functions.
 */
import * as path from "node:path";
import type { ModuleNode, Plugin } from "vite";
import { differentiateFile } from "../compiler/build.js";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { renderDiagnostics } from "../compiler/render.js";
import type { SourceMap } from "../compiler/source.js";

/** Options of the plugin. */
export interface EstcPluginOptions {
  /** Fuse elementwise work into matrix products (default true), as `estc build --fuse-matmul`. */
  fuseMatMuls?: boolean;
}

/** The id prefix of a `.est` module's WGSL sibling (`\0` keeps other plugins off virtual ids). */
const WGSL_ID = "\0estc-wgsl:";

/** `file` without Vite's query (`?import`, `?t=…`). */
const clean = (id: string) => id.replace(/[?#].*$/, "");

/** Returns the plugin: `plugins: [estc()]` in vite.config. */
export default function estc(options: EstcPluginOptions = {}): Plugin {
  /** WGSL sibling text by `.est` file, from its last compile. */
  const wgsl = new Map<string, string>();
  /** The files each `.est` module's last compile read (itself, its imports, the stdlib). */
  const reads = new Map<string, Set<string>>();

  const compile = async (file: string): Promise<{ js: string; wgslJs: string; files: string[] } | { error: { message: string; loc?: { file: string; line: number; column: number } }; files: string[] }> => {
    const d = differentiateFile(file);
    const files = [file, ...d.sources.paths().map((f) => path.resolve(f))];
    const errors = d.diagnostics.filter((x) => x.severity === "error");
    if (errors.length > 0) return { error: viteError(errors, d.sources), files };
    if (d.fns.length === 0) return { error: { message: `${file} has no fn to build (estc compiles each fn of a .est file into an export)` }, files };
    const { generateModule } = await import("../compiler/codegen/ts/module.js");
    const name = path.basename(file).replace(/\.est$/, "");
    const mod = await generateModule(d.file, d.fns, d.sources, true, options.fuseMatMuls ?? true, name);
    return { js: mod.js!, wgslJs: mod.wgslJs!, files };
  };

  return {
    name: "estc",
    enforce: "pre",

    resolveId(id, importer) {
      // The generated module's `import("./NAME.wgsl.js")`: its sibling, kept in memory.
      if (importer === undefined || !clean(importer).endsWith(".est")) return null;
      const est = clean(importer);
      if (id === `./${path.basename(est).replace(/\.est$/, "")}.wgsl.js`) return WGSL_ID + est;
      return null;
    },

    async load(id) {
      if (id.startsWith(WGSL_ID)) {
        const est = id.slice(WGSL_ID.length);
        if (!wgsl.has(est)) {
          const r = await compile(est);
          if ("error" in r) this.error(r.error);
          else wgsl.set(est, r.wgslJs);
        }
        return { code: wgsl.get(est)!, map: null };
      }
      const file = clean(id);
      if (!file.endsWith(".est") || id.startsWith("\0")) return null;
      const r = await compile(file);
      reads.set(file, new Set(r.files));
      for (const f of r.files) if (f !== file) this.addWatchFile(f);
      if ("error" in r) return this.error(r.error);
      wgsl.set(file, r.wgslJs);
      return { code: r.js, map: null };
    },

    handleHotUpdate({ file, server, modules }) {
      // A changed import or stdlib file: every .est module that read it is stale.
      const changed = path.resolve(file);
      const stale: ModuleNode[] = [...modules];
      for (const [est, files] of reads) {
        if (est === changed || !files.has(changed)) continue;
        for (const m of server.moduleGraph.getModulesByFile(est) ?? []) {
          server.moduleGraph.invalidateModule(m);
          stale.push(m);
        }
        wgsl.delete(est);
      }
      return stale;
    },
  };
}

export { estc };

/** A Vite error for a build's diagnostics: all of them in the message, the first one's location (Rollup's column is 0-based). */
function viteError(errors: Diagnostic[], sources: SourceMap): { message: string; loc?: { file: string; line: number; column: number } } {
  const first = errors[0]!;
  const at = sources.get(first.span.file)?.position(first.span.start);
  const message = `${renderDiagnostics(errors, sources)}\n\n${errors.length} error${errors.length === 1 ? "" : "s"} in ${first.span.file}`;
  return at === undefined ? { message } : { message, loc: { file: path.resolve(first.span.file), line: at.line, column: at.col - 1 } };
}
