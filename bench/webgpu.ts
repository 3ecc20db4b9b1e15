/**
 * `npm run bench:webgpu`: estc's generated WGSL kernels on whatever adapter `webgpu()` finds
 * (a hardware GPU through Dawn, else Mesa's llvmpipe through GLES) against TensorFlow.js's WebGPU
 * backend and jax-js's WebGPU device on the same Dawn adapter, and a plain copy kernel as the
 * bandwidth yardstick. Workloads: sign + ReSTE, sign + ClippedSTE and the 4-op chain, forward +
 * vjp per step, inputs resident on the device, read back once after timing for the check.
 * Sizes 2^16 and 2^20, and 2^22 when the 2^20 round took under 15 s (`--quick`: never,
 * `--large`: always). Then the binary-MLP training step (lib/webgpu-mlp.ts; `--mlp-only` skips
 * the elementwise rows). Prints tables and writes bench/results/webgpu.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { webgpu, type WebGpuDevice } from "estc/runtime";
import { buildPrograms, estcRunner } from "./lib/estc.js";
import { jaxRunner } from "./lib/jax.js";
import { collect, pairedRatio, repoRoot, sig, table, timeInterleaved, type Timing, type TimingPlan } from "./lib/measure.js";
import { copyKernel, estcFn, estcWebgpuRunner, planCost, tfjsKernelsPerStep, tfjsWebgpuRunner, type PlanCost } from "./lib/webgpu-runners.js";
import { benchMlpWebgpu } from "./lib/webgpu-mlp.js";
import { installNavigator, loadJaxWebgpu, loadTfjsWebgpu } from "./lib/webgpu-setup.js";
import { checkRunner, compare, makeInputs, oracle, workloads, type Result, type Runner, type Workload } from "./lib/workloads.js";

const quick = process.argv.includes("--quick");
const large = process.argv.includes("--large");
const mlpOnly = process.argv.includes("--mlp-only");
/** estc on the device against estc on the CPU back end (GPU pow / tanh are not correctly rounded). */
const GPU_TOL = 1e-5;
/** Peers against the f64 oracle, as in the CPU bench (a few clamp-edge elements allowed). */
const PEER_TOL = 1e-5;
const peerMismatches = (n: number) => Math.max(1, Math.ceil(n * 1e-6));
/** Per workload and size: copy, estc, tfjs and jax-js timed in interleaved rounds within one budget. */
const plan: TimingPlan = { reps: quick ? 7 : 15, minReps: 5, budgetMs: quick ? 3200 : 6000, warmup: 3, minRepMs: 10 };


interface Measured {
  ok: boolean;
  maxError?: number;
  mismatches?: number;
  timing?: Timing;
  /** ms of each interleaved round (the ratios are taken round by round). */
  samples?: number[];
  /** The workload's bytes (estc's plan bytes per step) over the time, and that over copy GB/s. */
  gbPerS?: number;
  fractionOfCopy?: number;
  note?: string;
}

interface Row {
  workload: Workload;
  n: number;
  copy: { msPerPass: number; gbPerS: number };
  estcPlan: PlanCost;
  estc: Measured & { maxErrorVsOracle?: number };
  tfjs: Measured & { kernelsPerStep?: number };
  jax: Measured;
  ratios: { tfjsOverEstc?: number; jaxOverEstc?: number };
}

const ms = (m: Measured) => m.timing?.medianMs;

/** A runner that passed its check, kept open for the interleaved timing. */
interface Checked {
  runner: Runner;
  measured: Measured;
}

/** Checks one step's result against `want`; a runner that fails (or throws) is disposed. */
async function check(make: () => Runner, want: Result, tol: number, allowed: number): Promise<Checked | Measured> {
  collect();
  const c = await checkRunner(make, want, tol, allowed);
  const compared = c.comparison === undefined ? {} : { maxError: c.comparison.maxError, mismatches: c.comparison.mismatches };
  return c.ok ? { runner: c.runner, measured: { ok: true, ...compared } } : { ok: false, ...compared, note: c.note };
}

/**
 * Times the copy kernel and the checked runners side by side (measure.ts `timeInterleaved`) and
 * fills each one's timing, GB/s (`bytes` per step) and fraction of copy bandwidth, the latter
 * taken round by round against the copy kernel's step in the same round.
 */
async function timeRow(copy: ReturnType<typeof copyKernel>, checked: (Checked | Measured)[], bytes: number): Promise<Row["copy"]> {
  const open = checked.filter((c): c is Checked => "runner" in c);
  try {
    const { timings, samples } = await timeInterleaved([copy.step, ...open.map((c) => () => c.runner.step())], plan);
    const copyMs = timings[0]!.medianMs;
    open.forEach((c, k) => {
      const timing = timings[k + 1]!;
      Object.assign(c.measured, {
        timing,
        samples: samples[k + 1],
        gbPerS: bytes / (timing.medianMs * 1e6),
        fractionOfCopy: (bytes / copy.bytesPerStep) * pairedRatio(samples[0]!, samples[k + 1]!),
      });
    });
    return { msPerPass: copyMs / 2, gbPerS: copy.bytesPerStep / (copyMs * 1e6) };
  } catch (e) {
    for (const c of open) Object.assign(c.measured, { ok: false, note: `failed while timing: ${(e as Error).message.split("\n")[0]}` });
    return { msPerPass: NaN, gbPerS: NaN };
  } finally {
    for (const c of open) c.runner.dispose();
  }
}

const measuredOf = (c: Checked | Measured): Measured => ("runner" in c ? c.measured : c);

async function main(): Promise<void> {
  const root = repoRoot();
  const started = performance.now();
  const programs = await buildPrograms(root);
  let device: WebGpuDevice;
  try {
    device = await webgpu();
  } catch (e) {
    console.error(`bench:webgpu: no WebGPU device: ${(e as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const a = device.adapter;
  const adapterText = `${a.path} adapter: ${a.device || a.description} (${a.description}; backend ${a.backend}, featureLevel ${a.featureLevel})`;
  const cpuRasterizer = /llvmpipe|lavapipe|softpipe|swiftshader/i.test(`${a.device} ${a.description}`) || a.isFallbackAdapter;
  const navigatorText = await installNavigator(device);
  const tf = await loadTfjsWebgpu();
  const jx = await loadJaxWebgpu();
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
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg(),
    adapter: { path: a.path, vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, backend: a.backend, featureLevel: a.featureLevel, isFallbackAdapter: a.isFallbackAdapter },
    cpuRasterizer,
    peersNavigator: navigatorText,
    tfjs: versions("@tensorflow/tfjs"),
    tfjsBackendWebgpu: versions("@tensorflow/tfjs-backend-webgpu"),
    tfjsDevice: tf.ok ? tf.on : `unavailable: ${tf.error}`,
    jaxJs: versions("@jax-js/jax"),
    jaxDevice: jx.ok ? jx.on : `unavailable: ${jx.error}`,
  };
  const warning = cpuRasterizer
    ? `NOTE: ${a.device || a.description} is a CPU rasterizer (Mesa llvmpipe runs the WGSL on this machine's CPU cores), so these times and ratios are not GPU numbers.`
    : undefined;
  console.log(`estc WebGPU bench — ${adapterText}`);
  console.log(`host: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.date}`);
  console.log(`peers on the same Dawn adapter (${navigatorText}): tfjs ${machine.tfjs} + tfjs-backend-webgpu ${machine.tfjsBackendWebgpu} (${machine.tfjsDevice}); jax-js ${machine.jaxJs} (${machine.jaxDevice})`);
  if (warning) console.log(warning);
  console.log("");

  const rows: Row[] = [];
  const sizes = mlpOnly ? [] : [2 ** 16, 2 ** 20];
  let skipped22: string | undefined;
  for (let k = 0; k < sizes.length; k++) {
    const n = sizes[k]!;
    const roundStart = performance.now();
    const inp = makeInputs(n);
    const copy = copyKernel(device, n);
    try {
      for (const w of workloads) {
        const cost = planCost(estcFn(programs, w), n);
        // estc's CPU back end is the reference for estc on the device.
        const cpuRunner = estcRunner(programs, w, inp);
        await cpuRunner.step();
        const onCpu = await cpuRunner.result();
        cpuRunner.dispose();
        const want = oracle(w, inp);
        const estcC = await check(() => estcWebgpuRunner(programs, w, inp, device), onCpu, GPU_TOL, 0);
        if ("runner" in estcC) (estcC.measured as Row["estc"]).maxErrorVsOracle = compare(await estcC.runner.result(), want, GPU_TOL).maxError;
        const tfC = tf.ok ? await check(() => tfjsWebgpuRunner(tf.lib, w, inp), want, PEER_TOL, peerMismatches(n)) : { ok: false, note: tf.error };
        const tfKernels = tf.ok && "runner" in tfC ? await tfjsKernelsPerStep(tf.lib, tfC.runner) : undefined;
        const jxC = jx.ok ? await check(() => jaxRunner(jx.lib, w, inp), want, PEER_TOL, peerMismatches(n)) : { ok: false, note: jx.error };
        const copyRow = await timeRow(copy, [estcC, tfC, jxC], cost.bytes);
        const [estc, tfm, jxm] = [measuredOf(estcC) as Row["estc"], { ...measuredOf(tfC), kernelsPerStep: tfKernels } as Row["tfjs"], measuredOf(jxC)];
        const paired = (a: Measured) => (a.samples && estc.samples ? pairedRatio(a.samples, estc.samples) : undefined);
        const row: Row = { workload: w, n, copy: copyRow, estcPlan: cost, estc, tfjs: tfm, jax: jxm, ratios: { tfjsOverEstc: paired(tfm), jaxOverEstc: paired(jxm) } };
        rows.push(row);
        const fails = Object.entries({ estc, tfjs: tfm, jax: jxm }).filter(([, m]) => !m.ok);
        const failText = fails.map(([k2, m]) => `${k2}: ${(m.note ?? "failed").split("\n")[0]}`).join("; ");
        console.log(`  ${w} n=2^${Math.log2(n)}: estc ${sig(ms(estc))} ms, tfjs ${sig(ms(tfm))} ms, jax-js ${sig(ms(jxm))} ms${fails.length ? ` [${failText}]` : ""}`);
      }
    } finally {
      copy.dispose();
    }
    const roundS = (performance.now() - roundStart) / 1000;
    if (n === 2 ** 20) {
      const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
      if (quick) skipped22 = "--quick";
      else if (4 * 2 ** 22 > maxBinding) skipped22 = `the adapter binds at most ${maxBinding} bytes`;
      else if (!large && roundS * 4 >= 60) skipped22 = `the 2^20 round took ${roundS.toFixed(1)} s, so 2^22 would take about ${(roundS * 4).toFixed(0)} s (>= 60; --large runs it anyway)`;
      else sizes.push(2 ** 22);
      if (skipped22) console.log(`  (2^22 not run: ${skipped22})`);
    }
  }

  if (rows.length > 0) printElementwise(rows);
  const mlp = await benchMlpWebgpu(root, programs, device, tf, jx, quick);
  if (warning) console.log(`\n${warning}`);

  const result = {
    machine,
    note: warning ?? "hardware adapter",
    settings: { timing: plan, gpuTolerance: GPU_TOL, peerTolerance: PEER_TOL, sizes, skipped2pow22: skipped22, mlpOnly, stepWait: "estc: forward, vjp, queue.onSubmittedWorkDone; tfjs: valueAndGrad, submitQueue, onSubmittedWorkDone; jax-js: jit(vjp), blockUntilReady" },
    elementwise: rows,
    mlp,
    loadAverageAtEnd: os.loadavg(),
    totalSeconds: (performance.now() - started) / 1000,
  };
  const out = path.join(root, "bench/results/webgpu.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), out)} (${result.totalSeconds.toFixed(0)} s in all)`);
  device.destroy();
}

/** The elementwise tables: times and rates, the checks, and the failures. */
function printElementwise(rows: Row[]): void {
  console.log("\nForward + vjp per step, inputs on the device, each step waited for (median ms per step)\n");
  const pct = (v?: number) => (v === undefined ? "-" : `${(100 * v).toFixed(0)}%`);
  console.log(
    table(
      ["workload", "N", "estc ms", "disp/step", "MB/step", "+clear MB", "estc GB/s", "of copy", "tfjs ms", "tfjs/estc", "tfjs of copy", "tfjs kern", "jax-js ms", "jax/estc", "jax of copy", "copy GB/s"],
      rows.map((r) => [
        r.workload,
        `2^${Math.log2(r.n)}`,
        r.estc.ok ? sig(ms(r.estc)) : "n/a",
        String(r.estcPlan.dispatches),
        sig(r.estcPlan.bytes / 1e6),
        sig(r.estcPlan.clearBytes / 1e6),
        sig(r.estc.gbPerS),
        pct(r.estc.fractionOfCopy),
        r.tfjs.ok ? sig(ms(r.tfjs)) : "n/a",
        sig(r.ratios.tfjsOverEstc),
        pct(r.tfjs.fractionOfCopy),
        r.tfjs.kernelsPerStep === undefined ? "-" : String(r.tfjs.kernelsPerStep),
        r.jax.ok ? sig(ms(r.jax)) : "n/a",
        sig(r.ratios.jaxOverEstc),
        pct(r.jax.fractionOfCopy),
        sig(r.copy.gbPerS),
      ]),
    ),
  );
  console.log(
    "\ndisp/step: estc's compute dispatches per step (kernel steps of the forward and vjp plans); MB/step: the bytes those dispatches bind" +
      " (buffers read + written); +clear MB: pool buffers the executor zeroes with clearBuffer before a library step writes them (not in GB/s)." +
      " GB/s for every implementation = estc's MB/step / its time; 'of copy' = that over the copy kernel's GB/s (8 B/element, same device)." +
      " The copy kernel and the three implementations are timed in interleaved rounds; 'of copy' and the ratios are medians of the per-round values." +
      " tfjs kern: tfjs kernels per step (tf.profile).",
  );
  const errText = (m: Measured) => (m.maxError === undefined ? "n/a" : `${m.maxError.toExponential(1)}${m.mismatches ? ` (+${m.mismatches} over tol)` : ""}`);
  console.log(`\nChecks before timing (|a-b| / max(1,|b|)): estc on the device vs estc's CPU back end (tol ${GPU_TOL}, every element); peers vs the f64 oracle (tol ${PEER_TOL})\n`);
  console.log(
    table(
      ["workload", "N", "estc vs cpu()", "estc vs oracle", "tfjs", "jax-js"],
      rows.map((r) => [r.workload, `2^${Math.log2(r.n)}`, errText(r.estc), r.estc.maxErrorVsOracle?.toExponential(1) ?? "n/a", errText(r.tfjs), errText(r.jax)]),
    ),
  );
  const failures = rows.flatMap((r) =>
    (["estc", "tfjs", "jax"] as const).filter((k) => !r[k].ok).map((k) => `${r.workload} 2^${Math.log2(r.n)} ${k}: ${r[k].note ?? "failed"}`),
  );
  const unique = [...new Set(failures.map((f) => f.replace(/^\S+ 2\^\d+ /, "")))];
  if (unique.length > 0) console.log(`\nFailures:\n${unique.map((f) => `  ${f}`).join("\n")}`);
}

await main();
// Dawn instances made for the peers keep the process alive; the results are written.
process.exit(process.exitCode ?? 0);
