// Writes bench/torch-gpu-check.sh's pack (bench/lib/torch-pack.ts) into the folder given as the
// first argument: `node bench/torch-pack.mjs DIR [FILE.est ...]`. Run by `torch-gpu-check.sh
// --prepare`. The pack code is TypeScript shared with tests/torch, so it is loaded through Vite's
// SSR module loader (the one vitest uses) rather than compiled into bench/dist first.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [dir, ...files] = process.argv.slice(2);
if (dir === undefined) {
  console.error("usage: node bench/torch-pack.mjs DIR [FILE.est ...]");
  process.exit(2);
}
const server = await createServer({ root, configFile: false, logLevel: "error", appType: "custom", server: { middlewareMode: true, hmr: false, watch: null }, optimizeDeps: { noDiscovery: true, include: [] } });
try {
  const { writeTorchPack } = await server.ssrLoadModule("/bench/lib/torch-pack.ts");
  const r = await writeTorchPack(path.resolve(dir), files.length > 0 ? files : undefined);
  console.log(`torch-pack: ${r.cases} cases (${r.rejected} fns the drawn inputs do not fit), ${(r.bytes / 1048576).toFixed(1)} MiB in ${path.relative(process.cwd(), path.resolve(dir)) || "."}`);
} finally {
  await server.close();
}
