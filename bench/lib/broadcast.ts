/**
 * The broadcast rows of `npm run bench` (`--only=broadcast`): bench/programs/broadcast.est's
 * per-channel affine + relu over [B, C, H, W] and bias + tanh over [B, N], forward + vjp, on
 * estc's TS kernels and on its Wasm SIMD kernels for broadcasting loops
 * (compiler/codegen/wasm/strided.ts), checked against each other, then timed side by side.
 */
import * as path from "node:path";
import { tensor, type CpuDevice, type EstFunction, type Tensor } from "estc/runtime";
import { buildOne, loadBuildApi } from "./estc.js";
import { pairedRatio, sig, table, timeInterleaved, type Timing, type TimingPlan } from "./measure.js";

interface BroadcastWorkload {
  name: string;
  fn: string;
  shapes: Record<string, number[]>;
  out: number[];
}

/**
 * The workloads: at `n` undefined the headline shapes ([16, 32, 28, 28], as a small CNN's
 * activations, and [1568, 256]); else about `n` elements, in 7×7 planes (odd, a 1-element tail
 * per plane) and rows of 256.
 */
function workloads(n: number | undefined): BroadcastWorkload[] {
  const x = n === undefined ? [16, 32, 28, 28] : [Math.max(1, Math.round(n / (32 * 49))), 32, 7, 7];
  const rows = n === undefined ? 1568 : Math.max(1, Math.round(n / 256));
  return [
    { name: `affine + relu [${x.join(", ")}]`, fn: "affine", shapes: { x, g: [32, 1, 1], s: [32, 1, 1] }, out: x },
    { name: `bias + tanh [${rows}, 256]`, fn: "bias", shapes: { x: [rows, 256], b: [256] }, out: [rows, 256] },
  ];
}

/** Deterministic values in [-2, 2). */
function values(count: number, seed: number): Float32Array {
  const a = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    a[i] = ((s >>> 0) / 2 ** 32) * 4 - 2;
  }
  return a;
}

type BroadcastRow = { maxRelError?: number; timing?: Timing; samples?: number[]; note?: string };

/**
 * Forward + vjp of each workload (at each of `sizes`, or the headline shapes) on `devices` (the
 * first is the reference), checked to 1e-5 of the largest value of each result, timed interleaved.
 */
export async function benchBroadcast(root: string, devices: [string, CpuDevice][], sizes: readonly (number | undefined)[], quick: boolean) {
  const api = await loadBuildApi(root);
  const outDir = path.join(root, "bench/.build");
  const fns: Record<string, EstFunction> = {};
  for (const name of ["affine", "bias"]) fns[name] = (await buildOne(api, root, "broadcast", name, outDir)).fn;
  const plan: TimingPlan = { reps: quick ? 10 : 21, minReps: 5, budgetMs: 3000, warmup: 2, minRepMs: 5 };
  const results: { workload: string; n: number; rows: Record<string, BroadcastRow> }[] = [];
  for (const n of sizes) {
    for (const w of workloads(n)) {
      const fn = fns[w.fn]!;
      const ins = Object.fromEntries(Object.entries(w.shapes).map(([k, s], i) => [k, tensor(values(s.reduce((p, d) => p * d, 1), 7 + i), s)]));
      const ct = tensor(values(w.out.reduce((p, d) => p * d, 1), 99), w.out);
      let last: Tensor[] = [];
      const step = (device: CpuDevice) => async () => {
        last.forEach((t) => t.dispose());
        const y = (await fn.forward(ins, { device })) as Tensor;
        const g = await fn.vjp(ins, ct, { device });
        last = [y, ...Object.values(g)];
      };
      const result = async () => Promise.all(last.map(async (t) => (await t.data()) as Float32Array));
      const rows: Record<string, BroadcastRow> = {};
      const open: { step: () => Promise<void>; row: BroadcastRow }[] = [];
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
      results.push({ workload: w.name, n: w.out.reduce((p, d) => p * d, 1), rows });
    }
  }
  const ref = devices[0]![0];
  console.log(`\nBroadcast elementwise, forward + vjp (${ref} / this: round-by-round ratio)\n`);
  console.log(
    table(
      ["workload", "elements", "impl", "median ms", `${ref} / this`, "max rel err", "note"],
      results.flatMap((r) =>
        Object.entries(r.rows).map(([name, o]) => [r.workload, String(r.n), name, sig(o.timing?.medianMs), sig(o.samples && r.rows[ref]?.samples ? pairedRatio(r.rows[ref].samples, o.samples) : undefined), o.maxRelError?.toExponential(1) ?? "-", o.note ?? ""]),
      ),
    ),
  );
  return results;
}
