/**
 * The curves of the estimator or fn under the cursor, computed in the compiler worker (no DOM):
 * the item is found on the AST (cursor.ts), a probe fn is appended to the program (probe.ts) and
 * checked and differentiated in memory, and its forward and vjp with cotangent 1 are evaluated on
 * a grid with the f64 reference interpreter, as `estc plot` does (compiler/plot-curves.ts).
 *
 * For an estimator the backward is its surrogate gradient; for a fn it is the derivative with the
 * estimators it attaches (an elementwise fn's true slope where none is attached). A slider move
 * re-evaluates the cached probe with new scalars: no re-check.
 */
import type * as A from "../../../grammar/ast.js";
import { parse } from "../../../grammar/index.js";
import { differentiate, type DifferentiatedFn } from "../../../compiler/differentiate.js";
import type { Diagnostic } from "../../../compiler/diagnostics.js";
import { checkFiles } from "../../../compiler/pipeline.js";
import { badGrid, evaluateOnGrid, gridPoints, summaryOf, whyNotPlottable } from "../../../compiler/plot-curves.js";
import { Resolver, type CompilerHost, type ItemSymbol, type ModuleInfo } from "../../../compiler/resolve.js";
import { SourceMap } from "../../../compiler/source.js";
import { itemAtOffset } from "./cursor.js";
import { estimatorProbe, fnInput, fnProbe, paramRank, PROBE, probeScalars, type ProbeScalar } from "./probe.js";
import { sliderSpec, type SliderSpec } from "./sliders.js";

export type { SliderSpec };

/** What the page asks for: the program, the cursor, the slider values and the grid. */
export interface CurveRequest {
  text: string;
  /** UTF-16 offset of the cursor in `text`. */
  offset: number;
  /** Current slider values by scalar name; missing ones take their defaults. */
  scalars?: Record<string, number>;
  /**
   * The item the values belong to (`estimator ReSTE`, `fn f`: PlotView.request()); when the cursor
   * now picks another item, the values are ignored and its scalars start at their defaults.
   */
  item?: string;
  /** The x range and number of points; default [-2, 2] with 201 points (0 and ±1 on the grid). */
  grid?: { lo?: number; hi?: number; points?: number };
}

/** One plot: the grid, the forward (solid) and the backward (dashed), and the sliders. */
export interface CurvePlot {
  kind: "estimator" | "fn";
  name: string;
  /** The estimator's target (sign, step, tern, …); absent for a fn. */
  target?: string;
  title: string;
  /** The first phrase of the item's doc comment, or "". */
  summary: string;
  forwardLabel: string;
  backwardLabel: string;
  xs: number[];
  forward: number[];
  backward: number[];
  scalars: SliderSpec[];
  /** The span of the picked item (or `backward E`) in the text. */
  item: { start: number; end: number };
}

/** A plot, or the reason there is none (with the picked item when there was one). */
export type CurveResult = { ok: true; plot: CurvePlot } | { ok: false; reason: string; item?: { kind: string; name: string; start: number; end: number } };

/** A probe checked and differentiated, kept for slider moves. */
interface Prepared {
  fn: DifferentiatedFn;
  meta: Omit<CurvePlot, "xs" | "forward" | "backward" | "scalars">;
  ranges: Map<string, { min?: number; max?: number }>;
}

/** Finds, compiles and evaluates the curves of the item under the cursor; caches per text and item. */
export class CurveLab {
  private readonly cache = new Map<string, Prepared | { reason: string; item?: { kind: string; name: string; start: number; end: number } }>();

  /**
   * `host` is the worker's in-memory CompilerHost (the stdlib bundled); `file` is the editor's file
   * as an absolute path in that host. The lab reads the editor's text from each request, not from
   * the host.
   */
  constructor(
    private readonly host: CompilerHost,
    private readonly file: string,
  ) {}

  /** The curves for `req`, or the reason there are none. Never throws for a user's program. */
  curves(req: CurveRequest): CurveResult {
    const { lo = -2, hi = 2, points = 201 } = req.grid ?? {};
    const bad = badGrid(lo, hi, points);
    if (bad !== undefined) return { ok: false, reason: bad };
    const parsed = parse(req.text, this.file);
    const pick = itemAtOffset(parsed.ast, req.text, req.offset);
    if (pick.kind === "none") return { ok: false, reason: pick.reason };
    const key = `${pick.kind}:${pick.name}:${pick.start}\u0000${req.text}`;
    let prepared = this.cache.get(key);
    if (prepared === undefined) {
      prepared = this.prepare(req.text, pick);
      if (this.cache.size >= 8) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, prepared);
    }
    if ("reason" in prepared) return { ok: false, ...prepared };
    const given = req.item === undefined || req.item === `${prepared.meta.kind} ${prepared.meta.name}` ? req.scalars : undefined;
    const scalars = prepared.fn.lowered.scalars.map((s) => sliderSpec({ ...s, ...prepared.ranges.get(s.name) }, given?.[s.name]));
    const xs = gridPoints(lo, hi, points);
    try {
      const values = Object.fromEntries(scalars.map((s) => [s.name, s.value]));
      const { forward, backward } = evaluateOnGrid(prepared.fn, xs, { input: PROBE.input, dim: PROBE.dim, scalars: values });
      return { ok: true, plot: { ...prepared.meta, xs, forward, backward, scalars } };
    } catch (e) {
      return { ok: false, reason: `evaluating ${prepared.meta.name} failed: ${e instanceof Error ? e.message : String(e)}`, item: { kind: prepared.meta.kind, name: prepared.meta.name, ...prepared.meta.item } };
    }
  }

  private prepare(text: string, pick: { kind: "estimator" | "fn" | "name"; name: string; start: number; end: number }): Prepared | { reason: string; item?: { kind: string; name: string; start: number; end: number } } {
    const entry = this.resolve(text);
    const item = { kind: pick.kind, name: pick.name, start: pick.start, end: pick.end };
    if (entry === undefined) return { reason: "the program could not be read", item };
    const symbol = entry.scope.get(pick.name)?.symbol;
    if (symbol === undefined) return { reason: `'${pick.name}' is not defined in the program (see the diagnostics)`, item };
    const span = { start: pick.start, end: pick.end };
    if (symbol.kind === "estimator") return this.prepareEstimator(text, entry, pick.name, symbol, span);
    if (symbol.kind === "fn") return this.prepareFn(text, pick.name, symbol.decl, span);
    return { reason: `'${pick.name}' is a const: put the cursor on an estimator or a fn to plot it`, item };
  }

  private prepareEstimator(text: string, entry: ModuleInfo, local: string, symbol: Extract<ItemSymbol, { kind: "estimator" }>, span: { start: number; end: number }): Prepared | { reason: string; item: { kind: string; name: string; start: number; end: number } } {
    const e = symbol.decl;
    const item = { kind: "estimator", name: local, ...span };
    const targetFn = symbol.module.items.get(e.target.name);
    const targetIsFn = targetFn?.kind === "fn";
    if (!targetIsFn) {
      const why = whyNotPlottable(e, false);
      if (why !== undefined) return { reason: `${local} is not plotted: ${why}`, item };
    } else if (e.inputs.length !== 1) {
      return { reason: `${local} is not plotted: its target fn '${e.target.name}' takes ${e.inputs.length} inputs; only one-input targets are plotted against x`, item };
    }
    // A target fn the program cannot name (the estimator came alone from its module) is imported for the probe.
    let targetRef = e.target.name;
    let importLine = "";
    if (targetIsFn && entry.scope.get(e.target.name)?.symbol.decl !== targetFn.decl) {
      if (!symbol.module.id.startsWith("std/")) return { reason: `${local} is not plotted: its target fn '${e.target.name}' is not visible in the program; import it too`, item };
      targetRef = "__lab_target";
      importLine = `import { ${e.target.name} as ${targetRef} } from "${symbol.module.id}"\n`;
    }
    const meta = {
      kind: "estimator" as const,
      name: local,
      target: e.target.name,
      title: `${local} for ${e.target.name}(${e.inputs[0]?.name ?? "x"})`,
      summary: summaryOf(e.doc),
      forwardLabel: `forward ${e.target.name}(x)`,
      backwardLabel: `backward ${local} (g = 1)`,
      item: span,
    };
    // The estimator names the target's inputs in the target's order: its first is the fn's first tensor parameter.
    const firstTensor = targetIsFn ? targetFn.decl.params.find((p) => p.default === undefined) : undefined;
    const rank = firstTensor !== undefined && targetIsFn ? paramRank(targetFn.decl, firstTensor.name.name) : 1;
    return this.compile(text, (scalars) => estimatorProbe(local, targetRef, scalars, importLine, rank), probeScalars(e.params), meta, item);
  }

  private prepareFn(text: string, local: string, decl: A.FnDecl, span: { start: number; end: number }): Prepared | { reason: string; item: { kind: string; name: string; start: number; end: number } } {
    const item = { kind: "fn", name: local, ...span };
    const input = fnInput(decl);
    if ("reason" in input) return { reason: input.reason, item };
    const meta = {
      kind: "fn" as const,
      name: local,
      title: input.rank >= 2 ? `fn ${local}(${input.input}), ${input.input} = [x, 0] along its last axis` : `fn ${local}(${input.input})`,
      summary: summaryOf(decl.doc),
      forwardLabel: input.rank >= 2 ? `${local}(…)[…, 0]` : `${local}(x)`,
      backwardLabel: "derivative (vjp, g = 1)",
      item: span,
    };
    return this.compile(text, (scalars) => fnProbe(local, input.input, input.rank, scalars), probeScalars(decl.params), meta, item);
  }

  /**
   * Checks and differentiates the program with the probe appended: first with the parameters as
   * runtime scalars, then (when that fails in the probe, e.g. a parameter needed at compile time)
   * with every parameter at its default and no sliders.
   */
  private compile(text: string, probe: (s: readonly ProbeScalar[]) => string, scalars: ProbeScalar[], meta: Prepared["meta"], item: { kind: string; name: string; start: number; end: number }): Prepared | { reason: string; item: typeof item } {
    let last = "";
    for (const attempt of scalars.length > 0 ? [scalars, []] : [scalars]) {
      const full = text + probe(attempt);
      const checked = checkFiles([this.file], this.withText(full));
      const mine = checked.diagnostics.filter((d) => d.severity === "error");
      const user = mine.filter((d) => d.span.start < text.length);
      if (user.length > 0) return { reason: `the program has ${user.length} error${user.length === 1 ? "" : "s"} (first: ${where(user[0]!, checked.sources)}); fix ${user.length === 1 ? "it" : "them"} to see the plot`, item };
      const program = checked.programs[0];
      const sym = program?.program.entry.items.get(PROBE.fn);
      if (program === undefined || sym?.kind !== "fn" || mine.length > 0) {
        last = mine.length > 0 ? describe(mine[0]!) : "the probe fn did not compile";
        continue;
      }
      const d = differentiate(program, program.program.entry, sym.decl);
      if (d.fn === undefined) {
        last = d.diagnostics.length > 0 ? describe(d.diagnostics[0]!) : "it could not be differentiated";
        continue;
      }
      const ranges = new Map([...d.fn.lowered.scalarRanges].map(([k, r]) => [k, { ...(r.min !== undefined ? { min: r.min } : {}), ...(r.max !== undefined ? { max: r.max } : {}) }]));
      return { fn: d.fn, meta, ranges };
    }
    return { reason: `${meta.name} is not plotted: ${last}`, item };
  }

  /** The entry module resolved (imports loaded, no check), for its scope. */
  private resolve(text: string): ModuleInfo | undefined {
    const resolver = new Resolver(this.withText(text), new SourceMap());
    return resolver.loadEntry(this.file);
  }

  private withText(text: string): CompilerHost {
    const base = this.host;
    return { ...base, readFile: (p) => (p === this.file ? text : base.readFile(p)) };
  }
}

/** A diagnostic in the probe, in words that do not show the probe's internal names. */
function describe(d: Diagnostic): string {
  const text = `${d.code} ${d.message}${d.hint !== undefined ? ` (${d.hint})` : ""}`;
  return text.replaceAll(`fn '${PROBE.fn}'`, "the plot's probe fn").replaceAll(PROBE.fn, "the probe").replaceAll(PROBE.dim, "N").replaceAll(PROBE.input, "x");
}

function where(d: Diagnostic, sources: SourceMap): string {
  const pos = sources.get(d.span.file)?.position(d.span.start);
  return `${pos !== undefined ? `${pos.line}:${pos.col} ` : ""}${d.code} ${d.message}`;
}
