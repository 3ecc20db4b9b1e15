/**
 * index bounds: the i32 inputs a fn uses directly as `one_hot` labels, with the K their values
 * must stay below. `one_hot` lowers to a comparison with `iota`, which turns a label outside
 * [0, K) into an all-zero row without a sign of trouble (labels [7, -1] with K = 4 gave a loss
 * of -0); the runtime checks these inputs before a call runs (E6008) wherever their elements are
 * on the host. Labels computed inside the fn (argmax, categorical) are in range by construction.
 */
import { Op, topoSort, type Node } from "./ir.js";
import type { DimT } from "./types.js";

/** An input whose elements must lie in [0, bound): the labels of a `one_hot`. */
export interface IndexBound {
  input: string;
  bound: DimT;
}

/** The one_hot label inputs of the graph computing `roots`, each with its K (the smallest when used twice). */
export function oneHotLabelBounds(roots: readonly Node[]): IndexBound[] {
  const found = new Map<string, DimT>();
  for (const n of topoSort(roots)) {
    if (n.op !== Op.Eq || n.inputs.length !== 2) continue;
    const [a, b] = n.inputs as [Node, Node];
    const [labels, iota] = a.op === Op.Iota ? [b, a] : [a, b];
    if (iota.op !== Op.Iota || iota.attrs["axis"] !== iota.shape.length - 1) continue;
    const input = throughShapeOps(labels);
    if (input.op !== Op.Input || input.dtype !== "i32") continue;
    const name = input.attrs["name"] as string;
    const bound = iota.shape[iota.shape.length - 1]!;
    const known = found.get(name);
    found.set(name, known === undefined || (typeof known === "number" && typeof bound === "number" && bound < known) ? bound : known);
  }
  return [...found].map(([input, bound]) => ({ input, bound }));
}

/** `n` with the reshapes and broadcasts that one_hot puts around its labels taken off. */
function throughShapeOps(n: Node): Node {
  let at = n;
  while ((at.op === Op.Reshape || at.op === Op.Broadcast) && at.inputs.length === 1) at = at.inputs[0]!;
  return at;
}
