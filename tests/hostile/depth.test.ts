/**
 * Deep programs in a library call (issue 17, items 6 and 12), on vitest's default ~1 MB stack,
 * where the parser stopped near 200 nested parentheses (E1002) and the checker near 1,000
 * nested calls. Each program goes through checkFiles and buildFile, and the module it builds
 * runs on a small input against a closed form: 1,000 nested parentheses, calls, signs,
 * ternaries (both ways) and tuples, and chains of 10,000 prefix signs and `^`. Deep nests are
 * parsed bottom-up (grammar/nesting.ts) and the passes compute ahead past a fixed depth
 * (grammar/deep.ts); deep random trees must parse to the tree they were printed from, with
 * spans that cover their text, and a syntax error deep inside is itself reported, not E1002.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { tensor, type Tensor } from "estc/runtime";
import { buildFile } from "../../compiler/build.js";
import { checkFiles } from "../../compiler/pipeline.js";
import type * as A from "../../grammar/ast.js";
import { parse } from "../../grammar/index.js";
import { printExpr } from "../../grammar/print.js";
import { memoryHost } from "../helpers/compile.js";
import { ensureDist, repoRoot } from "../helpers/dist.js";
import { mulberry32 as rng } from "../helpers/random.js";

beforeAll(() => ensureDist());

const sig = "(x: f32[N]) -> f32[N]";
const fn = (body: string) => `fn f${sig} {\n  return ${body}\n}\n`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Case {
  text: string;
  x: number[];
  /** The closed form of f at each element of x. */
  want: (x: number) => number;
}

const cases: Record<string, Case> = {
  "1,000 nested parentheses: x + (x + (… + x))": {
    text: fn(`${"(x + ".repeat(1000)}x${")".repeat(1000)}`),
    x: [0.5, -2],
    want: (x) => 1001 * x,
  },
  "1,000 nested calls h(h(…h(x)))": {
    text: `fn h${sig} { return x + 1 }\n${fn(`${"h(".repeat(1000)}x${")".repeat(1000)}`)}`,
    x: [0.5, -2],
    want: (x) => x + 1000,
  },
  "1,001 nested signs -(-(…-(x)))": {
    text: fn(`${"-(".repeat(1001)}x${")".repeat(1001)}`),
    x: [0.5, -2],
    want: (x) => -x,
  },
  "1,000 ternaries in an else-chain": {
    text: fn(`${range(1000).map((i) => `x < ${i + 1} ? ${i + 1}.0 : `).join("")}0.0`),
    x: [0.5, 10.5, 999.5, 2000],
    want: (x) => (x < 1000 ? Math.ceil(x) : 0),
  },
  "1,000 ternaries nested in the then-branch": {
    text: fn(`${range(1000).map((i) => `x > ${i} ? `).join("")}1.0${" : 0.0".repeat(1000)}`),
    x: [0.5, 999.5, 2000],
    want: (x) => (x > 999 ? 1 : 0),
  },
  "1,000 nested tuples ((…(x, 1)[0]…, 1)[0]": {
    text: fn(`${"(".repeat(1000)}x${", 1)[0]".repeat(1000)}`),
    x: [0.5, -2],
    want: (x) => x,
  },
  "a chain of 10,000 prefix signs - - … x": {
    text: fn(`${"- ".repeat(10_000)}x`),
    x: [0.5, -2],
    want: (x) => x,
  },
  "a chain of 10,000 `^`: x ^ 1 ^ … ^ 1 (right-assoc)": {
    text: fn(`x${" ^ 1".repeat(10_000)}`),
    x: [0.5, 3],
    want: (x) => x,
  },
};

const outRoot = path.join(repoRoot, "tests", ".tmp", "depth");

describe("deep programs check, build and compute on the default stack", () => {
  let n = 0;
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const host = memoryHost({ "m.est": c.text });
      expect(checkFiles(["m.est"], host).diagnostics).toEqual([]);
      const out = path.join(outRoot, String(n++));
      fs.rmSync(out, { recursive: true, force: true });
      const built = await buildFile("m.est", out, "js", host);
      expect(built.diagnostics).toEqual([]);
      const mod = (await import(pathToFileURL(path.join(out, "m.js")).href)) as Record<string, any>;
      const y = (await mod["f"].forward({ x: tensor(new Float32Array(c.x), [c.x.length]) })) as Tensor;
      expect([...y.dataSync()]).toEqual(c.x.map((v) => Math.fround(c.want(Math.fround(v)))));
    });
  }

  it("10,000 juxtaposed calls check (and 300 build and compute |x|)", async () => {
    expect(checkFiles(["m.est"], memoryHost({ "m.est": fn(`${"abs ".repeat(10_000)}x`) })).diagnostics).toEqual([]);
    const out = path.join(outRoot, "juxtaposed");
    fs.rmSync(out, { recursive: true, force: true });
    const built = await buildFile("m.est", out, "js", memoryHost({ "m.est": fn(`${"abs ".repeat(300)}x`) }));
    expect(built.diagnostics).toEqual([]);
    const mod = (await import(pathToFileURL(path.join(out, "m.js")).href)) as Record<string, any>;
    const y = (await mod["f"].forward({ x: tensor(new Float32Array([0.5, -2]), [2]) })) as Tensor;
    expect([...y.dataSync()]).toEqual([0.5, 2]);
  });

  it("a const folded from a chain of 10,000 `+` and a 1,000-deep default are compile-time values", async () => {
    const text = `const C = 1${" + 1".repeat(10_000)}\nfn f(x: f32[N], s: f32 = ${"(".repeat(1000)}2${")".repeat(1000)}) -> f32[N] {\n  return x * C * s\n}\n`;
    const host = memoryHost({ "m.est": text });
    expect(checkFiles(["m.est"], host).diagnostics).toEqual([]);
    const out = path.join(outRoot, "const");
    fs.rmSync(out, { recursive: true, force: true });
    expect((await buildFile("m.est", out, "js", host)).diagnostics).toEqual([]);
    const mod = (await import(pathToFileURL(path.join(out, "m.js")).href)) as Record<string, any>;
    const y = (await mod["f"].forward({ x: tensor(new Float32Array([0.5, -2]), [2]) })) as Tensor;
    expect([...y.dataSync()]).toEqual([10_001, -40_004]);
  });
});

describe("syntax errors deep inside a nest", () => {
  const diagnostics = (text: string) => checkFiles(["m.est"], memoryHost({ "m.est": text })).diagnostics.map((d) => [d.code, d.span.start, d.message]);

  it("a missing operand under 1,000 parentheses is E1004 where it is, as under 10", () => {
    for (const depth of [10, 1000]) {
      const text = fn(`${"(".repeat(depth)}x +${")".repeat(depth)}`);
      const at = text.indexOf("+") + 1;
      expect(diagnostics(text), String(depth)).toEqual([["E1004", at, "expected an expression, found `)`"]]);
    }
  });

  it("an unclosed bracket among 1,000 is E1003 at the end of the body", () => {
    const text = fn(`${"(".repeat(1000)}x${")".repeat(999)}`);
    expect(diagnostics(text)).toEqual([["E1003", text.lastIndexOf("}"), "expected `)` in these parentheses, found `}`"]]);
  });

  it("an element that ends early in a group parsed ahead says what its group expected there", () => {
    // A group is parsed ahead when 16 levels have gathered in it (15 since the last one parsed ahead): f( is the 31st.
    const deep = fn(`f(${"(".repeat(30)}x${")".repeat(30)} y)`);
    const shallow = fn(`f((x) y)`);
    expect(diagnostics(deep)).toEqual([["E1003", deep.indexOf("y"), "expected `,` or `)`, found `y`"]]);
    // In a shallow nest the main parse says it in its own words, at the same place.
    expect(diagnostics(shallow)).toEqual([["E1003", shallow.indexOf("y"), "expected `)` in the arguments of this call, found `y`"]]);
  });
});

// ---------------------------------------------------------------- random deep trees

const S: A.Span = { file: "", start: 0, end: 0 };
const name = (n: string): A.Expr => ({ kind: "Name", name: n, span: S });
const ident = (n: string): A.Ident => ({ kind: "Ident", name: n, span: S });
const arg = (value: A.Expr, n?: string): A.Arg => (n === undefined ? { kind: "Arg", value, span: S } : { kind: "Arg", name: ident(n), value, span: S });

type Gen = { text: string; ast: A.Expr };

/** A random expression nesting `depth` deep, as text and as the tree the parser must build from it. */
function deepTree(random: () => number, depth: number): Gen {
  if (depth === 0) return random() < 0.5 ? { text: "x", ast: name("x") } : { text: "2.5", ast: { kind: "Number", value: 2.5, text: "2.5", isInt: false, span: S } };
  const deep = () => deepTree(random, depth - 1);
  const shallow = () => deepTree(random, Math.min(depth - 1, Math.floor(random() * 3)));
  const [a, b] = random() < 0.5 ? [deep(), shallow()] : [shallow(), deep()];
  const c = shallow();
  const forms: (() => Gen)[] = [
    () => ({ text: `(${a.text})`, ast: a.ast }),
    () => ({ text: `(${a.text}) * (${b.text})`, ast: { kind: "Binary", op: "*", left: a.ast, right: b.ast, opSpan: S, span: S } }),
    () => ({ text: `-(${a.text})`, ast: { kind: "Unary", op: "-", operand: a.ast, span: S } }),
    () => ({ text: `f(${a.text}, o = ${b.text})`, ast: { kind: "Call", callee: ident("f"), args: [arg(a.ast), arg(b.ast, "o")], juxtaposed: false, span: S } }),
    () => ({ text: `(${a.text}, ${b.text})[0]`, ast: { kind: "Index", target: { kind: "Tuple", elements: [a.ast, b.ast], span: S }, indices: [{ kind: "Number", value: 0, text: "0", isInt: true, span: S }], span: S } }),
    () => ({ text: `[${a.text}, ${b.text},]`, ast: { kind: "List", elements: [a.ast, b.ast], span: S } }),
    () => ({ text: `(${c.text}) ? ${a.text} : (${b.text})`, ast: { kind: "Ternary", cond: c.ast, then: a.ast, else: b.ast, span: S } }),
    () => ({
      text: `g(${a.text}) backward E(t = ${b.text})`,
      ast: { kind: "Backward", call: { kind: "Call", callee: ident("g"), args: [arg(a.ast)], juxtaposed: false, span: S }, estimator: ident("E"), args: [arg(b.ast, "t")], hasParens: true, span: S },
    }),
  ];
  return forms[Math.floor(random() * forms.length)]!();
}

function stripSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(Object.entries(node).filter(([k]) => k !== "span" && k !== "opSpan").map(([k, v]) => [k, stripSpans(v)]));
}

/** Every expression node under `e` (an explicit stack: the trees are deep). */
function subexpressions(e: A.Expr): A.Expr[] {
  const out: A.Expr[] = [];
  const stack: unknown[] = [e];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) stack.push(...n);
    else if (n !== null && typeof n === "object") {
      const kind = (n as { kind?: string }).kind;
      if (kind !== undefined && kind !== "Arg" && kind !== "Ident") out.push(n as A.Expr);
      for (const [k, v] of Object.entries(n)) if (k !== "span" && k !== "opSpan") stack.push(v);
    }
  }
  return out;
}

function returned(text: string): A.Expr {
  const { ast, diagnostics } = parse(`fn f() {\n  return ${text}\n}\n`, "t.est");
  expect(diagnostics.map((d) => d.message), text.slice(0, 200)).toEqual([]);
  return ((ast.items[0] as A.FnDecl).body[0] as A.ReturnStmt).value;
}

describe("deep random trees (parsed bottom-up past 16 levels)", () => {
  it("parse to the tree they were printed from, and each node's span is the text of that node", () => {
    const random = rng(17);
    for (let run = 0; run < 30; run++) {
      const g = deepTree(random, 20 + Math.floor(random() * 60));
      const prefix = "fn f() {\n  return ";
      const e = returned(g.text);
      expect(stripSpans(e)).toEqual(stripSpans(g.ast));
      for (const sub of subexpressions(e)) {
        const source = `${prefix}${g.text}`.slice(sub.span.start, sub.span.end);
        expect(stripSpans(returned(source)), source.slice(0, 200)).toEqual(stripSpans(sub));
      }
    }
  });

  it("a tree 1,000 deep prints back to itself (the printer computes ahead too)", () => {
    const g = deepTree(rng(3), 1000);
    const e = returned(g.text);
    expect(stripSpans(e)).toEqual(stripSpans(g.ast));
    expect(stripSpans(returned(printExpr(e)))).toEqual(stripSpans(g.ast));
  });
});
