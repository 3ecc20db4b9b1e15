/**
 * Scale and depth (issue 17, items 6 and 12). Timing lives in the bench (bench/front-scale.ts);
 * here each case must complete with the right answer. Through the `estc` command (a 256 MB stack,
 * cli/main.ts): 1,000 nested parentheses and a flat chain of 10,000 operators check clean, 3,000
 * chained `detach` build (it overflowed the stack in lowering, exit 2), and brackets deeper than
 * 20,000 are E1002 at the bracket that goes too deep. In a library call, on a small stack,
 * the same programs check and build (deep nesting: depth.test.ts) and mean the same as short
 * ones (the IR interpreter's sum and gradient). Doc comments of many items attach in one pass (they were
 * matched by scanning every doc for every item).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFile } from "../../compiler/build.js";
import { checkFiles } from "../../compiler/pipeline.js";
import { nodeHost } from "../../compiler/resolve.js";
import { MAX_NESTING, parse, type FnDecl, type ReturnStmt } from "../../grammar/index.js";
import { printExpr } from "../../grammar/print.js";
import { ensureDist, repoRoot } from "../helpers/dist.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-scale-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeAll(() => ensureDist());

const programs: Record<string, string> = {
  "parens.est": `fn f(x: f32[N]) -> f32[N] { return ${"(".repeat(1000)}x${")".repeat(1000)} }\n`,
  "chain.est": `fn f(x: f32[N]) -> f32[N] { return x${" + x".repeat(10_000)} }\n`,
  "detach.est": `fn f(x: f32[N]) -> f32[N] { return x${" detach".repeat(3000)} * x }\n`,
};
for (const [name, text] of Object.entries(programs)) fs.writeFileSync(path.join(dir, name), text);

function estc(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, "bin/estc.js"), ...args], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("deep programs through the estc command", () => {
  it("1,000 nested parentheses and a chain of 10,000 operators check clean", () => {
    expect(estc("check", "parens.est", "chain.est")).toEqual({ code: 0, stdout: "ok: 2 files, 2 items\n", stderr: "" });
  });

  it("3,000 chained detach build, and the module computes x * x with no gradient through the first factor", () => {
    const r = estc("build", "detach.est", "--out-dir", "out", "--emit", "js");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    if (!fs.existsSync(path.join(dir, "node_modules/estc"))) fs.symlinkSync(repoRoot, path.join(dir, "node_modules/estc"), "dir");
    fs.writeFileSync(
      path.join(dir, "run.mjs"),
      `import { tensor } from "estc/runtime";
import { f } from "./out/detach.js";
const x = tensor(new Float32Array([1, -2, 3]), [3]);
const y = await f.forward({ x });
const g = await f.vjp({ x }, tensor(new Float32Array([1, 1, 1]), [3]));
console.log(JSON.stringify({ y: Array.from(await y.data()), gx: Array.from(await g.x.data()) }));
`,
    );
    const run = spawnSync(process.execPath, ["run.mjs"], { cwd: dir, encoding: "utf8" });
    expect(run.stderr).toBe("");
    // y = x·x; the gradient flows through the second factor only: d/dx = detach(x) = x, not 2x.
    expect(JSON.parse(run.stdout)).toEqual({ y: [1, 4, 9], gx: [1, -2, 3] });
  });

  it("brackets past the limit are E1002 at the first bracket beyond it", () => {
    const depth = MAX_NESTING + 1;
    const text = `fn f(x: f32[N]) -> f32[N] { return ${"(".repeat(depth)}x${")".repeat(depth)} }\n`;
    fs.writeFileSync(path.join(dir, "limit.est"), text);
    const r = estc("check", "limit.est");
    expect(r.code).toBe(1);
    // 1-based column of the return's bracket number MAX_NESTING + 1.
    const col = text.indexOf("return (") + "return ".length + MAX_NESTING + 1;
    expect(r.stderr).toMatch(new RegExp(`^limit\\.est:1:${col}: error\\[E1002\\]: brackets nest more than 20000 deep here$`, "m"));
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe("deep programs in a library call (small stack)", () => {
  it("1,000 nested parentheses, 10,000 operators and 3,000 detach check clean", () => {
    expect(checkFiles(Object.keys(programs), nodeHost(dir)).diagnostics).toEqual([]);
  });

  it("10,000 operators and 3,000 detach build on this stack too", async () => {
    expect(checkFiles(["chain.est", "detach.est"], nodeHost(dir)).diagnostics).toEqual([]);
    for (const name of ["chain.est", "detach.est"]) {
      const r = await buildFile(name, "lib-out", "ts", nodeHost(dir));
      expect(r.diagnostics, name).toEqual([]);
      expect(r.written, name).toEqual([`lib-out/${name.replace(".est", ".ts")}`, `lib-out/${name.replace(".est", ".wgsl.ts")}`]);
    }
  });

  it("a chain of 10,000 operators means what the short one means: the sum is 10,001 · x", async () => {
    const r = checkFiles(["chain.est"], nodeHost(dir));
    const { differentiate } = await import("../../compiler/differentiate.js");
    const checked = r.programs[0]!;
    const d = differentiate(checked, checked.program.entry, checked.program.entry.ast.items[0] as never);
    expect(d.diagnostics).toEqual([]);
    // The IR interpreter (the tests' oracle) on x = [0.5, -2]: the sum is 10,001 · x, and the
    // gradient with cotangent 1 is 10,001 everywhere.
    const { evaluate } = await import("../../compiler/interpret.js");
    const fn = d.fn!;
    const env = { inputs: { x: { data: [0.5, -2], shape: [2] }, $ct0: { data: [1, 1], shape: [2] } }, scalars: {}, dims: { N: 2 }, seed: 0 };
    expect(Array.from(evaluate(fn.lowered.outputs, env)[0]!.data)).toEqual([5000.5, -20002]);
    expect(Array.from(evaluate([fn.grads["x"]!], env)[0]!.data)).toEqual([10001, 10001]);
  });
});

describe("printing chains", () => {
  it("the printer gives back a 10,000-operator chain and 3,000 detach as written (and - - … x)", () => {
    for (const body of [`x${" + x".repeat(10_000)}`, `x${" detach".repeat(3000)} * x`, `${"-".repeat(100)}x`]) {
      const { ast, diagnostics } = parse(`fn f(x: f32[N]) -> f32[N] { return ${body} }\n`, "p.est");
      expect(diagnostics).toEqual([]);
      const ret = (ast.items[0] as FnDecl).body[0] as ReturnStmt;
      expect(printExpr(ret.value)).toBe(body);
    }
  });
});

describe("many items", () => {
  it("each of 3,000 fns gets its own doc comment, none of another's", () => {
    const text = Array.from({ length: 3000 }, (_, i) => `/// doc ${i}\nfn g${i}(x: f32[N]) -> f32[N] { return x } /// not for g${i}`).join("\n") + "\n";
    const { ast, diagnostics } = parse(text, "many.est");
    expect(diagnostics).toEqual([]);
    expect(ast.items).toHaveLength(3000);
    // A `///` at the end of an item's line belongs to the next item, after that item's own line.
    expect(ast.items.map((it) => it.doc)).toEqual(Array.from({ length: 3000 }, (_, i) => (i === 0 ? "doc 0" : `not for g${i - 1}\ndoc ${i}`)));
  });
});
