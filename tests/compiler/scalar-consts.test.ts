/**
 * Scalar constants: one-element values computed from literals, runtime scalars and dims only
 * (ReSTE's `(1 - o) / o`, `sqrt(I)`). The schedule gives them no kernel and no buffer unless they
 * are a root; every kernel that uses one computes it up front (codegen hoists it). Checked here:
 * the schedules of ReSTE programs, a fn whose result is a scalar constant, and ReSTE's forward and
 * vjp on every back end against its formula with the constants feeding a fused loop, a matmul
 * prologue and epilogue and a reduction prologue.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { explainFile } from "../../compiler/build.js";
import type { Node } from "../../compiler/ir.js";
import { optimize } from "../../compiler/optimize.js";
import { nodeHost } from "../../compiler/resolve.js";
import { isScalarConst, kernelReads, schedule, type Schedule } from "../../compiler/schedule.js";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { compileFn } from "../helpers/compile.js";
import { expectClose } from "../helpers/expect.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const HEADER = `import { STE, ReSTE } from "std/binary"\n`;

/** The schedules a generated module runs for fn `name`: forward, vjp and (scalar fns) valueAndGrad. */
function schedules(text: string, name: string): { what: string; roots: Node[]; s: Schedule }[] {
  const fn = compileFn(text, name);
  const L = fn.lowered;
  const grads = Object.keys(fn.grads);
  const plans: Record<string, Node[]> = { forward: L.outputs, vjp: grads.map((g) => fn.grads[g]!) };
  if (fn.valueAndGrad !== undefined) plans["valueAndGrad"] = [L.outputs[0]!, ...grads.map((g) => fn.valueAndGrad![g]!)];
  return Object.entries(plans).map(([what, unoptimized]) => {
    const roots = optimize(L.graph, unoptimized, L.provenance);
    return { what: `${name} ${what}`, roots, s: schedule(roots) };
  });
}

/** Fails when a kernel reads a scalar constant from a buffer or computes one that is not a root. */
function expectHoisted(what: string, roots: Node[], s: Schedule): void {
  const rootIds = new Set(roots.map((r) => r.id));
  for (const [i, k] of s.kernels.entries()) {
    if (k.kind === "structural") continue;
    const read = kernelReads(k).filter(isScalarConst);
    expect(read.map((n) => n.op), `${what}: kernel ${i} reads scalar constants from buffers`).toEqual([]);
    if (k.kind !== "fused") continue;
    const computed = k.nodes.filter((n) => isScalarConst(n) && !rootIds.has(n.id));
    expect(computed.map((n) => n.op), `${what}: fused kernel ${i} over [${k.shape.join(", ")}] computes non-root scalar constants`).toEqual([]);
  }
  const stored = [...s.materialized].filter((id) => !rootIds.has(id) && s.kernels.some((k) => k.kind === "fused" && k.outputs.some((o) => o.id === id && isScalarConst(o))));
  expect(stored, `${what}: scalar constants given buffers`).toEqual([]);
}

describe("the schedule hoists scalar constants", () => {
  const programs: [string, string[]][] = [
    ["examples/quickstart/binary.est", ["binary_dense", "loss"]],
    ["bench/programs/mlp.est", ["loss"]],
    ["examples/bnn/bnn.est", []],
  ];
  for (const [file, fns] of programs) {
    it(`${file}: no kernel computes or reads a non-root scalar constant`, () => {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      const names = fns.length > 0 ? fns : [...text.matchAll(/^fn (\w+)/gm)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) for (const p of schedules(text, name)) expectHoisted(p.what, p.roots, p.s);
    });
  }

  it("a ReSTE layer's vjp has no one-element fused kernel", () => {
    const text = HEADER + "fn f(x: f32[B, I], w: f32[I, O], o: f32 = 3.0) -> f32[B, O] { return (sign x backward ReSTE(o = o)) @ (sign(w) backward STE) }";
    const vjp = schedules(text, "f").find((p) => p.what === "f vjp")!;
    const tiny = vjp.s.kernels.filter((k) => k.kind === "fused" && k.shape.every((d) => d === 1));
    expect(tiny).toEqual([]);
  });

  it("bench/programs/mlp.est's vjp schedule is shorter (25 kernels and steps before hoisting)", () => {
    const r = explainFile("bench/programs/mlp.est", "schedule", "loss", nodeHost(root));
    expect(r.diagnostics).toEqual([]);
    const lines = r.text.split("\n").filter((l) => /^(kernel|step) \d+:/.test(l));
    expect(lines.length).toBeLessThan(25);
    // The scalar-constant kernel ("fused 6 ops over [] -> 5 output(s)") is gone; only mean's
    // final division (a root, read from the sum's buffer) is left over [].
    expect(lines.filter((l) => l.includes("over []"))).toEqual([expect.stringMatching(/fused 2 ops over \[\] -> 1 output/)]);
  });
});

describe("a fn whose result is a scalar constant", () => {
  const text = "fn f(x: f32[N], o: f32 = 3.0) -> f32 { return (1 - o) / o }";

  it("is computed by one one-element kernel that writes it", () => {
    const fwd = schedules(text, "f").find((p) => p.what === "f forward")!;
    expect(fwd.s.kernels.map((k) => k.kind)).toEqual(["fused"]);
    const k = fwd.s.kernels[0]!;
    expect(k.kind === "fused" && k.outputs.map((o) => o.id)).toEqual([fwd.roots[0]!.id]);
  });

  it.each([3, 0.5, 2])("returns (1 - o) / o on every back end, o = %d", async (o) => {
    for (const b of BACKENDS) {
      const r = await run(b, text, "f", { x: { data: [1, 2], shape: [2] } }, { scalars: { o } });
      expectClose(r.outputs[0], [(1 - o) / o], tolerance(b), `${b} o = ${o}`);
    }
  });

  it("a root that other kernels also use: written by its own kernel, recomputed where it is used", async () => {
    const src = "fn t(x: f32[N], o: f32 = 3.0) -> (f32, f32[N]) { return ((1 - o) / o, x * ((1 - o) / o)) }";
    const fwd = schedules(src, "t").find((p) => p.what === "t forward")!;
    expectHoisted("t forward", fwd.roots, fwd.s);
    expect(fwd.s.kernels.map((k) => (k.kind === "fused" ? `fused [${k.shape.join(", ")}]` : k.kind))).toEqual(["fused []", "fused [N]"]);
    const x = [0.5, -1.25, 2];
    for (const o of [3, 0.25]) {
      const e = (1 - o) / o;
      for (const b of BACKENDS) {
        const r = await run(b, src, "t", { x: { data: x, shape: [3] } }, { scalars: { o } });
        expectClose(r.outputs[0], [e], tolerance(b), `${b} o = ${o} first`);
        expectClose(r.outputs[1], x.map((v) => v * e), tolerance(b), `${b} o = ${o} second`);
      }
    }
  });

  it("a scalar constant inside a reduction's prologue and after it: sum(x · (1 - o)/o) + sqrt(N)", async () => {
    const src = "fn g(x: f32[N], o: f32 = 3.0) -> f32 { return sum(x * ((1 - o) / o)) + sqrt(N) }";
    const x = [0.5, -1.25, 2, 3];
    for (const o of [3, 0.5]) {
      const e = (1 - o) / o;
      for (const b of BACKENDS) {
        const r = await run(b, src, "g", { x: { data: x, shape: [4] } }, { ct: [[2]], scalars: { o } });
        expectClose(r.outputs[0], [x.reduce((a, v) => a + v * e, 0) + 2], tolerance(b), `${b} o = ${o} forward`);
        expectClose(r.grads["x"], x.map(() => 2 * e), tolerance(b), `${b} o = ${o} vjp`);
      }
    }
  });
});

describe("ReSTE through a product on every back end, against its formula", () => {
  // y = sign(x) @ w / sqrt(I); dx = (ct @ wᵀ / sqrt(I)) · s(x), dw = sign(x)ᵀ @ ct / sqrt(I), with
  // s(x) = m^((1-o)/o) on |x| <= m, (1/o)|x|^((1-o)/o) on m < |x| <= t, 0 beyond (m = 0.1, t = 1.5).
  const src = HEADER + "fn f(x: f32[B, I], w: f32[I, O], o: f32 = 3.0) -> f32[B, O] { return (sign x backward ReSTE(o = o)) @ w / sqrt(I) }";
  const [B, I, O] = [2, 3, 2];
  const x = [0.0625, -0.5, 1, -1.25, 2, 0];
  const w = [0.5, -1, 0.25, 2, -0.75, 1.5];
  const ct = [1, -2, 0.5, 3];
  const sign = (v: number) => (v >= 0 ? 1 : -1);
  const slope = (v: number, o: number) => {
    const a = Math.abs(v);
    const e = (1 - o) / o;
    return a <= 0.1 ? 0.1 ** e : a <= 1.5 ? (1 / o) * a ** e : 0;
  };
  const at = (m: number[], cols: number, r: number, c: number) => m[r * cols + c]!;
  const forward = Array.from({ length: B * O }, (_, k) => {
    const [r, c] = [Math.floor(k / O), k % O];
    let s = 0;
    for (let i = 0; i < I; i++) s += sign(at(x, I, r, i)) * at(w, O, i, c);
    return s / Math.sqrt(I);
  });
  const dw = Array.from({ length: I * O }, (_, k) => {
    const [i, c] = [Math.floor(k / O), k % O];
    let s = 0;
    for (let r = 0; r < B; r++) s += sign(at(x, I, r, i)) * at(ct, O, r, c);
    return s / Math.sqrt(I);
  });
  const dx = (o: number) =>
    Array.from({ length: B * I }, (_, k) => {
      const [r, i] = [Math.floor(k / I), k % I];
      let s = 0;
      for (let c = 0; c < O; c++) s += at(ct, O, r, c) * at(w, O, i, c);
      return (s / Math.sqrt(I)) * slope(x[k]!, o);
    });

  it.each([1, 1.5, 2, 3])("o = %d", async (o) => {
    for (const b of BACKENDS) {
      const r = await run(b, src, "f", { x: { data: x, shape: [B, I] }, w: { data: w, shape: [I, O] } }, { ct: [ct], scalars: { o } });
      expectClose(r.outputs[0], forward, tolerance(b), `${b} o = ${o} forward`);
      expectClose(r.grads["x"], dx(o), tolerance(b), `${b} o = ${o} dx`);
      expectClose(r.grads["w"], dw, tolerance(b), `${b} o = ${o} dw`);
    }
  });
});
