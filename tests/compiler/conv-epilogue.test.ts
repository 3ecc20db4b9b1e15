import { it } from "vitest";
import { optimize } from "../../compiler/optimize.js";
import { schedule } from "../../compiler/schedule.js";
import { printGraph } from "../../compiler/ir.js";
import { compileFn } from "../helpers/compile.js";

const SRC = `import { STE } from "std/binary"
fn f(x: f32[B, 2, 6, 6], w: f32[4, 2, 3, 3], b: f32[4]) -> f32[B, 4, 6, 6] {
  return sign(conv2d(x, w, padding = 1) + reshape(b, [4, 1, 1])) backward STE
}`;
it("probe", () => {
  const fn = compileFn(SRC, "f");
  for (const roots of [fn.lowered.outputs, Object.values(fn.grads), [...fn.lowered.outputs, ...Object.values(fn.grads)]]) {
    const opt = optimize(fn.lowered.graph, roots);
    console.log(printGraph(Object.fromEntries(opt.map((n, i) => [`r${i}`, n]))));
    const s = schedule(opt);
    for (const k of s.kernels) console.log(k.kind, "node" in k ? k.node.op : "", k.kind === "conv" || k.kind === "matmul" ? k.epilogue.map((n) => n.op).join(",") + " -> " + k.outputs.map((n) => n.op).join(",") : k.kind === "fused" ? k.nodes.map((n) => n.op).join(",") : "");
    console.log("---");
  }
});
