/**
 * Golden diagnostics (TypeScript-compiler style): every `tests/cases/**\/NAME.est` is checked on
 * its own and what the text renderer prints is compared with `tests/baselines/**\/NAME.errors.txt`
 * (a clean file's baseline is its `ok:` line). `ESTC_ACCEPT=1` (`npm run baselines`) rewrites
 * the baselines instead; review the diff. Folders whose name starts with `_` hold helper modules
 * that cases import, not cases.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkFiles } from "../compiler/pipeline.js";
import { renderDiagnostics } from "../compiler/render.js";
import { nodeHost } from "../compiler/resolve.js";

const root = path.resolve(import.meta.dirname, "..");
const casesDir = path.join(root, "tests/cases");
const baselinesDir = path.join(root, "tests/baselines");
const accept = process.env["ESTC_ACCEPT"] === "1";

/** Every case file under tests/cases, as a path relative to the repository root. */
function caseFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith("_")) out.push(...caseFiles(full));
    } else if (entry.name.endsWith(".est")) {
      out.push(path.relative(root, full).split(path.sep).join("/"));
    }
  }
  return out;
}

/** What `estc check` reports for one file: the rendered diagnostics, or the ok line. */
export function goldenText(file: string): string {
  const result = checkFiles([file], nodeHost(root));
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  const rendered = result.diagnostics.length > 0 ? renderDiagnostics(result.diagnostics, result.sources) + "\n" : "";
  if (errors.length > 0) return rendered;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  return `${rendered === "" ? "" : rendered + "\n"}ok: ${plural(result.files, "file")}, ${plural(result.items, "item")}\n`;
}

function baselineOf(file: string): string {
  const rel = path.relative("tests/cases", file);
  return path.join(baselinesDir, rel.replace(/\.est$/, ".errors.txt"));
}

const files = caseFiles(casesDir);

describe("golden diagnostics", () => {
  it("finds the cases", () => {
    expect(files.length).toBeGreaterThan(100);
  });

  for (const file of files) {
    it(file, () => {
      const text = goldenText(file);
      const target = baselineOf(file);
      if (accept) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, text);
      }
      expect(fs.existsSync(target), `no baseline for ${file}; run npm run baselines and review it`).toBe(true);
      expect(text).toBe(fs.readFileSync(target, "utf8"));
    });
  }

  it("every baseline has a case", () => {
    const expected = new Set(files.map(baselineOf));
    const stale: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith(".errors.txt") && !expected.has(full)) stale.push(path.relative(root, full));
      }
    };
    walk(baselinesDir);
    if (accept) for (const f of stale) fs.rmSync(path.join(root, f));
    else expect(stale).toEqual([]);
  });

  it("error cases fail and ok cases pass, as their folder says", () => {
    for (const file of files) {
      const text = fs.readFileSync(baselineOf(file), "utf8");
      if (file.startsWith("tests/cases/ok/") || file.startsWith("tests/cases/language/")) expect(text, file).toMatch(/^ok: 1 file, \d+ items?\n$/);
      if (file.startsWith("tests/cases/errors/")) expect(text, file).toMatch(/^tests\/cases\/.*: error\[E\d{4}\]/);
    }
  });
});

describe("deep nesting", () => {
  const program = (depth: number) => `fn f(x: f32) -> f32 {\n  return ${"(".repeat(depth)}x${")".repeat(depth)}\n}\n`;
  const check = (text: string) => {
    const host = { ...nodeHost(root), readFile: (p: string) => (p === path.join(root, "deep.est") ? text : nodeHost(root).readFile(p)) };
    return checkFiles(["deep.est"], host);
  };

  it("20,000 nested parentheses check clean in a library call (parsed bottom-up, grammar/nesting.ts)", () => {
    expect(check(program(20_000)).diagnostics).toEqual([]);
  });

  it("one level more is E1002 at the first bracket past the limit, not a crash", () => {
    const result = check(program(20_001));
    expect(result.diagnostics.map((d) => d.code)).toEqual(["E1002"]);
    // Line 2, column 3 + 20,000: the 20,001st `(` after `  return `.
    expect(renderDiagnostics(result.diagnostics, result.sources)).toMatch(/^deep\.est:2:20010: error\[E1002\]: brackets nest more than 20000 deep here/);
  });
});
