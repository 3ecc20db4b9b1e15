/**
 * Fusion is bounded (issue 17, item 9): a 7,000-op elementwise chain fused into one kernel crashed
 * Mesa's shader compiler (SIGSEGV), and its gradient was one 21,000-node kernel that llvmpipe did
 * not compile in 150 s. Every kernel the schedule emits now computes at most MAX_FUSED_OPS nodes
 * and binds at most MAX_STORAGE_BUFFERS_PER_STAGE storage buffers, whatever the program; a group
 * past that is cut by checkpoint-and-recompute (compiler/schedule-bound.ts). Checked here, on
 * every plan a module holds (forward, vjp, valueAndGrad, vjpFn's two): a 7,000-op sin chain and
 * its gradient (the forward values the backward reads are not all stored), a chain whose
 * intermediates are read again late (fan-out), a sum of 12 inputs (fan-in), a long scalar
 * constant, long chains around a matrix product and before a normalisation (a backward in a
 * later loop than its forward), and every example; values and gradients
 * against f64 loops on the cpu, and the 7,000-op gradient on webgpu (child process) against the cpu.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { differentiateFile } from "../../compiler/build.js";
import type { DifferentiatedFn } from "../../compiler/differentiate.js";
import { Op, type Node } from "../../compiler/ir.js";
import { optimize } from "../../compiler/optimize.js";
import { selectResiduals } from "../../compiler/residuals.js";
import {
  MAX_FUSED_OPS,
  MAX_STORAGE_BUFFERS_PER_STAGE,
  kernelReads,
  kernelSize,
  kernelWrites,
  schedule,
  type Schedule,
} from "../../compiler/schedule.js";
import { tensor, type Tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { compileFn } from "../helpers/compile.js";
import { runChild } from "../helpers/child.js";

/** The schedules of the five plans a generated module holds (as codegen/ts/module.ts builds them). */
function schedules(fn: DifferentiatedFn): Record<string, Schedule> {
  const L = fn.lowered;
  const leaf = new Set([Op.Input, Op.Const, Op.Scalar, Op.Dim]);
  const plan = (roots: Node[]) => schedule(optimize(L.graph, roots, L.provenance).map((r) => (leaf.has(r.op) ? L.graph.node(Op.Broadcast, r.dtype, r.shape, [r]) : r)));
  const grads = Object.keys(fn.grads).map((g) => fn.grads[g]!);
  const split = selectResiduals(L.graph, optimize(L.graph, grads, L.provenance));
  const out: Record<string, Schedule> = {
    forward: plan(L.outputs),
    vjp: plan(grads),
    forwardWithResiduals: plan([...L.outputs, ...split.saved]),
    pullback: plan(split.pullback),
  };
  if (fn.valueAndGrad !== undefined) out["valueAndGrad"] = plan([L.outputs[0]!, ...Object.values(fn.valueAndGrad)]);
  return out;
}

/** Every kernel of every plan within the bounds; the largest size and binding count seen. */
function expectBounded(fn: DifferentiatedFn, what: string): { size: number; buffers: number; plans: Record<string, Schedule> } {
  const plans = schedules(fn);
  let size = 0;
  let buffers = 0;
  for (const [entry, s] of Object.entries(plans)) {
    for (const k of s.kernels) {
      const b = kernelReads(k).length + kernelWrites(k).length;
      expect(kernelSize(k), `${what} ${entry}: a ${k.kind} kernel`).toBeLessThanOrEqual(MAX_FUSED_OPS);
      expect(b, `${what} ${entry}: a ${k.kind} kernel's buffers`).toBeLessThanOrEqual(MAX_STORAGE_BUFFERS_PER_STAGE);
      size = Math.max(size, kernelSize(k));
      buffers = Math.max(buffers, b);
    }
  }
  return { size, buffers, plans };
}

/** `fn chain(x: f32[N]) -> f32`: `sum(sin(sin(… x …)))` with n sins. */
function sinChain(n: number): string {
  const lines = ["fn chain(x: f32[N]) -> f32 {", "  let a0 = x"];
  for (let k = 1; k <= n; k++) lines.push(`  let a${k} = sin(a${k - 1})`);
  lines.push(`  return sum(a${n})`, "}");
  return lines.join("\n") + "\n";
}

/** The sin chain in f64, per element: a_n and its derivative, the product of cos(a_k). */
function sinChainF64(n: number, x: number): { value: number; grad: number } {
  let a = x;
  let grad = 1;
  for (let k = 0; k < n; k++) {
    grad *= Math.cos(a);
    a = Math.sin(a);
  }
  return { value: a, grad };
}

/** `fn chain(x: f32[N]) -> f32`: tanh, × 1.0001, + 0.001 in turn, n ops, then a sum. */
function affineChain(n: number): string {
  const lines = ["fn chain(x: f32[N]) -> f32 {", "  let a0 = x"];
  for (let k = 1; k <= n; k++) lines.push(`  let a${k} = ${[`tanh(a${k - 1})`, `a${k - 1} * 1.0001`, `a${k - 1} + 0.001`][k % 3]}`);
  lines.push(`  return sum(a${n})`, "}");
  return lines.join("\n") + "\n";
}

/** |got - want| within `rel` of max(|want|, floor). */
function expectClose(got: readonly number[], want: readonly number[], rel: number, floor = 0): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(want[i]!), floor)));
}

/** The largest magnitude in `v`. */
const largest = (v: readonly number[]) => Math.max(...v.map(Math.abs));

const xs = [-2, -0.5, 0, 0.25, 1, 3];

describe("a 7,000-op chain and its gradient", () => {
  it("the forward is cut every MAX_FUSED_OPS nodes, as a chain of one buffer per cut", () => {
    const fn = compileFn(affineChain(7000), "chain");
    const forward = schedule(optimize(fn.lowered.graph, fn.lowered.outputs, fn.lowered.provenance));
    // 7,001 nodes (the chain and its sum) in ceil(7000 / 256) = 28 kernels: 27 fused loops and
    // the sum with a 255-node prologue, each reading the one value the kernel before it stored.
    expect(forward.kernels.length).toBe(Math.ceil(7000 / MAX_FUSED_OPS));
    expect(forward.kernels.map(kernelSize).reduce((a, b) => a + b, 0)).toBe(7001);
    for (const k of forward.kernels) expect(kernelReads(k).length).toBeLessThanOrEqual(1);
  });

  it("every kernel of every plan is bounded; the gradient stores checkpoints, not every forward value", () => {
    const fn = compileFn(sinChain(7000), "chain");
    const { size, buffers, plans } = expectBounded(fn, "sin chain");
    expect(size).toBe(MAX_FUSED_OPS);
    expect(buffers).toBeLessThanOrEqual(7);
    // The gradient reads all 7,000 forward values (cos(a_k)); fused it was one 21,000-node
    // kernel. Cut by checkpointing it stores about one forward value in 65 and one cotangent in
    // 65 (measured: 216 buffers in 143 kernels) and recomputes each forward segment once more
    // (27,912 nodes of work, 1.33 times the fused kernel's 21,001).
    const vjp = plans["vjp"]!;
    expect(vjp.materialized.size).toBeLessThan(7000 / 20);
    expect(vjp.kernels.map(kernelSize).reduce((a, b) => a + b, 0)).toBeLessThan(1.5 * 21001);
    expect(plans["valueAndGrad"]!.materialized.size).toBeLessThan(7000 / 20);
  });

  it("a chain with a vector result: its vjp and vjpFn (which saves about every forward value) are bounded too", () => {
    const src = sinChain(2000).replace("-> f32 {", "-> f32[N] {").replace("return sum(a2000)", "return a2000");
    const { plans } = expectBounded(compileFn(src, "chain"), "vector chain");
    expect(plans["vjp"]!.materialized.size).toBeLessThan(2000 / 10);
  });

  it("cpu: value and gradient match the f64 chain; webgpu (child process, llvmpipe) matches the cpu", { timeout: 600_000 }, async () => {
    const n = 7000;
    const { mod, file } = await buildModule(sinChain(n));
    const want = xs.map((x) => sinChainF64(n, x));
    const { value, grads } = (await mod["chain"].valueAndGrad({ x: tensor(xs, [xs.length]) })) as { value: Tensor; grads: { x: Tensor } };
    const cpu = { value: value.dataSync()[0]!, grad: [...grads.x.dataSync()] };
    // Every op rounds to f32 and the chain is 7,000 ops long; sin contracts, so errors do not
    // grow: measured 2.6e-6 relative on the value and at most 8.5e-6 on the gradients (which span
    // 4e-6 to 1). The bound: 1e-4 relative.
    expectClose([cpu.value], [want.reduce((s, w) => s + w.value, 0)], 1e-4);
    expectClose(cpu.grad, want.map((w) => w.grad), 1e-4);
    // llvmpipe compiles the ~145 shaders in about 30 s (2 s with Mesa's shader cache warm); the
    // 21,000-node kernel did not compile in 150 s. Measured: within 6e-6 relative of the cpu.
    const r = runChild("value-and-grad.mjs", [file, "chain", JSON.stringify(xs)], 480_000);
    expect({ status: r.status, signal: r.signal }, r.stderr.slice(-2000)).toEqual({ status: 0, signal: null });
    const gpu = JSON.parse(r.stdout) as { value: number; grad: number[]; ms: number };
    expectClose([gpu.value], [cpu.value], 1e-4);
    expectClose(gpu.grad, cpu.grad, 1e-4);
  });
});

describe("fan-out, fan-in and chains around other kernels", () => {
  /** sin chain of 2,000 ops whose every 10th value is summed at the end, times the last. */
  const fanOut = (() => {
    const lines = ["fn fan(x: f32[N]) -> f32 {", "  let a0 = x"];
    for (let k = 1; k <= 2000; k++) lines.push(`  let a${k} = sin(a${k - 1})`);
    const late = Array.from({ length: 200 }, (_, j) => `a${10 * (j + 1)}`).join(" + ");
    lines.push(`  let s = ${late}`, "  return sum(s * a2000)", "}");
    return lines.join("\n") + "\n";
  })();

  it("a chain whose 200 intermediates are read again at its end: bounded in size and buffers, right on the cpu", async () => {
    const fn = compileFn(fanOut, "fan");
    const { buffers, plans } = expectBounded(fn, "fan-out");
    expect(buffers).toBeLessThanOrEqual(7);
    expect(plans["vjp"]!.materialized.size).toBeLessThan(2200 / 10);
    // f64 forward mode: a_k and da_k/dx together; f = s·a_2000, f' = s'·a_2000 + s·a_2000'.
    const want = xs.map((x) => {
      let a = x;
      let da = 1;
      let s = 0;
      let ds = 0;
      for (let k = 1; k <= 2000; k++) {
        da *= Math.cos(a);
        a = Math.sin(a);
        if (k % 10 === 0) {
          s += a;
          ds += da;
        }
      }
      return { value: s * a, grad: ds * a + s * da };
    });
    const { mod } = await buildModule(fanOut);
    const { value, grads } = (await mod["fan"].valueAndGrad({ x: tensor(xs, [xs.length]) })) as { value: Tensor; grads: { x: Tensor } };
    expectClose([value.dataSync()[0]!], [want.reduce((t, w) => t + w.value, 0)], 1e-4);
    expectClose([...grads.x.dataSync()], want.map((w) => w.grad), 1e-4, 1e-3);
  });

  it("a sum of 12 products of inputs (13 buffers in one loop) is cut to fit 8 buffers; right on the cpu", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `x${i}`);
    const src = `fn wide(${names.map((x) => `${x}: f32[N]`).join(", ")}) -> f32 { return sum(${names.map((x, i) => `${x} * ${(i + 1) / 4}`).join(" + ")}) }\n`;
    const fn = compileFn(src, "wide");
    const { buffers } = expectBounded(fn, "fan-in");
    expect(buffers).toBeLessThanOrEqual(MAX_STORAGE_BUFFERS_PER_STAGE);
    const { mod } = await buildModule(src);
    const inputs = Object.fromEntries(names.map((x, i) => [x, tensor([i, -2 * i, 0.5], [3])]));
    const { value, grads } = (await mod["wide"].valueAndGrad(inputs)) as { value: Tensor; grads: Record<string, Tensor> };
    const want = names.reduce((t, _, i) => t + ((i + 1) / 4) * (i - 2 * i + 0.5), 0);
    expect(value.dataSync()[0]).toBeCloseTo(want, 4);
    names.forEach((x, i) => expect([...grads[x]!.dataSync()]).toEqual([1, 1, 1].map(() => (i + 1) / 4)));
  });

  it("a scalar constant computed from 300 ops is computed once and stored, not hoisted into every kernel", async () => {
    const lines = ["fn sc(x: f32[N], o: f32 = 0.5) -> f32 {", "  let c0 = o"];
    for (let k = 1; k <= 300; k++) lines.push(`  let c${k} = sin(c${k - 1})`);
    lines.push("  return sum(x * c300)", "}");
    const src = lines.join("\n") + "\n";
    expectBounded(compileFn(src, "sc"), "scalar constant");
    let c = 0.5;
    for (let k = 0; k < 300; k++) c = Math.sin(c);
    const { mod } = await buildModule(src);
    const { value, grads } = (await mod["sc"].valueAndGrad({ x: tensor(xs, [xs.length]) })) as { value: Tensor; grads: { x: Tensor } };
    expectClose([value.dataSync()[0]!], [c * xs.reduce((a, b) => a + b, 0)], 1e-4);
    expectClose([...grads.x.dataSync()], xs.map(() => c), 1e-4);
  });

  it("600-op chains after a matrix product (epilogue) and on its operand (prologue) are cut", async () => {
    const chain = (v: string, n: number) => {
      const out = [`  let ${v}0 = ${v === "h" ? "x @ w" : "w"}`];
      for (let k = 1; k <= n; k++) out.push(`  let ${v}${k} = sin(${v}${k - 1})`);
      return out;
    };
    const epilogue = ["fn epi(x: f32[B, I], w: f32[I, O]) -> f32 {", ...chain("h", 600), "  return sum(h600)", "}"].join("\n") + "\n";
    const prologue = ["fn pro(x: f32[B, I], w: f32[I, O]) -> f32 {", ...chain("v", 600), "  return sum(x @ v600)", "}"].join("\n") + "\n";
    expectBounded(compileFn(epilogue, "epi"), "epilogue");
    // The backward of `x @ v600` with respect to w runs after the product and reads cos(v_k) of
    // every forward value: it recomputes the chain from checkpoints instead (31 buffers stored by
    // valueAndGrad; 611, in kernels binding up to 130, before).
    const pro = expectBounded(compileFn(prologue, "pro"), "prologue").plans;
    expect(pro["valueAndGrad"]!.materialized.size).toBeLessThan(600 / 10);
    const X = [0.5, -1, 2, 0.25, 1.5, -0.75]; // 2 × 3
    const W = [1, -0.5, 0.3, 0.8, -1.2, 0.1]; // 3 × 2
    const sinN = (v: number) => sinChainF64(600, v);
    const { mod } = await buildModule(epilogue + prologue);
    const x = tensor(X, [2, 3]);
    const w = tensor(W, [3, 2]);
    // epi: h0 = x @ w; sum of sin^600 over h0; d/dw = xᵀ (sin^600)'(h0).
    const h0 = [0, 1].flatMap((b) => [0, 1].map((o) => [0, 1, 2].reduce((s, i) => s + X[b * 3 + i]! * W[i * 2 + o]!, 0)));
    const e = (await mod["epi"].valueAndGrad({ x, w })) as { value: Tensor; grads: { w: Tensor } };
    // Sums of terms of both signs: errors are measured against the sum of their magnitudes.
    const terms = h0.map((h) => sinN(h).value);
    expectClose([e.value.dataSync()[0]!], [terms.reduce((a, b) => a + b, 0)], 1e-4, terms.reduce((a, b) => a + Math.abs(b), 0));
    const dh = h0.map((h) => sinN(h).grad);
    const dw = [0, 1, 2].flatMap((i) => [0, 1].map((o) => [0, 1].reduce((s, b) => s + X[b * 3 + i]! * dh[b * 2 + o]!, 0)));
    // Relative to the largest element: xᵀ·dh sums terms of both signs, and sin^600' spans decades.
    expectClose([...e.grads.w.dataSync()], dw, 1e-4, largest(dw));
    // pro: sum(x @ sin^600(w)) = Σ_i (Σ_b x[b, i]) Σ_o sin^600(w[i, o]); d/dw[i, o] = (Σ_b x[b, i]) (sin^600)'(w[i, o]).
    const colX = [0, 1, 2].map((i) => X[i]! + X[3 + i]!);
    const p = (await mod["pro"].valueAndGrad({ x, w })) as { value: Tensor; grads: { w: Tensor } };
    const pterms = W.map((v, j) => colX[Math.floor(j / 2)]! * sinN(v).value);
    expectClose([p.value.dataSync()[0]!], [pterms.reduce((a, b) => a + b, 0)], 1e-4, pterms.reduce((a, b) => a + Math.abs(b), 0));
    const dv = W.map((v, j) => colX[Math.floor(j / 2)]! * sinN(v).grad);
    expectClose([...p.grads.w.dataSync()], dv, 1e-4, largest(dv));
  });
});

describe("a chain read again past a reduction", () => {
  /** sin^600(x), centred by a sum, then squared and summed: the backward runs after both sums. */
  const src = ["fn norm(x: f32[N]) -> f32 {", "  let a0 = x", ...Array.from({ length: 600 }, (_, k) => `  let a${k + 1} = sin(a${k})`), "  let m = a600 - sum(a600) / 10.0", "  return sum(m * m)", "}"].join("\n") + "\n";

  it("its backward recomputes the chain from checkpoints instead of reading 600 stored values; right on the cpu", async () => {
    const { plans } = expectBounded(compileFn(src, "norm"), "normalised chain");
    // Measured: 29 buffers in valueAndGrad (614 before, one per forward value).
    expect(plans["valueAndGrad"]!.materialized.size).toBeLessThan(600 / 10);
    expect(plans["vjp"]!.materialized.size).toBeLessThan(600 / 10);
    // f64: f = Σ m_i², m_i = a_i - S / 10, S = Σ a_j; df/da_i = 2 m_i - Σ_j 2 m_j / 10; times (sin^600)'(x_i).
    const chains = xs.map((x) => sinChainF64(600, x));
    const S = chains.reduce((t, c) => t + c.value, 0);
    const m = chains.map((c) => c.value - S / 10);
    const M = m.reduce((t, v) => t + 2 * v, 0);
    const { mod } = await buildModule(src);
    const { value, grads } = (await mod["norm"].valueAndGrad({ x: tensor(xs, [xs.length]) })) as { value: Tensor; grads: { x: Tensor } };
    expectClose([value.dataSync()[0]!], [m.reduce((t, v) => t + v * v, 0)], 1e-4);
    const want = chains.map((c, i) => (2 * m[i]! - M / 10) * c.grad);
    expectClose([...grads.x.dataSync()], want, 1e-4, largest(want));
  });
});

describe("examples", () => {
  const root = path.resolve(import.meta.dirname, "..", "..", "examples");
  const files = fs.readdirSync(root).flatMap((d) => (fs.statSync(path.join(root, d)).isDirectory() ? fs.readdirSync(path.join(root, d)).filter((f) => f.endsWith(".est")).map((f) => path.join(root, d, f)) : []));

  it.each(files.map((f) => [path.relative(root, f), f]))("%s: every kernel of every fn within the bounds", (_, file) => {
    const { fns, diagnostics } = differentiateFile(file);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(fns.length).toBeGreaterThan(0);
    for (const fn of fns) expectBounded(fn, fn.lowered.name);
  });
});
