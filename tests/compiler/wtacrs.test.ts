/**
 * std/matmul's WTA-CRS (Liu et al., NeurIPS 2023, arXiv:2305.15265) against an independent f64
 * implementation of the official code's formulas (zirui-ray-liu/WTACRS
 * seq2seq/approxlinear/functional.py: subsample_3D_input_by_norm, k_adaptive_3D,
 * topk_selection_3D), written here with sorting, which the .est version cannot use:
 *   (a) the deterministic parts — p, k, |C| and the winner set — at chosen inputs, and the
 *       structure of every draw's row weights (winners weigh 1; the others count·R/(k_s·p_j) with
 *       counts summing to k_s);
 *   (b) unbiasedness of dw: the mean over thousands of independent groups (bmm, one call) and over
 *       seeds (linear) within 3 standard errors of transpose(x) @ g, and the groups' variance
 *       against the closed form for k_s i.i.d. draws;
 *   (c) k >= N (ratio = 1, or min_k >= N): every row is a winner and dw is exact;
 *   (d) the forward and dx = g @ transpose(w) are exact.
 * Everything runs on the f64 evaluator, the CPU module and WebGPU, except the 300-seed loop of
 * (b) (CPU only; the vectorised bmm case of (b) runs on all three) and (c)'s k = N - 1 contrast
 * (f64).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";
import { rng } from "../helpers/gradcheck.js";

const SRC = `import { linear, WTACRS, bmm, WTACRSBatched, wtacrs_plan, wtacrs_weights } from "std/matmul"
fn lin(x: f32[N, I], w: f32[I, O], ratio: f32 = 0.3, mk: f32 = 10.0) -> f32[N, O] { return linear(x, w) backward WTACRS(ratio = ratio, min_k = mk) }
fn batched(x: f32[S, N, I], w: f32[S, I, O], ratio: f32 = 0.3, mk: f32 = 10.0) -> f32[S, N, O] { return bmm(x, w) backward WTACRSBatched(ratio = ratio, min_k = mk) }
fn plan(x: f32[S, N, I], g: f32[S, N, O], tie: f32[S, N], ratio: f32 = 0.3, mk: f32 = 10.0) -> (f32[S, N], f32, f32[S], f32[S, N]) { return wtacrs_plan(x, g, tie, ratio = ratio, min_k = mk) }
fn weights(x: f32[S, N, I], g: f32[S, N, O], ratio: f32 = 0.3, mk: f32 = 10.0) -> f32[S, N] { return wtacrs_weights(x, g, ratio = ratio, min_k = mk) }
`;

type Rows = number[][];
const norm = (r: number[]) => Math.sqrt(r.reduce((a, v) => a + v * v, 0));

/** The official code's deterministic selection in f64, with a real sort (ties: smaller `tie` first). */
function reference(x: Rows, g: Rows, tie: number[], ratio: number, minK: number) {
  const n = x.length;
  const m = x.map((r, i) => norm(r) * norm(g[i]!));
  const total = m.reduce((a, v) => a + v, 0);
  const p = m.map((v) => (v + 1e-8) / (total + 1e-8));
  // The code's formula, with k >= 1 (std/matmul's guard for ratio = min_k = 0).
  const k = Math.min(Math.max(Math.floor(n * ratio), Math.floor(minK), 1), n);
  const order = [...p.keys()].sort((a, b) => p[b]! - p[a]! || tie[a]! - tie[b]!);
  if (k === n) return { p, k, nc: n, winners: new Set(order), margin: Infinity };
  // k_adaptive_3D: score(c) = (1 - P_c) / (k - c) over the sorted top k, c = 1..k (c = k is +∞).
  const scores: number[] = [];
  let cum = 0;
  for (let c = 1; c <= k; c++) {
    cum += p[order[c - 1]!]!;
    scores.push((1 - cum) / (k - c));
  }
  const best = Math.min(...scores);
  const nc = 1 / k < best ? 0 : scores.indexOf(best) + 1;
  // How far the decision is from flipping: the gap to 1/k and to the runner-up score.
  const rest = scores.filter((_, i) => i !== scores.indexOf(best));
  const margin = k === 1 ? Infinity : Math.min(Math.abs(best - 1 / k), Math.min(...rest) - best);
  return { p, k, nc, winners: new Set(order.slice(0, nc)), margin };
}

/** f32-exact test data: multiples of 1/8 in [-2, 2], rows scaled by `scale[i]`. */
function rows(r: () => number, n: number, d: number, scale: (i: number) => number): Rows {
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, () => (Math.round(r() * 32 - 16) / 8 || 0.125) * scale(i)));
}
const flat = (a: Rows[]) => a.flat(2);
const matmulTN = (x: Rows, g: Rows) => x[0]!.map((_, i) => g[0]!.map((_, o) => x.reduce((a, row, n) => a + row[i]! * g[n]![o]!, 0))).flat();

const N = 12;
const I = 3;
const O = 2;
const r = rng(20230515);
/** Row i of a group whose rows all have the same norm: signed rotations of `v`. */
const equalNorms = (v: number[]) => Array.from({ length: N }, (_, i) => v.map((_, j) => v[(i + j) % v.length]! * (((i >> j) & 1) === 1 ? -1 : 1)));
// Three groups: a few heavy rows (winners expected), equal norms (p uniform: no winners), a zero row.
const X: Rows[] = [rows(r, N, I, (i) => (i % 5 === 1 ? 4 : 0.5)), equalNorms([0.5, 1, 1.5]), rows(r, N, I, (i) => (i === 3 ? 0 : 1 + i / 4))];
const G: Rows[] = [rows(r, N, O, (i) => (i % 5 === 1 ? 2 : 1)), equalNorms([1, 2]), rows(r, N, O, (i) => (i === 7 ? 4 : 1))];
const TIE = X.map((_, s) => Array.from({ length: N }, (_, i) => ((i * 7 + s) % N) / N));

describe("(a) the deterministic parts: p, k, |C| and the winners, as the official code computes them", () => {
  // (ratio, min_k) → k for N = 12: 0.5, 2 → 6; 0.3, 10 → 10; 0.1, 4.5 → 4 (min_k floored);
  // 0.25, 2 → 3; 0, 0 → 1 (at least one row).
  const settings: [number, number][] = [[0.5, 2], [0.3, 10], [0.1, 4.5], [0.25, 2], [0, 0]];
  it.each(settings)("ratio = %d, min_k = %d", async (ratio, mk) => {
    const want = X.map((x, s) => reference(x, G[s]!, TIE[s]!, ratio, mk));
    // The chosen inputs keep every |C| decision clear of f32 rounding.
    for (const w of want) expect(w.margin).toBeGreaterThan(1e-4);
    for (const b of BACKENDS) {
      const out = await run(b, SRC, "plan", { x: { data: flat(X), shape: [3, N, I] }, g: { data: flat(G), shape: [3, N, O] }, tie: { data: TIE.flat(), shape: [3, N] } }, { scalars: { ratio, mk } });
      const [p, k, nc, win] = out.outputs as [number[], number[], number[], number[]];
      expectClose(p, want.flatMap((w) => w.p), tolerance(b), `${b} p`);
      expect(k, `${b} k`).toEqual([want[0]!.k]);
      expect(nc, `${b} |C|`).toEqual(want.map((w) => w.nc));
      expect(win, `${b} winners`).toEqual(want.flatMap((w) => Array.from({ length: N }, (_, i) => (w.winners.has(i) ? 1 : 0))));
    }
    // The groups exercise both outcomes of the adaptive rule.
    expect(want[1]!.nc).toBe(0);
    if (ratio === 0.5) expect(want.map((w) => w.nc > 0)).toEqual([true, false, true]);
  });

  it("a block of equal p enters the winners whole, whatever the tie-break order", async () => {
    // Rows 0 and 1 identical and heaviest (p = 0.37 each > 1/k): |C| = 2 takes both. The ranks
    // must order them (by the tie draw) for the sorted cumulative sum P_c to be right.
    const x: Rows = [[8, 0, 0], [8, 0, 0], ...Array.from({ length: N - 2 }, (_, i) => [0.5, (i % 3) / 8, 0.25])];
    const g: Rows = x.map(() => [1, 0.5]);
    for (const tie of [Array.from({ length: N }, (_, i) => i / N), Array.from({ length: N }, (_, i) => 1 - i / N)]) {
      const want = reference(x, g, tie, 0.25, 2);
      expect([want.k, want.nc, want.margin > 1e-4]).toEqual([3, 2, true]);
      for (const b of BACKENDS) {
        const out = await run(b, SRC, "plan", { x: { data: x.flat(), shape: [1, N, I] }, g: { data: g.flat(), shape: [1, N, O] }, tie: { data: tie, shape: [1, N] } }, { scalars: { ratio: 0.25, mk: 2 } });
        expect(out.outputs[2], b).toEqual([2]);
        expect(out.outputs[3], b).toEqual(Array.from({ length: N }, (_, i) => (i < 2 ? 1 : 0)));
      }
    }
  });

  it("every draw weighs winners 1 and each other row j count_j · R / (k_s · p_j), counts summing to k_s", async () => {
    const [ratio, mk] = [0.5, 2];
    const want = X.map((x, s) => reference(x, G[s]!, TIE[s]!, ratio, mk));
    for (const b of BACKENDS) {
      for (const seed of [1, 2, 3]) {
        const out = (await run(b, SRC, "weights", { x: { data: flat(X), shape: [3, N, I] }, g: { data: flat(G), shape: [3, N, O] } }, { scalars: { ratio, mk }, seed })).outputs[0]!;
        want.forEach((w, s) => {
          const rest = w.p.reduce((a, v, j) => a + (w.winners.has(j) ? 0 : v), 0);
          const ks = w.k - w.nc;
          let drawn = 0;
          for (let j = 0; j < N; j++) {
            const v = out[s * N + j]!;
            if (w.winners.has(j)) expect(v, `${b} seed ${seed} group ${s} winner ${j}`).toBe(1);
            else {
              const count = (v * ks * w.p[j]!) / rest;
              expect(Math.abs(count - Math.round(count)), `${b} seed ${seed} group ${s} row ${j}: count ${count}`).toBeLessThan(1e-4);
              drawn += Math.round(count);
            }
          }
          expect(drawn, `${b} seed ${seed} group ${s}`).toBe(ks);
        });
      }
    }
  });
});

/** Per-element mean and standard error of the mean of `samples` (one row per sample). */
function meanAndSe(samples: number[][]): { mean: number[]; se: number[] } {
  const n = samples.length;
  const mean = samples[0]!.map((_, j) => samples.reduce((a, s) => a + s[j]!, 0) / n);
  const se = mean.map((m, j) => Math.sqrt(samples.reduce((a, s) => a + (s[j]! - m) ** 2, 0) / (n - 1) / n));
  return { mean, se };
}

function expectUnbiased(samples: number[][], exact: number[], what: string): void {
  const { mean, se } = meanAndSe(samples);
  mean.forEach((m, j) => {
    expect(se[j]!, `${what} element ${j}: the estimate must vary`).toBeGreaterThan(1e-6 * Math.max(1, Math.abs(exact[j]!)));
    expect(Math.abs(m - exact[j]!), `${what} element ${j}: mean ${m} ± ${se[j]} vs exact ${exact[j]}`).toBeLessThan(3 * se[j]!);
  });
}

/**
 * The closed-form variance of dw: the winners are exact, so with q_j = p_j / R on the non-winners
 * and y_j = x_j,i g_j,o, each draw contributes R y_j / p_j, and the mean of k_s i.i.d. draws has
 * Var = (R Σ_{j ∉ C} y_j² / p_j − (Σ_{j ∉ C} y_j)²) / k_s. The sample variance must match it
 * within 4 of its own standard errors, sqrt((m4 − s⁴) / n) — which checks the sampling
 * distribution and that exactly k_s draws are kept, which the mean alone cannot.
 */
function expectVariance(samples: number[][], x: Rows, g: Rows, plan: ReturnType<typeof reference>, what: string): void {
  const n = samples.length;
  const rest = plan.p.reduce((a, v, j) => a + (plan.winners.has(j) ? 0 : v), 0);
  const ks = plan.k - plan.nc;
  for (let i = 0; i < I; i++) {
    for (let o = 0; o < O; o++) {
      let second = 0;
      let total = 0;
      x.forEach((row, j) => {
        if (plan.winners.has(j)) return;
        const y = row[i]! * g[j]![o]!;
        second += (y * y) / plan.p[j]!;
        total += y;
      });
      const want = (rest * second - total * total) / ks;
      const e = i * O + o;
      const mean = samples.reduce((a, v) => a + v[e]!, 0) / n;
      const s2 = samples.reduce((a, v) => a + (v[e]! - mean) ** 2, 0) / (n - 1);
      const m4 = samples.reduce((a, v) => a + (v[e]! - mean) ** 4, 0) / n;
      const se = Math.sqrt((m4 - s2 * s2) / n);
      expect(want, `${what} element ${e}: the closed form must be positive`).toBeGreaterThan(1e-6);
      expect(Math.abs(s2 - want), `${what} element ${e}: variance ${s2} ± ${se} vs ${want}`).toBeLessThan(4 * se);
    }
  }
}

describe("(b) dw is unbiased for transpose(x) @ g, with the variance of k_s i.i.d. draws", () => {
  // Group 0 of X: winners and sampled rows both present at ratio 0.5 (k = 6).
  const x = X[0]!;
  const g = G[0]!;
  const exact = matmulTN(x, g);
  const w = Array.from({ length: I * O }, (_, i) => (i % 3) / 4 - 0.25);

  it.each([["f64", 1000], ["cpu", 4000], ["webgpu", 4000]] as [Backend, number][])("over independent groups of one bmm call (%s, %d groups)", async (b, S) => {
    const rep = <T>(a: T[]) => Array.from({ length: S }, () => a).flat();
    const out = await run(b, SRC, "batched", { x: { data: rep(x.flat()), shape: [S, N, I] }, w: { data: rep(w), shape: [S, I, O] } }, { ct: [rep(g.flat())], scalars: { ratio: 0.5, mk: 2 }, seed: 11 });
    const dw = out.grads["w"]!;
    const samples = Array.from({ length: S }, (_, s) => dw.slice(s * I * O, (s + 1) * I * O));
    expectUnbiased(samples, exact, `${b} bmm`);
    expectVariance(samples, x, g, reference(x, g, TIE[0]!, 0.5, 2), `${b} bmm`);
    // The exact dx of every group (d): g @ transpose(w).
    const dx = g.flatMap((row) => Array.from({ length: I }, (_, i) => row.reduce((a, v, o) => a + v * w[i * O + o]!, 0)));
    expectClose(out.grads["x"]!.slice(0, N * I), dx, tolerance(b), `${b} dx`);
  });

  it("over 300 seeds of linear (cpu)", async () => {
    const samples: number[][] = [];
    for (let seed = 0; seed < 300; seed++) {
      const out = await run("cpu", SRC, "lin", { x: { data: x.flat(), shape: [N, I] }, w: { data: w, shape: [I, O] } }, { ct: [g.flat()], scalars: { ratio: 0.5, mk: 2 }, seed });
      samples.push(out.grads["w"]!);
    }
    expectUnbiased(samples, exact, "linear");
  });
});

describe("(c) k >= N: every row is a winner and dw is exact", () => {
  const w = [0.5, -1, 0.25, 2, -0.75, 1];
  it.each([
    ["ratio = 1", 1, 2],
    ["min_k >= N", 0.1, 12],
    ["min_k > N", 0.3, 40],
  ] as [string, number, number][])("%s", async (_, ratio, mk) => {
    // Group 1 has equal p: without the k >= N rule, k_adaptive_3D would keep few winners and
    // sample the rest (for distinct p it keeps N - 1 and "samples" the last row, which is exact).
    for (const b of BACKENDS) {
      for (const s of [1, 2]) {
        const out = await run(b, SRC, "lin", { x: { data: X[s]!.flat(), shape: [N, I] }, w: { data: w, shape: [I, O] } }, { ct: [G[s]!.flat()], scalars: { ratio, mk }, seed: s });
        expectClose(out.grads["w"], matmulTN(X[s]!, G[s]!), tolerance(b), `${b} group ${s} dw`);
      }
    }
  });
  it("N = 4 rows of norm 1: in f32 p = 1/4 exactly and every score ties at 1/k, yet dw is exact", async () => {
    // Without the k >= N rule, k_adaptive_3D would take |C| = 1 (the first minimum) and draw 3 rows.
    const x: Rows = [[1, 0, 0], [0, -1, 0], [0, 0, 1], [-1, 0, 0]];
    const g: Rows = [[1, 0], [0, 1], [-1, 0], [0, -1]];
    const w = [0.5, -1, 0.25, 2, -0.75, 1];
    for (const b of BACKENDS) {
      for (const seed of [1, 2, 3]) {
        const out = await run(b, SRC, "lin", { x: { data: x.flat(), shape: [4, I] }, w: { data: w, shape: [I, O] } }, { ct: [g.flat()], scalars: { ratio: 1, mk: 2 }, seed });
        expectClose(out.grads["w"], matmulTN(x, g), tolerance(b), `${b} seed ${seed} dw`);
      }
    }
  });

  it("but k = N - 1 samples (the estimate differs from the exact dw)", async () => {
    const out = await run("f64", SRC, "lin", { x: { data: X[0]!.flat(), shape: [N, I] }, w: { data: w, shape: [I, O] } }, { ct: [G[0]!.flat()], scalars: { ratio: 11 / 12, mk: 2 }, seed: 1 });
    const exact = matmulTN(X[0]!, G[0]!);
    expect(out.grads["w"]!.some((v, i) => Math.abs(v - exact[i]!) > 1e-6)).toBe(true);
  });
});

describe("(d) the forward and dx are exact", () => {
  it("x @ w and g @ transpose(w), on every back end", async () => {
    const x = X[0]!;
    const g = G[0]!;
    const w = [0.5, -1, 0.25, 2, -0.75, 1];
    const y = x.flatMap((row) => Array.from({ length: O }, (_, o) => row.reduce((a, v, i) => a + v * w[i * O + o]!, 0)));
    const dx = g.flatMap((row) => Array.from({ length: I }, (_, i) => row.reduce((a, v, o) => a + v * w[i * O + o]!, 0)));
    for (const b of BACKENDS) {
      const out = await run(b, SRC, "lin", { x: { data: x.flat(), shape: [N, I] }, w: { data: w, shape: [I, O] } }, { ct: [g.flat()], seed: 4 });
      expectClose(out.outputs[0], y, tolerance(b), `${b} forward`);
      expectClose(out.grads["x"], dx, tolerance(b), `${b} dx`);
      // ratio 0.3, min_k 10 (lin's defaults, WTACRS's too) at N = 12: k = 10 < N, dw is sampled but finite.
      expect(out.grads["w"]!.every(Number.isFinite), b).toBe(true);
    }
  });
});
