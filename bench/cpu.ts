/**
 * `npm run bench`: estc's generated CPU kernels against a hand-written loop, TensorFlow.js
 * (CPU backend) and jax-js (Wasm) on the elementwise estimators (sign with ReSTE and ClippedSTE,
 * a 4-op chain) at 2^16, 2^20 and 2^24 elements, and on a binary-MLP training step. Every
 * implementation is checked against an oracle before it is timed. The MLP step and a conv layer
 * (forward + backward) run on estc's TS matmul kernels and on its Wasm SIMD ones (1 and 2
 * threads), side by side, and reductions (a sum, row softmax, batch norm; forward + backward at
 * 2^20, or at `--sizes`) and a draw-heavy kernel (the stochastic sign, one Philox draw per
 * element, forward + backward at 2^16 and 2^20, or at `--sizes`) on the TS and Wasm kernels, and
 * fused kernels whose operands broadcast (a per-channel affine + relu over [16, 32, 28, 28], a
 * bias + tanh over [1568, 256]; forward + backward, or about `--sizes` elements) on both.
 * Prints tables and writes bench/results/cpu.json. `--quick` stops at 2^20 and times fewer
 * repetitions; `--only=mlp,conv,reduce,draws,broadcast` runs just those parts and replaces just their
 * entries in the existing bench/results/cpu.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cpu, type CpuDevice } from "estc/runtime";
import { benchConv } from "./lib/conv.js";
import { benchReduce } from "./lib/reduce.js";
import { benchDraws } from "./lib/draws.js";
import { benchBroadcast } from "./lib/broadcast.js";
import { buildPrograms, estcMlp, estcRunner } from "./lib/estc.js";
import { handRunner, handVariants } from "./lib/hand.js";
import { jaxMlp, jaxRunner, loadJax } from "./lib/jax.js";
import { collect, pairedRatio, repoRoot, sig, table, time, timeInterleaved, type Timing, type TimingPlan } from "./lib/measure.js";
import { mlpAgreement, mlpData, mlpFlops, type MlpResult, type MlpRunner } from "./lib/mlp.js";
import { loadTfjs, tfjsMlp, tfjsRunner } from "./lib/tfjs.js";
import { checkRunner, compare, makeInputs, oracle, workloads, type Inputs, type Result, type Runner, type Workload } from "./lib/workloads.js";

const quick = process.argv.includes("--quick");
/** `--only=mlp,conv`: the parts to run (all when absent). */
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const runs = (part: "elementwise" | "mlp" | "conv" | "reduce" | "draws" | "broadcast") => only === undefined || only.includes(part);
/** The CPU devices the matmul-bound rows compare: TS kernels, Wasm SIMD on 1 and 2 threads. */
const kernelDevices = (): [string, CpuDevice][] => [
  ["estc ts", cpu({ kernels: "ts" })],
  ["estc wasm", cpu({ kernels: "wasm", threads: 1 })],
  ["estc wasm 2T", cpu({ kernels: "wasm", threads: 2 })],
];
/** `--sizes=20,22`: the elementwise sizes as powers of two (default 2^16, 2^20, 2^24; --quick 2^16, 2^20). */
const sizesArg = process.argv.find((a) => a.startsWith("--sizes="))?.slice("--sizes=".length).split(",").map((e) => 2 ** Number(e));
const sizes = sizesArg ?? (quick ? [2 ** 16, 2 ** 20] : [2 ** 16, 2 ** 20, 2 ** 24]);
/**
 * estc and the hand loops must match the oracle everywhere to TOL (|a - b| / max(1, |b|)). The
 * peers compute in f32, so they get PEER_TOL and may differ at a few elements where rounding
 * x * s to f32 lands on a clamp edge (2^24 inputs hold one: x = 0.66666669, x * 1.5 rounds to 1).
 */
const TOL = 1e-6;
const PEER_TOL = 1e-5;
const peerMismatches = (n: number) => Math.max(1, Math.ceil(n * 1e-6));

function planFor(n: number): TimingPlan {
  // At 2^24 the correctness check's call is the warm-up.
  if (n >= 2 ** 24) return { reps: quick ? 3 : 7, minReps: 3, budgetMs: 3000, warmup: 0, minRepMs: 0 };
  return { reps: quick ? 10 : 21, minReps: 10, budgetMs: 1000, warmup: 3, minRepMs: 10 };
}


/** One implementation's outcome at one size: its check and, if it passed, its timing. */
interface Measured {
  maxError: number;
  /** Elements off by more than the tolerance, and the largest error among the others. */
  mismatches?: number;
  maxErrorElsewhere?: number;
  ok: boolean;
  timing?: Timing;
  /** ms of each interleaved round (the headline ratios are taken round by round). */
  samples?: number[];
  gelemPerS?: number;
  note?: string;
}

async function measure(make: () => Runner, want: Result, tol: number, n: number, allowed = 0): Promise<Measured> {
  collect();
  const runner = make();
  try {
    const t0 = performance.now();
    await runner.step();
    const checkMs = performance.now() - t0;
    const c = compare(await runner.result(), want, tol);
    const checked = { maxError: c.maxError, mismatches: c.mismatches, maxErrorElsewhere: c.maxErrorElsewhere };
    if (c.mismatches > allowed) return { ...checked, ok: false, note: `${c.mismatches} elements off by more than ${tol} (max ${c.maxError}): not timed` };
    const timing = await time(() => runner.step(), planFor(n), checkMs);
    return { ...checked, ok: true, timing, gelemPerS: n / (timing.medianMs * 1e6) };
  } finally {
    runner.dispose();
  }
}

/** A runner that passed its check, kept open for the interleaved timing. */
interface Checked {
  runner: Runner;
  measured: Measured;
}

/** Checks one call against `want`; a runner that fails or throws is disposed. */
async function check(make: () => Runner, want: Result, tol: number, allowed = 0): Promise<Checked | Measured> {
  collect();
  const c = await checkRunner(make, want, tol, allowed);
  const compared = c.comparison === undefined ? { maxError: NaN } : { maxError: c.comparison.maxError, mismatches: c.comparison.mismatches, maxErrorElsewhere: c.comparison.maxErrorElsewhere };
  return c.ok ? { runner: c.runner, measured: { ...compared, ok: true } } : { ...compared, ok: false, note: c.note };
}

/**
 * Times the checked runners side by side (measure.ts `timeInterleaved`, within the budget of one
 * sequential timing per runner) and fills their timings; always disposes them. Returns each
 * one's Measured, in order.
 */
async function timeSideBySide(checked: (Checked | Measured)[], n: number): Promise<Measured[]> {
  const open = checked.filter((c): c is Checked => "runner" in c);
  const base = planFor(n);
  try {
    const { timings, samples } = await timeInterleaved(open.map((c) => () => c.runner.step()), { ...base, budgetMs: base.budgetMs * Math.max(1, open.length) });
    open.forEach((c, k) => Object.assign(c.measured, { timing: timings[k], samples: samples[k], gelemPerS: n / (timings[k]!.medianMs * 1e6) }));
  } catch (e) {
    for (const c of open) Object.assign(c.measured, { ok: false, note: `failed while timing: ${(e as Error).message.split("\n")[0]}` });
  } finally {
    for (const c of open) c.runner.dispose();
  }
  return checked.map((c) => ("runner" in c ? c.measured : c));
}

/** a's time over b's as the median of per-round ratios, when both were timed side by side. */
const paired = (a: Measured, b: Measured) => (a.samples && b.samples ? pairedRatio(a.samples, b.samples) : undefined);

/** TypedArray.set from one f32 array into another: the memory-bandwidth yardstick. */
async function copyRate(n: number): Promise<number> {
  const src = new Float32Array(n).fill(1);
  const dst = new Float32Array(n);
  const t = await time(() => dst.set(src), planFor(n));
  return n / (t.medianMs * 1e6);
}

interface ElementwiseRow {
  workload: Workload;
  n: number;
  copyGelemPerS: number;
  hand: Measured & { variant: string };
  handVariants: Record<string, Measured>;
  handAllocating: Measured;
  /** estc on its default device: `cpu()`, the Wasm SIMD kernels where the engine has them. */
  estc: Measured;
  /** estc on `cpu({ kernels: "ts" })`, the TypeScript kernels, timed side by side with the rest. */
  estcTs: Measured;
  estcVjpFn: Measured;
  tfjs: Measured;
  jax: Measured;
  ratios: { estcOverHand?: number; tfjsOverEstc?: number; jaxOverEstc?: number; tsOverEstc?: number };
  /**
   * estc's bytes moved per second (forward + backward read and write 5 f32 arrays of N for the
   * sign rows, 8 for the chain) over the copy's (2 arrays of N): 1 is memory-bound at the copy's rate.
   */
  bandwidthOfCopy?: number;
}

/**
 * The hand variants timed at size n: all of them, except at 2^24, where only the two fastest at
 * the size before are (every variant is still checked at 2^16 and 2^20).
 */
function handCandidates(rows: ElementwiseRow[], w: Workload, n: number): string[] {
  const all = Object.keys(handVariants[w]);
  const before = rows.filter((r) => r.workload === w && r.n < n).at(-1);
  if (n < 2 ** 24 || before === undefined) return all;
  return Object.entries(before.handVariants)
    .filter(([, m]) => m.ok)
    .sort(([, a], [, b]) => ms(a)! - ms(b)!)
    .slice(0, 2)
    .map(([v]) => v);
}

/** Forward alone and backward alone, estc and the best hand variant, at one size (not checked again). */
async function breakdown(programs: Awaited<ReturnType<typeof buildPrograms>>, rows: ElementwiseRow[], n: number) {
  const inp = makeInputs(n);
  const out: Record<string, Record<string, number>> = {};
  for (const w of workloads) {
    const variant = rows.find((r) => r.workload === w && r.n === n)?.hand.variant;
    if (variant === undefined) continue;
    const timed = async (make: () => Runner) => {
      collect();
      const r = make();
      try {
        return (await time(() => r.step(), planFor(n))).medianMs;
      } finally {
        r.dispose();
      }
    };
    out[w] = {
      estcForward: await timed(() => estcRunner(programs, w, inp, "forward")),
      estcVjp: await timed(() => estcRunner(programs, w, inp, "vjp")),
      handForward: await timed(() => handRunner(w, variant, inp, false, "fwd")),
      handBackward: await timed(() => handRunner(w, variant, inp, false, "bwd")),
    };
  }
  return out;
}

const unavailable = (why: string): Measured => ({ maxError: NaN, ok: false, note: why });
const ms = (m: Measured) => m.timing?.medianMs;

async function main(): Promise<void> {
  const root = repoRoot();
  const started = performance.now();
  const programs = await buildPrograms(root);
  const tf = await loadTfjs();
  const jx = await loadJax();
  const versions = (name: string) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")).version as string;
    } catch {
      return "not installed";
    }
  };
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg(),
    tfjs: versions("@tensorflow/tfjs"),
    tfjsBackend: typeof tf === "string" ? `unavailable: ${tf}` : tf.getBackend(),
    jaxJs: versions("@jax-js/jax"),
    jaxDevice: typeof jx === "string" ? `unavailable: ${jx}` : "wasm (single-threaded: Node 20 has no global Worker)",
  };
  console.log(`estc CPU bench — ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.date}`);
  console.log(`tfjs ${machine.tfjs} (${machine.tfjsBackend}); jax-js ${machine.jaxJs} (${machine.jaxDevice})`);
  console.log(`estc builds: ${Object.entries(programs.buildMs).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ")}\n`);

  const rows: ElementwiseRow[] = [];
  for (const n of runs("elementwise") ? sizes : []) {
    const inp: Inputs = makeInputs(n);
    const copyGelemPerS = await copyRate(n);
    for (const w of workloads) {
      const want = oracle(w, inp);
      const variants: Record<string, Measured> = {};
      for (const v of handCandidates(rows, w, n)) variants[v] = await measure(() => handRunner(w, v, inp), want, TOL, n);
      const [bestName, best] = Object.entries(variants)
        .filter(([, m]) => m.ok)
        .sort(([, a], [, b]) => ms(a)! - ms(b)!)[0]!;
      const handAllocating = await measure(() => handRunner(w, bestName, inp, true), want, TOL, n);
      const estcVjpFn = await measure(() => estcRunner(programs, w, inp, "vjpFn"), want, TOL, n);
      // The headline four (the best hand variant again, estc and the peers) are timed side by side.
      const [hand, estc, estcTs, tfm, jxm] = await timeSideBySide(
        [
          await check(() => handRunner(w, bestName, inp), want, TOL),
          await check(() => estcRunner(programs, w, inp), want, TOL),
          await check(() => estcRunner(programs, w, inp, "forward+vjp", cpu({ kernels: "ts" })), want, TOL),
          typeof tf === "string" ? unavailable(tf) : await check(() => tfjsRunner(tf, w, inp), want, PEER_TOL, peerMismatches(n)),
          typeof jx === "string" ? unavailable(jx) : await check(() => jaxRunner(jx, w, inp), want, PEER_TOL, peerMismatches(n)),
        ],
        n,
      );
      const row: ElementwiseRow = {
        workload: w,
        n,
        copyGelemPerS,
        hand: { ...hand!, variant: bestName },
        handVariants: variants,
        handAllocating,
        estc: estc!,
        estcTs: estcTs!,
        estcVjpFn,
        tfjs: tfm!,
        jax: jxm!,
        ratios: {
          estcOverHand: paired(estc!, hand!),
          tfjsOverEstc: paired(tfm!, estc!),
          jaxOverEstc: paired(jxm!, estc!),
          tsOverEstc: paired(estcTs!, estc!),
        },
        bandwidthOfCopy: estc!.gelemPerS === undefined ? undefined : (estc!.gelemPerS * (w === "chain4" ? 8 : 5)) / (copyGelemPerS * 2),
      };
      rows.push(row);
      const fails = Object.entries({ estc: estc!, estcTs: estcTs!, estcVjpFn, tfjs: tfm!, jax: jxm!, ...variants }).filter(([, m]) => !m.ok);
      const failText = fails.map(([k, m]) => `${k}: ${m.note ?? "failed"}`).join("; ");
      console.log(`  ${w} n=2^${Math.log2(n)}: estc ${sig(ms(estc!))} ms (ts kernels ${sig(ms(estcTs!))} ms), hand ${sig(ms(hand!))} ms (${bestName}; ${sig(ms(best))} alone)${fails.length ? ` [${failText}]` : ""}`);
    }
  }

  const split = runs("elementwise") ? await breakdown(programs, rows, 2 ** 20) : {};
  if (rows.length > 0) printElementwise(rows, split);

  const mlp = runs("mlp") ? await benchMlp(programs, tf, jx) : undefined;
  const conv = runs("conv") ? await benchConv(programs, kernelDevices(), quick) : undefined;
  const reduce = runs("reduce") ? await benchReduce(root, kernelDevices().slice(0, 2), sizesArg ?? [2 ** 20], quick) : undefined;
  const draws = runs("draws") ? await benchDraws(root, kernelDevices().slice(0, 2), sizesArg ?? [2 ** 16, 2 ** 20], quick) : undefined;
  const broadcast = runs("broadcast") ? await benchBroadcast(root, kernelDevices().slice(0, 2), sizesArg ?? [undefined], quick) : undefined;
  const out = path.join(root, "bench/results/cpu.json");
  const fresh = {
    machine,
    settings: { sizes, quick, tolerance: TOL, peerTolerance: PEER_TOL, timing: { small: planFor(2 ** 16), large: planFor(2 ** 24) } },
    elementwise: rows,
    breakdown2pow20: split,
    mlp,
    conv,
    reduce,
    draws,
    broadcast,
    loadAverageAtEnd: os.loadavg(),
    totalSeconds: (performance.now() - started) / 1000,
  };
  // A partial run keeps the other parts of the last full run, and says which parts are whose.
  const previous = only === undefined || !fs.existsSync(out) ? undefined : (JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, unknown>);
  const result =
    previous === undefined
      ? fresh
      : {
          ...previous,
          ...(rows.length === 0 ? {} : { elementwise: rows, breakdown2pow20: split, settings: fresh.settings }),
          ...(mlp === undefined ? {} : { mlp }),
          ...(conv === undefined ? {} : { conv }),
          ...(reduce === undefined ? {} : { reduce }),
          ...(draws === undefined ? {} : { draws }),
          ...(broadcast === undefined ? {} : { broadcast }),
          partialRuns: { ...(previous["partialRuns"] as object | undefined), [only!.join(",")]: { machine, loadAverageAtEnd: fresh.loadAverageAtEnd, totalSeconds: fresh.totalSeconds } },
        };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), out)} (${fresh.totalSeconds.toFixed(0)} s in all)`);
}

/** The elementwise tables: timings, hand variants, errors, and the forward/backward split. */
function printElementwise(rows: ElementwiseRow[], split: Awaited<ReturnType<typeof breakdown>>): void {
  console.log("\nElementwise forward + backward (median ms per call; Gelem/s = N / time)\n");
  const header = ["workload", "N", "estc ms", "Gelem/s", "estc ts ms", "ts/estc", "of copy bw", "hand ms", "Gelem/s", "hand variant", "estc/hand", "tfjs ms", "tfjs/estc", "jax-js ms", "jax/estc", "estc vjpFn ms", "hand+alloc ms", "copy Gelem/s"];
  console.log(
    table(
      header,
      rows.map((r) => [
        r.workload,
        `2^${Math.log2(r.n)}`,
        sig(ms(r.estc)),
        sig(r.estc.gelemPerS),
        r.estcTs?.ok ? sig(ms(r.estcTs)) : "n/a",
        sig(r.ratios.tsOverEstc),
        sig(r.bandwidthOfCopy),
        sig(ms(r.hand)),
        sig(r.hand.gelemPerS),
        r.hand.variant,
        sig(r.ratios.estcOverHand),
        r.tfjs.ok ? sig(ms(r.tfjs)) : "n/a",
        sig(r.ratios.tfjsOverEstc),
        r.jax.ok ? sig(ms(r.jax)) : "n/a",
        sig(r.ratios.jaxOverEstc),
        sig(ms(r.estcVjpFn)),
        sig(ms(r.handAllocating)),
        sig(r.copyGelemPerS),
      ]),
    ),
  );
  console.log("\nHand-loop variants (median ms; the fastest correct one is the 'hand' column)\n");
  const vrows = rows.flatMap((r) =>
    Object.entries(r.handVariants).map(([v, m]) => [r.workload, `2^${Math.log2(r.n)}`, v, m.ok ? sig(ms(m)) : `wrong (${m.maxError})`, sig(m.gelemPerS)]),
  );
  console.log(table(["workload", "N", "variant", "ms", "Gelem/s"], vrows));
  console.log(`\nMax error against the oracle, |a-b| / max(1,|b|) (estc and hand: every element within ${TOL}; peers: ${PEER_TOL}, "+k" = k elements off at a clamp edge)\n`);
  const errText = (m: Measured) => {
    if (Number.isNaN(m.maxError)) return "n/a";
    if (!m.mismatches) return m.maxError.toExponential(1);
    return `${(m.maxErrorElsewhere ?? NaN).toExponential(1)} +${m.mismatches}`;
  };
  console.log(
    table(
      ["workload", "N", "estc", "estc vjpFn", "hand", "tfjs", "jax-js"],
      rows.map((r) => [r.workload, `2^${Math.log2(r.n)}`, ...[r.estc, r.estcVjpFn, r.hand, r.tfjs, r.jax].map(errText)]),
    ),
  );

  console.log("\nForward and backward alone at 2^20 (median ms): estc forward / vjp against the hand variant's loops\n");
  console.log(
    table(
      ["workload", "estc forward", "hand forward", "fwd ratio", "estc vjp", "hand backward", "bwd ratio"],
      Object.entries(split).map(([w, b]) => [w, sig(b.estcForward), sig(b.handForward), sig(b.estcForward! / b.handForward!), sig(b.estcVjp), sig(b.handBackward), sig(b.estcVjp! / b.handBackward!)]),
    ),
  );
}

/** The MLP step for each implementation, checked against estc's result, then timed. */
async function benchMlp(programs: Awaited<ReturnType<typeof buildPrograms>>, tf: Awaited<ReturnType<typeof loadTfjs>>, jx: Awaited<ReturnType<typeof loadJax>>) {
  const data = mlpData();
  const flops = mlpFlops(data);
  const plan: TimingPlan = { reps: quick ? 5 : 10, minReps: quick ? 3 : 10, budgetMs: 20000, warmup: 2, minRepMs: 0 };
  const makers: Record<string, (() => MlpRunner) | string> = {
    ...Object.fromEntries(kernelDevices().map(([name, device]) => [name, () => estcMlp(programs, data, device)])),
    tfjs: typeof tf === "string" ? tf : () => tfjsMlp(tf, data),
    "jax-js": typeof jx === "string" ? jx : () => jaxMlp(jx, data),
  };
  let reference: MlpResult | undefined;
  type MlpRow = { loss?: number; agreement?: ReturnType<typeof mlpAgreement>; timing?: Timing; samples?: number[]; gflops?: number; note?: string };
  const out: Record<string, MlpRow> = {};
  const open: { runner: MlpRunner; row: MlpRow }[] = [];
  for (const [name, make] of Object.entries(makers)) {
    if (typeof make === "string") {
      out[name] = { note: make };
      continue;
    }
    collect();
    let runner: MlpRunner | undefined;
    try {
      runner = make();
      await runner.step();
      const r = await runner.result();
      reference ??= r;
      const agreement = mlpAgreement(r, reference);
      // Sign flips from summation order move a few activations, so agreement is to 1e-3, not 1e-6.
      const ok = Number.isFinite(r.loss) && agreement.loss <= 1e-4 && agreement.grads.every((e) => e <= 1e-3);
      out[name] = ok ? { loss: r.loss, agreement } : { loss: r.loss, agreement, note: "disagrees with estc: not timed" };
      if (ok) open.push({ runner, row: out[name]! });
      else runner.dispose();
    } catch (e) {
      runner?.dispose();
      out[name] = { note: `failed: ${(e as Error).message}` };
    }
  }
  // Timed side by side, one step of each per round (measure.ts timeInterleaved).
  try {
    const { timings, samples } = await timeInterleaved(open.map((o) => () => o.runner.step()), { ...plan, budgetMs: plan.budgetMs * Math.max(1, open.length) });
    open.forEach((o, k) => Object.assign(o.row, { timing: timings[k], samples: samples[k], gflops: flops / (timings[k]!.medianMs * 1e6) }));
  } catch (e) {
    for (const o of open) o.row.note = `failed while timing: ${(e as Error).message}`;
  } finally {
    for (const o of open) o.runner.dispose();
  }
  // this / estc ts and jax-js / this, round by round.
  const vsEstc = (o: MlpRow) => (o.samples && out["estc ts"]?.samples ? pairedRatio(o.samples, out["estc ts"].samples) : undefined);
  const jaxOver = (o: MlpRow) => (o.samples && out["jax-js"]?.samples ? pairedRatio(out["jax-js"].samples, o.samples) : undefined);
  console.log(`\nBinary MLP step 784-512-512-10, batch ${data.batch}: valueAndGrad of the loss (${(flops / 1e9).toFixed(2)} GFLOP)\n`);
  console.log(
    table(
      ["impl", "median ms", "GFLOP/s", "vs estc ts", "jax-js / this", "loss", "grad rel err (w1, w2, w3)", "note"],
      Object.entries(out).map(([name, o]) => [
        name,
        sig(o.timing?.medianMs),
        sig(o.gflops),
        sig(vsEstc(o)),
        sig(jaxOver(o)),
        o.loss === undefined ? "-" : o.loss.toFixed(5),
        o.agreement ? o.agreement.grads.map((e) => e.toExponential(1)).join(", ") : "-",
        o.note ?? "",
      ]),
    ),
  );
  return { shape: [data.batch, ...data.sizes], flopsPerStep: flops, results: out };
}

await main();
