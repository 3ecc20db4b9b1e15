/**
 * The spec printer (compiler/codegen/literal.ts) lays literals out as prettier does, so a
 * generated module reads the same as when prettier formatted all of it: for values without
 * strings too long for any line, prettier must leave the printed text exactly as it is.
 */
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { Code, printLiteral, type Literal } from "../../compiler/codegen/literal.js";

const step = (k: number) => ({ op: "kernel", kernel: k, args: [k, k + 1, k + 2] });
const values: [string, Literal][] = [
  ["a short object", { name: "f", dtype: "f32", shape: ["B", "I"] }],
  ["a list of short objects that fits", [{ name: "x" }, { name: "w" }]],
  ["a plan too wide for one line", { buffers: Array.from({ length: 12 }, (_, i) => ({ dtype: "f32", shape: ["B", i] })), inputs: [{ name: "x", buffer: 0 }], outputs: [3, 4], steps: [step(0), step(3), { op: "alias", x: 1, out: 2 }] }],
  ["a long list of numbers", { outputs: Array.from({ length: 80 }, (_, i) => i * 7) }],
  ["references, booleans, nulls, empty containers and quoted keys", { kernels: [new Code("f_k0"), new Code("f_k1")], tuple: false, packed: null, scalars: [], extra: {}, "$ct0": 1 }],
  ["left-out undefined entries", { a: 1, valueAndGrad: undefined, b: [1, undefined, 2] }],
];

describe("printLiteral", () => {
  for (const [name, value] of values) {
    it(`prints ${name} as prettier would`, async () => {
      const head = "export const spec = defineFunction(";
      const text = `${head}${printLiteral(value, 0, head.length)});\n`;
      expect(await prettier.format(text, { parser: "typescript", filepath: "m.ts", printWidth: 110 })).toBe(text);
    });
  }

  it("drops undefined entries and writes references as code", () => {
    expect(printLiteral({ a: 1, b: undefined, c: [new Code("k0"), undefined] }, 0, 0)).toBe("{ a: 1, c: [k0] }");
  });
});
