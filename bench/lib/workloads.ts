/**
 * The elementwise workloads the CPU bench times, their parameters, seeded inputs and a plain
 * oracle (the obvious loop, f64 arithmetic) that every implementation is checked against.
 */

/** The elementwise workloads: sign with two backward rules, and a 4-op chain. */
export type Workload = "sign/ReSTE" | "sign/ClippedSTE" | "chain4";
export const workloads: readonly Workload[] = ["sign/ReSTE", "sign/ClippedSTE", "chain4"];

/** Estimator and chain parameters, the same in every implementation (std/binary defaults). */
export const P = {
  reste: { o: 3, t: 1.5, m: 0.1 },
  clipped: { t: 1 },
  chain: { s: 1.5, lo: -1, hi: 1 },
} as const;

/** Inputs of one size: x, the chain's second input y, and the output cotangent g. */
export interface Inputs {
  n: number;
  x: Float32Array;
  y: Float32Array;
  g: Float32Array;
}

/** What a forward + backward produced: the forward output and one gradient per input. */
export interface Result {
  out: Float32Array;
  grads: Float32Array[];
}

/** One implementation prepared for one workload and size. */
export interface Runner {
  /** One forward and one backward (vjp with `g`); keeps the last outputs for `result`. */
  step(): unknown;
  /** The outputs of the last `step`, copied to plain arrays. */
  result(): Promise<Result>;
  dispose(): void;
}

/** A seeded LCG, so every run times the same numbers. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** x ~ U(-2, 2) (random signs: the worst case for branches), y and g ~ U(-1, 1). */
export function makeInputs(n: number, seed = 1): Inputs {
  const r = rng(seed);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = 4 * r() - 2;
    y[i] = 2 * r() - 1;
    g[i] = 2 * r() - 1;
  }
  // Edge values the semantics pin down: sign(±0) = +1 and the inclusive clips |x| <= 1, <= 1.5
  // (all exact in f32, so f32 and f64 comparisons agree on them).
  const edges = [0, -0, 1, -1, 1.5, -1.5];
  edges.forEach((v, k) => {
    if (k < n) x[k] = v;
  });
  return { n, x, y, g };
}

/** The number of gradients (inputs) of each workload. */
export const gradCount = (w: Workload): number => (w === "chain4" ? 2 : 1);

/** The oracle: the obvious loops, in f64, rounded to f32 on store. */
export function oracle(w: Workload, inp: Inputs): Result {
  const { n, x, y, g } = inp;
  const out = new Float32Array(n);
  const dx = new Float32Array(n);
  if (w === "chain4") {
    const dy = new Float32Array(n);
    const { s, lo, hi } = P.chain;
    for (let i = 0; i < n; i++) {
      const v = x[i]! * s;
      const c = Math.min(Math.max(v, lo), hi);
      const th = Math.tanh(c);
      out[i] = th * y[i]!;
      const inside = v >= lo && v <= hi ? 1 : 0; // clamp passes the gradient on [lo, hi]
      dx[i] = g[i]! * y[i]! * (1 - th * th) * inside * s;
      dy[i] = g[i]! * th;
    }
    return { out, grads: [dx, dy] };
  }
  for (let i = 0; i < n; i++) out[i] = x[i]! >= 0 ? 1 : -1; // sign(0) = sign(-0) = +1
  if (w === "sign/ClippedSTE") {
    for (let i = 0; i < n; i++) dx[i] = Math.abs(x[i]!) <= P.clipped.t ? g[i]! : 0;
  } else {
    const { o, t, m } = P.reste;
    const e = (1 - o) / o;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(x[i]!);
      const slope = a <= m ? Math.pow(m, e) : (1 / o) * Math.pow(a, e);
      dx[i] = a <= t ? g[i]! * slope : 0;
    }
  }
  return { out, grads: [dx] };
}

/** How far `got` is from `want`: elements are compared as |a - b| / max(1, |b|). */
export interface Comparison {
  /** The largest error over every output and gradient element (Infinity on a shape mismatch). */
  maxError: number;
  /** Elements whose error exceeds the tolerance. */
  mismatches: number;
  /** The largest error once the mismatching elements are set aside. */
  maxErrorElsewhere: number;
}

export function compare(got: Result, want: Result, tol: number): Comparison {
  const pairs: [Float32Array, Float32Array][] = [[got.out, want.out]];
  if (got.grads.length !== want.grads.length) return { maxError: Infinity, mismatches: Infinity, maxErrorElsewhere: Infinity };
  got.grads.forEach((gr, k) => pairs.push([gr, want.grads[k]!]));
  let maxError = 0;
  let maxErrorElsewhere = 0;
  let mismatches = 0;
  for (const [a, b] of pairs) {
    if (a.length !== b.length) return { maxError: Infinity, mismatches: Infinity, maxErrorElsewhere: Infinity };
    for (let i = 0; i < a.length; i++) {
      let err = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
      if (Number.isNaN(err)) err = Infinity;
      if (err > maxError) maxError = err;
      if (err > tol) mismatches++;
      else if (err > maxErrorElsewhere) maxErrorElsewhere = err;
    }
  }
  return { maxError, mismatches, maxErrorElsewhere };
}

/** One check of a runner's first result: passed (the runner kept open for timing) or not (disposed). */
export type CheckOutcome = { ok: true; runner: Runner; comparison: Comparison } | { ok: false; comparison?: Comparison; note: string };

/**
 * Makes a runner, runs one step and compares its result with `want` (`tol`, at most `allowed`
 * elements beyond it). A runner that fails the comparison, or throws, is disposed.
 */
export async function checkRunner(make: () => Runner, want: Result, tol: number, allowed: number): Promise<CheckOutcome> {
  let runner: Runner | undefined;
  try {
    runner = make();
    await runner.step();
    const comparison = compare(await runner.result(), want, tol);
    if (comparison.mismatches <= allowed) return { ok: true, runner, comparison };
    runner.dispose();
    return { ok: false, comparison, note: `${comparison.mismatches} elements off by more than ${tol} (max ${comparison.maxError}): not timed` };
  } catch (e) {
    runner?.dispose();
    return { ok: false, note: `failed: ${(e as Error).message.split("\n")[0]}` };
  }
}
