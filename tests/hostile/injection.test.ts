/**
 * No code injection: every C0/C1 control character, Unicode line terminator, bidirectional
 * control and the BOM, fed through each place user text reaches generated code or a terminal —
 * a `//` comment on a kernel's source line, a `///` doc comment, the entry file's path, an import
 * path string and a name. Each program either builds into a module whose `.ts`, `.js`, `.d.ts` and
 * `.wgsl` hold no such character raw, that imports without running the payload (which would set a
 * global) and type-checks, or fails with a diagnostic that prints no such character raw.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { visibleText } from "../../compiler/escape.js";
import { tensor } from "../../runtime/index.js";
import { check, compile, scratch, typecheck, writeAndImport, type Compiled } from "./generate.js";

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** C0 (TAB, LF, VT, FF, CR, ESC, BEL …), DEL, C1 (NEL …), LS, PS, the bidi controls and the BOM. */
const CODE_POINTS = [
  ...range(0x00, 0x1f),
  0x7f,
  ...range(0x80, 0x9f),
  0x2028,
  0x2029,
  0x061c,
  0x200e,
  0x200f,
  ...range(0x202a, 0x202e),
  ...range(0x2066, 0x2069),
  0xfeff,
];

/** Any of CODE_POINTS but TAB and LF (the only two generated text and diagnostics may hold raw). */
const RAW = /[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Where a character goes: a comment on the line a kernel comes from, a doc comment, a folder of
 * the entry file's path (copied into the module's header, the kernel comments and the spec), and
 * `header`: a path whose only copy is the header line, since the kernels come from an imported
 * file — the shape of the exploit that ran its payload on import before this suite existed.
 * Each payload would set `globalThis.__estcInjected`.
 */
type Place = "comment" | "doc" | "file" | "header";

function program(c: string, where: Place[]): { files: Record<string, string>; entry: string } {
  const comment = where.includes("comment") ? ` // c ${c} globalThis.__estcInjected = "comment"; //` : "";
  const doc = where.includes("doc") ? `/// doc ${c} */ globalThis.__estcInjected = "doc"; /*\n` : "";
  if (where.includes("header")) {
    const entry = `p${c}globalThis.__estcInjected = "header";/*/a.est`;
    const main = `${doc}import { g } from "../../q/b"\nfn f(x: f32[N], o: f32 = 2.0) -> f32[N] { return g(x, o) }\n`;
    return { entry, files: { [entry]: main, "q/b.est": `fn g(x: f32[N], o: f32) -> f32[N] {\n  return sign(x) * o${comment}\n}\n` } };
  }
  const entry = `${where.includes("file") ? `p${c}globalThis.__estcInjected = "file";${c}` : "d"}/a.est`;
  return { entry, files: { [entry]: `${doc}fn f(x: f32[N], o: f32 = 2.0) -> f32[N] {\n  return sign(x) * o${comment}\n}\n` } };
}

/**
 * A failure must be an error diagnostic with a code, printed with no raw control character
 * (soft assertions: one bad character does not hide what the others do).
 */
function expectDiagnostic(r: Compiled, label: string): void {
  expect.soft(r.diagnostics.length, label).toBeGreaterThan(0);
  for (const d of r.diagnostics) expect.soft(d.code, label).toMatch(/^E[1-5]\d{3}$/);
  expect.soft(RAW.exec(r.rendered), `${label}: ${JSON.stringify(r.rendered)}`).toBeNull();
}

const dir = scratch("hostile-injection");
const built: { label: string; module: NonNullable<Compiled["module"]>; c: string; where: Place[] }[] = [];
const failures: string[] = [];
afterAll(() => {
  delete (globalThis as Record<string, unknown>)["__estcInjected"];
});

describe("user text in generated code", () => {
  it(`builds or rejects ${CODE_POINTS.length} characters × comment, doc comment, file path and header`, async () => {
    const crashes: string[] = [];
    /** Compiles; an exception (estc crashing on the input) is recorded, not thrown, so the other places still run. */
    const attempt = async (cp: number, where: Place[]): Promise<Compiled | undefined> => {
      const p = program(String.fromCodePoint(cp), where);
      try {
        return await compile(p.files, p.entry);
      } catch (e) {
        crashes.push(`${hex(cp)} in ${where.join(", ")}: ${String(e).split("\n")[0]}`);
        return undefined;
      }
    };
    for (const cp of CODE_POINTS) {
      const c = String.fromCodePoint(cp);
      const all: Place[] = ["comment", "doc", "file"];
      const r = await attempt(cp, all);
      if (r?.module !== undefined) {
        built.push({ label: `${hex(cp)} in ${all.join(", ")}`, module: r.module, c, where: all });
        continue;
      }
      // The character broke the program (a line break ends the comment) or estc: each place alone.
      if (r !== undefined) {
        expectDiagnostic(r, `${hex(cp)} in all places`);
        failures.push(hex(cp));
      }
      for (const where of all) {
        const s = await attempt(cp, [where]);
        if (s?.module !== undefined) built.push({ label: `${hex(cp)} in ${where}`, module: s.module, c, where: [where] });
        else if (s !== undefined) expectDiagnostic(s, `${hex(cp)} in ${where}`);
      }
    }
    for (const cp of CODE_POINTS) {
      const h = await attempt(cp, ["header"]);
      if (h?.module !== undefined) built.push({ label: `${hex(cp)} in header`, module: h.module, c: String.fromCodePoint(cp), where: ["header"] });
      else if (h !== undefined) expectDiagnostic(h, `${hex(cp)} in header`);
    }
    expect(crashes).toEqual([]);
    // Only LF and CR end a .est comment; every other character builds in every place.
    expect(failures).toEqual(["U+000A", "U+000D"]);
    expect(built.length).toBe(CODE_POINTS.length - 2 + 2 * 1 + CODE_POINTS.length);
  });

  it("no generated file holds one of the characters raw, and the escapes are where the text was", () => {
    for (const b of built) {
      const m = b.module;
      for (const [kind, text] of Object.entries({ ts: m.ts, js: m.js!, dts: m.dts!, wgslTs: m.wgslTs, wgslJs: m.wgslJs! })) {
        expect(RAW.exec(text), `${b.label}: ${kind}`).toBeNull();
      }
      const shown = visibleText(b.c).replaceAll("*/", "*\\/");
      if (b.where.includes("comment")) {
        expect(m.ts, b.label).toContain(`// c ${shown} globalThis.__estcInjected = "comment"; //`);
        expect(m.wgslJs, b.label).toContain(`// c ${shown} globalThis.__estcInjected = "comment"; //`);
      }
      if (b.where.includes("doc")) expect(m.dts, b.label).toContain(` * doc ${shown} *\\/ globalThis.__estcInjected = "doc"; /*`);
      if (b.where.includes("file")) expect(m.ts.split("\n")[0], b.label).toBe(`// generated by estc from p${shown}globalThis.__estcInjected = "file";${shown}/a.est — do not edit`);
      if (b.where.includes("header")) expect(m.js!.split("\n")[0], b.label).toBe(`// generated by estc from p${shown}globalThis.__estcInjected = "header";/*\\/a.est — do not edit`);
    }
  });

  it("every module imports without running a payload and computes sign(x) * 2; no user text reaches a WGSL shader", async () => {
    const x = tensor(new Float32Array([0.5, -3, 0]), [3]);
    expect(built.length).toBeGreaterThan(0);
    for (const [i, b] of built.entries()) {
      const mod = await writeAndImport(path.join(dir, String(i)), b.module).catch((e: Error) => {
        throw new Error(`${b.label}: the module does not import: ${e.message}`);
      });
      expect((globalThis as Record<string, unknown>)["__estcInjected"], b.label).toBeUndefined();
      expect(Array.from(await (await mod["f"].forward({ x })).data()), b.label).toEqual([2, -2, 2]);
      for (const w of mod["f"].spec.wgsl) expect(`${w.code}${w.unguarded ?? ""}`, b.label).not.toMatch(/globalThis|__estcInjected/);
    }
    expect(Object.keys(globalThis)).not.toContain("__estcInjected");
  });

  it("every .ts and .d.ts type-checks (tsc --strict, one run)", () => {
    expect(typecheck(dir)).toEqual([]);
  });
});

describe("user text in diagnostics", () => {
  it(`an import path or a name holding any of the ${CODE_POINTS.length} characters is an error printed with escapes`, () => {
    for (const cp of CODE_POINTS) {
      const c = String.fromCodePoint(cp);
      const cases = {
        "import path": `import { STE } from "std/bin${c}ary"\nfn f(x: f32[N]) -> f32[N] { return sign(x) backward STE }\n`,
        "fn name": `fn f${c}g(x: f32[N]) -> f32[N] { return x }\n`,
        "parameter name": `fn f(x${c}y: f32[N]) -> f32[N] { return x }\n`,
      };
      for (const [where, text] of Object.entries(cases)) expectDiagnostic(check({ "a.est": text }, "a.est"), `${hex(cp)} in ${where}`);
    }
  });

  it("an invisible character is named by its code point, and the caret stays under it", () => {
    const r = check({ "a.est": "fn f(x: f32[N]) -> f32[N] {\n  return \x1b[31mx\u2028\n}\n" }, "a.est");
    expect(r.diagnostics.map((d) => [d.code, d.message])).toContainEqual(["E1001", "unexpected character U+001B (escape)"]);
    expect(r.diagnostics.map((d) => [d.code, d.message])).toContainEqual(["E1001", "unexpected character U+2028 (line separator)"]);
    const lines = r.rendered.split("\n");
    const at = lines.findIndex((l) => l.includes("U+2028"));
    expect(lines[at + 1]).toBe("   2 |   return \\u{1B}[31mx\\u{2028}");
    expect(lines[at + 2]).toBe(`     | ${" ".repeat("  return \\u{1B}[31mx".length)}^^^^^^^^`);
  });

  it("estc check prints no ESC or BEL byte of a source to the terminal", () => {
    const file = path.join(dir, "bell.est");
    fs.writeFileSync(file, "fn f(x: f32[N]) -> f32[N] {\n  return x \x1b]0;title\x07 + \x1b[2J x\n}\n");
    const root = path.resolve(import.meta.dirname, "..", "..");
    let out = "";
    try {
      execFileSync("node", [path.join(root, "bin/estc.js"), "check", file], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      const { stdout, stderr, status } = e as { stdout: string; stderr: string; status: number };
      expect(status).toBe(1);
      out = stdout + stderr;
    }
    expect(out).toContain("error[E1001]: unexpected character U+001B (escape)");
    expect(out).toContain("error[E1001]: unexpected character U+0007 (bell)");
    expect(RAW.exec(out)).toBeNull();
  });
});

describe("estc build end to end, as the issue reported it", () => {
  it("a file named with LF and U+2028 whose comment holds U+2028 and code builds (exit 0), imports without running the code and computes", () => {
    const root = path.resolve(import.meta.dirname, "..", "..");
    const work = path.join(dir, "cli");
    fs.mkdirSync(work, { recursive: true });
    const file = path.join(work, "x\ny\u2028z.est");
    fs.writeFileSync(file, 'fn f(x: f32[N]) -> f32[N] {\n  return x * 3 // note\u2028globalThis.__estcInjected = "cli";\n}\n');
    const out = path.join(work, "out");
    const built = execFileSync("node", [path.join(root, "bin/estc.js"), "build", file, "--out-dir", out, "--emit", "js"], { encoding: "utf8", stdio: "pipe" });
    expect(RAW.exec(built)).toBeNull(); // the "wrote …" lines show the name escaped
    expect(built).toContain("x\\u{A}y\\u{2028}z.js");
    const js = path.join(out, "x\ny\u2028z.js");
    expect(RAW.exec(fs.readFileSync(js, "utf8"))).toBeNull();
    const script = `const m = await import(${JSON.stringify(pathToFileURL(js).href)});
const { tensor } = await import("estc/runtime");
const y = await m.f.forward({ x: tensor(new Float32Array([1, -2]), [2]) });
console.log(JSON.stringify({ injected: globalThis.__estcInjected ?? null, y: Array.from(await y.data()) }));`;
    fs.writeFileSync(path.join(work, "run.mjs"), script);
    const result = JSON.parse(execFileSync("node", [path.join(work, "run.mjs")], { encoding: "utf8", cwd: work }));
    expect(result).toEqual({ injected: null, y: [3, -6] });
  });
});
