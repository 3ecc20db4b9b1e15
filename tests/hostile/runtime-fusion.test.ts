/**
 * Fusion is bounded (issue 17, item 9): a 7,000-op elementwise chain fused into one kernel crashed
 * Mesa's shader compiler (SIGSEGV). The schedule now cuts fused loops and reduction prologues at
 * MAX_FUSED_OPS nodes. Checked: the 7,000-op chain's forward, vjp and valueAndGrad schedules
 * (every kernel within the binding limit; the forward's within the bound, one buffer per cut), and
 * a chain past the bound built and run on cpu (against the f64 chain) and, in a child process, on
 * webgpu (against the cpu). A forward fused with its backward has no narrow cut and stays whole.
 */
import { describe, expect, it } from "vitest";
import type { Node } from "../../compiler/ir.js";
import { optimize } from "../../compiler/optimize.js";
import { MAX_FUSED_OPS, kernelReads, kernelWrites, schedule, type ScheduledKernel } from "../../compiler/schedule.js";
import { tensor, type Tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { compileFn } from "../helpers/compile.js";
import { runChild } from "../helpers/child.js";

/** `fn chain(x: f32[N]) -> f32` of n ops: tanh, × 1.0001, + 0.001 in turn, then a sum. */
function chainSource(n: number, reduce: boolean): string {
  const lines = ["fn chain(x: f32[N]) -> f32" + (reduce ? "" : "[N]") + " {", "  let a0 = x"];
  for (let k = 1; k <= n; k++) lines.push(`  let a${k} = ${[`tanh(a${k - 1})`, `a${k - 1} * 1.0001`, `a${k - 1} + 0.001`][k % 3]}`);
  lines.push(reduce ? `  return sum(a${n})` : `  return a${n}`, "}");
  return lines.join("\n") + "\n";
}

/** The same chain in f64 on one element. */
function chainValue(n: number, x: number): number {
  let a = x;
  for (let k = 1; k <= n; k++) a = k % 3 === 1 ? Math.tanh(a) : k % 3 === 2 ? a * 1.0001 : a + 0.001;
  return a;
}

/** IR nodes a kernel computes in its loop. */
function size(k: ScheduledKernel): number {
  return k.kind === "fused" ? k.nodes.length : k.kind === "reduce" ? k.prologue.length + 1 : 1;
}

describe("a fused chain longer than the bound", () => {
  it("7,000 ops: the forward is cut into kernels of at most MAX_FUSED_OPS, and no kernel binds more than 7 buffers", () => {
    const fn = compileFn(chainSource(7000, true), "chain");
    const L = fn.lowered;
    const grads = Object.keys(fn.grads).map((g) => fn.grads[g]!);
    const plans: Record<string, Node[]> = { forward: L.outputs, vjp: grads, valueAndGrad: [L.outputs[0]!, ...Object.values(fn.valueAndGrad!)] };
    const sizes: Record<string, number[]> = {};
    for (const [what, unoptimized] of Object.entries(plans)) {
      const s = schedule(optimize(L.graph, unoptimized, L.provenance));
      sizes[what] = s.kernels.map(size);
      for (const k of s.kernels) expect(kernelReads(k).length + kernelWrites(k).length, what).toBeLessThanOrEqual(7);
    }
    // The forward: 7,001 nodes (the chain and its sum) in ceil(7000 / 256) = 28 kernels of at most
    // MAX_FUSED_OPS — 27 fused loops and the sum with its prologue — each reading the one buffer
    // the kernel before it stored. (It was one kernel of 7,001 nodes.)
    expect(sizes["forward"]!.length).toBe(Math.ceil(7000 / MAX_FUSED_OPS));
    expect(Math.max(...sizes["forward"]!)).toBeLessThanOrEqual(MAX_FUSED_OPS);
    expect(sizes["forward"]!.reduce((a, b) => a + b, 0)).toBe(7001);
  });

  it("1,000 ops: builds; cpu matches the f64 chain, and webgpu (child process) the cpu", { timeout: 300_000 }, async () => {
    const n = 1000;
    const { mod, file } = await buildModule(chainSource(n, false));
    const xs = [-2, -0.5, 0, 0.25, 1, 3];
    const want = xs.map((v) => chainValue(n, v));
    const y = (await mod["chain"].forward({ x: tensor(xs, [xs.length]) })) as Tensor;
    const cpu = [...y.dataSync()];
    // Each of the 4 kernels stores its result as f32 and tanh runs 333 times: agreement with the
    // f64 chain to 1e-3 relative (measured: 3.4e-4), with each other to 1e-5.
    cpu.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(want[i]!))));
    const r = runChild("forward.mjs", [file, "chain", JSON.stringify(xs)], 240_000);
    expect({ status: r.status, signal: r.signal }, r.stderr.slice(-2000)).toEqual({ status: 0, signal: null });
    const gpu = JSON.parse(r.stdout) as number[];
    gpu.forEach((v, i) => expect(Math.abs(v - cpu[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(cpu[i]!))));
  });
});
