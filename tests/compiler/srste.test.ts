/**
 * An estimator for a primitive with compile-time inputs (nm_prune's n and m): std/sparse's SRSTE
 * (Zhou et al., ICLR 2021; NM-sparsity sparse_ops.py Sparse.backward) is the dense cotangent plus
 * lambda times the pruned weights: dW = g + lambda * (1 - mask) * W. The full formula tests on
 * every back end are in sparse.test.ts; this one checks the imported estimator in the interpreter.
 */
import { describe, expect, it } from "vitest";
import { evaluate } from "../../compiler/interpret.js";
import { compileFn } from "../helpers/compile.js";

describe("SR-STE on nm_prune(w, 2, 4)", () => {
  it("passes g to every weight and decays only the pruned ones", () => {
    const fn = compileFn(
      `import { SRSTE } from "std/sparse"
fn layer(w: f32[R, 8], lambda: f32 = 2e-4) -> f32[R, 8] { return nm_prune(w, 2, 4) backward SRSTE(lambda = lambda) }`,
      "layer",
    );
    // Row groups of 4: [0.5, -2, 0.1, 1] keeps -2 and 1; [3, 0.2, -0.3, 0.25] keeps 3 and -0.3.
    const w = [0.5, -2, 0.1, 1, 3, 0.2, -0.3, 0.25];
    const g = [1, 2, 3, 4, 5, 6, 7, 8];
    const env = { inputs: { w: { data: w, shape: [1, 8] }, $ct0: { data: g, shape: [1, 8] } }, scalars: { lambda: 0.5 }, dims: { R: 1 }, seed: 0 };
    const [out, grad] = evaluate([fn.lowered.outputs[0]!, fn.grads["w"]!], env);
    expect(Array.from(out!.data)).toEqual([0, -2, 0, 1, 3, 0, -0.3, 0]);
    // Pruned (mask 0): g + 0.5 * w; kept: g.
    expect(Array.from(grad!.data)).toEqual([1 + 0.25, 2, 3 + 0.05, 4, 5, 6 + 0.1, 7, 8 + 0.125]);
  });
});
