// The playground's training loop (playground/src/lab/training.ts) on the CPU back end in Node: the
// quickstart's module compiled in memory as the worker does (training-module.ts), linked to one
// runtime instance as the page does (link-module.ts), then trained for a few steps.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { nodeHost } from "../../compiler/resolve.js";
import { importGeneratedModule, linkModuleText } from "../../playground/src/lab/link-module.js";
import { buildTrainingModule } from "../../playground/src/lab/training-module.js";
import { stepScalars, trainQuickstart } from "../../playground/src/lab/training.js";

const root = path.resolve(import.meta.dirname, "../..");
const quickstart = fs.readFileSync(path.join(root, "examples/quickstart/binary.est"), "utf8");
const file = path.join(root, "playground-lab-editor.est");
// The built runtime (npm test builds dist/ first), imported by URL as the page imports it.
const runtimeUrl = pathToFileURL(path.join(root, "dist/runtime/index.js")).href;

const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Writes each module text to a temp file: Node's stand-in for the page's Blob URLs. */
function fileUrlMaker(): (text: string) => string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-lab-"));
  made.push(dir);
  let n = 0;
  return (text) => {
    const f = path.join(dir, `m${n++}.mjs`);
    fs.writeFileSync(f, text);
    return pathToFileURL(f).href;
  };
}

describe("training module", () => {
  it("falls back to the quickstart when the editor's program lacks loss, and says why", async () => {
    const r = await buildTrainingModule(nodeHost(root), file, `import { STE } from "std/binary"\n`, quickstart);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.source).toBe("quickstart");
    expect(r.note).toMatch(/no fn 'binary_dense'/);
    expect(r.scalars).toEqual([{ name: "o", default: 3 }]);
    expect(r.js).toContain(`import("./binary.wgsl.js")`);
  });

  it("uses the editor's program when it defines binary_dense and loss", async () => {
    const edited = quickstart.replace("o: f32 = 3.0) -> f32 {", "o: f32 = 2.0) -> f32 {");
    const r = await buildTrainingModule(nodeHost(root), file, edited, quickstart);
    expect(r.ok && r.source).toBe("editor");
    expect(r.ok && r.scalars).toEqual([{ name: "o", default: 2 }]);
  });

  it("rewrites only the import specifiers", () => {
    const js = `// see "estc/runtime"\nimport { gemm } from "estc/runtime";\nconst $wgsl = () => import("./binary.wgsl.js");\n`;
    const out = linkModuleText(js, "binary", "blob:rt", "blob:wgsl");
    expect(out).toBe(`// see "estc/runtime"\nimport { gemm } from "blob:rt";\nconst $wgsl = () => import("blob:wgsl");\n`);
  });
});

describe("training loop", () => {
  it("reduces the loss on the CPU back end in a few steps, with the module sharing the caller's runtime", async () => {
    const built = await buildTrainingModule(nodeHost(root), file, quickstart, quickstart);
    if (!built.ok) throw new Error(built.reason);
    const mod = await importGeneratedModule(built.js, built.wgslJs, built.name, runtimeUrl, fileUrlMaker());
    const runtime = (await import(runtimeUrl)) as typeof import("../../runtime/index.js");
    const seen: number[] = [];
    const result = await trainQuickstart({ runtime, module: mod as never, device: runtime.cpu(), epochs: 3, stepsPerEpoch: 5, lossScalars: built.scalars.map((s) => s.name), scalars: () => ({ o: 2 }), onStep: (r) => void seen.push(r.scalars["o"]!) });
    expect(result.losses).toHaveLength(15);
    // Ten random classes: the first loss is about ln 10 = 2.30; a few steps must bring it well down.
    expect(result.losses[0]!).toBeGreaterThan(1.5);
    const lastThree = result.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(lastThree).toBeLessThan(0.6 * result.losses[0]!);
    expect(result.accuracies[2]!).toBeGreaterThan(0.5);
    expect(seen.every((o) => o === 2)).toBe(true);
  });

  it("stops when asked", async () => {
    const built = await buildTrainingModule(nodeHost(root), file, quickstart, quickstart);
    if (!built.ok) throw new Error(built.reason);
    const mod = await importGeneratedModule(built.js, built.wgslJs, built.name, runtimeUrl, fileUrlMaker());
    const runtime = (await import(runtimeUrl)) as typeof import("../../runtime/index.js");
    let steps = 0;
    const result = await trainQuickstart({ runtime, module: mod as never, epochs: 5, shouldStop: () => steps >= 3, onStep: () => void steps++ });
    expect(result.stopped).toBe(true);
    expect(result.losses).toHaveLength(3);
  });

  it("passes only the scalars loss takes, and follows train.js's o schedule without a slider", () => {
    const takes = new Set(["o"]);
    expect(stepScalars(takes, { o: 1.7, t: 0.5 }, 0, 30)).toEqual({ o: 1.7 });
    expect(stepScalars(takes, {}, 0, 30)).toEqual({ o: 1 });
    expect(stepScalars(takes, {}, 30, 30)["o"]).toBeCloseTo(3, 12);
    expect(stepScalars(takes, {}, 15, 30)["o"]).toBeCloseTo(1 + (1 - Math.cos(Math.PI / 4)) * 2, 12);
    expect(stepScalars(new Set(), { o: 2 }, 3, 30)).toEqual({});
  });
});
