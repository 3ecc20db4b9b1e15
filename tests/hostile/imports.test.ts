/**
 * Hostile imports (issue 17, item 3): a module path can name only a stdlib module or a `.est`
 * file. `std/…` never leaves the stdlib (the `std/../../examples/…` escape loaded a repository
 * file before), empty and malformed paths are E2006 at the path's span, a relative path reads
 * only `.est` files (a link to another kind of file is not followed), and an entry file that is
 * not `.est` is refused rather than parsed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseModulePath } from "../../compiler/module-path.js";
import { checkFiles } from "../../compiler/pipeline.js";
import { nodeHost } from "../../compiler/resolve.js";

const root = path.resolve(import.meta.dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-imports-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Checks a main.est importing `spec` (file in `dir`, stdlib from the repository). */
function checkImport(spec: string, names = "STE") {
  const text = `import { ${names} } from "${spec}"\nfn f(x: f32[N]) -> f32[N] { return x }\n`;
  fs.writeFileSync(path.join(dir, "main.est"), text);
  const r = checkFiles(["main.est"], nodeHost(dir));
  const start = text.indexOf('"');
  return { r, fromSpan: { start, end: start + spec.length + 2 } };
}

describe("module paths", () => {
  it("std/ paths cannot climb out of the stdlib (the file they would reach exists)", () => {
    const spec = "std/../../examples/quickstart/binary";
    // The escape target is real: before the fix this import loaded it and reported E2007 against it.
    const relFromStd = path.join(root, "stdlib", spec + ".est");
    expect(fs.existsSync(relFromStd)).toBe(true);
    const { r, fromSpan } = checkImport(spec, "ClippedSTE");
    expect(r.diagnostics.map((d) => [d.code, d.span.start, d.span.end])).toEqual([["E2006", fromSpan.start, fromSpan.end]]);
    expect(r.diagnostics[0]!.message).toContain("`..` after the start");
    expect(r.sources.get(path.relative(dir, relFromStd))).toBeUndefined();
  });

  const malformed: [string, string][] = [
    ["", "empty module path"],
    ["std/", "names no module"],
    ["std", "names no module"],
    ["./", "names no module"],
    ["../", "names no module"],
    ["std/.est", "names no module"],
    ["std//binary", "empty folder name"],
    ["std/./binary", "`.` after the start"],
    ["./a/../b", "`..` after the start"],
    ["/etc/passwd", "is absolute"],
    ["C:/est/x", "is absolute"],
    ["std\\binary", "backslash"],
    ["std/bin\u0000ary", "control character"],
    ["std/bin\u001bary", "control character"],
    ["./x\u007f", "control character"],
    ["rules", 'must start with "std/", "./" or "../"'],
  ];
  for (const [spec, why] of malformed) {
    it(`${JSON.stringify(spec)} is E2006 (${why}) at the path, with a hint`, () => {
      const { r, fromSpan } = checkImport(spec);
      expect(r.diagnostics).toHaveLength(1);
      const d = r.diagnostics[0]!;
      expect([d.code, d.span.start, d.span.end]).toEqual(["E2006", fromSpan.start, fromSpan.end]);
      expect(d.message).toContain(why);
      expect(d.hint).toBeTruthy();
      // No raw control character reaches the message (a terminal would interpret it).
      expect(d.message).not.toMatch(/[\u0000-\u001f\u007f]/);
    });
  }

  it("normalises std paths: `std/binary` and `std/binary.est` are one module", () => {
    expect(parseModulePath("std/binary")).toEqual({ kind: "std", id: "std/binary" });
    expect(parseModulePath("std/binary.est")).toEqual({ kind: "std", id: "std/binary" });
    expect(parseModulePath("./../../lib/x.est")).toEqual({ kind: "relative", up: 2, names: ["lib", "x"] });
    const { r } = checkImport("std/binary.est");
    expect(r.diagnostics).toEqual([]);
  });

  it("relative paths read .est files only: the suffix is added, a link to another file is not followed", () => {
    fs.writeFileSync(path.join(dir, "secret.txt"), "estimator STE for sign(x) { grad x = g }\n");
    // "./secret.txt" means ./secret.txt.est, which does not exist.
    const plain = checkImport("./secret.txt");
    expect(plain.r.diagnostics.map((d) => d.code)).toEqual(["E2004"]);
    expect(plain.r.diagnostics[0]!.hint).toContain("secret.txt.est");
    // A .est name that links to the .txt file is not read either.
    fs.symlinkSync(path.join(dir, "secret.txt"), path.join(dir, "link.est"));
    const linked = checkImport("./link");
    expect(linked.r.diagnostics.map((d) => d.code)).toEqual(["E2004"]);
    // The same link target under a .est name is read: the rule is about the real file's kind.
    fs.copyFileSync(path.join(dir, "secret.txt"), path.join(dir, "real.est"));
    fs.symlinkSync(path.join(dir, "real.est"), path.join(dir, "alias.est"));
    expect(checkImport("./alias").r.diagnostics).toEqual([]);
  });
});

describe("entry files", () => {
  it("an entry that is not .est is refused, not parsed", () => {
    fs.writeFileSync(path.join(dir, "prog.txt"), "fn f(x: f32[N]) -> f32[N] { return x }\n");
    const r = checkFiles(["prog.txt"], nodeHost(dir));
    expect(r.diagnostics.map((d) => [d.code, d.span.file, d.message])).toEqual([["E2000", "prog.txt", '"prog.txt" is not a .est file']]);
    expect(r.sources.get("prog.txt")).toBeUndefined();
  });

  it("an unreadable entry names the path and the reason", () => {
    const missing = checkFiles(["nope.est"], nodeHost(dir));
    expect(missing.diagnostics.map((d) => [d.code, d.message])).toEqual([["E2000", "cannot read nope.est: no such file or folder (ENOENT)"]]);
    fs.mkdirSync(path.join(dir, "folder.est"));
    const folder = checkFiles(["folder.est"], nodeHost(dir));
    expect(folder.diagnostics.map((d) => [d.code, d.message])).toEqual([["E2000", "cannot read folder.est: it is not a file"]]);
  });
});
