/**
 * Hand-written TypeScript loops for the elementwise workloads: the reference estc's generated
 * kernels are measured against. Each variant is a forward loop and a stateless backward loop
 * (the same contract as estc's `forward` + `vjp`), writing into preallocated outputs. The bench
 * times every variant and takes the fastest correct one as "hand".
 */
import { P, type Inputs, type Result, type Runner, type Workload } from "./workloads.js";

/** Forward and backward loops over preallocated buffers. */
interface Loops {
  fwd(inp: Inputs, out: Float32Array): void;
  bwd(inp: Inputs, grads: Float32Array[]): void;
}

const i32 = (a: Float32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);
const f32bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0]!;

// --- sign forward: +1 for x >= 0 (also -0), -1 otherwise ---------------------------------

function signTernary(inp: Inputs, out: Float32Array): void {
  const x = inp.x;
  for (let i = 0; i < x.length; i++) out[i] = x[i]! >= 0 ? 1 : -1;
}

function signArith(inp: Inputs, out: Float32Array): void {
  const x = inp.x;
  for (let i = 0; i < x.length; i++) out[i] = 2 * +(x[i]! >= 0) - 1;
}

/** Integer-only: negative iff the sign bit is set and the magnitude is non-zero (-0 -> +1). */
function signBits(inp: Inputs, out: Float32Array): void {
  const xb = i32(inp.x);
  const ob = i32(out);
  for (let i = 0; i < xb.length; i++) {
    const b = xb[i]!;
    const neg = (b >>> 31) & ~(((b & 0x7fffffff) - 1) >> 31);
    ob[i] = 0x3f800000 | (neg << 31);
  }
}

// --- ClippedSTE backward: dx = g * (|x| <= t) ----------------------------------------------

function clippedTernary(inp: Inputs, [dx]: Float32Array[]): void {
  const { x, g } = inp;
  const t = P.clipped.t;
  for (let i = 0; i < x.length; i++) dx![i] = Math.abs(x[i]!) <= t ? g[i]! : 0;
}

function clippedArith(inp: Inputs, [dx]: Float32Array[]): void {
  const { x, g } = inp;
  const t = P.clipped.t;
  for (let i = 0; i < x.length; i++) dx![i] = g[i]! * +(Math.abs(x[i]!) <= t);
}

/** Integer-only: keep g's bits where |x|'s bits <= t's bits (valid for t >= 0, NaN x -> 0). */
function clippedBits(inp: Inputs, [dx]: Float32Array[]): void {
  const xb = i32(inp.x);
  const gb = i32(inp.g);
  const db = i32(dx!);
  const tb = f32bits(P.clipped.t);
  for (let i = 0; i < xb.length; i++) db[i] = gb[i]! & ~((tb - (xb[i]! & 0x7fffffff)) >> 31);
}

// --- ReSTE backward: dx = g * slope(|x|) * (|x| <= t) ---------------------------------------

const reste = () => {
  const { o, t, m } = P.reste;
  const e = (1 - o) / o;
  return { t, m, e, invO: 1 / o, mE: Math.pow(m, e) };
};

function resteTernary(inp: Inputs, [dx]: Float32Array[]): void {
  const { x, g } = inp;
  const { t, m, e, invO, mE } = reste();
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    dx![i] = a <= t ? g[i]! * (a <= m ? mE : invO * Math.pow(a, e)) : 0;
  }
}

/** pow(max(a, m), e) is m^e below m, so only the 1/o factor needs selecting; no NaN at 0. */
function resteArith(inp: Inputs, [dx]: Float32Array[]): void {
  const { x, g } = inp;
  const { t, m, e, invO } = reste();
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    const f = invO + (1 - invO) * +(a <= m);
    dx![i] = g[i]! * Math.pow(Math.max(a, m), e) * f * +(a <= t);
  }
}

function resteExpLog(inp: Inputs, [dx]: Float32Array[]): void {
  const { x, g } = inp;
  const { t, m, e, invO } = reste();
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    const f = invO + (1 - invO) * +(a <= m);
    dx![i] = g[i]! * Math.exp(e * Math.log(Math.max(a, m))) * f * +(a <= t);
  }
}

// --- chain: out = tanh(clamp(x*s, lo, hi)) * y; the backward recomputes the forward ---------

function chainFwd(inp: Inputs, out: Float32Array): void {
  const { x, y } = inp;
  const { s, lo, hi } = P.chain;
  for (let i = 0; i < x.length; i++) out[i] = Math.tanh(Math.min(Math.max(x[i]! * s, lo), hi)) * y[i]!;
}

function chainBwd(inp: Inputs, [dx, dy]: Float32Array[]): void {
  const { x, y, g } = inp;
  const { s, lo, hi } = P.chain;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! * s;
    const th = Math.tanh(Math.min(Math.max(v, lo), hi));
    const gi = g[i]!;
    dx![i] = gi * y[i]! * (1 - th * th) * (+(v >= lo) * +(v <= hi)) * s;
    dy![i] = gi * th;
  }
}

function chainBwdTernary(inp: Inputs, [dx, dy]: Float32Array[]): void {
  const { x, y, g } = inp;
  const { s, lo, hi } = P.chain;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! * s;
    const th = Math.tanh(v < lo ? lo : v > hi ? hi : v);
    const gi = g[i]!;
    dx![i] = v >= lo && v <= hi ? gi * y[i]! * (1 - th * th) * s : 0;
    dy![i] = gi * th;
  }
}

/**
 * tanh(c) = expm1(2c) / (expm1(2c) + 2): one expm1 instead of fdlibm's tanh, and accurate near 0
 * (1 - 2 / (e^(2c) + 1) is faster still but cancels for tiny c). c is clamped to [-1, 1].
 */
function chainFwdExp(inp: Inputs, out: Float32Array): void {
  const { x, y } = inp;
  const { s, lo, hi } = P.chain;
  for (let i = 0; i < x.length; i++) {
    const e = Math.expm1(2 * Math.min(Math.max(x[i]! * s, lo), hi));
    out[i] = (e / (e + 2)) * y[i]!;
  }
}

function chainBwdExp(inp: Inputs, [dx, dy]: Float32Array[]): void {
  const { x, y, g } = inp;
  const { s, lo, hi } = P.chain;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! * s;
    const e = Math.expm1(2 * Math.min(Math.max(v, lo), hi));
    const th = e / (e + 2);
    const gi = g[i]!;
    dx![i] = gi * y[i]! * (1 - th * th) * (+(v >= lo) * +(v <= hi)) * s;
    dy![i] = gi * th;
  }
}

/** The hand variants of each workload, by name. */
export const handVariants: Record<Workload, Record<string, Loops>> = {
  "sign/ReSTE": {
    ternary: { fwd: signTernary, bwd: resteTernary },
    arith: { fwd: signArith, bwd: resteArith },
    "bits+explog": { fwd: signBits, bwd: resteExpLog },
    "bits+arith": { fwd: signBits, bwd: resteArith },
  },
  "sign/ClippedSTE": {
    ternary: { fwd: signTernary, bwd: clippedTernary },
    arith: { fwd: signArith, bwd: clippedArith },
    bits: { fwd: signBits, bwd: clippedBits },
  },
  chain4: {
    ternary: { fwd: chainFwd, bwd: chainBwdTernary },
    minmax: { fwd: chainFwd, bwd: chainBwd },
    "minmax+expm1": { fwd: chainFwdExp, bwd: chainBwdExp },
  },
};

/**
 * A runner for one hand variant. `allocate` makes fresh outputs every step, as estc's calls do,
 * to show what allocation costs; the reference column reuses its buffers. `part` runs only the
 * forward or only the backward loop, for the breakdown.
 */
export function handRunner(w: Workload, variant: string, inp: Inputs, allocate = false, part: "both" | "fwd" | "bwd" = "both"): Runner {
  const loops = handVariants[w][variant]!;
  const nGrads = w === "chain4" ? 2 : 1;
  const fresh = () => ({ out: new Float32Array(inp.n), grads: Array.from({ length: nGrads }, () => new Float32Array(inp.n)) });
  let bufs: Result = fresh();
  return {
    step() {
      if (allocate) bufs = fresh();
      if (part !== "bwd") loops.fwd(inp, bufs.out);
      if (part !== "fwd") loops.bwd(inp, bufs.grads);
    },
    async result() {
      return { out: bufs.out.slice(), grads: bufs.grads.map((gr) => gr.slice()) };
    },
    dispose() {},
  };
}
