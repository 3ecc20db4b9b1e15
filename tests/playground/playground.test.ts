/**
 * The playground in a real browser: builds it with vite (once per run), serves playground/dist,
 * and drives headless Chromium (tests/browser/chromium.ts) through what a user does — type a
 * typo and read its diagnostic, fix it and watch the plot change, drag a slider, train a few
 * epochs, share the URL, read the generated code and the stdlib. Each state is saved as a PNG
 * under tests/browser/screenshots/playground/ (git-ignored) for whoever changes the page to look at.
 *
 * Expected numbers come from outside the page: ReSTE's backward from its formula in the paper
 * (std/binary.est), the diagnostic's line and column from the program text, the program after the
 * round trip from the text typed.
 */
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectPageErrors, findChromium, launchChromium, startStaticServer, type PageErrors, type StaticServer } from "../browser/chromium.js";

/**
 * The page's globals as far as the page functions below use them (they run in Chromium, not
 * here): declared in this module so the tests type-check without the DOM library.
 */
interface El {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  innerText: string;
  value: string;
  contains(other: El | null): boolean;
  querySelector(selector: string): El | null;
}
declare const document: {
  getElementById(id: string): El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El> & { length: number };
};
declare const window: { playground: { view: { state: { doc: { toString(): string } }; dispatch(transaction: unknown): void; focus(): void } } };
declare const location: { hash: string };

const root = join(import.meta.dirname, "..", "..");
const dist = join(root, "playground", "dist");
const shots = join(root, "tests", "browser", "screenshots", "playground");
const chromium = findChromium();

/** The program the tests start from: one fn with the plain STE at line 5, to be changed to ReSTE. */
const PROGRAM = [
  `import { STE, ReSTE } from "std/binary"`,
  ``,
  `/// A binary activation whose backward we swap.`,
  `fn act(x: f32[N], o: f32 = 3.0) -> f32[N] {`,
  `  return sign(x) backward STE`,
  `}`,
  ``,
].join("\n");

/** ReSTE's backward with g = 1 (Wu et al. 2023; std/binary.est): the independent expectation. */
function resteBackward(x: number, o: number, t = 1.5, m = 0.1): number {
  const a = Math.abs(x);
  if (a > t) return 0;
  return a <= m ? m ** ((1 - o) / o) : (1 / o) * a ** ((1 - o) / o);
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

describe.skipIf("missing" in chromium)(`the playground in headless Chromium${"missing" in chromium ? ` (skipped: ${chromium.missing})` : ""}`, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  let errors: PageErrors;
  let buildMs = 0;

  beforeAll(async () => {
    const start = performance.now();
    await promisify(execFile)(process.execPath, [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "-c", "playground/vite.config.ts", "--logLevel", "error"], { cwd: root, timeout: 180_000 });
    buildMs = performance.now() - start;
    mkdirSync(shots, { recursive: true });
    server = await startStaticServer({ mounts: { "/": dist } });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 860 });
    errors = collectPageErrors(page);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
  const compiles = () => page.$eval("#status", (e) => Number((e as unknown as El).dataset.compiles ?? 0));
  /** Waits for a compile after the current one (of the editor's text as it is now) to be shown. */
  const nextCompile = async (after: number) => page.waitForFunction((n) => Number(document.getElementById("status")!.dataset.compiles ?? 0) > n, { timeout: 30_000 }, after);
  const plotData = () =>
    page.$eval("#plot", (e) => {
      const d = (e as unknown as El).dataset;
      return { state: d.state, name: d.name, xs: JSON.parse(d.xs ?? "[]") as number[], backward: JSON.parse(d.backward ?? "[]") as number[], forward: JSON.parse(d.forward ?? "[]") as number[], scalars: JSON.parse(d.scalars ?? "{}") as Record<string, number> };
    });
  const at = (p: { xs: number[] }, x: number) => p.xs.findIndex((v) => Math.abs(v - x) < 1e-9);
  /** Puts the cursor at `offset` in the editor (then keystrokes go there). */
  const cursorAt = (offset: number) =>
    page.evaluate((o) => {
      const view = window.playground.view;
      view.dispatch({ selection: { anchor: o } });
      view.focus();
    }, offset);

  it("opens a program from the URL, checks it and plots the estimator under the cursor", async () => {
    await page.goto(`${server.origin}/#t=${base64url(PROGRAM)}`);
    await page.waitForFunction(() => Number(document.getElementById("status")!.dataset.compiles ?? 0) >= 1, { timeout: 60_000 });
    expect(await page.$eval("#status", (e) => (e as unknown as El).dataset.state)).toBe("ok");
    expect(await page.$eval("#problems", (e) => (e as unknown as El).dataset.count)).toBe("0");
    // Once loaded it needs no network: everything below runs offline (a fetch would fail and be collected).
    await page.waitForNetworkIdle({ idleTime: 300, timeout: 30_000 });
    await page.setOfflineMode(true);
    // The cursor on STE (line 5) plots the plain STE: sign forward, backward 1 everywhere.
    await cursorAt(PROGRAM.indexOf("STE\n"));
    await page.waitForFunction(() => document.getElementById("plot")!.dataset.name === "STE", { timeout: 30_000 });
    const p = await plotData();
    expect(p.state).toBe("plot");
    expect(p.backward.every((v) => v === 1)).toBe(true);
    expect(p.forward[at(p, -1)]).toBe(-1);
    expect(p.forward[at(p, 1)]).toBe(1);
    await shot("01-editor");
  });

  let typoCompile = 0;
  it("shows a typo's diagnostic at its line and column, with its code and hint", async () => {
    // Type over STE: "ReSET", a typo of ReSTE.
    const from = PROGRAM.indexOf("STE\n");
    await page.evaluate((f) => {
      const view = window.playground.view;
      view.dispatch({ selection: { anchor: f, head: f + 3 } });
      view.focus();
    }, from);
    const before = await compiles();
    await page.keyboard.type("ReSET");
    await nextCompile(before);
    await page.waitForFunction(() => document.querySelector("#problems li.problem") !== null, { timeout: 30_000 });
    typoCompile = await compiles();
    const problems = await page.$$eval("#problems li.problem", (lis) => lis.map((li) => ({ ...(li as unknown as El).dataset, text: li.textContent ?? "" })));
    const typed = PROGRAM.slice(0, from) + "ReSET" + PROGRAM.slice(from + 3);
    const line = typed.slice(0, from).split("\n").length;
    const col = from - typed.lastIndexOf("\n", from - 1);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: "E2003", line: String(line), col: String(col), severity: "error", file: "main.est" });
    expect(line).toBe(5);
    expect(problems[0]!.text).toContain("'ReSET'");
    expect(problems[0]!.text).toContain("did you mean 'ReSTE'");
    // The editor marks the same place: a lint range on line 5 covering the name, and a gutter mark.
    const marked = await page.evaluate(() => {
      const range = document.querySelector(".cm-lintRange-error");
      const lines = [...document.querySelectorAll(".cm-content .cm-line")];
      return { text: range?.textContent, line: lines.findIndex((l) => l.contains(range)) + 1, gutter: document.querySelectorAll(".cm-lint-marker-error").length };
    });
    expect(marked).toEqual({ text: "ReSET", line: 5, gutter: 1 });
    expect(await page.$eval("#status", (e) => (e as unknown as El).dataset.state)).toBe("errors");
    await page.hover(".cm-lintRange-error");
    await page.waitForSelector(".cm-tooltip-lint", { timeout: 10_000 }).catch(() => undefined);
    await shot("02-diagnostic");
  });

  it("fixing it clears the diagnostic and the plot changes to ReSTE's backward", async () => {
    const before = await plotData();
    // The cursor is after "ReSET": fix the last two letters by keystrokes.
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("TE");
    await nextCompile(typoCompile);
    await page.waitForFunction(() => document.getElementById("problems")!.dataset.count === "0", { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById("plot")!.dataset.name === "ReSTE", { timeout: 30_000 });
    const p = await plotData();
    expect(p.backward).not.toEqual(before.backward);
    expect(p.scalars.o).toBe(3);
    for (const x of [0, 0.06, 0.5, 1, 1.5, 1.52, -0.8]) expect(p.backward[at(p, x)]).toBeCloseTo(resteBackward(x, 3), 4);
    expect(p.forward[at(p, -0.5)]).toBe(-1);
    expect(await page.$$eval(".cm-lintRange-error", (l) => l.length)).toBe(0);
    await shot("03-plot");
  });

  it("moving the o slider redraws the backward for the new o", async () => {
    const before = await plotData();
    const slider = await page.$('#plot input[type=range][data-scalar="o"]');
    expect(slider).not.toBeNull();
    await slider!.focus();
    // PageDown moves a range input by a tenth of its range: o goes well below its default 3.
    for (let i = 0; i < 3; i++) await page.keyboard.press("PageDown");
    await page.waitForFunction((o) => JSON.parse(document.getElementById("plot")!.dataset.scalars ?? "{}").o !== o && document.getElementById("plot")!.dataset.backward !== undefined, { timeout: 30_000 }, before.scalars.o);
    // The redraw is for the slider's final value: wait until the data carry it.
    await page.waitForFunction(() => {
      const el = document.getElementById("plot")!;
      const input = el.querySelector('input[data-scalar="o"]')!;
      return JSON.parse(el.dataset.scalars ?? "{}").o === Number(input.value);
    }, { timeout: 30_000 });
    const p = await plotData();
    const o = p.scalars.o!;
    expect(o).toBeLessThan(2.5);
    expect(o).toBeGreaterThan(0);
    expect(p.backward).not.toEqual(before.backward);
    for (const x of [0, 0.5, 1, -1.2]) expect(p.backward[at(p, x)]).toBeCloseTo(resteBackward(x, o), 4);
    await shot("04-slider");
  });

  let trained: { steps: number; first: number; last: number; device: string } | undefined;
  it("trains the quickstart's task in the page and the loss falls", async () => {
    await page.click('#training button[data-action="start"]');
    // data-losses holds one loss per step; 12 steps are enough to see the fall through the noise.
    await page.waitForFunction(() => JSON.parse(document.getElementById("training")!.dataset.losses ?? "[]").length >= 12, { timeout: 240_000 });
    await page.click('#training button[data-action="stop"]');
    await page.waitForFunction(() => ["stopped", "done"].includes(document.getElementById("training")!.dataset.state ?? ""), { timeout: 60_000 });
    const { losses, device } = await page.$eval("#training", (e) => ({ losses: JSON.parse((e as unknown as El).dataset.losses ?? "[]") as number[], device: (e as unknown as El).dataset.device }));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(losses.every(Number.isFinite)).toBe(true);
    // Softmax cross-entropy over ten classes from random weights: a few nats at the start.
    expect(losses[0]!).toBeGreaterThan(1);
    expect(losses[0]!).toBeLessThan(8);
    expect(mean(losses.slice(-4))).toBeLessThan(0.85 * mean(losses.slice(0, 4)));
    expect(device).toMatch(/^(webgpu|cpu)/);
    trained = { steps: losses.length, first: losses[0]!, last: losses[losses.length - 1]!, device: device ?? "" };
    await shot("05-training");
  }, 300_000);

  it("keeps the program in the URL: a new tab opened on the link shows the same text", async () => {
    await page.setOfflineMode(false);
    const text = await page.evaluate(() => window.playground.view.state.doc.toString());
    // The hash is written 400 ms after the last edit, deflated.
    await new Promise((r) => setTimeout(r, 800));
    expect(await page.evaluate(() => location.hash.startsWith("#z="))).toBe(true);
    const url = page.url();
    expect(text).toContain("backward ReSTE");
    const other = await browser.newPage();
    try {
      await other.goto(url);
      await other.waitForFunction(() => Number(document.getElementById("status")!.dataset.compiles ?? 0) >= 1, { timeout: 60_000 });
      const reopened = await other.evaluate(() => window.playground.view.state.doc.toString());
      expect(reopened).toBe(text);
      expect(await other.$eval("#problems", (e) => (e as unknown as El).dataset.count)).toBe("0");
    } finally {
      await other.close();
    }
  });

  it("shows the generated JS and WGSL kernels of the program", async () => {
    await page.click('nav.tabs button[data-tab="kernels"]');
    const shown = () => page.$eval("#tab-kernels .cm-content", (e) => (e as unknown as El).innerText);
    await page.click('#tab-kernels button[data-suffix=".js"]');
    const js = await shown();
    expect(js).toContain("generated by estc from main.est");
    expect(js).toContain("export const act");
    await page.click('#tab-kernels button[data-suffix=".wgsl.js"]');
    const wgsl = await shown();
    expect(wgsl).toContain("@compute");
    expect(await page.$eval("#tab-kernels", (e) => (e as unknown as El).dataset.file)).toBe("main.wgsl.js");
    await shot("06-kernels");
  });

  it("browses the stdlib's modules", async () => {
    await page.click('nav.tabs button[data-tab="stdlib"]');
    const ids = await page.$$eval("#tab-stdlib li", (lis) => lis.map((li) => (li as unknown as El).dataset.module));
    expect(ids).toContain("std/binary");
    expect(ids).toContain("std/quant");
    await page.click('#tab-stdlib li[data-module="std/quant"]');
    const text = await page.$eval("#tab-stdlib .cm-content", (e) => (e as unknown as El).innerText);
    expect(text).toContain("estimator RoundSTE for round(x)");
    await shot("07-stdlib");
  });

  it("opens each starter program clean, and plots the zoo's own estimator by its formula", async () => {
    await page.click('nav.tabs button[data-tab="lab"]');
    const ids = await page.$$eval("#starter option", (os) => os.map((o) => (o as unknown as El).value).filter((v) => v !== ""));
    expect(ids).toEqual(["quickstart", "zoo", "soft-round"]);
    for (const id of ids) {
      const before = await compiles();
      await page.select("#starter", id);
      await nextCompile(before);
      expect({ id, problems: await page.$eval("#problems", (e) => (e as unknown as El).dataset.count) }).toEqual({ id, problems: "0" });
    }
    // The zoo's TanhSTE: grad x = g * k * (1 - tanh(k x)^2), so k at x = 0 and k (1 - tanh(k)^2) at x = 1.
    await page.select("#starter", "zoo");
    const text = await page.evaluate(() => window.playground.view.state.doc.toString());
    await cursorAt(text.indexOf("estimator TanhSTE") + "estimator ".length + 1);
    await page.waitForFunction(() => document.getElementById("plot")!.dataset.name === "TanhSTE", { timeout: 30_000 });
    const p = await plotData();
    expect(p.scalars.k).toBe(2);
    expect(p.backward[at(p, 0)]).toBeCloseTo(2, 5);
    expect(p.backward[at(p, 1)]).toBeCloseTo(2 * (1 - Math.tanh(2) ** 2), 5);
  });

  it("raised no page errors and fetched nothing it could not find", () => {
    expect({ errors: errors.errors, notFound: server.notFound }).toEqual({ errors: [], notFound: [] });
    // The build time and the training run, for whoever reads the test output.
    console.log(`playground: vite build ${Math.round(buildMs)} ms; trained ${trained?.steps} steps on ${trained?.device}, loss ${trained?.first.toFixed(3)} -> ${trained?.last.toFixed(3)}`);
  });
});
