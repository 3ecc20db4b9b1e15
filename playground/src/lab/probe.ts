/**
 * The probe fn the lab appends to the program to plot one item against one x:
 *
 *   fn __lab_probe(__lab_x: f32[__LAB_N], o: f32 = 3.0, …) -> f32[__LAB_N] {
 *     return sign(__lab_x) backward ReSTE(o = o, …)        // an estimator
 *     return f(x = __lab_x, tau = tau, …)                  // a fn
 *   }
 *
 * Each parameter with a literal default becomes a runtime scalar of the probe, so its slider moves
 * without a recompile and a `require` on it gives the slider's range (LoweredFn.scalarRanges).
 * Appended after the user's text, the probe sees every name the program sees and leaves the
 * offsets of the user's diagnostics unchanged.
 */
import type * as A from "../../../grammar/ast.js";

/** The probe fn's name, its input's name and its grid dim (names a program is unlikely to use). */
export const PROBE = { fn: "__lab_probe", input: "__lab_x", dim: "__LAB_N" } as const;

/** A parameter passed through as a runtime scalar of the probe. */
export interface ProbeScalar {
  name: string;
  dtype: "f32" | "i32" | "bool";
  /** The default as source text (a literal), copied into the probe's parameter list. */
  text: string;
}

/**
 * The parameters of `params` that can be runtime scalars of the probe: those whose default is a
 * literal number or bool (optionally negated). Others keep their default inside the item.
 */
export function probeScalars(params: readonly A.Param[]): ProbeScalar[] {
  const out: ProbeScalar[] = [];
  for (const p of params) {
    if (p.default === undefined) continue;
    const lit = literalText(p.default);
    if (lit === undefined) continue;
    const dtype = p.type !== undefined ? p.type.dtype : lit.kind;
    if (p.type?.dims !== undefined) continue;
    out.push({ name: p.name.name, dtype, text: lit.text });
  }
  return out;
}

function literalText(e: A.Expr): { text: string; kind: "f32" | "i32" | "bool" } | undefined {
  if (e.kind === "Number") return { text: e.text, kind: e.isInt ? "i32" : "f32" };
  if (e.kind === "Bool") return { text: String(e.value), kind: "bool" };
  if (e.kind === "Unary" && e.op === "-" && e.operand.kind === "Number") return { text: `-${e.operand.text}`, kind: e.operand.isInt ? "i32" : "f32" };
  return undefined;
}

/** The probe's parameter list after its input: `o: f32 = 3.0, t: f32 = 1.5`. */
function scalarParams(scalars: readonly ProbeScalar[]): string {
  return scalars.map((s) => `, ${s.name}: ${s.dtype} = ${s.text}`).join("");
}

/**
 * A probe for estimator `local` (its name in the program) on `target` (a primitive, or a fn
 * reachable as `targetRef` whose input has rank `rank`, 0 when rank-generic, as {@link fnProbe}).
 * `importLine` is appended first when the target fn is not visible in the program (an imported
 * estimator whose target fn was not imported).
 */
export function estimatorProbe(local: string, targetRef: string, scalars: readonly ProbeScalar[], importLine = "", rank = 1): string {
  const args = scalars.map((s) => `${s.name} = ${s.name}`).join(", ");
  return `\n${importLine}${probeFn(rank, scalars, (x) => `${targetRef}(${x}) backward ${local}${scalars.length > 0 ? `(${args})` : ""}`)}`;
}

/**
 * A probe for fn `local` whose one tensor input is `input` of rank `rank` (0 for a rank-generic
 * input). Rank 0 or 1: the grid is the input. Rank r >= 2: the input is [x, 0] along its last axis
 * (size 1 on the axes between), and the probe returns the first entry of that axis — so a fn over
 * a category axis (gumbel_softmax, softmax) shows p0 of two logits x and 0, and an elementwise one
 * shows f(x) as for rank 1.
 */
export function fnProbe(local: string, input: string, rank: number, scalars: readonly ProbeScalar[]): string {
  return `\n${probeFn(rank, scalars, (x) => `${local}(${[`${input} = ${x}`, ...scalars.map((s) => `${s.name} = ${s.name}`)].join(", ")})`)}`;
}

/** The probe fn around `call(input expression)`, shaping the grid for an input of rank `rank`. */
function probeFn(rank: number, scalars: readonly ProbeScalar[], call: (input: string) => string): string {
  const head = `fn ${PROBE.fn}(${PROBE.input}: f32[${PROBE.dim}]${scalarParams(scalars)}) -> f32[${PROBE.dim}] {`;
  if (rank <= 1) return `${head} return ${call(PROBE.input)} }\n`;
  const ones = Array.from({ length: rank - 1 }, () => "1");
  const column = `reshape(${PROBE.input}, [${[PROBE.dim, ...ones].join(", ")}])`;
  const first = [...Array.from({ length: rank - 1 }, () => ":"), "0:1"].join(", ");
  return (
    `${head}\n  let __lab_c = ${column}\n  let __lab_in = concat(__lab_c, 0 * __lab_c, axis = ${rank - 1})\n` +
    `  return reshape((${call("__lab_in")})[${first}], [${PROBE.dim}])\n}\n`
  );
}

/** The rank of fn `decl`'s parameter `name` for a probe: 0 when rank-generic or untyped. */
export function paramRank(decl: A.FnDecl, name: string): number {
  const dims = decl.params.find((p) => p.name.name === name)?.type?.dims ?? [];
  return dims.some((d) => d.kind === "DimEllipsis") ? 0 : dims.length;
}

/**
 * Why fn `decl` cannot be plotted against one x, or its one tensor input and that input's rank
 * (0 when rank-generic). It needs exactly one f32 tensor parameter without a default, symbolic
 * dims, and a tensor result of the input's rank.
 */
export function fnInput(decl: A.FnDecl): { input: string; rank: number } | { reason: string } {
  const name = `fn '${decl.name.name}'`;
  const tensors = decl.params.filter((p) => p.default === undefined);
  if (tensors.length !== 1) {
    const list = tensors.map((p) => p.name.name).join(", ");
    return { reason: `${name} takes ${tensors.length === 0 ? "no tensor input" : `${tensors.length} tensor inputs (${list})`}; a fn is plotted against one x, so it needs exactly one input without a default` };
  }
  const p = tensors[0]!;
  const ty = p.type;
  if (ty === undefined || ty.dtype !== "f32") return { reason: `${name}'s input '${p.name.name}' is ${ty?.dtype ?? "untyped"}, not f32: its derivative is not defined` };
  if (decl.result !== undefined && (decl.result.kind === "TupleType" || decl.result.dims === undefined)) {
    return { reason: `${name} returns ${decl.result.kind === "TupleType" ? "a tuple" : "a scalar"}; a fn is plotted when it returns a tensor shaped like its input` };
  }
  const dims = ty.dims ?? [];
  if (dims.length === 0) return { reason: `${name}'s input '${p.name.name}' is a scalar; give it a shape such as f32[N] to plot it over a grid` };
  if (dims.some((d) => d.kind === "DimEllipsis")) return { input: p.name.name, rank: 0 };
  const result = decl.result?.kind === "Type" ? decl.result.dims : undefined;
  if (result !== undefined && dims.length >= 2 && result.length !== dims.length) {
    return { reason: `${name} returns a rank-${result.length} tensor for a rank-${dims.length} input '${p.name.name}'; a fn is plotted when its result is shaped like its input` };
  }
  const fixed = dims.find((d) => d.kind !== "DimSymbol");
  if (fixed !== undefined) return { reason: `${name}'s input '${p.name.name}' has a fixed or computed size in its shape; only inputs whose sizes are all symbols (f32[N], f32[B, K]) are plotted` };
  return { input: p.name.name, rank: dims.length };
}
