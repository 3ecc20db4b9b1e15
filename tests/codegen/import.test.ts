/**
 * A user's view: `estc build --emit js` into a folder outside the checkout, where estc is an
 * installed dependency, then a plain Node script imports the module and trains one step.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");

describe("an emitted .js module imports from a temp dir", () => {
  it("builds, imports and runs forward, vjp and valueAndGrad", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-import-"));
    try {
      fs.mkdirSync(path.join(dir, "node_modules"));
      fs.symlinkSync(root, path.join(dir, "node_modules", "estc"), "dir");
      const build = execFileSync("node", [path.join(root, "bin/estc.js"), "build", path.join(root, "examples/quickstart/binary.est"), "--out-dir", path.join(dir, "out"), "--emit", "js"], { encoding: "utf8" });
      expect(build).toContain("binary.js");
      expect(fs.readFileSync(path.join(dir, "out/binary.d.ts"), "utf8")).toContain("export declare const binary_dense: NonScalarEstFunction<\"x\" | \"w\", \"o\", Tensor, \"x\" | \"w\">");
      fs.writeFileSync(
        path.join(dir, "main.mjs"),
        `import { tensor } from "estc/runtime";
import { binary_dense, loss } from "./out/binary.js";
const x = tensor(new Float32Array([0.5, -0.05, 2, -1, 0, 1.2]), [2, 3]);
const w = tensor(new Float32Array([1, 1, 1, -1, 1, 1, -1, -1, -1, -1, -1, 1]), [3, 4]);
const y = await binary_dense.forward({ x, w });
const dy = tensor(new Float32Array(8).fill(1), [2, 4]);
const g = await binary_dense.vjp({ x, w }, dy, { o: 3 });
const labels = tensor(new Int32Array([1, 3]), [2]);
const { value } = await loss.valueAndGrad({ x, w, labels });
console.log(JSON.stringify({ y: Array.from(await y.data()), gx: Array.from(await g.x.data()), loss: (await value.data())[0] }));
`,
      );
      const out = JSON.parse(execFileSync("node", ["main.mjs"], { cwd: dir, encoding: "utf8" }));
      // sign(x) = [+1, -1, +1; -1, +1, +1] (sign(0) = +1); sign(w) rows [+1,-1,+1,-1], [+1,+1,-1,-1], [+1,+1,-1,-1].
      // xb = sign(x) = [[1, -1, 1], [-1, 1, 1]] (sign(0) = +1); w is already ±1.
      expect(out.y).toEqual([-1, -1, 1, 1, -1, -1, -3, 1]);
      expect(Number.isFinite(out.loss)).toBe(true);
      // g = dy @ sign(w)^T = row sums of sign(w) = [2, 0, -2]; ReSTE(o=3, t=1.5, m=0.1) slopes by hand:
      // (1/3)·0.5^(-2/3) = 0.5291337, (1/3)·1^(-2/3) = 1/3, (1/3)·1.2^(-2/3) = 0.2951829; |2| > t gives 0.
      const want = [2 * 0.5291337, 0, 0, 2 / 3, 0, -2 * 0.2951829];
      out.gx.forEach((v: number, i: number) => expect(v).toBeCloseTo(want[i]!, 5));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("types each export by its inputs, scalars, result and gradient names, wrt included (tsc --strict)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-types-"));
    try {
      fs.mkdirSync(path.join(dir, "node_modules"));
      fs.symlinkSync(root, path.join(dir, "node_modules", "estc"), "dir");
      // The quickstart plus a fn with a tuple result, built as the user's own file.
      const quickstart = fs.readFileSync(path.join(root, "examples/quickstart/binary.est"), "utf8");
      fs.writeFileSync(path.join(dir, "binary.est"), `${quickstart}\nfn stats(x: f32[N]) -> (f32, f32, f32[N]) { return (mean(x), max(x), x * 2) }\n`);
      execFileSync("node", [path.join(root, "bin/estc.js"), "build", path.join(dir, "binary.est"), "--out-dir", path.join(dir, "out"), "--emit", "js"]);
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
      fs.writeFileSync(
        path.join(dir, "main.ts"),
        `import type { Tensor } from "estc/runtime";
import { binary_dense, loss, stats } from "./out/binary.js";
declare const x: Tensor, w: Tensor, labels: Tensor, v: Tensor;
export async function step(): Promise<Tensor[]> {
  // A tuple result is a tuple: each element a Tensor under noUncheckedIndexedAccess.
  const [mean, top, twice] = await stats.forward({ x: v });
  const three: [Tensor, Tensor, Tensor] = [mean, top, twice];
  // @ts-expect-error stats returns three tensors, not four
  const [, , , fourth] = await stats.forward({ x: v });
  void fourth;
  // @ts-expect-error binary_dense's result is a matrix: valueAndGrad needs a scalar result
  await binary_dense.valueAndGrad({ x, w });
  // @ts-expect-error nor is a tuple a scalar
  await stats.valueAndGrad({ x: v });
  const y: Tensor = await binary_dense.forward({ x, w }, { o: 2 }); // one result: a Tensor, no cast
  const all = await loss.valueAndGrad({ x, w, labels });
  const some = await loss.valueAndGrad({ x, w, labels }, { o: 2, wrt: ["w"] });
  // @ts-expect-error only w was asked for
  void some.grads.x;
  // @ts-expect-error labels is i32 and has no gradient
  await loss.vjp({ x, w, labels }, y, { wrt: ["labels"] });
  // @ts-expect-error not an option
  await binary_dense.forward({ x, w }, { oo: 2 });
  const { pullback } = await binary_dense.vjpFn({ x, w }, { wrt: ["x"] });
  const gx: Tensor = (await pullback(y)).x;
  return [all.grads.x, all.grads.w, some.grads.w, gx, ...three];
}
`,
      );
      const tsc = path.join(root, "node_modules/typescript/bin/tsc");
      // No --skipLibCheck: the runtime's shipped .d.ts files are checked as a user's tsc checks them.
      const flags = ["--noEmit", "--strict", "--noUncheckedIndexedAccess", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "main.ts"];
      // Exit status 0: every line type-checks and every @ts-expect-error meets its error.
      execFileSync("node", [tsc, ...flags], { cwd: dir, encoding: "utf8" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
