/**
 * slice and concat (compiler/slice-concat.ts) on every back end — the f64 interpreter, the
 * generated cpu module and WebGPU — against values and gradients written out in plain loops
 * here (a slice's gradient scatters the cotangent into zeros; concat's splits it), WebGPU
 * against the cpu, f64 central-difference gradchecks, and the run-time bound check.
 */
import { describe, expect, it } from "vitest";
import { tensor } from "estc/runtime";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { buildModule } from "../helpers/build.js";
import { compileFn } from "../helpers/compile.js";
import { gradcheck } from "../helpers/gradcheck.js";
import { expectClose } from "../helpers/expect.js";
import { randomData } from "../helpers/random.js";

/** x[:, start:end:step] of a row-major [R, C] array, and the positions it reads. */
function sliceCols(x: number[], R: number, C: number, start: number, end: number, step: number): { values: number[]; from: number[] } {
  const values: number[] = [];
  const from: number[] = [];
  for (let r = 0; r < R; r++) {
    for (let c = start; c < end; c += step) {
      values.push(x[r * C + c]!);
      from.push(r * C + c);
    }
  }
  return { values, from };
}

const SLICES = `
fn cols(x: f32[B, N]) -> f32[B, 3] { return slice(x, 1, 1, 4) * 2 }
fn strided(x: f32[B, N]) -> f32[B, (N + 1) / 2] { return slice(x, 1, 0, N, 2) }
fn tail(x: f32[B, N]) -> f32[B, 2] { return slice(x, -1, -2) }
fn rows(x: f32[B, N]) -> f32[B - 1, N] { return slice(x, 0, 1) }
`;

describe("slice", () => {
  const [B, N] = [3, 7];
  const x = randomData(B * N, 1);

  it.each([
    ["cols", 1, 4, 1, 3],
    ["strided", 0, 7, 2, 4],
    ["tail", 5, 7, 1, 2],
  ] as const)("%s: values, and a gradient that is the cotangent scattered into zeros", async (name, start, end, step, width) => {
    const { values, from } = sliceCols(x, B, N, start, end, step);
    const scale = name === "cols" ? 2 : 1;
    const ct = randomData(B * width, 2);
    const grad = new Array<number>(B * N).fill(0);
    from.forEach((f, i) => (grad[f] = scale * ct[i]!));
    const results: Record<string, { outputs: number[][]; grads: Record<string, number[]> }> = {};
    for (const b of BACKENDS) {
      const r = await run(b, SLICES, name, { x: { data: x, shape: [B, N] } }, { ct: [ct] });
      expectClose(r.outputs[0]!, values.map((v) => v * scale), tolerance(b), `${b} ${name}`);
      expectClose(r.grads["x"]!, grad, tolerance(b), `${b} ${name} grad`);
      results[b] = r;
    }
    expect(results["webgpu"]!.outputs[0]).toEqual(results["cpu"]!.outputs[0]);
    expect(results["webgpu"]!.grads["x"]).toEqual(results["cpu"]!.grads["x"]);
  });

  it("slices rows with a computed length B - 1", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SLICES, "rows", { x: { data: x, shape: [B, N] } });
      expectClose(r.outputs[0]!, x.slice(N), tolerance(b), `${b} rows`);
    }
  });

  it("passes f64 central-difference gradchecks", () => {
    for (const name of ["cols", "strided", "tail", "rows"]) {
      const { analytic, numeric } = gradcheck(compileFn(SLICES, name), { dims: { B: 3, N: 7 } });
      expect(Math.abs(analytic - numeric), name).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });

  it("reports a bound past a symbolic axis at run time (E6008)", async () => {
    const { mod } = await buildModule("fn first4(x: f32[N]) -> f32[4] { return slice(x, 0, 0, 4) }");
    const ok = await mod["first4"].forward({ x: tensor(Float32Array.of(1, 2, 3, 4, 5), [5]) });
    expect(Array.from(await ok.data())).toEqual([1, 2, 3, 4]);
    await expect(mod["first4"].forward({ x: tensor(Float32Array.of(1, 2, 3), [3]) })).rejects.toMatchObject({ code: "E6008" });
  });
});

describe("x[a:b] slicing syntax", () => {
  const SRC = `
fn pick(x: f32[B, N]) -> f32[B - 1, 2] { return x[1:, -3:N:2] * x[1:B, -2:] }
fn whole(x: f32[B, N]) -> f32[B, N] { return x[:, :] + x[:] }`;
  const [B, N] = [3, 6];
  const x = randomData(B * N, 11);

  it("x[1:, -3:N:2] * x[1:B, -2:] equals slice calls, on every back end, with its gradient", async () => {
    // Rows 1..2; columns 3, 5 (from -3 by 2) and 4, 5.
    const at = (r: number, c: number) => x[r * N + c]!;
    const want: number[] = [];
    const grad = new Array<number>(B * N).fill(0);
    const ct = randomData((B - 1) * 2, 12);
    for (let r = 1; r < B; r++) {
      for (let k = 0; k < 2; k++) {
        const [c1, c2] = [3 + 2 * k, 4 + k];
        want.push(at(r, c1) * at(r, c2));
        const g = ct[(r - 1) * 2 + k]!;
        grad[r * N + c1]! += g * at(r, c2);
        grad[r * N + c2]! += g * at(r, c1);
      }
    }
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "pick", { x: { data: x, shape: [B, N] } }, { ct: [ct] });
      expectClose(r.outputs[0]!, want, tolerance(b), `${b} pick`);
      expectClose(r.grads["x"]!, grad, tolerance(b), `${b} pick grad`);
    }
    const { analytic, numeric } = gradcheck(compileFn(SRC, "pick"), { dims: { B, N } });
    expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
  });

  it("a bare : keeps its axis", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "whole", { x: { data: x, shape: [B, N] } });
      expectClose(r.outputs[0]!, x.map((v) => 2 * v), tolerance(b), `${b} whole`);
    }
  });
});

const CONCATS = `
fn join(a: f32[B, N], b: f32[B, M]) -> f32[B, N + M] { return concat(a, b, axis = 1) * concat(a, b, axis = -1) }
fn stack_rows(a: f32[B, N], b: f32[2, N]) -> f32[B + 2, N] { return concat(a, b) }
/// A residual block's shape trick: keep the first K channels, append the transformed rest.
fn residual(x: f32[B, 6]) -> f32[B, 6] { return concat(slice(x, 1, 0, 2), tanh(slice(x, 1, 2)), axis = 1) + x }
`;

describe("concat", () => {
  const [B, N, M] = [3, 2, 4];
  const a = randomData(B * N, 3);
  const b = randomData(B * M, 4);

  it("joins along the last axis; each input's gradient is its part of the cotangent", async () => {
    const joined: number[] = [];
    for (let r = 0; r < B; r++) joined.push(...a.slice(r * N, r * N + N), ...b.slice(r * M, r * M + M));
    const ct = randomData(B * (N + M), 5);
    const ga: number[] = [];
    const gb: number[] = [];
    for (let r = 0; r < B; r++) {
      for (let c = 0; c < N + M; c++) {
        const g = 2 * joined[r * (N + M) + c]! * ct[r * (N + M) + c]!;
        (c < N ? ga : gb).push(g);
      }
    }
    const results: Record<string, { outputs: number[][]; grads: Record<string, number[]> }> = {};
    for (const be of BACKENDS) {
      const r = await run(be, CONCATS, "join", { a: { data: a, shape: [B, N] }, b: { data: b, shape: [B, M] } }, { ct: [ct] });
      expectClose(r.outputs[0]!, joined.map((v) => v * v), tolerance(be), `${be} join`);
      expectClose(r.grads["a"]!, ga, tolerance(be), `${be} grad a`);
      expectClose(r.grads["b"]!, gb, tolerance(be), `${be} grad b`);
      results[be] = r;
    }
    expect(results["webgpu"]!.outputs[0]).toEqual(results["cpu"]!.outputs[0]);
  });

  it("stacks rows along axis 0 (B + 2)", async () => {
    const extra = randomData(2 * N, 6);
    for (const be of BACKENDS) {
      const r = await run(be, CONCATS, "stack_rows", { a: { data: a, shape: [B, N] }, b: { data: extra, shape: [2, N] } });
      expectClose(r.outputs[0]!, [...a, ...extra], tolerance(be), `${be} stack`);
    }
  });

  it("builds a residual-style block from slices and a concat", async () => {
    const x = randomData(B * 6, 7);
    const want = x.map((v, i) => (i % 6 < 2 ? v : Math.tanh(v)) + v);
    const ct = randomData(B * 6, 8);
    const grad = x.map((v, i) => ct[i]! * ((i % 6 < 2 ? 1 : 1 - Math.tanh(v) ** 2) + 1));
    for (const be of BACKENDS) {
      const r = await run(be, CONCATS, "residual", { x: { data: x, shape: [B, 6] } }, { ct: [ct] });
      expectClose(r.outputs[0]!, want, tolerance(be), `${be} residual`);
      expectClose(r.grads["x"]!, grad, tolerance(be), `${be} residual grad`);
    }
  });

  it("passes f64 central-difference gradchecks", () => {
    for (const [name, dims] of [["join", { B: 3, N: 2, M: 4 }], ["stack_rows", { B: 3, N: 2 }], ["residual", { B: 2 }]] as const) {
      const { analytic, numeric } = gradcheck(compileFn(CONCATS, name), { dims });
      expect(Math.abs(analytic - numeric), name).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });
});
