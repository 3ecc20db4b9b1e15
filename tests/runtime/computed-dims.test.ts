/**
 * Computed dims end to end (compiler/dims.ts, runtime/dims.ts): `reshape(x, [B, C * H * W])`,
 * a grouped loss over `reshape(x, [P * N, T])`, a reshape's `-1`, an input typed `f32[2 * N]`
 * whose N the runtime solves, and a callee's symbol bound to a caller's computed dim. Each runs
 * on the f64 interpreter, the generated cpu module and WebGPU against values written out in
 * plain loops here, and its gradient is checked by central differences in f64.
 */
import { describe, expect, it } from "vitest";
import { EstcRuntimeError, tensor } from "estc/runtime";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { buildModule } from "../helpers/build.js";
import { compileFn } from "../helpers/compile.js";
import { gradcheck } from "../helpers/gradcheck.js";
import { expectClose } from "../helpers/expect.js";
import { randomData } from "../helpers/random.js";

const FLATTEN = `
fn flat(x: f32[B, C, H, W], w: f32[C * H * W, O]) -> f32[B, O] {
  return tanh(reshape(x, [B, W * H * C]) @ w)
}`;

const GROUPED = `
fn grouped(x: f32[P, N, T], labels: i32[P * N]) -> f32 {
  let y = reshape(x, [P * N, T])
  return -mean(sum(one_hot(labels, T) * log_softmax(y), axis = 1))
}`;

const INFER = `
fn infer(x: f32[P, N, T]) -> f32[P * N, T] { return reshape(x, [-1, T]) * 2 }`;

const PAIRS = `
fn pairs(x: f32[2 * N]) -> f32[N] {
  let p = reshape(x, [N, 2])
  return sum(p * p, axis = 1) / N
}`;

const CALLER = `
fn caller(y: f32[M, 4]) -> f32 {
  let h = halves2(reshape(y, [M * 4]))
  return sum(h * h)
}
fn halves2(x: f32[2 * N]) -> f32[N] { return sum(reshape(x, [N, 2]), axis = 1) / N }`;

/** Runs on every back end; returns each one's outputs and grads. */
async function everywhere(src: string, name: string, inputs: Parameters<typeof run>[3], ct: number[][]) {
  const out: Partial<Record<Backend, Awaited<ReturnType<typeof run>>>> = {};
  for (const b of BACKENDS) out[b] = await run(b, src, name, inputs, { ct });
  return out as Record<Backend, Awaited<ReturnType<typeof run>>>;
}

describe("reshape with computed dims", () => {
  it("flattens [B, C, H, W] to [B, C*H*W] and multiplies: every back end against plain loops", async () => {
    const [B, C, H, W, O] = [2, 3, 2, 2, 4];
    const x = randomData(B * C * H * W, 1);
    const w = randomData(C * H * W * O, 2);
    const ct = randomData(B * O, 3);
    const want: number[] = [];
    const gx = new Array<number>(x.length).fill(0);
    const gw = new Array<number>(w.length).fill(0);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let k = 0; k < C * H * W; k++) s += x[b * C * H * W + k]! * w[k * O + o]!;
        const y = Math.tanh(s);
        want.push(y);
        const d = ct[b * O + o]! * (1 - y * y);
        for (let k = 0; k < C * H * W; k++) {
          gx[b * C * H * W + k]! += d * w[k * O + o]!;
          gw[k * O + o]! += d * x[b * C * H * W + k]!;
        }
      }
    }
    const r = await everywhere(FLATTEN, "flat", { x: { data: x, shape: [B, C, H, W] }, w: { data: w, shape: [C * H * W, O] } }, [ct]);
    for (const b of BACKENDS) {
      expectClose(r[b].outputs[0]!, want, tolerance(b) * 10, `${b} forward`);
      expectClose(r[b].grads["x"]!, gx, tolerance(b) * 10, `${b} grad x`);
      expectClose(r[b].grads["w"]!, gw, tolerance(b) * 10, `${b} grad w`);
    }
    // The webgpu result is the cpu's (both f32) to 1e-5.
    expectClose(r.webgpu.outputs[0]!, r.cpu.outputs[0]!, 1e-5, "webgpu vs cpu");
  });

  it("computes a grouped cross-entropy over reshape(x, [P * N, T])", async () => {
    const [P, N, T] = [3, 2, 5];
    const x = randomData(P * N * T, 4);
    const labels = [0, 4, 2, 2, 1, 3];
    let loss = 0;
    for (let row = 0; row < P * N; row++) {
      const logits = x.slice(row * T, row * T + T);
      const m = Math.max(...logits);
      const lse = m + Math.log(logits.reduce((a, v) => a + Math.exp(v - m), 0));
      loss -= logits[labels[row]!]! - lse;
    }
    loss /= P * N;
    const r = await everywhere(GROUPED, "grouped", { x: { data: x, shape: [P, N, T] }, labels: { data: labels, shape: [P * N], dtype: "i32" } }, [[1]]);
    for (const b of BACKENDS) expectClose(r[b].outputs[0]!, [loss], tolerance(b) * 10, `${b} loss`);
    // d loss / d x = (softmax(row) - one_hot(label)) / (P N).
    for (const b of BACKENDS) {
      const g = r[b].grads["x"]!;
      for (let row = 0; row < P * N; row++) {
        const logits = x.slice(row * T, row * T + T);
        const z = logits.reduce((a, v) => a + Math.exp(v), 0);
        for (let t = 0; t < T; t++) {
          const want = (Math.exp(logits[t]!) / z - (t === labels[row] ? 1 : 0)) / (P * N);
          expect(Math.abs(g[row * T + t]! - want), `${b} grad x[${row}, ${t}]`).toBeLessThanOrEqual(1e-5);
        }
      }
    }
  });

  it("infers a -1 from the element count", async () => {
    const x = randomData(3 * 2 * 4, 5);
    const r = await everywhere(INFER, "infer", { x: { data: x, shape: [3, 2, 4] } }, [randomData(24, 6)]);
    for (const b of BACKENDS) expectClose(r[b].outputs[0]!, x.map((v) => 2 * v), tolerance(b), `${b} forward`);
    const { mod } = await buildModule(INFER);
    const y = await mod["infer"].forward({ x: tensor(Float32Array.from(x), [3, 2, 4]) });
    expect(y.shape).toEqual([6, 4]);
  });

  it("binds N from an input typed f32[2 * N] and rejects an odd size (E6007)", async () => {
    const x = randomData(8, 7);
    const want = [0, 1, 2, 3].map((i) => (x[2 * i]! ** 2 + x[2 * i + 1]! ** 2) / 4);
    const r = await everywhere(PAIRS, "pairs", { x: { data: x, shape: [8] } }, [[1, -1, 0.5, 2]]);
    for (const b of BACKENDS) {
      expectClose(r[b].outputs[0]!, want, tolerance(b), `${b} forward`);
      const ct = [1, -1, 0.5, 2];
      expectClose(r[b].grads["x"]!, x.map((v, i) => (ct[i >> 1]! * 2 * v) / 4), tolerance(b), `${b} grad`);
    }
    const { mod } = await buildModule(PAIRS);
    const odd = mod["pairs"].forward({ x: tensor(new Float32Array(7), [7]) });
    await expect(odd).rejects.toThrow(EstcRuntimeError);
    await expect(odd).rejects.toMatchObject({ code: "E6007", message: expect.stringContaining("dim 0 is 7, which is 2*N for no whole N") });
  });

  it("binds a callee's N to the caller's computed dim (2*N = 4*M) and reads N as a value", async () => {
    const y = randomData(3 * 4, 8);
    // halves2: sums of pairs divided by N = 2M = 6.
    const h = [0, 1, 2, 3, 4, 5].map((i) => (y[2 * i]! + y[2 * i + 1]!) / 6);
    const want = h.reduce((a, v) => a + v * v, 0);
    const r = await everywhere(CALLER, "caller", { y: { data: y, shape: [3, 4] } }, [[1]]);
    for (const b of BACKENDS) {
      expectClose(r[b].outputs[0]!, [want], tolerance(b), `${b} forward`);
      expectClose(r[b].grads["y"]!, y.map((_, i) => (2 * h[i >> 1]!) / 6), tolerance(b), `${b} grad`);
    }
  });

  it("binds N in a rank-generic fn's f32[..., 2 * N] and reads it as a value", async () => {
    const src = `
fn scale(x: f32[..., 2 * N], w: f32[2 * N]) -> f32[..., 2 * N] { return x * w + sum(w) / N }
fn use(a: f32[3, 8], w: f32[8]) -> f32[3, 8] { return scale(a, w) }`;
    const a = randomData(24, 9);
    const w = randomData(8, 10);
    const sw = w.reduce((p, v) => p + v, 0);
    const want = a.map((v, i) => v * w[i % 8]! + sw / 4);
    for (const b of BACKENDS) {
      const r = await run(b, src, "use", { a: { data: a, shape: [3, 8] }, w: { data: w, shape: [8] } });
      expectClose(r.outputs[0]!, want, tolerance(b) * 10, `${b} forward`);
    }
  });

  it("rejects a computed dim that is negative at call time (E6002), naming it and the sizes", async () => {
    const src = "fn cols(x: f32[K], labels: i32[B]) -> f32[B, K - 4] { return one_hot(labels, K - 4) }";
    const { mod } = await buildModule(src);
    const labels = tensor(Int32Array.of(0, 1), [2]);
    const ok = await mod["cols"].forward({ x: tensor(new Float32Array(6), [6]), labels });
    expect(ok.shape).toEqual([2, 2]);
    expect(Array.from(await ok.data())).toEqual([1, 0, 0, 1]);
    const bad = mod["cols"].forward({ x: tensor(new Float32Array(2), [2]), labels });
    await expect(bad).rejects.toMatchObject({ code: "E6002", message: expect.stringContaining("the dim K-4 is -2 for K = 2, and a dim cannot be negative") });
  });

  it("passes an f64 central-difference gradcheck", () => {
    const cases: [string, string, Record<string, number>][] = [
      [FLATTEN, "flat", { B: 2, C: 3, H: 2, W: 2, O: 3 }],
      [INFER, "infer", { P: 2, N: 3, T: 2 }],
      [PAIRS, "pairs", { N: 3 }],
    ];
    for (const [src, name, dims] of cases) {
      const { analytic, numeric } = gradcheck(compileFn(src, name), { dims });
      expect(Math.abs(analytic - numeric), name).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });
});
