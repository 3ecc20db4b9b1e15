/**
 * A bundler builds the runtime for a browser without resolving anything of Node's: `vite build`
 * of a page importing `estc/runtime` and a generated module reports no module externalized "for
 * browser compatibility", its chunks import no `node:` module nor the `webgpu` package, Dawn's
 * search is a chunk of its own that the entry never loads statically, and the bundle, loaded in
 * Chromium (where installed), computes the same forward on cpu() and webgpu() as Node's cpu().
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser } from "puppeteer-core";
import { build, createLogger } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpu, tensor, type Tensor } from "estc/runtime";
import { buildModule, tmpRoot } from "../helpers/build.js";
import { ensureDist } from "../helpers/dist.js";
import { collectPageErrors, findChromium, launchChromium, startStaticServer } from "./chromium.js";

const SRC = `import { ReSTE } from "std/binary"
fn f(x: f32[N], w: f32[N], o: f32 = 2.0) -> f32 { return sum((sign x backward ReSTE(o = o)) * tanh(w)) }`;
const X = [0.5, -0.25, 0, 1.5, -2];
const W = [0.1, 0.2, -0.3, 0.4, 0.5];

const app = path.join(tmpRoot, "bundle-app");
const warnings: string[] = [];
let chunks: { file: string; text: string }[];
let entry: string;

beforeAll(async () => {
  ensureDist();
  const { file } = await buildModule(SRC);
  fs.rmSync(app, { recursive: true, force: true });
  fs.mkdirSync(app, { recursive: true });
  // The module imports its WGSL sibling by its own name: copied together, names kept.
  fs.copyFileSync(file, path.join(app, "main.js"));
  fs.copyFileSync(file.replace(/\.js$/, ".wgsl.js"), path.join(app, "main.wgsl.js"));
  fs.writeFileSync(path.join(app, "index.html"), '<!doctype html><html><head><script type="module" src="./app.js"></script></head><body></body></html>\n');
  fs.writeFileSync(
    path.join(app, "app.js"),
    `import { cpu, tensor, webgpu } from "estc/runtime";
import { f } from "./main.js";
const x = tensor(new Float32Array(${JSON.stringify(X)}), [${X.length}]);
const w = tensor(new Float32Array(${JSON.stringify(W)}), [${W.length}]);
async function run(device) {
  const r = await f.valueAndGrad({ x, w }, { o: 3, device });
  return { value: Array.from(await r.value.data()), dx: Array.from(await r.grads.x.data()), dw: Array.from(await r.grads.w.data()) };
}
globalThis.bundleResult = (async () => ({ cpu: await run(cpu()), webgpu: await run(await webgpu()) }))();
`,
  );
  const logger = createLogger("warn", { allowClearScreen: false });
  logger.warn = (msg) => void warnings.push(msg);
  logger.warnOnce = (msg) => void warnings.push(msg);
  const out = await build({ root: app, configFile: false, customLogger: logger, build: { outDir: "dist", minify: false, modulePreload: false }, logLevel: "warn" });
  const outputs = (Array.isArray(out) ? out : [out]) as { output: { type: string; fileName: string; code?: string; isEntry?: boolean }[] }[];
  chunks = outputs.flatMap((o) => o.output.filter((c) => c.type === "chunk").map((c) => ({ file: c.fileName, text: c.code! })));
  entry = outputs.flatMap((o) => o.output).find((c) => c.isEntry === true)!.fileName;
}, 120_000);

describe("vite build of a page using estc/runtime", () => {
  it("resolves nothing of Node's", () => {
    expect(warnings.filter((w) => /externalized|node:|worker_threads/.test(w))).toEqual([]);
    for (const c of chunks) {
      // Code only: doc comments kept in the bundle may quote such imports.
      const code = c.text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      expect(code, c.file).not.toMatch(/\bfrom\s*["'](node:|webgpu["'])/);
      expect(code, c.file).not.toMatch(/(?<!["'])\bimport\(\s*["'](node:|webgpu["'])/); // not the "import('webgpu')" of a message
      expect(code, c.file).not.toContain("__vite-browser-external");
    }
  });

  it("puts Dawn's search in a chunk of its own and the WGSL in another, both imported dynamically", () => {
    const dawn = chunks.filter((c) => c.text.includes("backend=opengles"));
    expect(dawn.length).toBe(1);
    expect(dawn[0]!.file).not.toBe(entry);
    const main = chunks.find((c) => c.file === entry)!;
    expect(main.text).not.toContain("backend=opengles");
    const wgsl = chunks.filter((c) => /main\.wgsl/.test(c.file));
    expect(wgsl.length).toBe(1);
    // Both reached by import() only: loaded on a fn's first WebGPU call, and in Node.
    for (const c of [dawn[0]!, wgsl[0]!]) {
      const name = path.basename(c.file);
      expect(main.text).toMatch(new RegExp(`import\\(["']\\./${name.replace(/[.$-]/g, "\\$&")}["']\\)`));
      expect(main.text).not.toMatch(new RegExp(`from ["']\\./${name.replace(/[.$-]/g, "\\$&")}["']`));
    }
  });
});

const chromium = findChromium();
describe.skipIf("missing" in chromium)("the bundle in Chromium", () => {
  let browser: Browser;
  afterAll(() => browser?.close());

  it("computes valueAndGrad on cpu() and webgpu() as Node's cpu() does", async () => {
    const { mod } = await buildModule(SRC);
    const x = tensor(Float32Array.from(X), [X.length]);
    const w = tensor(Float32Array.from(W), [W.length]);
    const want = await mod.f.valueAndGrad({ x, w }, { o: 3, device: cpu() });
    const read = async (t: Tensor) => Array.from(await t.data());
    const [value, dx, dw] = [await read(want.value), await read(want.grads.x), await read(want.grads.w)];
    const server = await startStaticServer({ mounts: { "/": path.join(app, "dist") } });
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${server.origin}/index.html`);
      await page.waitForFunction(() => (globalThis as { bundleResult?: unknown }).bundleResult !== undefined);
      const got = await page.evaluate(() => (globalThis as unknown as { bundleResult: Promise<Record<string, Record<string, number[]>>> }).bundleResult);
      expect(got["cpu"]).toEqual({ value, dx, dw });
      for (const [k, v] of Object.entries({ value, dx, dw })) {
        got["webgpu"]![k]!.forEach((g, i) => expect(Math.abs(g - v[i]!), `webgpu ${k}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.abs(v[i]!) + 1e-6));
      }
      expect(errors.errors).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
