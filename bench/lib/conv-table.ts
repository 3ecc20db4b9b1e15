/**
 * The conv bench's shared pieces: deterministic data, the check of a result against estc's,
 * and one side-by-side timing of checked runners with GFLOP/s and per-round ratios.
 */
import { pairedRatio, sig, table, timeInterleaved, type Timing, type TimingPlan } from "./measure.js";

/** A small deterministic generator of uniforms in [lo, hi). */
export function uniforms(seed: number, lo = -1, hi = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  };
}

/** The largest |got − want| over all arrays, each relative to the largest |want| of its array. */
export function maxRelError(got: readonly Float32Array[], want: readonly Float32Array[]): number {
  let err = 0;
  want.forEach((w, i) => {
    const g = got[i]!;
    let scale = 0;
    for (const v of w) scale = Math.max(scale, Math.abs(v));
    if (g.length !== w.length) err = Infinity;
    for (let j = 0; j < w.length; j++) err = Math.max(err, Math.abs(g[j]! - w[j]!) / (scale || 1));
  });
  return err;
}

/** One row of a timed comparison. */
export interface Row {
  impl: string;
  maxRelError?: number;
  timing?: Timing;
  gflops?: number;
  /** Median over rounds of (reference ms / this ms): > 1 means this is faster than the reference. */
  speedupVsRef?: number;
  note?: string;
  /** The checked call's time, for a row too slow to time in rounds. */
  firstCallMs?: number;
  samples?: number[];
}

/** A runner that passed its check, ready to time, or a row that will not be timed. */
export type Candidate = { impl: string; step: () => Promise<unknown>; maxRelError?: number; dispose: () => void } | Row;

/**
 * Times the candidates that passed their checks side by side (interleaved rounds), then writes
 * each row's median, GFLOP/s (when `flops` is given) and ratio to the first timed row.
 */
export async function timeRows(candidates: Candidate[], plan: TimingPlan, flops?: number): Promise<Row[]> {
  const timed = candidates.filter((c): c is Extract<Candidate, { step: unknown }> => "step" in c);
  const rows: Row[] = candidates.map((c) => ({ impl: c.impl, maxRelError: c.maxRelError, note: "note" in c ? c.note : undefined, firstCallMs: "firstCallMs" in c ? c.firstCallMs : undefined }));
  for (const r of rows) if (r.firstCallMs !== undefined && flops !== undefined) r.gflops = flops / (r.firstCallMs * 1e6);
  try {
    if (timed.length > 0) {
      const { timings, samples } = await timeInterleaved(timed.map((c) => c.step), { ...plan, budgetMs: plan.budgetMs * timed.length });
      const ref = samples[0]!;
      timed.forEach((c, k) => {
        const row = rows[candidates.indexOf(c)]!;
        Object.assign(row, { timing: timings[k], samples: samples[k], speedupVsRef: pairedRatio(ref, samples[k]!) });
        if (flops !== undefined) row.gflops = flops / (timings[k]!.medianMs * 1e6);
      });
    }
  } finally {
    timed.forEach((c) => c.dispose());
  }
  return rows;
}

/** Prints the rows; `ref` names the first timed row (the ratios' numerator). */
export function printRows(title: string, rows: Row[], ref: string, errLabel: string): void {
  console.log(`\n${title}\n`);
  console.log(
    table(
      ["impl", "median ms", "GFLOP/s", `${ref} / this`, errLabel, "note"],
      rows.map((r) => [r.impl, r.timing ? sig(r.timing.medianMs) : r.firstCallMs !== undefined ? `(${sig(r.firstCallMs)})` : "-", sig(r.gflops), sig(r.speedupVsRef), r.maxRelError?.toExponential(1) ?? "-", r.note ?? ""]),
    ),
  );
}
