/**
 * The language's own examples check clean. tests/cases/language/ holds a copy of every `est`
 * block of the v0 contract (LANGUAGE.md, kept outside the repository, so the blocks are copied
 * in rather than read from there) plus the helper module they import; the `est` blocks of
 * docs/language.md, which says each is a complete file, are read from the repository itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkFiles } from "../compiler/pipeline.js";
import { renderDiagnostics } from "../compiler/render.js";
import { nodeHost } from "../compiler/resolve.js";
import { memoryHost } from "./helpers/compile.js";

const root = path.resolve(import.meta.dirname, "..");
const dir = path.join(root, "tests/cases/language");

/** The copies of LANGUAGE.md's blocks and what each must hold, so a lost copy is noticed. */
const contractExamples: Record<string, { items: number; mentions: string[] }> = {
  // §1 "What a file holds", verbatim (it imports ./rules).
  "binary.est": { items: 2, mentions: ['import { my_rule } from "./rules"', "sign x backward ReSTE(o)", "estimator ClippedSTE(t = 1.0) for sign(x)"] },
  // The module §1 imports; it must export my_rule.
  "rules.est": { items: 1, mentions: ["estimator my_rule"] },
  // §4 "Estimators" is a template; this is the template with its placeholders filled in.
  "estimator-template.est": { items: 2, mentions: ["for out = ", "grad x1 = ", "grad x2 = ", "surrogate "] },
};

function checkClean(file: string) {
  const result = checkFiles([file], nodeHost(root));
  return { result, text: renderDiagnostics(result.diagnostics, result.sources) };
}

describe("LANGUAGE.md examples (copied into tests/cases/language)", () => {
  it("every copied example is present", () => {
    const present = fs.readdirSync(dir).filter((f) => f.endsWith(".est")).sort();
    expect(present).toEqual(Object.keys(contractExamples).sort());
  });

  for (const [name, want] of Object.entries(contractExamples)) {
    it(`${name} checks clean`, () => {
      const file = `tests/cases/language/${name}`;
      const text = fs.readFileSync(path.join(root, file), "utf8");
      for (const m of want.mentions) expect(text).toContain(m);
      const { result, text: rendered } = checkClean(file);
      expect(rendered).toBe("");
      expect(result.programs).toHaveLength(1);
      expect(result.items).toBe(want.items);
    });
  }
});

describe("docs/language.md examples", () => {
  const doc = fs.readFileSync(path.join(root, "docs/language.md"), "utf8");
  const blocks = [...doc.matchAll(/```est\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it("has est blocks", () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  blocks.forEach((block, i) => {
    const first = block.split("\n").find((l) => l.trim() !== "") ?? "";
    it(`block ${i + 1} checks clean: ${first.slice(0, 60)}`, () => {
      // Relative imports in the docs name the contract's helper module.
      const files = { "example.est": block, "rules.est": fs.readFileSync(path.join(dir, "rules.est"), "utf8") };
      const result = checkFiles(["example.est"], memoryHost(files));
      expect(renderDiagnostics(result.diagnostics, result.sources)).toBe("");
      expect(result.programs).toHaveLength(1);
    });
  });
});
