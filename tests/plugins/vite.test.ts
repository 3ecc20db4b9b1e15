/**
 * `estc/vite` (plugins/vite.ts) in a real Vite: a small app (index.html + main.ts importing a
 * `.est` that imports another) built with `vite build`, then the bundle run in Node computes
 * what the .est says; the WGSL is a chunk of its own that the entry chunk does not contain; a
 * `.est` error fails the build with the diagnostic at file:line:col; and in a dev server a change
 * to the imported `.est` invalidates the module that imports it, whose next transform has the new
 * formula.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { build, createServer, type InlineConfig } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import estc from "../../plugins/vite.js";

const root = path.resolve(import.meta.dirname, "..", "..");
let dir: string;

/** A fresh app folder with estc installed (a link to this checkout), its index.html and main.ts. */
function app(name: string, files: Record<string, string>): string {
  const at = path.join(dir, name);
  fs.mkdirSync(path.join(at, "node_modules"), { recursive: true });
  fs.symlinkSync(root, path.join(at, "node_modules", "estc"), "dir");
  fs.writeFileSync(path.join(at, "index.html"), '<!doctype html><script type="module" src="/main.ts"></script>\n');
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(at, f), text);
  return at;
}

// No modulepreload polyfill: it reads `document`, and the test runs the bundle in Node.
const config = (at: string): InlineConfig => ({ root: at, logLevel: "silent", configFile: false, plugins: [estc()], build: { outDir: "dist", minify: false, modulePreload: false } });

const layer = (k: number) => `/// y = ${k} * x + 1\nfn scale(x: f32[N]) -> f32[N] { return ${k} * x + 1 }\n`;
const model = 'import { scale } from "./layer"\n\nfn f(x: f32[N]) -> f32[N] { return scale(x) }\n\nfn loss(x: f32[N]) -> f32 { return sum(scale(x)) }\n';
const main = `import { tensor } from "estc/runtime";
import { f, loss } from "./model.est";
const x = tensor(new Float32Array([1, 2, 3]), [3]);
const y = await (await f.forward({ x })).data();
const { value, grads } = await loss.valueAndGrad({ x });
console.log(JSON.stringify({ y: Array.from(y), loss: (await value.data())[0], dx: Array.from(await grads.x.data()) }));
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-vite-"));
});
afterAll(() => (process.env["ESTC_KEEP"] ? undefined : fs.rmSync(dir, { recursive: true, force: true })));

describe("estc/vite", () => {
  it("vite build bundles an app importing a .est; the bundle runs in Node; the WGSL is a chunk of its own", async () => {
    const at = app("ok", { "model.est": model, "layer.est": layer(2), "main.ts": main });
    await build(config(at));
    const assets = path.join(at, "dist/assets");
    const chunks = fs.readdirSync(assets).filter((f) => f.endsWith(".js"));
    const entry = chunks.find((f) => fs.readFileSync(path.join(assets, f), "utf8").includes("valueAndGrad"))!;
    expect(entry).toBeDefined();
    const entryText = fs.readFileSync(path.join(assets, entry), "utf8");
    expect(entryText).toContain("defineFunction");
    expect(entryText).not.toMatch(/@compute|var<storage/);
    // The generated shaders (the consts named for their kernels, f$k0…) sit in one chunk, not the entry.
    const wgslChunks = chunks.filter((f) => /f\$k0 = `struct Uniforms/.test(fs.readFileSync(path.join(assets, f), "utf8")));
    expect(wgslChunks.length).toBe(1);
    expect(wgslChunks[0]).not.toBe(entry);
    // 2x + 1 on [1, 2, 3]; loss = sum = 3 + 5 + 7; d loss / dx = 2 for each.
    const out = JSON.parse(execFileSync(process.execPath, [path.join(assets, entry)], { cwd: at, encoding: "utf8" }));
    expect(out).toEqual({ y: [3, 5, 7], loss: 15, dx: [2, 2, 2] });
  });

  it("a .est error fails vite build with the diagnostic at the imported file's line and column", async () => {
    const broken = "fn scale(x: f32[N]) -> f32[N] { return 2 * y }\n";
    const at = app("broken", { "model.est": model, "layer.est": broken, "main.ts": main });
    const error = await build(config(at)).then(
      () => undefined,
      (e: Error & { loc?: { file: string; line: number; column: number } }) => e,
    );
    expect(error).toBeDefined();
    expect(error!.message).toContain(`layer.est:1:${broken.indexOf("y }") + 1}: error[E2002]: unknown`);
    expect(error!.message).toContain("   1 | fn scale(x: f32[N]) -> f32[N] { return 2 * y }");
    // Rolldown's location line: the file and line, the 0-based column.
    expect(error!.message).toContain(`${path.join(at, "layer.est")}:1:${broken.indexOf("y }")}`);
  });

  it("dev server: the imported .est is a watch dependency; changing it invalidates the importer, whose next transform computes the new formula", async () => {
    const at = app("dev", { "model.est": model, "layer.est": layer(2), "main.ts": main });
    const server = await createServer({ ...config(at), server: { middlewareMode: true, hmr: false, watch: null } });
    try {
      const first = await server.transformRequest("/model.est");
      expect(first?.code).toContain("2 * b0[i]");
      const [mod] = [...(server.moduleGraph.getModulesByFile(path.join(at, "model.est")) ?? [])];
      expect(mod).toBeDefined();
      fs.writeFileSync(path.join(at, "layer.est"), layer(5));
      // What Vite's file watcher calls on a change, with the modules of the changed file (none: layer.est is not a module).
      const plugin = server.config.plugins.find((p) => p.name === "estc")!;
      const hook = plugin.handleHotUpdate as (ctx: unknown) => unknown;
      const updated = (await hook.call({}, { file: path.join(at, "layer.est"), server, modules: [], timestamp: Date.now(), read: async () => "" })) as unknown[];
      expect(updated).toContain(mod);
      expect(mod!.transformResult).toBeNull();
      const second = await server.transformRequest("/model.est");
      expect(second?.code).toContain("5 * b0[i]");
      expect(second?.code).not.toContain("2 * b0[i]");
    } finally {
      await server.close();
    }
  });
});
