/**
 * Every program that checks builds into a module that imports and type-checks, whatever its
 * names: each ECMAScript reserved word, strict-mode restricted and special name, standard
 * global, TypeScript contextual keyword and name the generated module itself imports or
 * defines, as a fn, a tensor input, a runtime scalar, a shape symbol, an estimator and an
 * estimator parameter. Each (name, place) is checked on its own; the accepted ones are built
 * together (one module per place), imported and called, and the rejected ones must be the
 * documented diagnostics. All modules type-check in one `tsc --strict` run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import ts from "typescript";
import { isMangled, RUNTIME_IMPORTS } from "../../compiler/codegen/names.js";
import { tensor, type Tensor } from "../../runtime/index.js";
import { check, compile, scratch, typecheck, writeAndImport } from "./generate.js";

/** ECMAScript reserved words and strict-mode future reserved words (ES2024 §12.7.2). */
const RESERVED = (
  "await break case catch class const continue debugger default delete do else enum export extends false finally for " +
  "function if import in instanceof new null return super switch this throw true try typeof var void while with yield " +
  "implements interface let package private protected public static"
).split(" ");

/** Names with a meaning to JavaScript objects, modules, globals or TypeScript. */
const SPECIAL = (
  "eval arguments constructor __proto__ prototype then toString valueOf hasOwnProperty isPrototypeOf toLocaleString " +
  "__defineGetter__ __lookupGetter__ name length caller callee undefined NaN Infinity globalThis Object Function " +
  "Symbol Math Number Array Promise Reflect Proxy JSON Float32Array Float64Array Int32Array Uint8Array Error require " +
  "module exports process console window self async get set of type declare namespace abstract any unknown never " +
  "number string boolean object symbol bigint readonly keyof infer is asserts satisfies accessor override out global"
).split(" ");

/** What a generated module imports or defines: runtime names, kernel names, kernel locals and WGSL names. */
const GENERATED = (
  "defineFunction EstFunction NonScalarEstFunction Tensor gemm rint randomUniform tensor cpu webgpu f f_k0 f_k1 " +
  "dims scalars seed size i b0 v1 s_o n_N u main idx gid _dims spec forward vjp device wrt"
).split(" ");

/** `.est` keywords: never a name (a syntax error, E1xxx). */
const EST_KEYWORDS = "import from as const estimator for fn let return grad surrogate backward detach true false f32 i32 bool".split(" ");

/** Every name tried, keywords included (JavaScript's `const`, `for`, … are `.est` keywords too). */
const NAMES = [...new Set([...RESERVED, ...SPECIAL, ...GENERATED, ...EST_KEYWORDS])];

/**
 * The program for a group of names in one place; `j` keeps groups apart. Name k of a group
 * (from 1) is weighted by k, so a result shows that each name was read, and read as itself.
 * Groups keep the modules small (a build's time grows with its kernels); each name was
 * checked on its own first.
 */
const places = {
  fn: (ns: string[]) => ns.map((n) => `fn ${n}(x_: f32[N_]) -> f32[N_] { return x_ * 2 }\n`).join(""),
  input: (ns: string[], j = 0) =>
    `fn p_${j}(${ns.map((n) => `${n}: f32[N_]`).join(", ")}) -> f32[N_] { return ${ns.map((n, k) => `${n} * ${k + 1}`).join(" + ")} }\n`,
  scalar: (ns: string[], j = 0) =>
    `fn s_${j}(x_: f32[N_], ${ns.map((n) => `${n}: f32 = 0`).join(", ")}) -> f32[N_] { return x_ + ${ns.map((n, k) => `${n} * ${k + 1}`).join(" + ")} }\n`,
  dim: (ns: string[], j = 0) =>
    `fn d_${j}(${ns.map((n, k) => `x${k}_: f32[${n}]`).join(", ")}) -> f32 { return ${ns.map((n, k) => `sum(x${k}_) + ${n} * ${k + 1}`).join(" + ")} }\n`,
  estimator: (ns: string[], j = 0) =>
    ns.map((n) => `estimator ${n}(t_: f32 = 0.5) for sign(x_) { grad x_ = g * t_ }\n`).join("") +
    `fn e_${j}(x_: f32[N_]) -> f32[N_] { return ${ns.map((n, k) => `(sign(x_) backward ${n}) * ${k + 1}`).join(" + ")} }\n`,
  estimatorParam: (ns: string[], j = 0) =>
    ns.map((n, k) => `estimator P_${j}_${k}(${n}: f32 = 0.5) for sign(x_) { grad x_ = g * ${n} }\n`).join("") +
    `fn q_${j}(x_: f32[N_]) -> f32[N_] { return ${ns.map((n, k) => `(sign(x_) backward P_${j}_${k}(${n} = 0.25)) * ${k + 1}`).join(" + ")} }\n`,
};

/** Names per group (a fn place has one fn per name). */
const GROUP = 10;

function groups(names: string[]): string[][] {
  return Array.from({ length: Math.ceil(names.length / GROUP) }, (_, j) => names.slice(j * GROUP, (j + 1) * GROUP));
}
type Place = keyof typeof places;
const PLACES = Object.keys(places) as Place[];

/** The diagnostics a rejected (name, place) may get, and why (docs/language.md §2, §4, §6). */
function expectedRejection(name: string, place: Place): string | undefined {
  if (EST_KEYWORDS.includes(name)) return "E1"; // a keyword is not a name
  if (name === "__proto__" && (place === "input" || place === "scalar")) return "E2014";
  if (place === "scalar" && ["seed", "device", "wrt"].includes(name)) return "E2013";
  if (place === "estimatorParam" && name === "out") return "E2008"; // a built-in of estimator bodies
  return undefined;
}

const accepted = new Map<Place, string[]>(PLACES.map((p) => [p, []]));
const rejected: string[] = [];
const dir = scratch("hostile-names");
const modules = new Map<Place, Record<string, any>>();

describe("names", () => {
  it(`checks ${NAMES.length} names × ${PLACES.length} places one by one`, () => {
    for (const name of NAMES) {
      for (const place of PLACES) {
        const r = check({ "a.est": places[place]([name]) }, "a.est");
        const want = expectedRejection(name, place);
        if (want === undefined) {
          expect(r.diagnostics, `${name} as ${place}: ${r.rendered}`).toEqual([]);
          accepted.get(place)!.push(name);
        } else {
          expect(r.diagnostics.length, `${name} as ${place}`).toBeGreaterThan(0);
          expect(r.diagnostics[0]!.code.startsWith(want), `${name} as ${place}: ${r.rendered}`).toBe(true);
          rejected.push(`${name} as ${place}: ${r.diagnostics[0]!.code}`);
        }
      }
    }
    const byKeyword = rejected.filter((r) => EST_KEYWORDS.some((k) => r.startsWith(`${k} as `)));
    expect(byKeyword.length).toBe(EST_KEYWORDS.length * PLACES.length);
    expect(rejected.filter((r) => !byKeyword.includes(r)).sort()).toEqual(
      ["__proto__ as input: E2014", "__proto__ as scalar: E2014", "out as estimatorParam: E2008", "device as scalar: E2013", "wrt as scalar: E2013", "seed as scalar: E2013"].sort(),
    );
  });

  it("E2014 points at the parameter and says why", () => {
    const r = check({ "a.est": "fn f(x: f32[N], __proto__: f32 = 1) -> f32[N] { return x }\n" }, "a.est");
    expect(r.diagnostics.map((d) => [d.code, d.span.start, d.span.end])).toEqual([["E2014", 16, 25]]);
    expect(r.rendered).toContain("a JavaScript object literal `{ __proto__: t }` sets the object's prototype");
    expect(r.rendered).toContain("hint: rename the parameter");
  });

  it("builds the accepted names of each place into one module that imports", async () => {
    for (const place of PLACES) {
      const text = place === "fn" ? places.fn(accepted.get("fn")!) : groups(accepted.get(place)!).map((g, j) => places[place](g, j)).join("");
      const r = await compile({ "a.est": text }, "a.est");
      expect(r.rendered, place).toBe("");
      modules.set(place, await writeAndImport(path.join(dir, place), r.module!));
    }
  });

  const x = tensor(new Float32Array([1, -2, 3]), [3]);
  const y = tensor(new Float32Array([2, 5, -1]), [3]);
  const ct = tensor(new Float32Array([1, 1, 2]), [3]);
  const values = async (t: Tensor | Promise<Tensor>) => Array.from(await (await t).data());

  it("every fn is exported under its own name and computes x * 2; kernels and bindings never collide", async () => {
    const mod = modules.get("fn")!;
    const names = accepted.get("fn")!;
    expect(Object.keys(mod).sort()).toEqual([...names].sort());
    for (const n of names) expect(await values(mod[n].forward({ x_: x })), n).toEqual([2, -4, 6]);
    const mangled = names.filter(isMangled);
    const js = fs.readFileSync(path.join(dir, "fn", "js", "m.js"), "utf8");
    for (const n of mangled) expect(js, n).toContain(`export { ${n}$ as ${n} };`);
    // `then` is an export, and a module namespace is not a thenable: an EstFunction is no function.
    const ns = (await import(path.join(dir, "fn", "js", "m.js"))) as Record<string, any>;
    expect(ns["then"].name).toBe("then");
    expect(ns["default"].name).toBe("default");
  });

  /** Σ k·w over a group's weights 1..n. */
  const weights = (n: number) => (n * (n + 1)) / 2;

  it("inputs by any name are read as own properties: passed, they compute; left out, they are missing", async () => {
    const mod = modules.get("input")!;
    for (const [j, group] of groups(accepted.get("input")!).entries()) {
      const f = mod[`p_${j}`];
      const inputs = Object.fromEntries(group.map((n) => [n, x]));
      const w = weights(group.length);
      expect(await values(f.forward(inputs)), group.join()).toEqual([w, -2 * w, 3 * w]);
      const grads = await f.vjp(inputs, ct);
      expect(Object.keys(grads).sort(), group.join()).toEqual([...group].sort());
      for (const [k, n] of group.entries()) expect(await values(grads[n]), n).toEqual([k + 1, k + 1, 2 * (k + 1)]);
      for (const n of group) {
        const rest = Object.fromEntries(group.filter((m) => m !== n).map((m) => [m, x]));
        await expect(f.forward(rest), n).rejects.toMatchObject({ code: "E6010", message: expect.stringContaining(`missing input '${n}'`) });
      }
    }
  });

  it("runtime scalars by any name take their default when left out and the value when given", async () => {
    const mod = modules.get("scalar")!;
    for (const [j, group] of groups(accepted.get("scalar")!).entries()) {
      const f = mod[`s_${j}`];
      expect(await values(f.forward({ x_: x })), group.join()).toEqual([1, -2, 3]);
      for (const [k, n] of group.entries()) {
        expect(await values(f.forward({ x_: x }, Object.fromEntries([[n, 5]]))), n).toEqual([1, -2, 3].map((v) => v + 5 * (k + 1)));
      }
    }
  });

  it("shape symbols by any name bind and read back as values", async () => {
    const mod = modules.get("dim")!;
    for (const [j, group] of groups(accepted.get("dim")!).entries()) {
      // Input k holds k + 1 ones, so its symbol is k + 1: sum(x_k) + N_k·(k + 1) = (k + 1) + (k + 1)².
      const inputs = Object.fromEntries(group.map((_, k) => [`x${k}_`, tensor(new Float32Array(k + 1).fill(1), [k + 1])]));
      const want = group.reduce((s, _, k) => s + (k + 1) + (k + 1) ** 2, 0);
      expect(await values(mod[`d_${j}`].forward(inputs)), group.join()).toEqual([want]);
    }
  });

  it("estimators and their parameters by any name give their gradients", async () => {
    for (const [place, prefix, slope] of [["estimator", "e_", 0.5], ["estimatorParam", "q_", 0.25]] as const) {
      const mod = modules.get(place)!;
      for (const [j, group] of groups(accepted.get(place)!).entries()) {
        const s = slope * weights(group.length);
        expect(await values((await mod[`${prefix}${j}`].vjp({ x_: x }, ct)).x_), `${group.join()} as ${place}`).toEqual([s, s, 2 * s]);
      }
    }
  });

  it("a fn named after a runtime helper the module imports (gemm, rint, randomUniform, …) loads and computes", async () => {
    const text = [
      "fn gemm(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }",
      "fn rint(x: f32[N]) -> f32[N] { return round(x) }",
      "fn randomUniform(x: f32[N]) -> f32[N] { return x + uniform([N]) * 0 }",
      "fn defineFunction(x: f32[N]) -> f32[N] { return x * 2 }",
      "fn EstFunction(x: f32[N]) -> f32 { return sum(x) }",
      "fn NonScalarEstFunction(x: f32[N]) -> f32[N] { return -x }",
      "fn Tensor(x: f32[N]) -> (f32, f32[N]) { return (sum(x), x) }",
    ].join("\n");
    const r = await compile({ "a.est": text }, "a.est");
    expect(r.rendered).toBe("");
    const mod = await writeAndImport(path.join(dir, "helpers"), r.module!);
    const imports = /^import \{([^}]*)\} from "estc\/runtime";$/m.exec(r.module!.ts)![1]!.split(",").map((n) => n.replace("type ", "").trim());
    expect(imports).toEqual(expect.arrayContaining(["defineFunction", "gemm", "rint", "randomUniform"]));
    const a = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const b = tensor(new Float32Array([1, 1]), [2, 1]);
    const v = tensor(new Float32Array([0.5, 1.5, 2.4]), [3]);
    expect(await values(mod["gemm"].forward({ a, b }))).toEqual([3, 7]);
    expect(await values(mod["rint"].forward({ x: v }))).toEqual([0, 2, 2]); // ties to even
    expect(await values(mod["randomUniform"].forward({ x: v }))).toEqual([0.5, 1.5, 2.4].map(Math.fround));
    expect(await values(mod["defineFunction"].forward({ x: v }))).toEqual([1, 3, 4.8].map(Math.fround));
    expect(await values(mod["EstFunction"].forward({ x: v }))).toEqual([Math.fround(Math.fround(0.5) + Math.fround(1.5) + Math.fround(2.4))]);
    expect(await values(mod["NonScalarEstFunction"].forward({ x: v }))).toEqual([-0.5, -1.5, -2.4].map(Math.fround));
    expect((await mod["Tensor"].forward({ x: v })).length).toBe(2);
  });

  it("a module's top level holds only runtime imports, `$` names (kernels, mangled fns, plans, the WGSL loader) and the fns' own names", () => {
    for (const place of [...PLACES, "helpers"]) {
      const file = path.join(dir, place, "ts", "m.ts");
      const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022);
      const exported = new Set<string>();
      for (const st of source.statements) {
        if (ts.isImportDeclaration(st)) {
          const names = (st.importClause?.namedBindings as ts.NamedImports).elements.map((e) => e.name.text);
          for (const n of names) expect(RUNTIME_IMPORTS as readonly string[], `${place}: import ${n}`).toContain(n);
        } else if (ts.isFunctionDeclaration(st)) {
          expect(st.name!.text, `${place}: function`).toMatch(/\$k\d+$/);
        } else if (ts.isVariableStatement(st)) {
          for (const d of st.declarationList.declarations) {
            const n = (d.name as ts.Identifier).text;
            const isExport = st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
            // A plain binding is exported as itself; a mangled one is `name$`, exported below; other
            // consts (the WGSL loader `$wgsl`, shared plans `f$forward`) hold a `$` and are not exported.
            const generated = n.endsWith("$") ? isMangled(n.slice(0, -1)) : n.includes("$");
            expect(isExport ? !n.includes("$") && !isMangled(n) : generated, `${place}: ${n}`).toBe(true);
            if (isExport) exported.add(n);
          }
        } else if (ts.isExportDeclaration(st)) {
          for (const e of (st.exportClause as ts.NamedExports).elements) {
            expect(e.propertyName && ts.isIdentifier(e.propertyName) ? e.propertyName.text : "", `${place}: export ${e.name.text}`).toBe(`${e.name.text}$`);
            exported.add(e.name.text);
          }
        } else {
          throw new Error(`${place}: an unexpected top-level ${ts.SyntaxKind[st.kind]}`);
        }
      }
      expect(exported.size, place).toBeGreaterThan(0);
      // The WGSL sibling binds only `$` names (shaders `f$k0`, lists `f$wgsl`) and exports them under the fns' names.
      const wgslFile = path.join(dir, place, "ts", "m.wgsl.ts");
      const wgsl = ts.createSourceFile(wgslFile, fs.readFileSync(wgslFile, "utf8"), ts.ScriptTarget.ES2022);
      for (const st of wgsl.statements) {
        if (ts.isVariableStatement(st)) {
          for (const d of st.declarationList.declarations) expect((d.name as ts.Identifier).text, `${place}: wgsl`).toContain("$");
        } else if (ts.isExportDeclaration(st)) {
          for (const e of (st.exportClause as ts.NamedExports).elements) expect((e.propertyName as ts.Identifier).text, place).toBe(`${e.name.text}$wgsl`);
        } else if (ts.isImportDeclaration(st)) {
          for (const e of (st.importClause?.namedBindings as ts.NamedImports).elements) expect(["WgslKernel", "withoutBoundsGuard"], place).toContain(e.name.text);
        } else throw new Error(`${place}: an unexpected top-level ${ts.SyntaxKind[st.kind]} in the WGSL module`);
      }
    }
  });

  it("every module and its declarations type-check (tsc --strict), and TypeScript sees each fn under its name", () => {
    const names = accepted.get("fn")!;
    const uses = names.map((n) => `  await m[${JSON.stringify(n)}].forward({ x_: x });`).join("\n");
    fs.writeFileSync(
      path.join(dir, "use.ts"),
      `import type { Tensor } from "estc/runtime";\nimport * as m from "./fn/js/m.js";\nimport d, { await as aw, then } from "./fn/js/m.js";\n` +
        `declare const x: Tensor;\nexport async function run(): Promise<void> {\n${uses}\n  await d.forward({ x_: x });\n  await aw.forward({ x_: x });\n  await then.forward({ x_: x });\n` +
        `  // @ts-expect-error the input is x_\n  await d.forward({ x: x });\n}\n`,
    );
    expect(typecheck(dir)).toEqual([]);
  });

  it("counts", () => {
    const total = NAMES.length * PLACES.length;
    const acceptedCount = [...accepted.values()].reduce((s, l) => s + l.length, 0);
    expect(acceptedCount + rejected.length).toBe(total);
    console.log(
      `names: ${NAMES.length} × ${PLACES.length} places = ${total}; accepted ${acceptedCount}, rejected ${rejected.length} ` +
        `(${EST_KEYWORDS.length * PLACES.length} .est keywords); fn bindings mangled: ${accepted.get("fn")!.filter(isMangled).length} of ${accepted.get("fn")!.length}`,
    );
  });
});
