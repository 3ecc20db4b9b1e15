/**
 * `estc lsp` driven over its protocol: a real `node bin/estc.js lsp` process and a JSON-RPC
 * client on its stdin/stdout. One block per capability — diagnostics as you type, hover,
 * definition (across files and into std/), completion, document symbols, formatting — each
 * asserting exact positions (found in the fixture text by search) and contents.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompletionItem, DocumentSymbol, Hover, Location, TextEdit } from "vscode-languageserver/node";
import { formatSource } from "../../grammar/format.js";
import { ensureBuilt, LspClient, root } from "./client.js";

const lib = `/// Twice its input.
fn helper(z: f32[B, O]) -> f32[B, O] {
  return z * 2
}
`;

const model = `import { ReSTE } from "std/binary"
import { helper } from "./lib"

/// A binary layer, doubled.
fn layer(x: f32[B, I], w: f32[I, O], o: f32 = 3.0) {
  let xb = sign x backward ReSTE(o)
  let h = helper(xb @ w)
  return h
}
`;

/** The LSP position of the `nth` occurrence of `needle` in `text`, plus `delta` characters. */
function pos(text: string, needle: string, delta = 0, nth = 0): { line: number; character: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`'${needle}' not in text`);
  const before = text.slice(0, at + delta);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - (before.lastIndexOf("\n") + 1) };
}

function rangeOf(text: string, needle: string, nth = 0) {
  return { start: pos(text, needle, 0, nth), end: pos(text, needle, needle.length, nth) };
}

let ws = "";
let client: LspClient;

beforeAll(async () => {
  ensureBuilt();
  ws = fs.mkdtempSync(path.join(os.tmpdir(), "estc-lsp-"));
  fs.writeFileSync(path.join(ws, "lib.est"), lib);
  fs.writeFileSync(path.join(ws, "model.est"), model);
  client = new LspClient(ws);
  const caps = await client.start();
  expect(caps).toMatchObject({ hoverProvider: true, definitionProvider: true, documentSymbolProvider: true, documentFormattingProvider: true });
  await client.open("model.est", model);
});

afterAll(async () => {
  expect(await client.stop()).toBe(0);
  fs.rmSync(ws, { recursive: true, force: true });
});

describe("diagnostics", () => {
  it("publishes none for a clean file", async () => {
    const p = await client.diagnosticsFor("model.est");
    expect(p.diagnostics).toEqual([]);
  });

  it("follows edits: an unknown name appears at its exact range with code and hint, then goes", async () => {
    const text = `fn f(x: f32[N]) -> f32[N] {\n  return x + yy\n}\n`;
    await client.open("typing.est", text);
    const first = await client.diagnosticsFor("typing.est", (p) => p.version === 1);
    expect(first.diagnostics).toEqual([
      { range: rangeOf(text, "yy"), severity: 1, code: "E2002", source: "estc", message: "unknown name 'yy'" },
    ]);
    // Type a `let yy` line in, as an incremental edit at the start of the body.
    await client.connection.sendNotification("textDocument/didChange", {
      textDocument: { uri: client.uri("typing.est"), version: 2 },
      contentChanges: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: "  let yy = x * 2\n" }],
    });
    const second = await client.diagnosticsFor("typing.est", (p) => p.version === 2);
    expect(second.diagnostics).toEqual([]);
  });

  it("reports a syntax error with the parser's code and position", async () => {
    const text = `fn f(x: f32[N]) -> f32[N] {\n  return (x * 2\n}\n`;
    await client.open("syntax.est", text);
    const p = await client.diagnosticsFor("syntax.est");
    expect(p.diagnostics.map((d) => [d.code, d.range.start])).toEqual([["E1003", { line: 2, character: 0 }]]);
  });
});

describe("diagnostics across files", () => {
  it("summarises an imported module's errors at its import, each error a related location", async () => {
    const broken = "fn bad(x: f32[N]) -> f32[N] {\n  return x + nope\n}\n";
    fs.writeFileSync(path.join(ws, "broken.est"), broken);
    const text = `import { bad } from "./broken"\n\nfn g(x: f32[N]) -> f32[N] {\n  return bad(x)\n}\n`;
    await client.open("user.est", text);
    const p = await client.diagnosticsFor("user.est");
    expect(p.diagnostics).toEqual([
      {
        range: rangeOf(text, '"./broken"'),
        severity: 1,
        code: "E2002",
        source: "estc",
        message: "broken.est has an error; the first: unknown name 'nope'",
        relatedInformation: [{ location: { uri: client.uri("broken.est"), range: rangeOf(broken, "nope") }, message: "error[E2002]: unknown name 'nope'" }],
      },
    ]);
  });

  it("checks an unsaved editor (an untitled: URI)", async () => {
    const text = "fn f(x: f32[N]) -> f32[N] {\n  return sign(x) backward Nope\n}\n";
    await client.connection.sendNotification("textDocument/didOpen", { textDocument: { uri: "untitled:Untitled-1", languageId: "est", version: 1, text } });
    const p = await client.diagnosticsFor("untitled:Untitled-1");
    expect(p.diagnostics.map((d) => [d.code, d.range])).toEqual([["E2003", rangeOf(text, "Nope")]]);
  });
});

describe("hover", () => {
  const hover = async (needle: string, delta = 1, nth = 0) => ((await client.request<Hover>("textDocument/hover", "model.est", { position: pos(model, needle, delta, nth) })).contents as { value: string }).value;

  it("shows an fn's signature with the inferred result shape and its doc comment", async () => {
    expect(await hover("fn layer", 4)).toBe("```est\nfn layer(x: f32[B, I], w: f32[I, O], o: f32 = 3.0) -> f32[B, O]\n```\n\nA binary layer, doubled.");
  });

  it("shows an imported fn from another file with its doc and the import", async () => {
    expect(await hover("helper(")).toBe('```est\nfn helper(z: f32[B, O]) -> f32[B, O]\n```\n\nTwice its input.\n\nimported from "./lib"');
  });

  it("shows a stdlib estimator's header and doc", async () => {
    const text = await hover("ReSTE(o)");
    expect(text.startsWith("```est\nestimator ReSTE(o: f32 = 3.0, t: f32 = 1.5, m: f32 = 0.1) for sign(x)\n```\n\n")).toBe(true);
    expect(text).toContain('imported from "std/binary"');
    const stdDoc = fs.readFileSync(path.join(root, "stdlib/std/binary.est"), "utf8").split("estimator ReSTE")[0]!.split("\n\n").pop()!;
    expect(text).toContain(stdDoc.split("\n")[0]!.replace(/^\/\/\/ ?/, ""));
  });

  it("shows the checked types of a let, a parameter and a primitive", async () => {
    expect(await hover("xb @")).toBe("```est\nlet xb: f32[B, I]\n```");
    expect(await hover("h\n", 0, 0)).toBe("```est\nlet h: f32[B, O]\n```");
    expect(await hover("w: f32")).toBe("```est\n(parameter) w: f32[I, O]\n```");
    expect(await hover("sign x")).toMatch(/^```est\nsign\(x: f32\[…\]\)\n```\n\n\+1 for x >= 0/);
  });
});

describe("inside an estimator", () => {
  const est = `/// Clipped straight-through.
estimator Clip(t: f32 = 1.0) for sign(x) {
  let inside = abs(x) <= t
  grad x = g * inside
}

fn use(v: f32[K]) -> f32[K] {
  return sign(v) backward Clip(t = 2.0)
}
`;
  beforeAll(async () => {
    await client.open("est.est", est);
  });
  const at = (needle: string, delta = 0, nth = 0) => ({ position: pos(est, needle, delta, nth) });
  const hover = async (needle: string, delta = 0, nth = 0) => ((await client.request<Hover>("textDocument/hover", "est.est", at(needle, delta, nth))).contents as { value: string }).value;

  it("hovers the estimator's header, its input, parameter, a let and g", async () => {
    expect(await hover("Clip(t = 2", 1)).toBe("```est\nestimator Clip(t: f32 = 1.0) for sign(x)\n```\n\nClipped straight-through.");
    expect(await hover("abs(x)", 4)).toBe("```est\n(estimator input) x: f32[…]\n```\n\ntakes a grad");
    expect(await hover("<= t", 3)).toBe("```est\n(parameter) t: f32\n```");
    expect(await hover("g * inside", 6)).toBe("```est\nlet inside: bool[…]\n```");
    expect(await hover("g * inside")).toBe("```est\ng\n```\n\nthe incoming cotangent (the gradient of the loss with respect to sign's result)");
  });

  it("goes from a shape symbol and from `grad x` to where they are bound", async () => {
    expect(await client.request<Location>("textDocument/definition", "est.est", at("K] {"))).toEqual({ uri: client.uri("est.est"), range: rangeOf(est, "K") });
    expect(await client.request<Location>("textDocument/definition", "est.est", at("grad x", 5))).toEqual({ uri: client.uri("est.est"), range: { start: pos(est, "sign(x)", 5), end: pos(est, "sign(x)", 6) } });
  });

  it("completes g, cost, out and the bound names in the body", async () => {
    const labels = (await client.request<CompletionItem[]>("textDocument/completion", "est.est", at("g * inside"))).map((c) => c.label);
    for (const name of ["g", "cost", "out", "x", "t", "inside", "Clip", "use"]) expect(labels).toContain(name);
  });
});

describe("definition", () => {
  const definition = async (needle: string, delta = 1) => client.request<Location>("textDocument/definition", "model.est", { position: pos(model, needle, delta) });

  it("goes to an fn in another file", async () => {
    expect(await definition("helper(")).toEqual({ uri: client.uri("lib.est"), range: rangeOf(lib, "helper") });
  });

  it("goes into std/ for a stdlib estimator", async () => {
    const std = fs.readFileSync(path.join(root, "stdlib/std/binary.est"), "utf8");
    const loc = await definition("ReSTE(o)");
    expect(loc).toEqual({ uri: pathToFileURL(path.join(root, "stdlib/std/binary.est")).href, range: { start: pos(std, "estimator ReSTE", 10), end: pos(std, "estimator ReSTE", 15) } });
    expect(std.split("\n")[loc.range.start.line]).toMatch(/^estimator ReSTE\(/);
  });

  it("goes to a local's binding and to a module from its path", async () => {
    expect(await definition("xb @")).toEqual({ uri: client.uri("model.est"), range: rangeOf(model, "xb") });
    expect(await definition('"./lib"', 2)).toEqual({ uri: client.uri("lib.est"), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } });
  });
});

describe("completion", () => {
  /** The std estimators whose target is `prim`, read from the stdlib sources independently. */
  function stdEstimatorsFor(prim: string): string[] {
    const dir = path.join(root, "stdlib/std");
    return fs
      .readdirSync(dir)
      .flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/^estimator (\w+)[^\n]* for (?:\w+ = )?(\w+)\(/gm)])
      .filter((m) => m[2] === prim)
      .map((m) => m[1]!)
      .sort();
  }

  it("after `backward`: exactly the estimators for the primitive before it, imports added for those not in scope", async () => {
    const text = `import { ReSTE } from "std/binary"\n\nfn f(x: f32[N]) -> f32[N] {\n  let a = round x backward \n  return sign(x) backward \n}\n`;
    await client.open("complete.est", text);
    const at = (needle: string) =>
      client.request<CompletionItem[]>("textDocument/completion", "complete.est", { position: pos(text, needle, needle.length), context: { triggerKind: 2, triggerCharacter: " " } });
    const forSign = await at("sign(x) backward ");
    expect(forSign.map((c) => c.label).sort()).toEqual(stdEstimatorsFor("sign"));
    expect(forSign.find((c) => c.label === "ReSTE")!.additionalTextEdits).toBeUndefined();
    expect(forSign.find((c) => c.label === "STE")!.additionalTextEdits).toEqual([
      { range: { start: pos(text, " }", 0), end: pos(text, " }", 0) }, newText: ", STE" },
    ]);
    // The start of a name typed after `backward` gives the same list (the editor filters it).
    const partial = `fn f(x: f32[N]) -> f32[N] {\n  return sign(x) backward Re\n}\n`;
    await client.open("partial.est", partial);
    const typed = await client.request<CompletionItem[]>("textDocument/completion", "partial.est", { position: pos(partial, "backward Re", 11) });
    expect(typed.map((c) => c.label).sort()).toEqual(stdEstimatorsFor("sign"));
    const forRound = await at("round x backward ");
    expect(forRound.map((c) => c.label).sort()).toEqual(stdEstimatorsFor("round"));
    expect(forRound[0]!.additionalTextEdits).toEqual([{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, newText: 'import { RoundSTE } from "std/binary"\n'.replace("std/binary", "std/quant") }]);
  });

  it("elsewhere: names bound before the cursor, the module's items, primitives and keywords", async () => {
    const items = await client.request<CompletionItem[]>("textDocument/completion", "model.est", { position: pos(model, "helper(xb", 0) });
    const labels = items.map((c) => c.label);
    for (const name of ["x", "w", "o", "B", "I", "O", "xb", "layer", "helper", "ReSTE", "sign", "matmul", "let", "return"]) expect(labels).toContain(name);
    expect(labels).not.toContain("h");
    // Typing a space (the trigger character) outside `backward ` offers nothing.
    const bySpace = { position: pos(model, "helper(xb", 0), context: { triggerKind: 2, triggerCharacter: " " } };
    expect(await client.request<CompletionItem[]>("textDocument/completion", "model.est", bySpace)).toEqual([]);
    expect(items.find((c) => c.label === "xb")!.detail).toBe("let xb: f32[B, I]");
  });
});

describe("document symbols", () => {
  it("lists imports, fns with their parameters and lets, at their ranges", async () => {
    const symbols = await client.request<DocumentSymbol[]>("textDocument/documentSymbol", "model.est");
    const brief = (s: DocumentSymbol): unknown => ({ name: s.name, kind: s.kind, at: s.selectionRange.start, children: s.children?.map(brief) });
    expect(symbols.map(brief)).toEqual([
      { name: "ReSTE", kind: 2, at: pos(model, "ReSTE"), children: undefined },
      { name: "helper", kind: 2, at: pos(model, "helper"), children: undefined },
      {
        name: "layer",
        kind: 12,
        at: pos(model, "fn layer", 3),
        children: [
          { name: "x", kind: 13, at: pos(model, "x:"), children: undefined },
          { name: "w", kind: 13, at: pos(model, "w:"), children: undefined },
          { name: "o", kind: 13, at: pos(model, "o:"), children: undefined },
          { name: "xb", kind: 13, at: pos(model, "xb"), children: undefined },
          { name: "h", kind: 13, at: pos(model, "h ="), children: undefined },
        ],
      },
    ]);
    expect(symbols[2]!.range).toEqual({ start: pos(model, "fn layer"), end: pos(model, "}\n", 1) });
  });
});

describe("the process", () => {
  it("rejects an unknown option without reading stdin", () => {
    const r = spawnSync(process.execPath, [path.join(root, "bin/estc.js"), "lsp", "--tcp"], { encoding: "utf8", input: "" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown option '--tcp'");
  });

  it("exits 1 on exit without shutdown, as the protocol says", async () => {
    const other = new LspClient(ws);
    await other.start();
    const exited = new Promise<number | null>((resolve) => other["child"].once("exit", resolve));
    await other.connection.sendNotification("exit");
    expect(await exited).toBe(1);
    other.connection.dispose();
  });
});

describe("formatting", () => {
  it("returns one edit with estc fmt's text, and none for a file with syntax errors", async () => {
    const messy = "fn f(x:f32[N])->f32[N]{return x*2}   // doubles\n";
    await client.open("messy.est", messy);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", "messy.est", { options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toEqual([{ range: { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } }, newText: formatSource(messy, "m.est").text }]);
    expect(edits[0]!.newText).toBe("fn f(x: f32[N]) -> f32[N] {\n  return x * 2\n} // doubles\n");
    expect(await client.request<TextEdit[]>("textDocument/formatting", "syntax.est", { options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });
});
