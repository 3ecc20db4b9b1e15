/**
 * Compares what ./page/run-cases.js returned for one case on two sides (the page's back end
 * against the CPU back end in Node): same tensors, names, shapes and dtypes, values within the
 * case's tolerance or bit for bit, and the largest absolute difference seen, for the report.
 */
import type { Tolerance, WireTensor } from "./cases.js";

/** A run's results as run-cases.js reports them. */
export interface CaseResult {
  id: string;
  forward?: WireTensor[];
  vjp?: Record<string, WireTensor>;
  valueAndGrad?: { value: WireTensor; grads: Record<string, WireTensor> };
  vjpFn?: { out: WireTensor[]; pullback: Record<string, WireTensor> };
  error?: { code?: string; message: string };
  ms: number;
}

/** The values of a result tensor: f32 bit patterns decoded, others as they are. */
export function values(t: WireTensor): number[] {
  if (t.dtype !== "f32") return t.data;
  return Array.from(new Float32Array(Uint32Array.from(t.data).buffer));
}

/** What a comparison found: problems (empty when it passes) and figures. */
export interface Comparison {
  problems: string[];
  maxAbs: number;
  /** Tensors compared, and how many of them were bit-identical. */
  tensors: number;
  identical: number;
  elements: number;
}

/** A fresh, empty comparison to accumulate into. */
export function emptyComparison(): Comparison {
  return { problems: [], maxAbs: 0, tensors: 0, identical: 0, elements: 0 };
}

function compareTensor(into: Comparison, what: string, got: WireTensor | undefined, want: WireTensor | undefined, tol: Tolerance, exact: boolean, rel: number): void {
  if (got === undefined || want === undefined) {
    into.problems.push(`${what}: ${got === undefined ? "missing on the page" : "missing in Node"}`);
    return;
  }
  if (got.dtype !== want.dtype || JSON.stringify(got.shape) !== JSON.stringify(want.shape)) {
    into.problems.push(`${what}: ${got.dtype}[${got.shape}] vs ${want.dtype}[${want.shape}]`);
    return;
  }
  into.tensors++;
  into.elements += want.data.length;
  const bitsEqual = got.data.every((v, i) => v === want.data[i]);
  if (bitsEqual) into.identical++;
  const g = values(got);
  const c = values(want);
  for (let i = 0; i < c.length; i++) {
    const [gv, cv] = [g[i]!, c[i]!];
    if (Number.isNaN(gv) && Number.isNaN(cv)) continue;
    const d = Math.abs(gv - cv);
    if (Number.isFinite(d)) into.maxAbs = Math.max(into.maxAbs, d);
    if (exact) {
      if (got.data[i] !== want.data[i]) {
        into.problems.push(`${what}[${i}]: ${gv} vs ${cv}, not bit-identical`);
        return;
      }
      continue;
    }
    const allowed = tol.kind === "parity" ? rel * Math.abs(cv) + tol.abs : rel * Math.max(1, Math.abs(cv));
    if (!(d <= allowed) && gv !== cv) {
      into.problems.push(`${what}[${i}]: ${gv} vs ${cv} (|d| = ${d}, allowed ${allowed})`);
      return;
    }
  }
}

function compareRecord(into: Comparison, what: string, got: Record<string, WireTensor> | undefined, want: Record<string, WireTensor> | undefined, tol: Tolerance): void {
  const names = Object.keys(want ?? {});
  if (JSON.stringify(Object.keys(got ?? {}).sort()) !== JSON.stringify([...names].sort())) {
    into.problems.push(`${what}: gradients ${JSON.stringify(Object.keys(got ?? {}))} vs ${JSON.stringify(names)}`);
    return;
  }
  for (const n of names) compareTensor(into, `${what} d${n}`, got![n], want![n], tol, tol.exactGrads === true, tol.gradRel?.[n] ?? tol.rel);
}

/** Compares one case's page result with Node's, into `into`. */
export function compareResults(into: Comparison, got: CaseResult, want: CaseResult, tol: Tolerance): void {
  if (want.error !== undefined) into.problems.push(`${want.id}: failed in Node: ${want.error.code ?? ""} ${want.error.message}`);
  if (got.error !== undefined) into.problems.push(`${got.id}: failed on the page: ${got.error.code ?? ""} ${got.error.message}`);
  if (got.error !== undefined || want.error !== undefined) return;
  const outs = (what: string, g: WireTensor[] | undefined, w: WireTensor[] | undefined, exact: number[] = []) => {
    if ((g?.length ?? 0) !== (w?.length ?? 0)) into.problems.push(`${what}: ${g?.length} outputs vs ${w?.length}`);
    else w?.forEach((t, k) => compareTensor(into, `${what} out ${k}`, g![k], t, tol, exact.includes(k), tol.rel));
  };
  outs(`${want.id} forward`, got.forward, want.forward, tol.exactForward);
  if (want.vjp !== undefined || got.vjp !== undefined) compareRecord(into, `${want.id} vjp`, got.vjp, want.vjp, tol);
  if (want.valueAndGrad !== undefined || got.valueAndGrad !== undefined) {
    compareTensor(into, `${want.id} valueAndGrad value`, got.valueAndGrad?.value, want.valueAndGrad?.value, tol, false, tol.rel);
    compareRecord(into, `${want.id} valueAndGrad`, got.valueAndGrad?.grads, want.valueAndGrad?.grads, tol);
  }
  if (want.vjpFn !== undefined || got.vjpFn !== undefined) {
    outs(`${want.id} vjpFn out`, got.vjpFn?.out, want.vjpFn?.out);
    compareRecord(into, `${want.id} pullback`, got.vjpFn?.pullback, want.vjpFn?.pullback, tol);
  }
}
