/**
 * The broadcast rows of `npm run bench` (`--only=broadcast`): bench/programs/broadcast.est's
 * per-channel affine + relu over [B, C, H, W] and bias + tanh over [B, N], forward + vjp, on
 * estc's TS kernels and on its Wasm SIMD kernels for broadcasting loops
 * (compiler/codegen/wasm/strided.ts), checked against each other, then timed side by side.
 */
import * as path from "node:path";
import type { CpuDevice, EstFunction } from "estc/runtime";
import { buildOne, loadBuildApi } from "./estc.js";
import { pairedRatio, sig, table } from "./measure.js";
import { timeWorkload, workloadPlan, type Workload, type WorkloadRow } from "./workload.js";

/**
 * The workloads: at `n` undefined the headline shapes ([16, 32, 28, 28], as a small CNN's
 * activations, and [1568, 256]); else about `n` elements, in 7×7 planes (odd, a 1-element tail
 * per plane) and rows of 256.
 */
function workloads(n: number | undefined): Workload[] {
  const x = n === undefined ? [16, 32, 28, 28] : [Math.max(1, Math.round(n / (32 * 49))), 32, 7, 7];
  const rows = n === undefined ? 1568 : Math.max(1, Math.round(n / 256));
  return [
    { name: `affine + relu [${x.join(", ")}]`, fn: "affine", shapes: { x, g: [32, 1, 1], s: [32, 1, 1] }, out: x },
    { name: `bias + tanh [${rows}, 256]`, fn: "bias", shapes: { x: [rows, 256], b: [256] }, out: [rows, 256] },
  ];
}

/**
 * Forward + vjp of each workload (at each of `sizes`, or the headline shapes) on `devices` (the
 * first is the reference), checked to 1e-5 of the largest value of each result, timed interleaved.
 */
export async function benchBroadcast(root: string, devices: [string, CpuDevice][], sizes: readonly (number | undefined)[], quick: boolean) {
  const api = await loadBuildApi(root);
  const outDir = path.join(root, "bench/.build");
  const fns: Record<string, EstFunction> = {};
  for (const name of ["affine", "bias"]) fns[name] = (await buildOne(api, root, "broadcast", name, outDir)).fn;
  const plan = workloadPlan(quick);
  const results: { workload: string; n: number; rows: Record<string, WorkloadRow> }[] = [];
  for (const n of sizes) {
    for (const w of workloads(n)) {
      const fn = fns[w.fn]!;
      const rows = await timeWorkload(fn, w, devices, plan);
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
