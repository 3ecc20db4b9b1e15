/**
 * std/jlcm at chosen points: the forward (the codeword of the rounded, clamped latent index, ties
 * to even), the codebook's exact gradient (Σ of g over the elements mapped to each codeword) and
 * the mapping's two gradients — IndexInterp, g·(c[j+1] − c[j]), and JLCM as implemented,
 * g / (c[j+1] − c[j]), j = clamp(floor(I), 0, K − 2) — each computed here in plain JavaScript
 * from the formula in docs/stdlib/jlcm.md and compared on every back end (f64 evaluator to 1e-12,
 * CPU and WebGPU in f32 to 1e-5); then an f64 central-difference gradcheck of the codebook's
 * gradient (the lookup is linear in c for a fixed mapping).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance } from "../helpers/backends.js";
import { compileFn } from "../helpers/compile.js";
import { expectClose } from "../helpers/expect.js";
import { gradcheck } from "../helpers/gradcheck.js";

const IMPORT = `import { codebook_lookup, JLCM, IndexInterp } from "std/jlcm"\n`;

/** The formulas, written independently of the .est: forward, mapped index, interval, gradients. */
function reference(c: number[], idx: number[], g: number[], rule: "jlcm" | "interp" | "none", eps = 1e-6) {
  const K = c.length;
  const roundEven = (v: number) => {
    const f = Math.floor(v);
    const d = v - f;
    return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  };
  const k = idx.map((v) => Math.min(Math.max(roundEven(v), 0), K - 1));
  const j = idx.map((v) => Math.min(Math.max(Math.floor(v), 0), K - 2));
  const out = k.map((i) => c[i]!);
  const dc = c.map((_, q) => g.reduce((s, gv, i) => s + (k[i] === q ? gv : 0), 0));
  const didx = idx.map((_, i) => {
    const gap = c[j[i]! + 1]! - c[j[i]!]!;
    if (rule === "none") return 0;
    if (rule === "interp") return g[i]! * gap;
    const safe = Math.abs(gap) < eps ? (gap < 0 ? -eps : eps) : gap;
    return g[i]! / safe;
  });
  return { out, dc, didx };
}

async function check(src: string, c: number[], idx: number[], shape: number[], g: number[], want: ReturnType<typeof reference>, scalars?: Record<string, number>) {
  for (const v of [...c, ...idx, ...g]) expect(Math.fround(v), `test point ${v} is not f32-exact`).toBe(v);
  for (const b of BACKENDS) {
    const r = await run(b, IMPORT + src, "f", { c: { data: c, shape: [c.length] }, idx: { data: idx, shape } }, { ct: [g], scalars });
    expectClose(r.outputs[0], want.out, tolerance(b), `${b} forward`);
    expectClose(r.grads.c, want.dc, tolerance(b), `${b} vjp of c`);
    expectClose(r.grads.idx, want.didx, tolerance(b), `${b} vjp of idx`);
  }
}

// Codebook −1, −0.25, 0.5, 2: gaps 0.75, 0.75, 1.5. Latent indices: 0.25 → 0; 1.5 → 2 (tie to
// even); 2.5 → 2 (tie to even); −3 → 0 (clamped); 7 → 3 (clamped); 1.75 → 2.
const c = [-1, -0.25, 0.5, 2];
const idx = [0.25, 1.5, 2.5, -3, 7, 1.75];
const g = [2, -1, 0.5, -3, 0.25, 4];

describe("codebook_lookup: c[clamp(round(I), 0, K − 1)]", () => {
  it("forward and the exact codebook gradient; no mapping gradient without an estimator", async () => {
    const want = reference(c, idx, g, "none");
    // By hand: codewords −1, 0.5, 0.5, −1, 2, 0.5; dc = (2 − 3, 0, −1 + 0.5 + 4, 0.25).
    expect(want.out).toEqual([-1, 0.5, 0.5, -1, 2, 0.5]);
    expect(want.dc).toEqual([-1, 0, 3.5, 0.25]);
    await check("fn f(c: f32[K], idx: f32[R, C]) -> f32[R, C] { return codebook_lookup(c, idx) }", c, idx, [2, 3], g, want);
  });

  it("IndexInterp: dI = g · (c[j+1] − c[j]), growing with the gap", async () => {
    const want = reference(c, idx, g, "interp");
    // Intervals j = 0, 1, 2, 0 (clamped), 2 (clamped), 1: dI = 2·0.75, −1·0.75, 0.5·1.5, −3·0.75, 0.25·1.5, 4·0.75.
    expect(want.didx).toEqual([1.5, -0.75, 0.75, -2.25, 0.375, 3]);
    await check("fn f(c: f32[K], idx: f32[R, C]) -> f32[R, C] { return codebook_lookup(c, idx) backward IndexInterp }", c, idx, [2, 3], g, want);
  });

  it("JLCM (as implemented): dI = g / (c[j+1] − c[j]), shrinking with the gap", async () => {
    const want = reference(c, idx, g, "jlcm");
    expect(want.didx[2]).toBeCloseTo(0.5 / 1.5, 15);
    expect(want.didx[5]).toBeCloseTo(4 / 0.75, 15);
    await check("fn f(c: f32[K], idx: f32[R, C]) -> f32[R, C] { return codebook_lookup(c, idx) backward JLCM }", c, idx, [2, 3], g, want);
  });

  it("JLCM: a zero gap (duplicate codewords) divides by eps, a negative gap keeps its sign", async () => {
    // Codebook 0, 0, 1, 0.5 (unsorted at the end): gaps 0, 1, −0.5.
    const cd = [0, 0, 1, 0.5];
    const id = [0.25, 1.25, 2.75, 3];
    const gd = [1, -2, 3, 0.5];
    const want = reference(cd, id, gd, "jlcm", 0.25);
    expect(want.didx).toEqual([4, -2, -6, -1]);
    await check("fn f(c: f32[K], idx: f32[R, C], eps: f32 = 1e-6) -> f32[R, C] { return codebook_lookup(c, idx) backward JLCM(eps = eps) }", cd, id, [2, 2], gd, want, { eps: 0.25 });
  });
});

describe("codebook gradient against central differences (f64)", () => {
  it("the lookup is linear in c for a fixed mapping", () => {
    const fn = compileFn(IMPORT + "fn f(c: f32[K], idx: f32[R, C]) -> f32[R, C] { return codebook_lookup(c, 3 * idx detach) backward JLCM }", "f");
    for (const seed of [1, 2, 3]) {
      const r = gradcheck(fn, { dims: { K: 5, R: 3, C: 4 }, seed });
      expect(Math.abs(r.analytic - r.numeric)).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(r.numeric)));
    }
  });
});
