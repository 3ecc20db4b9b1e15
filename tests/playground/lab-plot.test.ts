/**
 * The lab's own controls in the built playground, in headless Chromium (tests/browser/chromium.ts):
 * the x range inputs move the plotted grid, a fn under the cursor plots its derivative (checked
 * against its formula), an unplottable item shows its reason over the greyed last plot, and the
 * training panel's CPU choice trains on the CPU back end with the loss falling. Builds into its own
 * folder so it can run beside tests/playground/playground.test.ts. Screenshots go to
 * tests/browser/screenshots/playground/lab-*.png.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium, startStaticServer, type StaticServer } from "../browser/chromium.js";

/** The page's globals as the page functions below use them (declared here: no DOM library in the tests). */
interface El {
  dataset: Record<string, string | undefined>;
  value: string;
  querySelector(selector: string): El | null;
  dispatchEvent(event: unknown): boolean;
}
declare const document: { getElementById(id: string): El | null };
declare const window: { playground: { view: { dispatch(transaction: unknown): void; focus(): void } } };
declare const Event: new (type: string) => unknown;

const root = join(import.meta.dirname, "..", "..");
const shots = join(root, "tests", "browser", "screenshots", "playground");
const chromium = findChromium();

const PROGRAM = [
  `import { ClippedSTE } from "std/binary"`,
  ``,
  `/// A smooth fn: its derivative is plotted.`,
  `fn soft(x: f32[N], k: f32 = 2.0) -> f32[N] {`,
  `  return tanh(k * x)`,
  `}`,
  ``,
  `const C = 3`,
  ``,
].join("\n");

describe.skipIf("missing" in chromium)(`the lab in headless Chromium${"missing" in chromium ? ` (skipped: ${chromium.missing})` : ""}`, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  let dist = "";

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), "estc-lab-dist-"));
    await promisify(execFile)(process.execPath, [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "-c", "playground/vite.config.ts", "--outDir", dist, "--emptyOutDir", "--logLevel", "error"], { cwd: root, timeout: 180_000 });
    mkdirSync(shots, { recursive: true });
    server = await startStaticServer({ mounts: { "/": dist } });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 860 });
    await page.goto(`${server.origin}/#t=${Buffer.from(PROGRAM, "utf8").toString("base64url")}`);
    await page.waitForFunction(() => Number(document.getElementById("status")!.dataset["compiles"] ?? 0) >= 1, { timeout: 60_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dist !== "") rmSync(dist, { recursive: true, force: true });
  });

  const plotData = () =>
    page.$eval("#plot", (e) => {
      const d = (e as unknown as El).dataset;
      return { state: d["state"], name: d["name"], xs: JSON.parse(d["xs"] ?? "[]") as number[], forward: JSON.parse(d["forward"] ?? "[]") as number[], backward: JSON.parse(d["backward"] ?? "[]") as number[] };
    });
  const cursorAt = (offset: number) =>
    page.evaluate((o) => {
      window.playground.view.dispatch({ selection: { anchor: o } });
      window.playground.view.focus();
    }, offset);
  const setRange = (lo: string, hi: string) =>
    page.evaluate(
      (l, h) => {
        for (const [role, v] of [["lo", l], ["hi", h]] as const) {
          const input = document.getElementById("plot")!.querySelector(`input[data-role="${role}"]`)!;
          input.value = v;
          input.dispatchEvent(new Event("change"));
        }
      },
      lo,
      hi,
    );

  it("plots a fn's derivative under the cursor, matching its formula", async () => {
    await cursorAt(PROGRAM.indexOf("tanh"));
    await page.waitForFunction(() => document.getElementById("plot")!.dataset["name"] === "soft", { timeout: 30_000 });
    const p = await plotData();
    expect(p.state).toBe("plot");
    p.xs.forEach((x, i) => {
      expect(p.forward[i]!).toBeCloseTo(Math.tanh(2 * x), 5);
      expect(p.backward[i]!).toBeCloseTo(2 * (1 - Math.tanh(2 * x) ** 2), 5);
    });
    await page.screenshot({ path: join(shots, "lab-01-fn.png") });
  });

  it("the x range inputs move the grid; a reversed range is refused and marked", async () => {
    await setRange("-0.5", "3");
    await page.waitForFunction(() => JSON.parse(document.getElementById("plot")!.dataset["xs"] ?? "[]")[0] === -0.5, { timeout: 30_000 });
    const p = await plotData();
    expect(p.xs[0]).toBe(-0.5);
    expect(p.xs[p.xs.length - 1]).toBe(3);
    expect(p.backward[p.xs.length - 1]!).toBeCloseTo(2 * (1 - Math.tanh(6) ** 2), 5);
    await setRange("2", "1");
    expect(await page.$eval("#plot .lab-plot-range", (e) => (e as unknown as { className: string }).className)).toContain("lab-plot-range-invalid");
    await setRange("-2", "2");
    await page.waitForFunction(() => JSON.parse(document.getElementById("plot")!.dataset["xs"] ?? "[]")[0] === -2, { timeout: 30_000 });
  });

  it("a const under the cursor shows the reason over the greyed last plot", async () => {
    await cursorAt(PROGRAM.indexOf("const C") + 2);
    await page.waitForFunction(() => document.getElementById("plot")!.dataset["state"] === "reason", { timeout: 30_000 });
    const text = await page.$eval("#plot .lab-plot-reason", (e) => (e as unknown as { textContent: string }).textContent);
    expect(text).toBe("'C' is a const: put the cursor on an estimator or a fn to plot it");
    await page.screenshot({ path: join(shots, "lab-02-reason.png") });
  });

  it("trains on the CPU when the panel's device is CPU, and the loss falls", async () => {
    await page.select('#training select[data-role="device"]', "cpu");
    await page.click('#training button[data-action="start"]');
    await page.waitForFunction(() => JSON.parse(document.getElementById("training")!.dataset["losses"] ?? "[]").length >= 12, { timeout: 240_000 });
    await page.click('#training button[data-action="stop"]');
    await page.waitForFunction(() => ["stopped", "done"].includes(document.getElementById("training")!.dataset["state"] ?? ""), { timeout: 60_000 });
    const t = await page.$eval("#training", (e) => {
      const d = (e as unknown as El).dataset;
      return { losses: JSON.parse(d["losses"] ?? "[]") as number[], device: d["device"], source: d["source"] };
    });
    expect(t.device).toBe("cpu");
    // The editor's program has no loss fn: the bundled quickstart trains.
    expect(t.source).toBe("quickstart");
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(t.losses.slice(-4))).toBeLessThan(0.8 * mean(t.losses.slice(0, 4)));
    await page.screenshot({ path: join(shots, "lab-03-train-cpu.png") });
  }, 300_000);
});
