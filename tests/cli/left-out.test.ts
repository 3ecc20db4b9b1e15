/**
 * A helper fn whose result is not a scalar and that uses an estimator reading `cost`
 * (ReinforceBernoulli) has no gradient of its own (E4030) while the scalar loss that calls it has
 * one: `estc check` warns at the user's `backward` (the stdlib line a note), `estc build` leaves
 * the helper out and builds the loss, and `--fn` picks fns (the helper alone fails with the error).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli, runCliAsync } from "../../cli/estc.js";
import { tensor } from "../../runtime/tensor.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const dir = path.join(root, "tests/.tmp/left-out");
const src = `import { ReinforceBernoulli } from "std/stochastic"

fn sample(p: f32[N]) -> f32[N] {
  return bernoulli(p) backward ReinforceBernoulli
}

fn loss(p: f32[N]) -> f32 {
  return sum(sample(p))
}
`;
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, "m.est");
fs.writeFileSync(file, src);
const rel = path.relative(process.cwd(), file);
const col = src.split("\n")[3]!.indexOf("bernoulli") + 1;

describe("a helper without a gradient of its own", () => {
  it("estc check: exit 0 with warning E4030 at the user's backward, the stdlib's cost line as a note", () => {
    const r = runCli(["check", rel]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${rel}:4:${col}: warning[E4030]: fn 'sample' is left out of the module: estimator 'ReinforceBernoulli' reads cost`);
    expect(r.stdout).toMatch(/stdlib\/std\/stochastic\.est:\d+:\d+: note: 'ReinforceBernoulli' reads cost here\n\s+\d+ \|\s+grad p = \(cost - b\)/);
    expect(r.stdout).toMatch(/ok: 1 file, 2 items\n$/);
  });

  it("estc build: the loss is built and runs, the helper is left out with the warning", async () => {
    const out = path.join(dir, "out");
    const r = await runCliAsync(["build", rel, "--out-dir", path.relative(process.cwd(), out), "--emit", "js"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${rel}:4:${col}: warning[E4030]`);
    const mod = await import(pathToFileURL(path.join(out, "m.js")).href);
    expect(Object.keys(mod)).toEqual(["loss"]);
    // p = 1 draws 1 everywhere, p = 0 draws 0: the sum counts the ones.
    const value = await mod.loss.forward({ p: tensor(new Float32Array([1, 0, 1, 1]), [4]) });
    expect(Array.from(await value.data())).toEqual([3]);
  });

  it("--fn picks fns: the helper alone is error E4030 at the same place; an unknown name is E5011", async () => {
    const out = path.relative(process.cwd(), path.join(dir, "out2"));
    const alone = await runCliAsync(["build", rel, "--out-dir", out, "--fn", "sample"]);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain(`${rel}:4:${col}: error[E4030]: estimator 'ReinforceBernoulli' reads cost`);
    expect(fs.existsSync(path.join(dir, "out2"))).toBe(false);
    const unknown = await runCliAsync(["build", rel, "--out-dir", out, "--fn", "los"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error\[E5011\]: no fn named 'los' in .*m\.est/);
    const picked = await runCliAsync(["build", rel, "--out-dir", out, "--fn", "loss"]);
    expect(picked).toMatchObject({ code: 0, stderr: "" });
  });
});
