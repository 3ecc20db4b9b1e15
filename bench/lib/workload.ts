/**
 * One forward + vjp workload timed on several CPU devices, as the reduction and broadcast rows of
 * `npm run bench` run theirs: each device's results are checked against the first device's (to
 * 1e-5 of each result's largest value) before anything is timed, and the devices that agree are
 * timed interleaved, round by round.
 */
import { tensor, type CpuDevice, type EstFunction, type Tensor } from "estc/runtime";
import { timeInterleaved, type Timing, type TimingPlan } from "./measure.js";

/** One workload: its fn's name, its input shapes and a cotangent shaped like its result. */
export interface Workload {
  name: string;
  fn: string;
  shapes: Record<string, number[]>;
  out: number[];
}

/** One device's row: its error against the reference device, and its timing when it agreed. */
export type WorkloadRow = { maxRelError?: number; timing?: Timing; samples?: number[]; note?: string };

/** The interleaved timing plan of these rows (`quick`: fewer repetitions). */
export const workloadPlan = (quick: boolean): TimingPlan => ({ reps: quick ? 10 : 21, minReps: 5, budgetMs: 3000, warmup: 2, minRepMs: 5 });

/** Deterministic values in [-2, 2). */
export function values(count: number, seed: number): Float32Array {
  const a = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    a[i] = ((s >>> 0) / 2 ** 32) * 4 - 2;
  }
  return a;
}

/** Checks `fn`'s forward + vjp on every device against the first, then times those that agree. */
export async function timeWorkload(fn: EstFunction, w: Workload, devices: [string, CpuDevice][], plan: TimingPlan): Promise<Record<string, WorkloadRow>> {
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const ins = Object.fromEntries(Object.entries(w.shapes).map(([k, s], i) => [k, tensor(values(size(s), 7 + i), s)]));
  const ct = tensor(values(size(w.out), 99), w.out);
  let last: Tensor[] = [];
  const step = (device: CpuDevice) => async () => {
    last.forEach((t) => t.dispose());
    const y = (await fn.forward(ins, { device })) as Tensor;
    const g = await fn.vjp(ins, ct, { device });
    last = [y, ...Object.values(g)];
  };
  const result = async () => Promise.all(last.map(async (t) => (await t.data()) as Float32Array));
  const rows: Record<string, WorkloadRow> = {};
  const open: { step: () => Promise<void>; row: WorkloadRow }[] = [];
  let reference: Float32Array[] | undefined;
  for (const [name, device] of devices) {
    await step(device)();
    const got = await result();
    reference ??= got;
    let err = 0;
    got.forEach((g, i) => {
      const want = reference![i]!;
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
      for (let j = 0; j < g.length; j++) err = Math.max(err, Math.abs(g[j]! - want[j]!) / scale);
    });
    rows[name] = { maxRelError: err };
    if (err <= 1e-5) open.push({ step: step(device), row: rows[name]! });
    else rows[name]!.note = `disagrees with ${devices[0]![0]}: not timed`;
  }
  const { timings, samples } = await timeInterleaved(open.map((o) => o.step), plan);
  open.forEach((o, k) => Object.assign(o.row, { timing: timings[k], samples: samples[k] }));
  last.forEach((t) => t.dispose());
  Object.values(ins).forEach((t) => t.dispose());
  ct.dispose();
  return rows;
}
