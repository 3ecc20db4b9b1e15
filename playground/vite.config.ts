/**
 * Builds the playground into playground/dist: one static folder (index.html, the page's and the
 * compiler worker's bundles, the stdlib as text inside them), no CDN, so it works offline once
 * loaded. The compiler's few Node imports are aliased to browser shims (src/shims/): a POSIX
 * `path` for the in-memory host, and stand-ins for the file system the page never touches.
 */
import { fileURLToPath } from "node:url";
import { defineConfig, type Alias } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const noFs = here("./src/shims/no-fs.ts");

const aliases: Alias[] = [
  { find: /^node:path$/, replacement: here("./src/shims/path.ts") },
  { find: /^node:(fs|url|module|worker_threads)$/, replacement: noFs },
  // grammar/chevrotain.ts finds chevrotain's single-file build on disk; the bundle imports the package.
  { find: /^(\.\.?\/)+(grammar\/)?chevrotain\.js$/, replacement: here("./src/shims/chevrotain.ts") },
];

// Both notices are expected here: codegen/ts/module.ts is imported statically by the training module
// and dynamically by build.ts (both in the worker), and the timing report is rolldown's own.
const checks = { ineffectiveDynamicImport: false, pluginTimings: false };

export default defineConfig({
  root: here("."),
  base: "./",
  resolve: { alias: aliases },
  worker: { format: "es", rolldownOptions: { checks } },
  build: {
    outDir: here("./dist"),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
    // runtime/webgpu/device.ts imports the `webgpu` package (Dawn for Node) only where there is no
    // navigator.gpu and the process is Node; a page never reaches it, so it is not bundled.
    rolldownOptions: { checks, external: ["webgpu"] },
  },
});
