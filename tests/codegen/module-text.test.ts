/**
 * The generated module's text (compiler/codegen/module-text.ts, wgsl/module.ts), printed without
 * prettier or TypeScript: its JavaScript form must be what TypeScript's own transpiler makes of
 * the TypeScript form (token for token), for every stdlib module; the main module carries no WGSL
 * and its WGSL sibling carries each shader once; a fn runs on the CPU without the sibling and
 * loads it on its first WebGPU call.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { differentiateFile } from "../../compiler/build.js";
import { generateModule } from "../../compiler/codegen/ts/module.js";
import { stripTypes, unwrapInitializer } from "../../compiler/codegen/module-text.js";
import { withoutBoundsGuard } from "../../runtime/plan.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const stdDir = path.join(root, "stdlib/std");
const modules = [...fs.readdirSync(stdDir).filter((f) => f.endsWith(".est")).map((f) => path.join(stdDir, f)), path.join(root, "examples/quickstart/binary.est")];

/** `text` as TypeScript's scanner sees it: its tokens, comments and trailing commas left out, joined by one space. */
function tokens(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.ES2022, true, ts.LanguageVariant.Standard, text);
  const out: string[] = [];
  for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan()) {
    const token = scanner.getTokenText();
    if ((token === "}" || token === "]" || token === ")") && out[out.length - 1] === ",") out.pop();
    out.push(token);
  }
  return out.join(" ");
}

const transpiled = (text: string) => ts.transpileModule(text, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;

describe("generated module text", () => {
  for (const file of modules) {
    it(`${path.relative(root, file)}: the .js is TypeScript's transpile of the .ts, token for token; each shader once, in the sibling only`, async () => {
      const d = differentiateFile(file);
      expect(d.diagnostics.filter((x) => x.severity === "error")).toEqual([]);
      // A module whose fns are all rank-generic (std/quant, std/binary) builds none (E5012): its
      // fns are compiled where they are called, at the caller's ranks.
      if (d.fns.length === 0) return void expect(d.diagnostics.map((x) => x.code).filter((c) => c !== "E5012")).toEqual([]);
      const mod = await generateModule(d.file, d.fns, d.sources, true);
      expect(tokens(mod.js!)).toBe(tokens(transpiled(mod.ts)));
      expect(tokens(mod.wgslJs!)).toBe(tokens(transpiled(mod.wgslTs)));
      // No WGSL in the module a CPU user loads.
      expect(mod.js).not.toMatch(/@compute|var<storage/);
      const name = path.basename(file, ".est");
      expect(mod.js).toContain(`import("./${name}.wgsl.js")`);
      // Every shader appears once in the sibling: no text of a const repeats another's.
      const shaders = [...mod.wgslJs!.matchAll(/^const ([\w$]+) = `([^`]*)`;$/gm)].map((m) => m[2]!);
      expect(shaders.length).toBeGreaterThan(0);
      expect(new Set(shaders).size).toBe(shaders.length);
    });
  }

  it("unwrapInitializer drops only a pair of parentheses around a whole initializer", () => {
    expect(unwrapInitializer("const v = (a ? b : c);")).toBe("const v = a ? b : c;");
    expect(unwrapInitializer("  let v1 = (f(x) === 0 ? 1 : Math.exp(h * Math.log(x)));")).toBe("  let v1 = f(x) === 0 ? 1 : Math.exp(h * Math.log(x));");
    // The first parenthesis closes before the end: nothing to drop.
    expect(unwrapInitializer("const v = (a + b) * (c + d);")).toBe("const v = (a + b) * (c + d);");
    expect(unwrapInitializer("b0[i] = (a ? b : c);")).toBe("b0[i] = (a ? b : c);");
    expect(unwrapInitializer("const v: number = (a ? 1 : 1);")).toBe("const v: number = a ? 1 : 1;");
  });

  it("stripTypes drops non-null assertions, keeps logical nots, inequalities and comments", () => {
    expect(stripTypes("const v = b0[i]! + f(x)! * n!;")).toBe("const v = b0[i] + f(x) * n;");
    expect(stripTypes("if (!(a !== b) && !c) x[0]! += 1;")).toBe("if (!(a !== b) && !c) x[0] += 1;");
    expect(stripTypes("  // keep this! as written")).toBe("  // keep this! as written");
    expect(stripTypes("    const v40: number = v20 !== 0 ? h36 : v39!;")).toBe("    const v40 = v20 !== 0 ? h36 : v39;");
  });

  it("withoutBoundsGuard removes the guard lines of a vec4 kernel and nothing else", () => {
    const code = ["fn main() {", "  let idx = gid.x;", "  let total = n;", "  if (idx >= (total + 3u) / 4u) { return; }", "  b1[idx] = b0[idx];", "}"].join("\n");
    expect(withoutBoundsGuard(code)).toBe(["fn main() {", "  let idx = gid.x;", "  b1[idx] = b0[idx];", "}"].join("\n"));
  });
});

describe("the WGSL sibling is loaded only for WebGPU", () => {
  it("a CPU call runs without the sibling file; the first webgpu call loads it and agrees with the cpu", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-lazy-"));
    try {
      fs.mkdirSync(path.join(dir, "node_modules"));
      fs.symlinkSync(root, path.join(dir, "node_modules", "estc"), "dir");
      execFileSync("node", [path.join(root, "bin/estc.js"), "build", path.join(root, "examples/quickstart/binary.est"), "--out-dir", path.join(dir, "out"), "--emit", "js"]);
      const script = (device: string) => `import { tensor } from "estc/runtime";
${device === "webgpu" ? 'import { webgpu } from "estc/runtime";\nconst device = await webgpu();' : "const device = undefined;"}
import { binary_dense } from "./out/binary.js";
const x = tensor(new Float32Array([0.5, -0.05, 2, -1, 0, 1.2]), [2, 3]);
const w = tensor(new Float32Array([1, 1, 1, -1, 1, 1, -1, -1, -1, -1, -1, 1]), [3, 4]);
const y = await binary_dense.forward({ x, w }, device === undefined ? {} : { device });
console.log(JSON.stringify({ y: Array.from(await y.data()), loaded: binary_dense.spec.wgsl !== undefined }));
${device === "webgpu" ? "device.destroy?.();" : ""}
`;
      fs.writeFileSync(path.join(dir, "cpu.mjs"), script("cpu"));
      fs.writeFileSync(path.join(dir, "gpu.mjs"), script("webgpu"));
      const sibling = path.join(dir, "out/binary.wgsl.js");
      const kept = fs.readFileSync(sibling, "utf8");
      fs.rmSync(sibling);
      // sign(x) @ sign(w), by hand (sign(0) = +1).
      const want = [-1, -1, 1, 1, -1, -1, -3, 1];
      expect(JSON.parse(execFileSync("node", ["cpu.mjs"], { cwd: dir, encoding: "utf8" }))).toEqual({ y: want, loaded: false });
      const env = { ...process.env, EGL_PLATFORM: process.env["EGL_PLATFORM"] ?? "surfaceless" };
      // Without the sibling, a webgpu call is a runtime error that says what is missing.
      const missing = spawnSync("node", ["gpu.mjs"], { cwd: dir, encoding: "utf8", env });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/error\[E6\d{3}\]: binary_dense \(.*binary\.est:\d+\): cannot load the module's WGSL kernels \(the \.wgsl\.js file estc build wrote beside it\): .*binary\.wgsl\.js/);
      fs.writeFileSync(sibling, kept);
      const gpu = JSON.parse(execFileSync("node", ["gpu.mjs"], { cwd: dir, encoding: "utf8", env, stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n").pop()!);
      expect(gpu).toEqual({ y: want, loaded: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
