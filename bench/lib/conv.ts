/**
 * The conv row of `npm run bench`: one 3x3 conv layer's forward + backward on estc's CPU
 * matmul kernels (TS, Wasm SIMD on 1 and 2 threads), checked against the TS result, timed
 * side by side.
 */
import type { CpuDevice } from "estc/runtime";
import { uniforms } from "./conv-table.js";
import { CONV, estcConv, type EstcPrograms } from "./estc.js";
import { pairedRatio, sig, table, timeInterleaved, type Timing, type TimingPlan } from "./measure.js";

/**
 * conv2d forward + vjp (dx, dw) of a [64, 32, 28, 28] batch with [32, 32, 3, 3] weights on the
 * TS and Wasm kernels, checked against the TS result (f32 sums against f64 ones: 1e-4 of the
 * largest value), then timed side by side.
 */
export async function benchConv(programs: EstcPrograms, devices: [string, CpuDevice][], quick: boolean) {
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const r = uniforms(7);
  const data = { x: Float32Array.from({ length: size(CONV.x) }, r), w: Float32Array.from({ length: size(CONV.w) }, r), ct: Float32Array.from({ length: size(CONV.x) }, r) };
  // Three products (forward, dx, dw), each 2 * (64 * 28 * 28) * 32 * (32 * 3 * 3) flops.
  const flops = 3 * 2 * 64 * 28 * 28 * 32 * 288;
  const plan: TimingPlan = { reps: quick ? 3 : 6, minReps: 3, budgetMs: 30000, warmup: 1, minRepMs: 0 };
  type ConvRow = { maxRelError?: number; timing?: Timing; samples?: number[]; gflops?: number; note?: string };
  const rows: Record<string, ConvRow> = {};
  const open: { runner: ReturnType<typeof estcConv>; row: ConvRow }[] = [];
  let reference: Float32Array[] | undefined;
  for (const [name, device] of devices) {
    const runner = estcConv(programs, data, device);
    await runner.step();
    const got = await runner.result();
    reference ??= got;
    let err = 0;
    got.forEach((g, i) => {
      const want = reference![i]!;
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      for (let j = 0; j < g.length; j++) err = Math.max(err, Math.abs(g[j]! - want[j]!) / scale);
    });
    rows[name] = { maxRelError: err };
    if (err <= 1e-4) open.push({ runner, row: rows[name]! });
    else {
      rows[name]!.note = "disagrees with estc ts: not timed";
      runner.dispose();
    }
  }
  try {
    const { timings, samples } = await timeInterleaved(open.map((o) => () => o.runner.step()), { ...plan, budgetMs: plan.budgetMs * open.length });
    open.forEach((o, k) => Object.assign(o.row, { timing: timings[k], samples: samples[k], gflops: flops / (timings[k]!.medianMs * 1e6) }));
  } finally {
    for (const o of open) o.runner.dispose();
  }
  const ts = rows["estc ts"]?.samples;
  console.log(`\nconv2d 3x3 forward + backward, x [${CONV.x.join(", ")}], w [${CONV.w.join(", ")}], padding 1 (${(flops / 1e9).toFixed(2)} GFLOP)\n`);
  console.log(
    table(
      ["impl", "median ms", "GFLOP/s", "ts / this", "max rel err vs ts", "note"],
      Object.entries(rows).map(([name, o]) => [name, sig(o.timing?.medianMs), sig(o.gflops), sig(o.samples && ts ? pairedRatio(ts, o.samples) : undefined), o.maxRelError?.toExponential(1) ?? "-", o.note ?? ""]),
    ),
  );
  return { x: CONV.x, w: CONV.w, padding: 1, flopsPerStep: flops, results: rows };
}


