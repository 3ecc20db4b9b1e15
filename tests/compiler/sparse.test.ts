/**
 * std/sparse at chosen points on every evaluator (f64 interpreter, generated CPU module, WebGPU):
 * SR-STE's dw = g + λ (1 - E) w and the plain STE's dw = g on nm_prune for 2:4 and 4:8 (n and m
 * from the call site), a tie in |w| (the lower index is kept), the default λ = 2e-4, nm_prune's
 * own gradient g·E for contrast, and SAD (the number of mask entries that differ) against masks
 * written out by hand, and against the host-side runtime `sad` (runtime/indicators.ts) on random
 * weights. Inputs are f32-exact so every back end sees the same masks.
 */
import { describe, expect, it } from "vitest";
import { sad as hostSad } from "../../runtime/indicators.js";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";
import { rng } from "../helpers/gradcheck.js";

const SRC = `import { SRSTE, NMSTE, sad, sad_2to4, sad_4to8, mask_2to4 } from "std/sparse"
fn sr24(w: f32[R, C], lambda: f32 = 2e-4) -> f32[R, C] { return nm_prune(w, 2, 4) backward SRSTE(lambda = lambda) }
fn sr24_default(w: f32[R, C]) -> f32[R, C] { return nm_prune(w, 2, 4) backward SRSTE }
fn sr48(w: f32[R, C], lambda: f32 = 2e-4) -> f32[R, C] { return nm_prune(w, 4, 8) backward SRSTE(lambda) }
fn ste24(w: f32[R, C]) -> f32[R, C] { return nm_prune(w, 2, 4) backward NMSTE }
fn plain24(w: f32[R, C]) -> f32[R, C] { return nm_prune(w, 2, 4) }
fn mask24(w: f32[R, C]) -> f32[R, C] { return mask_2to4(w) }
fn sad_masks(prev: f32[R, C], next: f32[R, C]) -> f32 { return sad(prev, next) }
fn sad24(prev: f32[R, C], next: f32[R, C]) -> f32 { return sad_2to4(prev, next) }
fn sad48(prev: f32[R, C], next: f32[R, C]) -> f32 { return sad_4to8(prev, next) }
`;

// Two rows of two groups of 4. Row 0 group 0 keeps -2 and 1; group 1 keeps 3 and -0.3.
// Row 1 group 0 has a tie |0.5| = |-0.5| for the second place: the lower index (1) is kept;
// group 1 keeps -4 and 2.
const W = [0.5, -2, 0.125, 1, 3, 0.25, -0.375, 0.25, 1, 0.5, -0.5, 0.25, -4, 0, 2, 1.5];
const MASK24 = [0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0];
// 4:8 keeps the four largest of each row: row 0 → 3, -2, 1, 0.5 ; row 1 → -4, 2, 1.5, 1.
const MASK48 = [1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1];
const G = [1, -2, 0.5, 3, -1, 0.25, 2, -0.75, 1.5, -0.5, 4, 1, -3, 0.125, 2.5, -1.25];
const shape = [2, 8];
const w = { w: { data: W, shape } };
const srGrad = (mask: number[], lambda: number) => G.map((g, i) => g + lambda * (1 - mask[i]!) * W[i]!);

describe("SRSTE (Zhou et al. 2021): dw = g + λ (1 - E) w, dense straight-through", () => {
  it("2:4 with λ = 0.5: forward w·E, the decay only on pruned weights", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "sr24", w, { ct: [G], scalars: { lambda: 0.5 } });
      expectClose(r.outputs[0], W.map((v, i) => v * MASK24[i]!), tolerance(b), `${b} forward`);
      expectClose(r.grads["w"], srGrad(MASK24, 0.5), tolerance(b), `${b} dw`);
    }
  });

  it("the default λ is 2e-4 (the official Sparse.forward default)", async () => {
    // Weights scaled by 16 (same masks), so the decay 2e-4 · w of the pruned ones is well above f32 noise.
    const big = W.map((v) => 16 * v);
    const want = G.map((g, i) => g + 2e-4 * (1 - MASK24[i]!) * big[i]!);
    expect(Math.max(...want.map((v, i) => Math.abs(v - G[i]!)))).toBeGreaterThan(4e-3);
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "sr24_default", { w: { data: big, shape } }, { ct: [G] });
      expectClose(r.grads["w"], want, b === "f64" ? 1e-12 : 1e-6, `${b} dw`);
    }
  });

  it("4:8: n and m come from the call site", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "sr48", w, { ct: [G], scalars: { lambda: 0.25 } });
      expectClose(r.outputs[0], W.map((v, i) => v * MASK48[i]!), tolerance(b), `${b} forward`);
      expectClose(r.grads["w"], srGrad(MASK48, 0.25), tolerance(b), `${b} dw`);
    }
  });
});

describe("NMSTE: the plain straight-through estimator, dw = g", () => {
  it("passes g to every weight, pruned or kept; without an estimator only kept weights get g", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "ste24", w, { ct: [G] });
      expectClose(r.outputs[0], W.map((v, i) => v * MASK24[i]!), tolerance(b), `${b} forward`);
      expectClose(r.grads["w"], G, tolerance(b), `${b} dw`);
      const p = await run(b, SRC, "plain24", w, { ct: [G] });
      expectClose(p.grads["w"], G.map((g, i) => g * MASK24[i]!), tolerance(b), `${b} plain dw`);
    }
  });
});

describe("SAD (sparse architecture divergence): the number of mask entries that differ", () => {
  // The next weights: row 0 group 0 now keeps -2 and 1.5 (0.125 → 1.5: two flips); row 0 group 1
  // -0.375 → 0.125 makes 0.25 at index 5 the second largest, tied with index 7 (kept: 5; two flips);
  // row 1 unchanged except magnitudes that keep its mask (0 flips). Hand count: 4.
  const NEXT = [0.5, -2, 1.5, 1, 3, 0.25, 0.125, 0.25, 2, 0.75, -0.5, 0.125, -5, 0, 3, 1];
  const NEXT_MASK24 = [0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0];
  const handCount = MASK24.reduce((s, m, i) => s + (m !== NEXT_MASK24[i] ? 1 : 0), 0);
  it("the hand-written masks differ in 4 places", () => expect(handCount).toBe(4));

  it("mask_2to4 gives the hand-written masks", async () => {
    for (const b of BACKENDS) {
      expect((await run(b, SRC, "mask24", w)).outputs[0], `${b} prev`).toEqual(MASK24);
      expect((await run(b, SRC, "mask24", { w: { data: NEXT, shape } })).outputs[0], `${b} next`).toEqual(NEXT_MASK24);
    }
  });

  it("sad of two masks, sad_2to4 and sad_4to8 of two weight tensors", async () => {
    // 4:8 of NEXT: row 0 keeps 3, -2, 1.5, 1 (0.5 leaves, 1.5 enters: 2 flips); row 1 keeps -5, 3, 2, 1,
    // the same positions as before (indices 8, 12, 14, 15): no flip. Hand count: 2.
    const NEXT_MASK48 = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1];
    const count48 = MASK48.reduce((s, m, i) => s + (m !== NEXT_MASK48[i] ? 1 : 0), 0);
    expect(count48).toBe(2);
    const pair = { prev: { data: W, shape }, next: { data: NEXT, shape } };
    for (const b of BACKENDS) {
      const m = await run(b, SRC, "sad_masks", { prev: { data: MASK24, shape }, next: { data: NEXT_MASK24, shape } });
      expect(m.outputs[0], `${b} sad of masks`).toEqual([handCount]);
      expect((await run(b, SRC, "sad24", pair)).outputs[0], `${b} sad_2to4`).toEqual([handCount]);
      expect((await run(b, SRC, "sad48", pair)).outputs[0], `${b} sad_4to8`).toEqual([count48]);
      expect((await run(b, SRC, "sad24", { prev: { data: W, shape }, next: { data: W, shape } })).outputs[0], `${b} same`).toEqual([0]);
    }
  });

  it("sad_2to4 counts what the host-side runtime sad counts on the same masks", async () => {
    const r = rng(11);
    // Multiples of 1/64: f32-exact, with repeated magnitudes so ties occur.
    const draw = () => Array.from({ length: 8 * 16 }, () => Math.round((r() * 2 - 1) * 16) / 64);
    const big = [8, 16];
    for (let trial = 0; trial < 3; trial++) {
      const prev = draw();
      const next = prev.map((v, i) => (r() < 0.3 ? draw()[i]! : v));
      const masks = await Promise.all([prev, next].map(async (w) => (await run("f64", SRC, "mask24", { w: { data: w, shape: big } })).outputs[0]!));
      const want = hostSad(masks[0]!, masks[1]!);
      expect(want, "the trial changes some masks").toBeGreaterThan(0);
      for (const b of BACKENDS) {
        const got = await run(b, SRC, "sad24", { prev: { data: prev, shape: big }, next: { data: next, shape: big } });
        expect(got.outputs[0], `${b} trial ${trial}`).toEqual([want]);
      }
    }
  });
});
