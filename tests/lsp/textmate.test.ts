/**
 * The VS Code extension's TextMate grammar (editors/vscode/syntaxes/est.tmLanguage.json),
 * tokenized with vscode-textmate on vscode-oniguruma as VS Code does: chosen tokens of a sample
 * get their scopes; and over every `.est` file of the repository each comment, number, string
 * and keyword that estc's own lexer finds is scoped as such by the grammar. Also checks that the
 * extension's manifest points at files that exist and that its client is valid JavaScript.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";
import * as T from "../../grammar/tokens.js";
import { repoEstFiles } from "../helpers/est-files.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const ext = path.join(root, "editors/vscode");
let grammar: textmate.IGrammar;

beforeAll(async () => {
  const wasm = fs.readFileSync(path.join(root, "node_modules/vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope: string) => {
      if (scope !== "source.est") return null;
      const file = path.join(ext, "syntaxes/est.tmLanguage.json");
      return textmate.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  grammar = (await registry.loadGrammar("source.est"))!;
});

/** Each token of `text` as [offset, text, scopes], line by line, with the rule stack carried over. */
function tokenize(text: string): { start: number; text: string; scopes: string[] }[] {
  const out: { start: number; text: string; scopes: string[] }[] = [];
  let stack = textmate.INITIAL;
  let offset = 0;
  for (const line of text.split("\n")) {
    const r = grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) out.push({ start: offset + t.startIndex, text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    stack = r.ruleStack;
    offset += line.length + 1;
  }
  return out;
}

/** The scopes of the `nth` token whose text is exactly `text`. */
function scopesOf(tokens: ReturnType<typeof tokenize>, text: string, nth = 0): string[] {
  const found = tokens.filter((t) => t.text === text)[nth];
  if (found === undefined) throw new Error(`no token '${text}' (#${nth}): ${tokens.map((t) => t.text).join("|")}`);
  return found.scopes;
}

const sample = `// Binary layer.
import { ReSTE } from "std/binary"

/// Clipped straight-through.
estimator ClippedSTE(t = 1.0) for sign(x) {
  grad x = g * (abs(x) <= t)
}

const EPS = 1e-6

fn layer(x: f32[B, 784], w: f32[784, O]) -> f32[B, O] {
  let xb = sign x backward ReSTE(o = 3) // the backward is ReSTE's
  let s = tanh(x * 3) detach
  return xb @ w + EPS
}

estimator Soft for out = sign(x) {
  surrogate tanh(x)
}
`;

describe("scopes of chosen tokens", () => {
  it("keywords, names of items, comments, numbers, strings, dtypes and shapes", () => {
    const t = tokenize(sample);
    expect(scopesOf(t, "//")).toEqual(["source.est", "comment.line.double-slash.est", "punctuation.definition.comment.est"]);
    expect(scopesOf(t, " Binary layer.")).toEqual(["source.est", "comment.line.double-slash.est"]);
    expect(scopesOf(t, "/// Clipped straight-through.")).toContain("comment.line.documentation.est");
    expect(scopesOf(t, "import")).toContain("keyword.control.import.est");
    expect(scopesOf(t, '"std/binary"')).toContain("string.quoted.double.est");
    expect(scopesOf(t, "estimator")).toContain("keyword.declaration.estimator.est");
    expect(scopesOf(t, "ClippedSTE")).toContain("entity.name.type.estimator.est");
    expect(scopesOf(t, "for")).toContain("keyword.other.for.est");
    expect(scopesOf(t, "sign")).toContain("entity.name.function.target.est");
    expect(scopesOf(t, "1.0")).toContain("constant.numeric.est");
    expect(scopesOf(t, "1e-6")).toContain("constant.numeric.est");
    expect(scopesOf(t, "grad")).toContain("keyword.other.grad.est");
    expect(scopesOf(t, "fn")).toContain("keyword.declaration.fn.est");
    expect(scopesOf(t, "layer")).toContain("entity.name.function.est");
    expect(scopesOf(t, "EPS")).toContain("variable.other.constant.est");
    expect(scopesOf(t, "f32")).toContain("storage.type.dtype.est");
    expect(scopesOf(t, "B")).toEqual(["source.est", "meta.type.shape.est", "entity.name.type.dimension.est"]);
    expect(scopesOf(t, "784")).toEqual(["source.est", "meta.type.shape.est", "constant.numeric.est"]);
    expect(scopesOf(t, "backward")).toContain("keyword.other.backward.est");
    expect(scopesOf(t, "ReSTE", 1)).toContain("entity.name.type.estimator.est");
    expect(scopesOf(t, " the backward is ReSTE's")).toContain("comment.line.double-slash.est");
    expect(scopesOf(t, "detach")).toContain("keyword.other.detach.est");
    expect(scopesOf(t, "surrogate")).toContain("keyword.other.surrogate.est");
    expect(scopesOf(t, "tanh")).toContain("entity.name.function.call.est");
    expect(scopesOf(t, "@")).toContain("keyword.operator.matmul.est");
    expect(scopesOf(t, "->")).toContain("keyword.operator.arrow.est");
    expect(scopesOf(t, "return")).toContain("keyword.control.return.est");
  });
});

describe("shapes of rank-generic fns and computed dims", () => {
  it("keeps `...B`, `C * H * W` and `(H - 1) / 2 + 1` inside the shape, with their own scopes", () => {
    const t = tokenize(`fn flat(x: f32[...B, C, H, W]) -> f32[...B, C * H * W] { return x }
fn half(x: f32[N, H]) -> f32[N, (H - 1) / 2 + 1] { return x }`);
    const shape = "meta.type.shape.est";
    expect(scopesOf(t, "...")).toEqual(["source.est", shape, "keyword.operator.ellipsis.est"]);
    expect(scopesOf(t, "...", 1)).toEqual(["source.est", shape, "keyword.operator.ellipsis.est"]);
    expect(scopesOf(t, "*", 1)).toEqual(["source.est", shape, "keyword.operator.arithmetic.est"]);
    // W after the last `*` is still a dimension, not a body variable: the shape did not end at `*`.
    expect(scopesOf(t, "W", 1)).toEqual(["source.est", shape, "entity.name.type.dimension.est"]);
    expect(scopesOf(t, "/")).toEqual(["source.est", shape, "keyword.operator.arithmetic.est"]);
    expect(scopesOf(t, "2")).toEqual(["source.est", shape, "constant.numeric.est"]);
    expect(scopesOf(t, "return", 1)).not.toContain(shape);
  });
});

describe("agreement with estc's lexer over every .est file", () => {
  const files = repoEstFiles();
  const keywordTypes = new Set([T.Import, T.From, T.As, T.Const, T.Estimator, T.For, T.Fn, T.Let, T.Return, T.Grad, T.Surrogate, T.Backward, T.Detach]);

  it("scopes each comment, number, string, keyword and dtype the lexer finds", () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const file of files) {
      const text = fs.readFileSync(path.join(root, file), "utf8").replace(/\r\n/g, "\n");
      const lexed = T.lexer.tokenize(text);
      const tm = tokenize(text);
      const at = (offset: number) => tm.find((t) => offset >= t.start && offset < t.start + Math.max(1, t.text.length))?.scopes.join(" ") ?? "";
      const expectScope = (offset: number, image: string, pattern: RegExp) => {
        checked++;
        if (!pattern.test(at(offset))) wrong.push(`${file}@${offset} '${image}': ${at(offset)}`);
      };
      for (const c of lexed.groups["docs"] ?? []) expectScope(c.startOffset, c.image, /comment\.line\.documentation/);
      for (const c of lexed.groups["comments"] ?? []) expectScope(c.startOffset, c.image, /comment\.line\.double-slash/);
      for (const tok of lexed.tokens) {
        if (tok.tokenType === T.NumberLit) expectScope(tok.startOffset, tok.image, /constant\.numeric/);
        else if (tok.tokenType === T.StringLit) expectScope(tok.startOffset, tok.image, /string\.quoted/);
        else if (keywordTypes.has(tok.tokenType)) expectScope(tok.startOffset, tok.image, /\bkeyword\./);
        else if (tok.tokenType === T.F32 || tok.tokenType === T.I32 || tok.tokenType === T.Bool) expectScope(tok.startOffset, tok.image, /storage\.type\.dtype/);
        else if (tok.tokenType === T.True || tok.tokenType === T.False) expectScope(tok.startOffset, tok.image, /constant\.language/);
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    // 4010 tokens checked over 197 files at the time of writing.
    expect(checked).toBeGreaterThan(3000);
  });
});

describe("the extension's manifest and client", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ext, "package.json"), "utf8"));

  it("contributes the est language with files that exist", () => {
    const [language] = manifest.contributes.languages;
    const [grammarEntry] = manifest.contributes.grammars;
    expect(language).toMatchObject({ id: "est", extensions: [".est"] });
    expect(grammarEntry).toMatchObject({ language: "est", scopeName: "source.est" });
    expect(fs.existsSync(path.join(ext, language.configuration))).toBe(true);
    expect(fs.existsSync(path.join(ext, grammarEntry.path))).toBe(true);
    expect(fs.existsSync(path.join(ext, manifest.main))).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(ext, language.configuration), "utf8"));
    expect(config.comments).toEqual({ lineComment: "//" });
  });

  it("has a client that is valid JavaScript and starts `estc lsp`", () => {
    const check = spawnSync(process.execPath, ["--check", path.join(ext, manifest.main)], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    expect(fs.readFileSync(path.join(ext, manifest.main), "utf8")).toContain('["estc", "lsp"]');
  });
});
