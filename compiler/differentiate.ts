/**
 * Builds the three entry points of one fn over one graph: `forward`, `vjp` (cotangents in,
 * gradients of every f32 input out) and, for a scalar result, `valueAndGrad`. Lowering and
 * autodiff errors (E4xxx, E5xxx) come back as diagnostics.
 */
import type * as A from "../grammar/ast.js";
import { vjp } from "./autodiff.js";
import type { CheckedProgram } from "./check.js";
import { isStackOverflow, tooDeep } from "./depth.js";
import { error, type Diagnostic } from "./diagnostics.js";
import { Op, type Node } from "./ir.js";
import { Lowerer, type LoweredFn } from "./lower.js";
import { LowerError } from "./lower-values.js";
import type { ModuleInfo } from "./resolve.js";

/** One fn with its derivatives, all nodes in one graph. */
export interface DifferentiatedFn {
  lowered: LoweredFn;
  /** vjp: one cotangent input per output (Input nodes named `$ct0`, `$ct1`, …). */
  cotangents: Node[];
  /** vjp: the gradient of each f32 tensor input, by name. */
  grads: Record<string, Node>;
  /** For a scalar result: gradients with the cotangent fixed at 1 and `cost` bound. */
  valueAndGrad?: Record<string, Node>;
}

/**
 * A rank-generic fn (an ellipsis in a parameter type) has no fixed ranks for a generated
 * function's inputs: it is inlined, per rank, where it is called. `estc build` leaves it out of
 * the module with this warning (an error when picked with --fn). language.md §5.
 */
export function rankGenericEntry(fn: A.FnDecl, markers: string[], picked: boolean): Diagnostic {
  const d = error("E5012", fn.name.span, `fn '${fn.name.name}' is rank-generic (${markers.join(", ")} in its parameter types), so it is ${picked ? "not built" : "left out of the module"}: a generated function takes inputs of fixed ranks`, {
    hint: `it is compiled where it is called, for the ranks of each call; to export it, call it from an fn with fixed ranks, such as fn ${fn.name.name}_2d(…) { return ${fn.name.name}(…) }`,
  });
  return picked ? d : { ...d, severity: "warning" };
}

/** Lowers and differentiates fn `decl`; a LowerError becomes a diagnostic. */
export function differentiate(checked: CheckedProgram, module: ModuleInfo, decl: A.FnDecl): { fn?: DifferentiatedFn; diagnostics: Diagnostic[] } {
  const generic = checked.signatures.get(decl)?.generic;
  if (generic !== undefined) return { diagnostics: [rankGenericEntry(decl, generic, true)] };
  try {
    const L = new Lowerer(checked);
    const lowered = L.lowerFn(module, decl);
    const g = L.graph;
    const inputs = lowered.inputs.filter((i) => i.dtype === "f32").map((i) => g.node(Op.Input, i.dtype, i.shape, [], { name: i.name }));
    const names = lowered.inputs.filter((i) => i.dtype === "f32").map((i) => i.name);
    const scalarResult = !lowered.tuple && lowered.outputs[0]!.shape.length === 0;
    const cost = scalarResult ? lowered.outputs[0] : undefined;
    const cotangents = lowered.outputs.map((o, i) => g.node(Op.Input, "f32", o.shape, [], { name: `$ct${i}` }));
    const outputs = lowered.outputs.map((o) => (o.dtype === "f32" ? o : L.cast(o, "f32")));
    let grads: Record<string, Node>;
    let valueAndGrad: Record<string, Node> | undefined;
    if (scalarResult) {
      // For a scalar result the gradient is linear in its cotangent c: vjp(c) = c · ∇f. Computing
      // ∇f once with cotangent 1 keeps estimators that read `cost` (score functions) exact too.
      const one = g.node(Op.Const, "f32", [], [], { value: 1 });
      const unit = vjp(outputs, [one], inputs, { lowerer: L, cost });
      valueAndGrad = byName(names, unit);
      grads = byName(names, unit.map((u) => L.elementwise(Op.Mul, "f32", [u, cotangents[0]!], decl.span)));
    } else {
      grads = byName(names, vjp(outputs, cotangents, inputs, { lowerer: L, cost }));
    }
    const fn: DifferentiatedFn = { lowered, cotangents, grads };
    if (valueAndGrad !== undefined) fn.valueAndGrad = valueAndGrad;
    return { fn, diagnostics: [] };
  } catch (e) {
    if (e instanceof LowerError) return { diagnostics: [error(e.code, e.span, e.message, e.extra)] };
    if (isStackOverflow(e)) return { diagnostics: [tooDeep(decl.name.span, "lower and differentiate")] };
    throw e;
  }
}

function byName(names: string[], nodes: Node[]): Record<string, Node> {
  return Object.fromEntries(names.map((n, i) => [n, nodes[i]!]));
}
