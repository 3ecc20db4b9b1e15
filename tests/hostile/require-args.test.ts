/**
 * What `require(o, min = …)` checks of an estimator's argument (issue 17, item 12): a value known
 * when the fn is built — a literal, a default, a const, or an expression of those (`0.25 * 2.0`
 * and `C * 1.0` were not folded and passed unchecked) — is E4040 at the `backward`; a runtime
 * scalar of the fn passed straight (or an i32 one through its conversion) is E6031 at each call
 * with a value outside. An argument computed from a runtime scalar (`2.0 * o`) is not checked,
 * as docs/language.md §6 says.
 */
import { describe, expect, it } from "vitest";
import { tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { compile } from "./generate.js";

const estimator = `estimator R(o: f32 = 1.0) for sign(x) {
  let o1 = require(o, min = 1.0)
  grad x = g * o1
}
const C = 0.5
`;
const program = (arg: string) => `${estimator}fn f(x: f32[N], o: f32 = 1.0, k: i32 = 1) -> f32[N] {\n  return sign(x) backward R(o = ${arg})\n}\n`;

describe("require on an estimator argument", () => {
  it("a value known at build time is E4040 at the backward, however it is written", async () => {
    for (const arg of ["0.5", "C", "0.25 * 2.0", "C * 1.0", "-(-0.5)", "C > 1.0 ? 2.0 : 0.5"]) {
      const text = program(arg);
      const r = await compile({ "m.est": text }, "m.est");
      expect(r.diagnostics.map((d) => [d.code, d.span.start, d.message]), arg).toEqual([
        ["E4040", text.indexOf("sign(x) backward"), "estimator 'R': an argument of 0.5 is outside the valid range x >= 1 that its require(…) declares"],
      ]);
    }
    for (const arg of ["1.0", "C * 2.0", "C + C"]) expect((await compile({ "m.est": program(arg) }, "m.est")).diagnostics, arg).toEqual([]);
  });

  it("a runtime scalar passed straight, f32 or i32, is E6031 at a call with a value outside", async () => {
    for (const [arg, scalar] of [["o", "o"], ["k", "k"]] as const) {
      const { mod } = await buildModule(program(arg));
      const x = tensor(new Float32Array([0.5, -1]), [2]);
      const ct = tensor(new Float32Array([1, 1]), [2]);
      const ok = await mod["f"].vjp({ x }, ct, { [scalar]: 2 });
      expect([...(await ok.x.data())], arg).toEqual([2, 2]);
      const err = await mod["f"].vjp({ x }, ct, { [scalar]: 0 }).then(() => undefined, (e: { code: string }) => e.code);
      expect(err, arg).toBe("E6031");
    }
  });
});
