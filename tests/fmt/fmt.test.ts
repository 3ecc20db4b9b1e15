/**
 * `estc fmt`: over every `.est` file of the repository, formatting is idempotent, keeps every
 * comment (same texts, same order) and gives back the same AST (spans aside), checked here with
 * the parser directly rather than with the formatter's own check; where each comment lands and
 * which parentheses stay, on hand-written inputs with their exact expected output; and the CLI
 * (in place, --check, syntax errors).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runCli } from "../../cli/estc.js";
import { formatSource } from "../../grammar/format.js";
import { parse } from "../../grammar/index.js";
import { lexer } from "../../grammar/tokens.js";
import { repoEstFiles } from "../helpers/est-files.js";

const root = path.resolve(import.meta.dirname, "..", "..");


function withoutSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutSpans);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (k !== "span" && k !== "opSpan" && k !== "fromSpan") out[k] = withoutSpans(v);
  return out;
}

function fmt(text: string): string {
  const r = formatSource(text, "t.est");
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.text!;
}

describe("every .est file of the repository", () => {
  const files = repoEstFiles();
  let formatted = 0;
  let comments = 0;
  for (const file of files) {
    it(file, () => {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      const before = parse(text, file);
      const r = formatSource(text, file);
      if (before.diagnostics.length > 0) {
        // Syntax errors: fmt refuses, with the parser's own diagnostics.
        expect(r.text).toBeUndefined();
        expect(r.diagnostics).toEqual(before.diagnostics);
        return;
      }
      if (r.text === undefined) {
        // Only a call of a non-name (check's E2010) has no printable form.
        expect(r.diagnostics.map((d) => d.code)).toEqual(["E2010"]);
        return;
      }
      const after = parse(r.text, file);
      expect(after.diagnostics).toEqual([]);
      expect(withoutSpans(after.ast)).toEqual(withoutSpans(before.ast));
      expect(after.comments.map((c) => c.text)).toEqual(before.comments.map((c) => c.text));
      expect(formatSource(r.text, file).text).toBe(r.text);
      formatted++;
      comments += before.comments.length;
    });
  }
  it("formatted most of them, with their comments", () => {
    // 197 files at the time of writing: 27 with deliberate syntax errors, 1 E2010.
    expect(files.length).toBeGreaterThan(150);
    expect(formatted).toBeGreaterThan(150);
    expect(comments).toBeGreaterThan(500);
  });
});

describe("comments anywhere", () => {
  // Whitespace is insignificant in .est, so a `// cN` line comment can go between any two tokens.
  const sources = ["examples/quickstart/binary.est", "stdlib/std/binary.est", "stdlib/std/policy.est", "tests/cases/language/estimator-template.est"];
  for (const file of sources) {
    it(`${file} with comments inserted between random tokens keeps them all, in order, idempotently`, () => {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      const ends = lexer.tokenize(text).tokens.map((t) => t.startOffset + t.image.length);
      fc.assert(
        fc.property(fc.uniqueArray(fc.constantFrom(...ends), { minLength: 1, maxLength: 12 }), fc.boolean(), (at, newlineFirst) => {
          let mangled = text;
          [...at].sort((x, y) => y - x).forEach((offset, i) => {
            mangled = mangled.slice(0, offset) + `${newlineFirst ? "\n" : " "}// c${i}\n` + mangled.slice(offset);
          });
          const r = formatSource(mangled, file);
          expect(r.diagnostics).toEqual([]);
          const before = parse(mangled, file);
          const after = parse(r.text!, file);
          expect(withoutSpans(after.ast)).toEqual(withoutSpans(before.ast));
          expect(after.comments.map((c) => c.text)).toEqual(before.comments.map((c) => c.text));
          expect(formatSource(r.text!, file).text).toBe(r.text);
        }),
        { numRuns: 15, seed: 14 },
      );
    });
  }
});

describe("where comments go", () => {
  it("keeps trailing comments on their line, aligned in runs of consecutive lines", () => {
    const src = `import { STE } from "std/binary"   // one
import { R } from "./r" // two

estimator E(t = 1.0) for sign(x) {   // the header's
  let a = abs(x)    // short
  grad x = g * (a <= t)  // longer code
} // after the body
`;
    expect(fmt(src)).toBe(`import { STE } from "std/binary" // one
import { R } from "./r"          // two

estimator E(t = 1.0) for sign(x) { // the header's
  let a = abs(x)        // short
  grad x = g * (a <= t) // longer code
} // after the body
`);
  });

  it("keeps comments between statements and items, with one blank line where there were any", () => {
    const src = `// file header


/// doc of f
// and a note
fn f(x: f32[N]) -> f32[N] {

  // first


  let y = x * 2
  // between
  let z = y + 1

  // before the end
}
// the end
`;
    expect(fmt(src)).toBe(`// file header

/// doc of f
// and a note
fn f(x: f32[N]) -> f32[N] {
  // first

  let y = x * 2
  // between
  let z = y + 1

  // before the end
}

// the end
`);
  });

  it("moves comments from inside a statement or a header above it", () => {
    const src = `fn f(x: f32[N], // the input
     k: f32 = 2.0) -> f32[N] {
  let y = x *   // scale
    k +
    1           // shift
  return y
}
`;
    expect(fmt(src)).toBe(`// the input
fn f(x: f32[N], k: f32 = 2.0) -> f32[N] {
  // scale
  let y = x * k + 1 // shift
  return y
}
`);
  });

  it("keeps a comment alone in an empty body", () => {
    expect(fmt(`estimator E for sign(x) {
  // nothing yet
}
fn g() { // header
}
`)).toBe(`estimator E for sign(x) {
  // nothing yet
}

fn g() { // header
}
`);
  });

  it("refuses (E1008) a /// comment that would join a doc comment, at its span", () => {
    const src = `/// K's doc
const K = 1 +
  /// not a doc
  2
`;
    const r = formatSource(src, "t.est");
    expect(r.text).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, src.slice(d.span.start, d.span.end)])).toEqual([["E1008", "/// not a doc"]]);
  });
});

describe("parentheses", () => {
  it("keeps the author's parentheses around operands and drops those around names and calls", () => {
    const src = `fn f(x: f32[N], w: f32[N]) -> f32[N] {
  let a = (x > 0 && w > 0) || (x < 0)
  let b = x @ (sign(w) backward STE) / 4
  let c = ((x)) + (abs(w)) * (-x)
  return (a + b) * c
}
`;
    expect(fmt(src)).toBe(`fn f(x: f32[N], w: f32[N]) -> f32[N] {
  let a = (x > 0 && w > 0) || (x < 0)
  let b = x @ (sign(w) backward STE) / 4
  let c = x + abs(w) * (-x)
  return (a + b) * c
}
`);
  });

  it("turns CRLF and CR line endings into LF, keeping blank lines and comments", () => {
    expect(fmt("// top\r\n\r\nconst K = 2 // two\r\n\r\n\r\nconst M = 3\r\n")).toBe("// top\n\nconst K = 2 // two\n\nconst M = 3\n");
    // A lone \r ends a line too (docs/language.md §2).
    expect(fmt("// top\r\rconst K = 2\r// about M\rconst M = 3\r")).toBe("// top\n\nconst K = 2\n// about M\nconst M = 3\n");
  });

  it("adds the parentheses precedence needs and normalises spacing", () => {
    expect(fmt(`const   K=2
const M = -(K^2)
fn f(x:f32[B,I])->f32[B,I]{return sign x backward E(t=2)}
`)).toBe(`const K = 2
const M = -(K ^ 2)

fn f(x: f32[B, I]) -> f32[B, I] {
  return sign x backward E(t = 2)
}
`);
  });
});

describe("estc fmt", () => {
  function tempDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-fmt-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  }
  const messy = "fn f(x:f32[N])->f32[N]{return x*2}   // doubles\n";
  const clean = "fn f(x: f32[N]) -> f32[N] {\n  return x * 2\n} // doubles\n";

  it("rewrites files in place and leaves formatted ones alone", () => {
    const dir = tempDir({ "a.est": messy, "b.est": clean });
    const r = runCli(["fmt", path.join(dir, "a.est"), path.join(dir, "b.est")]);
    expect(r).toEqual({ stdout: `formatted ${path.join(dir, "a.est")}\n`, stderr: "", code: 0 });
    expect(fs.readFileSync(path.join(dir, "a.est"), "utf8")).toBe(clean);
    expect(fs.readdirSync(dir).sort()).toEqual(["a.est", "b.est"]);
  });

  it("--check lists what would change, writes nothing, and exits 1", () => {
    const dir = tempDir({ "a.est": messy, "b.est": clean });
    const r = runCli(["fmt", "--check", path.join(dir, "a.est"), path.join(dir, "b.est")]);
    expect(r).toEqual({ stdout: `would reformat ${path.join(dir, "a.est")}\n`, stderr: "", code: 1 });
    expect(fs.readFileSync(path.join(dir, "a.est"), "utf8")).toBe(messy);
    expect(runCli(["fmt", "--check", path.join(dir, "b.est")]).code).toBe(0);
  });

  it("leaves a file with syntax errors unchanged and prints its diagnostics", () => {
    const broken = "fn f(x: f32[N]) -> f32[N] {\n  return (x * 2\n}\n";
    const dir = tempDir({ "bad.est": broken, "a.est": messy });
    const r = runCli(["fmt", path.join(dir, "bad.est"), path.join(dir, "a.est")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.est:3:1: error\[E1003\]: /);
    expect(fs.readFileSync(path.join(dir, "bad.est"), "utf8")).toBe(broken);
    expect(fs.readFileSync(path.join(dir, "a.est"), "utf8")).toBe(clean);
  });

  it("reports a missing file (E2000) and an unknown option", () => {
    expect(runCli(["fmt", "nope.est"])).toMatchObject({ code: 1, stderr: expect.stringContaining("error[E2000]: cannot read nope.est") });
    expect(runCli(["fmt", "--write", "a.est"])).toMatchObject({ code: 1, stderr: expect.stringContaining("unknown option '--write'") });
  });
});
