/**
 * Caller-chosen text in messages (issue 17, items 1 and 12): an input or option key, a `wrt`
 * name, a string value, a `cpu()` option and `estc plot`'s module and paths may hold any
 * characters; each message shows control characters and line terminators as `\u{…}` (or, in a
 * quoted string value, `\uXXXX`), so a message cannot recolour a terminal, move its cursor or
 * split a log line. The keys hold ESC `[31m` (red) and U+2028 (a JavaScript line terminator).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cpu, tensor } from "estc/runtime";
import { runCli } from "../../cli/estc.js";
import { buildModule } from "../helpers/build.js";
import { ensureDist } from "../helpers/dist.js";

beforeAll(() => ensureDist());

const hostile = "k\u001b[31m\u2028z";
const shown = "'k\\u{1B}[31m\\u{2028}z'";
/** Every code point a terminal acts on or a JavaScript parser reads as a line end. */
const raw = /[\0-\x1f\x7f-\x9f\u2028\u2029]/u;

async function message(call: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await call();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error("no error");
}

const src = `fn f(x: f32[N], s: f32 = 1.0) -> f32 {\n  return sum(x * s)\n}\n`;

describe("runtime messages escape the caller's keys", () => {
  it("an unknown input, an unknown option and a wrt name", async () => {
    const { mod } = await buildModule(src);
    const x = tensor(new Float32Array([1, 2]), [2]);
    const cases = [
      { call: () => mod["f"].forward({ x, [hostile]: x }), code: "E6011", text: `f: unknown input ${shown}` },
      { call: () => mod["f"].forward({ x }, { [hostile]: 1 }), code: "E6012", text: `f: unknown option ${shown}` },
      { call: () => mod["f"].valueAndGrad({ x }, { wrt: [hostile] }), code: "E6020", text: `${shown} is not an input of f` },
    ];
    for (const c of cases) {
      const got = await message(c.call);
      expect(got.message, c.text).toContain(c.text);
      expect(raw.test(got.message), got.message).toBe(false);
      expect(got.code).toBe(c.code);
    }
  });

  it("a string value is quoted with its separators escaped too", async () => {
    const { mod } = await buildModule(src);
    const got = await message(() => mod["f"].forward({ x: tensor(new Float32Array([1]), [1]) }, { s: `a\u2028\u001bb` }));
    expect(got.message).toContain('"a\\u2028\\u001bb"');
    expect(raw.test(got.message), got.message).toBe(false);
  });

  it("cpu() with an unknown option", async () => {
    const got = await message(() => cpu({ [hostile]: 1 } as never));
    expect(got).toEqual({ code: "E6012", message: expect.stringContaining(`cpu(): unknown option ${shown}`) });
    expect(raw.test(got.message)).toBe(false);
  });
});

describe("estc plot shows the caller's module and paths escaped", () => {
  const root = path.resolve(import.meta.dirname, "../..");
  const out = path.join(root, "tests/.tmp/plot-escapes", `out${hostile}`);

  it("the paths it wrote", () => {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    const r = runCli(["plot", "std/binary", "--out-dir", out]);
    expect(r.code, r.stderr).toBe(0);
    // One line per file written: the separator inside the folder's name does not split a line.
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.length).toBe(fs.readdirSync(out).length + r.stdout.split("\nskipped ").length - 1);
    expect(lines[0]).toContain("outk\\u{1B}[31m\\u{2028}z/");
    expect(raw.test(r.stdout.replaceAll("\n", ""))).toBe(false);
  });

  it("a module it cannot find and an option it does not know", () => {
    const missing = runCli(["plot", `./no${hostile}.est`, "--out-dir", out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("./nok\\u{1B}[31m\\u{2028}z.est");
    const option = runCli(["plot", `--x${hostile}`]);
    expect(option.stderr).toContain("unknown option '--xk\\u{1B}[31m\\u{2028}z'");
    for (const r of [missing, option]) expect(raw.test(r.stderr.replaceAll("\n", ""))).toBe(false);
  });
});
