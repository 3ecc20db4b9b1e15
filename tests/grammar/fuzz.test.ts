/**
 * Property tests of the parser: no input, however mangled, makes `parse` throw or report
 * anything but a well-placed E1xxx syntax error; and valid programs (random expression trees
 * printed by grammar/print.ts, valid files with their whitespace reshuffled) parse cleanly
 * back to the same AST.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type * as A from "../../grammar/ast.js";
import { parse, tokenize } from "../../grammar/index.js";
import { printExpr, printModule } from "../../grammar/print.js";
import { allTokens } from "../../grammar/tokens.js";
import { repoEstFiles } from "../helpers/est-files.js";

const root = join(import.meta.dirname, "..", "..");
const FILE = "fuzz.est";

function estFiles(dir: string): string[] {
  return repoEstFiles([dir]).map((f) => readFileSync(join(root, f), "utf8"));
}

/** Small programs that between them use every construct of the grammar. */
const snippets = [
  `import { STE, ReSTE as R, } from "std/binary"
/// a doc
const K = -(2 ^ 3 ^ 4)
estimator Bern(t: f32 = 1.0, s) for out = bernoulli(p) {
  let d = out - p
  grad p = g * d * cost / (p * (1 - p) + 1e-6)
}
estimator Soft for sign(x) {
  surrogate tanh(x * 3) detach
}`,
  `fn split(x: f32[B, 2], n: i32, m: bool[], w: f32 = .5,) -> (f32[B], f32) {
  let (a, b) = pair(x)[0, 1]
  let y = sign abs x backward ReSTE(o = o, t = 1.5) * 2 ^ -x
  let z = (sign x) backward STE detach
  let t = a ? b || c && d : e == f != g < h <= i > j >= k
  return ((a + b) % c @ d, !y, [B, K], (z,), uniform([B, K]))
}`,
];

const seeds = [...estFiles("examples"), ...estFiles("stdlib"), ...snippets];

// ---------------------------------------------------------------- invariants

/** Every object with a `span`-like field under `node`, checked for bounds and file. */
function checkSpans(node: unknown, text: string, path = "ast"): void {
  if (Array.isArray(node)) return node.forEach((n, i) => checkSpans(n, text, `${path}[${i}]`));
  if (node === null || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "span" || k === "opSpan" || k === "fromSpan") {
      const s = v as A.Span;
      const ok = s.file === FILE && 0 <= s.start && s.start <= s.end && s.end <= text.length;
      if (!ok) throw new Error(`bad ${path}.${k} ${JSON.stringify(s)} (text length ${text.length})`);
    } else checkSpans(v, text, `${path}.${k}`);
  }
}

/** A deep copy of an AST without its spans, for structural comparison. */
function stripSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node))
    if (k !== "span" && k !== "opSpan" && k !== "fromSpan") out[k] = stripSpans(v);
  return out;
}

/** What must hold for any input at all. */
function checkAnyInput(text: string): void {
  const { ast, diagnostics } = parse(text, FILE);
  expect(ast.kind).toBe("Module");
  expect(ast.file).toBe(FILE);
  for (const d of diagnostics) {
    expect(d.code, d.message).toMatch(/^E1\d{3}$/);
    expect(d.span.file).toBe(FILE);
    expect(d.span.start).toBeGreaterThanOrEqual(0);
    expect(d.span.start).toBeLessThanOrEqual(d.span.end);
    expect(d.span.end).toBeLessThanOrEqual(text.length);
  }
  checkSpans(ast, text);
  const printed = printModule(ast);
  // A clean parse must survive printing; `2(3)` (a call of a non-name, E2010 in check.ts) cannot.
  if (diagnostics.length === 0 && !JSON.stringify(ast).includes('"callee":{"kind":"Ident","name":""')) {
    const again = parse(printed, FILE);
    expect(again.diagnostics, printed).toEqual([]);
    expect(stripSpans(again.ast), printed).toEqual(stripSpans(ast));
  }
}

// ---------------------------------------------------------------- mutations

/** Every fixed token image, and a few samples of the others. */
const images = [
  ...allTokens.map((t) => t.PATTERN).filter((p): p is string => typeof p === "string"),
  ...["x", "sign", "ReSTE", "format", "_", "0", "1.5", ".5", "1e-3", "2E+7", '"std/binary"', '""', "/// doc", "// c"],
];

const noise = fc.oneof(
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.constantFrom(
    "\0",
    '"',
    '"unterminated',
    "'",
    "\u00e9",
    "\ud83d",
    "\ud83d\ude00",
    "\u200b",
    "\r",
    "\n",
    "#",
    "$",
    "\\",
  ),
);

type Mutation =
  | { op: "drop" | "dup"; at: number }
  | { op: "swap"; at: number; with: number }
  | { op: "replace"; at: number; image: string }
  | { op: "cut"; at: number }
  | { op: "insert"; at: number; text: string };

const position = fc.nat({ max: 1_000_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom("drop" as const, "dup" as const), at: position }),
  fc.record({ op: fc.constant("swap" as const), at: position, with: position }),
  fc.record({ op: fc.constant("replace" as const), at: position, image: fc.constantFrom(...images) }),
  fc.record({ op: fc.constant("cut" as const), at: position }),
  fc.record({ op: fc.constant("insert" as const), at: position, text: noise }),
);

function mutate(text: string, m: Mutation): string {
  if (m.op === "cut") return text.slice(0, m.at % (text.length + 1));
  if (m.op === "insert") {
    const at = m.at % (text.length + 1);
    return text.slice(0, at) + m.text + text.slice(at);
  }
  const tokens = tokenize(text).tokens;
  if (tokens.length === 0) return text;
  const t = tokens[m.at % tokens.length]!;
  const [start, end] = [t.startOffset, t.endOffset! + 1];
  if (m.op === "replace") return text.slice(0, start) + ` ${m.image} ` + text.slice(end);
  if (m.op !== "swap")
    return m.op === "drop"
      ? text.slice(0, start) + " " + text.slice(end)
      : text.slice(0, end) + " " + t.image + text.slice(end);
  const u = tokens[m.with % tokens.length]!;
  const [first, second] = t.startOffset <= u.startOffset ? [t, u] : [u, t];
  if (first === second) return text;
  const [s1, e1, s2, e2] = [first.startOffset, first.endOffset! + 1, second.startOffset, second.endOffset! + 1];
  return text.slice(0, s1) + second.image + text.slice(e1, s2) + first.image + text.slice(e2);
}

const mutatedProgram = fc
  .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([seed, ms]) => ms.reduce(mutate, seeds[seed]!));

describe("parse survives any input", () => {
  it("mutated valid programs (token drops, duplicates, swaps, replacements, cuts, noise)", () => {
    fc.assert(fc.property(mutatedProgram, checkAnyInput), { numRuns: 10_000 });
    // It took 195 s on this 2-core machine at load 11 (helpers building side by side); in the suite on
    // CI it came within seconds of the default 120 s. The runs are the point, so the budget grows.
  }, 360_000);

  it("arbitrary strings", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.array(fc.constantFrom(...images)).map((a) => a.join(" ")),
    );
    fc.assert(fc.property(text, checkAnyInput), { numRuns: 1_000 });
  });

  it("5000-deep parentheses give E1002 or a parse, never a crash", () => {
    const text = `fn f() {\n  return ${"(".repeat(5000)}x${")".repeat(5000)}\n}\n`;
    const { ast, diagnostics } = parse(text, FILE);
    expect(ast.kind).toBe("Module");
    for (const d of diagnostics) expect(d.code).toBe("E1002");
    const unclosed = `fn f() {\n  return ${"(".repeat(5000)}x\n`;
    expect(() => checkAnyInput(unclosed)).not.toThrow();
  });

  it("moderate nesting still parses", () => {
    const text = `fn f() {\n  return ${"(".repeat(64)}x${")".repeat(64)} + ${"-".repeat(500)}y\n}\n`;
    expect(parse(text, FILE).diagnostics).toEqual([]);
  });
});

// ---------------------------------------------------------------- valid inputs

const S: A.Span = { file: FILE, start: 0, end: 0 };
const id = (name: string): A.Ident => ({ kind: "Ident", name, span: S });
const nameArb = fc.constantFrom("x", "y", "sign", "abs", "format", "out_1", "_g");
const numberArb = fc
  .constantFrom("0", "1", "2.5", "1e-3", ".5", "3.", "4E+2")
  .map((text): A.Expr => ({ kind: "Number", value: Number(text), text, isInt: /^\d+$/.test(text), span: S }));

/** True when `e` prints as a postfix expression that starts with a name, number or bool. */
function postfixFromAtom(e: A.Expr): boolean {
  if (e.kind === "Name" || e.kind === "Number" || e.kind === "Bool") return true;
  if (e.kind === "Call") return !e.juxtaposed;
  return e.kind === "Index" && postfixFromAtom(e.target);
}

/** True when the parser can read `e` as the argument of a juxtaposed call (`sign e`). */
function juxtaposable(e: A.Expr): boolean {
  return (e.kind === "Call" && e.juxtaposed) || postfixFromAtom(e);
}

const { expr } = fc.letrec<{ expr: A.Expr; args: A.Arg[] }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberArb,
    fc.boolean().map((value): A.Expr => ({ kind: "Bool", value, span: S })),
    nameArb.map((name): A.Expr => ({ kind: "Name", name, span: S })),
    fc
      .record({ op: fc.constantFrom<A.UnaryOp>("-", "!"), operand: tie("expr") })
      .map((r): A.Expr => ({ kind: "Unary", ...r, span: S })),
    fc
      .record({
        op: fc.constantFrom<A.BinaryOp>(
          "||",
          "&&",
          "==",
          "!=",
          "<",
          "<=",
          ">",
          ">=",
          "+",
          "-",
          "*",
          "/",
          "%",
          "@",
          "^",
        ),
        left: tie("expr"),
        right: tie("expr"),
      })
      .map((r): A.Expr => ({ kind: "Binary", ...r, opSpan: S, span: S })),
    fc
      .record({ cond: tie("expr"), then: tie("expr"), else: tie("expr") })
      .map((r): A.Expr => ({ kind: "Ternary", ...r, span: S })),
    fc.record({ callee: nameArb, args: tie("args"), jux: fc.boolean() }).map(({ callee, args, jux }): A.Expr => {
      const only = args.length === 1 && args[0]!.name === undefined ? args[0]!.value : undefined;
      const juxtaposed = jux && only !== undefined && juxtaposable(only);
      return { kind: "Call", callee: id(callee), args, juxtaposed, span: S };
    }),
    fc
      .record({ target: tie("expr"), indices: fc.array(tie("expr"), { minLength: 1, maxLength: 2 }) })
      .map((r): A.Expr => ({ kind: "Index", ...r, span: S })),
    fc
      .record({ call: tie("expr"), estimator: nameArb, args: tie("args"), hasParens: fc.boolean() })
      .map(({ call, estimator, args, hasParens }): A.Expr => {
        const kept = hasParens ? args : [];
        return { kind: "Backward", call, estimator: id(estimator), args: kept, hasParens, span: S };
      }),
    tie("expr").map((operand): A.Expr => ({ kind: "Detach", operand, span: S })),
    fc
      .array(tie("expr"), { minLength: 1, maxLength: 3 })
      .map((elements): A.Expr => ({ kind: "Tuple", elements, span: S })),
    fc.array(tie("expr"), { maxLength: 3 }).map((elements): A.Expr => ({ kind: "List", elements, span: S })),
  ),
  args: fc.array(
    fc
      .record({ name: fc.option(nameArb, { nil: undefined }), value: tie("expr") })
      .map(({ name, value }): A.Arg =>
        name === undefined ? { kind: "Arg", value, span: S } : { kind: "Arg", name: id(name), value, span: S },
      ),
    { maxLength: 3 },
  ),
}));

const exprKinds = new Set([
  "Number",
  "Bool",
  "Name",
  "Unary",
  "Binary",
  "Ternary",
  "Call",
  "Index",
  "Backward",
  "Detach",
  "Tuple",
  "List",
]);

/** Every expression node under `node`, outermost first. */
function expressions(node: unknown, out: A.Expr[] = []): A.Expr[] {
  if (Array.isArray(node)) node.forEach((n) => expressions(n, out));
  else if (node !== null && typeof node === "object") {
    if (exprKinds.has((node as { kind?: string }).kind ?? "")) out.push(node as A.Expr);
    for (const v of Object.values(node)) expressions(v, out);
  }
  return out;
}

function returnedExpr(text: string): A.Expr | undefined {
  const { ast, diagnostics } = parse(text, FILE);
  expect(
    diagnostics.map((d) => d.message),
    text,
  ).toEqual([]);
  const fn = ast.items[0];
  return fn?.kind === "Fn" && fn.body[0]?.kind === "Return" ? fn.body[0].value : undefined;
}

describe("parse on valid inputs", () => {
  it("every seed program parses without diagnostics", () => {
    for (const seed of seeds) expect(parse(seed, FILE).diagnostics).toEqual([]);
  });

  it("a random expression tree, printed, parses back to itself", () => {
    fc.assert(
      fc.property(expr, (e) => {
        const text = `fn f() {\n  return ${printExpr(e)}\n}\n`;
        expect(stripSpans(returnedExpr(text))).toEqual(stripSpans(e));
      }),
      { numRuns: 2_000 },
    );
  });

  it("an expression's span is exactly its source text, parentheses included", () => {
    const texts = fc.oneof(
      fc.constantFrom(...seeds),
      expr.map((e) => `fn f() {\n  return ${printExpr(e)}\n}\n`),
      fc
        .constantFrom("(a) + (b) * -(c) ^ (d)", "(sign x) backward STE detach", "(f)(x)[0]", "((a), (b,))")
        .map((e) => `fn f() {\n  return ${e}\n}\n`),
    );
    fc.assert(
      fc.property(texts, (text) => {
        for (const e of expressions(parse(text, FILE).ast)) {
          const source = text.slice(e.span.start, e.span.end);
          expect(stripSpans(returnedExpr(`fn f() {\n  return ${source}\n}\n`)), source).toEqual(stripSpans(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("whitespace and comments between tokens change nothing but spans", () => {
    const gap = fc.constantFrom(" ", "\n", "\t\t", "  \r\n  ", " // note\n", "\n\n// x ( [ {\n");
    const gaps = fc.array(gap, { minLength: 1, maxLength: 40 });
    const reshaped = fc.tuple(fc.nat({ max: seeds.length - 1 }), gaps).map(([i, gaps]) => {
      const text = seeds[i]!;
      // Only a gap of spaces and tabs between two tokens is replaced: comments and docs stay.
      let changed = "";
      let last = 0;
      tokenize(text).tokens.forEach((t, k) => {
        const between = text.slice(last, t.startOffset);
        changed += /^[ \t]+$/.test(between) ? gaps[k % gaps.length] : between;
        changed += t.image;
        last = t.endOffset! + 1;
      });
      return [text, changed + text.slice(last)] as const;
    });
    fc.assert(
      fc.property(reshaped, ([original, changed]) => {
        const a = parse(original, FILE);
        const b = parse(changed, FILE);
        expect(b.diagnostics, changed).toEqual([]);
        expect(stripSpans(b.ast)).toEqual(stripSpans(a.ast));
      }),
      { numRuns: 300 },
    );
  });
});
