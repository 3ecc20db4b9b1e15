/**
 * The launcher itself (./chromium.ts): Chromium starts headless with a WebGPU adapter, the static
 * server serves what it is given and nothing outside it, and page errors are collected. Skips,
 * saying why, where there is no Chromium.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectPageErrors, findChromium, importMapPage, launchChromium, startStaticServer, type StaticServer } from "./chromium.js";

/** What the page's own scripts see (the project type-checks without the DOM lib). */
type PageGlobals = { result?: number; navigator: { gpu?: GPU } };

const chromium = findChromium();
const skip = "missing" in chromium ? chromium.missing : undefined;
if (skip !== undefined) console.warn(`tests/browser skipped: ${skip}`);

describe.skipIf(skip !== undefined)("tests/browser/chromium.ts", () => {
  let browser: Browser;
  let server: StaticServer;
  const dir = mkdtempSync(join(tmpdir(), "estc-chromium-"));

  beforeAll(async () => {
    writeFileSync(join(dir, "twice.js"), "export const twice = (x) => 2 * x;\n");
    writeFileSync(join(tmpdir(), "estc-outside.txt"), "secret\n");
    server = await startStaticServer({
      mounts: { "/lib/": dir },
      pages: {
        "/index.html": importMapPage({ twice: "/lib/twice.js" }, 'import { twice } from "twice"; window.result = twice(21);'),
        "/broken.html": importMapPage({}, 'console.error("on purpose"); import("/lib/absent.js"); throw new Error("thrown on purpose");'),
      },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads an ES module through an import map and has a WebGPU adapter (SwiftShader without a GPU)", async () => {
    const page = await browser.newPage();
    const watch = collectPageErrors(page);
    await page.goto(`${server.origin}/index.html`);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).result !== undefined);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).result)).toBe(42);
    const adapter = await page.evaluate(async () => {
      const a = await (globalThis as unknown as PageGlobals).navigator.gpu?.requestAdapter();
      return a ? { storage: a.limits.maxStorageBuffersPerShaderStage } : null;
    });
    expect(adapter, "navigator.gpu.requestAdapter() with --enable-unsafe-webgpu").not.toBeNull();
    expect(adapter!.storage).toBeGreaterThanOrEqual(8);
    expect(watch.errors).toEqual([]);
    await page.close();
  });

  it("collects console errors, uncaught exceptions and 404s", async () => {
    const page = await browser.newPage();
    const watch = collectPageErrors(page);
    await page.goto(`${server.origin}/broken.html`);
    await page.waitForNetworkIdle({ idleTime: 100 });
    watch.stop();
    expect(watch.errors.some((e) => e.startsWith("console.error: on purpose"))).toBe(true);
    expect(watch.errors.some((e) => e.startsWith("pageerror:") && e.includes("thrown on purpose"))).toBe(true);
    expect(watch.errors.some((e) => e.startsWith("http 404:") && e.endsWith("/lib/absent.js"))).toBe(true);
    expect(server.notFound).toContain("/lib/absent.js");
    await page.close();
  });

  it("refuses paths outside its mounts", async () => {
    const climb = await fetch(`${server.origin}/lib/..%2Festc-outside.txt`);
    expect(climb.status).toBe(404);
    const unmounted = await fetch(`${server.origin}/etc/passwd`);
    expect(unmounted.status).toBe(404);
    const ok = await fetch(`${server.origin}/lib/twice.js`);
    expect(ok.headers.get("content-type")).toMatch(/^text\/javascript/);
  });
});
