/**
 * estc as a user gets it: the packed tarball installed into a fresh ESM project, the README's
 * "Use estc in your project" section followed as written (its files, then its commands), plus
 * what a user does next — `--emit js`, every call form typed under `tsc --strict` without
 * `skipLibCheck`, and `webgpu()` without the optional `webgpu` package. The numbers are checked
 * against sign and the straight-through estimators worked by hand.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPackedEstc, readmeSection, run, type InstalledProject } from "./project.js";

/** What a user writes next (not in the README): every call form, typed; built by the README's tsc. */
const calls = `import { EstcRuntimeError, tensor, type Tensor } from "estc/runtime";
import { pair, score } from "./gen/model.js";
// The --emit js module's .d.ts, type-only (tsc copies no .js; plain.mjs runs that module).
import type { score as scoreJs } from "./gen-js/model.js";

const x = tensor(new Float32Array([0.5, -2, 0, -0.3]), [4]);
const w = tensor(new Float32Array([1, 2, 3, 4]), [4]);
const list = async (t: Tensor): Promise<number[]> => Array.from(await t.data());
const ones = () => tensor(new Float32Array(4).fill(1), [4]);

const value: Tensor = await score.forward({ x, w });
// Both forms of the module declare the same export.
const sameType: typeof scoreJs = score;
export async function typedAsJs(f: typeof scoreJs): Promise<Tensor> {
  // @ts-expect-error not an input of score
  await f.forward({ x, w, v: x });
  return f.forward({ x, w }, { wrt: ["w"] });
}
const onlyW = await score.valueAndGrad({ x, w }, { wrt: ["w"] });
// @ts-expect-error only w was asked for
void onlyW.grads.x;
const [s, twice] = await pair.forward({ x });
// @ts-expect-error pair returns two tensors
const [, , third] = await pair.forward({ x });
void third;
// @ts-expect-error pair's result is not a scalar: valueAndGrad is not offered
void pair.valueAndGrad;
const paired = await pair.vjp({ x }, [ones(), ones()]);
const { out, pullback } = await score.vjpFn({ x, w }, { wrt: ["x"] });
const back = await pullback(tensor(new Float32Array([2]), []));
let code = "";
try {
  // @ts-expect-error w is missing
  await score.forward({ x });
} catch (e) {
  if (e instanceof EstcRuntimeError) code = e.code;
}
console.log(JSON.stringify({
  value: await list(value), same: sameType === score, dw: await list(onlyW.grads.w), s: await list(s), twice: await list(twice),
  paired: await list(paired.x), out: await list(out), back: await list(back.x), code,
}));
`;

const readme = readmeSection();
let project: InstalledProject;

// x = [0.5, -2, 0, -0.3], w = [1, 2, 3, 4] (the README's main.ts). sign(0) = +1.
const sign = [1, -1, 1, -1];
// score = Σ sign(x)·w; ClippedSTE(t = 1): d/dx = w·1[|x| <= 1], so x = -2 gets 0; d/dw = sign(x).
const score = 1 * 1 - 1 * 2 + 1 * 3 - 1 * 4;
const dScoreDx = [1, 0, 3, 4];

beforeAll(async () => {
  project = await installPackedEstc(readme.files.get("package.json")!);
  for (const [file, text] of readme.files) {
    if (file === "package.json") continue;
    fs.mkdirSync(path.dirname(path.join(project.dir, file)), { recursive: true });
    fs.writeFileSync(path.join(project.dir, file), text);
  }
  fs.writeFileSync(path.join(project.dir, "src/calls.ts"), calls);
}, 180_000);

afterAll(() => project?.dispose());

describe("the README's 'Use estc in your project', run in a fresh project", () => {
  it("names the install line, ESM, the build script and the tsconfig it relies on", () => {
    expect(readme.text).toContain("npm install estc ");
    expect(readme.text).toContain("ERR_MODULE_NOT_FOUND: Cannot find package 'estc'");
    expect(JSON.parse(readme.files.get("package.json")!)).toMatchObject({ type: "module", scripts: { "build:est": "estc build src/model.est --out-dir src/gen" } });
    const tsconfig = JSON.parse(readme.files.get("tsconfig.json")!);
    expect(tsconfig.compilerOptions).toMatchObject({ module: "nodenext", strict: true });
    expect(tsconfig.compilerOptions.skipLibCheck).toBeUndefined();
    // @webgpu/types builds on the DOM's types: the default lib, or one that lists "dom".
    expect(tsconfig.compilerOptions.lib ?? ["dom"]).toContain("dom");
    expect(readme.commands).toEqual(["npm run build", "npm start"]);
  });

  it("installs without Dawn: webgpu is an optional peer, and the tarball ships LICENSE, docs and the stdlib", () => {
    const modules = path.join(project.dir, "node_modules");
    expect(fs.existsSync(path.join(modules, "webgpu"))).toBe(false);
    for (const shipped of ["LICENSE", "docs/runtime.md", "docs/language.md", "stdlib/std/binary.est", "dist/runtime/index.d.ts"]) {
      expect(fs.existsSync(path.join(modules, "estc", shipped)), shipped).toBe(true);
    }
    // Without Dawn's binaries an install is tens of MB, not the 196 MB it was with them.
    expect(project.installedBytes).toBeLessThan(80e6);
  });

  it("fails as the README says for a script outside the project: Node finds no 'estc' there", async () => {
    const outside = path.dirname(project.dir);
    const failure = await run("node", ["--input-type=module", "-e", 'await import("estc/runtime")'], outside).then(
      () => "imported",
      (e: Error) => e.message,
    );
    expect(failure).toContain("ERR_MODULE_NOT_FOUND");
    expect(failure).toContain("Cannot find package 'estc'");
  });

  it("builds with `npm run build` (estc, then tsc --strict with no skipLibCheck) and `npm start` prints the README's line", async () => {
    // --emit js first: src/calls.ts imports its .d.ts, so the README's one tsc checks both forms.
    await run("npx", ["estc", "build", "src/model.est", "--out-dir", "src/gen-js", "--emit", "js"], project.dir);
    const [build, start] = readme.commands;
    await run("sh", ["-c", build!], project.dir);
    expect(fs.existsSync(path.join(project.dir, "src/gen/model.ts"))).toBe(true);
    expect(fs.existsSync(path.join(project.dir, "dist/main.js"))).toBe(true);
    const { stdout } = await run("sh", ["-c", start!], project.dir);
    const printed = stdout.trim().split("\n").pop()!; // after npm's "> start" banner
    // The README shows the output after `# `.
    expect(readme.text).toContain(`# ${printed}`);
    expect(JSON.parse(printed)).toEqual({ value: [score], dx: dScoreDx, s: sign, twice: sign.map((v) => 2 * v) });
  }, 120_000);

  it("types every call form strictly (src/calls.ts, compiled by that build): gradients by name, tuples as tuples, no valueAndGrad on a non-scalar fn", async () => {
    const got = JSON.parse((await run("node", ["dist/calls.js"], project.dir)).stdout);
    expect(got).toEqual({
      value: [score],
      same: true,
      dw: sign,
      s: sign,
      twice: sign.map((v) => 2 * v),
      // pair's cotangents (1, 1) through s and 2s, the plain STE passing both: 1 + 2.
      paired: [3, 3, 3, 3],
      out: [score],
      back: dScoreDx.map((v) => 2 * v),
      code: "E6010",
    });
  });

  it("runs the --emit js module (model.js + model.d.ts) from plain JavaScript", async () => {
    fs.writeFileSync(
      path.join(project.dir, "plain.mjs"),
      `import { tensor } from "estc/runtime";
import { score } from "./src/gen-js/model.js";
const x = tensor(new Float32Array([0.5, -2, 0, -0.3]), [4]);
const w = tensor(new Float32Array([1, 2, 3, 4]), [4]);
const { value, grads } = await score.valueAndGrad({ x, w });
console.log(JSON.stringify({ value: Array.from(await value.data()), dx: Array.from(await grads.x.data()), dw: Array.from(await grads.w.data()) }));
`,
    );
    expect(JSON.parse((await run("node", ["plain.mjs"], project.dir)).stdout)).toEqual({ value: [score], dx: dScoreDx, dw: sign });
  });

  it("webgpu() without the webgpu package is E6015 saying 'npm install webgpu'; the CPU path never loads it", async () => {
    fs.writeFileSync(
      path.join(project.dir, "gpu.mjs"),
      `import { webgpu } from "estc/runtime";
try {
  await webgpu();
  console.log(JSON.stringify({ opened: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }));
}
`,
    );
    const got = JSON.parse((await run("node", ["gpu.mjs"], project.dir)).stdout);
    expect(got.name).toBe("EstcRuntimeError");
    expect(got.code).toBe("E6015");
    expect(got.message).toContain("run 'npm install webgpu'");
    // The CPU runs above had no webgpu package to load, and doctor says what to install.
    const doctor = await run("npx", ["estc", "doctor"], project.dir).catch((e: Error) => ({ stdout: e.message }));
    expect(doctor.stdout).toContain("WebGPU in Node runs on Dawn, the 'webgpu' package: npm install webgpu");
    expect(doctor.stdout).not.toContain("llvmpipe"); // Mesa is no help before Dawn is installed
  });
});
