/**
 * parse → print → parse round trips: every example and stdlib file, and snippets covering
 * every construct, come back as the same AST (spans aside), and printing is idempotent.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "../../grammar/index.js";
import type { Expr, FnDecl, ReturnStmt } from "../../grammar/ast.js";
import { printExpr, printModule } from "../../grammar/print.js";
import { repoEstFiles } from "../helpers/est-files.js";

const root = join(import.meta.dirname, "..", "..");

/** Every `.est` file under `dir`, recursively, as paths relative to the repo root. */
function estFiles(dir: string): string[] {
  return repoEstFiles([dir]);
}

/** A deep copy of an AST without `span`, `opSpan` and `fromSpan`, for structural comparison. */
function stripSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "span" || k === "opSpan" || k === "fromSpan") continue;
    out[k] = stripSpans(v);
  }
  return out;
}

function parseClean(text: string, file: string) {
  const { ast, diagnostics } = parse(text, file);
  expect(
    diagnostics.map((d) => `${d.code} ${d.span.start}: ${d.message}`),
    text,
  ).toEqual([]);
  return ast;
}

/** Asserts (a) no diagnostics, (b) the reprinted AST equals the original, (c) idempotence. */
function roundTrip(text: string, file = "snippet.est"): string {
  const ast = parseClean(text, file);
  const printed = printModule(ast);
  const again = parseClean(printed, file);
  expect(stripSpans(again), printed).toEqual(stripSpans(ast));
  expect(printModule(again)).toBe(printed);
  return printed;
}

/** The expression `e` as the parser reads it inside a return statement. */
function parseExpr(e: string): Expr {
  const ast = parseClean(`fn f() {\n  return ${e}\n}\n`, "expr.est");
  return ((ast.items[0] as FnDecl).body[0] as ReturnStmt).value;
}

// Expression → its canonical print. Each left side is also round-tripped as a program.
const expressions: [string, string][] = [
  ["a + b * c", "a + b * c"],
  ["(a + b) * c", "(a + b) * c"],
  ["a - (b - c)", "a - (b - c)"],
  ["(a - b) - c", "a - b - c"],
  ["a / (b * c) % d @ e", "a / (b * c) % d @ e"],
  ["a || b && c", "a || b && c"],
  ["(a || b) && c", "(a || b) && c"],
  ["a == b != c", "a == b != c"],
  ["a == (b != c)", "a == (b != c)"],
  ["a < b <= c > d >= e", "a < b <= c > d >= e"],
  ["a < (b == c)", "a < (b == c)"],
  ["(a < b) + c", "(a < b) + c"],
  ["-(x ^ 2)", "-x ^ 2"],
  ["(-x) ^ 2", "(-x) ^ 2"],
  ["2 ^ 3 ^ 4", "2 ^ 3 ^ 4"],
  ["(2 ^ 3) ^ 4", "(2 ^ 3) ^ 4"],
  ["2 ^ -x", "2 ^ -x"],
  ["2 ^ (-x) ^ 3", "2 ^ (-x) ^ 3"],
  ["2 ^ -(x ^ 3)", "2 ^ -x ^ 3"],
  ["--x", "--x"],
  ["!(a && b)", "!(a && b)"],
  ["-!x", "-!x"],
  ["-(a + b)", "-(a + b)"],
  ["a - -b", "a - -b"],
  ["a ? b : c", "a ? b : c"],
  ["a ? b : c ? d : e", "a ? b : c ? d : e"],
  ["a ? b ? c : d : e", "a ? b ? c : d : e"],
  ["(a ? b : c) ? d : e", "(a ? b : c) ? d : e"],
  ["(a ? b : c) + 1", "(a ? b : c) + 1"],
  ["a || b ? c && d : e == f", "a || b ? c && d : e == f"],
  ["sign x", "sign x"],
  ["sign abs x", "sign abs x"],
  ["sign(abs(x))", "sign(abs(x))"],
  ["sign x * 2", "sign x * 2"],
  ["sign(x * 2)", "sign(x * 2)"],
  ["sign 2", "sign 2"],
  ["sign .5", "sign .5"],
  ["sign true", "sign true"],
  ["sign x[0]", "sign x[0]"],
  ["sign f(x, 1)", "sign f(x, 1)"],
  ["sign x ^ 2", "sign x ^ 2"],
  ["sign (x ^ 2)", "sign(x ^ 2)"],
  ["sign x backward ReSTE(o = o) * 2", "sign x backward ReSTE(o = o) * 2"],
  ["(sign x) backward STE", "sign x backward STE"],
  ["sign(w) backward STE", "sign(w) backward STE"],
  ["sign(w) backward STE()", "sign(w) backward STE()"],
  ["sign(w) backward STE detach", "sign(w) backward STE detach"],
  ["(round w backward STE) ^ 2", "round w backward STE ^ 2"],
  ["-sign x backward STE", "-sign x backward STE"],
  ["(a + b) backward STE", "(a + b) backward STE"],
  ["e detach", "e detach"],
  ["(e detach)[0]", "(e detach)[0]"],
  ["(e + 1) detach", "(e + 1) detach"],
  ["sg(e) * 2", "sg(e) * 2"],
  ["f(a, n = b, m = c + 1)", "f(a, n = b, m = c + 1)"],
  ["f(a,)", "f(a)"],
  ["f()", "f()"],
  ["f(x)[0, 1]", "f(x)[0, 1]"],
  ["x[i][j]", "x[i][j]"],
  ["(a, b)", "(a, b)"],
  ["(a,)", "(a,)"],
  ["((a))", "a"],
  ["((a, b), (c,))", "((a, b), (c,))"],
  ["(a, b)[0]", "(a, b)[0]"],
  ["[B, K]", "[B, K]"],
  ["[]", "[]"],
  ["[B, K,]", "[B, K]"],
  ["uniform([B, K]) < p ? 1 : 0", "uniform([B, K]) < p ? 1 : 0"],
  ["1e-3 + 2.5 + 10 + 1.", "1e-3 + 2.5 + 10 + 1."],
  ["true && !false", "true && !false"],
  ["x @ w", "x @ w"],
  ["a * (b @ c)", "a * (b @ c)"],
];

const programs: Record<string, string> = {
  imports: `import { STE, ReSTE } from "std/binary"
import { my_rule as rule, other, } from "./rules"
/// documented import
import { x } from "./x"
`,
  consts: `/// a folded constant
const K = 10
const EPS = 1e-3
const NEG = -(2 ^ 2)
`,
  estimatorForOut: `estimator Bern(t: f32 = 1.0, s) for out = bernoulli(p) {
  let d = out - p
  grad p = g * d * cost / (p * (1 - p) + 1e-6)
}
`,
  estimatorTwoInputs: `/// line one
///
///   indented line three
estimator Mm() for y = matmul(a, b) {
  grad a = g @ transpose(b)
  grad b = transpose(a) @ g
}
`,
  surrogate: `estimator Soft for sign(x) {
  surrogate tanh(x * 3) detach
}
`,
  fnTypes: `fn split(x: f32[B, 2], n: i32, mask: bool[B], s: f32[], k: i32[784]) -> (f32[B], f32[B]) {
  let (a, b) = pair(x)
  let (c) = one(x)
  let y = sign x backward ReSTE(o = o, t = 1.5)
  return (a, b)
}
`,
  fnNoResult: `fn g(x) {
  return x
}

fn h() -> (f32) {
  return (1,)
}

fn empty() {}
`,
  trailingCommaParams: `fn f(x: f32, y: f32 = 2,) -> f32 {
  return x[0] + y
}
`,
};

describe("round trip of the example and stdlib files", () => {
  const files = [...estFiles("examples"), ...estFiles("stdlib")];
  it("finds files to check", () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });
  for (const file of files) {
    it(file, () => {
      roundTrip(readFileSync(join(root, file), "utf8"), file);
    });
  }
});

describe("round trip of hand-written programs", () => {
  for (const [name, text] of Object.entries(programs)) {
    it(name, () => {
      roundTrip(text);
    });
  }
});

describe("expressions print with exactly the parentheses they need", () => {
  for (const [source, canonical] of expressions) {
    it(source, () => {
      expect(printExpr(parseExpr(source))).toBe(canonical);
      roundTrip(`fn f() {\n  return ${source}\n}\n`);
    });
  }

  it("juxtaposition nests to the right", () => {
    const e = parseExpr("sign abs x");
    expect(e).toMatchObject({ kind: "Call", callee: { name: "sign" }, juxtaposed: true });
    expect(e.kind === "Call" && e.args[0]!.value).toMatchObject({ kind: "Call", callee: { name: "abs" } });
  });

  it("backward binds looser than application and tighter than `*`", () => {
    const e = parseExpr("sign x backward ReSTE(o = o) * 2");
    expect(e).toMatchObject({ kind: "Binary", op: "*", left: { kind: "Backward", call: { kind: "Call" } } });
  });
});

describe("canonical layout", () => {
  it("prints items with doc comments, 2-space indentation and blank lines between items", () => {
    const src = `import { STE } from "std/binary"
import { A as B } from "./a"
/// the doc
const   K=3
estimator E(t=1.0) for sign(x) { grad x = g*(abs(x)<=t) }
fn f(x:f32[B,I])->f32[B,I]{let y=sign x backward E(t=2)
return y}
`;
    expect(roundTrip(src)).toBe(`import { STE } from "std/binary"
import { A as B } from "./a"

/// the doc
const K = 3

estimator E(t = 1.0) for sign(x) {
  grad x = g * (abs(x) <= t)
}

fn f(x: f32[B, I]) -> f32[B, I] {
  let y = sign x backward E(t = 2)
  return y
}
`);
  });

  it("prints the quickstart unchanged apart from comments", () => {
    const file = "examples/quickstart/binary.est";
    const printed = printModule(parseClean(readFileSync(join(root, file), "utf8"), file));
    expect(printed).toContain("  let xb = sign x backward ReSTE(o)\n");
    expect(printed).toContain("  return -mean(sum(one_hot(labels, K) * log_softmax(logits, axis = 1), axis = 1))\n");
  });

  it("prints an empty module as the empty string", () => {
    expect(roundTrip("// nothing here\n")).toBe("");
  });
});
