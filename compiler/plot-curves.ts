/**
 * The pure pieces of plotting an estimator or fn against one x, shared by `estc plot`
 * (cli/plot.ts) and the playground (playground/src/lab/curves.ts): the grid, which estimators can
 * be plotted, the f64 evaluation of a probe fn's forward and vjp, and the doc summary. No file
 * system here, so the playground's worker can import it.
 */
import type * as A from "../grammar/ast.js";
import type { DifferentiatedFn } from "./differentiate.js";
import { evaluate } from "./interpret.js";
import { pickOverload, primitives } from "./primitives.js";

/** `points` evenly spaced values from `lo` to `hi`, both included exactly. */
export function gridPoints(lo: number, hi: number, points: number): number[] {
  return Array.from({ length: points }, (_, i) => (i === points - 1 ? hi : lo + ((hi - lo) * i) / (points - 1)));
}

/** Why a grid cannot be used, or undefined when it can: finite lo < hi and an integer >= 2 points. */
export function badGrid(lo: number, hi: number, points: number): string | undefined {
  if (Number.isFinite(lo) && Number.isFinite(hi) && lo < hi && Number.isInteger(points) && points >= 2) return undefined;
  return `the grid must have finite lo < hi and at least 2 points, got [${lo}, ${hi}] with ${points}`;
}

/**
 * Why an estimator cannot be plotted against one x, or undefined when it can: its target must be
 * a one-input elementwise primitive and, with `needDefaults`, every parameter must have a default.
 */
export function whyNotPlottable(e: A.EstimatorDecl, targetIsFn: boolean, needDefaults = true): string | undefined {
  const target = e.target.name;
  if (targetIsFn) return `its target '${target}' is a fn, not a primitive (fn targets have their own parameters and shapes)`;
  const prim = pickOverload(target, e.inputs.length) ?? primitives.get(target)?.[0];
  if (prim === undefined) return `its target '${target}' is not a primitive`;
  if (prim.category !== "elementwise") return `its target '${target}' is a ${prim.category} primitive, not an elementwise one`;
  if (e.inputs.length !== 1 || prim.params.length !== 1) return `its target '${target}' takes ${prim.params.length} inputs; only one-input primitives are plotted`;
  const required = e.params.filter((p) => p.default === undefined).map((p) => p.name.name);
  if (needDefaults && required.length > 0) return `parameter${required.length === 1 ? "" : "s"} ${required.join(", ")} ha${required.length === 1 ? "s" : "ve"} no default`;
  return undefined;
}

/**
 * The forward values and the vjp with cotangent 1 at every grid point, in float64, for a probe fn
 * whose one tensor input `input` has the grid along its first axis (dim `dim`) and size 1 on the
 * others. Runtime scalars take `scalars[name]` where given, else their defaults.
 */
export function evaluateOnGrid(fn: DifferentiatedFn, xs: number[], options: { input?: string; dim?: string; scalars?: Record<string, number>; seed?: number } = {}): { forward: number[]; backward: number[] } {
  const { input = "x", dim = "N", scalars = {}, seed = 0 } = options;
  const n = xs.length;
  const declared = fn.lowered.inputs.find((i) => i.name === input)?.shape ?? [dim];
  const shape = declared.map((_, k) => (k === 0 ? n : 1));
  const out = fn.lowered.outputs[0]!;
  const env = {
    inputs: { [input]: { data: Float64Array.from(xs), shape }, $ct0: { data: new Float64Array(n).fill(1), shape: out.shape.map((_, k) => (k === 0 ? n : 1)) } },
    scalars: Object.fromEntries(fn.lowered.scalars.map((s) => [s.name, scalars[s.name] ?? s.default])),
    dims: { [dim]: n },
    seed,
  };
  const [forward, backward] = evaluate([out, fn.grads[input]!], env);
  return { forward: Array.from(forward!.data), backward: Array.from(backward!.data) };
}

/** What a doc comment calls its item: its text before the first parenthesis or colon, at most 100 characters. */
export function summaryOf(doc: string | undefined): string {
  if (doc === undefined) return "";
  const text = doc.replace(/\s+/g, " ").trim();
  const end = text.search(/[(:]/);
  const head = (end < 0 ? text : text.slice(0, end)).trim().replace(/[,;.]$/, "");
  return head.length > 100 ? `${head.slice(0, 97)}...` : head;
}
