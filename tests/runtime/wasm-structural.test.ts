/**
 * The Wasm forms of the plan's structural steps (runtime/wasm/structural.ts): the N:M mask,
 * gather, gather's gradient and transpose against the TS routines of runtime/kernels.ts, bit for bit, on
 * arrays inside and outside the kernel arena, with ties, ±0, NaN and repeated indices; where they
 * decline (a group size not a multiple of 4, an index out of range) the TS routine runs and its
 * errors (E6008, E6016) reach the caller of a `cpu({ kernels: "wasm" })` fn unchanged; and whole
 * programs (std/sparse's SR-STE, gather forward and backward) on the Wasm and TS devices.
 */
import { describe, expect, it } from "vitest";
import { cpu, tensor, type Tensor } from "estc/runtime";
import { gather, gatherGrad, nmMask, transpose } from "../../runtime/kernels.js";
import { kernelArena } from "../../runtime/wasm/arena.js";
import { transposeAs2d, wasmGather, wasmGatherGrad, wasmNmMask, wasmTranspose } from "../../runtime/wasm/structural.js";
import { buildModule } from "../helpers/build.js";

const wasm = cpu({ kernels: "wasm" });
const ts = cpu({ kernels: "ts" });

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A Float32Array of `n` elements, in the kernel arena (read in place) or in the JS heap. */
function f32(n: number, inArena: boolean): Float32Array {
  if (!inArena) return new Float32Array(n);
  const arena = kernelArena();
  const ptr = arena.alloc(4 * n + 16)!;
  const a = new Float32Array(arena.buffer(), ptr, n);
  a.fill(0);
  return a;
}

const bitsEqual = (a: ArrayBufferView & { length: number }, b: ArrayBufferView & { length: number }) =>
  Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

describe("N:M mask on Wasm", () => {
  const cases: [number, number, number][] = [[4, 2, 3], [4, 1, 5], [4, 0, 2], [4, 4, 2], [4, 5, 1], [8, 3, 4], [8, 4, 2], [16, 4, 3], [32, 9, 1]];
  for (const inArena of [false, true]) {
    it(`matches runtime/kernels.ts bit for bit (groups of 4, 8, 16, 32; n from 0 to m + 1; ties, ±0, NaN)${inArena ? ", read in place from the arena" : ""}`, () => {
      const r = lcg(11);
      for (const [m, n, rows] of cases) {
        const cols = 2 * m;
        const w = f32(rows * cols, inArena);
        // Halves in [-4, 4]: plenty of equal magnitudes, so the lower-index tie rule is exercised.
        for (let i = 0; i < w.length; i++) w[i] = Math.round((r() - 0.5) * 16) / 2;
        w.set([NaN, -0, 0, -1], 0);
        const want = new Float32Array(w.length);
        nmMask(w, [rows, cols], n, m, want);
        const got = f32(w.length, inArena);
        expect(wasmNmMask(w, [rows, cols], n, m, got), `${n}:${m}`).toBe(true);
        expect(bitsEqual(got, want), `${n}:${m} rows ${rows}`).toBe(true);
        // Each group keeps min(n, m) (the TS routine's own invariant, checked independently).
        for (let g = 0; g < w.length; g += m) expect(got.subarray(g, g + m).reduce((s, v) => s + v, 0)).toBe(Math.max(0, Math.min(n, m)));
      }
    });
  }

  it("declines what it does not run (a group size not a multiple of 4, a last axis not a multiple of m), so the TS routine runs", () => {
    const w = new Float32Array(12);
    const out = new Float32Array(12);
    expect(wasmNmMask(w, [2, 6], 1, 3, out)).toBe(false);
    expect(wasmNmMask(w, [2, 6], 2, 4, out)).toBe(false);
  });
});

describe("gather and its gradient on Wasm", () => {
  const shapes: [number[], number, number][] = [[[3, 5, 7], 1, 9], [[3, 5, 40], 1, 6], [[6, 5], 1, 9], [[6, 50], 0, 13], [[10], 0, 4], [[4, 3, 17], 2, 5]];
  for (const inArena of [false, true]) {
    it(`matches runtime/kernels.ts bit for bit: rows shorter and longer than the copy threshold, repeated indices${inArena ? ", in the arena" : ""}`, () => {
      const r = lcg(5);
      for (const [shape, axis, k] of shapes) {
        const size = shape.reduce((p, q) => p * q, 1);
        const x = f32(size, inArena);
        for (let i = 0; i < size; i++) x[i] = r() * 2 - 1;
        const idx = Int32Array.from({ length: k }, (_, j) => (j === 1 ? 0 : Math.floor(r() * shape[axis]!)));
        idx[0] = 0; // index 0 taken at least twice: its gradient sums two rows
        const outShape = [...shape];
        outShape[axis] = k;
        const n = outShape.reduce((p, q) => p * q, 1);
        const want = new Float32Array(n);
        gather(x, shape, idx, axis, want);
        const got = f32(n, inArena);
        expect(wasmGather(x, shape, idx, axis, got)).toBe(true);
        expect(bitsEqual(got, want), `gather ${shape} axis ${axis}`).toBe(true);
        const ct = f32(n, inArena);
        for (let i = 0; i < n; i++) ct[i] = r() * 2 - 1;
        const gWant = new Float32Array(size);
        gatherGrad(ct, idx, axis, gWant, shape);
        const gGot = f32(size, inArena);
        gGot.fill(7); // must be zeroed by the kernel
        expect(wasmGatherGrad(ct, idx, axis, gGot, shape)).toBe(true);
        expect(bitsEqual(gGot, gWant), `gather_grad ${shape} axis ${axis}`).toBe(true);
      }
    });
  }

  it("gathers i32 data as well (4-byte elements, copied as bits)", () => {
    const x = Int32Array.from({ length: 60 }, (_, i) => i * 1000003 - 7);
    const idx = Int32Array.from([4, 0, 4, 2]);
    const want = new Int32Array(4 * 12);
    const got = new Int32Array(4 * 12);
    gather(x, [5, 12], idx, 0, want);
    expect(wasmGather(x, [5, 12], idx, 0, got)).toBe(true);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it("declines an index out of range (the TS routine reports E6008)", () => {
    const x = new Float32Array(10);
    expect(wasmGather(x, [10], Int32Array.from([3, 10]), 0, new Float32Array(2))).toBe(false);
    expect(wasmGatherGrad(new Float32Array(2), Int32Array.from([-1, 2]), 0, x, [10])).toBe(false);
  });
});

describe("transpose on Wasm", () => {
  it("reduces permutations to one batched 2-D swap (merging adjacent axes, dropping size-1 axes) or declines", () => {
    expect(transposeAs2d([5, 7], [1, 0])).toEqual({ batches: 1, rows: 5, cols: 7, width: 1 });
    expect(transposeAs2d([2, 3, 4, 5], [0, 2, 3, 1])).toEqual({ batches: 2, rows: 3, cols: 20, width: 1 });
    expect(transposeAs2d([2, 3, 4, 5], [0, 2, 1, 3])).toEqual({ batches: 2, rows: 3, cols: 4, width: 5 });
    expect(transposeAs2d([3, 1, 4], [2, 1, 0])).toEqual({ batches: 1, rows: 3, cols: 4, width: 1 });
    expect(transposeAs2d([3, 4, 5], [0, 1, 2])).toEqual({ batches: 60, rows: 1, cols: 1, width: 1 });
    expect(transposeAs2d([3, 4, 5], [2, 1, 0])).toBeUndefined();
  });

  for (const inArena of [false, true]) {
    it(`matches runtime/kernels.ts bit for bit over 600 random shapes and permutations of rank 1 to 5${inArena ? ", in the arena" : ""}`, () => {
      const r = lcg(inArena ? 21 : 17);
      let ran = 0;
      for (let t = 0; t < 600; t++) {
        const rank = 1 + Math.floor(r() * 5);
        const shape = Array.from({ length: rank }, () => (r() < 0.2 ? 1 : 1 + Math.floor(r() * 11)));
        const perm = [...Array(rank).keys()].map((a) => [r(), a] as const).sort((p, q) => p[0] - q[0]).map((p) => p[1]);
        const n = shape.reduce((a, b) => a * b, 1);
        const x = f32(n, inArena);
        for (let i = 0; i < n; i++) x[i] = r() - 0.5;
        x[0] = -0;
        const want = new Float32Array(n);
        transpose(x, shape, perm, want);
        const got = f32(n, inArena);
        const ok = wasmTranspose(x, shape, perm, got);
        expect(ok, `[${shape}] perm [${perm}]`).toBe(transposeAs2d(shape, perm) !== undefined);
        if (!ok) continue;
        ran++;
        expect(bitsEqual(got, want), `[${shape}] perm [${perm}]`).toBe(true);
      }
      // Most random permutations reduce to one swap; the rest run on the TS routine.
      expect(ran).toBeGreaterThan(400);
    });
  }

  it("moves i32 data as bits, 4×4 blocks and ragged edges", () => {
    for (const [rows, cols] of [[4, 4], [9, 6], [1, 13], [16, 3]] as const) {
      const x = Int32Array.from({ length: rows * cols }, (_, i) => i * 2654435761);
      const want = new Int32Array(x.length);
      const got = new Int32Array(x.length);
      transpose(x, [rows, cols], [1, 0], want);
      expect(wasmTranspose(x, [rows, cols], [1, 0], got)).toBe(true);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

const program = `
import { SRSTE } from "std/sparse"
fn sparse_layer(w: f32[R, C], x: f32[C]) -> f32[R] {
  return matvec_sum(nm_prune(w, 2, 4) backward SRSTE(lambda = 0.01), x)
}
fn matvec_sum(w: f32[R, C], x: f32[C]) -> f32[R] {
  return sum(w * x, axis = 1)
}
fn pick(x: f32[V, D], idx: i32[B]) -> f32[B, D] {
  return gather(x, idx) * 2.0
}
fn mask48(w: f32[R, C]) -> f32[R, C] {
  return nm_mask(w, 4, 8)
}
fn rotate(x: f32[A, B, C]) -> f32[C, A, B] {
  return transpose(x * 3.0, [2, 0, 1]) + 1.0
}
`;

async function run(f: any, inputs: Record<string, Tensor>, device: typeof wasm, ct?: Tensor): Promise<Float32Array[]> {
  const out = (await f.forward(inputs, { device })) as Tensor;
  const res = [(await out.data()) as Float32Array];
  if (ct !== undefined) {
    const grads = (await f.vjp(inputs, ct, { device })) as Record<string, Tensor>;
    for (const k of Object.keys(grads).sort()) res.push((await grads[k]!.data()) as Float32Array);
  }
  return res;
}

describe("programs with N:M masks and gathers: cpu wasm against cpu ts", () => {
  it("SR-STE pruning, gather, a 4:8 mask and a transpose give the TS kernels' bits, forward and backward", async () => {
    const { mod } = await buildModule(program);
    // The program's plans hold the steps this file is about.
    const steps = ["sparse_layer", "pick", "mask48", "rotate"].flatMap((f) => [mod[f].spec.forward, mod[f].spec.vjp].flatMap((p: any) => p.steps.map((st: any) => st.op)));
    for (const op of ["nm_mask", "gather", "gather_grad", "transpose"]) expect(steps, op).toContain(op);
    const r = lcg(3);
    const data = (n: number) => Float32Array.from({ length: n }, () => Math.round((r() - 0.5) * 32) / 8);
    const [R, C, V, D, B] = [8, 32, 50, 20, 7];
    const w = tensor(data(R * C), [R, C]);
    const x = tensor(data(C), [C]);
    const ctR = tensor(data(R), [R]);
    const table = tensor(data(V * D), [V, D]);
    const idx = tensor(Int32Array.from([3, 0, 49, 3, 3, 17, 0]), [B]);
    const ctBD = tensor(data(B * D), [B, D]);
    const cube = tensor(data(5 * 6 * 7), [5, 6, 7]);
    const ctCube = tensor(data(5 * 6 * 7), [7, 5, 6]);
    const pairs: [string, Record<string, Tensor>, Tensor | undefined][] = [["sparse_layer", { w, x }, ctR], ["pick", { x: table, idx }, ctBD], ["mask48", { w }, undefined], ["rotate", { x: cube }, ctCube]];
    for (const [name, inputs, ct] of pairs) {
      const a = await run(mod[name], inputs, wasm, ct);
      const b = await run(mod[name], inputs, ts, ct);
      expect(a.length).toBe(b.length);
      a.forEach((v, i) => expect(bitsEqual(v, b[i]!), `${name} result ${i}`).toBe(true));
    }
  });

  it("an out-of-range index is E6008 and a bad group size E6016 on the Wasm device too", async () => {
    const { mod } = await buildModule(program);
    const table = tensor(new Float32Array(5 * 20), [5, 20]);
    await expect(mod.pick.forward({ x: table, idx: tensor(Int32Array.from([1, 5]), [2]) }, { device: wasm })).rejects.toMatchObject({ code: "E6008" });
    await expect(mod.mask48.forward({ w: tensor(new Float32Array(12), [2, 6]) }, { device: wasm })).rejects.toMatchObject({ code: "E6016" });
  });
});
