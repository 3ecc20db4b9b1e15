/**
 * Dense row-major f64 arrays and the few NumPy operations the matmul tests need as an
 * independent reference: broadcasting elementwise maps, sum-to-shape (the reduction a
 * broadcast's gradient needs), last-two-axes transpose and batched matmul with NumPy's batch
 * broadcasting, written as plain loops that share nothing with the compiler.
 */
/** A dense row-major f64 array. */
export interface Arr {
  data: number[];
  shape: number[];
}

export const count = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
export const arr = (shape: number[], f: (i: number) => number): Arr => ({ data: Array.from({ length: count(shape) }, (_, i) => f(i)), shape });

/** Uniform f32-exact values in [-1, 1), so every back end starts from the same numbers. */
export function uniform(shape: number[], random: () => number): Arr {
  return arr(shape, () => Math.fround(random() * 2 - 1));
}

/** The element of `a` (NumPy-broadcast against `shape`, aligned right) at flat index `i` of `shape`. */
export function at(a: Arr, shape: readonly number[], i: number): number {
  let off = 0;
  let stride = 1;
  for (let d = a.shape.length - 1, e = shape.length - 1; d >= 0; d--, e--) {
    const coord = Math.floor(i / count(shape.slice(e + 1))) % shape[e]!;
    off += (a.shape[d] === 1 ? 0 : coord) * stride;
    stride *= a.shape[d]!;
  }
  return a.data[off]!;
}

/** f applied elementwise over `shape` to broadcast operands. */
export function zip(shape: number[], xs: Arr[], f: (...v: number[]) => number): Arr {
  return arr(shape, (i) => f(...xs.map((x) => at(x, shape, i))));
}

/** `a` summed over the axes it was broadcast along, down to `shape` (a vjp of broadcasting). */
export function sumTo(a: Arr, shape: number[]): Arr {
  const out = arr(shape, () => 0);
  const one: Arr = { data: out.data.map((_, j) => j), shape };
  for (let i = 0; i < a.data.length; i++) out.data[at(one, a.shape, i)]! += a.data[i]!;
  return out;
}

export function swapLast(a: Arr): Arr {
  const r = a.shape.length;
  const [m, n] = [a.shape[r - 2]!, a.shape[r - 1]!];
  const shape = [...a.shape.slice(0, r - 2), n, m];
  return arr(shape, (i) => {
    const [t, j, k] = [Math.floor(i / (m * n)), Math.floor(i / m) % n, i % m];
    return a.data[t * m * n + k * n + j]!;
  });
}

/** NumPy matmul of rank >= 2 operands (batch dims broadcast), summed in f64. */
export function matmul(a: Arr, b: Arr): Arr {
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [m, k, n] = [a.shape[ra - 2]!, a.shape[ra - 1]!, b.shape[rb - 1]!];
  if (b.shape[rb - 2] !== k) throw new Error(`matmul: inner sizes ${k} and ${b.shape[rb - 2]} differ`);
  const rank = Math.max(ra, rb) - 2;
  const pad = (s: number[]) => [...Array(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
  const batch = pad(a.shape).map((d, i) => Math.max(d, pad(b.shape)[i]!));
  const aBatch: Arr = { data: [...Array(count(pad(a.shape))).keys()], shape: pad(a.shape) };
  const bBatch: Arr = { data: [...Array(count(pad(b.shape))).keys()], shape: pad(b.shape) };
  const shape = [...batch, m, n];
  return arr(shape, (i) => {
    const t = Math.floor(i / (m * n));
    const [row, col] = [Math.floor(i / n) % m, i % n];
    const [ta, tb] = [at(aBatch, batch, t), at(bBatch, batch, t)];
    let s = 0;
    for (let x = 0; x < k; x++) s += a.data[ta * m * k + row * k + x]! * b.data[tb * k * n + x * n + col]!;
    return s;
  });
}

/** The vjp of `a @ b` for cotangent `ct`: [da, db], batch broadcasting summed back. */
export function matmulVjp(a: Arr, b: Arr, ct: Arr): [Arr, Arr] {
  return [sumTo(matmul(ct, swapLast(b)), a.shape), sumTo(matmul(swapLast(a), ct), b.shape)];
}

