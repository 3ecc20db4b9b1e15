/**
 * std/vq at chosen points on every evaluator (f64 interpreter, generated CPU module, WebGPU):
 * nearest-code lookup (including a tie and an antipodal code), the VQ-VAE loss, the
 * straight-through gradient (dz = g) and the rotation trick's gradient dz = λ Rᵀ g, with R built
 * here as a D×D matrix in f64 (I - 2wwᵀ + 2q̂uᵀ) — not the row form e - 2(e·w)w + 2(e·u)q̂ the
 * stdlib uses — plus codebook usage and perplexity. Inputs are dyadic, so every distance is exact
 * in f32 and all back ends pick the same codes.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const SRC = `import { vq_ste, vq_rotation, vq_codes, vq_usage, vq_perplexity, vq_distances } from "std/vq"
fn ste(z: f32[B, D], codebook: f32[K, D], beta: f32 = 0.25) -> (f32[B, D], f32) { return vq_ste(z, codebook, beta = beta) }
fn rot(z: f32[B, D], codebook: f32[K, D], beta: f32 = 0.25) -> (f32[B, D], f32) { return vq_rotation(z, codebook, beta = beta) }
fn codes(z: f32[B, D], codebook: f32[K, D]) -> i32[B] { return vq_codes(z, codebook) }
fn dist(z: f32[B, D], codebook: f32[K, D]) -> f32[B, K] { return vq_distances(z, codebook) }
fn usage(z: f32[B, D], codebook: f32[K, D]) -> (f32[K], f32) { return (vq_usage(z, codebook), vq_perplexity(z, codebook)) }
`;

const D = 3;
const CODEBOOK = [
  [1, 0, 0],
  [0, 1, 0.5],
  [-0.5, -0.5, 0],
  [-0.25, 0, 0],
];
// Nearest codes by hand (squared distances in the comments):
const Z = [
  [0.75, 0.25, -0.25], // c0: 0.1875; c3: 1.125; c1: 1.6875           → 0
  [0.25, 0.75, 0.5], //   c1: 0.125;  c0: 1.375                        → 1
  [0.125, 0, 0], //       c3: 0.140625; c2: 0.640625; c0: 0.765625     → 3, antipodal to z (q̂ = -u)
  [-0.5, -0.25, 0.25], // c2: 0.125;  c3: 0.1875                       → 2
  [0.5, 0.5, 0.25], //    c0: 0.5625 = c1: 0.5625 (a tie: lower index)  → 0
];
const CODES = [0, 1, 3, 2, 0];
const B = Z.length;
const K = CODEBOOK.length;
const G = [
  [1, -2, 0.5],
  [0.25, 3, -1],
  [2, 0.5, -0.75],
  [-1.5, 1, 0.125],
  [0.5, -0.25, 1],
];
const C_LOSS = 0.5; // the cotangent of the VQ loss
const BETA = 0.25;

const inputs = { z: { data: Z.flat(), shape: [B, D] }, codebook: { data: CODEBOOK.flat(), shape: [K, D] } };
const E = CODES.map((k) => CODEBOOK[k]!);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

/** mean((z - e)²) (1 + beta): the codebook term plus beta times the commitment term, same value. */
const LOSS = (Z.flat().reduce((s, v, i) => s + (v - E.flat()[i]!) ** 2, 0) / (B * D)) * (1 + BETA);
/** d loss / dz = c β 2 (z - e) / (B D): only the commitment term reaches z. */
const lossGradZ = Z.map((z, b) => z.map((v, j) => (C_LOSS * BETA * 2 * (v - E[b]![j]!)) / (B * D)));
/** d loss / d codebook: row k collects c · 2 (e_k - z_b) / (B D) from every b with code k. */
const lossGradCodebook = CODEBOOK.map((row, k) =>
  row.map((_, j) => Z.reduce((s, z, b) => s + (CODES[b] === k ? (C_LOSS * 2 * (E[b]![j]! - z[j]!)) / (B * D) : 0), 0)),
);

/** λ R for one row in f64: R = I - 2 w wᵀ + 2 q̂ uᵀ as a matrix, λ = ||q|| / (||e|| + 1e-6). */
function scaledRotation(e: number[], q: number[]): number[][] {
  const u = e.map((v) => v / Math.max(norm(e), 1e-6));
  const qh = q.map((v) => v / Math.max(norm(q), 1e-6));
  const s = u.map((v, i) => v + qh[i]!);
  const w = s.map((v) => v / Math.max(norm(s), 1e-6));
  const lambda = norm(q) / (norm(e) + 1e-6);
  return u.map((_, i) => u.map((_, j) => lambda * ((i === j ? 1 : 0) - 2 * w[i]! * w[j]! + 2 * qh[i]! * u[j]!)));
}
const transposeTimes = (m: number[][], g: number[]) => m[0]!.map((_, j) => m.reduce((s, row, i) => s + row[j]! * g[i]!, 0));

describe("vq_codes and vq_distances: argmin of ||z - e||² via one matmul", () => {
  it("picks the hand-computed codes (a tie goes to the lower index) on every back end", async () => {
    const want = Z.map((z) => CODEBOOK.map((c) => z.reduce((s, v, j) => s + (v - c[j]!) ** 2, 0)));
    for (const b of BACKENDS) {
      const d = await run(b, SRC, "dist", inputs);
      expectClose(d.outputs[0], want.flat(), tolerance(b), `${b} distances`);
      const r = await run(b, SRC, "codes", inputs);
      expect(r.outputs[0], `${b} codes`).toEqual(CODES);
    }
  });
});

describe("vq_ste (van den Oord et al. 2017): z_q = z + sg(e_k - z), loss ||sg(z) - e||² + β||z - sg(e)||²", () => {
  it("forward is e_k and the loss; dz = g + the commitment gradient; the codebook gets only the codebook term", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "ste", inputs, { ct: [G.flat(), [C_LOSS]] });
      expectClose(r.outputs[0], E.flat(), tolerance(b), `${b} z_q`);
      expectClose(r.outputs[1], [LOSS], tolerance(b), `${b} loss`);
      expectClose(r.grads["z"], G.flat().map((g, i) => g + lossGradZ.flat()[i]!), tolerance(b), `${b} dz`);
      expectClose(r.grads["codebook"], lossGradCodebook.flat(), tolerance(b), `${b} dcodebook`);
    }
  });

  it("with no loss cotangent the gradient of z is exactly g (straight through)", async () => {
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "ste", inputs, { ct: [G.flat(), [0]] });
      expectClose(r.grads["z"], G.flat(), tolerance(b), `${b} dz`);
      expectClose(r.grads["codebook"], new Array(K * D).fill(0), tolerance(b), `${b} dcodebook`);
    }
  });
});

describe("vq_rotation (Fifty et al. 2025): forward e_k, backward λ Rᵀ g", () => {
  it("the test's R is a rotation taking u to q̂ (including the antipodal row)", () => {
    Z.forEach((e, b) => {
      const m = scaledRotation(e, E[b]!);
      const lambda = norm(E[b]!) / (norm(e) + 1e-6);
      const r = m.map((row) => row.map((v) => v / lambda));
      const rtr = r.map((_, i) => r.map((_, j) => r.reduce((s, row) => s + row[i]! * row[j]!, 0)));
      expectClose(rtr.flat(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-12, `row ${b}: RᵀR = I`);
      const u = e.map((v) => v / norm(e));
      expectClose(r.map((row) => dot(row, u)), E[b]!.map((v) => v / norm(E[b]!)), 1e-12, `row ${b}: R u = q̂`);
    });
  });

  it("forward ≈ e_k, same loss; dz = λ Rᵀ g + the commitment gradient; the codebook as with the STE", async () => {
    const wantZ = Z.map((e, b) => transposeTimes(scaledRotation(e, E[b]!), G[b]!).map((v, j) => v + lossGradZ[b]![j]!));
    // The rotation is not the STE: on these points the two gradients differ.
    expect(Math.max(...wantZ.flat().map((v, i) => Math.abs(v - G.flat()[i]! - lossGradZ.flat()[i]!)))).toBeGreaterThan(0.1);
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "rot", inputs, { ct: [G.flat(), [C_LOSS]] });
      expectClose(r.outputs[0], E.flat(), tolerance(b), `${b} z_q`);
      expectClose(r.outputs[1], [LOSS], tolerance(b), `${b} loss`);
      expectClose(r.grads["z"], wantZ.flat(), tolerance(b), `${b} dz`);
      expectClose(r.grads["codebook"], lossGradCodebook.flat(), tolerance(b), `${b} dcodebook`);
    }
  });

  it("at the antipode (z = (0.125, 0, 0), q = (-0.25, 0, 0)) R is the reflection diag(-1, 1, 1)", async () => {
    const lambda = 0.25 / (0.125 + 1e-6);
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "rot", inputs, { ct: [G.flat(), [0]] });
      const row = r.grads["z"]!.slice(2 * D, 3 * D);
      expectClose(row, [-2 * lambda, 0.5 * lambda, -0.75 * lambda], tolerance(b), `${b} dz of the antipodal row`);
    }
  });
});

describe("vq_usage and vq_perplexity", () => {
  it("counts codes per index and gives exp(-Σ p ln p)", async () => {
    const counts = [2, 1, 1, 1];
    const p = counts.map((c) => c / B);
    const perplexity = Math.exp(-p.reduce((s, v) => s + v * Math.log(v), 0));
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "usage", inputs);
      expectClose(r.outputs[0], counts, tolerance(b), `${b} usage`);
      expectClose(r.outputs[1], [perplexity], tolerance(b), `${b} perplexity`);
    }
  });

  it("an unused code counts 0 and adds nothing to the perplexity", async () => {
    const one = { z: { data: [0.75, 0.25, -0.25, 1, 0, 0.125], shape: [2, D] }, codebook: inputs.codebook };
    for (const b of BACKENDS) {
      const r = await run(b, SRC, "usage", one);
      expectClose(r.outputs[0], [2, 0, 0, 0], tolerance(b), `${b} usage`);
      expectClose(r.outputs[1], [1], tolerance(b), `${b} perplexity`);
    }
  });
});
