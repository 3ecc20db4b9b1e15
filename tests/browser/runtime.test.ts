/**
 * The runtime in a real browser: headless Chromium (WebGPU on SwiftShader where there is no GPU)
 * loads `estc/runtime` (dist/runtime/index.js) and generated modules as plain ES modules through
 * an import map, with no bundler, and runs ./cases.ts's programs — the parity programs, the
 * quickstart, matmul with fused epilogue, conv2d and pooling, a long reduction, every std/binary
 * estimator at its boundaries and the Philox draws — on `webgpu()` and on `cpu()` (the Wasm
 * kernels, single-threaded: the page is not cross-origin isolated). Every result is compared
 * with the CPU back end's in Node, with the tolerances of tests/webgpu/parity and conv (RNG draws
 * and max pooling bit for bit); estimator forwards and slopes are also checked against their
 * formulas. One browser, one page, the cases batched in two calls. Skipped, saying why, without
 * Chromium (.ci/run installs it). Programs whose kernels SwiftShader compiles too slowly run on
 * the page's cpu only (cases.ts, SWIFTSHADER_SLOW), and sin/cos get WGSL's own accuracy bound on
 * webgpu (WGSL_SIN_COS). ESTC_BROWSER_VERBOSE=1 prints each case's and each pipeline's timing;
 * ESTC_BROWSER_ONLY=<regex> runs only the matching cases.
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestedLimits } from "../../runtime/webgpu/device.js";
import { ensureDist, repoRoot } from "../helpers/dist.js";
import { tmpRoot } from "../helpers/build.js";
import { BOUNDARY_POINTS, ESTIMATOR_CASES, genFile, type Call, type Case, type Planned } from "./cases.js";
import { planCases } from "./cases.js";
import { collectPageErrors, findChromium, importMapPage, launchChromium, startStaticServer, type PageErrors, type StaticServer } from "./chromium.js";
import { compareResults, emptyComparison, values, type CaseResult, type Comparison } from "./compare.js";
import { importGraph } from "./import-graph.js";
import { runCases } from "./page/run-cases.js";

const chromium = findChromium();
const skip = "missing" in chromium ? chromium.missing : undefined;
if (skip !== undefined) console.warn(`tests/browser/runtime.test.ts skipped: ${skip}`);

/** The page's view of its globals (the project type-checks without the DOM lib). */
type PageGlobals = {
  crossOriginIsolated: boolean;
  performance: { getEntriesByType(t: string): { name: string }[] };
  estc?: { runtime: typeof import("estc/runtime"); runner: typeof import("./page/run-cases.js") };
};
const RUNNER = "/tests/browser/page/run-cases.js";
/**
 * The page's module script puts the runtime and the runner on globalThis.estc: functions given to
 * page.evaluate cannot import() themselves, since vitest rewrites import() in this file's code.
 */
const PAGE = importMapPage(
  { "estc/runtime": "/dist/runtime/index.js" },
  `import * as runtime from "estc/runtime";\nimport * as runner from "${RUNNER}";\nglobalThis.estc = { runtime, runner };`,
);

/** Opens `url` in `p` and waits for the module script to have loaded the runtime. */
async function ready(p: Page, url: string): Promise<void> {
  await p.goto(url);
  await p.waitForFunction(() => (globalThis as unknown as PageGlobals).estc !== undefined);
}

let browser: Browser;
let server: StaticServer;
let page: Page;
let watch: PageErrors;
let planned: Planned[];
const node = new Map<string, CaseResult>();
const onGpu = new Map<string, CaseResult>();
const onCpu = new Map<string, CaseResult>();
let gpuInfo: Awaited<ReturnType<typeof import("./page/run-cases.js").describeGpu>>;
let pageFacts: { crossOriginIsolated: boolean; sharedArrayBuffer: boolean; cpuKernels: string; resources: string[] };
const figures: Record<string, Comparison> = {};
const timing: Record<string, number> = {};

/** Runs `cases` in the page, in one call. */
async function inPage(cases: Case[]): Promise<CaseResult[]> {
  return page.evaluate((cs) => (globalThis as unknown as PageGlobals).estc!.runner.runCases(cs), cases);
}

beforeAll(async () => {
  if (skip !== undefined) return;
  let t = Date.now();
  ensureDist();
  const only = process.env["ESTC_BROWSER_ONLY"]; // a regex over case ids, to rerun a few while debugging
  planned = (await planCases()).filter((p) => only === undefined || new RegExp(only).test(p.base.id));
  const cases = (device: "webgpu" | "cpu") => planned.map((p) => ({ ...p.base, device }));
  const load = (url: string) => import(pathToFileURL(genFile(url)).href) as Promise<Record<string, any>>;
  for (const r of await runCases(cases("cpu"), load)) node.set(r.id, r);
  timing["build and run in Node"] = Date.now() - t;

  t = Date.now();
  server = await startStaticServer({
    mounts: { "/dist/": path.join(repoRoot, "dist"), "/gen/": tmpRoot, "/tests/browser/page/": path.join(repoRoot, "tests/browser/page") },
    pages: { "/index.html": PAGE },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  watch = collectPageErrors(page);
  if (process.env["ESTC_BROWSER_VERBOSE"]) {
    await page.evaluateOnNewDocument(() => {
      const g = globalThis as any;
      g.estcVerbose = true;
      const t0 = performance.now();
      const create = g.GPUDevice.prototype.createComputePipelineAsync;
      g.GPUDevice.prototype.createComputePipelineAsync = function (d: any) {
        console.log(`    compile ${d.label} at ${(performance.now() - t0).toFixed(0)}`);
        return create.call(this, d).then((p: any) => (console.log(`    compiled ${d.label} at ${(performance.now() - t0).toFixed(0)}`), p));
      };
      const submit = g.GPUQueue.prototype.submit;
      g.GPUQueue.prototype.submit = function (b: any) {
        console.log(`    submit at ${(performance.now() - t0).toFixed(0)}`);
        return submit.call(this, b);
      };
    });
    page.on("console", (m) => console.log(`page: ${m.text()}`));
  }
  await ready(page, `${server.origin}/index.html`);
  timing["launch"] = Date.now() - t;

  t = Date.now();
  pageFacts = await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return {
      crossOriginIsolated: g.crossOriginIsolated,
      sharedArrayBuffer: typeof SharedArrayBuffer !== "undefined",
      cpuKernels: g.estc!.runtime.cpu().kernels,
      resources: g.performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname),
    };
  });
  gpuInfo = await page.evaluate((names) => (globalThis as unknown as PageGlobals).estc!.runner.describeGpu(names), [...requestedLimits]);
  const onWebGpu = planned.filter((p) => typeof p.webgpu !== "string").map((p) => ({ ...p.base, device: "webgpu" as const, calls: (p.webgpu as Call[] | undefined) ?? p.base.calls }));
  for (const r of await inPage(onWebGpu)) onGpu.set(r.id, r);
  timing["webgpu in the page"] = Date.now() - t;
  t = Date.now();
  for (const r of await inPage(cases("cpu"))) onCpu.set(r.id, r);
  timing["cpu in the page"] = Date.now() - t;
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (skip !== undefined || planned === undefined) return;
  const lines = Object.entries(figures).map(([k, c]) => `  ${k}: ${c.tensors} tensors (${c.elements} values), ${c.identical} bit-identical, max |d| ${c.maxAbs.toExponential(2)}`);
  console.log(`tests/browser: ${planned.length} cases on each back end in Chromium; ${Object.entries(timing).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ")}\n${lines.join("\n")}`);
});

describe.skipIf(skip !== undefined)("estc/runtime in Chromium", () => {
  it("loads as ES modules through an import map, without anything of Node's", () => {
    expect(watch.errors).toEqual([]);
    const loaded = pageFacts.resources.filter((r) => r.startsWith("/dist/"));
    expect(loaded).toContain("/dist/runtime/index.js");
    // The Node-only modules are never fetched by the page.
    expect(loaded.filter((r) => /\/(dawn|quiet-stderr)\.js$/.test(r))).toEqual([]);
    // Statically: the runtime's import graph names only relative modules, and reaches Dawn only
    // through the dynamic import Node takes (so a bundler resolves nothing of Node's).
    const graph = importGraph(path.join(repoRoot, "dist/runtime/index.js"));
    expect(graph.bare, "bare or node: specifiers in the static graph").toEqual([]);
    expect(graph.files.map((f) => path.basename(f))).not.toContain("dawn.js");
    expect(graph.dynamic.map((d) => d.specifier)).toContain("./dawn.js");
  });

  it("opens a WebGPU device through navigator.gpu with the adapter's limits", () => {
    expect(gpuInfo.path).toBe("browser");
    expect(gpuInfo.attempts.every((a) => a.path === "browser")).toBe(true);
    // SwiftShader is a fallback adapter: reductions take their serial form, as on llvmpipe.
    if (gpuInfo.isFallbackAdapter) expect(gpuInfo.serialReductions).toBe(true);
    for (const name of requestedLimits) expect(gpuInfo.deviceLimits[name], name).toBe(gpuInfo.adapterLimits[name]);
  });

  it("runs the cpu back end single-threaded in a page that is not cross-origin isolated", () => {
    expect(pageFacts).toMatchObject({ crossOriginIsolated: false, sharedArrayBuffer: false, cpuKernels: "wasm" });
  });

  it("runs cpu({ threads: 4 }) in a cross-origin isolated page on the calling thread, with Node's bits", async () => {
    // Isolated, the page can make shared Wasm memory; products still run on this thread (no
    // Node workers, and a page's main thread may not Atomics.wait).
    const isolated = await startStaticServer({
      mounts: { "/dist/": path.join(repoRoot, "dist"), "/gen/": tmpRoot, "/tests/browser/page/": path.join(repoRoot, "tests/browser/page") },
      pages: { "/index.html": PAGE },
      crossOriginIsolated: true,
    });
    const p = await browser.newPage();
    const errors = collectPageErrors(p);
    try {
      await ready(p, `${isolated.origin}/index.html`);
      const mine = planned.filter((q) => q.group === "matmul" || q.group === "quickstart" || q.base.id.includes("MLP"));
      const cases = mine.map((q) => ({ ...q.base, device: "cpu" as const, cpuOptions: { threads: 4 } }));
      const [coi, results] = await p.evaluate(async (cs) => {
        const g = globalThis as unknown as PageGlobals;
        return [g.crossOriginIsolated, await g.estc!.runner.runCases(cs)] as const;
      }, cases);
      expect(coi).toBe(true);
      const c = (figures["cpu threads 4, isolated page"] = emptyComparison());
      for (const [i, q] of mine.entries()) compareResults(c, results[i]!, node.get(q.base.id)!, { ...q.tolerance, exactForward: [0, 1, 2, 3], exactGrads: true });
      expect(c.problems).toEqual([]);
      expect(errors.errors).toEqual([]);
    } finally {
      await p.close();
      await isolated.close();
    }
  });

  const groups = ["parity programs", "quickstart", "matmul", "conv2d and pooling", "reductions", "std/binary estimators at their boundaries", "RNG"];
  for (const [device, results] of [["webgpu", onGpu], ["cpu", onCpu]] as const) {
    for (const group of groups) {
      it(`${device} in the page matches cpu() in Node: ${group}`, () => {
        const c = (figures[`${device}: ${group}`] = emptyComparison());
        const mine = planned.filter((p) => p.group === group && (device === "cpu" || typeof p.webgpu !== "string"));
        expect(mine.length).toBeGreaterThan(0);
        for (const p of mine) {
          const got = results.get(p.base.id);
          const tolerance = device === "webgpu" ? (p.webgpuTolerance ?? p.tolerance) : p.tolerance;
          if (device === "webgpu" && p.webgpu !== undefined && got !== undefined) {
            // Fewer calls on webgpu: compare those only.
            const calls = p.webgpu as Call[];
            const want = node.get(p.base.id)!;
            const kept = Object.fromEntries(Object.entries(want).filter(([k]) => !["forward", "vjp", "valueAndGrad", "vjpFn"].includes(k) || calls.includes(k as Call)));
            compareResults(c, got, kept as unknown as CaseResult, tolerance);
            continue;
          }
          if (got?.forward?.[0] !== undefined) expect(got.forward[0].device, p.base.id).toBe(device);
          compareResults(c, got ?? { id: p.base.id, error: { message: "no result" }, ms: 0 }, node.get(p.base.id)!, tolerance);
        }
        expect(c.problems).toEqual([]);
      });
    }
  }

  it("lists the programs left off webgpu on SwiftShader, each with its reason (they run on the page's cpu)", () => {
    const off = planned.filter((p) => typeof p.webgpu === "string").map((p) => `${p.base.id}: ${p.webgpu}`);
    console.log(`not run on webgpu in the page:\n  ${off.join("\n  ")}`);
    // A short list: the rest of every group runs on webgpu.
    expect(off.length).toBeLessThanOrEqual(6);
    for (const group of new Set(planned.map((p) => p.group))) expect(planned.some((p) => p.group === group && typeof p.webgpu !== "string"), group).toBe(true);
  });

  it("estimators: forwards exactly their formula (sign(0) = +1, step(0) = 0, tern's ±threshold) and slopes within 1e-5 of it", () => {
    for (const e of ESTIMATOR_CASES) {
      const id = `std/binary estimators at their boundaries: ${e.name}`;
      for (const [device, results] of [["webgpu", onGpu], ["cpu", onCpu]] as const) {
        const r = results.get(id)!;
        expect(r.error, `${device} ${id}`).toBeUndefined();
        const x = BOUNDARY_POINTS.map(Math.fround);
        expect(values(r.forward![0]!), `${device} ${e.name} forward`).toEqual(x.map(e.forward));
        values(r.vjp!["x"]!).forEach((g, i) => {
          const want = e.slope(x[i]!);
          expect(Math.abs(g - want), `${device} ${e.name} slope at ${x[i]}: ${g} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-6);
        });
      }
    }
  });

  it("RNG: the page's webgpu and cpu draws are the same bits, and another seed draws others", () => {
    const rng = planned.filter((p) => p.group === "RNG");
    for (const p of rng) {
      const [g, c] = [onGpu.get(p.base.id)!, onCpu.get(p.base.id)!];
      for (const k of [0, 1, 2]) expect(g.forward![k]!.data, `${p.name} draw ${k}`).toEqual(c.forward![k]!.data);
    }
    expect(onGpu.get(rng[0]!.base.id)!.forward![0]!.data).not.toEqual(onGpu.get(rng[1]!.base.id)!.forward![0]!.data);
  });
});

describe.skipIf(skip !== undefined)("webgpu() where a browser has no WebGPU", () => {
  /** Calls webgpu() in a fresh page prepared by `setup` (run before any script of the page). */
  async function attempt(setup: () => void): Promise<{ code?: string; message: string }> {
    const p = await browser.newPage();
    await p.evaluateOnNewDocument(setup);
    await ready(p, `${server.origin}/index.html`);
    const r = await p.evaluate(async () => {
      const rt = (globalThis as unknown as PageGlobals).estc!.runtime;
      try {
        await rt.webgpu();
        return { message: "no error" };
      } catch (e) {
        return { code: (e as { code?: string }).code, message: String((e as Error).message), isRuntimeError: e instanceof rt.EstcRuntimeError };
      }
    });
    await p.close();
    return r;
  }

  it("no navigator.gpu: E6015 saying what WebGPU needs in a browser, and to use the cpu", async () => {
    const r = await attempt(() => {
      const nav = (globalThis as unknown as { navigator: object }).navigator;
      Object.defineProperty(Object.getPrototypeOf(nav), "gpu", { get: () => undefined });
    });
    expect(r).toMatchObject({ code: "E6015", isRuntimeError: true });
    expect(r.message).toContain("failed navigator.gpu: this browser has no navigator.gpu");
    expect(r.message).toContain("--enable-unsafe-webgpu");
    expect(r.message).toContain("secure context");
    expect(r.message).toContain("cpu() is the default");
    expect(r.message).not.toContain("estc doctor");
  });

  it("requestAdapter() returning null: E6015 listing both attempts", async () => {
    const r = await attempt(() => {
      const nav = (globalThis as unknown as { navigator: { gpu: object } }).navigator;
      const gpu = Object.getPrototypeOf(nav.gpu) as { requestAdapter: () => Promise<null> };
      gpu.requestAdapter = async () => null;
    });
    expect(r).toMatchObject({ code: "E6015", isRuntimeError: true });
    expect(r.message).toMatch(/failed navigator\.gpu\.requestAdapter\(featureLevel core\): requestAdapter\(\) returned null \(WebGPU is blocked or there is no usable GPU; headless Chromium on Linux needs --enable-unsafe-webgpu\)/);
    expect(r.message).toContain("featureLevel compatibility");
  });
});
