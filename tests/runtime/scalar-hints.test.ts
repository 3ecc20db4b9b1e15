/**
 * The runtime's errors for scalars passed in the wrong place say where they go: a runtime scalar
 * (a parameter with a default) among the tensors, and a plain number for a parameter without a
 * default (a rank-0 tensor input).
 */
import { describe, expect, it } from "vitest";
import type { EstcRuntimeError } from "../../runtime/errors.js";
import { scalar, tensor } from "../../runtime/tensor.js";
import { buildModule } from "../helpers/build.js";

const src = "fn f(x: f32[N], s: f32, o: f32 = 3.0) -> f32[N] { return x * s + o }\n";

/** The error of `call`: an EstcRuntimeError of the built module's runtime (dist/, so matched by name). */
async function failure(call: () => Promise<unknown>): Promise<EstcRuntimeError> {
  try {
    await call();
  } catch (e) {
    if (e instanceof Error && e.name === "EstcRuntimeError") return e as EstcRuntimeError;
    throw e;
  }
  throw new Error("the call did not fail");
}

describe("scalars in the wrong place", () => {
  it("a runtime scalar among the inputs: E6xxx saying to pass it in the options", async () => {
    const { mod } = await buildModule(src);
    const x = tensor(new Float32Array([1, 2]), [2]);
    const e = await failure(() => mod.f.forward({ x, s: scalar(2), o: 0.5 }));
    expect(e.code).toBe("E6011");
    expect(e.message).toContain("f: 'o' is a runtime scalar, not an input: pass it in the options, f.forward({ x, s }, { o: 0.5 })");
  });

  it("a number for a parameter without a default: E6007 saying to pass scalar(…) or give it a default", async () => {
    const { mod } = await buildModule(src);
    const x = tensor(new Float32Array([1, 2]), [2]);
    const e = await failure(() => mod.f.forward({ x, s: 0.1 }));
    expect(e.code).toBe("E6007");
    expect(e.message).toContain("f: input 's': expected f32, got 0.1; 's' has no default in the .est, so it is a rank-0 tensor input: pass scalar(0.1) (from estc/runtime), or give it a default (s: f32 = …) to make it an option");
    // Passed as the hint says, it runs: x * 2 + 3.
    const y = await mod.f.forward({ x, s: scalar(2) });
    expect(Array.from(await y.data())).toEqual([5, 7]);
  });
});
