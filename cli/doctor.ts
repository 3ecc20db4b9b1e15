/**
 * `estc doctor`: which WebGPU adapter the runtime finds (DESIGN.md "Running WGSL without a GPU"),
 * why any fallback was taken, the limits and features kernels depend on, and a one-kernel self
 * test. Compiler-free, so it runs wherever the runtime does. Exit 0 with an adapter, 1 without.
 */
import type { EntryPlan, FunctionSpec } from "../runtime/plan.js";
import { tensor } from "../runtime/tensor.js";
import { INSTALL_DAWN, explainAttempts, findAdapter, requestedLimits, webgpu, type AdapterReport } from "../runtime/webgpu/device.js";
import { runPlanWebGpu } from "../runtime/webgpu/execute.js";
import type { CliOutcome } from "./estc.js";

/** Runs the checks and prints the report; never throws. */
export async function doctor(args: string[]): Promise<CliOutcome> {
  if (args.length > 0) return { stdout: "", stderr: `estc doctor: takes no arguments, got '${args[0]}'\n`, code: 1 };
  const search = await findAdapter();
  if (!search.found) {
    const text =
      "estc doctor: no WebGPU adapter found\n\n" +
      `tried:\n${explainAttempts(search.attempts)}\n\n` +
      (search.dawnMissing === true
        ? // An optional peer dependency of estc: nothing else can be tried until it is installed.
          `WebGPU in Node runs on Dawn, the 'webgpu' package: ${INSTALL_DAWN}\n`
        : "Without a GPU, Dawn runs on Mesa's llvmpipe: install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri\n" +
          "(Debian/Ubuntu) and make sure EGL_PLATFORM=surfaceless is allowed (it is set when unset).\n");
    return { stdout: "", stderr: text, code: 1 };
  }
  const lines = describe(search.report);
  lines.push("", `self test: ${await selfTest(search.report)}`);
  return { stdout: lines.join("\n") + "\n", stderr: "", code: 0 };
}

function describe(r: AdapterReport): string[] {
  const via =
    r.path === "mesa"
      ? "Mesa fallback (Dawn backend=opengles, EGL surfaceless)"
      : r.path === "hardware"
        ? "hardware adapter (Dawn default backend)"
        : "browser navigator.gpu";
  const show = (v: string) => (v === "" ? "(not reported)" : v);
  const lines = [
    `WebGPU adapter: found via ${via}`,
    `  vendor:        ${show(r.vendor)}`,
    `  architecture:  ${show(r.architecture)}`,
    `  device:        ${show(r.device)}`,
    `  description:   ${show(r.description)}`,
    `  backend:       ${r.backend}`,
    `  featureLevel:  ${r.featureLevel}`,
    `  fallback:      ${r.isFallbackAdapter ? "yes (a software adapter)" : "no"}`,
  ];
  const failed = r.attempts.filter((a) => !a.ok);
  lines.push("", failed.length === 0 ? "first attempt succeeded" : "attempts (why a fallback was taken):", ...(failed.length === 0 ? [] : [explainAttempts(r.attempts)]));
  lines.push("", "limits (the device is opened with the adapter's values):");
  const width = Math.max(...requestedLimits.map((n) => n.length));
  for (const name of [...requestedLimits, "maxUniformBufferBindingSize", "maxBindGroups"]) {
    const value = r.limits[name];
    if (value !== undefined) lines.push(`  ${name.padEnd(width)}  ${value}`);
  }
  lines.push("", `features: ${r.features.length === 0 ? "(none)" : r.features.join(", ")}`);
  if (!r.features.includes("shader-f16")) lines.push("  (no shader-f16: kernels compute in f32, which estc does anyway)");
  return lines;
}

/** Transposes a 2x3 tensor on a fresh device and reads it back. */
async function selfTest(report: AdapterReport): Promise<string> {
  const started = Date.now();
  let device;
  try {
    device = await webgpu({ adapter: report.path === "mesa" ? "mesa" : "auto" });
    const plan: EntryPlan = {
      buffers: [
        { dtype: "f32", shape: [2, 3] },
        { dtype: "f32", shape: [3, 2] },
      ],
      inputs: [{ name: "x", buffer: 0 }],
      outputs: [1],
      steps: [{ op: "transpose", x: 0, out: 1, perm: [1, 0] }],
    };
    const spec: FunctionSpec = {
      name: "doctor",
      source: "estc doctor",
      inputs: [{ name: "x", dtype: "f32", shape: [2, 3] }],
      scalars: [],
      dims: [],
      outputs: [{ dtype: "f32", shape: [3, 2] }],
      tuple: false,
      gradInputs: [],
      kernels: [],
      forward: plan,
      vjp: { buffers: [], inputs: [], outputs: [], steps: [] },
    };
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const [y] = await runPlanWebGpu(spec, plan, new Map([["x", x]]), new Int32Array(0), new Float64Array(0), 0, device);
    const got = Array.from(await y!.data());
    const want = [1, 4, 2, 5, 3, 6];
    if (got.join() !== want.join()) return `FAILED: a transpose returned [${got.join(", ")}], expected [${want.join(", ")}]`;
    return `ok (a transpose kernel compiled, ran and read back in ${Date.now() - started} ms)`;
  } catch (e) {
    return `FAILED: ${(e as Error).message}`;
  } finally {
    device?.destroy();
  }
}
