/**
 * The draws row of `npm run bench`: stochastic binarisation (bench/programs/stoch_sign.est, one
 * Philox-4x32-10 draw per element) forward + backward on estc's TS kernels and its Wasm SIMD
 * kernels. Checked before timing: the Wasm results must be the TS results bit for bit (the
 * draws are specified to be), and the forward's mean must be clamp(x)'s mean within 5 standard
 * errors (E[y] = clamp(x, -1, 1) for the stochastic sign).
 */
import * as path from "node:path";
import { tensor, type CpuDevice, type EstFunction, type Tensor } from "estc/runtime";
import { buildOne, loadBuildApi } from "./estc.js";
import { pairedRatio, sig, table, timeInterleaved, type Timing, type TimingPlan } from "./measure.js";
import { rng } from "./workloads.js";

/** One implementation's outcome at one size. */
interface DrawRow {
  n: number;
  device: string;
  /** Elements whose bits differ from the TS kernels' (output and gradient). */
  bitsDifferingFromTs?: number;
  /** (mean(y) − mean(clamp(x))) / its standard error. */
  meanZ?: number;
  timing?: Timing;
  samples?: number[];
  note?: string;
}

/** forward + vjp of the stochastic sign on `device` with seed `seed`; `result` is [y, dx]. */
function runner(f: EstFunction, x: Float32Array, g: Float32Array, device: CpuDevice) {
  const xt = tensor(x, [x.length]);
  const gt = tensor(g, [g.length]);
  let last: Tensor[] = [];
  let seed = 0;
  const release = () => last.forEach((t) => t.dispose());
  return {
    /** A new seed per call, as a training loop draws. */
    async step() {
      release();
      const out = (await f.forward({ x: xt }, { device, seed })) as Tensor;
      const grads = await f.vjp({ x: xt }, gt, { device, seed });
      last = [out, grads["x"]!];
      seed++;
    },
    async result(): Promise<Float32Array[]> {
      return Promise.all(last.map(async (t) => (await t.data()) as Float32Array));
    },
    reset() {
      seed = 0;
    },
    dispose() {
      release();
      [xt, gt].forEach((t) => t.dispose());
    },
  };
}

/** The draws rows at each of `sizes` on `devices` (the first must be the TS kernels, the reference). */
export async function benchDraws(root: string, devices: [string, CpuDevice][], sizes: readonly number[], quick: boolean) {
  const { fn } = await buildOne(await loadBuildApi(root), root, "stoch_sign", "act", path.join(root, "bench/.build"));
  const plan: TimingPlan = { reps: quick ? 7 : 15, minReps: 5, budgetMs: 2000, warmup: 2, minRepMs: 10 };
  const rows: DrawRow[] = [];
  for (const n of sizes) {
    const r = rng(3);
    const x = Float32Array.from({ length: n }, () => 3 * r() - 1.5);
    const g = Float32Array.from({ length: n }, () => 2 * r() - 1);
    const open: { run: ReturnType<typeof runner>; row: DrawRow }[] = [];
    let reference: Float32Array[] | undefined;
    for (const [name, device] of devices) {
      const run = runner(fn, x, g, device);
      await run.step();
      const got = await run.result();
      run.reset();
      reference ??= got;
      let differing = 0;
      got.forEach((a, k) => {
        const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
        const v = new Uint32Array(reference![k]!.buffer, reference![k]!.byteOffset, a.length);
        for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) differing++;
      });
      const row: DrawRow = { n, device: name, bitsDifferingFromTs: differing, meanZ: meanZ(x, got[0]!) };
      rows.push(row);
      if (differing === 0 && Math.abs(row.meanZ!) < 5) open.push({ run, row });
      else {
        row.note = differing > 0 ? "differs from the TS kernels: not timed" : "mean off by > 5 standard errors: not timed";
        run.dispose();
      }
    }
    try {
      const { timings, samples } = await timeInterleaved(open.map((o) => () => o.run.step()), { ...plan, budgetMs: plan.budgetMs * open.length });
      open.forEach((o, k) => Object.assign(o.row, { timing: timings[k], samples: samples[k] }));
    } finally {
      for (const o of open) o.run.dispose();
    }
  }
  console.log("\nstochastic sign (one Philox draw per element), forward + backward\n");
  console.log(
    table(
      ["n", "impl", "median ms", "ns / element", "ts / this", "bits ≠ ts", "mean z", "note"],
      rows.map((o) => {
        const ts = rows.find((t) => t.n === o.n && t.device === devices[0]![0])?.samples;
        const ms = o.timing?.medianMs;
        return [`2^${Math.log2(o.n)}`, o.device, sig(ms), sig(ms === undefined ? undefined : (ms * 1e6) / o.n), sig(o.samples && ts ? pairedRatio(ts, o.samples) : undefined), String(o.bitsDifferingFromTs ?? "-"), o.meanZ?.toFixed(2) ?? "-", o.note ?? ""];
      }),
    ),
  );
  return { program: "bench/programs/stoch_sign.est", results: rows.map(({ samples: _, ...r }) => r) };
}

/** (mean(y) − mean(clamp(x))) / SE: y = ±1 with mean clamp(x), variance 1 − clamp(x)². */
function meanZ(x: Float32Array, y: Float32Array): number {
  let diff = 0;
  let variance = 0;
  for (let i = 0; i < x.length; i++) {
    const c = Math.min(1, Math.max(-1, x[i]!));
    diff += y[i]! - c;
    variance += 1 - c * c;
  }
  return diff / Math.sqrt(Math.max(variance, 1e-12));
}
