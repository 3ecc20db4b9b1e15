/**
 * The generated Wasm SIMD reduction kernels (compiler/codegen/wasm/reduce.ts) against the
 * TypeScript kernels of the same module and an f64 reference computed here from the same f32
 * inputs: every axis pattern of a rank-3 input (inner, outer and middle reductions, several axes,
 * all axes) at sizes with size-1 dims and 1–3 element tails, symbolic and literal dims,
 * broadcast prologue operands (batch norm's [B, C, H, W] → [C]), max/min with NaN, ±Inf and
 * signed zeros, forward and backward, and the sum's error against f64 over sizes up to 2^22.
 */
import { describe, expect, it } from "vitest";
import { cpu, tensor, type Tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { ulps } from "../helpers/expect.js";

const wasm = cpu({ kernels: "wasm" });
const ts = cpu({ kernels: "ts" });
const U = 2 ** -24;

/** Deterministic data in [lo, hi) (f32). */
function data(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const a = new Float32Array(n);
  let s = seed | 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    a[i] = lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  }
  return a;
}


type Inputs = Record<string, { data: Float32Array; shape: number[] }>;
const args = (ins: Inputs) => Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tensor(v.data, v.shape)]));

async function forward(f: any, ins: Inputs, device: typeof wasm): Promise<Float32Array> {
  return (await ((await f.forward(args(ins), { device })) as Tensor).data()) as Float32Array;
}

/** How many kernel steps of `f`'s forward plan run a Wasm reduction. */
const wasmReductions = (f: any) => (f.spec.forward.steps as { op: string; kernel?: number }[]).filter((s) => s.op === "kernel" && f.spec.wasm?.kernels[s.kernel!]?.reduce !== undefined).length;

/** The f64 reduction of `x` (shape `shape`) over `axes`, kept axes in order; `map` is the prologue. */
function reference(x: Float32Array, shape: number[], axes: number[], op: "sum" | "max" | "min", map: (v: number, i: number) => number = (v) => v): Float64Array {
  const kept = shape.map((_, a) => a).filter((a) => !axes.includes(a));
  const outSize = kept.reduce((p, a) => p * shape[a]!, 1);
  const out = new Float64Array(outSize).fill(op === "sum" ? 0 : op === "max" ? -Infinity : Infinity);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (const a of kept) o = o * shape[a]! + idx[a]!;
    const v = map(x[i]!, i);
    out[o] = op === "sum" ? out[o]! + v : op === "max" ? Math.max(out[o]!, v) : Math.min(out[o]!, v);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

const AXES: (number[] | "all")[] = [[0], [1], [2], [0, 1], [0, 2], [1, 2], "all"];
const SHAPES = [[3, 5, 7], [1, 9, 1], [2, 1, 13], [4, 3, 8], [5, 6, 1], [1, 1, 1], [2, 17, 3], [7, 2, 35]];

describe("Wasm reduction kernels", () => {
  for (const op of ["sum", "max", "min"] as const) {
    it(`${op} over every axis pattern of f32[A, B, C] (symbolic dims) matches the TS kernel and f64`, async () => {
      const src = AXES.map((ax, i) => `fn r${i}(x: f32[A, B, C]) { return ${op}(x${ax === "all" ? "" : `, axis = [${ax.join(", ")}]`}) }`).join("\n");
      const { mod } = await buildModule(src);
      for (let i = 0; i < AXES.length; i++) {
        const f = mod[`r${i}`];
        expect(wasmReductions(f)).toBe(1);
        for (const shape of SHAPES) {
          const n = shape.reduce((p, d) => p * d, 1);
          const x = data(n, n + i);
          const w = await forward(f, { x: { data: x, shape } }, wasm);
          const t = await forward(f, { x: { data: x, shape } }, ts);
          const ref = reference(x, shape, AXES[i] === "all" ? [0, 1, 2] : (AXES[i] as number[]), op);
          expect(w.length).toBe(ref.length);
          for (let o = 0; o < ref.length; o++) {
            // max/min: exact and order-free, so bit for bit; a sum is the f64 sum rounded once, at most 1 ulp from the TS loop's.
            if (op === "sum") {
              expect(ulps(w[o]!, t[o]!), `${shape} axes ${AXES[i]} out ${o}`).toBeLessThanOrEqual(1);
              expect(Math.abs(w[o]! - ref[o]!)).toBeLessThanOrEqual(U * Math.abs(ref[o]!) * 1.0001 + 1e-30);
            } else {
              expect(Object.is(w[o], t[o]), `${shape} axes ${AXES[i]} out ${o}`).toBe(true);
              expect(w[o]).toBe(Math.fround(ref[o]!));
            }
          }
        }
      }
    });
  }

  it("literal dims of size 1 drop out and a prologue with broadcast operands fuses (batch norm's per-channel sums over [B, C, H, W])", async () => {
    const src = `fn bn(x: f32[B, C, H, W], m: f32[C, 1, 1], s: f32[C, 1, 1]) -> f32[C] {
  return sum(exp((x - m) * s), axis = [0, 2, 3])
}
fn lit(x: f32[3, 1, 5, 1, 7]) -> f32[5] { return sum(x * x, axis = [0, 1, 3, 4]) }`;
    const { mod } = await buildModule(src);
    expect(wasmReductions(mod["bn"])).toBe(1);
    expect(wasmReductions(mod["lit"])).toBe(1);
    for (const shape of [[2, 3, 5, 5], [1, 4, 1, 9], [3, 1, 2, 2], [4, 5, 3, 1]]) {
      const [B, C, H, W] = shape as [number, number, number, number];
      const x = data(B * C * H * W, 7 + C, -1, 1);
      const m = data(C, 3, -0.5, 0.5);
      const s = data(C, 5, 0.5, 1.5);
      const ins = { x: { data: x, shape }, m: { data: m, shape: [C, 1, 1] }, s: { data: s, shape: [C, 1, 1] } };
      const w = await forward(mod["bn"], ins, wasm);
      const t = await forward(mod["bn"], ins, ts);
      const c = (i: number) => Math.floor(i / (H * W)) % C;
      const ref = reference(x, shape, [0, 2, 3], "sum", (v, i) => Math.exp((Math.fround(v - m[c(i)]!)) * s[c(i)]!));
      for (let o = 0; o < C; o++) {
        // exp is within 1 ulp per term (docs/language.md §10); terms are positive, so the sum is too.
        expect(Math.abs(w[o]! - ref[o]!) / ref[o]!, `${shape} channel ${o}`).toBeLessThan(4 * U);
        expect(Math.abs(w[o]! - t[o]!) / t[o]!).toBeLessThan(4 * U);
      }
    }
    const x = data(105, 11);
    const w = await forward(mod["lit"], { x: { data: x, shape: [3, 1, 5, 1, 7] } }, wasm);
    const ref = reference(x, [3, 5, 7], [0, 2], "sum", (v) => Math.fround(v * v));
    for (let o = 0; o < 5; o++) expect(Math.abs(w[o]! - ref[o]!)).toBeLessThanOrEqual(U * ref[o]! * 1.0001);
  });

  it("outer reductions with a broadcast operand ([B, N] → [N], the bias gradient's shape) at every tail of N", async () => {
    const { mod } = await buildModule("fn col(x: f32[B, N], w: f32[N]) -> f32[N] { return sum(x * w + 1.0, axis = 0) }");
    expect(wasmReductions(mod["col"])).toBe(1);
    for (const [B, N] of [[1, 1], [2, 3], [7, 4], [64, 5], [3, 17], [33, 2], [5, 1], [9, 31]] as [number, number][]) {
      const x = data(B * N, B * 31 + N);
      const wv = data(N, N);
      const ins = { x: { data: x, shape: [B, N] }, w: { data: wv, shape: [N] } };
      const got = await forward(mod["col"], ins, wasm);
      const t = await forward(mod["col"], ins, ts);
      const ref = reference(x, [B, N], [0], "sum", (v, i) => Math.fround(Math.fround(v * wv[i % N]!) + 1));
      for (let o = 0; o < N; o++) {
        expect(ulps(got[o]!, t[o]!), `[${B}, ${N}] out ${o}`).toBeLessThanOrEqual(1);
        expect(Math.abs(got[o]! - ref[o]!)).toBeLessThanOrEqual(U * Math.abs(ref[o]!) * 1.0001 + 1e-30);
      }
    }
  });

  it("max and min: NaN propagates wherever it is (first, middle, tail lane), -Inf rows stay -Inf, +0/-0 ties as Math.max/min", async () => {
    const src = `fn mx(x: f32[R, K]) -> f32[R] { return max(x, axis = 1) }
fn mn(x: f32[R, K]) -> f32[R] { return min(x, axis = 1) }
fn mxo(x: f32[R, K]) -> f32[K] { return max(x, axis = 0) }
fn mno(x: f32[R, K]) -> f32[K] { return min(x, axis = 0) }
fn sm(x: f32[R, K]) -> f32[R] { return sum(x, axis = 1) }`;
    const { mod } = await buildModule(src);
    for (const K of [1, 3, 4, 5, 8, 13, 16, 19]) {
      const R = 6;
      const x = data(R * K, K);
      // row 0: NaN first; row 1: NaN last (a tail lane when K % 4 != 0); row 2: all -Inf;
      // row 3: +0 and -0 only; row 4: -0 only, with +Inf; row 5: NaN in the middle with ±Inf.
      x[0] = NaN;
      x[2 * K - 1] = NaN;
      for (let j = 0; j < K; j++) x[2 * K + j] = -Infinity;
      for (let j = 0; j < K; j++) x[3 * K + j] = j % 2 === 0 ? -0 : 0;
      for (let j = 0; j < K; j++) x[4 * K + j] = -0;
      x[4 * K + K - 1] = Infinity;
      x[5 * K] = Infinity;
      x[6 * K - 1] = -Infinity;
      x[5 * K + (K >> 1)] = NaN;
      const ins = { x: { data: x, shape: [R, K] } };
      for (const name of ["mx", "mn", "mxo", "mno", "sm"]) {
        expect(wasmReductions(mod[name])).toBe(1);
        const w = await forward(mod[name], ins, wasm);
        const t = await forward(mod[name], ins, ts);
        expect(w.length).toBe(t.length);
        for (let o = 0; o < w.length; o++) expect(Object.is(w[o], t[o]) || (Number.isNaN(w[o]!) && Number.isNaN(t[o]!)), `${name} K=${K} out ${o}: ${w[o]} vs ${t[o]}`).toBe(true);
        if (name === "mx" || name === "mn" || name === "sm") {
          expect(w[0]).toBeNaN();
          expect(w[1]).toBeNaN();
          expect(w[5]).toBeNaN();
        }
        if (name === "mx") {
          expect(w[2]).toBe(-Infinity);
          expect(Object.is(w[3], K > 1 ? 0 : -0)).toBe(true);
          expect(w[4]).toBe(Infinity);
        }
        if (name === "mn") expect(Object.is(w[3], -0)).toBe(true);
        if (name === "mxo" || name === "mno") expect(w[0]).toBeNaN(); // column 0 holds row 0's NaN
      }
    }
  });

  it("backward: softmax and a batch-norm-like loss give the TS kernels' gradients on the Wasm kernels", async () => {
    const src = `fn sm(x: f32[B, K], y: f32[B, K]) -> f32 { return sum(softmax(x, axis = -1) * y) }
fn bnl(x: f32[B, C, H, W], g: f32[C, 1, 1]) -> f32 {
  let mu = mean(x, axis = [0, 2, 3], keepdims = true)
  let d = x - mu
  let v = mean(d * d, axis = [0, 2, 3], keepdims = true)
  return sum(tanh(d / sqrt(v + 0.00001) * g))
}`;
    const { mod } = await buildModule(src);
    expect(wasmReductions(mod["sm"])).toBeGreaterThan(0);
    expect(wasmReductions(mod["bnl"])).toBeGreaterThan(0);
    const cases: [string, Inputs][] = [
      ["sm", { x: { data: data(7 * 10, 1, -3, 3), shape: [7, 10] }, y: { data: data(70, 2), shape: [7, 10] } }],
      ["bnl", { x: { data: data(3 * 4 * 5 * 3, 3), shape: [3, 4, 5, 3] }, g: { data: data(4, 4, 0.5, 2), shape: [4, 1, 1] } }],
    ];
    for (const [name, ins] of cases) {
      const f = mod[name];
      const grads = async (device: typeof wasm) => {
        const r = await f.valueAndGrad(args(ins), { device });
        const out: Record<string, Float32Array> = { value: (await (r.value as Tensor).data()) as Float32Array };
        for (const [k, g] of Object.entries(r.grads as Record<string, Tensor>)) out[k] = (await g.data()) as Float32Array;
        return out;
      };
      const w = await grads(wasm);
      const t = await grads(ts);
      for (const k of Object.keys(t)) {
        const scale = Math.max(...Array.from(t[k]!, Math.abs), 1e-3);
        for (let i = 0; i < t[k]!.length; i++) expect(Math.abs(w[k]![i]! - t[k]![i]!) / scale, `${name}.${k}[${i}]`).toBeLessThan(1e-5);
      }
    }
  });

  it("sums over sizes up to 2^22 (ragged tails) are within half an ulp of the f64 sum, as the TS loop's; a sequential f32 sum is not", async () => {
    const { mod } = await buildModule("fn total(x: f32[N]) -> f32 { return sum(x) }\nfn rows(x: f32[R, N]) -> f32[R] { return sum(x, axis = 1) }");
    expect(wasmReductions(mod["total"])).toBe(1);
    const worst = { wasm: 0, ts: 0, f32: 0 };
    for (const n of [1, 2, 3, 5, 15, 17, 1023, 4097, 65539, 2 ** 20 + 1, 2 ** 22 + 3]) {
      for (const [lo, hi] of [[0, 1], [-1, 3]]) {
        const x = data(n, n + lo, lo, hi);
        let exact = 0;
        let abs = 0;
        let naive = 0;
        for (let i = 0; i < n; i++) {
          exact += x[i]!;
          abs += Math.abs(x[i]!);
          naive = Math.fround(naive + x[i]!);
        }
        const w = (await forward(mod["total"], { x: { data: x, shape: [n] } }, wasm))[0]!;
        const t = (await forward(mod["total"], { x: { data: x, shape: [n] } }, ts))[0]!;
        // Error relative to Σ|x| (the sum's condition): a rounded f64 sum is within u·|Σx| + n·2^-53·Σ|x|.
        const rel = (v: number) => Math.abs(v - exact) / abs;
        worst.wasm = Math.max(worst.wasm, rel(w));
        worst.ts = Math.max(worst.ts, rel(t));
        worst.f32 = Math.max(worst.f32, rel(naive));
        expect(rel(w), `n = ${n}`).toBeLessThanOrEqual(U * (Math.abs(exact) / abs) + n * 2 ** -53);
      }
    }
    expect(worst.wasm).toBeLessThanOrEqual(worst.ts * 1.01 + 1e-12);
    expect(worst.f32).toBeGreaterThan(100 * worst.wasm); // the test can tell an f32 accumulator
    // Many rows of odd lengths: every row is its own f64 sum.
    const x = data(37 * 1001, 9, 0, 1);
    const w = await forward(mod["rows"], { x: { data: x, shape: [37, 1001] } }, wasm);
    const ref = reference(x, [37, 1001], [1], "sum");
    for (let o = 0; o < 37; o++) expect(Math.abs(w[o]! - ref[o]!)).toBeLessThanOrEqual(U * ref[o]! * 1.0001);
  }, 120_000);

  it("one_hot in a prologue (i32 labels, iota, i32 comparison) compiles: cross-entropy rows, class counts over the batch, two merged reduced axes", async () => {
    const src = `fn ce(x: f32[B, K], labels: i32[B]) -> f32[B] { return -sum(one_hot(labels, K) * log_softmax(x, axis = -1), axis = -1) }
fn counts(labels: i32[B], w: f32[I]) -> f32[I] { return sum(one_hot(labels, I), axis = 0) * w }
fn pick(x: f32[B, T, K], labels: i32[B, T]) -> f32[K] { return sum(x * one_hot(labels, K), axis = [0, 1]) }`;
    const { mod } = await buildModule(src);
    for (const name of ["ce", "counts", "pick"]) expect(wasmReductions(mod[name]), name).toBeGreaterThan(0);
    for (const [B, K] of [[1, 1], [3, 5], [7, 10], [4, 4], [9, 17]] as [number, number][]) {
      const x = data(B * K, K + B);
      const labels = Int32Array.from({ length: B }, (_, i) => (i * 7 + 3) % K);
      const ins = { x: tensor(x, [B, K]), labels: tensor(labels, [B], "i32") };
      const w = (await (await mod["ce"].forward(ins, { device: wasm })).data()) as Float32Array;
      const t = (await (await mod["ce"].forward(ins, { device: ts })).data()) as Float32Array;
      for (let r = 0; r < B; r++) {
        const row = Array.from(x.subarray(r * K, r * K + K));
        const m = Math.max(...row);
        const want = Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) + m - row[labels[r]!]!;
        expect(Math.abs(w[r]! - want), `ce [${B}, ${K}] row ${r}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
        expect(Math.abs(w[r]! - t[r]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(t[r]!)));
      }
      // Class counts: iota runs along the kept vector axis (4 classes per vector, a 1–3 class tail).
      const c = (await (await mod["counts"].forward({ labels: tensor(labels, [B], "i32"), w: tensor(new Float32Array(K).fill(1), [K]) }, { device: wasm })).data()) as Float32Array;
      expect(Array.from(c)).toEqual(Array.from({ length: K }, (_, k) => labels.filter((l) => l === k).length));
    }
    // Batch and time merged into one reduced group, iota along the kept class axis.
    const [B, T, K] = [3, 5, 6];
    const x = data(B * T * K, 3);
    const labels = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % K);
    const got = (await (await mod["pick"].forward({ x: tensor(x, [B, T, K]), labels: tensor(labels, [B, T], "i32") }, { device: wasm })).data()) as Float32Array;
    const want = new Float64Array(K);
    labels.forEach((l, i) => (want[l] += x[i * K + l]!));
    for (let k = 0; k < K; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(U * Math.abs(want[k]!) * 1.0001);
  });

  it("argmax/argmin: the first index of the extreme (ties), NaN never wins, an all −Inf or all-NaN slice gives 0 — as the TS loop, inner and outer", async () => {
    const src = `fn amx(x: f32[R, K]) -> i32[R] { return argmax(x, axis = 1) }
fn amn(x: f32[R, K]) -> i32[R] { return argmin(x, axis = -1) }
fn amxo(x: f32[R, K]) -> i32[K] { return argmax(x, axis = 0) }
fn amno(x: f32[R, K]) -> i32[K] { return argmin(x, axis = 0) }
fn all(x: f32[R, K]) -> i32 { return argmax(exp(x) * 2.0) }`;
    const { mod } = await buildModule(src);
    for (const K of [1, 2, 3, 4, 5, 8, 13, 19]) {
      const R = 7;
      const x = data(R * K, K + 3);
      // row 0: ties of the maximum (2.5) and minimum (-2.5) at several places; row 1: NaN first;
      // row 2: all -Inf; row 3: all NaN; row 4: -0 and +0 only; row 5: +Inf last, -Inf first; row 6: random.
      for (let j = 0; j < K; j++) x[j] = j % 3 === 1 ? 2.5 : j % 3 === 2 ? -2.5 : 0.5;
      x[K] = NaN;
      for (let j = 0; j < K; j++) x[2 * K + j] = -Infinity;
      for (let j = 0; j < K; j++) x[3 * K + j] = NaN;
      for (let j = 0; j < K; j++) x[4 * K + j] = j % 2 === 0 ? -0 : 0;
      x[5 * K] = -Infinity;
      x[6 * K - 1] = Infinity;
      const ins = { x: { data: x, shape: [R, K] } };
      for (const name of ["amx", "amn", "amxo", "amno", "all"]) {
        expect(wasmReductions(mod[name]), name).toBe(1);
        const run = async (device: typeof wasm) => Array.from((await ((await mod[name].forward(args(ins), { device })) as Tensor).data()) as Int32Array);
        const w = await run(wasm);
        expect(w, `${name} K=${K}`).toEqual(await run(ts));
        if (name === "amx" || name === "amn") {
          const first = (row: number, better: (a: number, b: number) => boolean) => {
            let best = name === "amx" ? -Infinity : Infinity;
            let at = 0;
            for (let j = 0; j < K; j++) if (better(x[row * K + j]!, best)) [best, at] = [x[row * K + j]!, j];
            return at;
          };
          const want = Array.from({ length: R }, (_, r) => first(r, name === "amx" ? (a, b) => a > b : (a, b) => a < b));
          expect(w).toEqual(want);
          expect(w[2]).toBe(name === "amx" ? 0 : 0);
          expect(w[3]).toBe(0);
        }
      }
    }
  });

  it("falls back to the TS kernel, per kernel, for an argmax over two unmerged groups and random prologues, with the same results", async () => {
    // w spans K but not B, so B and K stay two reduced groups: an argmax's flat index needs one.
    const src = `fn am(x: f32[B, K], w: f32[K]) -> i32 { return argmax(x * w) }
fn both(x: f32[B, K]) -> f32[B] { return sum(x, axis = 1) + max(x, axis = 1) }
fn noisy(x: f32[B, K]) -> f32[B] { return sum(x * uniform([B, K]), axis = 1) }`;
    const { mod } = await buildModule(src);
    expect(wasmReductions(mod["am"])).toBe(0);
    expect(wasmReductions(mod["both"])).toBe(2);
    // A draw is keyed by the index of a fused loop: in a reduction's prologue it stays TS.
    expect(wasmReductions(mod["noisy"])).toBe(0);
    const xs = { x: { data: data(4 * 6, 2), shape: [4, 6] } };
    const drawn = async (device: typeof wasm) => (await ((await mod["noisy"].forward(args(xs), { device, seed: 5 })) as Tensor).data()) as Float32Array;
    expect(Array.from(await drawn(wasm))).toEqual(Array.from(await drawn(ts)));
    const x = data(5 * 9, 4);
    const wv = data(9, 8);
    const ins = { x: { data: x, shape: [5, 9] }, w: { data: wv, shape: [9] } };
    const got = Array.from((await (await mod["am"].forward(args(ins), { device: wasm })).data()) as Int32Array);
    const prod = Array.from(x, (v, i) => Math.fround(v * wv[i % 9]!));
    expect(got).toEqual([prod.reduce((b, v, j, a) => (v > a[b]! ? j : b), 0)]);
  });
});
