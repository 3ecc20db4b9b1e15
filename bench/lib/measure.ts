/** Timing (median of repetitions after warm-up) and plain-text tables. */

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The timing of one implementation at one size. */
export interface Timing {
  /** Median milliseconds per call. */
  medianMs: number;
  minMs: number;
  /** Repetitions timed, and calls per repetition (small sizes batch calls to beat timer noise). */
  reps: number;
  callsPerRep: number;
}

export interface TimingPlan {
  /** Repetitions wanted, and the fewest accepted when a call is slow. */
  reps: number;
  minReps: number;
  /** Stop adding repetitions once this much time is spent (minReps still run). */
  budgetMs: number;
  warmup: number;
  /** A repetition runs enough calls to last at least this long. */
  minRepMs: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage between measurements when node runs with --expose-gc. */
export function collect(): void {
  gc?.();
}

/**
 * Warms `step` up, then times repetitions of it and returns the median per call. `knownMs` is a
 * call's duration measured already (the correctness check's call), used when warmup is 0.
 */
export async function time(step: () => unknown, plan: TimingPlan, knownMs = 0): Promise<Timing> {
  let single = knownMs;
  for (let i = 0; i < plan.warmup; i++) {
    const t0 = performance.now();
    await step();
    single = performance.now() - t0;
  }
  const callsPerRep = Math.max(1, Math.ceil(plan.minRepMs / Math.max(single, 1e-3)));
  const reps = Math.max(plan.minReps, Math.min(plan.reps, Math.floor(plan.budgetMs / (single * callsPerRep))));
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let c = 0; c < callsPerRep; c++) await step();
    samples.push((performance.now() - t0) / callsPerRep);
  }
  samples.sort((a, b) => a - b);
  const mid = samples.length >> 1;
  const medianMs = samples.length % 2 === 1 ? samples[mid]! : (samples[mid - 1]! + samples[mid]!) / 2;
  return { medianMs, minMs: samples[0]!, reps, callsPerRep };
}

/** The median of `xs` (not modified). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Interleaved timings: one per step, and each step's per-round samples (ms per call). */
export interface Interleaved {
  timings: Timing[];
  samples: number[][];
}

/**
 * Times several implementations side by side: after warming each up, every round times one
 * repetition of each (a repetition runs enough calls to last `plan.minRepMs`), the first in the
 * round rotating, so a change in the shared machine's load falls on all of them alike. Timing
 * them one after another let a ratio swing 2x between runs on the 2-core VM. Rounds: as many as
 * `plan.budgetMs` allows for one round's duration, within [minReps, reps].
 */
export async function timeInterleaved(steps: readonly (() => unknown)[], plan: TimingPlan): Promise<Interleaved> {
  const single = steps.map(() => 0);
  for (const [k, step] of steps.entries()) {
    for (let i = 0; i < plan.warmup; i++) {
      const t0 = performance.now();
      await step();
      single[k] = performance.now() - t0;
    }
  }
  const calls = single.map((ms) => Math.max(1, Math.ceil(plan.minRepMs / Math.max(ms, 1e-3))));
  const roundMs = single.reduce((sum, ms, k) => sum + ms * calls[k]!, 0);
  const rounds = Math.max(plan.minReps, Math.min(plan.reps, Math.floor(plan.budgetMs / Math.max(roundMs, 1e-3))));
  const samples = steps.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < steps.length; j++) {
      const k = (r + j) % steps.length;
      const t0 = performance.now();
      for (let c = 0; c < calls[k]!; c++) await steps[k]!();
      samples[k]!.push((performance.now() - t0) / calls[k]!);
    }
  }
  const timings = samples.map((xs, k) => ({ medianMs: median(xs), minMs: Math.min(...xs), reps: rounds, callsPerRep: calls[k]! }));
  return { timings, samples };
}

/** The median over rounds of a[r] / b[r]: a ratio of two interleaved implementations. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, r) => x / b[r]!));
}

/** Formats a number with `digits` significant digits (no exponent for the usual ranges). */
export function sig(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  if (v === 0) return "0";
  const mag = Math.floor(Math.log10(Math.abs(v)));
  return v.toFixed(Math.max(0, digits - 1 - mag));
}

/** A left-aligned first column, the rest right-aligned, with a rule under the header. */
export function table(header: string[], rows: string[][]): string {
  const width = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(width[c]!) : cell.padStart(width[c]!))).join("  ");
  return [line(header), width.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The repository root: the nearest folder above this file whose package.json names estc. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "estc") return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("bench: no estc package.json above " + import.meta.url);
    dir = up;
  }
}
