/**
 * The reduction rows of `npm run bench` (`--only=reduce`): bench/programs/reduce.est's sum,
 * row softmax and batch norm, forward + vjp, on estc's TS kernels and on its Wasm SIMD reduction
 * kernels (compiler/codegen/wasm/reduce.ts), checked against each other, then timed side by side.
 */
import * as path from "node:path";
import type { CpuDevice, EstFunction } from "estc/runtime";
import { buildOne, loadBuildApi } from "./estc.js";
import { pairedRatio, sig, table } from "./measure.js";
import { timeWorkload, workloadPlan, type Workload, type WorkloadRow } from "./workload.js";

/** The workloads at `n` elements (n a power of two, at least 2^8). */
function workloads(n: number): Workload[] {
  const hw = n / 256;
  const h = 2 ** Math.floor(Math.log2(hw) / 2);
  const bn = [16, 16, h, hw / h];
  return [
    { name: "sum(x²)", fn: "total", shapes: { x: [n] }, out: [] },
    { name: "softmax rows of 64", fn: "rows", shapes: { x: [n / 64, 64] }, out: [n / 64, 64] },
    { name: `batch norm [${bn.join(", ")}]`, fn: "bn", shapes: { x: bn, g: [16, 1, 1] }, out: bn },
  ];
}

/**
 * Forward + vjp of each workload at each of `sizes` on `devices` (the first is the reference),
 * checked to 1e-5 of the largest value of each result, timed interleaved.
 */
export async function benchReduce(root: string, devices: [string, CpuDevice][], sizes: readonly number[], quick: boolean) {
  const api = await loadBuildApi(root);
  const outDir = path.join(root, "bench/.build");
  const fns: Record<string, EstFunction> = {};
  for (const name of ["total", "rows", "bn"]) fns[name] = (await buildOne(api, root, "reduce", name, outDir)).fn;
  const plan = workloadPlan(quick);
  const results: { workload: string; n: number; rows: Record<string, WorkloadRow> }[] = [];
  for (const n of sizes) {
    for (const w of workloads(n)) {
      const fn = fns[w.fn]!;
      const rows = await timeWorkload(fn, w, devices, plan);
      results.push({ workload: w.name, n, rows });
    }
  }
  const ref = devices[0]![0];
  console.log(`\nReductions, forward + vjp (${ref} / this: round-by-round ratio)\n`);
  console.log(
    table(
      ["workload", "N", "impl", "median ms", `${ref} / this`, "max rel err", "note"],
      results.flatMap((r) =>
        Object.entries(r.rows).map(([name, o]) => [r.workload, `2^${Math.log2(r.n)}`, name, sig(o.timing?.medianMs), sig(o.samples && r.rows[ref]?.samples ? pairedRatio(r.rows[ref].samples, o.samples) : undefined), o.maxRelError?.toExponential(1) ?? "-", o.note ?? ""]),
      ),
    ),
  );
  return results;
}
